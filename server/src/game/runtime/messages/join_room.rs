//! `join_room`: by id, or by join code (which counts against the guess limits).

use crate::game::runtime::conn::Conn;
use crate::game::runtime::room_error::RoomError;
use whack_shared::Secret;

/// Handles `join_room`.
pub async fn handle(conn: &mut Conn, room_id: Option<String>, code: Option<Secret>) {
    let guessed = room_id.is_none() && code.is_some();
    let result = conn
        .hub
        .join(
            room_id.as_deref(),
            code.as_ref().map(Secret::expose),
            conn.player.clone(),
            conn.link.clone(),
        )
        .await;
    // Wrong join codes (and codes refused by the guess limit) also count like
    // malformed frames: a socket that keeps guessing is closed.
    let wrong =
        |e: &RoomError| matches!(e, RoomError::NoSuchRoom | RoomError::TooManyGuesses { .. });
    if guessed && result.as_ref().is_err_and(wrong) {
        conn.strike();
    }
    conn.entered(result);
}
