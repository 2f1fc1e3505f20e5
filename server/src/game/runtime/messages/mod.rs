//! One handler per client message, each in its own module; [`dispatch`] is the
//! only place that matches on [`ClientMsg`].

mod create_room;
mod hello;
mod join_room;
mod leave_room;
mod list_rooms;
mod ping;
mod quick_match;
mod reauth;
mod start_game;
mod whack;

use super::conn::Conn;
use whack_shared::protocol::ClientMsg;

/// Hands one parsed message to its handler.
///
/// The handlers that wait on the hub or a room are boxed: their futures are
/// large and rare, and inline they would size every idle connection's task for
/// them. Whacks and pings never wait, so the hot path allocates nothing.
pub async fn dispatch(conn: &mut Conn, msg: ClientMsg) {
    match msg {
        ClientMsg::Hello { protocol_version } => hello::handle(conn, protocol_version),
        ClientMsg::ListRooms => list_rooms::handle(conn),
        ClientMsg::CreateRoom {
            name,
            private,
            round_secs,
            seed,
        } => Box::pin(create_room::handle(conn, name, private, round_secs, seed)).await,
        ClientMsg::JoinRoom {
            room_id,
            code,
            ticket,
        } => Box::pin(join_room::handle(conn, room_id, code, ticket)).await,
        ClientMsg::QuickMatch => Box::pin(quick_match::handle(conn)).await,
        ClientMsg::LeaveRoom => Box::pin(leave_room::handle(conn)).await,
        ClientMsg::StartGame => Box::pin(start_game::handle(conn)).await,
        ClientMsg::Whack { hole } => whack::handle(conn, hole),
        ClientMsg::Reauth { access_token } => reauth::handle(conn, access_token.expose()),
        ClientMsg::Ping { t } => ping::handle(conn, t),
    }
}
