//! Rooms across nodes: three real `whack-server` nodes on one real Redis
//! Cluster (and on a single Redis), real passkey logins, players on
//! WebSockets. Every lobby lists every node's rooms, a join by id or code
//! elsewhere is answered with `redirect` and a one-time seat ticket, quick
//! match fills a room on another node, a player keeps one seat across nodes,
//! and a node killed with `kill -9` takes its rooms out of every lobby.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use whack_server::storage::redis_store::test_redis::TestRedis;
use whack_shared::Secret;
use whack_shared::codes::ErrorCode;
use whack_shared::protocol::{ClientMsg, RoomSummary, RoomView, ServerMsg};
use whack_tests::passkey::login_new_player;
use whack_tests::ws::{self, GameClient};
use whack_tests::{TestServer, redis};

/// How long a change on one node may take to show on another: one renewal of
/// each (every second), with room for a slow machine.
const ACROSS: Duration = Duration::from_secs(5);

/// A logged-in player (signed up on `login_at`, the public URL).
struct Player {
    token: Secret,
}

impl Player {
    async fn new(login_at: &TestServer, name: &str) -> anyhow::Result<Self> {
        let (login, _) = login_new_player(&login_at.url(), name).await?;
        Ok(Self {
            token: login.access_token,
        })
    }

    /// A game connection to `node`.
    async fn on(&self, node: &TestServer) -> anyhow::Result<GameClient> {
        Ok(ws::connect(&node.ws_url(), self.token.expose()).await?)
    }

    /// A game connection to the node a `redirect` names.
    async fn at(&self, url: &str) -> anyhow::Result<GameClient> {
        Ok(ws::connect(&ws::play_url(url), self.token.expose()).await?)
    }
}

async fn room_state(client: &mut GameClient) -> anyhow::Result<RoomView> {
    match client
        .wait_for(ws::WAIT, |m| matches!(m, ServerMsg::RoomState { .. }))
        .await?
    {
        ServerMsg::RoomState { room } => Ok(room),
        _ => unreachable!(),
    }
}

async fn create(client: &mut GameClient, name: &str, private: bool) -> anyhow::Result<RoomView> {
    client
        .send(&ClientMsg::CreateRoom {
            name: Some(name.into()),
            private,
            round_secs: None,
            seed: None,
        })
        .await?;
    room_state(client).await
}

/// The next `redirect` (or the error that came instead).
async fn redirected(client: &mut GameClient) -> anyhow::Result<(String, String, Secret)> {
    match client
        .wait_for(ws::WAIT, |m| {
            matches!(m, ServerMsg::Redirect { .. } | ServerMsg::Error { .. })
        })
        .await?
    {
        ServerMsg::Redirect {
            url,
            room_id,
            ticket,
        } => Ok((url, room_id, ticket)),
        other => anyhow::bail!("expected a redirect, got {other:?}"),
    }
}

async fn error(client: &mut GameClient) -> anyhow::Result<ErrorCode> {
    match client
        .wait_for(ws::WAIT, |m| matches!(m, ServerMsg::Error { .. }))
        .await?
    {
        ServerMsg::Error { code, .. } => Ok(code),
        _ => unreachable!(),
    }
}

fn join_with(room_id: &str, ticket: &Secret) -> ClientMsg {
    ClientMsg::JoinRoom {
        room_id: Some(room_id.into()),
        code: None,
        ticket: Some(ticket.clone()),
    }
}

/// Asks for the list until `until` holds of it, within `wait`.
async fn rooms_until(
    client: &mut GameClient,
    wait: Duration,
    until: impl Fn(&[RoomSummary]) -> bool,
) -> anyhow::Result<Vec<RoomSummary>> {
    let deadline = Instant::now() + wait;
    loop {
        client.send(&ClientMsg::ListRooms).await?;
        let ServerMsg::Rooms { rooms } = client
            .wait_for(ws::WAIT, |m| matches!(m, ServerMsg::Rooms { .. }))
            .await?
        else {
            unreachable!()
        };
        if until(&rooms) {
            return Ok(rooms);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the list never got there: {rooms:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn lists(rooms: &[RoomSummary], id: &str) -> bool {
    rooms.iter().any(|r| r.id == id)
}

async fn three_nodes_share_their_rooms(redis: &TestRedis) -> anyhow::Result<()> {
    let mut nodes = TestServer::nodes(&redis.url, 3, &[]).await?;
    let (first, rest) = nodes.split_at_mut(2);
    let (a, b, c) = (&first[0], &first[1], &mut rest[0]);

    // A public room on A shows in B's lobby; joining it from B is a redirect
    // to A, where the ticket seats the player.
    let ann = Player::new(a, "Ann").await?;
    let bob = Player::new(a, "Bob").await?;
    let mut ann_a = ann.on(a).await?;
    let anns = create(&mut ann_a, "Ann's", false).await?;
    let mut bob_b = bob.on(b).await?;
    rooms_until(&mut bob_b, ACROSS, |rooms| lists(rooms, &anns.id)).await?;
    bob_b
        .send(&ClientMsg::JoinRoom {
            room_id: Some(anns.id.clone()),
            code: None,
            ticket: None,
        })
        .await?;
    let (url, room_id, ticket) = redirected(&mut bob_b).await?;
    assert_eq!(
        (url.as_str(), room_id.as_str()),
        (a.url().as_str(), anns.id.as_str())
    );
    let mut bob_a = bob.at(&url).await?;
    bob_a.send(&join_with(&room_id, &ticket)).await?;
    let seated = room_state(&mut bob_a).await?;
    assert_eq!(
        (seated.id.as_str(), seated.players.len()),
        (anns.id.as_str(), 2)
    );

    // A ticket is spent once; a made-up one is refused too. (This second
    // socket of Bob's takes his seat over, as any socket of his connecting here.)
    let mut again = bob.at(&url).await?;
    again.send(&join_with(&room_id, &ticket)).await?;
    assert_eq!(error(&mut again).await?, ErrorCode::BadTicket);
    again
        .send(&join_with(&room_id, &Secret::new("st_made-up".to_owned())))
        .await?;
    assert_eq!(error(&mut again).await?, ErrorCode::BadTicket);

    // A private room on C, joined by its code from B.
    let cat = Player::new(a, "Cat").await?;
    let dan = Player::new(a, "Dan").await?;
    let mut cat_c = cat.on(c).await?;
    let cats = create(&mut cat_c, "Cat's", true).await?;
    let code = cats
        .code
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no code"))?;
    let mut dan_b = dan.on(b).await?;
    let deadline = Instant::now() + ACROSS;
    let (url, room_id, ticket) = loop {
        dan_b
            .send(&ClientMsg::JoinRoom {
                room_id: None,
                code: Some(code.clone().into()),
                ticket: None,
            })
            .await?;
        match redirected(&mut dan_b).await {
            Ok(redirect) => break redirect,
            // Listed a moment after it opened.
            Err(e) if Instant::now() < deadline => {
                pause_before_retry(&e).await;
            }
            Err(e) => return Err(e),
        }
    };
    assert_eq!(
        (url.as_str(), room_id.as_str()),
        (c.url().as_str(), cats.id.as_str())
    );
    let mut dan_c = dan.at(&url).await?;
    dan_c.send(&join_with(&room_id, &ticket)).await?;
    assert_eq!(room_state(&mut dan_c).await?.players.len(), 2);
    // Private rooms are in no lobby, and their id is no way in from elsewhere.
    let listed = rooms_until(&mut dan_b, ACROSS, |rooms| lists(rooms, &anns.id)).await?;
    assert!(!lists(&listed, &cats.id), "{listed:?}");
    let eve = Player::new(a, "Eve").await?;
    let mut eve_a = eve.on(a).await?;
    eve_a
        .send(&ClientMsg::JoinRoom {
            room_id: Some(cats.id.clone()),
            code: None,
            ticket: None,
        })
        .await?;
    assert_eq!(error(&mut eve_a).await?, ErrorCode::NoSuchRoom);
    // ...except back to one's own seat: a reconnect through any node finds it.
    let mut dan_a = dan.on(a).await?;
    dan_a
        .send(&ClientMsg::JoinRoom {
            room_id: Some(cats.id.clone()),
            code: None,
            ticket: None,
        })
        .await?;
    let (url, room_id, _) = redirected(&mut dan_a).await?;
    assert_eq!(
        (url.as_str(), room_id.as_str()),
        (c.url().as_str(), cats.id.as_str())
    );

    // Quick match from B fills the quick-match room waiting on A.
    eve_a.send(&ClientMsg::QuickMatch).await?;
    let quick = room_state(&mut eve_a).await?;
    assert!(quick.quick);
    let fay = Player::new(a, "Fay").await?;
    let mut fay_b = fay.on(b).await?;
    rooms_until(&mut fay_b, ACROSS, |rooms| lists(rooms, &quick.id)).await?;
    fay_b.send(&ClientMsg::QuickMatch).await?;
    let (url, room_id, ticket) = redirected(&mut fay_b).await?;
    assert_eq!(
        (url.as_str(), room_id.as_str()),
        (a.url().as_str(), quick.id.as_str())
    );
    let mut fay_a = fay.at(&url).await?;
    fay_a.send(&join_with(&room_id, &ticket)).await?;
    assert_eq!(room_state(&mut fay_a).await?.players.len(), 2);

    // One seat across nodes: Ann opens a room on B, and her seat on A goes.
    let mut ann_b = ann.on(b).await?;
    create(&mut ann_b, "Ann's second", false).await?;
    let moved = ann_a
        .wait_for(
            ACROSS,
            |m| matches!(m, ServerMsg::Error { code, .. } if *code == ErrorCode::SeatMoved),
        )
        .await;
    assert!(moved.is_ok(), "Ann's socket on A was not told: {moved:?}");
    again
        .wait_for(
            ACROSS,
            |m| matches!(m, ServerMsg::RoomState { room } if room.players.len() == 1),
        )
        .await?;

    // kill -9 of C: its rooms leave every lobby within a few seconds.
    let gus = Player::new(a, "Gus").await?;
    let mut gus_c = gus.on(c).await?;
    let guss = create(&mut gus_c, "Gus's", false).await?;
    let mut watcher = gus.on(a).await?;
    rooms_until(&mut watcher, ACROSS, |rooms| lists(rooms, &guss.id)).await?;
    c.kill9();
    let killed = Instant::now();
    rooms_until(&mut watcher, Duration::from_secs(8), |rooms| {
        !lists(rooms, &guss.id)
    })
    .await?;
    let gone_after = killed.elapsed();
    assert!(gone_after < Duration::from_secs(8), "{gone_after:?}");
    println!("a dead node's room left the lobby {gone_after:?} after kill -9");
    // Its players lost their connection; back through another node, the
    // room is gone (the client says the room has ended) and a new one opens.
    assert!(
        gus_c.recv_within(ACROSS).await.is_err(),
        "the dead node's socket is closed"
    );
    let mut gus_a = gus.on(a).await?;
    gus_a
        .send(&ClientMsg::JoinRoom {
            room_id: Some(guss.id.clone()),
            code: None,
            ticket: None,
        })
        .await?;
    assert_eq!(error(&mut gus_a).await?, ErrorCode::NoSuchRoom);
    let again = create(&mut gus_a, "Gus's again", false).await?;
    assert_eq!(again.players.len(), 1);
    Ok(())
}

/// A short pause before trying again (the error is kept for the last try).
async fn pause_before_retry(e: &anyhow::Error) {
    eprintln!("not yet: {e}");
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn three_nodes_on_a_redis_cluster_share_rooms_seats_and_quick_match() -> anyhow::Result<()> {
    let Some(redis) = redis(TestRedis::cluster())? else {
        return Ok(());
    };
    three_nodes_share_their_rooms(&redis).await
}

#[tokio::test]
async fn three_nodes_on_one_redis_share_rooms_seats_and_quick_match() -> anyhow::Result<()> {
    let Some(redis) = redis(TestRedis::single())? else {
        return Ok(());
    };
    three_nodes_share_their_rooms(&redis).await
}

/// Two players whose tokens come from different nodes play one seeded round to the end
/// (the guest is sent to the host's node); the leaderboard on a third node
/// shows the ranking both saw.
#[tokio::test]
async fn players_of_two_nodes_play_a_round_ranked_on_a_third() -> anyhow::Result<()> {
    let Some(redis) = redis(TestRedis::cluster())? else {
        return Ok(());
    };
    let flags = ["--allow-seeded-rooms", "--countdown-ms", "300"];
    let nodes = TestServer::nodes(&redis.url, 3, &flags).await?;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let (host_login, _) = login_new_player(&a.url(), "Hal").await?;
    // The browser page is at the public URL (node A here); the guest's
    // terminal then refreshes on node B and plays with B's token.
    let (first_login, _) = login_new_player(&a.url(), "Ida").await?;
    let guest_login = whack_tests::oauth::refresh(
        &reqwest::Client::new(),
        &b.url(),
        &first_login.refresh_token,
    )
    .await?
    .map_err(|refused| anyhow::anyhow!("refresh on B refused: {refused:?}"))?;
    let mut host = ws::connect(&a.ws_url(), host_login.access_token.expose()).await?;
    host.send(&ClientMsg::CreateRoom {
        name: None,
        private: false,
        round_secs: Some(whack_shared::protocol::MIN_ROUND_SECS),
        seed: Some(7),
    })
    .await?;
    let room = room_state(&mut host).await?;
    let mut guest_b = ws::connect(&b.ws_url(), guest_login.access_token.expose()).await?;
    rooms_until(&mut guest_b, ACROSS, |rooms| lists(rooms, &room.id)).await?;
    guest_b
        .send(&ClientMsg::JoinRoom {
            room_id: Some(room.id.clone()),
            code: None,
            ticket: None,
        })
        .await?;
    let (url, room_id, ticket) = redirected(&mut guest_b).await?;
    let mut guest = ws::connect(&ws::play_url(&url), guest_login.access_token.expose()).await?;
    guest.send(&join_with(&room_id, &ticket)).await?;
    host.wait_for(
        ws::WAIT,
        |m| matches!(m, ServerMsg::RoomState { room } if room.players.len() == 2),
    )
    .await?;
    host.send(&ClientMsg::StartGame).await?;
    let mut rankings = Vec::new();
    for client in [&mut host, &mut guest] {
        if let ServerMsg::GameOver { ranking } = client
            .wait_for(Duration::from_secs(30), |m| {
                matches!(m, ServerMsg::GameOver { .. })
            })
            .await?
        {
            rankings.push(ranking);
        }
    }
    assert_eq!(rankings.len(), 2);
    assert_eq!(rankings[0], rankings[1], "both see one ranking");
    let board: whack_shared::api::Leaderboard =
        reqwest::get(format!("{}/api/leaderboard", c.url()))
            .await?
            .json()
            .await?;
    let mut on_c: Vec<(String, i64)> = board
        .entries
        .iter()
        .map(|e| (e.name.clone(), e.best_score))
        .collect();
    let mut ranked: Vec<(String, i64)> = rankings[0]
        .iter()
        .map(|e| (e.name.clone(), i64::from(e.score)))
        .collect();
    on_c.sort();
    ranked.sort();
    assert_eq!(on_c, ranked, "the third node's leaderboard shows the round");
    Ok(())
}

/// The quotas hold for the server, not per node: wrong join codes spread over
/// two nodes run out one budget.
#[tokio::test]
async fn wrong_join_codes_over_two_nodes_share_one_limit() -> anyhow::Result<()> {
    let Some(redis) = redis(TestRedis::single())? else {
        return Ok(());
    };
    let nodes = TestServer::nodes(&redis.url, 2, &["--join-code-guesses-per-minute", "2"]).await?;
    let mal = Player::new(&nodes[0], "Mal").await?;
    let guess = |code: &str| ClientMsg::JoinRoom {
        room_id: None,
        code: Some(code.to_owned().into()),
        ticket: None,
    };
    let mut on_a = mal.on(&nodes[0]).await?;
    on_a.send(&guess("BBBB-BBBB")).await?;
    assert_eq!(error(&mut on_a).await?, ErrorCode::NoSuchRoom);
    let mut on_b = mal.on(&nodes[1]).await?;
    on_b.send(&guess("CCCC-CCCC")).await?;
    assert_eq!(error(&mut on_b).await?, ErrorCode::NoSuchRoom);
    on_a.send(&guess("DDDD-DDDD")).await?;
    assert_eq!(error(&mut on_a).await?, ErrorCode::TooManyGuesses);
    Ok(())
}
