//! Scale-out on one machine: one node on sled, one node on a durable Redis
//! (`appendfsync always`), three nodes on one durable Redis, each fresh, in one
//! run: durable refresh rotations (64 concurrent clients, closed loop, spread
//! over the nodes), game connects per second, and the whack round trip of a
//! room whose players reached it through two nodes (half of them redirected).
//! Prints figures and the ratios to the sled node; not a pass/fail test.
//!
//! `cargo bench -p whack-tests --bench scale_out`; `WHACK_BENCH_RUNS`
//! (default 3) runs.

use futures_util::{StreamExt, stream};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use whack_server::storage::redis_store::test_redis::TestRedis;
use whack_shared::Secret;
use whack_shared::protocol::{ClientMsg, MAX_PLAYERS, MIN_ROUND_SECS, ServerMsg};
use whack_tests::passkey::login_new_player;
use whack_tests::ws::{self, GameClient};
use whack_tests::{TestServer, figures, oauth};

const CLIENTS: usize = 64;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(6);
const CONNECTING: Duration = Duration::from_secs(4);
/// Every client logs in, rotates and connects from loopback, thousands of
/// times a second: lift the per-address and per-session limits.
const FLAGS: [&str; 15] = [
    "--device-authorizations-per-minute",
    "1000000",
    "--ceremonies-per-minute",
    "1000000",
    "--refreshes-per-minute",
    "1000000",
    "--player-connects-per-second",
    "1000000",
    "--address-connects-per-second",
    "1000000",
    // A closed socket is let go a moment after the client's close.
    "--sockets-per-player",
    "1000",
    "--allow-seeded-rooms",
    "--countdown-ms",
    "300",
];

#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Sled,
    OneOnRedis,
    ThreeOnRedis,
}

impl Setup {
    const ALL: [Setup; 3] = [Setup::Sled, Setup::OneOnRedis, Setup::ThreeOnRedis];

    fn name(self) -> &'static str {
        match self {
            Setup::Sled => "1 node, sled",
            Setup::OneOnRedis => "1 node, Redis",
            Setup::ThreeOnRedis => "3 nodes, Redis",
        }
    }
}

/// The nodes of one setup, and the Redis they share (dropped after them).
struct Deployment {
    nodes: Vec<TestServer>,
    _redis: Option<TestRedis>,
}

async fn deploy(setup: Setup) -> anyhow::Result<Deployment> {
    let flags = FLAGS;
    let redis = || {
        TestRedis::single()
            .map_err(|e| anyhow::anyhow!("cannot start Redis: {e}"))?
            .ok_or_else(|| anyhow::anyhow!("this bench needs redis-server"))
    };
    Ok(match setup {
        Setup::Sled => Deployment {
            nodes: vec![TestServer::start_with(&flags).await?],
            _redis: None,
        },
        Setup::OneOnRedis | Setup::ThreeOnRedis => {
            let redis = redis()?;
            let n = if setup == Setup::OneOnRedis { 1 } else { 3 };
            Deployment {
                nodes: TestServer::nodes(&redis.url, n, &flags).await?,
                _redis: Some(redis),
            }
        }
    })
}

/// One login per client (through the first node, the public URL).
async fn logins(node: &TestServer) -> anyhow::Result<Vec<(Secret, Secret)>> {
    let url = node.url();
    stream::iter(0..CLIENTS)
        .map(|i| {
            let url = url.clone();
            async move {
                let (login, _) = login_new_player(&url, &format!("Scale{i:03}")).await?;
                Ok((login.access_token, login.refresh_token))
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<anyhow::Result<_>>>()
        .await
        .into_iter()
        .collect()
}

/// Closed loop: client `k` rotates its own token on node `k % n` as soon as
/// it is answered. Returns the latencies after the warm-up, sorted, in ms.
async fn rotations(urls: &[String], tokens: Vec<Secret>) -> anyhow::Result<Vec<f64>> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (k, mut token) in tokens.into_iter().enumerate() {
        let (http, url) = (http.clone(), urls[k % urls.len()].clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while start.elapsed() < WARMUP + MEASURE {
                let sent = Instant::now();
                let next = oauth::refresh(&http, &url, &token)
                    .await?
                    .map_err(|r| anyhow::anyhow!("refresh refused: {r:?}"))?;
                token = next.refresh_token;
                if sent.duration_since(start) >= WARMUP {
                    latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by(f64::total_cmp);
    Ok(all)
}

/// Clients connect (upgrade, `welcome`) and close, again and again, each on
/// node `k % n`; returns connects per second.
async fn connects(ws_urls: &[String], access: &[Secret]) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (k, token) in access.iter().enumerate() {
        let (url, token) = (ws_urls[k % ws_urls.len()].clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while start.elapsed() < CONNECTING {
                let client = ws::connect(&url, token.expose()).await?;
                client.close().await?;
                done += 1;
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// One seeded round of 8: the host on the first node; with `spread`, every
/// other guest asks the second node and is redirected. Each mole is whacked by
/// one seat; returns whack → own `mole_down` times, in ms.
async fn whack_round(nodes: &[TestServer], access: &[Secret]) -> anyhow::Result<Vec<f64>> {
    let mut host = ws::connect(&nodes[0].ws_url(), access[0].expose()).await?;
    host.send(&ClientMsg::CreateRoom {
        name: None,
        private: false,
        round_secs: Some(MIN_ROUND_SECS),
        seed: Some(11),
    })
    .await?;
    let ServerMsg::RoomState { room } = host
        .wait_for(ws::WAIT, |m| matches!(m, ServerMsg::RoomState { .. }))
        .await?
    else {
        anyhow::bail!("no room_state")
    };
    let mut table = vec![host];
    for (i, token) in access.iter().enumerate().take(MAX_PLAYERS).skip(1) {
        let asked = &nodes[i % nodes.len().min(2)];
        let mut guest = ws::connect(&asked.ws_url(), token.expose()).await?;
        let join = |ticket| ClientMsg::JoinRoom {
            room_id: Some(room.id.clone()),
            code: None,
            ticket,
        };
        guest.send(&join(None)).await?;
        let answer = guest
            .wait_for(ws::WAIT, |m| {
                matches!(m, ServerMsg::RoomState { .. } | ServerMsg::Redirect { .. })
            })
            .await?;
        if let ServerMsg::Redirect { url, ticket, .. } = answer {
            guest = ws::connect(&ws::play_url(&url), token.expose()).await?;
            guest.send(&join(Some(ticket))).await?;
            guest
                .wait_for(ws::WAIT, |m| matches!(m, ServerMsg::RoomState { .. }))
                .await?;
        }
        table.push(guest);
    }
    table[0].send(&ClientMsg::StartGame).await?;
    let plays: Vec<_> = table
        .into_iter()
        .enumerate()
        .map(|(seat, client)| tokio::spawn(play(client, seat)))
        .collect();
    let mut whacks = Vec::new();
    for play in plays {
        whacks.extend(play.await??);
    }
    whacks.sort_by(f64::total_cmp);
    Ok(whacks)
}

async fn play(mut client: GameClient, seat: usize) -> anyhow::Result<Vec<f64>> {
    let mut whacks = Vec::new();
    let mut sent: HashMap<u8, Instant> = HashMap::new();
    loop {
        match client.recv_within(Duration::from_secs(60)).await? {
            ServerMsg::MoleUp { hole, mole_id, .. } => {
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
                    whacks.push(at.elapsed().as_secs_f64() * 1e3);
                }
            }
            ServerMsg::GameOver { .. } => return Ok(whacks),
            _ => {}
        }
    }
}

/// One setup's figures in one run.
struct Figures {
    rotations_per_s: f64,
    rotation_p50: f64,
    rotation_p99: f64,
    connects_per_s: f64,
    whack_p50: f64,
    whack_p99: f64,
}

async fn measure(setup: Setup) -> anyhow::Result<Figures> {
    let deployment = deploy(setup).await?;
    let nodes = &deployment.nodes;
    let logins = logins(&nodes[0]).await?;
    let (access, refresh): (Vec<Secret>, Vec<Secret>) = logins.into_iter().unzip();
    let urls: Vec<String> = nodes.iter().map(TestServer::url).collect();
    let ws_urls: Vec<String> = nodes.iter().map(TestServer::ws_url).collect();
    let rotated = rotations(&urls, refresh).await?;
    let connects_per_s = connects(&ws_urls, &access).await?;
    let whacks = whack_round(nodes, &access).await?;
    let figures = Figures {
        rotations_per_s: rotated.len() as f64 / MEASURE.as_secs_f64(),
        rotation_p50: figures::quantile(&rotated, 0.5),
        rotation_p99: figures::quantile(&rotated, 0.99),
        connects_per_s,
        whack_p50: figures::quantile(&whacks, 0.5),
        whack_p99: figures::quantile(&whacks, 0.99),
    };
    println!(
        "  {}: {:.0} rotations/s (p50 {:.2} ms, p99 {:.2} ms), {:.0} connects/s, whack round trip p50 {:.2} ms, p99 {:.2} ms ({} whacks)",
        setup.name(),
        figures.rotations_per_s,
        figures.rotation_p50,
        figures.rotation_p99,
        figures.connects_per_s,
        figures.whack_p50,
        figures.whack_p99,
        whacks.len(),
    );
    Ok(figures)
}

// One thread for the load generator leaves the rest of the two cores to the servers.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    whack_tests::raise_open_files_limit();
    let runs = std::env::var("WHACK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    println!(
        "scale-out on one machine: {CLIENTS} clients; rotations closed loop {} s after {} s warm-up, connects for {} s, one seeded round of 8 with guests spread over two nodes; {runs} runs",
        MEASURE.as_secs(),
        WARMUP.as_secs(),
        CONNECTING.as_secs(),
    );
    let mut results: Vec<Vec<Figures>> = Vec::new();
    for run in 1..=runs {
        println!("run {run}/{runs}");
        let mut row = Vec::new();
        for setup in Setup::ALL {
            row.push(measure(setup).await?);
        }
        results.push(row);
    }
    println!();
    println!(
        "| figure | 1 node, sled | 1 node, Redis | 3 nodes, Redis | Redis ÷ sled | 3 nodes ÷ 1 on Redis |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let line = |label: &str, pick: &dyn Fn(&Figures) -> f64| {
        let median = |i: usize| {
            let values: Vec<f64> = results.iter().map(|row| pick(&row[i])).collect();
            figures::median(&values)
        };
        let (sled, one, three) = (median(0), median(1), median(2));
        println!(
            "| {label} | {sled:.2} | {one:.2} | {three:.2} | {:.2}× | {:.2}× |",
            one / sled,
            three / one
        );
    };
    line("rotations/s", &|f| f.rotations_per_s);
    line("rotation p50, ms", &|f| f.rotation_p50);
    line("rotation p99, ms", &|f| f.rotation_p99);
    line("connects/s", &|f| f.connects_per_s);
    line("whack round trip p50, ms", &|f| f.whack_p50);
    line("whack round trip p99, ms", &|f| f.whack_p99);
    Ok(())
}
