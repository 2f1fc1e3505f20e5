//! Load bench for the game side against the real release `whack-server` on
//! loopback, with real logins and real access tokens. Prints figures; times
//! nothing as pass/fail.
//!
//! ```text
//! ulimit -n 65536   # 10,000 sockets on each side
//! cargo bench -p whack-tests --bench game_load
//! ```
//! `WHACK_BENCH_IDLE` (default 10000) idle connections, `WHACK_BENCH_PLAYERS`
//! (default 1000, a multiple of 8) players for the fan-out rounds,
//! `WHACK_BENCH_LOCKSTEP=1` to start every room in the same millisecond.
//!
//! Server and load generator share the machine's cores; on a machine busy with
//! other work, latency tails measure that work. To measure the server instead,
//! run the built bench binary at a real-time priority
//! (`chrt -f 10 target/release/deps/game_load-…`); both figures are worth
//! reporting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use futures_util::stream;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use whack_shared::protocol::{ClientMsg, MAX_PLAYERS, ServerMsg};
use whack_tests::ws::{self, GameClient};
use whack_tests::{TestServer, machine, scrape};

/// Player logins in flight at once.
const LOGIN_CONCURRENCY: usize = 16;
/// Connection attempts in flight at once.
const CONNECT_CONCURRENCY: usize = 128;
/// The shortest round.
const ROUND_SECS: u32 = 15;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for {pid}"))
}

fn percentiles(label: &str, samples: &mut [f64]) {
    if samples.is_empty() {
        println!("{label}: no samples");
        return;
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
}

/// This machine's floor for one message hop: a thread wakes a parked thread,
/// which wakes the first back; the pause between rounds lets both park, as
/// sockets and tasks do between game events.
fn wake_round_trips(run: Duration) -> Vec<f64> {
    let (to_echo, echo_rx) = std::sync::mpsc::channel::<Instant>();
    let (to_main, main_rx) = std::sync::mpsc::channel::<Instant>();
    std::thread::spawn(move || {
        for sent in echo_rx {
            if to_main.send(sent).is_err() {
                break;
            }
        }
    });
    let (start, mut round_trips) = (Instant::now(), Vec::new());
    while start.elapsed() < run {
        if to_echo.send(Instant::now()).is_err() {
            break;
        }
        match main_rx.recv() {
            Ok(sent) => round_trips.push(sent.elapsed().as_secs_f64() * 1000.0),
            Err(_) => break,
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    round_trips
}

async fn login_many(server: &TestServer, n: usize) -> anyhow::Result<Vec<String>> {
    let url = server.url();
    let started = Instant::now();
    let tokens: Vec<anyhow::Result<String>> = stream::iter(0..n)
        .map(|i| {
            let url = url.clone();
            async move {
                let (tokens, _) =
                    whack_tests::passkey::login_new_player(&url, &format!("Bench{i:05}")).await?;
                Ok(tokens.access_token.expose().to_owned())
            }
        })
        .buffer_unordered(LOGIN_CONCURRENCY)
        .collect()
        .await;
    let tokens = tokens.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    println!(
        "logged in {n} players (real device logins with soft passkeys) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(tokens)
}

async fn connect_many(
    server: &TestServer,
    tokens: &[String],
    n: usize,
) -> anyhow::Result<(Vec<GameClient>, Duration)> {
    let url = server.ws_url();
    let started = Instant::now();
    let clients: Vec<_> = stream::iter(0..n)
        .map(|i| {
            let url = url.clone();
            let token = tokens[i % tokens.len()].clone();
            async move { ws::connect(&url, &token).await }
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let clients = clients.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((clients, elapsed))
}

async fn idle_and_connects(server: &TestServer, tokens: &[String], n: usize) -> anyhow::Result<()> {
    let pid = server
        .pid()
        .ok_or_else(|| anyhow::anyhow!("server not running"))?;
    // Warm the allocator and the runtime so the baseline is not the cold server.
    let (warm, _) = connect_many(server, tokens, 500.min(n)).await?;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid)?;
    let cpu = machine::CpuMark::take(pid)?;
    let (clients, elapsed) = connect_many(server, tokens, n).await?;
    let server_cpu = cpu.since()?.server;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid)?;
    println!(
        "connects: {n} authenticated connections (bearer verified, welcome received) in {:.2} s = {:.0}/s at {CONNECT_CONCURRENCY} in flight",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  server CPU {:.0} µs per connect (= {:.0} connects/s per fully used core)",
        server_cpu * 1e6 / n as f64,
        n as f64 / server_cpu.max(1e-9)
    );
    println!(
        "idle memory: server RSS {:.1} MiB -> {:.1} MiB with {n} idle connections = {:.2} KiB per connection",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / n as f64
    );
    drop(clients);
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

/// What one player measured in a round.
#[derive(Default)]
struct Measured {
    mole_up_ms: Vec<f64>,
    whack_ms: Vec<f64>,
    ranking: usize,
}

/// Plays one round: every mole is whacked by exactly one seat (by mole number),
/// right away; measures `mole_up` delivery and whack → own `mole_down`.
async fn play(mut client: GameClient, seat: usize) -> anyhow::Result<Measured> {
    let mut measured = Measured::default();
    let mut sent: HashMap<u8, Instant> = HashMap::new();
    loop {
        let msg = client.recv_within(Duration::from_secs(60)).await?;
        let received = wall_ms();
        match msg {
            ServerMsg::MoleUp {
                up_at,
                hole,
                mole_id,
                ..
            } => {
                measured.mole_up_ms.push(received - up_at);
                let n: usize = mole_id.trim_start_matches('m').parse().unwrap_or(0);
                if n % MAX_PLAYERS == seat {
                    sent.insert(hole, Instant::now());
                    client.send(&ClientMsg::Whack { hole }).await?;
                }
            }
            ServerMsg::MoleDown { hole, by, .. } => {
                if let Some(at) = sent.remove(&hole)
                    && by.as_deref() == Some(client.player.id.as_str())
                {
                    measured.whack_ms.push(at.elapsed().as_secs_f64() * 1000.0);
                }
            }
            ServerMsg::GameOver { ranking } => {
                measured.ranking = ranking.len();
                return Ok(measured);
            }
            _ => {}
        }
    }
}

async fn fan_out(server: &TestServer, tokens: &[String]) -> anyhow::Result<()> {
    let pid = server
        .pid()
        .ok_or_else(|| anyhow::anyhow!("server not running"))?;
    let rooms = tokens.len() / MAX_PLAYERS;
    let players = rooms * MAX_PLAYERS;
    let (clients, _) = connect_many(server, &tokens[..players], players).await?;
    // connect_many returns them out of order; seat them by player.
    let mut clients = clients;
    clients.sort_by(|a, b| a.player.name.cmp(&b.player.name));
    let mut tables: Vec<Vec<GameClient>> = Vec::with_capacity(rooms);
    let mut iter = clients.into_iter();
    for _ in 0..rooms {
        tables.push(iter.by_ref().take(MAX_PLAYERS).collect());
    }
    let seated: Vec<anyhow::Result<Vec<GameClient>>> = stream::iter(tables)
        .map(|mut table| async move {
            table[0]
                .send(&ClientMsg::CreateRoom {
                    name: None,
                    private: false,
                    round_secs: Some(ROUND_SECS),
                    seed: None,
                })
                .await?;
            let room_id = match table[0]
                .wait_for(ws::WAIT, |m| matches!(m, ServerMsg::RoomState { .. }))
                .await?
            {
                ServerMsg::RoomState { room } => room.id,
                _ => unreachable!(),
            };
            for client in &mut table[1..] {
                client
                    .send(&ClientMsg::JoinRoom {
                        room_id: Some(room_id.clone()),
                        code: None,
                    })
                    .await?;
                client
                    .wait_for(ws::WAIT, |m| matches!(m, ServerMsg::RoomState { .. }))
                    .await?;
            }
            table[0]
                .wait_for(ws::WAIT, |m| {
                    matches!(m, ServerMsg::RoomState { room } if room.players.len() == MAX_PLAYERS)
                })
                .await?;
            Ok(table)
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut tables = seated.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    // Rooms start spread over a second, as independent rooms would; in lockstep
    // every room's first wave pops in the same millisecond.
    let lockstep = std::env::var("WHACK_BENCH_LOCKSTEP").is_ok_and(|v| v == "1");
    let spacing = if lockstep {
        Duration::ZERO
    } else {
        Duration::from_secs(1) / rooms.max(1) as u32
    };
    for table in &mut tables {
        table[0].send(&ClientMsg::StartGame).await?;
        tokio::time::sleep(spacing).await;
    }
    let http = reqwest::Client::new();
    let before = scrape::metrics(&http, &server.url()).await?;
    let mark = machine::CpuMark::take(pid)?;
    let mut tasks = Vec::with_capacity(players);
    for table in tables {
        for (seat, client) in table.into_iter().enumerate() {
            tasks.push(tokio::spawn(play(client, seat)));
        }
    }
    let mut mole_up = Vec::new();
    let mut whack = Vec::new();
    for task in tasks {
        let measured = task.await??;
        anyhow::ensure!(measured.ranking == MAX_PLAYERS, "a short ranking");
        mole_up.extend(measured.mole_up_ms);
        whack.extend(measured.whack_ms);
    }
    let machine::CpuUse {
        server: cpu,
        own,
        wall,
    } = mark.since()?;
    let after = scrape::metrics(&http, &server.url()).await?;
    println!(
        "fan-out: {players} players in {rooms} full rooms of {MAX_PLAYERS}, one {ROUND_SECS} s round each (plus countdown), {}",
        if lockstep {
            "all rooms started at once".to_owned()
        } else {
            format!("rooms started {} ms apart", spacing.as_millis())
        }
    );
    percentiles(
        "  mole_up: server up_at -> received by client",
        &mut mole_up,
    );
    percentiles("  whack sent -> own mole_down received", &mut whack);
    let handling = "whack_whack_handling_seconds";
    println!(
        "    of which in the server, socket read to result queued for every seat: p50 {}, p99 {}, max {}",
        scrape::bucket_bound(handling, &before, &after, 0.5),
        scrape::bucket_bound(handling, &before, &after, 0.99),
        scrape::bucket_bound(handling, &before, &after, 1.0),
    );
    println!(
        "  server CPU: {cpu:.2} s over {wall:.1} s = {:.0}% of one core",
        100.0 * cpu / wall
    );
    println!(
        "  load generator CPU: {own:.2} s = {:.0}% of one core (same 2 cores)",
        100.0 * own / wall
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let idle = env_usize("WHACK_BENCH_IDLE", 10_000);
    let players = env_usize("WHACK_BENCH_PLAYERS", 1000);
    let server =
        // 1,000 players log in and 11,000 sockets connect from loopback: lift
        // the per-address limits.
        TestServer::start_with(&[
            "--ws-idle-secs",
            "3600",
            "--ws-heartbeat-secs",
            "3600",
            "--device-authorizations-per-minute",
            "1000000",
            "--ceremonies-per-minute",
            "1000000",
            "--max-connections",
            "100000",
            "--max-connections-per-address",
            "100000",
            // 10 game sockets a player, opened as fast as they go.
            "--sockets-per-player",
            "1000",
            "--player-connects-per-second",
            "1000000",
            "--address-connects-per-second",
            "1000000",
        ])
        .await?;
    println!(
        "game_load: release whack-server on loopback, {} CPUs shared by server and load generator",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let mut wakes =
        tokio::task::spawn_blocking(|| wake_round_trips(Duration::from_secs(5))).await?;
    percentiles(
        "this machine, for reference: thread wake round trip (two wake-ups of a parked thread)",
        &mut wakes,
    );
    let steadiness =
        tokio::task::spawn_blocking(|| machine::cpu_steadiness(Duration::from_secs(6))).await?;
    println!("this machine's CPUs, for reference: {steadiness}");
    let tokens = login_many(&server, players.max(8)).await?;
    idle_and_connects(&server, &tokens, idle).await?;
    fan_out(&server, &tokens).await?;
    Ok(())
}
