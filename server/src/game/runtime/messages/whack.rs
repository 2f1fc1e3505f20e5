//! `whack`: stamped on arrival, shed here when it is clearly a flood, and
//! passed to the room, which decides what it scores.

use crate::game::runtime::conn::Conn;
use crate::game::runtime::conn_limits::WhackVerdict;
use crate::game::runtime::handles::RoomCmd;
use crate::game::runtime::room_error::RoomError;
use tokio::sync::mpsc::error::TrySendError;
use whack_shared::protocol::{CloseCode, ErrorCode, HOLES};

/// Why a whack did not reach its room.
enum NotSent {
    /// The room's queue is full: drop it like a flood.
    Full,
    /// No room (any more).
    NoRoom,
}

/// Handles `whack`.
pub fn handle(conn: &mut Conn, hole: u8) {
    let metrics = conn.hub.metrics();
    metrics.whacks.inc();
    if hole >= HOLES {
        conn.error(ErrorCode::InvalidHole, "holes are 0–8");
        return;
    }
    if conn.link.seat.with(|room| room.is_none()) {
        conn.refused(&RoomError::NotInRoom);
        return;
    }
    let at = conn.hub.clock().now();
    match conn.flood.admit(at) {
        WhackVerdict::Forward => {
            let command = RoomCmd::Whack {
                player_id: conn.player.id.clone(),
                hole,
                at,
            };
            // `try_send`: a whack never waits behind a busy room.
            let sent = conn.link.seat.with(|room| match room {
                Some(room) => room.tx.try_send(command).map_err(|e| match e {
                    TrySendError::Full(_) => NotSent::Full,
                    TrySendError::Closed(_) => NotSent::NoRoom,
                }),
                None => Err(NotSent::NoRoom),
            });
            match sent {
                Ok(()) => {}
                Err(NotSent::Full) => metrics.whacks_dropped.inc(),
                Err(NotSent::NoRoom) => conn.refused(&RoomError::NotInRoom),
            }
        }
        WhackVerdict::Drop => metrics.whacks_dropped.inc(),
        WhackVerdict::Close => {
            metrics.whacks_dropped.inc();
            conn.error(ErrorCode::RateLimited, "too many whacks for too long");
            conn.link.close.raise(CloseCode::RateLimited);
        }
    }
}
