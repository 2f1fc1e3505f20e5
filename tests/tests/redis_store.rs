//! `whack-server --redis-url`: a real Redis (and a real Redis Cluster) started
//! by each test, the real server binary, real passkey logins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use std::time::{Duration, Instant};
use whack_server::storage::redis_store::test_redis::TestRedis;
use whack_shared::oauth::{ErrorCode, TokenResponse};
use whack_shared::protocol::{ClientMsg, MIN_ROUND_SECS, ServerMsg};
use whack_tests::passkey::login_new_player;
use whack_tests::ws::{self, GameClient};
use whack_tests::{TestServer, e2e_available, oauth};

/// A running Redis from `started`, or `None` (the test is skipped) without Redis.
fn redis(
    started: Result<Option<TestRedis>, Box<dyn std::error::Error + Send + Sync>>,
) -> anyhow::Result<Option<TestRedis>> {
    let redis = started.map_err(|e| anyhow::anyhow!("cannot start Redis: {e}"))?;
    Ok(redis.filter(|_| e2e_available("redis-server", true)))
}

/// Refreshes until Redis answers again (the node reconnects on its own).
async fn refresh_when_back(
    http: &reqwest::Client,
    url: &str,
    token: &whack_shared::Secret,
) -> anyhow::Result<TokenResponse> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match oauth::refresh(http, url, token).await? {
            Ok(tokens) => return Ok(tokens),
            Err(refused) if refused.status.is_server_error() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(refused) => anyhow::bail!("refresh refused: {refused:?}"),
        }
    }
}

#[tokio::test]
async fn a_redis_that_can_lose_writes_is_refused_naming_both_settings() -> anyhow::Result<()> {
    let Some(volatile) = redis(TestRedis::single_with(&["--appendfsync", "everysec"]))? else {
        return Ok(());
    };
    let mut server = TestServer::start().await?;
    let refused = server
        .start_refused_with(&["--redis-url", &volatile.url])
        .await?;
    assert!(!refused.status.success());
    for needed in [
        "appendonly yes",
        "appendfsync always",
        "appendfsync everysec",
        "--redis-allow-volatile",
    ] {
        assert!(
            refused.stderr.contains(needed),
            "no {needed:?} in:\n{}",
            refused.stderr
        );
    }
    // Accepted when the operator says so, with a warning.
    server.restart_with(&["--redis-allow-volatile"]).await?;
    assert!(
        server.logs().contains("Redis is not durable"),
        "{}",
        server.logs()
    );
    let (login, _) = login_new_player(&server.url(), "Volatile").await?;
    assert!(!login.refresh_token.expose().is_empty());
    Ok(())
}

#[tokio::test]
async fn an_acknowledged_rotation_survives_kill_9_of_redis_under_a_live_node() -> anyhow::Result<()>
{
    let Some(mut redis) = redis(TestRedis::single())? else {
        return Ok(());
    };
    let mut server = TestServer::start_with(&["--redis-url", &redis.url]).await?;
    let (url, http) = (server.url(), reqwest::Client::new());
    let (t0, player) = login_new_player(&url, "Durable").await?;
    let rotated = oauth::refresh(&http, &url, &t0.refresh_token)
        .await?
        .map_err(|r| anyhow::anyhow!("rotation refused: {r:?}"))?;

    redis.kill9();
    redis
        .restart()
        .map_err(|e| anyhow::anyhow!("cannot restart Redis: {e}"))?;

    // The node was not restarted: it reconnects, and the successor works.
    let next = refresh_when_back(&http, &url, &rotated.refresh_token).await?;
    let (status, body) = oauth::me(&http, &url, next.access_token.expose()).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&player.id));

    // The original counts as reused and revokes the session, for good.
    let reuse = oauth::refresh(&http, &url, &t0.refresh_token)
        .await?
        .expect_err("reuse");
    assert_eq!(reuse.code(), ErrorCode::InvalidGrant);
    redis.kill9();
    redis
        .restart()
        .map_err(|e| anyhow::anyhow!("cannot restart Redis: {e}"))?;
    server.kill9();
    server.restart().await?;
    let (status, _) = oauth::me(&http, &url, next.access_token.expose()).await?;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the revocation list is rebuilt from Redis at start-up"
    );
    let refused = oauth::refresh(&http, &url, &next.refresh_token)
        .await?
        .expect_err("the session stays revoked");
    assert_eq!(refused.code(), ErrorCode::InvalidGrant);
    Ok(())
}

/// A new player, logged in and connected to `/play`.
async fn player(server: &TestServer, name: &str) -> anyhow::Result<GameClient> {
    let (login, _) = login_new_player(&server.url(), name).await?;
    Ok(ws::connect(&server.ws_url(), login.access_token.expose()).await?)
}

/// Two players play a seeded round to the end on a node backed by `redis`;
/// the ranking is stored in Redis and the leaderboard shows it.
async fn a_round_is_stored(redis: &TestRedis) -> anyhow::Result<()> {
    let server = TestServer::start_with(&[
        "--redis-url",
        &redis.url,
        "--allow-seeded-rooms",
        "--countdown-ms",
        "300",
    ])
    .await?;
    let url = server.url();
    let mut host = player(&server, "Ann").await?;
    let mut guest = player(&server, "Bob").await?;
    host.send(&ClientMsg::CreateRoom {
        name: None,
        private: false,
        round_secs: Some(MIN_ROUND_SECS),
        seed: Some(7),
    })
    .await?;
    let room_id = match host
        .wait_for(ws::WAIT, |m| matches!(m, ServerMsg::RoomState { .. }))
        .await?
    {
        ServerMsg::RoomState { room } => room.id,
        _ => unreachable!(),
    };
    guest
        .send(&ClientMsg::JoinRoom {
            room_id: Some(room_id),
            code: None,
        })
        .await?;
    host.wait_for(
        ws::WAIT,
        |m| matches!(m, ServerMsg::RoomState { room } if room.players.len() == 2),
    )
    .await?;
    host.send(&ClientMsg::StartGame).await?;
    let mut rankings = Vec::new();
    for client in [&mut host, &mut guest] {
        let over = client
            .wait_for(Duration::from_secs(30), |m| {
                matches!(m, ServerMsg::GameOver { .. })
            })
            .await?;
        if let ServerMsg::GameOver { ranking } = over {
            rankings.push(ranking);
        }
    }
    assert_eq!(rankings.len(), 2);
    assert_eq!(rankings[0], rankings[1], "both players see one ranking");
    let board: serde_json::Value = reqwest::get(format!("{url}/api/leaderboard"))
        .await?
        .json()
        .await?;
    let text = board.to_string();
    for name in ["Ann", "Bob"] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    Ok(())
}

#[tokio::test]
async fn a_round_on_redis_is_stored_and_ranked() -> anyhow::Result<()> {
    let Some(redis) = redis(TestRedis::single())? else {
        return Ok(());
    };
    a_round_is_stored(&redis).await
}

#[tokio::test]
async fn a_round_on_a_redis_cluster_is_stored_and_ranked() -> anyhow::Result<()> {
    let Some(redis) = redis(TestRedis::cluster())? else {
        return Ok(());
    };
    a_round_is_stored(&redis).await
}
