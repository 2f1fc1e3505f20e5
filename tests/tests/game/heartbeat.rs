//! Heartbeats: a client that answers pings stays, a silent one is closed.

use crate::{FLAGS, connect, login};
use std::time::Duration;
use whack_shared::protocol::{ClientMsg, ServerMsg};
use whack_tests::TestServer;

#[tokio::test]
async fn silent_connections_are_closed_and_live_ones_kept() -> anyhow::Result<()> {
    let mut flags = FLAGS.to_vec();
    flags.extend(["--ws-heartbeat-secs", "1", "--ws-idle-secs", "2"]);
    let server = TestServer::start_with(&flags).await?;
    let alice = login(&server, "Alice").await?;
    let mut silent = connect(&server, &alice).await?;
    let mut live = connect(&server, &alice).await?;

    // Reading lets the client library answer the server's pings.
    let kept = live
        .wait_for(Duration::from_millis(3500), |_| false)
        .await
        .err();
    assert!(
        matches!(kept, Some(whack_tests::ws::WsError::Timeout(_))),
        "{kept:?}"
    );
    live.send(&ClientMsg::Ping { t: 1.0 }).await?;
    assert!(matches!(live.recv().await?, ServerMsg::Pong { .. }));

    // The silent one never read, so never answered: it was closed meanwhile.
    assert_eq!(silent.expect_close(Duration::from_secs(1)).await?, 1000);
    Ok(())
}
