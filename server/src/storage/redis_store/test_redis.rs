//! Real Redis servers for tests: a durable single instance or a three-master
//! Redis Cluster, each on free loopback ports in its own temporary directory,
//! killed on drop. Needs `redis-server` and `redis-cli`; without them a test
//! is skipped, unless `WHACK_REQUIRE_E2E=1` (CI) makes that a failure.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Running Redis processes.
pub struct TestRedis {
    children: Vec<Child>,
    dir: tempfile::TempDir,
    /// A single instance's port and flags, to start it again.
    single: Option<(u16, Vec<String>)>,
    /// Where to connect.
    pub url: String,
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill9();
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Whether Redis is installed; panics when it is required and missing.
fn available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("WHACK_REQUIRE_E2E").as_deref() != Ok("1"),
            "WHACK_REQUIRE_E2E=1 but redis-server is not installed"
        );
        eprintln!("SKIPPED: redis-server is not installed (see .ci/run)");
    }
    found
}

/// A free port whose cluster bus port (+10,000) is below the top of the range.
fn free_port() -> Result<u16, Error> {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if port < 55_000 {
            return Ok(port);
        }
    }
}

fn spawn(dir: &std::path::Path, port: u16, extra: &[&str]) -> Result<Child, Error> {
    std::fs::create_dir_all(dir)?;
    let port_arg = port.to_string();
    let mut args = vec![
        "--port",
        &port_arg,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    args.extend_from_slice(extra);
    Ok(Command::new("redis-server")
        .args(&args)
        .current_dir(dir)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

/// Waits until `redis-cli ARGS` on `port` prints `expect`, for up to 20 s.
fn wait_for(port: u16, args: &[&str], expect: &str) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()?;
        if String::from_utf8_lossy(&out.stdout).contains(expect) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("redis on {port} never answered {expect:?} to {args:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl TestRedis {
    /// One durable Redis, or `None` when Redis is not installed.
    pub fn single() -> Result<Option<Self>, Error> {
        Self::single_with(&[])
    }

    /// One Redis started with extra flags (`--appendfsync everysec`…).
    pub fn single_with(extra: &[&str]) -> Result<Option<Self>, Error> {
        if !available() {
            return Ok(None);
        }
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let redis = Self {
            children: vec![spawn(dir.path(), port, extra)?],
            dir,
            single: Some((port, extra.iter().map(|s| (*s).to_owned()).collect())),
            url: format!("redis://127.0.0.1:{port}"),
        };
        wait_for(port, &["ping"], "PONG")?;
        Ok(Some(redis))
    }

    /// Runs `redis-cli ARGS` against this Redis (`input` on its stdin, as for
    /// `-x`) and returns what it printed (`--raw`).
    pub fn cli(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, Error> {
        use std::io::Write;
        let mut child = Command::new("redis-cli")
            .args(["-u", &self.url, "--raw"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(input)?;
        }
        let mut out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(format!("redis-cli {args:?} failed").into());
        }
        // `--raw` ends a value with a newline of its own.
        if out.stdout.last() == Some(&b'\n') {
            out.stdout.pop();
        }
        Ok(out.stdout)
    }

    /// Rewrites every value whose key matches `pattern` with what `change`
    /// makes of it (`None` leaves it); returns how many changed. For tests that
    /// damage or age records behind the server's back.
    pub fn rewrite(
        &self,
        pattern: &str,
        mut change: impl FnMut(&[u8]) -> Option<Vec<u8>>,
    ) -> Result<usize, Error> {
        let listed = self.cli(&["--scan", "--pattern", pattern], None)?;
        let mut changed = 0;
        for key in String::from_utf8_lossy(&listed)
            .lines()
            .filter(|k| !k.is_empty())
        {
            let value = self.cli(&["GET", key], None)?;
            if let Some(next) = change(&value) {
                self.cli(&["-x", "SET", key], Some(&next))?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Kills every process with SIGKILL: what was not fsynced is lost.
    pub fn kill9(&mut self) {
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a single instance again on its port and directory (its
    /// append-only file brings back what it acknowledged).
    pub fn restart(&mut self) -> Result<(), Error> {
        self.kill9();
        let (port, extra) = self
            .single
            .clone()
            .ok_or("only a single instance restarts")?;
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        self.children.push(spawn(self.dir.path(), port, &extra)?);
        wait_for(port, &["ping"], "PONG")
    }

    /// A three-master Redis Cluster, or `None` when Redis is not installed.
    pub fn cluster() -> Result<Option<Self>, Error> {
        if !available() {
            return Ok(None);
        }
        // Built first, so a failure half-way still kills what started.
        let mut redis = Self {
            children: Vec::new(),
            dir: tempfile::tempdir()?,
            single: None,
            url: String::new(),
        };
        let mut ports = Vec::new();
        for i in 0..3 {
            let port = free_port()?;
            let node_dir = redis.dir.path().join(format!("node{i}"));
            redis.children.push(spawn(
                &node_dir,
                port,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ],
            )?);
            ports.push(port);
        }
        for port in &ports {
            wait_for(*port, &["ping"], "PONG")?;
        }
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !created.success() {
            return Err("redis-cli --cluster create failed".into());
        }
        for port in &ports {
            wait_for(*port, &["cluster", "info"], "cluster_state:ok")?;
        }
        redis.url = format!("redis://127.0.0.1:{}", ports[0]);
        Ok(Some(redis))
    }
}
