//! Slow headers, slow bodies and idle connections against a server held to 1,024 open files: the
//! server closes them in time, and honest requests and a room of honest
//! players keep working meanwhile.

use super::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const HEADER_TIMEOUT_SECS: u64 = 3;
/// How long the attack keeps trickling before it gives up on its own.
const ATTACK: Duration = Duration::from_secs(10);
const ATTACKERS: usize = 2_000;
/// The honest side comes from another loopback address than the attacker.
const HONEST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A connection that sends a request line and then one header byte every
/// 200 ms; returns how long the server kept it open.
async fn slowloris(server: SocketAddr) -> Option<Duration> {
    let opened = Instant::now();
    let mut tcp = TcpStream::connect(server).await.ok()?;
    if tcp
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .is_err()
    {
        return Some(opened.elapsed());
    }
    let mut byte = [0u8; 1];
    while opened.elapsed() < ATTACK {
        tokio::select! {
            // The server never answers a request it has no headers for: a read
            // that returns means it closed the connection.
            _ = tcp.read(&mut byte) => return Some(opened.elapsed()),
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                if tcp.write_all(b"a").await.is_err() {
                    return Some(opened.elapsed());
                }
            }
        }
    }
    None
}

/// A request whose body trickles in a byte every 200 ms; returns the answer's
/// status line and when it came.
async fn slow_body(server: SocketAddr) -> (String, Duration) {
    let opened = Instant::now();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind((HONEST, 0).into()).unwrap();
    let mut tcp = socket.connect(server).await.unwrap();
    tcp.write_all(
        b"POST /device/api/lookup HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = vec![0u8; 1024];
    loop {
        tokio::select! {
            n = tcp.read(&mut answer) => {
                let n = n.unwrap_or(0);
                let text = String::from_utf8_lossy(&answer[..n]);
                return (text.lines().next().unwrap_or("").to_owned(), opened.elapsed());
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                if tcp.write_all(b"a").await.is_err() || opened.elapsed() > ATTACK * 2 {
                    return (String::new(), opened.elapsed());
                }
            }
        }
    }
}

async fn honest_http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .local_address(HONEST)
        .timeout(Duration::from_secs(5))
        .build()?)
}

#[tokio::test]
async fn slowloris_and_idle_connections_do_not_starve_honest_players() {
    whack_tests::raise_open_files_limit();
    let timeout = HEADER_TIMEOUT_SECS.to_string();
    let flags: Vec<&str> = FLAGS
        .iter()
        .copied()
        .chain(["--header-timeout-secs", &timeout])
        .collect();
    let server = TestServer::start_limited(&flags, Some(1_024))
        .await
        .unwrap();
    let (ann, bob) = (
        login(&server, "ann").await.unwrap(),
        login(&server, "bob").await.unwrap(),
    );
    let (mut a, mut b) = (
        connect(&server, &ann).await.unwrap(),
        connect(&server, &bob).await.unwrap(),
    );
    seeded_room(&mut a, &mut [&mut b], 7).await.unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], server.port()).into();

    let trickle = tokio::spawn(slow_body(addr));
    let attack: Vec<_> = (0..ATTACKERS)
        .map(|_| tokio::spawn(slowloris(addr)))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Honest HTTP from another address while the attack is held.
    let http = honest_http().await.unwrap();
    let mut honest_ok = 0;
    for _ in 0..20 {
        let response = http
            .get(format!("{}/healthz", server.url()))
            .send()
            .await
            .unwrap();
        honest_ok += usize::from(response.status().is_success());
    }
    let device = whack_tests::oauth::device_authorize(&http, &server.url()).await;
    // The honest room plays on: a round starts and a whack is scored.
    start(&mut a, &mut [&mut b]).await.unwrap();
    let hole = next_mole(&mut a).await.unwrap();
    a.send(&ClientMsg::Whack { hole }).await.unwrap();
    let scored = a
        .wait_for(
            ws::WAIT,
            |m| matches!(m, ServerMsg::Score { player_id, .. } if *player_id == ann.me.id),
        )
        .await;

    // An idle keep-alive connection is closed too.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind((HONEST, 0).into()).unwrap();
    let mut idle = socket.connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    let idle_since = Instant::now();
    let closed = tokio::time::timeout(ATTACK, idle.read(&mut answer)).await;
    let idle_for = idle_since.elapsed();

    let mut held = Vec::new();
    for task in attack {
        held.push(task.await.unwrap());
    }
    let still_open = held.iter().filter(|h| h.is_none()).count();
    let longest = held.iter().flatten().max().copied().unwrap_or_default();
    let refused = server.counter("whack_connections_refused_total").await;
    let (slow_answer, slow_for) = trickle.await.unwrap();

    assert_eq!(honest_ok, 20, "honest requests failed during the attack");
    assert!(
        device.is_ok(),
        "an honest login could not start: {device:?}"
    );
    assert!(
        scored.is_ok(),
        "the honest room stopped working: {scored:?}"
    );
    assert!(
        matches!(closed, Ok(Ok(0))),
        "an idle keep-alive connection was kept: {closed:?}"
    );
    assert!(
        idle_for < Duration::from_secs(HEADER_TIMEOUT_SECS + 2),
        "idle connection closed only after {idle_for:?}"
    );
    assert_eq!(still_open, 0, "slow connections the server never closed");
    assert!(
        slow_answer.starts_with("HTTP/1.1 408"),
        "a trickled body got {slow_answer:?}"
    );
    assert!(
        slow_for < Duration::from_secs(13),
        "a trickled body held the connection for {slow_for:?}"
    );
    assert!(
        longest < Duration::from_secs(HEADER_TIMEOUT_SECS + 3),
        "a slow connection was held for {longest:?}"
    );
    assert!(
        refused.unwrap() > 0,
        "past the per-address cap connections are refused at once"
    );
}
