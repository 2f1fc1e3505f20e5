//! Load bench for the game side: the real release `whack-server` on loopback,
//! with real logins and real access tokens, side by side with the Node peer of
//! `../shared/peers/` (the same protocol on Node's `ws`, verifying the same
//! tokens with the server's public key), driven by the same load generator at
//! the same mole rate. Prints figures and the ratios between the two servers;
//! times nothing as pass/fail.
//!
//! ```text
//! ulimit -n 16384   # 5,000 idle sockets on each side, both ends on loopback
//! cargo bench -p whack-tests --bench game_load
//! ```
//! `WHACK_BENCH_RUNS` (default 5) runs, each with a fresh process of both
//! servers; `WHACK_BENCH_IDLE` (default 5000) idle connections;
//! `WHACK_BENCH_PLAYERS` (default 1000, a multiple of 8) players for the fan-out
//! rounds; `WHACK_BENCH_LOCKSTEP=1` starts every room in the same millisecond;
//! `WHACK_PEER_DIR` says where the peer is. Needs `node` and `npm`.
//!
//! Server and load generator share the machine's cores; on a machine busy with
//! other work, latency tails measure that work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use futures_util::stream;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use whack_shared::protocol::{ClientMsg, MAX_PLAYERS, ServerMsg};
use whack_tests::figures::{self, quantile};
use whack_tests::peer::Peer;
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

/// Prints a latency line; returns (p50, p99).
fn percentiles(label: &str, samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let (p50, p99) = (quantile(samples, 0.5), quantile(samples, 0.99));
    println!(
        "{label}: n={} p50={p50:.2} ms p99={p99:.2} ms max={:.2} ms",
        samples.len(),
        quantile(samples, 1.0),
    );
    (p50, p99)
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

/// A server under load, as the load generator sees it.
struct Target {
    name: &'static str,
    ws_url: String,
    pid: u32,
    /// `whack-server`'s base URL, for `/metrics` (the peer has none).
    metrics_url: Option<String>,
}

impl Target {
    fn whack(server: &TestServer) -> anyhow::Result<Self> {
        Ok(Self {
            name: "whack",
            ws_url: server.ws_url(),
            pid: server
                .pid()
                .ok_or_else(|| anyhow::anyhow!("server not running"))?,
            metrics_url: Some(server.url()),
        })
    }

    fn peer(peer: &Peer) -> Self {
        Self {
            name: "node peer",
            ws_url: peer.ws_url(),
            pid: peer.pid(),
            metrics_url: None,
        }
    }
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

/// The server's Ed25519 public key (`x` of its JWKS), for the peer to verify
/// the same access tokens.
async fn jwk_x(server: &TestServer) -> anyhow::Result<String> {
    let jwks: serde_json::Value = reqwest::get(format!("{}/.well-known/jwks.json", server.url()))
        .await?
        .json()
        .await?;
    jwks["keys"][0]["x"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no Ed25519 key in the JWKS"))
}

async fn connect_many(
    target: &Target,
    tokens: &[String],
    n: usize,
) -> anyhow::Result<(Vec<GameClient>, Duration)> {
    let started = Instant::now();
    let clients: Vec<_> = stream::iter(0..n)
        .map(|i| {
            let url = target.ws_url.clone();
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

/// One run's idle and connect figures for one server.
struct Idle {
    connects_per_s: f64,
    kib_per_conn: f64,
}

async fn idle_and_connects(target: &Target, tokens: &[String], n: usize) -> anyhow::Result<Idle> {
    // Warm the allocator and the runtime so the baseline is not the cold server.
    let (warm, _) = connect_many(target, tokens, 500.min(n)).await?;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(target.pid)?;
    let cpu = machine::CpuMark::take(target.pid)?;
    let (clients, elapsed) = connect_many(target, tokens, n).await?;
    let server_cpu = cpu.since()?.server;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(target.pid)?;
    let idle = Idle {
        connects_per_s: n as f64 / elapsed.as_secs_f64(),
        kib_per_conn: after.saturating_sub(before) as f64 / n as f64,
    };
    println!(
        "  {}: connects: {n} authenticated connections (bearer verified, welcome received) in {:.2} s = {:.0}/s at {CONNECT_CONCURRENCY} in flight; server CPU {:.0} µs per connect",
        target.name,
        elapsed.as_secs_f64(),
        idle.connects_per_s,
        server_cpu * 1e6 / n as f64,
    );
    println!(
        "  {}: idle memory: server RSS {:.1} MiB -> {:.1} MiB with {n} idle connections = {:.2} KiB per connection",
        target.name,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        idle.kib_per_conn
    );
    drop(clients);
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(idle)
}

/// What one player measured in a round.
#[derive(Default)]
struct Measured {
    mole_up_ms: Vec<f64>,
    whack_ms: Vec<f64>,
    ranking: usize,
    errors: usize,
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
                // Whack names moles `m<n>`, the peer `<n>`.
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
            ServerMsg::Error { .. } => measured.errors += 1,
            ServerMsg::GameOver { ranking } => {
                measured.ranking = ranking.len();
                return Ok(measured);
            }
            _ => {}
        }
    }
}

/// One run's fan-out figures for one server.
struct FanOut {
    moles_per_room_s: f64,
    mole_up: (f64, f64),
    whack: (f64, f64),
    errors: usize,
}

async fn seat_tables(target: &Target, tokens: &[String]) -> anyhow::Result<Vec<Vec<GameClient>>> {
    let rooms = tokens.len() / MAX_PLAYERS;
    let players = rooms * MAX_PLAYERS;
    let (mut clients, _) = connect_many(target, &tokens[..players], players).await?;
    // connect_many returns them out of order; seat them by player.
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
                        ticket: None,
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
    seated.into_iter().collect()
}

async fn fan_out(target: &Target, tokens: &[String]) -> anyhow::Result<FanOut> {
    let mut tables = seat_tables(target, tokens).await?;
    let rooms = tables.len();
    let players = rooms * MAX_PLAYERS;
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
    let before = match &target.metrics_url {
        Some(url) => Some(scrape::metrics(&http, url).await?),
        None => None,
    };
    let mark = machine::CpuMark::take(target.pid)?;
    let mut tasks = Vec::with_capacity(players);
    for table in tables {
        for (seat, client) in table.into_iter().enumerate() {
            tasks.push(tokio::spawn(play(client, seat)));
        }
    }
    let (mut mole_up, mut whack, mut errors) = (Vec::new(), Vec::new(), 0);
    for task in tasks {
        let measured = task.await??;
        anyhow::ensure!(measured.ranking == MAX_PLAYERS, "a short ranking");
        mole_up.extend(measured.mole_up_ms);
        whack.extend(measured.whack_ms);
        errors += measured.errors;
    }
    let machine::CpuUse {
        server: cpu,
        own,
        wall,
    } = mark.since()?;
    let moles_per_room_s = mole_up.len() as f64 / players as f64 / f64::from(ROUND_SECS);
    println!(
        "  fan-out: {players} players in {rooms} full rooms of {MAX_PLAYERS}, one {ROUND_SECS} s round each, {}; {moles_per_room_s:.2} moles/s per room; {errors} errors",
        if lockstep {
            "all rooms started at once".to_owned()
        } else {
            format!("rooms started {} ms apart", spacing.as_millis())
        }
    );
    let mole_up = percentiles("    mole_up: up_at -> received by client", &mut mole_up);
    let whack = percentiles("    whack sent -> own mole_down received", &mut whack);
    if let (Some(url), Some(before)) = (&target.metrics_url, before) {
        let after = scrape::metrics(&http, url).await?;
        let handling = "whack_whack_handling_seconds";
        println!(
            "      of which in the server, socket read to result queued for every seat: p50 {}, p99 {}, max {}",
            scrape::bucket_bound(handling, &before, &after, 0.5),
            scrape::bucket_bound(handling, &before, &after, 0.99),
            scrape::bucket_bound(handling, &before, &after, 1.0),
        );
    }
    println!(
        "    server CPU {cpu:.2} s over {wall:.1} s = {:.0}% of one core; load generator {:.0}% (same 2 cores)",
        100.0 * cpu / wall,
        100.0 * own / wall
    );
    Ok(FanOut {
        moles_per_room_s,
        mole_up,
        whack,
        errors,
    })
}

/// Both servers' figures for one run.
struct Run {
    whack: (Idle, FanOut),
    peer: (Idle, FanOut),
}

/// A row of the table: `pick` of every run, for both servers.
fn compare(label: &str, target: &str, runs: &[Run], pick: impl Fn(&(Idle, FanOut)) -> f64) {
    let whack: Vec<f64> = runs.iter().map(|r| pick(&r.whack)).collect();
    let peer: Vec<f64> = runs.iter().map(|r| pick(&r.peer)).collect();
    println!("{}", figures::row(label, target, &whack, &peer));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs = env_usize("WHACK_BENCH_RUNS", 5).max(1);
    let idle = env_usize("WHACK_BENCH_IDLE", 5_000);
    let players = env_usize("WHACK_BENCH_PLAYERS", 1000);
    let mut server =
        // 1,000 players log in and 11,000 sockets connect from loopback: lift
        // the per-address limits.
        TestServer::start_with(&[
            "--ws-idle-secs",
            "3600",
            "--ws-heartbeat-secs",
            "3600",
            "--access-token-ttl-secs",
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
        "game_load: release whack-server and the Node peer on loopback, {} CPUs shared by both servers and the load generator; {runs} runs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let mut wakes =
        tokio::task::spawn_blocking(|| wake_round_trips(Duration::from_secs(5))).await?;
    let wake = percentiles(
        "this machine, for reference: thread wake round trip (two wake-ups of a parked thread)",
        &mut wakes,
    );
    let steadiness =
        tokio::task::spawn_blocking(|| machine::cpu_steadiness(Duration::from_secs(6))).await?;
    println!("this machine's CPUs, for reference: {steadiness}");
    let tokens = login_many(&server, players.max(8)).await?;
    let key = jwk_x(&server).await?;
    let mut spawn_ms = None;
    let mut results = Vec::with_capacity(runs);
    for run in 1..=runs {
        // Fresh processes, so every run's memory baseline is a new server's.
        server.restart().await?;
        println!("run {run}/{runs}: whack");
        let target = Target::whack(&server)?;
        let whack = (
            idle_and_connects(&target, &tokens, idle).await?,
            fan_out(&target, &tokens).await?,
        );
        // The peer pops a mole every 0.8 × PEER_SPAWN_MS on average: set it to
        // the rate Whack was measured at in the first run.
        let spawn = *spawn_ms.get_or_insert(1000.0 / (0.8 * whack.1.moles_per_room_s));
        let peer = Peer::start(&key, spawn)?;
        println!("run {run}/{runs}: node peer (PEER_SPAWN_MS={spawn:.0})");
        let target = Target::peer(&peer);
        let peer = (
            idle_and_connects(&target, &tokens, idle).await?,
            fan_out(&target, &tokens).await?,
        );
        results.push(Run { whack, peer });
    }
    println!();
    println!(
        "floor, for reference: thread wake round trip p50 {:.2} ms, p99 {:.2} ms",
        wake.0, wake.1
    );
    println!("| figure | whack | node peer | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    compare("moles/s per room", "same", &results, |r| {
        r.1.moles_per_room_s
    });
    compare("mole_up fan-out p50, ms", "≤ 0.5×", &results, |r| {
        r.1.mole_up.0
    });
    compare("mole_up fan-out p99, ms", "≤ 0.5×", &results, |r| {
        r.1.mole_up.1
    });
    compare("whack → mole_down p50, ms", "—", &results, |r| {
        r.1.whack.0
    });
    compare("whack → mole_down p99, ms", "≤ 0.5×", &results, |r| {
        r.1.whack.1
    });
    compare(
        &format!("idle RSS per connection at {idle}, KiB"),
        "≤ 0.6×",
        &results,
        |r| r.0.kib_per_conn,
    );
    compare("connects per second", "—", &results, |r| {
        r.0.connects_per_s
    });
    let errors: usize = results
        .iter()
        .map(|r| r.whack.1.errors + r.peer.1.errors)
        .sum();
    println!("errors seen by the load generator, both servers, all runs: {errors}");
    Ok(())
}
