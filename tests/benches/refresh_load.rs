//! Durable refresh-token rotations over HTTP on loopback: 64 concurrent clients,
//! each rotating its own login's token against the real release server, first as
//! fast as the server answers (its saturation throughput), then at fixed rates
//! (latency under each load). Beside it, driven the same way at the same rates,
//! runs a bare reference (`durable_echo`: the same runtime and the same group
//! commit, one `fdatasync` of the request body per batch and nothing else), so
//! the ratios hold on a noisy machine. Prints figures; not a pass/fail test.
//!
//! `cargo bench -p whack-tests --bench refresh_load`; `WHACK_BENCH_RUNS`
//! (default 5) runs, each with a fresh process of both.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use whack_shared::Secret;
use whack_tests::figures;
use whack_tests::passkey::login_new_player;
use whack_tests::scrape::{bucket_bound, metrics, value};
use whack_tests::{TestServer, machine, oauth};

const CLIENTS: usize = 64;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(8);
/// Open-loop rates, the lower first: how the tail grows with the load.
const OPEN_LOOP_RATES: [u32; 2] = [1_000, 5_000];

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

/// One phase's figures: achieved rate and latency quantiles in ms.
#[derive(Clone, Copy)]
struct Phase {
    per_s: f64,
    p50: f64,
    p99: f64,
}

fn report(latencies: &[Duration]) -> Phase {
    let ms = |p: f64| percentile(latencies, p).as_secs_f64() * 1e3;
    let phase = Phase {
        per_s: latencies.len() as f64 / MEASURE.as_secs_f64(),
        p50: ms(0.5),
        p99: ms(0.99),
    };
    println!(
        "    {:.0} rotations/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        latencies.len() as f64 / MEASURE.as_secs_f64(),
        ms(0.50),
        ms(0.90),
        ms(0.99),
        ms(0.999),
        ms(1.0),
    );
    phase
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
    // On Redis there is no flush of the server's own: Redis fsyncs each write.
    if flushes == 0.0 {
        return;
    }
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

/// What is measured: the server (with its metrics) or the reference.
struct Target {
    name: &'static str,
    url: String,
    pid: u32,
    has_metrics: bool,
}

/// `durable_echo`, writing beside the server's data dir; killed on drop.
struct Reference {
    child: tokio::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Reference {
    async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = tokio::process::Command::new(whack_tests::bin_path("durable_echo"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("durable_echo has no stdout"))?;
        let line = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::BufReader::new(stdout).lines().next_line(),
        )
        .await??
        .unwrap_or_default();
        let addr = line
            .strip_prefix("listening on ")
            .ok_or_else(|| anyhow::anyhow!("durable_echo said {line:?}"))?;
        Ok(Self {
            url: format!("http://{addr}"),
            child,
            _dir: dir,
        })
    }

    fn target(&self) -> anyhow::Result<Target> {
        Ok(Target {
            name: "durable echo",
            url: self.url.clone(),
            pid: self
                .child
                .id()
                .ok_or_else(|| anyhow::anyhow!("durable_echo exited"))?,
            has_metrics: false,
        })
    }
}

/// One run against one target: the closed loop, then every open-loop rate.
struct Figures {
    closed: Phase,
    open: Vec<Phase>,
}

async fn measure(
    http: &reqwest::Client,
    target: &Target,
    tokens: &mut Vec<Secret>,
) -> anyhow::Result<Figures> {
    let url = &target.url;
    let scrape = async || match target.has_metrics {
        true => metrics(http, url).await.map(Some),
        false => Ok(None),
    };
    let server_side = |before: &Option<String>, after: &Option<String>| {
        if let (Some(before), Some(after)) = (before, after) {
            report_server_side(before, after);
        }
    };
    println!(
        "  {}, saturation (closed loop: each client sends again as soon as it is answered):",
        target.name
    );
    let before = scrape().await?;
    let cpu = machine::CpuMark::take(target.pid)?;
    let rotated;
    (*tokens, rotated) = rotate_all(http, url, std::mem::take(tokens), None).await?;
    let closed = report(&rotated);
    let mut before_open = scrape().await?;
    server_side(&before, &before_open);
    report_cpu(&cpu)?;
    let mut open = Vec::new();
    for rate in OPEN_LOOP_RATES {
        let pace = Duration::from_secs(1) * CLIENTS as u32 / rate;
        let cpu = machine::CpuMark::take(target.pid)?;
        let paced;
        (*tokens, paced) = rotate_all(http, url, std::mem::take(tokens), Some(pace)).await?;
        println!(
            "  {} at {rate}/s offered (open loop: each client sends every {:.1} ms; latency from the scheduled send):",
            target.name,
            pace.as_secs_f64() * 1e3
        );
        open.push(report(&paced));
        let after = scrape().await?;
        server_side(&before_open, &after);
        report_cpu(&cpu)?;
        before_open = after;
    }
    Ok(Figures { closed, open })
}

/// A row of the table: `pick` of every run, for the server and the reference.
fn compare(label: &str, target: &str, runs: &[(Figures, Figures)], pick: impl Fn(&Figures) -> f64) {
    let server: Vec<f64> = runs.iter().map(|r| pick(&r.0)).collect();
    let reference: Vec<f64> = runs.iter().map(|r| pick(&r.1)).collect();
    println!("{}", figures::row(label, target, &server, &reference));
}

// One thread for the load generator leaves the rest of the two cores to the servers.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let runs = std::env::var("WHACK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5usize)
        .max(1);
    // Every client logs in from loopback first: lift the per-address login and
    // passkey limits. The bench rotates each session thousands of times a
    // second: lift the per-session refresh limit too.
    let mut server = TestServer::start_with(&[
        "--device-authorizations-per-minute",
        "1000000",
        "--ceremonies-per-minute",
        "1000000",
        "--refreshes-per-minute",
        "1000000",
    ])
    .await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    let mut tokens = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let (login, _) = login_new_player(&server.url(), &format!("bench{i}")).await?;
        tokens.push(login.refresh_token);
    }
    // The reference answers every token alike.
    let mut echo_tokens = vec![Secret::new("r"); CLIENTS];
    println!(
        "refresh rotations over HTTP, {CLIENTS} concurrent clients, each phase {} s measured after {} s warm-up; {runs} runs; the servers and the load generator share this machine's cores",
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

    let mut results = Vec::with_capacity(runs);
    for run in 1..=runs {
        server.restart().await?;
        let reference = Reference::start().await?;
        let whack = Target {
            name: "whack-server",
            url: server.url(),
            pid: server
                .pid()
                .ok_or_else(|| anyhow::anyhow!("server not running"))?,
            has_metrics: true,
        };
        println!("run {run}/{runs}");
        // Alternate which goes first, so a drift of the machine within a run
        // does not always favour the same one.
        let (ours, theirs) = if run % 2 == 1 {
            let ours = measure(&http, &whack, &mut tokens).await?;
            (
                ours,
                measure(&http, &reference.target()?, &mut echo_tokens).await?,
            )
        } else {
            let theirs = measure(&http, &reference.target()?, &mut echo_tokens).await?;
            (measure(&http, &whack, &mut tokens).await?, theirs)
        };
        results.push((ours, theirs));
    }
    println!();
    println!("| figure | whack-server | durable echo | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    compare("closed loop, rotations/s", "≥ 0.7×", &results, |f| {
        f.closed.per_s
    });
    compare("closed loop p50, ms", "—", &results, |f| f.closed.p50);
    compare("closed loop p99, ms", "—", &results, |f| f.closed.p99);
    for (i, rate) in OPEN_LOOP_RATES.iter().enumerate() {
        let phase = |f: &Figures| f.open.get(i).copied();
        compare(
            &format!("{rate}/s offered, achieved/s"),
            "same",
            &results,
            |f| phase(f).map_or(f64::NAN, |p| p.per_s),
        );
        compare(&format!("{rate}/s offered, p50 ms"), "—", &results, |f| {
            phase(f).map_or(f64::NAN, |p| p.p50)
        });
        compare(
            &format!("{rate}/s offered, p99 ms"),
            "≤ 1.5×",
            &results,
            |f| phase(f).map_or(f64::NAN, |p| p.p99),
        );
    }
    Ok(())
}
