//! The handles hub, rooms and connections hold on each other: a room's command
//! queue ([`RoomHandle`], [`RoomCmd`]), a connection's outgoing queue and close
//! signal ([`ConnLink`]), and which room a connection's seat is in ([`SeatSlot`]).
//! They refer to each other, so they live together; the tasks behind them
//! (hub, room, session) import this module and not one another's internals.

use super::outbox::{CloseSignal, Out, Outbox, Refused, encode};
use super::room_error::RoomError;
use axum::extract::ws::Utf8Bytes;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{mpsc, oneshot};
use whack_shared::protocol::{CloseCode, Millis, PlayerRef, ServerMsg};

/// A room a connection is in: where to send its commands.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    /// Room id.
    pub id: Arc<str>,
    /// The room task's command queue.
    pub tx: mpsc::Sender<RoomCmd>,
}

/// What a room is asked to do.
#[derive(Debug)]
pub enum RoomCmd {
    /// Seat a player (or give a returning player their seat back).
    Join {
        player: PlayerRef,
        link: ConnLink,
        reply: oneshot::Sender<Result<(), RoomError>>,
    },
    /// Give up a seat; `conn` limits it to the seat held by that connection.
    /// `done` is answered once the seat is gone (and the room closed, if empty).
    Leave {
        player_id: String,
        conn: Option<u64>,
        done: Option<oneshot::Sender<()>>,
    },
    /// A member's connection dropped: keep the seat for the reconnect grace.
    Dropped { player_id: String, conn: u64 },
    /// The host starts the round.
    Start { player_id: String },
    /// A whack, stamped when the socket received it.
    Whack {
        player_id: String,
        hole: u8,
        at: Millis,
    },
    /// Bring the round up to date and stop.
    Shutdown,
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
    pub outbox: Arc<Outbox>,
    /// Raise to close the connection.
    pub close: Arc<CloseSignal>,
    /// The client's address (join-code guesses are counted per address).
    pub addr: IpAddr,
    /// Where this connection's seat is.
    pub seat: Arc<SeatSlot>,
}

impl ConnLink {
    /// A link for connection `id` from `addr`, with a new empty outgoing queue.
    pub fn new(id: u64, close: Arc<CloseSignal>, addr: IpAddr) -> Self {
        Self {
            id,
            outbox: Arc::default(),
            close,
            addr,
            seat: Arc::default(),
        }
    }

    /// Queues a frame without waiting; a connection whose queue is full is not
    /// keeping up and is closed rather than allowed to hold the room back.
    pub fn send(&self, frame: &Utf8Bytes) -> bool {
        match self.outbox.push(Out::Text(frame.clone())) {
            Ok(()) => true,
            Err(Refused::Full) => {
                self.close.raise(CloseCode::TooSlow);
                false
            }
            Err(Refused::Closed) => false,
        }
    }

    /// Serializes and queues one message for this connection only.
    pub fn send_msg(&self, msg: &ServerMsg) -> bool {
        encode(msg).is_some_and(|frame| self.send(&frame))
    }
}

#[cfg(test)]
mod tests {
    use super::super::outbox::OUT_QUEUE;
    use super::*;

    #[test]
    fn full_queues_close_as_too_slow() {
        let link = ConnLink::new(
            1,
            Arc::new(CloseSignal::default()),
            IpAddr::from([127, 0, 0, 1]),
        );
        let frame = Utf8Bytes::from_static("{}");
        for _ in 0..OUT_QUEUE {
            assert!(link.send(&frame));
        }
        assert_eq!(link.close.code(), None);
        assert!(!link.send(&frame));
        assert_eq!(link.close.code(), Some(CloseCode::TooSlow));
    }
}
