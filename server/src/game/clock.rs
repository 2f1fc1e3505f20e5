//! The one clock every room and socket reads: Unix epoch milliseconds that never
//! go backwards, and the tokio instant at which a given millisecond arrives.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use whack_shared::protocol::Millis;

/// Wall-clock milliseconds anchored once to a monotonic instant, so deadlines
/// computed in protocol time map exactly onto timers.
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
