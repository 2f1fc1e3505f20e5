//! `quick_match`: a public quick-match room that is filling, or a new one.

use crate::game::runtime::conn::Conn;

/// Handles `quick_match`.
pub async fn handle(conn: &Conn) {
    let result = conn
        .hub
        .quick_match(conn.player.clone(), conn.link.clone())
        .await;
    conn.entered(result);
}
