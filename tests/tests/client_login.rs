//! The real `whack` client binary logging in to the real server: the printed code is
//! approved with a soft passkey through the page's API, the refresh token lands in a
//! real Secret Service (gnome-keyring on a private D-Bus session bus started by the
//! test) or, with `--insecure-storage`, in a 0600 file, and never an access token on
//! disk. Also: no keyring means a fast, clear error before any code is requested;
//! two processes refreshing at once stay logged in; a revoked session logs out;
//! `whack sessions` lists the player's logins and ends them.
//!
//! Figures (not assertions) are printed as `FIGURE …` lines: run with `--nocapture`.

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use whack_shared::Secret;
use whack_shared::api::Sessions;
use whack_shared::device_page::Decision;
use whack_shared::oauth::ErrorCode;
use whack_tests::home::Home;
use whack_tests::keyring::KeyringBus;
use whack_tests::{TestServer, oauth, passkey, ws};

/// How long a login may take from start to exit once approved (poll interval 5 s).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(40);

fn keyring_available() -> bool {
    let ok = whack_tests::keyring::programs_installed();
    whack_tests::e2e_available(
        "a Secret Service (apt-get install dbus dbus-x11 gnome-keyring libsecret-tools)",
        ok,
    )
}

/// One user of the client: a fresh HOME, a server, and a keyring bus or none.
struct Player {
    home: Home,
    server: String,
    bus: Option<KeyringBus>,
}

impl Player {
    fn new(server: &str, with_keyring: bool) -> Result<Self> {
        let home = Home::new("whack-home-")?;
        let bus = if with_keyring {
            Some(KeyringBus::start(home.path())?)
        } else {
            None
        };
        Ok(Self {
            home,
            server: server.to_string(),
            bus,
        })
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// Only what we set: no DISPLAY (no browser), no inherited bus or WHACK_SERVER.
    fn env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .envs(self.home.vars())
            .env("WHACK_SERVER", &self.server)
            .kill_on_drop(true);
        if let Some(bus) = &self.bus {
            cmd.env("DBUS_SESSION_BUS_ADDRESS", bus.address());
        }
    }

    fn whack(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(whack_tests::client_bin());
        cmd.args(args);
        self.env(&mut cmd);
        cmd
    }

    async fn run(&self, args: &[&str]) -> Result<Run> {
        let started = Instant::now();
        let output = tokio::time::timeout(LOGIN_TIMEOUT, self.whack(args).output())
            .await
            .with_context(|| format!("whack {args:?} timed out"))??;
        Ok(Run::new(output, started.elapsed()))
    }

    /// `whack [extra] login --no-browser`; approves the printed code as a new player.
    async fn login(&self, extra: &[&str], name: &str) -> Result<Run> {
        self.login_answering(extra, Answer::Approve(name)).await
    }

    /// `whack [extra] login --no-browser`, answering the printed code with `answer`.
    async fn login_answering(&self, extra: &[&str], answer: Answer<'_>) -> Result<Run> {
        self.login_with(extra, &[], answer).await
    }

    /// `whack [extra] login --no-browser [after]`, answering the printed code with
    /// `answer`; records how long after the approval the client said it is logged in.
    async fn login_with(&self, extra: &[&str], after: &[&str], answer: Answer<'_>) -> Result<Run> {
        let mut args = extra.to_vec();
        args.extend(["login", "--no-browser"]);
        args.extend(after);
        let mut cmd = self.whack(&args);
        cmd.env("RUST_LOG", "whack=debug,whack_client=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut printed = String::new();
        let code = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await? {
                printed.push_str(&line);
                printed.push('\n');
                if let Some(code) = line.trim().strip_prefix("Code: ") {
                    return Ok(code.to_string());
                }
            }
            bail!("whack login printed no code")
        })
        .await;
        let code = match code {
            Ok(Ok(code)) => code,
            other => {
                let _ = child.kill().await;
                let out = child.wait_with_output().await?;
                bail!(
                    "{other:?}\nstdout:\n{printed}\nstderr:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        match answer {
            Answer::Approve(name) => {
                passkey::approve_new_player(&self.server, &code, name).await?;
            }
            Answer::Deny(name) => {
                let http = reqwest::Client::new();
                passkey::lookup(&http, &self.server, &code).await?;
                let mut key = passkey::SoftAuthenticator::new(&self.server)?;
                let signed_in = key.register(&http, &code, name).await?;
                let (status, body) = passkey::decide(
                    &http,
                    &self.server,
                    &code,
                    Decision::Deny,
                    Some(&signed_in.approval),
                )
                .await?;
                ensure!(status.is_success(), "deny: {status}: {body}");
            }
            Answer::SignIn(key) => {
                let http = reqwest::Client::new();
                let signed_in = key.sign_in(&http, &code).await?;
                let (status, body) = passkey::decide(
                    &http,
                    &self.server,
                    &code,
                    Decision::Approve,
                    Some(&signed_in.approval),
                )
                .await?;
                ensure!(status.is_success(), "approve: {status}: {body}");
            }
            Answer::Interrupt => {
                let pid = child.id().context("the client already exited")?;
                let status = std::process::Command::new("kill")
                    .args(["-INT", &pid.to_string()])
                    .status()?;
                ensure!(status.success(), "kill -INT failed");
            }
        }
        let answered = Instant::now();
        let mut approve_to_done = None;
        let rest = tokio::time::timeout(LOGIN_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if line.starts_with("Logged in to") {
                    approve_to_done.get_or_insert(answered.elapsed());
                }
                printed.push_str(&line);
                printed.push('\n');
            }
            anyhow::Ok(child.wait_with_output().await?)
        })
        .await
        .context("whack login did not finish after approval")??;
        let mut run = Run::new(rest, started.elapsed());
        run.stdout = printed + &run.stdout;
        run.approve_to_done = approve_to_done;
        Ok(run)
    }

    fn bus(&self) -> Result<&KeyringBus> {
        self.bus.as_ref().context("no keyring bus")
    }

    /// The refresh token the keyring holds for this server, if any.
    fn keyring_token(&self) -> Result<Option<Secret>> {
        self.bus()?.refresh_token(&self.server)
    }

    /// What `secret-tool search --all service whack` shows (attributes go to stderr).
    fn keyring_search(&self) -> Result<String> {
        let out = self
            .bus()?
            .secret_tool(&["search", "--all", "service", "whack"])?;
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    fn token_file(&self) -> PathBuf {
        let stem = self.server.replace("://", "_").replace([':', '/'], "_");
        self.home()
            .join(".config/whack")
            .join(format!("refresh-token-{stem}"))
    }
}

/// What the test does with the code `whack login` prints.
enum Answer<'a> {
    /// Create a player with this name and approve.
    Approve(&'a str),
    /// Create a player with this name and deny.
    Deny(&'a str),
    /// Sign in with this authenticator's passkey and approve.
    SignIn(&'a mut passkey::SoftAuthenticator),
    /// Press Ctrl-C in the client.
    Interrupt,
}

/// A finished client run.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// From the approval on the page to `Logged in to …` on stdout (logins only).
    approve_to_done: Option<Duration>,
}

impl Run {
    fn new(output: Output, elapsed: Duration) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
            approve_to_done: None,
        }
    }

    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    fn expect(&self, code: i32, text: &str) -> Result<()> {
        ensure!(
            self.code == Some(code) && self.all().contains(text),
            "expected exit {code} and {text:?}, got {:?}:\n{}",
            self.code,
            self.all()
        );
        Ok(())
    }

    /// A `name=value` number the client logged at debug level.
    fn logged_ms(&self, name: &str) -> Option<f64> {
        let key = format!("{name}=");
        let start = self.stderr.find(&key)? + key.len();
        let digits: String = self.stderr[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        digits.parse().ok()
    }
}

/// Files under `dir` holding something shaped like a JWT (`eyJ….eyJ`).
fn files_with_a_jwt(dir: &Path) -> Result<Vec<PathBuf>> {
    fn looks_like_jwt(bytes: &[u8]) -> bool {
        bytes.windows(3).enumerate().any(|(i, w)| {
            w == b"eyJ"
                && bytes[i..]
                    .iter()
                    .position(|&b| b == b'.')
                    .is_some_and(|dot| {
                        bytes[i..i + dot]
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                            && bytes[i + dot + 1..].starts_with(b"eyJ")
                    })
        })
    }
    let mut found = Vec::new();
    for path in files_under(dir)? {
        if looks_like_jwt(&std::fs::read(&path)?) {
            found.push(path);
        }
    }
    Ok(found)
}

fn files_containing(dir: &Path, needle: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in files_under(dir)? {
        let bytes = std::fs::read(&path)?;
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            found.push(path);
        }
    }
    Ok(found)
}

fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}

fn figure(what: &str, value: String) {
    println!("FIGURE {what}: {value}");
}

fn login_figure(run: &Run) {
    match (run.logged_ms("exchange_ms"), run.logged_ms("store_ms")) {
        (Some(exchange), Some(store)) => figure(
            "login-to-token after approval (poll interval excluded)",
            format!(
                "{:.1} ms (token request {exchange:.1} ms + storing {store:.1} ms)",
                exchange + store
            ),
        ),
        _ => figure("login-to-token", "not logged by the client".into()),
    }
}

#[tokio::test]
async fn keyring_login_status_logout() -> Result<()> {
    if !keyring_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let player = Player::new(&server.url(), true)?;

    let login = player.login(&[], "keyring_kim").await?;
    login.expect(0, "as keyring_kim")?;
    ensure!(
        login.stdout.contains("OS keyring (Secret Service)"),
        "{}",
        login.all()
    );
    login_figure(&login);

    let search = player.keyring_search()?;
    ensure!(
        search.contains("attribute.service = whack")
            && search.contains(&format!("attribute.username = {}", server.url()))
            && search.contains("secret = whr_"),
        "secret-tool search shows no refresh token:\n{search}"
    );
    let stored = player.keyring_token()?.context("no token in the keyring")?;
    ensure!(
        files_with_a_jwt(player.home())?.is_empty(),
        "a JWT is on disk"
    );
    ensure!(
        files_containing(player.home(), stored.expose())?.is_empty(),
        "the refresh token is on disk in plain text"
    );

    let status = player.run(&["status"]).await?;
    status.expect(0, "keyring_kim")?;
    for expected in [
        server.url().as_str(),
        "Token kept in: OS keyring (Secret Service)",
        "Access token:  expires",
    ] {
        ensure!(status.stdout.contains(expected), "{}", status.all());
    }
    ensure!(!status.all().contains("eyJ"), "status printed a token");
    let mut times = vec![status.elapsed];
    for _ in 0..4 {
        let again = player.run(&["status"]).await?;
        again.expect(0, "keyring_kim")?;
        times.push(again.elapsed);
    }
    times.sort();
    figure(
        "`whack status` wall time, keyring, each with one refresh + /api/me (5 runs)",
        format!(
            "min {:.0} ms, median {:.0} ms, max {:.0} ms",
            times[0].as_secs_f64() * 1000.0,
            times[2].as_secs_f64() * 1000.0,
            times[4].as_secs_f64() * 1000.0
        ),
    );
    ensure!(
        files_with_a_jwt(player.home())?.is_empty(),
        "a JWT is on disk"
    );

    // status rotated the refresh token; logout must revoke the current one.
    let current = player.keyring_token()?.context("token gone after status")?;
    ensure!(current != stored, "status did not rotate the refresh token");
    let logout = player.run(&["logout"]).await?;
    logout.expect(0, "session is revoked")?;
    ensure!(
        player.keyring_token()?.is_none(),
        "token still in the keyring"
    );
    ensure!(
        !player.keyring_search()?.contains("secret = whr_"),
        "secret-tool still finds a token"
    );
    let http = reqwest::Client::new();
    match oauth::refresh(&http, &server.url(), &current).await? {
        Err(refused) => ensure!(refused.code() == ErrorCode::InvalidGrant, "{refused:?}"),
        Ok(_) => bail!("the server still accepts the logged-out refresh token"),
    }
    player.run(&["status"]).await?.expect(1, "Not logged in")?;
    Ok(())
}

#[tokio::test]
async fn without_a_session_bus_login_fails_fast_before_asking_for_a_code() -> Result<()> {
    // A listener standing in for the server: it must never see a connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://localhost:{}", listener.local_addr()?.port());
    let player = Player::new(&url, false)?;
    let run = player.run(&["login", "--no-browser"]).await?;
    run.expect(1, "no OS keyring is reachable")?;
    for fix in ["--insecure-storage", "Secret Service"] {
        ensure!(
            run.stderr.contains(fix),
            "the error does not name {fix}: {}",
            run.all()
        );
    }
    ensure!(
        !run.stdout.contains("Code:"),
        "a code was shown: {}",
        run.all()
    );
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => bail!("the client contacted the server before checking the keyring: {other:?}"),
    }
    ensure!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}: not failing fast",
        run.elapsed
    );
    // status and logout say the same, rather than "not logged in".
    player
        .run(&["status"])
        .await?
        .expect(1, "--insecure-storage")?;
    Ok(())
}

#[tokio::test]
async fn insecure_storage_keeps_a_0600_file() -> Result<()> {
    let mut server = TestServer::start().await?;
    let player = Player::new(&server.url(), false)?;
    let login = player.login(&["--insecure-storage"], "file_fay").await?;
    login.expect(0, "as file_fay")?;
    ensure!(
        login.stderr.contains("warning"),
        "no warning: {}",
        login.all()
    );

    let file = player.token_file();
    let text = std::fs::read_to_string(&file).with_context(|| format!("{}", file.display()))?;
    ensure!(text.starts_with("whr_"), "unexpected token file content");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)?.permissions().mode() & 0o777;
        ensure!(mode == 0o600, "token file mode {mode:o}");
        let dir = file.parent().context("no parent")?;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        ensure!(mode & 0o077 == 0, "config dir mode {mode:o}");
    }
    ensure!(
        files_with_a_jwt(player.home())?.is_empty(),
        "a JWT is on disk"
    );

    // Later commands find the file without the flag, and say where the token is.
    let status = player.run(&["status"]).await?;
    status.expect(0, "file_fay")?;
    ensure!(status.stdout.contains("(insecure)"), "{}", status.all());
    figure(
        "`whack status` wall time, file storage (one refresh + /api/me)",
        format!("{:.0} ms", status.elapsed.as_secs_f64() * 1000.0),
    );
    // Offline, logout still forgets the token and says the server was not told.
    server.kill9();
    let logout = player.run(&["logout"]).await?;
    logout.expect(0, "could not be told")?;
    ensure!(!file.exists(), "logout left the token file");
    Ok(())
}

#[tokio::test]
async fn two_status_processes_refreshing_at_once_stay_logged_in() -> Result<()> {
    if !keyring_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let player = Player::new(&server.url(), true)?;
    player
        .login(&[], "twin_tam")
        .await?
        .expect(0, "as twin_tam")?;
    for round in 0..6 {
        // Neither process has an access token, so both refresh at the same moment.
        let (a, b) = tokio::join!(player.run(&["status"]), player.run(&["status"]));
        let (a, b) = (a?, b?);
        ensure!(
            a.code == Some(0) && b.code == Some(0),
            "round {round}:\n{}\n---\n{}",
            a.all(),
            b.all()
        );
    }
    player.run(&["status"]).await?.expect(0, "twin_tam")?;
    // Each process presented the token the other had just stored: no two presented
    // the same one (which the server would have to treat as a retry, or as theft).
    ensure!(server.counter("whack_refresh_reuse_detected_total").await? == 0);
    let retries = server.counter("whack_refresh_retries_total").await?;
    ensure!(
        retries == 0,
        "{retries} refreshes presented an already-rotated token"
    );
    ensure!(server.counter("whack_refreshes_total").await? == 13);
    Ok(())
}

#[tokio::test]
async fn a_revoked_session_reports_logged_out_and_clears_storage() -> Result<()> {
    if !keyring_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let player = Player::new(&server.url(), true)?;
    player
        .login(&[], "gone_gus")
        .await?
        .expect(0, "as gone_gus")?;
    let token = player.keyring_token()?.context("no token stored")?;
    let http = reqwest::Client::new();
    let status = oauth::revoke(&http, &server.url(), &token).await?;
    ensure!(status.is_success(), "revoke: {status}");

    let run = player.run(&["status"]).await?;
    run.expect(1, "Not logged in")?;
    ensure!(run.stdout.contains("removed"), "{}", run.all());
    ensure!(
        player.keyring_token()?.is_none(),
        "the revoked token is still stored"
    );
    player.run(&["status"]).await?.expect(1, "Not logged in")?;
    Ok(())
}

#[tokio::test]
async fn denied_and_cancelled_logins_exit_1_and_store_nothing() -> Result<()> {
    let server = TestServer::start().await?;
    let player = Player::new(&server.url(), false)?;
    let insecure = ["--insecure-storage"];

    let denied = player
        .login_answering(&insecure, Answer::Deny("no_nina"))
        .await?;
    denied.expect(1, "denied")?;
    ensure!(
        !player.token_file().exists(),
        "a denied login stored a token"
    );

    let cancelled = player.login_answering(&insecure, Answer::Interrupt).await?;
    cancelled.expect(1, "cancelled")?;
    ensure!(
        cancelled.elapsed < Duration::from_secs(10),
        "Ctrl-C did not stop the login promptly"
    );
    ensure!(
        !player.token_file().exists(),
        "a cancelled login stored a token"
    );
    player
        .run(&["--insecure-storage", "status"])
        .await?
        .expect(1, "Not logged in")?;
    Ok(())
}

/// The device poll interval our server announces.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_second_login_says_who_is_logged_in_and_replaces_it_only_when_asked() -> Result<()> {
    let server = TestServer::start().await?;
    let player = Player::new(&server.url(), false)?;
    let insecure = ["--insecure-storage"];
    let first = player.login(&insecure, "first_fred").await?;
    first.expect(0, "as first_fred")?;

    // No terminal to ask on: refused, naming who is logged in and how to switch.
    let again = player
        .run(&["--insecure-storage", "login", "--no-browser"])
        .await?;
    again.expect(1, "Already logged in to")?;
    for expected in ["as first_fred", "whack login --switch", "whack logout"] {
        ensure!(
            again.all().contains(expected),
            "{expected}: {}",
            again.all()
        );
    }
    ensure!(!again.stdout.contains("Code:"), "{}", again.all());
    let kept = std::fs::read_to_string(player.token_file())?;
    ensure!(kept.starts_with("whr_"), "the login is gone");
    player
        .run(&["--insecure-storage", "status"])
        .await?
        .expect(0, "first_fred")?;

    // --switch replaces it; the replaced session is revoked. Several logins in a
    // row: each continues within one poll interval plus a second of the approval.
    let mut waits = vec![first.approve_to_done.context("first login not timed")?];
    for name in ["second_sam", "third_tia", "fourth_flo", "fifth_fay"] {
        let before = std::fs::read_to_string(player.token_file())?;
        let run = player
            .login_with(&insecure, &["--switch"], Answer::Approve(name))
            .await?;
        run.expect(0, &format!("as {name}"))?;
        waits.push(run.approve_to_done.context("login not timed")?);
        let http = reqwest::Client::new();
        match oauth::refresh(&http, &server.url(), &Secret::new(before.trim())).await? {
            Err(refused) => ensure!(refused.code() == ErrorCode::InvalidGrant, "{refused:?}"),
            Ok(_) => bail!("the replaced login still refreshes"),
        }
    }
    let ms: Vec<String> = waits
        .iter()
        .map(|w| format!("{:.0}", w.as_secs_f64() * 1000.0))
        .collect();
    figure(
        "approve on the page to `Logged in` in the terminal, 5 logins (poll interval 5 s)",
        format!("{} ms", ms.join(", ")),
    );
    for wait in &waits {
        ensure!(
            *wait <= POLL_INTERVAL + Duration::from_secs(1),
            "a login took {wait:?} after the approval (> one interval + 1 s): {ms:?}"
        );
    }
    player
        .run(&["--insecure-storage", "status"])
        .await?
        .expect(0, "fifth_fay")?;
    Ok(())
}

/// `GET /api/sessions` with a bearer token.
async fn sessions_api(
    http: &reqwest::Client,
    url: &str,
    access_token: &Secret,
) -> Result<Sessions> {
    let response = http
        .get(format!("{url}/api/sessions"))
        .bearer_auth(access_token.expose())
        .send()
        .await?;
    ensure!(response.status().is_success(), "{}", response.status());
    Ok(response.json().await?)
}

/// Whether the server now refuses `refresh_token` as a dead login.
async fn refused(http: &reqwest::Client, url: &str, refresh_token: &Secret) -> Result<bool> {
    Ok(oauth::refresh(http, url, refresh_token)
        .await?
        .is_err_and(|r| r.code() == ErrorCode::InvalidGrant))
}

#[tokio::test]
async fn sessions_lists_the_logins_and_ends_one_or_all_others() -> Result<()> {
    if !keyring_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    // Another device of the same player, playing.
    let mut key = passkey::SoftAuthenticator::new(&url)?;
    let phone = passkey::login_with(&mut key, &url, Some("sessions_sam")).await?;
    let mut game = ws::connect(&ws::play_url(&url), phone.access_token.expose()).await?;
    let player = Player::new(&url, true)?;
    player
        .login_answering(&[], Answer::SignIn(&mut key))
        .await?
        .expect(0, "as sessions_sam")?;

    // The phone's own view names its id, and its game shows up within seconds.
    let mut phone_view = sessions_api(&http, &url, &phone.access_token).await?;
    for _ in 0..40 {
        if phone_view
            .sessions
            .iter()
            .any(|s| s.last_played_at.is_some())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        phone_view = sessions_api(&http, &url, &phone.access_token).await?;
    }
    let phone_session = phone_view
        .sessions
        .iter()
        .find(|s| s.current)
        .context("the phone's session is not marked current in its own list")?;
    ensure!(phone_session.last_played_at.is_some(), "{phone_view:?}");
    ensure!(
        phone_session.started_from.as_deref() == Some("127.0.0.1"),
        "{phone_view:?}"
    );
    let phone_id = phone_session.id.clone();

    let list = player.run(&["sessions"]).await?;
    list.expect(0, "in 2 places")?;
    let short = &phone_id[..8];
    let marked: Vec<_> = list
        .stdout
        .lines()
        .filter(|l| l.starts_with("* "))
        .collect();
    ensure!(
        marked.len() == 1 && marked[0].contains("(this terminal)") && !marked[0].contains(short),
        "exactly this terminal is marked:\n{}",
        list.all()
    );
    ensure!(
        list.stdout.contains(&format!("  {short}  "))
            && list.stdout.contains("from 127.0.0.1")
            && list
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with("last game") && l.ends_with("ago")),
        "the phone's session, its address and its game:\n{}",
        list.all()
    );

    // Someone else cannot end it.
    let (other, _) = passkey::login_new_player(&url, "other_olga").await?;
    let status = http
        .delete(format!("{url}/api/sessions/{phone_id}"))
        .bearer_auth(other.access_token.expose())
        .send()
        .await?
        .status();
    ensure!(status == reqwest::StatusCode::NOT_FOUND, "{status}");

    player
        .run(&["sessions", "revoke", "zzzz"])
        .await?
        .expect(1, "no live session starts with `zzzz`")?;
    let own = marked[0]
        .trim_start_matches("* ")
        .get(..8)
        .context("short id")?;
    player
        .run(&["sessions", "revoke", own])
        .await?
        .expect(1, "whack logout")?;

    player
        .run(&["sessions", "revoke", short])
        .await?
        .expect(0, &format!("Ended session {short}"))?;
    let code = game.expect_close(Duration::from_secs(1)).await?;
    ensure!(
        code == 4001,
        "the phone's game closed with {code}, not 4001"
    );
    ensure!(
        refused(&http, &url, &phone.refresh_token).await?,
        "the ended session still refreshes"
    );
    let (status, _) = oauth::me(&http, &url, phone.access_token.expose()).await?;
    ensure!(status == reqwest::StatusCode::UNAUTHORIZED, "{status}");

    // A laptop logs in too; --others ends it and only it.
    let laptop = passkey::login_with(&mut key, &url, None).await?;
    player
        .run(&["sessions", "revoke", "--others"])
        .await?
        .expect(0, "Ended 1 other session;")?;
    ensure!(
        refused(&http, &url, &laptop.refresh_token).await?,
        "--others left the laptop signed in"
    );
    player.run(&["status"]).await?.expect(0, "sessions_sam")?;
    player.run(&["sessions"]).await?.expect(0, "in 1 place:")?;
    Ok(())
}
