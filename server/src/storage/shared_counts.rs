//! Sliding-window counts several nodes share, so a quota (wrong codes, connects,
//! logins started) holds for the whole server, not per node: the events of one
//! key over the last window, kept in the store.

use super::StoreError;
use async_trait::async_trait;

/// What one counting step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Under the limit, and counted.
    Allowed,
    /// At the limit: the oldest event still counting happened at this Unix ms.
    Full {
        /// When the oldest counted event happened.
        oldest_ms: u64,
    },
}

/// Sliding windows in a store every node shares.
#[async_trait]
pub trait SharedCounts: Send + Sync {
    /// Counts event `member` of `key` (a quota's name and its key) at `now_ms`
    /// if fewer than `max` happened in the `window_ms` before, in one step.
    async fn acquire(
        &self,
        key: &str,
        member: &str,
        max: usize,
        window_ms: u64,
        now_ms: u64,
    ) -> Result<Counted, StoreError>;
    /// Uncounts event `member` of `key`.
    async fn give_back(&self, key: &str, member: &str) -> Result<(), StoreError>;
}
