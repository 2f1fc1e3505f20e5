//! `list_rooms`: the public rooms, and from then on a push whenever they change.

use crate::game::runtime::conn::Conn;
use whack_shared::protocol::ServerMsg;

/// Handles `list_rooms`.
pub fn handle(conn: &Conn) {
    // A lobby: kept up to date from now on, so counts do not lag.
    conn.hub.watch_rooms(&conn.link);
    conn.link.send_msg(&ServerMsg::Rooms {
        rooms: conn.hub.list_rooms(),
    });
}
