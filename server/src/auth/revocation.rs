//! Sessions revoked while their access tokens may still be unexpired: checked on
//! every access-token verification, announced so open game sockets close at once.

use std::collections::HashMap;
use std::sync::RwLock;
use tokio::sync::broadcast;

/// The in-memory revocation list ("blacklist") of login sessions.
pub struct Revocations {
    /// sid → revoked at (Unix ms).
    revoked: RwLock<HashMap<String, u64>>,
    announce: broadcast::Sender<String>,
}

impl Revocations {
    /// An empty list.
    pub fn new() -> Self {
        let (announce, _) = broadcast::channel(1024);
        Self {
            revoked: RwLock::new(HashMap::new()),
            announce,
        }
    }

    /// Records that `sid` was revoked at `at_ms` and tells every subscriber.
    pub fn revoke(&self, sid: &str, at_ms: u64) {
        if let Ok(mut map) = self.revoked.write() {
            map.insert(sid.to_owned(), at_ms);
        }
        // No subscribers is fine: nobody is connected with that session.
        let _ = self.announce.send(sid.to_owned());
    }

    /// Whether access tokens of `sid` must be refused.
    pub fn is_revoked(&self, sid: &str) -> bool {
        // A poisoned lock means a panic mid-insert: fail closed.
        self.revoked
            .read()
            .map_or(true, |map| map.contains_key(sid))
    }

    /// Receives the sid of every session revoked from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.announce.subscribe()
    }

    /// Forgets entries revoked before `cutoff_ms`: their access tokens have expired.
    pub fn purge_before(&self, cutoff_ms: u64) -> usize {
        let Ok(mut map) = self.revoked.write() else {
            return 0;
        };
        let before = map.len();
        map.retain(|_, at| *at >= cutoff_ms);
        before - map.len()
    }

    /// Entries currently held.
    pub fn len(&self) -> usize {
        self.revoked.read().map_or(0, |map| map.len())
    }

    /// Whether no entries are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Revocations {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revokes_announces_and_purges() {
        let list = Revocations::new();
        let mut rx = list.subscribe();
        list.revoke("s1", 1_000);
        list.revoke("s2", 5_000);
        assert!(list.is_revoked("s1") && list.is_revoked("s2") && !list.is_revoked("s3"));
        assert_eq!(rx.try_recv().ok().as_deref(), Some("s1"));
        assert_eq!(list.purge_before(2_000), 1);
        assert!(!list.is_revoked("s1") && list.is_revoked("s2"));
    }
}
