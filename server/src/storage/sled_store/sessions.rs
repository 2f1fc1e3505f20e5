//! Login sessions (each holding its refresh-token chain) and the refresh tokens
//! issued before chains existed.

use super::{SledStore, get};
use crate::storage::{
    RefreshRecord, SessionRecord, SessionStore, StoreError, Version, Versioned, decode, encode,
};
use async_trait::async_trait;

#[async_trait]
impl SessionStore for SledStore {
    async fn session(&self, sid: &str) -> Result<Option<Versioned<SessionRecord>>, StoreError> {
        let Some(bytes) = self.sessions.get(sid.as_bytes())? else {
            return Ok(None);
        };
        Ok(Some(Versioned {
            record: decode("sessions", &bytes)?,
            version: Version::new(bytes.to_vec()),
        }))
    }

    async fn create_session(&self, sid: &str, session: &SessionRecord) -> Result<bool, StoreError> {
        let created = self
            .sessions
            .compare_and_swap(sid.as_bytes(), None::<&[u8]>, Some(encode(session)?))?
            .is_ok();
        if created {
            self.durable().await?;
        }
        Ok(created)
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
        let mut removed = 0;
        for entry in self.refresh.iter() {
            let (key, value) = entry?;
            let record: RefreshRecord = decode("refresh_tokens", &value)?;
            if record.expires_at < now_ms {
                self.refresh.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub(super) fn purge_sessions(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.sessions.iter() {
            let (key, value) = entry?;
            let session: SessionRecord = decode("sessions", &value)?;
            if session.expires_at < now_ms {
                self.sessions.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
