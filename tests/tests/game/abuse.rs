//! What one player or one address can make the server keep or try: sockets per
//! player, connects per second, one seat across many sockets, and join-code
//! guesses across connections. Real binary, real logins, loopback only.

use crate::{FLAGS, connect, login, room_where};
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use whack_shared::protocol::{ClientMsg, ServerMsg, close};
use whack_tests::TestServer;
use whack_tests::ws::{self, GameClient, WAIT, WsError};

/// The default cap on open `/play` sockets per player.
const SOCKETS_PER_PLAYER: usize = 4;

/// Sends a ping and waits for its pong: everything sent before it has been handled.
async fn sync(client: &mut GameClient, t: f64) -> anyhow::Result<Vec<ServerMsg>> {
    client.send(&ClientMsg::Ping { t }).await?;
    let mut before = Vec::new();
    loop {
        match client.recv().await? {
            ServerMsg::Pong { t: echoed, .. } if echoed == t => return Ok(before),
            other => before.push(other),
        }
    }
}

fn error_code(msg: &ServerMsg) -> Option<&str> {
    match msg {
        ServerMsg::Error { code, .. } => Some(code),
        _ => None,
    }
}

#[tokio::test]
async fn one_socket_over_the_per_player_cap_is_refused_and_the_others_keep_working()
-> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let alice = login(&server, "Alice").await?;
    let mut open = Vec::new();
    for _ in 0..SOCKETS_PER_PLAYER {
        open.push(connect(&server, &alice).await?);
    }

    // One more with the same token: an error naming the reason, then 4008.
    let mut extra = ws::open(&server.ws_url(), Some(alice.tokens.access_token.expose())).await?;
    let mut frames = Vec::new();
    let code = tokio::time::timeout(WAIT, async {
        while let Some(frame) = extra.next().await {
            match frame? {
                Message::Text(text) => frames.push(serde_json::from_str::<ServerMsg>(&text)?),
                Message::Close(frame) => return anyhow::Ok(frame.map(|f| u16::from(f.code))),
                _ => {}
            }
        }
        Ok(None)
    })
    .await??;
    assert_eq!(code, Some(close::RATE_LIMITED), "{frames:?}");
    assert_eq!(frames.len(), 1, "no welcome, just the reason: {frames:?}");
    assert_eq!(error_code(&frames[0]), Some("too_many_connections"));

    // The first four were not touched.
    for (i, client) in open.iter_mut().enumerate() {
        sync(client, i as f64).await?;
    }
    open[0]
        .send(&ClientMsg::CreateRoom {
            name: None,
            private: false,
            round_secs: None,
            seed: None,
        })
        .await?;
    room_where(&mut open[0], |r| r.players.len() == 1).await?;
    assert!(
        server
            .counter("whack_ws_refused_total{reason=\"sockets\"}")
            .await?
            >= 1,
        "counted"
    );

    // Closing one frees its place (once the server has seen it go).
    if let Some(last) = open.pop() {
        last.close().await?;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let again = loop {
        match connect(&server, &alice).await {
            Ok(client) => break client,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            Err(e) => anyhow::bail!("no socket after one closed: {e}"),
        }
    };
    again.close().await?;
    Ok(())
}

#[tokio::test]
async fn connects_beyond_the_per_second_limit_get_429() -> anyhow::Result<()> {
    let mut flags = FLAGS.to_vec();
    flags.extend(["--address-connects-per-second", "3"]);
    let server = TestServer::start_with(&flags).await?;
    let alice = login(&server, "Alice").await?;
    let bob = login(&server, "Bob").await?;
    // Two players from one address, each socket closed after its welcome, so
    // neither the socket cap nor the per-player rate is what refuses.
    let mut accepted = Vec::new();
    let mut refused = None;
    for i in 0..20 {
        let player = if i % 2 == 0 { &alice } else { &bob };
        let at = Instant::now();
        match ws::connect(&server.ws_url(), player.tokens.access_token.expose()).await {
            Ok(client) => {
                accepted.push(at);
                client.close().await?;
            }
            Err(WsError::Refused(status)) => {
                refused = Some((status, at));
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (status, at) = refused.ok_or_else(|| anyhow::anyhow!("20 connects, none refused"))?;
    assert_eq!(status, 429);
    // Refused only with the address's 3 places of the last second taken.
    let recent = accepted
        .iter()
        .filter(|t| at.duration_since(**t) < Duration::from_secs(1))
        .count();
    assert!(
        recent >= 3 || accepted.len() >= 3,
        "{accepted:?} then {at:?}"
    );
    assert!(
        server
            .counter("whack_ws_refused_total{reason=\"connect_rate\"}")
            .await?
            >= 1
    );
    // A second later the address may connect again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    connect(&server, &alice).await?.close().await?;
    Ok(())
}

#[tokio::test]
async fn racing_seat_changes_from_four_sockets_of_one_player_leave_no_orphan_room()
-> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let alice = login(&server, "Alice").await?;
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS_PER_PLAYER {
        sockets.push(connect(&server, &alice).await?);
    }
    const ROUNDS: usize = 50;
    for round in 0..ROUNDS {
        // Every socket asks at once: create (public or private) or quick match.
        for (i, client) in sockets.iter_mut().enumerate() {
            let msg = match (round + i) % 3 {
                0 => ClientMsg::QuickMatch,
                kind => ClientMsg::CreateRoom {
                    name: None,
                    private: kind == 2,
                    round_secs: None,
                    seed: None,
                },
            };
            client.send(&msg).await?;
        }
        // Then each one syncs: its request has been handled by the time its pong comes.
        let t = round as f64;
        let answers =
            futures_util::future::try_join_all(sockets.iter_mut().map(|c| sync(c, t))).await?;
        for seen in &answers {
            for msg in seen {
                if let Some(code) = error_code(msg) {
                    assert_eq!(code, "seat_moved", "round {round}: {msg:?}");
                }
            }
        }
    }
    // One room is open (public or private), however the race went.
    let rooms = server.counter("whack_rooms").await?;
    assert_eq!(rooms, 1, "rooms open after the race");
    sockets[0].send(&ClientMsg::ListRooms).await?;
    let listed = sockets[0]
        .wait_for(WAIT, |m| matches!(m, ServerMsg::Rooms { .. }))
        .await?;
    let ServerMsg::Rooms { rooms: listed } = listed else {
        unreachable!()
    };
    assert!(listed.len() <= 1, "{listed:?}");
    assert!(listed.iter().all(|r| r.players == 1), "{listed:?}");

    // Exactly one socket plays the seat: the others are in no room.
    let mut not_in_room = 0;
    for (i, client) in sockets.iter_mut().enumerate() {
        client.send(&ClientMsg::LeaveRoom).await?;
        let seen = sync(client, 1000.0 + i as f64).await?;
        if seen.iter().any(|m| error_code(m) == Some("not_in_room")) {
            not_in_room += 1;
        }
    }
    assert_eq!(not_in_room, SOCKETS_PER_PLAYER - 1);
    // And that one leave closed the last room: nothing was left behind.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.counter("whack_rooms").await? != 0 {
        anyhow::ensure!(Instant::now() < deadline, "a room outlived its last seat");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn join_code_guesses_are_limited_across_connections_and_players() -> anyhow::Result<()> {
    const GUESSES: usize = 5;
    let mut flags = FLAGS.to_vec();
    flags.extend(["--join-code-guesses-per-minute", "5"]);
    let server = TestServer::start_with(&flags).await?;
    let alice = login(&server, "Alice").await?;
    let eve = login(&server, "Eve").await?;
    let mallory = login(&server, "Mallory").await?;

    let mut host = connect(&server, &alice).await?;
    host.send(&ClientMsg::CreateRoom {
        name: Some("Secret".into()),
        private: true,
        round_secs: None,
        seed: None,
    })
    .await?;
    let room = room_where(&mut host, |_| true).await?;
    let code = room.code.clone().expect("every room has a code");
    // Shown like a login code: XXXX-XXXX from the login alphabet.
    let letters: String = code.chars().filter(|c| *c != '-').collect();
    assert_eq!(
        whack_shared::user_code::normalize(&code).as_deref(),
        Some(letters.as_str())
    );
    assert_eq!(whack_shared::user_code::display(&letters), code);

    // A right code joins, typed any way (lowercase, no dash).
    let mut e = connect(&server, &eve).await?;
    e.send(&ClientMsg::JoinRoom {
        room_id: None,
        code: Some(letters.to_lowercase().into()),
        ticket: None,
    })
    .await?;
    room_where(&mut e, |r| r.players.len() == 2).await?;
    e.send(&ClientMsg::LeaveRoom).await?;
    sync(&mut e, 0.0).await?;
    // The room's id is no way in to a private room.
    e.send(&ClientMsg::JoinRoom {
        room_id: Some(room.id.clone()),
        code: None,
        ticket: None,
    })
    .await?;
    let seen = sync(&mut e, 1.0).await?;
    assert!(
        seen.iter().any(|m| error_code(m) == Some("no_such_room")),
        "{seen:?}"
    );
    e.close().await?;

    // Mallory guesses over many fresh sockets, two wrong codes each (under the
    // per-socket strike limit), as fast as they go.
    let mut answered = Vec::new();
    let started = Instant::now();
    let alphabet = whack_shared::user_code::ALPHABET;
    let wrong = (0..)
        .map(|n: usize| {
            let tail = [alphabet[n / 20 % 20], alphabet[n % 20]];
            format!("ZZZZ-ZZ{}", String::from_utf8_lossy(&tail))
        })
        .filter(|guess| *guess != code);
    let mut wrong = wrong.take(12);
    for _ in 0..6 {
        let mut m = connect(&server, &mallory).await?;
        for _ in 0..2 {
            let guess = wrong.next().unwrap_or_default();
            m.send(&ClientMsg::JoinRoom {
                room_id: None,
                code: Some(guess.into()),
                ticket: None,
            })
            .await?;
        }
        for msg in sync(&mut m, 2.0).await? {
            if let Some(code) = error_code(&msg) {
                answered.push(code.to_owned());
            }
        }
        m.close().await?;
    }
    let looked_up = answered.iter().filter(|c| *c == "no_such_room").count();
    let limited = answered.iter().filter(|c| *c == "too_many_guesses").count();
    assert_eq!(looked_up, GUESSES, "{answered:?}");
    assert_eq!(limited, 12 - GUESSES, "{answered:?}");
    println!(
        "{} guesses in {:?}: {looked_up} looked up, {limited} refused",
        answered.len(),
        started.elapsed()
    );

    // Past the limit even the right code is refused, on a fresh socket...
    let mut m = connect(&server, &mallory).await?;
    m.send(&ClientMsg::JoinRoom {
        room_id: None,
        code: Some(code.as_str().into()),
        ticket: None,
    })
    .await?;
    let seen = sync(&mut m, 3.0).await?;
    assert!(
        seen.iter()
            .any(|m| error_code(m) == Some("too_many_guesses")),
        "{seen:?}"
    );
    // ...and for another player from the same address.
    let mut e = connect(&server, &eve).await?;
    e.send(&ClientMsg::JoinRoom {
        room_id: None,
        code: Some(code.as_str().into()),
        ticket: None,
    })
    .await?;
    let seen = sync(&mut e, 4.0).await?;
    assert!(
        seen.iter()
            .any(|m| error_code(m) == Some("too_many_guesses")),
        "{seen:?}"
    );
    assert!(server.counter("whack_join_codes_refused_total").await? >= 9);
    // The host, already seated, was never disturbed.
    sync(&mut host, 5.0).await?;
    Ok(())
}
