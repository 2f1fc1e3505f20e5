//! `whack-server --redis-url`: a real Redis (and a real Redis Cluster) started
//! by each test, the real server binary, real passkey logins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use whack_server::storage::redis_store::test_redis::TestRedis;
use whack_shared::oauth::{ErrorCode, TokenResponse};
use whack_shared::protocol::{ClientMsg, MIN_ROUND_SECS, ServerMsg};
use whack_tests::passkey::{SoftAuthenticator, login_new_player, login_with};
use whack_tests::ws::{self, GameClient};
use whack_tests::{TestServer, oauth, redis};

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

/// The flags of a node that plays short seeded rounds.
const ROUND_FLAGS: [&str; 3] = ["--allow-seeded-rooms", "--countdown-ms", "300"];

/// `host` and `guest` play one seeded round to the end; both must see one
/// ranking, which is returned.
async fn play_round(
    mut host: GameClient,
    mut guest: GameClient,
) -> anyhow::Result<Vec<whack_shared::protocol::RankingEntry>> {
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
            ticket: None,
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
    anyhow::ensure!(rankings.len() == 2, "a player saw no game_over");
    assert_eq!(rankings[0], rankings[1], "both players see one ranking");
    Ok(rankings.swap_remove(0))
}

/// The leaderboard's (name, games) rows.
async fn board(url: &str) -> anyhow::Result<Vec<(String, u64)>> {
    let board: whack_shared::api::Leaderboard = reqwest::get(format!("{url}/api/leaderboard"))
        .await?
        .json()
        .await?;
    Ok(board
        .entries
        .into_iter()
        .map(|e| (e.name, e.games))
        .collect())
}

/// Two players play a seeded round to the end on a node backed by `redis`;
/// the ranking is stored in Redis and the leaderboard shows it.
async fn a_round_is_stored(redis: &TestRedis) -> anyhow::Result<()> {
    let mut flags = vec!["--redis-url", &redis.url];
    flags.extend(ROUND_FLAGS);
    let server = TestServer::start_with(&flags).await?;
    let ranking = play_round(player(&server, "Ann").await?, player(&server, "Bob").await?).await?;
    assert_eq!(ranking.len(), 2);
    let mut rows = board(&server.url()).await?;
    rows.sort();
    assert_eq!(rows, [("Ann".to_owned(), 1), ("Bob".to_owned(), 1)]);
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

async fn nodes(redis: &TestRedis, n: usize) -> anyhow::Result<Vec<TestServer>> {
    TestServer::nodes(&redis.url, n, &[]).await
}

async fn kids(http: &reqwest::Client, node: &TestServer) -> anyhow::Result<Vec<String>> {
    let jwks: whack_shared::oauth::Jwks = http
        .get(format!("{}/.well-known/jwks.json", node.url()))
        .send()
        .await?
        .json()
        .await?;
    Ok(jwks.keys.into_iter().map(|k| k.kid).collect())
}

fn kid_of(token: &whack_shared::Secret) -> anyhow::Result<String> {
    jsonwebtoken::decode_header(token.expose())?
        .kid
        .ok_or_else(|| anyhow::anyhow!("no kid"))
}

#[tokio::test]
async fn nodes_on_one_redis_verify_each_others_tokens_and_follow_a_key_rotation()
-> anyhow::Result<()> {
    let Some(redis) = redis(TestRedis::single())? else {
        return Ok(());
    };
    let [a, b] = <[TestServer; 2]>::try_from(nodes(&redis, 2).await?)
        .map_err(|_| anyhow::anyhow!("two nodes"))?;
    let http = reqwest::Client::new();
    let (login, player) = login_new_player(&a.url(), "Roamer").await?;
    let (status, body) = oauth::me(&http, &b.url(), login.access_token.expose()).await?;
    assert_eq!(
        status,
        StatusCode::OK,
        "node B refused node A's token: {body}"
    );
    assert!(body.contains(&player.id));
    let before = kids(&http, &a).await?;
    assert_eq!(before.len(), 1);
    assert_eq!(before, kids(&http, &b).await?, "one key set");

    let rotated = std::process::Command::new(whack_tests::bin_path("whack-server"))
        .args(["keys", "rotate", "--redis-url", &redis.url])
        .output()?;
    let said = String::from_utf8_lossy(&rotated.stdout).into_owned();
    assert!(
        rotated.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(
        said.contains("new signing key") && said.contains(&before[0]),
        "{said}"
    );

    // Within a few seconds both nodes publish the new key first and the old one after.
    let deadline = Instant::now() + Duration::from_secs(15);
    let after = loop {
        let (ka, kb) = (kids(&http, &a).await?, kids(&http, &b).await?);
        if ka.len() == 2 && ka == kb {
            break ka;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the rotation never reached both nodes: {ka:?} {kb:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(after[1], before[0], "the previous key stays published");
    // Old tokens still verify everywhere; new ones carry the new key and verify everywhere.
    for node in [&a, &b] {
        let (status, _) = oauth::me(&http, &node.url(), login.access_token.expose()).await?;
        assert_eq!(status, StatusCode::OK);
    }
    let next = refresh_when_back(&http, &b.url(), &login.refresh_token).await?;
    assert_eq!(kid_of(&next.access_token)?, after[0]);
    let (status, _) = oauth::me(&http, &a.url(), next.access_token.expose()).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn fifty_refreshes_over_three_nodes_make_one_successor_and_reuse_anywhere_revokes_and_closes_sockets()
-> anyhow::Result<()> {
    let Some(redis) = redis(TestRedis::single())? else {
        return Ok(());
    };
    let nodes = nodes(&redis, 3).await?;
    let urls: Vec<String> = nodes.iter().map(TestServer::url).collect();
    let http = reqwest::Client::new();
    let (t0, _) = login_new_player(&urls[0], "Racer").await?;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (http, url, token) = (http.clone(), urls[i % 3].clone(), t0.refresh_token.clone());
        tasks.push(tokio::spawn(async move {
            oauth::refresh(&http, &url, &token).await
        }));
    }
    let mut successors = HashSet::new();
    for task in tasks {
        let refreshed = task
            .await??
            .map_err(|r| anyhow::anyhow!("refused: {r:?}"))?;
        successors.insert(refreshed.refresh_token.expose().to_owned());
    }
    assert_eq!(
        successors.len(),
        1,
        "exactly one successor across the nodes"
    );
    let successor = whack_shared::Secret::new(successors.into_iter().next().unwrap_or_default());
    // A retry within the grace, on yet another node, gets that same successor.
    let retry = oauth::refresh(&http, &urls[2], &t0.refresh_token)
        .await?
        .map_err(|r| anyhow::anyhow!("grace retry refused: {r:?}"))?;
    assert_eq!(retry.refresh_token.expose(), successor.expose());
    // The chain goes on from it on node B; then the first token, two
    // rotations back, shown to node C is reuse: the session is revoked, and
    // node A refuses its newest refresh token.
    let next = oauth::refresh(&http, &urls[1], &successor)
        .await?
        .map_err(|r| anyhow::anyhow!("refused: {r:?}"))?;
    let mut on_a = ws::connect(&nodes[0].ws_url(), next.access_token.expose()).await?;
    let reuse = oauth::refresh(&http, &urls[2], &t0.refresh_token)
        .await?
        .expect_err("reuse");
    let reused_at = Instant::now();
    assert_eq!(reuse.code(), ErrorCode::InvalidGrant);
    // The session's socket on node A closes with 4001 within a second.
    let code = on_a.expect_close(Duration::from_secs(1)).await?;
    assert_eq!(code, whack_shared::protocol::close::TOKEN_EXPIRED);
    println!(
        "reuse on C closed the socket on A after {:?}",
        reused_at.elapsed()
    );
    let refused = oauth::refresh(&http, &urls[0], &next.refresh_token)
        .await?
        .expect_err("revoked on every node");
    assert_eq!(refused.code(), ErrorCode::InvalidGrant);
    Ok(())
}

#[tokio::test]
async fn a_logout_on_one_node_closes_the_sockets_on_another_within_a_second() -> anyhow::Result<()>
{
    let Some(mut redis) = redis(TestRedis::single())? else {
        return Ok(());
    };
    let [a, b] = <[TestServer; 2]>::try_from(nodes(&redis, 2).await?)
        .map_err(|_| anyhow::anyhow!("two nodes"))?;
    let http = reqwest::Client::new();
    let logout_on_a = async |name: &str| -> anyhow::Result<(GameClient, String)> {
        let (login, _) = login_new_player(&a.url(), name).await?;
        let socket = ws::connect(&b.ws_url(), login.access_token.expose()).await?;
        let status = oauth::revoke(&http, &a.url(), &login.refresh_token).await?;
        assert_eq!(status, StatusCode::OK);
        Ok((socket, login.access_token.expose().to_owned()))
    };
    let (mut socket, access) = logout_on_a("Leaver").await?;
    let closed = socket.expect_close(Duration::from_secs(1)).await?;
    assert_eq!(closed, 4001, "closed as revoked on node B");
    let (status, _) = oauth::me(&http, &b.url(), &access).await?;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "node B refuses its access token"
    );
    let metrics = whack_tests::scrape::metrics(&http, &b.url()).await?;
    assert_eq!(
        whack_tests::scrape::value(&metrics, "whack_revocation_feed_up"),
        1.0
    );
    assert!(
        whack_tests::scrape::value(&metrics, "whack_revocation_feed_lag_seconds_count") >= 1.0,
        "node B counts the revocation it applied"
    );

    // Redis restarted under both nodes: node B says it cannot vouch for
    // revocations while Redis is gone, recovers on its own, and follows the
    // feed from where it was.
    redis.kill9();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let health = http.get(format!("{}/healthz", b.url())).send().await?;
        if health.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert!(health.text().await?.contains("revocation feed"));
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "node B stayed healthy without Redis"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    redis
        .restart()
        .map_err(|e| anyhow::anyhow!("cannot restart Redis: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let health = http.get(format!("{}/healthz", b.url())).send().await;
        if health.is_ok_and(|h| h.status() == StatusCode::OK) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "node B never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut socket, _) = logout_on_a("Later").await?;
    let closed = socket.expect_close(Duration::from_secs(1)).await?;
    assert_eq!(
        closed, 4001,
        "revocations reach node B again after Redis came back"
    );
    Ok(())
}

#[tokio::test]
async fn migrate_moves_a_sled_store_and_its_players_log_in_and_play_on_redis() -> anyhow::Result<()>
{
    let Some(redis) = redis(TestRedis::single())? else {
        return Ok(());
    };
    let mut server = TestServer::start_with(&ROUND_FLAGS).await?;
    let (url, http) = (server.url(), reqwest::Client::new());
    // Ann keeps her passkey, to sign in again after the move.
    let mut ann_key = SoftAuthenticator::new(&url)?;
    let ann = login_with(&mut ann_key, &url, Some("Ann")).await?;
    let (bob, _) = login_new_player(&url, "Bob").await?;
    let ws_url = server.ws_url();
    let connect = async |token: &whack_shared::Secret| ws::connect(&ws_url, token.expose()).await;
    play_round(
        connect(&ann.access_token).await?,
        connect(&bob.access_token).await?,
    )
    .await?;
    server.terminate().await?;

    let migrate = |extra: &[&str]| {
        std::process::Command::new(whack_tests::bin_path("whack-server"))
            .arg("migrate")
            .arg("--data-dir")
            .arg(server.data_dir())
            .args(["--to", &redis.url])
            .args(extra)
            .output()
    };
    let moved = migrate(&[])?;
    let said = String::from_utf8_lossy(&moved.stdout).into_owned();
    assert!(
        moved.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    assert!(said.contains("2 players, 2 passkeys, 2 sessions"), "{said}");
    let again = migrate(&[])?;
    assert!(
        !again.status.success(),
        "a second migration must not overwrite"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("--into-non-empty"));

    // The same address, now on Redis: the players' logins, stats and passkeys came along.
    server.restart_with(&["--redis-url", &redis.url]).await?;
    let mut rows = board(&url).await?;
    rows.sort();
    assert_eq!(rows, [("Ann".to_owned(), 1), ("Bob".to_owned(), 1)]);
    let (status, _) = oauth::me(&http, &url, ann.access_token.expose()).await?;
    assert_eq!(
        status,
        StatusCode::OK,
        "access tokens of the old key verify"
    );
    let bob_next = oauth::refresh(&http, &url, &bob.refresh_token)
        .await?
        .map_err(|r| anyhow::anyhow!("Bob's login did not move: {r:?}"))?;
    let ann_again = login_with(&mut ann_key, &url, None)
        .await
        .map_err(|e| anyhow::anyhow!("Ann's passkey did not move: {e}"))?;
    play_round(
        connect(&ann_again.access_token).await?,
        connect(&bob_next.access_token).await?,
    )
    .await?;
    let mut rows = board(&url).await?;
    rows.sort();
    assert_eq!(rows, [("Ann".to_owned(), 2), ("Bob".to_owned(), 2)]);
    Ok(())
}
