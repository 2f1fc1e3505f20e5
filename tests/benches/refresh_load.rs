//! Durable refresh-token rotations over HTTP on loopback: 64 concurrent clients,
//! each rotating its own login's token against the real release server, first as
//! fast as the server answers (its saturation throughput), then at fixed rates up
//! to the target (latency under each load). Prints figures; not a pass/fail test.
//!
//! `cargo bench -p whack-tests --bench refresh_load`

use std::time::Duration;
use whack_shared::Secret;
use whack_tests::passkey::login_new_player;
use whack_tests::scrape::{bucket_bound, metrics, value};
use whack_tests::{TestServer, machine, oauth};

const CLIENTS: usize = 64;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);
/// The rate the last open-loop phase offers: the throughput target.
const TARGET_RATE: u32 = 5_000;
/// Open-loop rates, lower ones first: how the tail grows with the load.
const OPEN_LOOP_RATES: [u32; 3] = [1_000, 2_500, TARGET_RATE];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Every client rotates its own token for `WARMUP + MEASURE`. With a `pace`, each
/// client sends on a fixed schedule (open loop) and latency counts from the
/// scheduled time, so a late response also delays what queued behind it; without
/// one, each sends as soon as its previous answer arrives (closed loop).
async fn rotate_all(
    http: &reqwest::Client,
    url: &str,
    tokens: Vec<Secret>,
    pace: Option<Duration>,
) -> anyhow::Result<(Vec<Secret>, Vec<Duration>)> {
    let start = tokio::time::Instant::now();
    let clients = tokens.len() as u32;
    let mut tasks = Vec::new();
    for (k, mut token) in (0u32..).zip(tokens) {
        let (http, url) = (http.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut due = start + pace.map_or(Duration::ZERO, |p| p * k / clients);
            loop {
                if let Some(pace) = pace {
                    tokio::time::sleep_until(due).await;
                    due += pace;
                } else {
                    due = tokio::time::Instant::now();
                }
                let sent = due - pace.unwrap_or_default();
                if sent.duration_since(start) > WARMUP + MEASURE {
                    return Ok::<_, anyhow::Error>((token, latencies));
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
    let (mut tokens, mut latencies) = (Vec::new(), Vec::new());
    for task in tasks {
        let (token, l) = task.await??;
        tokens.push(token);
        latencies.extend(l);
    }
    latencies.sort();
    Ok((tokens, latencies))
}

fn report(latencies: &[Duration]) {
    let ms = |p: f64| percentile(latencies, p).as_secs_f64() * 1e3;
    println!(
        "    {:.0} rotations/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        latencies.len() as f64 / MEASURE.as_secs_f64(),
        ms(0.50),
        ms(0.90),
        ms(0.99),
        ms(0.999),
        ms(1.0),
    );
}

/// Server-side request times and group-commit figures between two scrapes
/// (warm-up included).
fn report_server_side(before: &str, after: &str) {
    let requests = "whack_http_request_duration_seconds";
    println!(
        "    server side, request routed to response ready: p50 {}, p99 {}, max {}",
        bucket_bound(requests, before, after, 0.5),
        bucket_bound(requests, before, after, 0.99),
        bucket_bound(requests, before, after, 1.0),
    );
    let flushes_name = "whack_db_flush_seconds";
    let metric = |m: &str, suffix: &str| value(m, &format!("{flushes_name}_{suffix}"));
    let flushes = metric(after, "count") - metric(before, "count");
    let rotations = value(after, "whack_refreshes_total") - value(before, "whack_refreshes_total");
    println!(
        "    every response waited for a flush: {flushes} flushes, {:.1} rotations each; flush time mean {:.2} ms, p50 {}, p99 {}, max {}",
        rotations / flushes.max(1.0),
        (metric(after, "sum") - metric(before, "sum")) / flushes.max(1.0) * 1e3,
        bucket_bound(flushes_name, before, after, 0.5),
        bucket_bound(flushes_name, before, after, 0.99),
        bucket_bound(flushes_name, before, after, 1.0),
    );
}

/// Prints the CPU the server and this load generator used since `mark`
/// (warm-up included).
fn report_cpu(mark: &machine::CpuMark) -> anyhow::Result<()> {
    let used = mark.since()?;
    println!(
        "    CPU: server {:.0} % of one core, load generator {:.0} % (of the same two cores)",
        100.0 * used.server / used.wall,
        100.0 * used.own / used.wall,
    );
    Ok(())
}

/// The disk's own floor for durable writes: 4 KiB appends to a file beside the
/// server's database, each made durable with `fdatasync`, about 1,000 a second.
fn disk_sync_times(path: &std::path::Path, run: Duration) -> anyhow::Result<Vec<Duration>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::create_new(path)?;
    let block = [0x5a_u8; 4096];
    let (start, mut offset, mut times) = (std::time::Instant::now(), 0, Vec::new());
    while start.elapsed() < run {
        let began = std::time::Instant::now();
        file.write_all_at(&block, offset)?;
        file.sync_data()?;
        times.push(began.elapsed());
        offset += block.len() as u64;
        std::thread::sleep(Duration::from_millis(1));
    }
    std::fs::remove_file(path)?;
    times.sort();
    Ok(times)
}

// One thread for the load generator leaves the rest of the two cores to the server.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // Every client logs in from loopback first: lift the per-address login and
    // passkey limits. The bench rotates each session thousands of times a
    // second: lift the per-session refresh limit too.
    let server = TestServer::start_with(&[
        "--device-authorizations-per-minute",
        "1000000",
        "--ceremonies-per-minute",
        "1000000",
        "--refreshes-per-minute",
        "1000000",
    ])
    .await?;
    let url = server.url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    let mut tokens = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let (login, _) = login_new_player(&url, &format!("bench{i}")).await?;
        tokens.push(login.refresh_token);
    }
    println!(
        "refresh rotations over HTTP, {CLIENTS} concurrent clients, each phase {} s measured after {} s warm-up; server and load generator share this machine's cores (target: ≥ 5,000/s with p99 ≤ 15 ms)",
        MEASURE.as_secs(),
        WARMUP.as_secs(),
    );

    let probe = server.data_dir().with_file_name("sync-probe");
    let syncs = tokio::task::spawn_blocking(move || disk_sync_times(&probe, MEASURE / 2)).await??;
    let ms = |p: f64| percentile(&syncs, p).as_secs_f64() * 1e3;
    println!(
        "  this disk alone, for reference: 4 KiB append + fdatasync p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} of {} took over 5 ms",
        ms(0.5),
        ms(0.99),
        ms(1.0),
        syncs
            .iter()
            .filter(|t| **t > Duration::from_millis(5))
            .count(),
        syncs.len(),
    );
    let steadiness =
        tokio::task::spawn_blocking(|| machine::cpu_steadiness(Duration::from_secs(6))).await?;
    println!("  this machine's CPUs alone, for reference: {steadiness}");

    let pid = server
        .pid()
        .ok_or_else(|| anyhow::anyhow!("server not running"))?;
    let before = metrics(&http, &url).await?;
    let cpu = machine::CpuMark::take(pid)?;
    let (mut tokens, saturated) = rotate_all(&http, &url, tokens, None).await?;
    let after = metrics(&http, &url).await?;
    println!("  saturation (closed loop: each client sends again as soon as it is answered):");
    report(&saturated);
    report_server_side(&before, &after);
    report_cpu(&cpu)?;

    let mut before = after;
    for rate in OPEN_LOOP_RATES {
        let pace = Duration::from_secs(1) * CLIENTS as u32 / rate;
        let cpu = machine::CpuMark::take(pid)?;
        let (next, paced) = rotate_all(&http, &url, tokens, Some(pace)).await?;
        let after = metrics(&http, &url).await?;
        println!(
            "  at {rate}/s offered (open loop: each client sends every {:.1} ms; latency from the scheduled send):",
            pace.as_secs_f64() * 1e3
        );
        report(&paced);
        report_server_side(&before, &after);
        report_cpu(&cpu)?;
        (tokens, before) = (next, after);
    }
    Ok(())
}
