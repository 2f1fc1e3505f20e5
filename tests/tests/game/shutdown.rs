//! SIGTERM: every player gets a notice and close 1001, and the server exits 0.

use crate::{FLAGS, connect, online, seeded_room, start};
use std::time::Duration;
use whack_shared::protocol::{ServerMsg, close};
use whack_tests::TestServer;
use whack_tests::ws::GameClient;

async fn notice_then_close(mut client: GameClient) -> anyhow::Result<u16> {
    client
        .wait_for(Duration::from_secs(10), |m| {
            matches!(m, ServerMsg::Shutdown { .. })
        })
        .await?;
    Ok(client.expect_close(Duration::from_secs(5)).await?)
}

#[tokio::test]
async fn shutdown_tells_players_and_closes_with_1001() -> anyhow::Result<()> {
    let mut server = TestServer::start_with(FLAGS).await?;
    let [(alice, mut a), (_, mut b)] = online(&server, ["Alice", "Bob"]).await?;
    seeded_room(&mut a, &mut [&mut b], 3).await?;
    start(&mut a, &mut [&mut b]).await?;
    let lobby = connect(&server, &alice).await?;

    let watchers = [a, b, lobby].map(|c| tokio::spawn(notice_then_close(c)));
    let status = server.terminate().await?;
    assert!(status.success(), "exit status {status}");
    for watcher in watchers {
        assert_eq!(watcher.await??, close::GOING_AWAY);
    }
    Ok(())
}
