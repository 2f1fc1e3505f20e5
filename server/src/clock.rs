//! The server's one clock module: wall-clock time in two units, chosen per side.
//!
//! - Stored records and the login rules count whole milliseconds as `u64`
//!   ([`now_ms`]): exact in JSON, and sortable as big-endian keys in the store.
//! - Game times are the protocol's [`Millis`] (`f64`, via [`GameClock`]): the
//!   wire allows fractions, and fan-out is measured below 1 ms.
//!
//! Where the game side feeds a `u64` rule (its rate limiters), it converts once,
//! with [`GameClock::now_ms`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use whack_shared::protocol::Millis;

/// Milliseconds since the Unix epoch, whole.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The game's clock: Unix epoch milliseconds that never go backwards, anchored
/// once to a monotonic instant, so deadlines computed in protocol time map
/// exactly onto timers.
#[derive(Debug, Clone, Copy)]
pub struct GameClock {
    base_ms: Millis,
    base: Instant,
}

impl GameClock {
    /// Anchors the clock to the system time now.
    pub fn start() -> Self {
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        Self {
            base_ms,
            base: Instant::now(),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now(&self) -> Millis {
        self.at(Instant::now())
    }

    /// The clock in whole ms, for rules that count in `u64` (the limiters).
    pub fn now_ms(&self) -> u64 {
        self.now().max(0.0) as u64
    }

    /// The protocol time of `instant`.
    pub fn at(&self, instant: Instant) -> Millis {
        self.base_ms + instant.saturating_duration_since(self.base).as_secs_f64() * 1000.0
    }

    /// The instant at which the clock reads `ms` (now, if that has passed).
    pub fn instant_at(&self, ms: Millis) -> Instant {
        let ahead = ms - self.now();
        if ahead.is_finite() && ahead > 0.0 {
            Instant::now() + Duration::from_secs_f64(ahead / 1000.0)
        } else {
            Instant::now()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn maps_milliseconds_onto_instants_and_back() {
        let clock = GameClock::start();
        let now = clock.now();
        let later = clock.instant_at(now + 250.0);
        let back = clock.at(later);
        assert!(
            (back - (now + 250.0)).abs() < 5.0,
            "{back} vs {}",
            now + 250.0
        );
        assert!(clock.instant_at(now - 1000.0) <= Instant::now());
        assert!(clock.now() >= now);
    }
}
