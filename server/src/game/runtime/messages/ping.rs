//! `ping`: echoes the client's time with the server's.

use crate::game::runtime::conn::Conn;
use whack_shared::protocol::{Millis, ServerMsg};

/// Handles `ping`.
pub fn handle(conn: &Conn, t: Millis) {
    conn.link.send_msg(&ServerMsg::Pong {
        t,
        server_time: conn.hub.clock().now(),
    });
}
