//! How steady this machine's CPUs are, printed by the benches beside their own
//! figures: on a shared VM the same work can run several times slower for a
//! while, and a latency tail then says more about the host than about the code.

use std::time::{Duration, Instant};

/// CPU time (user + system) process `pid` has used so far, in seconds.
fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("odd /proc stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(i)
            .ok_or_else(|| anyhow::anyhow!("short /proc stat"))?
            .parse()?)
    };
    // Clock ticks are 1/100 s on Linux.
    Ok((field(11)? + field(12)?) as f64 / 100.0)
}

/// CPU seconds a server process and this process have used, and when.
pub struct CpuMark {
    server_pid: u32,
    server: f64,
    own: f64,
    at: Instant,
}

/// What both processes used between a mark and now.
pub struct CpuUse {
    /// Server CPU seconds.
    pub server: f64,
    /// This process's CPU seconds.
    pub own: f64,
    /// Wall-clock seconds.
    pub wall: f64,
}

impl CpuMark {
    /// Marks the CPU used so far by `server_pid` and by this process.
    pub fn take(server_pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            server_pid,
            server: cpu_secs(server_pid)?,
            own: cpu_secs(std::process::id())?,
            at: Instant::now(),
        })
    }

    /// The CPU both used since the mark.
    pub fn since(&self) -> anyhow::Result<CpuUse> {
        let now = Self::take(self.server_pid)?;
        Ok(CpuUse {
            server: now.server - self.server,
            own: now.own - self.own,
            wall: now.at.duration_since(self.at).as_secs_f64(),
        })
    }
}

/// Work units are grouped into windows this long.
const WINDOW: Duration = Duration::from_millis(100);
/// A window whose mean unit time exceeds the median by this factor is slow.
const SLOW_FACTOR: f64 = 1.5;

/// What a fixed CPU and memory workload saw on every core at once.
#[derive(Debug, Clone)]
pub struct Steadiness {
    /// The median time of one work unit.
    pub median: Duration,
    /// Windows (across all cores) that ran at least 1.5 times slower than the median.
    pub slow_windows: usize,
    /// Windows measured (across all cores).
    pub windows: usize,
    /// The slowest window's mean unit time over the median.
    pub worst: f64,
    /// Start times of slow windows on the first core, from the start of the run.
    pub slow_at: Vec<Duration>,
}

/// One unit: pseudo-random reads and writes over a buffer larger than the
/// caches, about a third of a millisecond of work here.
fn work_unit(buffer: &mut [u64], state: &mut u64) {
    let len = buffer.len() as u64;
    for _ in 0..20_000 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let i = ((*state >> 33) % len) as usize;
        buffer[i] ^= *state;
    }
}

/// Runs the work on one thread per core for `run`, with short pauses between
/// units so the cores are busy but not saturated, and compares the windows.
pub fn cpu_steadiness(run: Duration) -> Steadiness {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    let per_core: Vec<Vec<(Duration, Duration)>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..cores)
            .map(|core| {
                scope.spawn(move || {
                    let mut buffer = vec![1_u64; 8 << 20];
                    let mut state = core as u64 + 1;
                    let mut units = Vec::new();
                    while start.elapsed() < run {
                        let began = Instant::now();
                        work_unit(&mut buffer, &mut state);
                        units.push((began.duration_since(start), began.elapsed()));
                        std::thread::sleep(Duration::from_micros(300));
                    }
                    units
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_default())
            .collect()
    });
    let mut all: Vec<Duration> = per_core.iter().flatten().map(|u| u.1).collect();
    all.sort();
    let median = all.get(all.len() / 2).copied().unwrap_or_default();
    let (mut slow_windows, mut windows, mut worst, mut slow_at) = (0, 0, 0.0_f64, Vec::new());
    for (core, units) in per_core.iter().enumerate() {
        let mut window_start = Duration::ZERO;
        while window_start < run {
            let end = window_start + WINDOW;
            let times: Vec<f64> = units
                .iter()
                .filter(|(at, _)| (window_start..end).contains(at))
                .map(|(_, took)| took.as_secs_f64())
                .collect();
            if !times.is_empty() && !median.is_zero() {
                let ratio = times.iter().sum::<f64>() / times.len() as f64 / median.as_secs_f64();
                windows += 1;
                worst = worst.max(ratio);
                if ratio >= SLOW_FACTOR {
                    slow_windows += 1;
                    if core == 0 {
                        slow_at.push(window_start);
                    }
                }
            }
            window_start = end;
        }
    }
    Steadiness {
        median,
        slow_windows,
        windows,
        worst,
        slow_at,
    }
}

impl std::fmt::Display for Steadiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at: Vec<String> = self
            .slow_at
            .iter()
            .map(|t| format!("{:.1}", t.as_secs_f64()))
            .collect();
        write!(
            f,
            "a fixed CPU and memory work unit on every core takes median {:.2} ms; {} of {} windows of 100 ms ran ≥ {SLOW_FACTOR}× slower (worst {:.1}×; first core at {} s)",
            self.median.as_secs_f64() * 1e3,
            self.slow_windows,
            self.windows,
            self.worst,
            if at.is_empty() {
                "none".to_owned()
            } else {
                at.join(", ")
            },
        )
    }
}
