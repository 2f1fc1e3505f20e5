//! A room's wake-up timer, exact to the kernel's timer slack (~50 µs) instead of
//! tokio's 1 ms wheel, which rounds every deadline up to its next tick and so
//! popped each mole 0.5–1.5 ms after its time.
//!
//! It is a Linux `timerfd` in the runtime's own reactor: the fd turns readable
//! at the deadline and wakes the room from `epoll` like a socket would, with no
//! thread of its own. One fd per room (rooms are bounded, see the README); if
//! one cannot be had, the room falls back to tokio's timer.

use rustix::fd::OwnedFd;
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
use std::io;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

/// Wakes its owner at a deadline.
pub(super) enum PreciseTimer {
    /// A `timerfd`, armed per wait.
    Fd(AsyncFd<OwnedFd>),
    /// Tokio's timer: when no `timerfd` was available.
    Wheel,
}

impl PreciseTimer {
    /// A `timerfd`-backed timer, or tokio's if the kernel refuses one.
    pub(super) fn new() -> Self {
        match Self::timerfd() {
            Ok(fd) => Self::Fd(fd),
            Err(e) => {
                tracing::warn!(error = %e, "no timerfd for a room; its moles pop on tokio's 1 ms timer");
                Self::Wheel
            }
        }
    }

    fn timerfd() -> io::Result<AsyncFd<OwnedFd>> {
        let fd = rustix::time::timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // Deprecated for fds the `AsyncFd` does not own; this one owns its
        // `OwnedFd`, so the descriptor stays open exactly as long as it is
        // registered (the safe `register` needs `unsafe`, forbidden here).
        #[expect(deprecated, reason = "the AsyncFd owns its OwnedFd")]
        AsyncFd::new(fd)
    }

    /// Returns at `at` (at once if it has passed), or never when `at` is `None`.
    /// Cancel-safe: dropping the wait leaves nothing behind that a later wait
    /// would mistake for its own expiry.
    pub(super) async fn sleep_until(&mut self, at: Option<Instant>) {
        let Some(at) = at else {
            return std::future::pending().await;
        };
        let Self::Fd(fd) = self else {
            return tokio::time::sleep_until(at).await;
        };
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        if let Err(e) = arm(fd, left) {
            tracing::warn!(error = %e, "cannot arm a room's timerfd; using tokio's timer");
            *self = Self::Wheel;
            return tokio::time::sleep_until(at).await;
        }
        loop {
            let Ok(mut ready) = fd.readable().await else {
                return tokio::time::sleep_until(at).await;
            };
            // Re-arming resets the expiry count, so a readiness left over
            // from a cancelled wait reads as nothing (EAGAIN) and is cleared.
            let mut expirations = [0_u8; 8];
            match rustix::io::read(fd.get_ref(), &mut expirations[..]) {
                Ok(_) => return,
                Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
                Err(_) => return tokio::time::sleep_until(at).await,
            }
        }
    }
}

/// Arms `fd` to expire once, `left` from now.
fn arm(fd: &AsyncFd<OwnedFd>, left: Duration) -> io::Result<()> {
    let value = Timespec::try_from(left).map_err(|_| io::Error::other("deadline out of range"))?;
    let spec = Itimerspec {
        it_interval: Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: value,
    };
    rustix::time::timerfd_settime(fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_at_the_deadline_and_survives_a_cancelled_wait() {
        let mut timer = PreciseTimer::new();
        assert!(matches!(timer, PreciseTimer::Fd(_)), "no timerfd here");
        // A wait abandoned after its expiry leaves the fd readable.
        let soon = Instant::now() + Duration::from_millis(2);
        let _ = tokio::time::timeout(Duration::from_millis(1), timer.sleep_until(Some(soon))).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let start = Instant::now();
        timer
            .sleep_until(Some(start + Duration::from_millis(30)))
            .await;
        let slept = start.elapsed();
        assert!(slept >= Duration::from_millis(30), "woke early: {slept:?}");
        // A passed deadline returns at once.
        timer.sleep_until(Some(Instant::now())).await;
    }
}
