//! Leaving a room after its round: the others see the leaver gone at once, and
//! the next round is played without them (not with them listed as away).

use crate::{FLAGS, ROUND_SECS, online, room_where, seeded_room, start};
use std::time::Duration;
use whack_shared::protocol::{ClientMsg, RoomPhase, RoomView, ServerMsg};
use whack_tests::TestServer;
use whack_tests::ws::{GameClient, WAIT};

/// "At once": a leave is one hop through the room task.
const AT_ONCE: Duration = Duration::from_secs(1);

/// Reads until `game_over` (the round plus some slack).
async fn game_over(client: &mut GameClient) -> anyhow::Result<()> {
    let round = Duration::from_secs(u64::from(ROUND_SECS)) + WAIT;
    client
        .wait_for(round, |m| matches!(m, ServerMsg::GameOver { .. }))
        .await?;
    Ok(())
}

fn lists(room: &RoomView, player_id: &str) -> bool {
    room.players.iter().any(|p| p.id == player_id)
}

#[tokio::test]
async fn a_player_who_leaves_a_finished_room_is_gone_for_everyone_at_once() -> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let [(alice, mut a), (bob, mut b)] = online(&server, ["Alice", "Bob"]).await?;
    seeded_room(&mut a, &mut [&mut b], 11).await?;
    start(&mut a, &mut [&mut b]).await?;
    game_over(&mut a).await?;
    game_over(&mut b).await?;
    room_where(&mut a, |r| r.state == RoomPhase::Finished).await?;
    room_where(&mut b, |r| r.state == RoomPhase::Finished).await?;

    // Bob goes back to the lobby from the results.
    b.send(&ClientMsg::LeaveRoom).await?;
    let seen = a
        .wait_for(AT_ONCE, |m| matches!(m, ServerMsg::RoomState { .. }))
        .await?;
    let ServerMsg::RoomState { room } = seen else {
        unreachable!()
    };
    assert!(
        !lists(&room, &bob.me.id),
        "Bob left, yet Alice's room still lists him: {:?}",
        room.players
    );
    assert_eq!(room.players.len(), 1);
    assert_eq!(room.host, alice.me.id);

    // Bob is really out: nothing of the room reaches him, and Alice's next
    // round is hers alone, from the countdown to the end.
    start(&mut a, &mut []).await?;
    let next = room_where(&mut a, |r| r.state == RoomPhase::Countdown).await?;
    assert!(!lists(&next, &bob.me.id), "{:?}", next.players);
    game_over(&mut a).await?;
    let after = room_where(&mut a, |r| r.state == RoomPhase::Finished).await?;
    assert!(!lists(&after, &bob.me.id), "{:?}", after.players);
    b.send(&ClientMsg::ListRooms).await?;
    let reply = b.recv().await?;
    assert!(
        matches!(reply, ServerMsg::Rooms { .. }),
        "Bob, in the lobby, got {reply:?}"
    );
    Ok(())
}
