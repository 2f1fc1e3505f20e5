//! The lobby's list stays current without asking: once a connection has asked
//! for `list_rooms`, it is sent `rooms` again whenever a public room opens,
//! fills, starts or closes, while it is not in a room itself.

use crate::{FLAGS, ROUND_SECS, connect, login, online, room_where};
use std::time::Duration;
use whack_shared::protocol::{ClientMsg, RoomPhase, RoomSummary, ServerMsg};
use whack_tests::TestServer;
use whack_tests::ws::{self, GameClient};

/// Far below the client's 3 s poll: the list must not wait for it.
const AT_ONCE: Duration = Duration::from_secs(1);

/// The next `rooms` within [`AT_ONCE`] whose entry for `id` matches `pred`
/// (`None` when the room is not listed); nothing is sent to ask for it.
async fn pushed(
    client: &mut GameClient,
    id: &str,
    pred: impl Fn(Option<&RoomSummary>) -> bool,
) -> anyhow::Result<Vec<RoomSummary>> {
    let msg = client
        .wait_for(AT_ONCE, |m| match m {
            ServerMsg::Rooms { rooms } => pred(rooms.iter().find(|r| r.id == id)),
            _ => false,
        })
        .await
        .map_err(|e| anyhow::anyhow!("no rooms push in time: {e}"))?;
    match msg {
        ServerMsg::Rooms { rooms } => Ok(rooms),
        _ => unreachable!(),
    }
}

async fn listed(client: &mut GameClient) -> anyhow::Result<Vec<RoomSummary>> {
    client.send(&ClientMsg::ListRooms).await?;
    match client.recv().await? {
        ServerMsg::Rooms { rooms } => Ok(rooms),
        other => anyhow::bail!("list_rooms answered {other:?}"),
    }
}

#[tokio::test]
async fn lobby_connections_are_sent_the_room_list_when_it_changes() -> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let [(_, mut a), (_, mut b), (_, mut c)] = online(&server, ["Alice", "Bob", "Carol"]).await?;
    // Alice and Carol sit in the lobby, looking at the list.
    assert!(listed(&mut a).await?.is_empty());
    assert!(listed(&mut c).await?.is_empty());

    a.send(&ClientMsg::CreateRoom {
        name: Some("Open".into()),
        private: false,
        round_secs: Some(ROUND_SECS),
        seed: None,
    })
    .await?;
    let room = room_where(&mut a, |_| true).await?;
    pushed(&mut c, &room.id, |r| r.is_some_and(|r| r.players == 1)).await?;
    // A push computed while Alice's seat was still being taken may reach her
    // just after it; drain up to a pong, so what follows is sent while she sits.
    a.send(&ClientMsg::Ping { t: 0.0 }).await?;
    a.wait_for(ws::WAIT, |m| matches!(m, ServerMsg::Pong { .. }))
        .await?;

    b.send(&ClientMsg::JoinRoom {
        room_id: Some(room.id.clone()),
        code: None,
        ticket: None,
    })
    .await?;
    room_where(&mut b, |r| r.players.len() == 2).await?;
    pushed(&mut c, &room.id, |r| r.is_some_and(|r| r.players == 2)).await?;

    a.send(&ClientMsg::StartGame).await?;
    pushed(&mut c, &room.id, |r| {
        r.is_some_and(|r| r.state != RoomPhase::Waiting)
    })
    .await?;

    // Alice asked for the list before she was seated, but a room's players are
    // not sent the lobby's list: the pushes for Bob's join and the start, and
    // everything else queued for her up to a pong, have none.
    a.send(&ClientMsg::Ping { t: 1.0 }).await?;
    loop {
        let msg = a.recv().await?;
        assert!(
            !matches!(msg, ServerMsg::Rooms { .. }),
            "a seated player was sent {msg:?}"
        );
        if matches!(msg, ServerMsg::Pong { .. }) {
            break;
        }
    }

    // A private room is never listed, pushed or not; the public room closing is.
    let dave = login(&server, "Dave").await?;
    let mut d = connect(&server, &dave).await?;
    d.send(&ClientMsg::CreateRoom {
        name: None,
        private: true,
        round_secs: None,
        seed: None,
    })
    .await?;
    let hidden = room_where(&mut d, |_| true).await?;
    a.send(&ClientMsg::LeaveRoom).await?;
    b.send(&ClientMsg::LeaveRoom).await?;
    let rooms = pushed(&mut c, &room.id, |r| r.is_none()).await?;
    assert!(rooms.iter().all(|r| r.id != hidden.id), "{rooms:?}");
    // Alice is back in the lobby and hears of changes again, unasked.
    d.send(&ClientMsg::LeaveRoom).await?;
    d.send(&ClientMsg::CreateRoom {
        name: Some("Next".into()),
        private: false,
        round_secs: None,
        seed: None,
    })
    .await?;
    let next = room_where(&mut d, |_| true).await?;
    pushed(&mut a, &next.id, |r| r.is_some()).await?;
    Ok(())
}
