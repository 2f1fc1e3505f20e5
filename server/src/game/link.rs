//! The handle a room holds on a connection: a bounded queue of ready-made frames,
//! and a close signal anyone (room, hub, revocation, shutdown) can raise once.

use super::hub::RoomHandle;
use axum::extract::ws::Utf8Bytes;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{Notify, mpsc};
use whack_shared::protocol::ServerMsg;

/// Frames queued per connection before it counts as too slow and is closed.
pub const OUT_QUEUE: usize = 256;
/// Close code for a client that does not read its frames (RFC 6455 "try again later").
pub const CLOSE_TOO_SLOW: u16 = 1013;
/// Close code for a connection silent for too long.
pub const CLOSE_IDLE: u16 = 1000;

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

/// A one-shot close request: the first code raised wins.
#[derive(Debug, Default)]
pub struct CloseSignal {
    code: AtomicU16,
    notify: Notify,
}

impl CloseSignal {
    /// Asks the connection to close with `code`; later requests are ignored.
    pub fn raise(&self, code: u16) {
        if self
            .code
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // Both halves of the connection wait on it.
            self.notify.notify_waiters();
        }
    }

    /// The code raised, if any.
    pub fn code(&self) -> Option<u16> {
        match self.code.load(Ordering::Acquire) {
            0 => None,
            code => Some(code),
        }
    }

    /// Waits until a close is raised; returns its code.
    pub async fn raised(&self) -> u16 {
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

/// The room a connection plays in, as the hub last decided. Only the hub writes
/// it (while it holds the player's seat lock); the connection reads it for every
/// room command, so a seat taken to another connection stops this one at once.
#[derive(Debug, Default)]
pub struct SeatSlot(Mutex<Option<RoomHandle>>);

impl SeatSlot {
    /// The room this connection holds the seat in, if any.
    pub fn get(&self) -> Option<RoomHandle> {
        self.lock().clone()
    }

    /// Runs `f` on the room without cloning its handle (the whack path).
    pub fn with<T>(&self, f: impl FnOnce(Option<&RoomHandle>) -> T) -> T {
        f(self.lock().as_ref())
    }

    pub(super) fn set(&self, room: Option<RoomHandle>) {
        *self.lock() = room;
    }

    /// Clears the slot if it still points at room `id`.
    pub(super) fn clear_if(&self, id: &str) {
        let mut slot = self.lock();
        if slot.as_ref().is_some_and(|r| &*r.id == id) {
            *slot = None;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<RoomHandle>> {
        // A handle is replaced whole; a panic cannot leave half of one behind.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection as a room or the hub sees it.
#[derive(Debug, Clone)]
pub struct ConnLink {
    /// Unique for the server's lifetime.
    pub id: u64,
    /// The connection's outgoing queue.
    pub tx: mpsc::Sender<Out>,
    /// Raise to close the connection.
    pub close: Arc<CloseSignal>,
    /// The client's address (join-code guesses are counted per address).
    pub addr: IpAddr,
    /// Where this connection's seat is.
    pub seat: Arc<SeatSlot>,
}

impl ConnLink {
    /// A link for connection `id` from `addr`, with its outgoing queue.
    pub fn new(id: u64, tx: mpsc::Sender<Out>, close: Arc<CloseSignal>, addr: IpAddr) -> Self {
        Self {
            id,
            tx,
            close,
            addr,
            seat: Arc::default(),
        }
    }

    /// Queues a frame without waiting; a connection whose queue is full is not
    /// keeping up and is closed rather than allowed to hold the room back.
    pub fn send(&self, frame: &Utf8Bytes) -> bool {
        match self.tx.try_send(Out::Text(frame.clone())) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close.raise(CLOSE_TOO_SLOW);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Serializes and queues one message for this connection only.
    pub fn send_msg(&self, msg: &ServerMsg) -> bool {
        encode(msg).is_some_and(|frame| self.send(&frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_close_code_wins_and_full_queues_close() {
        let signal = Arc::new(CloseSignal::default());
        signal.raise(4001);
        signal.raise(1001);
        assert_eq!(signal.raised().await, 4001);

        let later = Arc::new(CloseSignal::default());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let later = Arc::clone(&later);
                tokio::spawn(async move { later.raised().await })
            })
            .collect();
        tokio::task::yield_now().await;
        later.raise(4002);
        for waiter in waiters {
            assert_eq!(waiter.await.ok(), Some(4002));
        }

        let (tx, _rx) = mpsc::channel(1);
        let link = ConnLink::new(
            1,
            tx,
            Arc::new(CloseSignal::default()),
            IpAddr::from([127, 0, 0, 1]),
        );
        let frame = Utf8Bytes::from_static("{}");
        assert!(link.send(&frame));
        assert!(!link.send(&frame));
        assert_eq!(link.close.code(), Some(CLOSE_TOO_SLOW));
    }
}
