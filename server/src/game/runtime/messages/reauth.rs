//! `reauth`: a fresh access token of the same player moves the connection's expiry.

use crate::game::runtime::conn::Conn;
use whack_shared::protocol::{ErrorCode, Millis, ServerMsg};

/// Handles `reauth`.
pub fn handle(conn: &mut Conn, token: &str) {
    match conn.tokens.verify(token) {
        Ok(claims) if claims.sub == conn.player.id => {
            conn.expires_at = claims.exp as Millis * 1000.0;
            conn.hub.set_session(conn.link.id, &claims.sid);
            conn.link.send_msg(&ServerMsg::ReauthOk {
                expires_at: conn.expires_at,
            });
        }
        Ok(_) => conn.error(
            ErrorCode::ReauthWrongPlayer,
            "that access token belongs to another player",
        ),
        Err(message) => conn.error(ErrorCode::ReauthFailed, &message),
    }
}
