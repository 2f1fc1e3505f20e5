//! The real `whack` binary against a hostile server: a small fake HTTP server on
//! 127.0.0.1, written here, that answers the OAuth and API endpoints with escape
//! sequences, a sign-in page on another origin, absurd lifetimes and intervals, and
//! bodies far too large. Every run must end without a panic (exit 101), print no
//! control character, and say what it refused. A plain-http `--server` that is not
//! loopback must be refused before any traffic (nothing here ever leaves loopback).

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use whack_tests::home::Home;

/// What a run of the client may take at most.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// The size of the bodies that must not be buffered whole.
const HUGE_BODY: usize = 64 * 1024 * 1024;
/// The client's documented body cap.
const BODY_CAP: usize = 1024 * 1024;

/// A title-setting OSC, a screen clear, an 8-bit CSI, a bell and a bidi override.
const NASTY: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[H\u{9b}31m\u{202e}\u{7f}";

/// One request as the fake server read it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    body: String,
}

/// What the fake server answers.
enum Reply {
    /// A JSON body with this status.
    Json(u16, Value),
    /// `HUGE_BODY` bytes of JSON whitespace; with or without a Content-Length. The
    /// connection then stays open until the client hangs up, so a client that
    /// buffered it all would still be running (and measurable).
    Huge { announce: bool },
}

type Handler = dyn Fn(&Request, &str) -> Reply + Send + Sync;

/// The hostile server: answers each request on its own connection.
struct Fake {
    origin: String,
    requests: Arc<Mutex<Vec<Request>>>,
    written: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    async fn start(
        handler: impl Fn(&Request, &str) -> Reply + Send + Sync + 'static,
    ) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let task = tokio::spawn({
            let (origin, requests, written) = (origin.clone(), requests.clone(), written.clone());
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let (origin, requests, written) =
                        (origin.clone(), requests.clone(), written.clone());
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        let _ = serve(socket, &origin, &*handler, &requests, &written).await;
                    });
                }
            }
        });
        Ok(Self {
            origin,
            requests,
            written,
            task,
        })
    }

    fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    socket: TcpStream,
    origin: &str,
    handler: &Handler,
    requests: &Mutex<Vec<Request>>,
    written: &AtomicUsize,
) -> Result<()> {
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length.min(64 * 1024)];
    reader.read_exact(&mut body).await?;
    let request = Request {
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(request.clone());
    let mut socket = reader.into_inner();
    match handler(&request, origin) {
        Reply::Json(status, value) => {
            let body = value.to_string();
            let head = format!(
                "HTTP/1.1 {status} Hostile\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Reply::Huge { announce } => {
            let length = if announce {
                format!("Content-Length: {HUGE_BODY}\r\n")
            } else {
                String::new()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await?;
            let chunk = vec![b' '; 64 * 1024];
            while written.load(Ordering::Relaxed) < HUGE_BODY {
                socket.write_all(&chunk).await?;
                written.fetch_add(chunk.len(), Ordering::Relaxed);
            }
            // Hold the connection until the client hangs up.
            let mut sink = [0u8; 1024];
            let _ = tokio::time::timeout(RUN_TIMEOUT, socket.read(&mut sink)).await;
        }
    }
    socket.flush().await?;
    Ok(())
}

/// A device authorization whose texts carry escape sequences, on `origin`.
fn authorization(origin: &str, expires_in: u64, interval: u64) -> Value {
    json!({
        "device_code": "whd_hostile",
        "user_code": format!("{NASTY}BCDF-GHJK{NASTY}"),
        "verification_uri": format!("{origin}/device{NASTY}"),
        "verification_uri_complete": format!("{origin}/device?user_code=BCDF-GHJK{NASTY}"),
        "expires_in": expires_in,
        "interval": interval,
    })
}

/// Tokens that claim to live for 2^64-1 seconds.
fn tokens() -> Value {
    json!({
        "access_token": "eyJhostile.eyJhostile.sig",
        "token_type": format!("Bearer{NASTY}"),
        "expires_in": u64::MAX,
        "refresh_token": "whr_hostile",
    })
}

/// A fresh HOME with plain-file token storage, and no display (no browser).
struct Client {
    home: Home,
}

impl Client {
    fn new() -> Result<Self> {
        Ok(Self {
            home: Home::new("whack-hostile-")?,
        })
    }

    fn command(&self, server: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(whack_tests::client_bin());
        cmd.args(["--server", server, "--insecure-storage"])
            .args(args)
            .env_clear()
            .envs(self.home.vars())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn run(&self, server: &str, args: &[&str]) -> Result<Run> {
        let started = Instant::now();
        let output = tokio::time::timeout(RUN_TIMEOUT, self.command(server, args).output())
            .await
            .with_context(|| format!("whack {args:?} timed out"))??;
        Ok(Run::new(
            output.status,
            &output.stdout,
            &output.stderr,
            started.elapsed(),
        ))
    }
}

/// A finished client run.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    output: String,
    elapsed: Duration,
}

impl Run {
    fn new(status: ExitStatus, stdout: &[u8], stderr: &[u8], elapsed: Duration) -> Self {
        Self {
            code: status.code(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(stdout),
                String::from_utf8_lossy(stderr)
            ),
            elapsed,
        }
    }

    /// No panic, the expected exit code and text, and nothing a terminal would obey.
    fn expect(&self, code: i32, text: &str) -> Result<()> {
        ensure!(self.code != Some(101), "whack panicked:\n{}", self.output);
        ensure!(
            self.code == Some(code) && self.output.contains(text),
            "expected exit {code} and {text:?}, got {:?}:\n{}",
            self.code,
            self.output
        );
        let bad: Vec<String> = self
            .output
            .chars()
            .filter(|&c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        ensure!(
            bad.is_empty(),
            "control characters reached the output: {bad:?}\n{:?}",
            self.output
        );
        Ok(())
    }
}

#[tokio::test]
async fn escape_sequences_in_codes_urls_and_errors_never_reach_the_terminal() -> Result<()> {
    let fake = Fake::start(|req, origin| match req.path.as_str() {
        "/oauth/device_authorization" => Reply::Json(200, authorization(origin, 600, 1)),
        _ => Reply::Json(
            400,
            json!({
                "error": "invalid_grant",
                "error_description": format!("denied{NASTY}\nsecond line{NASTY}"),
            }),
        ),
    })
    .await?;
    let run = Client::new()?
        .run(&fake.origin, &["login", "--no-browser"])
        .await?;
    run.expect(
        1,
        "login failed: invalid_grant: denied]0;pwned[2J[H31m second line",
    )?;
    ensure!(
        run.output.contains("Code: ]0;pwned[2J[H31mBCDF-GHJK"),
        "{}",
        run.output
    );
    Ok(())
}

#[tokio::test]
async fn huge_lifetimes_and_hostile_names_do_not_panic_login_status_or_logout() -> Result<()> {
    let fake = Fake::start(|req, origin| match req.path.as_str() {
        "/oauth/device_authorization" => Reply::Json(200, authorization(origin, u64::MAX, 1)),
        "/oauth/token" => Reply::Json(200, tokens()),
        "/api/me" => Reply::Json(
            200,
            json!({"id": format!("p{NASTY}1"), "name": format!("{NASTY}eve{NASTY}")}),
        ),
        _ => Reply::Json(200, json!({})),
    })
    .await?;
    let client = Client::new()?;
    let login = client.run(&fake.origin, &["login", "--no-browser"]).await?;
    login.expect(0, "as ]0;pwned[2J[H31meve]0;pwned[2J[H31m.")?;
    // An hour at most, whatever the server claimed.
    ensure!(
        login.output.contains("expires in 60 minutes"),
        "{}",
        login.output
    );

    let status = client.run(&fake.origin, &["status"]).await?;
    status.expect(0, "(id p]0;pwned[2J[H31m1)")?;
    ensure!(
        status.output.contains("(in 59m") || status.output.contains("(in 1h 0m)"),
        "the access-token lifetime is not capped at an hour:\n{}",
        status.output
    );
    ensure!(
        fake.paths().iter().any(|p| p == "POST /oauth/token")
            && fake
                .requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|r| r.body.contains("grant_type=refresh_token")),
        "status did not refresh: {:?}",
        fake.paths()
    );

    let logout = client.run(&fake.origin, &["logout"]).await?;
    logout.expect(0, "Logged out of")?;
    Ok(())
}

#[tokio::test]
async fn a_huge_polling_interval_is_capped_and_does_not_panic() -> Result<()> {
    let fake = Fake::start(|req, origin| match req.path.as_str() {
        "/oauth/device_authorization" => {
            Reply::Json(200, authorization(origin, u64::MAX, u64::MAX))
        }
        _ => Reply::Json(400, json!({"error": "authorization_pending"})),
    })
    .await?;
    let client = Client::new()?;
    let mut child = client
        .command(&fake.origin, &["login", "--no-browser"])
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = String::new();
    tokio::time::timeout(RUN_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("Waiting for approval") {
                return anyhow::Ok(());
            }
        }
        anyhow::bail!("no waiting line:\n{printed}")
    })
    .await??;
    // Where the old client panicked (`Instant + 2^64 s`), this one waits its capped
    // interval: still running a moment later, and not polling yet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ensure!(child.try_wait()?.is_none(), "whack exited:\n{printed}");
    ensure!(
        !fake.paths().iter().any(|p| p == "POST /oauth/token"),
        "polled at once: {:?}",
        fake.paths()
    );
    interrupt(&child)?;
    let rest = finish(child, printed).await?;
    rest.expect(1, "Login cancelled")
}

#[tokio::test]
async fn a_sign_in_page_on_another_origin_is_refused_and_never_shown() -> Result<()> {
    let fake = Fake::start(|req, origin| match req.path.as_str() {
        "/oauth/device_authorization" => {
            let mut a = authorization(origin, 600, 1);
            a["verification_uri_complete"] =
                json!("https://evil.example/device?user_code=BCDF-GHJK");
            Reply::Json(200, a)
        }
        _ => Reply::Json(400, json!({"error": "authorization_pending"})),
    })
    .await?;
    let run = Client::new()?
        .run(&fake.origin, &["login", "--no-browser"])
        .await?;
    run.expect(1, "another origin (https://evil.example)")?;
    ensure!(
        !run.output.contains("evil.example/device") && !run.output.contains("Code:"),
        "the foreign page was shown:\n{}",
        run.output
    );
    ensure!(
        fake.paths() == ["POST /oauth/device_authorization"],
        "{:?}",
        fake.paths()
    );
    Ok(())
}

#[tokio::test]
async fn huge_bodies_are_refused_early_with_bounded_memory() -> Result<()> {
    for announce in [false, true] {
        let fake = Fake::start(move |_, _| Reply::Huge { announce }).await?;
        let client = Client::new()?;
        let child = client
            .command(&fake.origin, &["login", "--no-browser"])
            .spawn()?;
        let (run, peak_rss) = finish_measuring(child).await?;
        run.expect(1, &format!("larger than {BODY_CAP} bytes"))?;
        let written = fake.written.load(Ordering::Relaxed);
        println!(
            "FIGURE announce={announce}: server wrote {} KiB before the client hung up, \
             client peak RSS {} KiB, {} ms",
            written / 1024,
            peak_rss.unwrap_or(0) / 1024,
            run.elapsed.as_millis()
        );
        // Loopback socket buffers hold a few MiB; a client reading it all takes 64.
        ensure!(
            written < HUGE_BODY / 4,
            "the client read {written} bytes (announce={announce})"
        );
        if let Some(peak) = peak_rss {
            ensure!(
                peak < 48 * 1024 * 1024,
                "client peak RSS {peak} bytes (announce={announce})"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn plain_http_to_another_host_is_refused_before_any_traffic() -> Result<()> {
    let client = Client::new()?;
    // `.invalid` never resolves (RFC 6761); the refusal must come before even a lookup.
    for args in [
        &["login", "--no-browser"][..],
        &["status"][..],
        &["logout"][..],
        &[][..],
    ] {
        let run = client.run("http://example.invalid", args).await?;
        run.expect(2, "--allow-insecure-http")?;
        ensure!(
            run.output.contains("WHACK_ALLOW_INSECURE_HTTP") && run.output.contains("tokens"),
            "the refusal does not say why or how:\n{}",
            run.output
        );
        ensure!(
            run.elapsed < Duration::from_secs(5),
            "slow: {:?}",
            run.elapsed
        );
    }
    let mut cmd = client.command("http://example.invalid", &["status"]);
    cmd.env("WHACK_ALLOW_INSECURE_HTTP", "0");
    let output = tokio::time::timeout(RUN_TIMEOUT, cmd.output()).await??;
    Run::new(
        output.status,
        &output.stdout,
        &output.stderr,
        Duration::ZERO,
    )
    .expect(2, "--allow-insecure-http")?;
    Ok(())
}

/// SIGINT, as Ctrl-C would send.
fn interrupt(child: &Child) -> Result<()> {
    let pid = child.id().context("the client already exited")?;
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()?;
    ensure!(status.success(), "kill -INT failed");
    Ok(())
}

/// Waits for a spawned client, prefixing what was already read from its stdout.
async fn finish(child: Child, printed: String) -> Result<Run> {
    let started = Instant::now();
    let output = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
        .await
        .context("whack did not exit")??;
    let mut run = Run::new(
        output.status,
        &output.stdout,
        &output.stderr,
        started.elapsed(),
    );
    run.output = printed + &run.output;
    Ok(run)
}

/// Waits for a spawned client while sampling its peak RSS (`VmHWM`, Linux only).
async fn finish_measuring(mut child: Child) -> Result<(Run, Option<usize>)> {
    let started = Instant::now();
    let pid = child.id().context("no pid")?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    let mut stderr = child.stderr.take().context("no stderr")?;
    let pipes = tokio::spawn(async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        (out, err)
    });
    let mut peak = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(hwm) = peak_rss(pid) {
            peak = Some(peak.map_or(hwm, |p: usize| p.max(hwm)));
        }
        ensure!(started.elapsed() < RUN_TIMEOUT, "whack did not exit");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let (out, err) = pipes.await?;
    Ok((Run::new(status, &out, &err, started.elapsed()), peak))
}

/// The high-water mark of a process's resident memory, in bytes.
fn peak_rss(pid: u32) -> Option<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
