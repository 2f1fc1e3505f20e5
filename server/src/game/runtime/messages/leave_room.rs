//! `leave_room`: gives up the seat this connection plays.

use crate::game::runtime::conn::Conn;

/// Handles `leave_room`.
pub async fn handle(conn: &Conn) {
    if let Err(e) = conn.hub.leave(&conn.player.id, &conn.link).await {
        conn.refused(&e);
    }
}
