//! Quick match seats players together and starts by itself.

use crate::{FLAGS, connect, login, online, room_where};
use whack_shared::protocol::{ClientMsg, RoomPhase, ServerMsg, close};
use whack_tests::TestServer;
use whack_tests::ws::WAIT;

#[tokio::test]
async fn quick_match_pairs_players_and_starts_on_its_own() -> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let [(_, mut a), (_, mut b)] = online(&server, ["Alice", "Bob"]).await?;

    a.send(&ClientMsg::QuickMatch).await?;
    let room = room_where(&mut a, |_| true).await?;
    assert!(room.quick && !room.private);
    assert_eq!(room.state, RoomPhase::Waiting);

    b.send(&ClientMsg::ListRooms).await?;
    let listed = b
        .wait_for(WAIT, |m| matches!(m, ServerMsg::Rooms { .. }))
        .await?;
    assert!(
        matches!(&listed, ServerMsg::Rooms { rooms } if rooms.iter().any(|r| r.id == room.id && r.players == 1))
    );

    b.send(&ClientMsg::QuickMatch).await?;
    let joined = room_where(&mut b, |_| true).await?;
    assert_eq!(joined.id, room.id);
    assert_eq!(joined.players.len(), 2);
    for client in [&mut a, &mut b] {
        client
            .wait_for(WAIT, |m| matches!(m, ServerMsg::Countdown { .. }))
            .await?;
    }
    // Nobody else is let in once the round is on.
    let carol = login(&server, "Carol").await?;
    let mut c = connect(&server, &carol).await?;
    c.send(&ClientMsg::JoinRoom {
        room_id: Some(room.id.clone()),
        code: None,
        ticket: None,
    })
    .await?;
    let refused = c.recv().await?;
    assert!(
        matches!(&refused, ServerMsg::Error { code, .. } if code == "room_in_game"),
        "{refused:?}"
    );

    // Guessing private join codes gets the guesser closed.
    for _ in 0..4 {
        c.send(&ClientMsg::JoinRoom {
            room_id: None,
            code: Some("ZZZZZZ".into()),
            ticket: None,
        })
        .await?;
    }
    for _ in 0..4 {
        let msg = c.recv().await?;
        assert!(
            matches!(&msg, ServerMsg::Error { code, .. } if code == "no_such_room"),
            "{msg:?}"
        );
    }
    assert_eq!(c.expect_close(WAIT).await?, close::PROTOCOL_ERROR);
    Ok(())
}
