//! `join_room`: by id, by join code (which counts against the guess limits),
//! or by id with the seat ticket of a `redirect`.

use crate::game::runtime::conn::Conn;
use crate::game::runtime::room_error::RoomError;
use whack_shared::Secret;

/// Handles `join_room`.
pub async fn handle(
    conn: &mut Conn,
    room_id: Option<String>,
    code: Option<Secret>,
    ticket: Option<Secret>,
) {
    let guessed = room_id.is_none() && code.is_some();
    let (player, link) = (conn.player.clone(), conn.link.clone());
    let result = match (&room_id, &ticket) {
        (Some(room_id), Some(ticket)) => {
            let result = conn
                .hub
                .join_ticketed(room_id, ticket.expose(), player, link)
                .await;
            // Tickets carry 256 random bits: a wrong one is a guess too.
            if matches!(result, Err(RoomError::BadTicket)) {
                conn.strike();
            }
            result
        }
        _ => {
            conn.hub
                .join(
                    room_id.as_deref(),
                    code.as_ref().map(Secret::expose),
                    player,
                    link,
                )
                .await
        }
    };
    // Wrong join codes (and codes refused by the guess limit) also count like
    // malformed frames: a socket that keeps guessing is closed.
    let wrong =
        |e: &RoomError| matches!(e, RoomError::NoSuchRoom | RoomError::TooManyGuesses { .. });
    if guessed && result.as_ref().is_err_and(wrong) {
        conn.strike();
    }
    conn.entered(result);
}
