//! A dropped player comes back within the grace and finds seat, score and board.

use crate::{FLAGS, connect, next_mole, online, room_where, seeded_room, start};
use std::time::Duration;
use whack_shared::protocol::{ClientMsg, RoomPhase, ServerMsg};
use whack_tests::TestServer;

#[tokio::test]
async fn a_dropped_player_reconnects_to_seat_score_and_board() -> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let [(alice, mut a), (_, mut b)] = online(&server, ["Alice", "Bob"]).await?;
    let room = seeded_room(&mut a, &mut [&mut b], 11).await?;
    start(&mut a, &mut [&mut b]).await?;

    // Alice scores (or loses points on a bomb): either way her score moves.
    let hole = next_mole(&mut a).await?;
    a.send(&ClientMsg::Whack { hole }).await?;
    let score = match a
        .wait_for(
            Duration::from_secs(5),
            |m| matches!(m, ServerMsg::Score { player_id, .. } if *player_id == alice.me.id),
        )
        .await?
    {
        ServerMsg::Score { score, .. } => score,
        _ => unreachable!(),
    };
    assert_ne!(score, 0);

    a.drop_connection();
    let seen = room_where(&mut b, |r| {
        r.players
            .iter()
            .any(|p| p.id == alice.me.id && !p.connected)
    })
    .await?;
    assert_eq!(seen.players.len(), 2, "her seat is kept");

    let mut a = connect(&server, &alice).await?;
    let back = room_where(&mut a, |_| true).await?;
    assert_eq!(back.id, room.id);
    assert_eq!(back.state, RoomPhase::Playing);
    assert!(back.ends_at.is_some());
    let me = back.players.iter().find(|p| p.id == alice.me.id).unwrap();
    assert_eq!((me.score, me.connected), (score, true));
    let server_now = a.server_time;
    assert!(
        back.moles.iter().all(|m| m.down_at > server_now - 2000.0),
        "the board is current: {:?}",
        back.moles
    );
    room_where(&mut b, |r| r.players.iter().all(|p| p.connected)).await?;

    // And she plays on in the same seat.
    let hole = next_mole(&mut a).await?;
    a.send(&ClientMsg::Whack { hole }).await?;
    a.wait_for(
        Duration::from_secs(5),
        |m| matches!(m, ServerMsg::Score { player_id, .. } if *player_id == alice.me.id),
    )
    .await?;
    Ok(())
}
