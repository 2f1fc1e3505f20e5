//! Sliding-window counts several nodes share, so a quota (wrong codes, connects,
//! logins started) holds for the whole server, not per node: the events of one
//! key over the last window, kept in the store.

use super::StoreError;
use async_trait::async_trait;

/// What one counting step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Under the limit (and, if asked, counted).
    Allowed,
    /// At the limit: the oldest event still counting happened at this Unix ms.
    Full {
        /// When the oldest counted event happened.
        oldest_ms: u64,
    },
}

/// How a counting step treats the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Only looks.
    Check,
    /// Counts an event whatever the count.
    Record,
    /// Counts an event only if under the limit, in one atomic step.
    Acquire,
}

/// Sliding windows in a store every node shares.
#[async_trait]
pub trait SharedCounts: Send + Sync {
    /// One step on the events of `key` (a quota's name and its key) in the
    /// `window_ms` ending at `now_ms`, against a limit of `max`.
    async fn count(
        &self,
        key: &str,
        step: Step,
        max: usize,
        window_ms: u64,
        now_ms: u64,
    ) -> Result<Counted, StoreError>;
}
