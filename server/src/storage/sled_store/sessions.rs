//! Login sessions (each holding its refresh-token chain) and the refresh tokens
//! issued before chains existed.

use super::{SledStore, get, owned_key, purge_where};
use crate::storage::{
    RefreshRecord, SessionRecord, SessionStore, StoreError, Version, Versioned, decode, encode,
};
use async_trait::async_trait;

/// The key of a session in its player's index.
fn player_key(player_id: &str, sid: &str) -> Vec<u8> {
    owned_key(player_id, sid.as_bytes())
}

#[async_trait]
impl SessionStore for SledStore {
    async fn session(&self, sid: &str) -> Result<Option<Versioned<SessionRecord>>, StoreError> {
        self.sessions
            .get(sid.as_bytes())?
            .map(|bytes| Versioned::decode("sessions", &bytes))
            .transpose()
    }

    async fn create_session(&self, sid: &str, session: &SessionRecord) -> Result<bool, StoreError> {
        // Indexed first, flushed with the session: an index entry without its
        // session is skipped by the listing, a session without one is never made.
        self.player_sessions
            .insert(player_key(&session.player_id, sid), &[])?;
        let created = self
            .sessions
            .compare_and_swap(sid.as_bytes(), None::<&[u8]>, Some(encode(session)?))?
            .is_ok();
        if created {
            self.durable().await?;
        }
        Ok(created)
    }

    async fn sessions_of(
        &self,
        player_id: &str,
    ) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let prefix = player_key(player_id, "");
        let mut out = Vec::new();
        for entry in self.player_sessions.scan_prefix(&prefix) {
            let (key, _) = entry?;
            let sid = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            if let Some(stored) = self.sessions.get(sid.as_bytes())? {
                let session: SessionRecord = decode("sessions", &stored)?;
                if session.player_id == player_id {
                    out.push((sid, session));
                }
            }
        }
        Ok(out)
    }

    async fn rotate(
        &self,
        sid: &str,
        parent: &Version,
        successor: &SessionRecord,
    ) -> Result<bool, StoreError> {
        // sled's compare-and-swap compares the stored bytes themselves: no lock
        // of ours is involved, so it is the same rule a shared store (one sled
        // database is only ever opened by one process) must keep with its own
        // atomic compare-and-set.
        let swapped = self
            .sessions
            .compare_and_swap(
                sid.as_bytes(),
                Some(parent.as_bytes()),
                Some(encode(successor)?),
            )?
            .is_ok();
        if swapped {
            self.durable().await?;
        }
        Ok(swapped)
    }

    async fn legacy_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError> {
        get(&self.refresh, "refresh_tokens", hash)
    }

    async fn remove_legacy_token(&self, hash: &[u8]) -> Result<(), StoreError> {
        self.refresh.remove(hash)?;
        self.durable().await
    }
}

impl SledStore {
    /// Writes a token in the format from before chains, for the migration's
    /// tests: nothing issues such tokens any more.
    #[cfg(test)]
    pub fn put_legacy_token(&self, hash: &[u8], record: &RefreshRecord) -> Result<(), StoreError> {
        self.refresh.insert(hash, encode(record)?)?;
        Ok(())
    }

    pub(super) fn purge_legacy_tokens(&self, now_ms: u64) -> Result<usize, StoreError> {
        purge_where(&self.refresh, "refresh_tokens", |t: &RefreshRecord| {
            Ok(t.expires_at < now_ms)
        })
    }

    pub(super) fn purge_sessions(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut expired = Vec::new();
        let removed = purge_where(&self.sessions, "sessions", |s: &SessionRecord| {
            let gone = s.expires_at < now_ms;
            if gone {
                expired.push(s.player_id.clone());
            }
            Ok(gone)
        })?;
        // The index entries of what went (the ids come from the index itself:
        // `purge_where` hands over records, not keys).
        for player_id in expired {
            let prefix = player_key(&player_id, "");
            for entry in self.player_sessions.scan_prefix(&prefix) {
                let (key, _) = entry?;
                if !self.sessions.contains_key(&key[prefix.len()..])? {
                    self.player_sessions.remove(key)?;
                }
            }
        }
        Ok(removed)
    }
}
