//! `hello`: a client of another protocol version is told so and closed (4003).

use crate::game::runtime::conn::Conn;
use whack_shared::protocol::{CloseCode, ErrorCode, PROTOCOL_VERSION};

/// Handles `hello`.
pub fn handle(conn: &Conn, protocol_version: u32) {
    if protocol_version != PROTOCOL_VERSION {
        conn.error(
            ErrorCode::VersionMismatch,
            &format!(
                "this server speaks protocol version {PROTOCOL_VERSION}, not {protocol_version}; update your client"
            ),
        );
        conn.link.close.raise(CloseCode::VersionMismatch);
    }
}
