//! The real `whack-server` binary in a temp data dir on a free loopback port.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use whack_server::storage::redis_store::test_redis::TestRedis;

/// A running server; killed (SIGKILL) on drop.
pub struct TestServer {
    child: Option<Child>,
    port: u16,
    args: Vec<String>,
    /// The open-files limit (soft and hard) the server runs under, if set.
    open_files: Option<u64>,
    data_dir: tempfile::TempDir,
    log_path: PathBuf,
    /// The Redis this server stores in, when `WHACK_TEST_STORE=redis`.
    redis: Option<TestRedis>,
}

/// Whether every test server stores in a Redis of its own (`WHACK_TEST_STORE=redis`),
/// so the end-to-end suites run against the Redis store as well as sled.
fn on_redis() -> bool {
    std::env::var("WHACK_TEST_STORE").is_ok_and(|v| v == "redis")
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl TestServer {
    /// Starts a server with default flags.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    /// Starts a server with extra flags (e.g. `--allow-seeded-rooms`).
    pub async fn start_with(args: &[&str]) -> anyhow::Result<Self> {
        Self::start_limited(args, None).await
    }

    /// `n` nodes on the Redis at `redis_url`, each with `extra` flags, sharing
    /// one public URL (the first node's, as if a load balancer answered there)
    /// so their tokens have one issuer; each is its own `--node-url`.
    pub async fn nodes(redis_url: &str, n: usize, extra: &[&str]) -> anyhow::Result<Vec<Self>> {
        let mut args = vec!["--redis-url", redis_url];
        args.extend(extra);
        let first = Self::start_with(&args).await?;
        let public = first.url();
        args.extend(["--public-url", &public]);
        let mut nodes = vec![first];
        for _ in 1..n {
            nodes.push(Self::start_with(&args).await?);
        }
        Ok(nodes)
    }

    /// Starts a server with extra flags under an open-files limit it cannot raise.
    pub async fn start_limited(args: &[&str], open_files: Option<u64>) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new().prefix("whack-e2e-").tempdir()?;
        let log_path = data_dir.path().join("server.log");
        // A test that brings its own Redis keeps it.
        let own_redis = args.contains(&"--redis-url");
        let redis = match on_redis() && !own_redis {
            true => Some(
                TestRedis::single()
                    .map_err(|e| anyhow::anyhow!("cannot start Redis: {e}"))?
                    .ok_or_else(|| anyhow::anyhow!("WHACK_TEST_STORE=redis needs redis-server"))?,
            ),
            false => None,
        };
        let mut args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        if let Some(redis) = &redis {
            args.extend(["--redis-url".to_owned(), redis.url.clone()]);
        }
        let mut server = Self {
            child: None,
            port: 0,
            args,
            open_files,
            data_dir,
            log_path,
            redis,
        };
        // A port picked free can be taken before the server binds it; try again.
        let mut last_error = None;
        for _ in 0..5 {
            server.port = free_port()?;
            match server.spawn().await {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("server did not start")))
    }

    /// The server command with this server's port, URL, data dir and flags.
    fn command(&self) -> Command {
        let binary = crate::bin_path("whack-server");
        let mut command = match self.open_files {
            // `ulimit -n` sets the soft and the hard limit, so the server cannot lift it.
            Some(limit) => {
                let mut shell = Command::new("bash");
                shell
                    .arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(binary);
                shell
            }
            None => Command::new(binary),
        };
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port));
        // Nodes behind one address share its public URL (the issuer).
        if !self.args.iter().any(|a| a == "--public-url") {
            command.arg("--public-url").arg(self.url());
        }
        // Each node is reached at its own address for the rooms it plays.
        if !self.args.iter().any(|a| a == "--node-url") {
            command.arg("--node-url").arg(self.url());
        }
        command
            .arg("--data-dir")
            .arg(self.data_dir.path().join("data"))
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("WHACK_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null());
        command
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)?;
        let child = self
            .command()
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        self.wait_healthy().await
    }

    /// Starts the server again on the same port and data dir with `extra`
    /// flags, which later restarts keep.
    pub async fn restart_with(&mut self, extra: &[&str]) -> anyhow::Result<()> {
        self.args.extend(extra.iter().map(|s| (*s).to_owned()));
        self.restart().await
    }

    /// [`Self::start_refused`] with `extra` flags added for good.
    pub async fn start_refused_with(&mut self, extra: &[&str]) -> anyhow::Result<RefusedStart> {
        self.args.extend(extra.iter().map(|s| (*s).to_owned()));
        self.start_refused().await
    }

    /// Starts the server again on the same port and data dir (stopping it
    /// first), expecting it to refuse: its exit status and output. An error if
    /// it is still running after 20 s or answers `/healthz` (then it is killed).
    pub async fn start_refused(&mut self) -> anyhow::Result<RefusedStart> {
        self.kill9();
        let dir = self.data_dir.path();
        let (out_path, err_path) = (dir.join("refused.out"), dir.join("refused.err"));
        let mut child = self
            .command()
            .stdout(std::fs::File::create(&out_path)?)
            .stderr(std::fs::File::create(&err_path)?)
            .spawn()?;
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            let healthy = http.get(format!("{}/healthz", self.url())).send().await;
            if Instant::now() > deadline || healthy.is_ok_and(|r| r.status().is_success()) {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!(
                    "whack-server started instead of refusing:\n{}",
                    std::fs::read_to_string(&err_path).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        Ok(RefusedStart {
            status,
            stdout: std::fs::read_to_string(&out_path)?,
            stderr: std::fs::read_to_string(&err_path)?,
        })
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                anyhow::bail!("whack-server exited with {status}:\n{}", self.logs());
            }
            if let Ok(r) = http.get(format!("{}/healthz", self.url())).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "whack-server never became healthy:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `http://localhost:PORT` (a host name, as WebAuthn needs).
    pub fn url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// `ws://localhost:PORT/play`.
    pub fn ws_url(&self) -> String {
        format!("ws://localhost:{}/play", self.port)
    }

    /// The key it signs access tokens with, PKCS#8 DER: from its data dir, or
    /// from its Redis.
    pub fn signing_key(&self) -> anyhow::Result<Vec<u8>> {
        let Some(redis) = &self.redis else {
            return Ok(std::fs::read(self.data_dir().join("signing-key.p8"))?);
        };
        let cli = |args: &[&str]| redis.cli(args, None).map_err(|e| anyhow::anyhow!("{e}"));
        let kid = String::from_utf8(cli(&["GET", "whack:{keys}:signing"])?)?;
        let stored: serde_json::Value =
            serde_json::from_slice(&cli(&["HGET", "whack:{keys}:all", &kid])?)?;
        let pkcs8 = stored["pkcs8"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no pkcs8 in the stored key"))?;
        use base64::Engine;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(pkcs8)?)
    }

    /// The Redis it stores in (`WHACK_TEST_STORE=redis`), if any.
    pub fn redis(&self) -> Option<&TestRedis> {
        self.redis.as_ref()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.path().join("data")
    }

    /// Counter `name` from the server's `/metrics`; an error if it is missing.
    pub async fn counter(&self, name: &str) -> anyhow::Result<u64> {
        let text = crate::scrape::metrics(&reqwest::Client::new(), &self.url()).await?;
        crate::scrape::counter(&text, name).ok_or_else(|| anyhow::anyhow!("no {name} in /metrics"))
    }

    /// The server's process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything the server printed so far (stdout and logs).
    pub fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub async fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow::anyhow!("not running"))?;
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                anyhow::bail!("whack-server did not exit within 20 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the server again on the same port and data dir.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9();
        self.spawn().await
    }
}

/// What a start that refused did.
#[derive(Debug)]
pub struct RefusedStart {
    /// Its exit status.
    pub status: ExitStatus,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr (logs and the error).
    pub stderr: String,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        if std::env::var_os("WHACK_TEST_SHOW_LOGS").is_some() {
            eprintln!("--- whack-server log ---\n{}", self.logs());
        }
    }
}
