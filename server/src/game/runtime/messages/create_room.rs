//! `create_room`: opens a room with this player as host.

use crate::game::runtime::conn::Conn;
use crate::game::runtime::hub::CreateRoom;

/// Handles `create_room`.
pub async fn handle(
    conn: &Conn,
    name: Option<String>,
    private: bool,
    round_secs: Option<u32>,
    seed: Option<u64>,
) {
    let request = CreateRoom {
        name,
        private,
        round_secs,
        seed,
    };
    let result = conn
        .hub
        .create_room(request, conn.player.clone(), conn.link.clone())
        .await;
    conn.entered(result);
}
