//! End-to-end tests of the game side: the real `whack-server` binary, real players
//! logged in with soft passkeys, real access tokens on real WebSockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod auth;
mod bad_frames;
mod connections;
mod heartbeat;
mod leaving;
mod lobby;
mod play;
mod quick;
mod reconnect;
mod shutdown;

use std::time::Duration;
use whack_shared::oauth::TokenResponse;
use whack_shared::protocol::{ClientMsg, PlayerRef, RoomView, ServerMsg};
use whack_tests::TestServer;
use whack_tests::ws::{self, GameClient};

/// Seeds allowed, a short countdown and a short quick-match fill.
pub const FLAGS: &[&str] = &[
    "--allow-seeded-rooms",
    "--countdown-ms",
    "300",
    "--quick-fill-ms",
    "300",
];

/// The shortest round.
pub const ROUND_SECS: u32 = 15;

/// A logged-in player.
pub struct Player {
    pub tokens: TokenResponse,
    pub me: PlayerRef,
}

/// A real device login with a new soft passkey.
pub async fn login(server: &TestServer, name: &str) -> anyhow::Result<Player> {
    let (tokens, me) = whack_tests::passkey::login_new_player(&server.url(), name).await?;
    Ok(Player { tokens, me })
}

/// Logs in a new player per name, then connects each once: `(player, its
/// connection)` in the order given.
pub async fn online<const N: usize>(
    server: &TestServer,
    names: [&str; N],
) -> anyhow::Result<[(Player, GameClient); N]> {
    let mut players = Vec::with_capacity(N);
    for name in names {
        players.push(login(server, name).await?);
    }
    let mut online = Vec::with_capacity(N);
    for player in players {
        let client = connect(server, &player).await?;
        online.push((player, client));
    }
    online
        .try_into()
        .map_err(|_| anyhow::anyhow!("{N} players, not as many connections"))
}

/// Connects as `player` and checks the `welcome`.
pub async fn connect(server: &TestServer, player: &Player) -> anyhow::Result<GameClient> {
    let client = ws::connect(&server.ws_url(), player.tokens.access_token.expose()).await?;
    anyhow::ensure!(
        client.player == player.me,
        "welcome names {:?}",
        client.player
    );
    Ok(client)
}

/// Waits for the next `room_state` matching `pred`.
pub async fn room_where(
    client: &mut GameClient,
    pred: impl Fn(&RoomView) -> bool,
) -> anyhow::Result<RoomView> {
    let msg = client
        .wait_for(
            ws::WAIT,
            |m| matches!(m, ServerMsg::RoomState { room } if pred(room)),
        )
        .await?;
    match msg {
        ServerMsg::RoomState { room } => Ok(room),
        _ => unreachable!(),
    }
}

/// `host` opens a seeded private room, `others` join it by code; returns the room
/// as everyone sees it once all are seated.
pub async fn seeded_room(
    host: &mut GameClient,
    others: &mut [&mut GameClient],
    seed: u64,
) -> anyhow::Result<RoomView> {
    host.send(&ClientMsg::CreateRoom {
        name: Some("Seeded".into()),
        private: true,
        round_secs: Some(ROUND_SECS),
        seed: Some(seed),
    })
    .await?;
    let room = room_where(host, |_| true).await?;
    assert_eq!(room.host, host.player.id);
    let code = room.code.clone().expect("a private room has a code");
    let seated = others.len() + 1;
    for other in others.iter_mut() {
        other
            .send(&ClientMsg::JoinRoom {
                room_id: None,
                code: Some(code.to_lowercase().into()),
                ticket: None,
            })
            .await?;
    }
    for other in others.iter_mut() {
        room_where(other, |r| r.players.len() == seated).await?;
    }
    room_where(host, |r| r.players.len() == seated).await
}

/// Starts the round as host and waits until every client saw the countdown.
pub async fn start(host: &mut GameClient, others: &mut [&mut GameClient]) -> anyhow::Result<()> {
    host.send(&ClientMsg::StartGame).await?;
    let countdown = |m: &ServerMsg| matches!(m, ServerMsg::Countdown { .. });
    host.wait_for(ws::WAIT, countdown).await?;
    for other in others.iter_mut() {
        other.wait_for(ws::WAIT, countdown).await?;
    }
    Ok(())
}

/// Waits for the next mole to pop; returns its hole.
pub async fn next_mole(client: &mut GameClient) -> anyhow::Result<u8> {
    match client
        .wait_for(Duration::from_secs(5), |m| {
            matches!(m, ServerMsg::MoleUp { .. })
        })
        .await?
    {
        ServerMsg::MoleUp { hole, .. } => Ok(hole),
        _ => unreachable!(),
    }
}
