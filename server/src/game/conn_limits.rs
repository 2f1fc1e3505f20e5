//! What a connection may get away with: malformed frames (answered with `error`,
//! closed with 4002 when they keep coming) and whack floods (dropped, and closed
//! with 4008 when they last). Pure counters over protocol time.

use whack_shared::protocol::{MAX_WHACKS_PER_SEC, Millis};

/// Malformed frames tolerated within [`STRIKE_WINDOW_MS`]; one more closes.
pub const MAX_STRIKES: usize = 3;
/// How long a malformed frame counts against a connection, in ms.
pub const STRIKE_WINDOW_MS: Millis = 10_000.0;
/// Whacks per second forwarded to the room; the round's own 15/s cap decides
/// which of them count, so the socket only sheds what is clearly a flood.
pub const FORWARD_PER_SEC: u32 = 2 * MAX_WHACKS_PER_SEC;
/// Consecutive seconds over the whack cap that close the connection.
pub const FLOOD_SECONDS: u32 = 3;

/// Counts malformed frames in a sliding window.
#[derive(Debug, Default)]
pub struct Strikes {
    at: Vec<Millis>,
}

impl Strikes {
    /// Records a malformed frame at `now`; true when the connection should close.
    pub fn offend(&mut self, now: Millis) -> bool {
        self.at.retain(|&t| now - t < STRIKE_WINDOW_MS);
        self.at.push(now);
        self.at.len() > MAX_STRIKES
    }
}

/// What to do with one whack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhackVerdict {
    /// Pass it to the room.
    Forward,
    /// Drop it here and count it.
    Drop,
    /// The flood has lasted: close with 4008.
    Close,
}

/// Whacks per one-second window, and how many windows in a row went over the cap.
#[derive(Debug, Default)]
pub struct FloodGuard {
    window: i64,
    count: u32,
    /// Consecutive full windows before `window` that went over the cap.
    streak: u32,
}

impl FloodGuard {
    /// Judges a whack received at `now`.
    pub fn admit(&mut self, now: Millis) -> WhackVerdict {
        let window = (now / 1000.0).floor() as i64;
        if window != self.window {
            let flooded = self.count > MAX_WHACKS_PER_SEC;
            self.streak = if flooded && window == self.window + 1 {
                self.streak + 1
            } else {
                0
            };
            self.window = window;
            self.count = 0;
        }
        self.count += 1;
        if self.count > MAX_WHACKS_PER_SEC && self.streak + 1 >= FLOOD_SECONDS {
            WhackVerdict::Close
        } else if self.count > FORWARD_PER_SEC {
            WhackVerdict::Drop
        } else {
            WhackVerdict::Forward
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strikes_close_only_when_they_keep_coming() {
        let mut strikes = Strikes::default();
        for i in 0..MAX_STRIKES {
            assert!(!strikes.offend(1000.0 * i as f64), "strike {i}");
        }
        assert!(strikes.offend(3000.0));
        let mut slow = Strikes::default();
        for i in 0..20 {
            assert!(!slow.offend(STRIKE_WINDOW_MS * f64::from(i) / 2.0));
        }
    }

    #[test]
    fn a_burst_is_shed_but_not_closed() {
        let mut guard = FloodGuard::default();
        let verdicts: Vec<_> = (0..100)
            .map(|i| guard.admit(5000.0 + f64::from(i)))
            .collect();
        let forwarded = verdicts
            .iter()
            .filter(|v| **v == WhackVerdict::Forward)
            .count();
        assert_eq!(forwarded, FORWARD_PER_SEC as usize);
        assert!(!verdicts.contains(&WhackVerdict::Close));
        // A normal second afterwards resets everything.
        assert_eq!(guard.admit(6100.0), WhackVerdict::Forward);
        assert_eq!(guard.admit(7100.0), WhackVerdict::Forward);
    }

    #[test]
    fn sustained_floods_close_in_the_third_second() {
        let mut guard = FloodGuard::default();
        let mut closed_at = None;
        for i in 0..80u32 {
            // 20 whacks a second, just over the cap.
            let now = 10_000.0 + f64::from(i) * 50.0;
            if guard.admit(now) == WhackVerdict::Close {
                closed_at = Some(now);
                break;
            }
        }
        let at = closed_at.unwrap_or_else(|| panic!("never closed"));
        assert!((12_000.0..13_000.0).contains(&at), "closed at {at}");
    }

    #[test]
    fn gaps_break_the_streak() {
        let mut guard = FloodGuard::default();
        for second in [0.0, 1000.0, 5000.0, 6000.0] {
            for i in 0..16 {
                assert_ne!(
                    guard.admit(second + f64::from(i)),
                    WhackVerdict::Close,
                    "second {second}"
                );
            }
        }
    }
}
