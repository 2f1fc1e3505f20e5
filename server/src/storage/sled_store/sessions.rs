//! Login sessions (each holding its refresh-token chain) and the refresh tokens
//! issued before chains existed.

use super::{SledStore, get, purge_where};
use crate::storage::{
    RefreshRecord, SessionRecord, SessionStore, StoreError, Version, Versioned, encode,
};
use async_trait::async_trait;

#[async_trait]
impl SessionStore for SledStore {
    async fn session(&self, sid: &str) -> Result<Option<Versioned<SessionRecord>>, StoreError> {
        self.sessions
            .get(sid.as_bytes())?
            .map(|bytes| Versioned::decode("sessions", &bytes))
            .transpose()
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
        purge_where(&self.refresh, "refresh_tokens", |t: &RefreshRecord| {
            Ok(t.expires_at < now_ms)
        })
    }

    pub(super) fn purge_sessions(&self, now_ms: u64) -> Result<usize, StoreError> {
        purge_where(&self.sessions, "sessions", |s: &SessionRecord| {
            Ok(s.expires_at < now_ms)
        })
    }
}
