//! Bad frames get errors, repeat offenders and whack floods are closed, and none
//! of it stalls the room for the others.

use crate::{FLAGS, next_mole, online, seeded_room, start};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use whack_shared::protocol::{ClientMsg, ServerMsg, close};
use whack_tests::TestServer;
use whack_tests::ws::{GameClient, WAIT};

/// The next message that is not room traffic.
async fn answer(client: &mut GameClient) -> anyhow::Result<ServerMsg> {
    Ok(client
        .wait_for(WAIT, |m| {
            matches!(m, ServerMsg::Error { .. } | ServerMsg::Pong { .. })
        })
        .await?)
}

#[tokio::test]
async fn bad_frames_and_floods_are_answered_and_closed_without_stalling_the_room()
-> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let [(_, mut a), (_, mut b), (_, mut c)] = online(&server, ["Alice", "Bob", "Carol"]).await?;
    seeded_room(&mut a, &mut [&mut b, &mut c], 5).await?;
    start(&mut a, &mut [&mut b, &mut c]).await?;
    next_mole(&mut b).await?;

    // Bob sends garbage: each frame is answered, the room plays on.
    b.send_raw("x".repeat(5000)).await?;
    let msg = answer(&mut b).await?;
    assert!(
        matches!(&msg, ServerMsg::Error { code, .. } if code == "frame_too_large"),
        "{msg:?}"
    );
    b.send_raw("{oops").await?;
    let msg = answer(&mut b).await?;
    assert!(
        matches!(&msg, ServerMsg::Error { code, .. } if code == "invalid_json"),
        "{msg:?}"
    );
    b.send_raw(r#"{"type":"dance","moves":3}"#).await?;
    let msg = answer(&mut b).await?;
    assert!(
        matches!(&msg, ServerMsg::Error { code, .. } if code == "unknown_type"),
        "{msg:?}"
    );
    b.send(&ClientMsg::Ping { t: 1.0 }).await?;
    assert!(matches!(answer(&mut b).await?, ServerMsg::Pong { .. }));
    next_mole(&mut a).await?;
    // A well-formed but wrong message is refused without counting as garbage.
    b.send(&ClientMsg::Whack { hole: 9 }).await?;
    let msg = answer(&mut b).await?;
    assert!(
        matches!(&msg, ServerMsg::Error { code, .. } if code == "invalid_hole"),
        "{msg:?}"
    );
    // And it keeps on: one more bad frame closes the connection with 4002.
    b.send_frame(Message::binary(vec![1, 2, 3])).await?;
    assert_eq!(b.expect_close(WAIT).await?, close::PROTOCOL_ERROR);

    // Carol bursts 100 whacks at once: the excess is dropped and counted, not fatal.
    let dropped_before = server.counter("whack_whacks_dropped_total").await?;
    for i in 0..100u8 {
        c.feed(&ClientMsg::Whack { hole: i % 9 }).await?;
    }
    c.flush().await?;
    c.send(&ClientMsg::Ping { t: 3.0 }).await?;
    assert!(matches!(answer(&mut c).await?, ServerMsg::Pong { .. }));
    let dropped = server.counter("whack_whacks_dropped_total").await? - dropped_before;
    assert!(dropped >= 70, "only {dropped} of 100 whacks dropped");

    // A flood that lasts is closed with 4008.
    let flood = async {
        for _ in 0..40 {
            for i in 0..40u8 {
                if c.feed(&ClientMsg::Whack { hole: i % 9 }).await.is_err() {
                    return;
                }
            }
            if c.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    flood.await;
    assert_eq!(c.expect_close(WAIT).await?, close::RATE_LIMITED);

    // Through all of it the room kept playing for Alice.
    a.send(&ClientMsg::Ping { t: 4.0 }).await?;
    next_mole(&mut a).await?;
    a.wait_for(WAIT, |m| matches!(m, ServerMsg::Pong { .. }))
        .await?;
    assert!(server.counter("whack_ws_protocol_errors_total").await? >= 4);
    Ok(())
}
