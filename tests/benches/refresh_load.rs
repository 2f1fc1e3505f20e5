//! Durable refresh-token rotations over HTTP on loopback: 64 concurrent clients,
//! each rotating its own login's token in a loop against the real release server.
//! Prints throughput and latency percentiles; not a pass/fail test.
//!
//! `cargo bench -p whack-tests --bench refresh_load`

use std::time::{Duration, Instant};
use whack_tests::passkey::login_new_player;
use whack_tests::{TestServer, oauth};

const CLIENTS: usize = 64;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

// One thread for the load generator leaves the rest of the two cores to the server.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    let mut sessions = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let (tokens, _) = login_new_player(&url, &format!("bench{i}")).await?;
        sessions.push(tokens.refresh_token);
    }
    let before = http
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;

    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut token in sessions {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let sent = Instant::now();
                if sent.duration_since(start) > WARMUP + MEASURE {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let next = oauth::refresh(&http, &url, &token)
                    .await?
                    .map_err(|r| anyhow::anyhow!("refresh refused: {r:?}"))?;
                token = next.refresh_token;
                if sent.duration_since(start) >= WARMUP {
                    latencies.push(sent.elapsed());
                }
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let after = http
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    all.sort();
    let rotations = all.len();
    let flushes =
        counter(&after, "whack_db_flushes_total ") - counter(&before, "whack_db_flushes_total ");
    println!(
        "refresh rotations over HTTP, {CLIENTS} concurrent clients, {} s measured (server and load generator share this machine's cores):",
        MEASURE.as_secs()
    );
    println!(
        "  throughput: {:.0} rotations/s (target ≥ 5,000/s)",
        rotations as f64 / MEASURE.as_secs_f64()
    );
    println!(
        "  latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms (target ≤ 15 ms), p99.9 {:.2} ms, max {:.2} ms",
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.90).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        percentile(&all, 0.999).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    println!(
        "  durability: {flushes} flushes during the run (incl. warm-up), every response waited for one"
    );
    Ok(())
}
