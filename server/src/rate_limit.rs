//! Per-address sliding-window limits, the one mechanism behind every login-side
//! quota: wrong user-code guesses (5 a minute), device authorizations (a
//! configurable number a minute) and passkey ceremony starts (60 a minute by default), then 429.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Wrong guesses allowed per address per window.
pub const MAX_WRONG_GUESSES: usize = 5;
/// Device authorizations allowed per address per window unless configured.
pub const DEFAULT_DEVICE_AUTHORIZATIONS: u32 = 30;
/// Passkey ceremonies one address may start per window unless configured (the
/// page starts one or two per visit, ahead of the click).
pub const DEFAULT_CEREMONY_STARTS: u32 = 60;
/// The window, in ms.
pub const WINDOW_MS: u64 = 60_000;

/// Counts events per client address over the last minute.
pub struct WindowLimiter {
    max: usize,
    events: Mutex<HashMap<IpAddr, Vec<u64>>>,
}

impl WindowLimiter {
    /// Allows `max` events per address per window.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            events: Mutex::default(),
        }
    }

    /// Whether `addr` may act now. `Err` carries seconds until it may.
    pub fn check(&self, addr: IpAddr, now_ms: u64) -> Result<(), u64> {
        let Ok(mut map) = self.events.lock() else {
            return Err(WINDOW_MS / 1000);
        };
        match map.get_mut(&bucket(addr)) {
            Some(times) => self.room_in(times, now_ms),
            None => Ok(()),
        }
    }

    /// Records an event by `addr`.
    pub fn record(&self, addr: IpAddr, now_ms: u64) {
        if let Ok(mut map) = self.events.lock() {
            let times = map.entry(bucket(addr)).or_default();
            times.retain(|t| in_window(*t, now_ms));
            times.push(now_ms);
        }
    }

    /// `check` and `record` as one step, for limits that count every attempt:
    /// concurrent attempts cannot both take the last place.
    pub fn acquire(&self, addr: IpAddr, now_ms: u64) -> Result<(), u64> {
        let Ok(mut map) = self.events.lock() else {
            return Err(WINDOW_MS / 1000);
        };
        let times = map.entry(bucket(addr)).or_default();
        self.room_in(times, now_ms)?;
        times.push(now_ms);
        Ok(())
    }

    /// Forgets events older than the window; `Err` if none may be added now.
    fn room_in(&self, times: &mut Vec<u64>, now_ms: u64) -> Result<(), u64> {
        times.retain(|t| in_window(*t, now_ms));
        if times.len() < self.max {
            return Ok(());
        }
        let oldest = times.iter().min().copied().unwrap_or(now_ms);
        Err((oldest + WINDOW_MS)
            .saturating_sub(now_ms)
            .div_ceil(1000)
            .max(1))
    }

    /// Drops addresses with no event in the window, so memory stays bounded.
    pub fn purge(&self, now_ms: u64) {
        if let Ok(mut map) = self.events.lock() {
            map.retain(|_, times| times.iter().any(|t| in_window(*t, now_ms)));
        }
    }
}

/// Whether an event at `at_ms` still counts at `now_ms`.
fn in_window(at_ms: u64, now_ms: u64) -> bool {
    now_ms.saturating_sub(at_ms) < WINDOW_MS
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_wrong_guesses_a_minute_then_blocked() {
        let limiter = WindowLimiter::new(MAX_WRONG_GUESSES);
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for i in 0..5 {
            assert_eq!(limiter.check(a, i), Ok(()));
            limiter.record(a, i);
        }
        assert_eq!(limiter.check(a, 10), Err(60));
        assert_eq!(
            limiter.check(b, 10),
            Ok(()),
            "other addresses are not affected"
        );
        assert_eq!(limiter.check(a, WINDOW_MS + 1), Ok(()), "the window slides");
        limiter.purge(10 * WINDOW_MS);
        assert!(limiter.events.lock().map(|m| m.is_empty()).unwrap_or(false));
    }

    #[test]
    fn acquire_counts_every_allowed_attempt_only() {
        let limiter = WindowLimiter::new(2);
        let a: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(limiter.acquire(a, 0), Ok(()));
        assert_eq!(limiter.acquire(a, 30_000), Ok(()));
        assert_eq!(limiter.acquire(a, 30_001), Err(30));
        assert_eq!(limiter.acquire(a, 30_002), Err(30), "refusals do not count");
        assert_eq!(
            limiter.acquire(a, WINDOW_MS),
            Ok(()),
            "the first one aged out"
        );
    }

    #[test]
    fn an_ipv6_client_counts_as_its_slash_64() {
        use std::net::Ipv6Addr;
        let limiter = WindowLimiter::new(1);
        let host = IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, 1));
        let same_64 = IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0xffff, 0, 0, 9));
        let next_64 = IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert_eq!(limiter.acquire(host, 0), Ok(()));
        assert_eq!(limiter.acquire(same_64, 1), Err(60));
        assert_eq!(limiter.acquire(next_64, 2), Ok(()));
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

    /// Whether `key` may act now. `Err` carries seconds until it may (at least 1).
    pub fn check(&self, key: &K, now_ms: u64) -> Result<(), u64> {
        let Ok(mut map) = self.events.lock() else {
            return Err(self.window_ms.div_ceil(1000));
        };
        match map.get_mut(key) {
            Some(times) => self.room_in(times, now_ms),
            None => Ok(()),
        }
    }

    /// Records an event by `key`.
    pub fn record(&self, key: K, now_ms: u64) {
        if let Ok(mut map) = self.events.lock() {
            let times = map.entry(key).or_default();
            times.retain(|t| now_ms.saturating_sub(*t) < self.window_ms);
            times.push(now_ms);
        }
    }

    /// `check` and `record` as one step: concurrent attempts cannot both take
    /// the last place, and refused attempts do not count.
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
        Err((oldest + self.window_ms)
            .saturating_sub(now_ms)
            .div_ceil(1000)
            .max(1))
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

impl KeyedLimiter<IpAddr> {
    /// [`Self::check`] for a client address, counted by its /64 if IPv6.
    pub fn check_addr(&self, addr: IpAddr, now_ms: u64) -> Result<(), u64> {
        self.check(&bucket(addr), now_ms)
    }

    /// [`Self::record`] for a client address.
    pub fn record_addr(&self, addr: IpAddr, now_ms: u64) {
        self.record(bucket(addr), now_ms);
    }

    /// [`Self::acquire`] for a client address.
    pub fn acquire_addr(&self, addr: IpAddr, now_ms: u64) -> Result<(), u64> {
        self.acquire(bucket(addr), now_ms)
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
        assert_eq!(per_second.check(&"ann", 1001), Err(1));
        per_second.purge(5000);
        assert_eq!(per_second.events.lock().map(|m| m.len()).ok(), Some(0));

        let per_minute = KeyedLimiter::new(1, WINDOW_MS);
        assert_eq!(per_minute.check(&"ann", 0), Ok(()));
        per_minute.record("ann", 0);
        assert_eq!(per_minute.check(&"ann", 30_000), Err(30));
        assert_eq!(per_minute.check(&"ann", WINDOW_MS), Ok(()));

        use std::net::Ipv6Addr;
        let by_addr = KeyedLimiter::new(1, 1000);
        let host = IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, 1));
        let same_64 = IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
        assert_eq!(by_addr.acquire_addr(host, 0), Ok(()));
        assert_eq!(by_addr.check_addr(same_64, 1), Err(1));
    }
}
