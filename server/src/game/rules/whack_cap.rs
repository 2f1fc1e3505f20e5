//! The per-player whack cap: a sliding one-second window over accepted whacks.

use std::collections::VecDeque;
use whack_shared::protocol::{MAX_WHACKS_PER_SEC, Millis};

/// The window the cap applies to, in ms.
const WINDOW_MS: Millis = 1000.0;

/// Remembers one player's accepted whacks of the last second.
#[derive(Debug, Default)]
pub struct WhackLimiter {
    accepted: VecDeque<Millis>,
}

impl WhackLimiter {
    /// Takes a whack at `now` unless 15 were taken in the second before it.
    ///
    /// A whack is remembered while it is less than 1 s old, so no half-open 1 s
    /// window ever holds more than 15 taken whacks. `now` must not go backwards.
    pub fn admit(&mut self, now: Millis) -> bool {
        while self
            .accepted
            .front()
            .is_some_and(|&at| at <= now - WINDOW_MS)
        {
            self.accepted.pop_front();
        }
        if self.accepted.len() >= MAX_WHACKS_PER_SEC as usize {
            return false;
        }
        self.accepted.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_fifteen_a_second_then_frees_up_as_the_window_slides() {
        let mut limiter = WhackLimiter::default();
        for i in 0..15 {
            assert!(limiter.admit(1000.0 + f64::from(i)), "whack {i}");
        }
        assert!(!limiter.admit(1999.9), "16th within the second");
        assert!(limiter.admit(2000.0), "the first one is now 1 s old");
        assert!(
            !limiter.admit(2000.5),
            "the second one is still in the window"
        );
        assert!(limiter.admit(2001.0));
    }
}
