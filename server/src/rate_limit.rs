//! Per-address sliding-window limits: wrong user-code guesses (5 a minute) and
//! device authorizations (a configurable number a minute), then 429.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Wrong guesses allowed per address per window.
pub const MAX_WRONG_GUESSES: usize = 5;
/// Device authorizations allowed per address per window unless configured.
pub const DEFAULT_DEVICE_AUTHORIZATIONS: u32 = 30;
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
            return Err(60);
        };
        let Some(times) = map.get_mut(&addr) else {
            return Ok(());
        };
        times.retain(|t| now_ms.saturating_sub(*t) < WINDOW_MS);
        if times.len() < self.max {
            return Ok(());
        }
        let oldest = times.iter().min().copied().unwrap_or(now_ms);
        Err((oldest + WINDOW_MS)
            .saturating_sub(now_ms)
            .div_ceil(1000)
            .max(1))
    }

    /// Records an event by `addr`.
    pub fn record(&self, addr: IpAddr, now_ms: u64) {
        if let Ok(mut map) = self.events.lock() {
            let times = map.entry(addr).or_default();
            times.retain(|t| now_ms.saturating_sub(*t) < WINDOW_MS);
            times.push(now_ms);
        }
    }

    /// `check`, then `record` if allowed: for limits that count every attempt.
    pub fn acquire(&self, addr: IpAddr, now_ms: u64) -> Result<(), u64> {
        self.check(addr, now_ms)?;
        self.record(addr, now_ms);
        Ok(())
    }

    /// Drops addresses with no event in the window, so memory stays bounded.
    pub fn purge(&self, now_ms: u64) {
        if let Ok(mut map) = self.events.lock() {
            map.retain(|_, times| times.iter().any(|t| now_ms.saturating_sub(*t) < WINDOW_MS));
        }
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
}
