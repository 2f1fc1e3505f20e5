//! `start_game`: asks the room to start (the room checks that this is the host).

use crate::game::runtime::conn::Conn;
use crate::game::runtime::handles::RoomCmd;
use crate::game::runtime::room_error::RoomError;
use std::time::Duration;

/// Longest room command wait (the room is a local task; this only guards bugs).
const ROOM_SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// Handles `start_game`.
pub async fn handle(conn: &Conn) {
    let Some(room) = conn.link.seat.get() else {
        conn.refused(&RoomError::NotInRoom);
        return;
    };
    let command = RoomCmd::Start {
        player_id: conn.player.id.clone(),
    };
    let sent = tokio::time::timeout(ROOM_SEND_TIMEOUT, room.tx.send(command)).await;
    if !matches!(sent, Ok(Ok(()))) {
        conn.refused(&RoomError::NoSuchRoom);
    }
}
