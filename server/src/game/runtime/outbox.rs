//! What goes out to a connection: ready-made frames for its bounded queue, and a
//! close signal anyone (room, hub, revocation, shutdown) can raise once.

use axum::extract::ws::Utf8Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;
use whack_shared::protocol::{CloseCode, ServerMsg};

/// Frames queued per connection before it counts as too slow and is closed.
pub const OUT_QUEUE: usize = 256;

/// What the send half of a connection writes.
#[derive(Debug, Clone)]
pub enum Out {
    /// A JSON text frame, serialized once and shared by every receiver.
    Text(Utf8Bytes),
    /// A heartbeat ping.
    Ping,
}

/// Serializes a server message once, ready to fan out.
pub fn encode(msg: &ServerMsg) -> Option<Utf8Bytes> {
    match serde_json::to_string(msg) {
        Ok(text) => Some(Utf8Bytes::from(text)),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a server message");
            None
        }
    }
}

/// One connection's queue of outgoing frames, bounded at [`OUT_QUEUE`], read
/// by the connection's send half alone.
///
/// It holds no memory while empty: a channel keeps a block of slots for every
/// connection (~1.4 KiB each, measured), and most connections are idle.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Out>,
    closed: bool,
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// [`OUT_QUEUE`] frames are waiting: the connection is not keeping up.
    Full,
    /// The connection is gone.
    Closed,
}

impl Outbox {
    /// Queues a frame without waiting.
    pub fn push(&self, out: Out) -> Result<(), Refused> {
        {
            let mut queue = self.lock();
            if queue.closed {
                return Err(Refused::Closed);
            }
            if queue.frames.len() >= OUT_QUEUE {
                return Err(Refused::Full);
            }
            queue.frames.push_back(out);
        }
        self.ready.notify_one();
        Ok(())
    }

    /// The oldest queued frame, if any.
    pub fn try_recv(&self) -> Option<Out> {
        let mut queue = self.lock();
        let out = queue.frames.pop_front();
        if queue.frames.is_empty() && queue.frames.capacity() > 0 {
            queue.frames = VecDeque::new();
        }
        out
    }

    /// Waits for the oldest frame. Only the reader closes the queue, so it
    /// never waits on a closed one.
    pub async fn recv(&self) -> Out {
        loop {
            if let Some(out) = self.try_recv() {
                return out;
            }
            // A push since `try_recv` left a permit: this returns at once.
            self.ready.notified().await;
        }
    }

    /// Refuses every later frame and drops the queued ones: the reader is gone.
    pub fn close(&self) {
        let mut queue = self.lock();
        queue.closed = true;
        queue.frames = VecDeque::new();
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every update leaves the queue whole; a panic cannot tear one.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A one-shot close request: the first code raised wins.
#[derive(Debug, Default)]
pub struct CloseSignal {
    code: AtomicU16,
    notify: Notify,
}

impl CloseSignal {
    /// Asks the connection to close with `code`; later requests are ignored.
    pub fn raise(&self, code: CloseCode) {
        if self
            .code
            .compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // Both halves of the connection wait on it.
            self.notify.notify_waiters();
        }
    }

    /// The code raised, if any.
    pub fn code(&self) -> Option<CloseCode> {
        // Only `raise` stores, and only numbers of a `CloseCode`.
        CloseCode::from_code(self.code.load(Ordering::Acquire))
    }

    /// Waits until a close is raised; returns its code.
    pub async fn raised(&self) -> CloseCode {
        loop {
            // Registered before the check, so a raise in between is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(code) = self.code() {
                return code;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_outbox_is_bounded_ordered_and_refuses_once_closed() {
        let outbox = Arc::new(Outbox::default());
        let reader = {
            let outbox = Arc::clone(&outbox);
            tokio::spawn(async move { outbox.recv().await })
        };
        tokio::task::yield_now().await;
        assert_eq!(outbox.push(Out::Ping), Ok(()));
        assert!(matches!(reader.await.ok(), Some(Out::Ping)));

        for n in 0..OUT_QUEUE {
            let frame = Utf8Bytes::from(n.to_string());
            assert_eq!(outbox.push(Out::Text(frame)), Ok(()));
        }
        assert_eq!(outbox.push(Out::Ping), Err(Refused::Full));
        for n in 0..OUT_QUEUE {
            assert!(matches!(outbox.try_recv(), Some(Out::Text(t)) if t.as_str() == n.to_string()));
        }
        assert!(outbox.try_recv().is_none());
        assert_eq!(
            outbox.lock().frames.capacity(),
            0,
            "an empty queue keeps no memory"
        );

        assert_eq!(outbox.push(Out::Ping), Ok(()));
        outbox.close();
        assert!(outbox.try_recv().is_none(), "closing drops what was queued");
        assert_eq!(outbox.push(Out::Ping), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn the_first_close_code_wins() {
        let signal = Arc::new(CloseSignal::default());
        signal.raise(CloseCode::TokenExpired);
        signal.raise(CloseCode::GoingAway);
        assert_eq!(signal.raised().await, CloseCode::TokenExpired);

        let later = Arc::new(CloseSignal::default());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let later = Arc::clone(&later);
                tokio::spawn(async move { later.raised().await })
            })
            .collect();
        tokio::task::yield_now().await;
        later.raise(CloseCode::ProtocolError);
        for waiter in waiters {
            assert_eq!(waiter.await.ok(), Some(CloseCode::ProtocolError));
        }
    }
}
