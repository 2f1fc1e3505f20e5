//! Sliding-window quotas, the one mechanism behind every per-address and
//! per-player limit: wrong user-code guesses (5 a minute), device
//! authorizations and passkey ceremony starts (a configurable number a
//! minute), game connects (per second) and wrong join codes (per minute).
//!
//! A [`Quota`] counts in this process ([`KeyedLimiter`]) or, when nodes share
//! a store, in it ([`SharedCounts`]), so one client spreading its attempts
//! over every node gets the quota once, not once per node.

use crate::storage::shared_counts::{Counted, SharedCounts};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Wrong guesses allowed per address per window.
pub const MAX_WRONG_GUESSES: usize = 5;
/// Device authorizations allowed per address per window unless configured.
pub const DEFAULT_DEVICE_AUTHORIZATIONS: u32 = 30;
/// Passkey ceremonies one address may start per window unless configured (the
/// page starts one or two per visit, ahead of the click).
pub const DEFAULT_CEREMONY_STARTS: u32 = 60;
/// The window, in ms.
pub const WINDOW_MS: u64 = 60_000;

/// Whole seconds (at least 1) until an event at `oldest_ms` leaves a window
/// of `window_ms`.
fn retry_after(oldest_ms: u64, window_ms: u64, now_ms: u64) -> u64 {
    (oldest_ms + window_ms)
        .saturating_sub(now_ms)
        .div_ceil(1000)
        .max(1)
}

/// A limit of events per key per window, counted here or in the store every
/// node shares (see the module docs). Every method takes the key as the
/// limit's subject (a player id); the `*_addr` ones a client address, which
/// counts by its /64 when IPv6.
pub struct Quota {
    /// Names the quota's keys in the shared store.
    name: &'static str,
    local: KeyedLimiter<String>,
    shared: Option<Arc<dyn SharedCounts>>,
    /// Whether the shared store failed last time (logged once per outage).
    failing: AtomicBool,
}

impl Quota {
    /// `max` events per key per `window_ms`, counted in this process.
    pub fn new(name: &'static str, max: usize, window_ms: u64) -> Self {
        Self {
            name,
            local: KeyedLimiter::new(max, window_ms),
            shared: None,
            failing: AtomicBool::new(false),
        }
    }

    /// Counts in `shared` instead (falling back to this node's own count
    /// while the store cannot be reached).
    pub fn shared(mut self, shared: Arc<dyn SharedCounts>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Counts an event by `key` if it is under the limit, in one step:
    /// concurrent attempts cannot both take the last place, and refused
    /// attempts do not count. `Err` carries seconds until one may.
    pub async fn acquire(&self, key: &str, now_ms: u64) -> Result<(), u64> {
        self.take(key, now_ms).await.map(drop)
    }

    /// [`Self::acquire`] for a client address.
    pub async fn acquire_addr(&self, addr: IpAddr, now_ms: u64) -> Result<(), u64> {
        self.acquire(&bucket(addr).to_string(), now_ms).await
    }

    /// [`Self::acquire`], keeping what was counted so it can be given back
    /// when the attempt turns out not to count (a right code is no guess).
    /// Counting first is what makes concurrent guesses unable to slip past.
    pub async fn take(&self, key: &str, now_ms: u64) -> Result<Taken, u64> {
        // This node's own count always runs: it is the answer on one node, and
        // the fallback while a shared store is away.
        let local = self.local.acquire(key.to_owned(), now_ms);
        let taken = Taken {
            key: key.to_owned(),
            at_ms: now_ms,
            member: format!("{now_ms}-{:016x}", rand::random::<u64>()),
        };
        let Some(shared) = &self.shared else {
            return local.map(|()| taken);
        };
        let (max, window_ms) = (self.local.max, self.local.window_ms);
        let counted = shared
            .acquire(&self.shared_key(key), &taken.member, max, window_ms, now_ms)
            .await;
        match self.answered(counted) {
            Some(Counted::Allowed) => Ok(taken),
            Some(Counted::Full { oldest_ms }) => {
                if local.is_ok() {
                    self.local.give_back(&taken.key, now_ms);
                }
                Err(retry_after(oldest_ms, window_ms, now_ms))
            }
            None => local.map(|()| taken),
        }
    }

    /// [`Self::take`] for a client address.
    pub async fn take_addr(&self, addr: IpAddr, now_ms: u64) -> Result<Taken, u64> {
        self.take(&bucket(addr).to_string(), now_ms).await
    }

    /// Uncounts an event [`Self::take`] counted.
    pub async fn give_back(&self, taken: Taken) {
        self.local.give_back(&taken.key, taken.at_ms);
        if let Some(shared) = &self.shared {
            let given = shared
                .give_back(&self.shared_key(&taken.key), &taken.member)
                .await;
            self.answered(given);
        }
    }

    /// Forgets this node's events that no longer count (the shared store's
    /// expire by themselves).
    pub fn purge(&self, now_ms: u64) {
        self.local.purge(now_ms);
    }

    fn shared_key(&self, key: &str) -> String {
        format!("{}:{key}", self.name)
    }

    /// The shared store's answer, or `None` (logged once per outage) when it
    /// failed and this node counts alone.
    fn answered<T>(&self, answer: Result<T, crate::storage::StoreError>) -> Option<T> {
        match answer {
            Ok(value) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(quota = self.name, "shared rate limits answer again");
                }
                Some(value)
            }
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(quota = self.name, error = %e, "shared rate limits unreachable: counting on this node alone");
                }
                None
            }
        }
    }
}

/// An event a [`Quota`] counted, to give back if it does not count after all.
#[derive(Debug)]
pub struct Taken {
    key: String,
    at_ms: u64,
    /// Its name in the shared store.
    member: String,
}

/// The unit one client controls: an IPv4 address, or an IPv6 /64 (a single
/// host is usually handed a whole /64, so counting single addresses would let
/// it pick a fresh one per attempt).
pub fn bucket(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
    }
}

/// The same sliding window over any key and any window length, for quotas
/// that are per player, or per second rather than per minute (the game's
/// connects and join-code guesses). Addresses go through the `*_addr` methods,
/// so an IPv6 client counts as its /64 here too.
pub struct KeyedLimiter<K> {
    max: usize,
    window_ms: u64,
    events: Mutex<HashMap<K, Vec<u64>>>,
}

impl<K: std::hash::Hash + Eq> KeyedLimiter<K> {
    /// Allows `max` events per key per `window_ms`.
    pub fn new(max: usize, window_ms: u64) -> Self {
        Self {
            max,
            window_ms: window_ms.max(1),
            events: Mutex::default(),
        }
    }

    /// Counts an event by `key` if it is under the limit, in one step:
    /// concurrent attempts cannot both take the last place, and refused
    /// attempts do not count. `Err` carries seconds until one may (at least 1).
    pub fn acquire(&self, key: K, now_ms: u64) -> Result<(), u64> {
        let Ok(mut map) = self.events.lock() else {
            return Err(self.window_ms.div_ceil(1000));
        };
        let times = map.entry(key).or_default();
        self.room_in(times, now_ms)?;
        times.push(now_ms);
        Ok(())
    }

    fn room_in(&self, times: &mut Vec<u64>, now_ms: u64) -> Result<(), u64> {
        times.retain(|t| now_ms.saturating_sub(*t) < self.window_ms);
        if times.len() < self.max {
            return Ok(());
        }
        let oldest = times.iter().min().copied().unwrap_or(now_ms);
        Err(retry_after(oldest, self.window_ms, now_ms))
    }

    /// Uncounts one event of `key` at `at_ms`.
    pub fn give_back(&self, key: &K, at_ms: u64) {
        if let Ok(mut map) = self.events.lock()
            && let Some(times) = map.get_mut(key)
            && let Some(i) = times.iter().position(|t| *t == at_ms)
        {
            times.swap_remove(i);
        }
    }

    /// Drops keys with no event in the window, so memory stays bounded.
    pub fn purge(&self, now_ms: u64) {
        if let Ok(mut map) = self.events.lock() {
            map.retain(|_, times| {
                times
                    .iter()
                    .any(|t| now_ms.saturating_sub(*t) < self.window_ms)
            });
        }
    }
}

#[cfg(test)]
mod keyed_tests {
    use super::*;

    #[test]
    fn counts_per_key_over_its_own_window() {
        let per_second = KeyedLimiter::new(2, 1000);
        assert_eq!(per_second.acquire("ann", 0), Ok(()));
        assert_eq!(per_second.acquire("ann", 10), Ok(()));
        assert_eq!(per_second.acquire("ann", 20), Err(1));
        assert_eq!(per_second.acquire("bob", 20), Ok(()), "keys are apart");
        assert_eq!(per_second.acquire("ann", 1000), Ok(()), "the window slides");
        assert_eq!(per_second.acquire("ann", 1001), Err(1));
        per_second.give_back(&"ann", 1000);
        assert_eq!(per_second.acquire("ann", 1002), Ok(()), "given back");
        per_second.purge(5000);
        assert_eq!(per_second.events.lock().map(|m| m.len()).ok(), Some(0));

        let per_minute = KeyedLimiter::new(1, WINDOW_MS);
        assert_eq!(per_minute.acquire("ann", 0), Ok(()));
        assert_eq!(per_minute.acquire("ann", 30_000), Err(30));
        assert_eq!(per_minute.acquire("ann", WINDOW_MS), Ok(()));
    }

    #[tokio::test]
    async fn a_quota_counts_an_ipv6_client_as_its_slash_64_and_takes_back() {
        use std::net::Ipv6Addr;
        let by_addr = Quota::new("test", 1, 1000);
        let host = IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, 1));
        let same_64 = IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
        let next_64 = IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert_eq!(by_addr.acquire_addr(host, 0).await, Ok(()));
        assert_eq!(by_addr.acquire_addr(same_64, 1).await, Err(1));
        assert_eq!(by_addr.acquire_addr(next_64, 2).await, Ok(()));
        let taken = by_addr.take("ann", 3).await;
        assert!(taken.is_ok());
        assert_eq!(by_addr.acquire("ann", 4).await, Err(1));
        if let Ok(taken) = taken {
            by_addr.give_back(taken).await;
        }
        assert_eq!(by_addr.acquire("ann", 5).await, Ok(()), "given back");
    }
}
