//! Per-address limits on wrong user-code guesses: 5 a minute, then 429.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Wrong guesses allowed per address per window.
pub const MAX_WRONG_GUESSES: usize = 5;
/// The window, in ms.
pub const WINDOW_MS: u64 = 60_000;

/// A sliding-window counter of failures per client address.
#[derive(Default)]
pub struct GuessLimiter {
    failures: Mutex<HashMap<IpAddr, Vec<u64>>>,
}

impl GuessLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `addr` may try a code now. `Err` carries seconds until it may.
    pub fn check(&self, addr: IpAddr, now_ms: u64) -> Result<(), u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Err(60);
        };
        let Some(times) = map.get_mut(&addr) else {
            return Ok(());
        };
        times.retain(|t| now_ms.saturating_sub(*t) < WINDOW_MS);
        if times.len() < MAX_WRONG_GUESSES {
            return Ok(());
        }
        let oldest = times.iter().min().copied().unwrap_or(now_ms);
        Err((oldest + WINDOW_MS)
            .saturating_sub(now_ms)
            .div_ceil(1000)
            .max(1))
    }

    /// Records a wrong guess by `addr`.
    pub fn record_failure(&self, addr: IpAddr, now_ms: u64) {
        if let Ok(mut map) = self.failures.lock() {
            let times = map.entry(addr).or_default();
            times.retain(|t| now_ms.saturating_sub(*t) < WINDOW_MS);
            times.push(now_ms);
        }
    }

    /// Drops addresses with no failure in the window, so memory stays bounded.
    pub fn purge(&self, now_ms: u64) {
        if let Ok(mut map) = self.failures.lock() {
            map.retain(|_, times| times.iter().any(|t| now_ms.saturating_sub(*t) < WINDOW_MS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_wrong_guesses_a_minute_then_blocked() {
        let limiter = GuessLimiter::new();
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for i in 0..5 {
            assert_eq!(limiter.check(a, i), Ok(()));
            limiter.record_failure(a, i);
        }
        assert_eq!(limiter.check(a, 10), Err(60));
        assert_eq!(
            limiter.check(b, 10),
            Ok(()),
            "other addresses are not affected"
        );
        assert_eq!(limiter.check(a, WINDOW_MS + 1), Ok(()), "the window slides");
        limiter.purge(10 * WINDOW_MS);
        assert!(
            limiter
                .failures
                .lock()
                .map(|m| m.is_empty())
                .unwrap_or(false)
        );
    }
}
