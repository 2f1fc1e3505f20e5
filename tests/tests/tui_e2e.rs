//! The real `whack` TUI, twice, in tmux panes against the real server: both players
//! log in through the real keyring (gnome-keyring on a private D-Bus) and the page's
//! passkey API, meet in one room, play a short seeded round by typing board keys
//! at the moles they see, and both results screens must show the ranking the server
//! recorded. Prints figures as `FIGURE …` lines: key press to hit feedback on
//! screen (a figure only), idle CPU in the lobby (also bounded).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::{Context, Result, bail, ensure};
use std::process::Command;
use std::time::{Duration, Instant};
use whack_shared::api::Leaderboard;
use whack_shared::protocol::{ClientMsg, ServerMsg};
use whack_tests::home::Home;
use whack_tests::keyring::KeyringBus;
use whack_tests::{TestServer, passkey, ws};

const COLS: u16 = 100;
const ROWS: u16 = 30;

fn prerequisites() -> bool {
    let ok = ["tmux", "dbus-daemon", "gnome-keyring-daemon"]
        .iter()
        .all(|p| whack_tests::have_program(p));
    whack_tests::e2e_available(
        "tmux and a Secret Service (apt-get install tmux dbus dbus-x11 gnome-keyring)",
        ok,
    )
}

/// One tmux server for the test; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A tmux server of its own: tests run in parallel in one process.
    fn new(test: &str) -> Self {
        Self {
            socket: format!("whack-e2e-{}-{test}", std::process::id()),
        }
    }

    fn cmd(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()?;
        ensure!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn screen(&self, session: &str) -> Result<String> {
        self.cmd(&["capture-pane", "-p", "-t", session])
    }

    fn keys(&self, session: &str, keys: &[&str]) -> Result<()> {
        let mut args = vec!["send-keys", "-t", session];
        args.extend(keys);
        self.cmd(&args).map(drop)
    }

    fn text(&self, session: &str, text: &str) -> Result<()> {
        self.cmd(&["send-keys", "-t", session, "-l", text])
            .map(drop)
    }

    fn wait_for(&self, session: &str, what: &str, timeout: Duration) -> Result<String> {
        self.wait_until(session, timeout, |s| s.contains(what))
            .with_context(|| format!("{session}: waiting for {what:?}"))
    }

    fn wait_until(
        &self,
        session: &str,
        timeout: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let start = Instant::now();
        loop {
            let screen = self.screen(session)?;
            if ok(&screen) {
                return Ok(screen);
            }
            if start.elapsed() > timeout {
                bail!("timed out; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The `whack` process in a session's pane (a child of the wrapper script).
    fn whack_pid(&self, session: &str) -> Result<u32> {
        let pane: u32 = self
            .cmd(&["list-panes", "-t", session, "-F", "#{pane_pid}"])?
            .trim()
            .parse()?;
        let out = Command::new("pgrep")
            .args(["-P", &pane.to_string(), "-x", "whack"])
            .output()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .with_context(|| format!("no whack under pane {pane}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// A player: fresh HOME, own keyring, `whack` running in a tmux session.
struct Player {
    home: Home,
    bus: KeyringBus,
    session: String,
}

impl Player {
    fn start(tmux: &Tmux, session: &str, server: &str) -> Result<Self> {
        Self::start_with(tmux, session, server, &[])
    }

    /// `whack ARGS…` (e.g. `join CODE`) instead of plain `whack`.
    fn start_with(tmux: &Tmux, session: &str, server: &str, args: &[&str]) -> Result<Self> {
        let home = Home::new("whack-tui-")?;
        let bus = KeyringBus::start(home.path())?;
        let h = home.path().display();
        // Only what we set: no DISPLAY (no browser), the player's own bus and HOME.
        // A small shell script runs `whack` and records its exit status: tmux 3.3
        // sometimes never reaps an exited pane process, so "Pane is dead" cannot be
        // waited for reliably.
        let script = home.path().join("run.sh");
        std::fs::write(
            &script,
            format!(
                "'{bin}'{args} 2>'{h}/stderr.log'\necho $? > '{h}/exit-status'\n",
                bin = whack_tests::bin_path("whack").display(),
                args = args.iter().map(|a| format!(" '{a}'")).collect::<String>(),
            ),
        )?;
        let vars: String = home
            .vars()
            .iter()
            .map(|(name, value)| format!("{name}='{}' ", value.to_string_lossy()))
            .collect();
        let command = format!(
            "exec env -i {vars}TERM=xterm-256color DBUS_SESSION_BUS_ADDRESS='{bus}' \
             WHACK_SERVER='{server}' RUST_LOG=warn sh '{script}'",
            bus = bus.address(),
            script = script.display(),
        );
        tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            &COLS.to_string(),
            "-y",
            &ROWS.to_string(),
            &command,
        ])?;
        tmux.cmd(&["set-option", "-t", session, "remain-on-exit", "on"])?;
        Ok(Self {
            home,
            bus,
            session: session.to_owned(),
        })
    }

    /// Waits for `whack` to exit and returns its exit status.
    fn wait_exit(&self, timeout: Duration) -> Result<i32> {
        let path = self.home.path().join("exit-status");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(code) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return Ok(code);
            }
            ensure!(
                Instant::now() < deadline,
                "{}: whack did not exit",
                self.session
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for `whack` to exit 0 with the terminal given back: no alternate
    /// screen, no mouse capture.
    fn expect_clean_exit(&self, tmux: &Tmux, timeout: Duration) -> Result<()> {
        let code = self.wait_exit(timeout)?;
        let modes = tmux.cmd(&[
            "display",
            "-p",
            "-t",
            &self.session,
            "#{alternate_on} #{mouse_any_flag}",
        ])?;
        ensure!(
            modes.trim() == "0 0" && code == 0,
            "{}: terminal not restored (alternate, mouse): {modes}; exit status {code}",
            self.session
        );
        Ok(())
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.home.path().join("stderr.log")).unwrap_or_default()
    }
}

/// The `XXXX-XXXX` user code on a login screen.
fn user_code(screen: &str) -> Option<String> {
    screen
        .split_whitespace()
        .find(|w| {
            let b = w.as_bytes();
            b.len() == 9
                && b[4] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || c.is_ascii_uppercase())
        })
        .map(str::to_owned)
}

const LABELS: [&str; 9] = [
    "7 q", "8 w", "9 e", "4 a", "5 s", "6 d", "1 z", "2 x", "3 c",
];

/// Where each hole's box is on screen: (row, first column, width, height).
fn hole_boxes(screen: &[Vec<char>]) -> Option<[(usize, usize, usize, usize); 9]> {
    let find = |label: &str| {
        let pattern: Vec<char> = format!(" {label} ").chars().collect();
        screen.iter().enumerate().find_map(|(r, line)| {
            line.windows(pattern.len())
                .position(|w| w == pattern.as_slice())
                .map(|c| (r, c))
        })
    };
    let spots: Vec<(usize, usize)> = LABELS.iter().map(|l| find(l)).collect::<Option<_>>()?;
    let w = spots[1].1.checked_sub(spots[0].1)?;
    let h = spots[3].0.checked_sub(spots[0].0)?;
    let mut out = [(0, 0, 0, 0); 9];
    for (i, (r, c)) in spots.into_iter().enumerate() {
        out[i] = (r, c.saturating_sub(1), w, h);
    }
    Some(out)
}

fn cell_text(screen: &[Vec<char>], (r, c, w, h): (usize, usize, usize, usize)) -> String {
    (r + 1..r + h)
        .filter_map(|row| screen.get(row))
        .map(|line| line.iter().skip(c).take(w).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn grid(screen: &str) -> Vec<Vec<char>> {
    screen.lines().map(|l| l.chars().collect()).collect()
}

/// The moles worth whacking (not bombs) on a board screen.
fn good_moles(screen: &str) -> Vec<usize> {
    let g = grid(screen);
    let Some(boxes) = hole_boxes(&g) else {
        return vec![];
    };
    (0..9)
        .filter(|&i| {
            let t = cell_text(&g, boxes[i]);
            t.contains("MOLE +1") || t.contains("GOLD +3")
        })
        .collect()
}

fn feedback_shown(screen: &str, hole: usize) -> bool {
    let g = grid(screen);
    let Some(boxes) = hole_boxes(&g) else {
        return false;
    };
    let t = cell_text(&g, boxes[hole]);
    ["WHACK!", "GOLD!!", "too late", "miss", "got it"]
        .iter()
        .any(|w| t.contains(w))
}

/// The client's own "whack answered in N ms" figure from the side panel.
fn answered_in(screen: &str) -> Option<f64> {
    let rest = screen.split("whack answered in ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// A results row: (rank, name, score, hits, misses, bombs).
type Row = (u32, String, i64, u64, u64, u64);

fn results_rows(screen: &str, names: &[&str]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for line in screen.lines() {
        let line = line.replace(['║', '★'], " ");
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(rank) = words
            .first()
            .and_then(|w| w.strip_suffix('.'))
            .and_then(|w| w.parse().ok())
        else {
            continue;
        };
        let Some(name) = words.get(1).filter(|n| names.contains(n)) else {
            continue;
        };
        let nums: Vec<i64> = words
            .iter()
            .rev()
            .take(4)
            .filter_map(|w| w.parse().ok())
            .collect::<Vec<_>>();
        ensure!(nums.len() == 4, "unreadable results row {line:?}");
        rows.push((
            rank,
            (*name).to_owned(),
            nums[3],
            nums[2] as u64,
            nums[1] as u64,
            nums[0] as u64,
        ));
    }
    Ok(rows)
}

/// The most CPU the idle lobby may use, in percent of one core (see where it is checked).
const IDLE_CPU_BOUND_PERCENT: f64 = 5.0;

/// The kernel's clock ticks per second, the unit of `/proc/PID/stat` CPU times.
fn clock_ticks_per_second() -> Result<f64> {
    let out = Command::new("getconf").arg("CLK_TCK").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let hz: f64 = text
        .trim()
        .parse()
        .with_context(|| format!("getconf CLK_TCK said {text:?}"))?;
    ensure!(hz > 0.0, "getconf CLK_TCK said {hz}");
    Ok(hz)
}

/// User plus system CPU time of a process so far, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime), counted from after the command name.
    let field =
        |i: usize| -> Result<u64> { Ok(fields.get(i).context("short /proc stat")?.parse()?) };
    Ok(field(11)? + field(12)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_play_a_seeded_round_in_real_terminals() -> Result<()> {
    if !prerequisites() {
        return Ok(());
    }
    let server = TestServer::start_with(&["--allow-seeded-rooms"]).await?;
    let url = server.url();
    let tmux = Tmux::new("duel");
    let alice = Player::start(&tmux, "alice", &url)?;
    let bob = Player::start(&tmux, "bob", &url)?;
    let result = play(&tmux, &url, &alice, &bob).await;
    if let Err(e) = &result {
        for p in [&alice, &bob] {
            let screen = tmux.screen(&p.session).unwrap_or_default();
            eprintln!(
                "--- {} screen ---\n{screen}\n--- {} stderr ---\n{}",
                p.session,
                p.session,
                p.stderr()
            );
        }
        eprintln!("--- server log ---\n{}\n{e:#}", server.logs());
    }
    result
}

async fn play(tmux: &Tmux, url: &str, alice: &Player, bob: &Player) -> Result<()> {
    let long = Duration::from_secs(30);
    // Log both in through the real page API with fresh passkeys.
    for (p, name) in [(alice, "alice"), (bob, "bob")] {
        let screen = tmux.wait_until(&p.session, long, |s| user_code(s).is_some())?;
        let code = user_code(&screen).context("no code")?;
        ensure!(
            screen.contains("/device"),
            "the login screen shows the URL:\n{screen}"
        );
        passkey::approve_new_player(url, &code, name).await?;
    }
    for p in [alice, bob] {
        // The device poll interval is 5 s.
        tmux.wait_for(&p.session, "Public rooms", long)?;
        tmux.wait_for(&p.session, "online", long)?;
    }

    // Idle lobby CPU: a figure, and a bound. The client redraws only when
    // something changed, and measures 0.00-0.25 % of a core here; 5 % is twenty
    // times that, room for this machine's vCPUs running up to 6x slower at times,
    // while a busy loop (100 %) or a redraw on every tick breaks it.
    let pid = tmux.whack_pid(&alice.session)?;
    let (t0, c0) = (Instant::now(), cpu_ticks(pid)?);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (secs, ticks) = (t0.elapsed().as_secs_f64(), cpu_ticks(pid)? - c0);
    let percent = 100.0 * ticks as f64 / clock_ticks_per_second()? / secs;
    println!("FIGURE idle lobby CPU: {percent:.2}% of a core ({ticks} ticks in {secs:.1} s)");
    ensure!(
        percent < IDLE_CPU_BOUND_PERCENT,
        "the idle lobby used {percent:.2}% of a core (bound {IDLE_CPU_BOUND_PERCENT}%)"
    );

    // Alice creates a public 15 s room with seed 7.
    tmux.keys(&alice.session, &["c"])?;
    tmux.wait_for(&alice.session, "Create a room", long)?;
    tmux.text(&alice.session, "e2e")?;
    tmux.keys(&alice.session, &["Tab", "Tab"])?;
    for _ in 0..9 {
        tmux.keys(&alice.session, &["Left"])?;
    }
    tmux.keys(&alice.session, &["Tab"])?;
    tmux.text(&alice.session, "7")?;
    tmux.wait_for(&alice.session, "15 s", long)?;
    tmux.keys(&alice.session, &["Enter"])?;
    tmux.wait_for(&alice.session, "You are the host", long)?;

    // Bob sees it in the live list and joins.
    tmux.wait_for(&bob.session, "e2e", long)?;
    tmux.keys(&bob.session, &["Enter"])?;
    tmux.wait_for(&bob.session, "Waiting for alice", long)?;
    tmux.wait_for(&alice.session, "bob", long)?;

    // Alice starts; both race for moles with their own key layout.
    tmux.keys(&alice.session, &["Enter"])?;
    for p in [alice, bob] {
        tmux.wait_for(&p.session, "Get ready", long)?;
    }
    let numpad = ["7", "8", "9", "4", "5", "6", "1", "2", "3"];
    let letters = ["q", "w", "e", "a", "s", "d", "z", "x", "c"];
    let mut latencies = Vec::new();
    let mut answers = Vec::new();
    let mut last_press = [[Instant::now() - Duration::from_secs(1); 9]; 2];
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut done = [false; 2];
    while !(done[0] && done[1]) {
        ensure!(Instant::now() < deadline, "the round did not end");
        for (i, (p, keys)) in [(alice, &numpad), (bob, &letters)].into_iter().enumerate() {
            if done[i] {
                continue;
            }
            let screen = tmux.screen(&p.session)?;
            if screen.contains("Results") {
                done[i] = true;
                continue;
            }
            for hole in good_moles(&screen) {
                if last_press[i][hole].elapsed() < Duration::from_millis(400) {
                    continue;
                }
                last_press[i][hole] = Instant::now();
                let sent = Instant::now();
                tmux.keys(&p.session, &[keys[hole]])?;
                if i == 0 && latencies.len() < 20 {
                    // Key press to feedback on alice's screen (includes tmux overhead).
                    let shown = tmux.wait_until(&p.session, Duration::from_secs(2), |s| {
                        feedback_shown(s, hole) || s.contains("Results")
                    });
                    if let Ok(screen) = shown.as_ref()
                        && feedback_shown(screen, hole)
                    {
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                        if let Some(ms) = answered_in(screen) {
                            answers.push(ms);
                        }
                    }
                }
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    answers.sort_by(f64::total_cmp);
    let capture = {
        let start = Instant::now();
        for _ in 0..20 {
            tmux.screen(&alice.session)?;
        }
        start.elapsed().as_secs_f64() * 1000.0 / 20.0
    };
    if let Some(median) = answers.get(answers.len() / 2) {
        println!(
            "FIGURE key press to server answer inside the client (its own clock): median {median:.1} ms \
             over {} whacks; one tmux capture-pane takes {capture:.1} ms",
            answers.len()
        );
    }
    if let Some(median) = latencies.get(latencies.len() / 2) {
        println!(
            "FIGURE key press to hit feedback on screen (tmux, loopback): median {median:.1} ms, \
             min {:.1} ms over {} whacks (includes a tmux send-keys + capture-pane round trip)",
            latencies[0],
            latencies.len()
        );
    }

    // Both results screens show the same ranking, and it is what the server recorded.
    let names = ["alice", "bob"];
    let a = results_rows(&tmux.wait_for(&alice.session, "games 1", long)?, &names)?;
    let b = results_rows(&tmux.wait_for(&bob.session, "games 1", long)?, &names)?;
    ensure!(a.len() == 2, "alice's results list both players: {a:?}");
    ensure!(a == b, "both screens agree: {a:?} vs {b:?}");
    let board: Leaderboard = reqwest::get(format!("{url}/api/leaderboard"))
        .await?
        .json()
        .await?;
    for (rank, name, score, _hits, _misses, _bombs) in &a {
        let entry = board
            .entries
            .iter()
            .find(|e| &e.name == name)
            .with_context(|| format!("{name} on the leaderboard: {board:?}"))?;
        ensure!(entry.games == 1, "{name} played one game: {entry:?}");
        ensure!(
            entry.wins == u64::from(*rank == 1),
            "{name} rank {rank} vs wins {entry:?}"
        );
        ensure!(
            entry.best_score == *score,
            "{name} scored {score} but the server recorded best {}",
            entry.best_score
        );
    }
    println!("ranking: {a:?}");

    // Back to the lobby and quit cleanly; the terminal is given back.
    for p in [alice, bob] {
        tmux.keys(&p.session, &["Escape"])?;
        tmux.wait_for(&p.session, "Public rooms", long)?;
        tmux.keys(&p.session, &["C-c"])?;
        p.expect_clean_exit(tmux, long)?;
    }
    Ok(())
}

/// Access-token lifetime of the long session's server: short, so the session
/// outlives its first token within seconds (the client refreshes halfway through
/// a token this short, and re-authenticates its socket every 5 s).
const SHORT_TOKEN_SECS: u64 = 20;

/// One player through what a long session meets: the help, a terminal shrunk below
/// the minimum and back, an access token that expires mid-session (the client
/// must refresh it, store the rotated refresh token and `reauth` the same socket:
/// no reconnect), a server killed and restarted (reconnect with backoff; the room
/// is gone, so back to the lobby), and SIGTERM (the terminal is given back: no
/// alternate screen, no mouse capture).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_session_survives_resizes_token_expiry_and_a_server_restart() -> Result<()> {
    if !prerequisites() {
        return Ok(());
    }
    let ttl = SHORT_TOKEN_SECS.to_string();
    let mut server = TestServer::start_with(&["--access-token-ttl-secs", &ttl]).await?;
    let url = server.url();
    let tmux = Tmux::new("long");
    let carol = Player::start(&tmux, "carol", &url)?;
    let result = long_session(&tmux, &mut server, &carol).await;
    if let Err(e) = &result {
        let screen = tmux.screen(&carol.session).unwrap_or_default();
        eprintln!(
            "--- screen ---\n{screen}\n--- stderr ---\n{}",
            carol.stderr()
        );
        eprintln!("--- server log ---\n{}\n{e:#}", server.logs());
    }
    result
}

async fn long_session(tmux: &Tmux, server: &mut TestServer, carol: &Player) -> Result<()> {
    let long = Duration::from_secs(30);
    let s = &carol.session;
    let screen = tmux.wait_until(s, long, |s| user_code(s).is_some())?;
    passkey::approve_new_player(
        &server.url(),
        &user_code(&screen).context("no code")?,
        "carol",
    )
    .await?;
    tmux.wait_for(s, "online", long)?;
    // The first access token was issued before the client went online.
    let first_token_gone = Instant::now() + Duration::from_secs(SHORT_TOKEN_SECS + 2);
    let first_refresh_token = carol.bus.refresh_token(&server.url())?;
    ensure!(
        first_refresh_token.is_some(),
        "no refresh token in the keyring"
    );
    let refreshes = server.counter("whack_refreshes_total").await?;
    let connections = server.counter("whack_ws_connections_total").await?;

    tmux.keys(s, &["?"])?;
    tmux.wait_for(s, "whack the top row", long)?;
    tmux.keys(s, &["Escape"])?;
    tmux.wait_until(s, long, |t| !t.contains("whack the top row"))?;

    tmux.cmd(&["resize-window", "-t", s, "-x", "40", "-y", "12"])?;
    tmux.wait_for(s, "Terminal too small", long)?;
    tmux.cmd(&[
        "resize-window",
        "-t",
        s,
        "-x",
        &COLS.to_string(),
        "-y",
        &ROWS.to_string(),
    ])?;
    tmux.wait_for(s, "Public rooms", long)?;

    // Past the first access token's expiry: refreshed, the rotated refresh token
    // stored, and the same socket kept (re-authenticated, not reconnected).
    while Instant::now() < first_token_gone {
        let screen = tmux.screen(s)?;
        ensure!(
            !screen.to_lowercase().contains("reconnect"),
            "the token refresh showed a reconnect:\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tmux.wait_for(s, "online", long)?;
    let refreshed = server.counter("whack_refreshes_total").await? - refreshes;
    ensure!(
        refreshed > 0,
        "the session outlived its first access token without a refresh"
    );
    ensure!(
        carol.bus.refresh_token(&server.url())? != first_refresh_token,
        "{refreshed} refreshes, but the keyring still holds the first refresh token"
    );
    ensure!(
        server.counter("whack_ws_connections_total").await? == connections,
        "the client opened a new connection instead of re-authenticating its socket"
    );

    // In a room when the server dies and comes back.
    tmux.keys(s, &["c"])?;
    tmux.wait_for(s, "Create a room", long)?;
    tmux.keys(s, &["Enter"])?;
    tmux.wait_for(s, "You are the host", long)?;
    server.restart().await?;
    tmux.wait_for(s, "no longer exists", long)?;
    tmux.wait_for(s, "Public rooms", long)?;
    tmux.wait_for(s, "online", long)?;

    // SIGTERM: a clean exit that gives the terminal back.
    let pid = tmux.whack_pid(s)?;
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    carol.expect_clean_exit(tmux, long)
}

/// A newcomer's first hour, with real processes: quitting at the login screen
/// exits 1; `whack join CODE` lands straight in a friend's private room (after
/// logging in); a mistyped code is named in the lobby; and when the server is
/// stopped (SIGTERM, as Ctrl-C would) the player reads that the server is shutting
/// down and the room has ended, instead of a promise of a kept seat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whack_join_code_lands_in_the_room_and_a_shutdown_says_it_ended() -> Result<()> {
    if !prerequisites() {
        return Ok(());
    }
    let mut server = TestServer::start().await?;
    let tmux = Tmux::new("join");
    let result = first_hour(&tmux, &mut server).await;
    if let Err(e) = &result {
        for session in ["quitter", "dan", "erin"] {
            let screen = tmux.screen(session).unwrap_or_default();
            eprintln!("--- {session} screen ---\n{screen}");
        }
        eprintln!("--- server log ---\n{}\n{e:#}", server.logs());
    }
    result
}

async fn first_hour(tmux: &Tmux, server: &mut TestServer) -> Result<()> {
    let long = Duration::from_secs(30);
    let url = server.url();

    // Quitting before the login worked is a failure, like a cancelled `whack login`.
    let quitter = Player::start(tmux, "quitter", &url)?;
    tmux.wait_until("quitter", long, |s| user_code(s).is_some())?;
    tmux.keys("quitter", &["q"])?;
    let code = quitter.wait_exit(long)?;
    ensure!(code == 1, "quit at the login screen exited {code}");

    // A friend (a plain WebSocket client) opens a private room and passes on its code.
    let (tokens, _) = passkey::login_new_player(&url, "hank").await?;
    let mut hank = ws::connect(&server.ws_url(), tokens.access_token.expose()).await?;
    hank.send(&ClientMsg::CreateRoom {
        name: Some("hank's hole".into()),
        private: true,
        round_secs: None,
        seed: None,
    })
    .await?;
    let room = hank
        .wait_for(long, |m| matches!(m, ServerMsg::RoomState { .. }))
        .await?;
    let ServerMsg::RoomState { room } = room else {
        bail!("no room_state")
    };
    let room_code = room.code.context("the room has no code")?;

    let dan = Player::start_with(tmux, "dan", &url, &["join", &room_code.to_lowercase()])?;
    let erin = Player::start_with(tmux, "erin", &url, &["join", "BCDF-GHJX"])?;
    for (p, name) in [(&dan, "dan"), (&erin, "erin")] {
        let screen = tmux.wait_until(&p.session, long, |s| user_code(s).is_some())?;
        let code = user_code(&screen).context("no code")?;
        passkey::approve_new_player(&url, &code, name).await?;
    }
    let screen = tmux.wait_for(&dan.session, "hank's hole", long)?;
    for expected in ["Private room", &room_code, "hank", "dan (you)"] {
        ensure!(screen.contains(expected), "{expected:?} not on:\n{screen}");
    }
    let screen = tmux.wait_for(&erin.session, "No room has the code BCDF-GHJX", long)?;
    ensure!(
        screen.contains("Public rooms"),
        "erin is in the lobby:\n{screen}"
    );

    // The server is stopped while dan sits in the room.
    server.terminate().await?;
    let screen = tmux.wait_for(&dan.session, "has ended", long)?;
    ensure!(
        screen.contains("shutting down") && screen.contains("hank's hole"),
        "the shutdown notice names the room:\n{screen}"
    );
    ensure!(!screen.contains("kept for 30 s"), "{screen}");
    let screen = tmux.wait_for(&dan.session, "the server shut down", long)?;
    ensure!(
        screen.contains("Public rooms"),
        "back in the lobby:\n{screen}"
    );
    for p in [&dan, &erin] {
        tmux.keys(&p.session, &["C-c"])?;
        let code = p.wait_exit(long)?;
        ensure!(code == 0, "{}: exit {code} after playing", p.session);
    }
    Ok(())
}

/// Two nodes on one Redis: `whack --server A join CODE` for a room node B
/// plays lands in that room without the player doing anything (A answers with
/// a redirect, `whack` follows it to B with the seat ticket).
#[tokio::test]
async fn whack_follows_a_redirect_to_the_node_playing_the_room() -> Result<()> {
    if !prerequisites() {
        return Ok(());
    }
    let started = whack_server::storage::redis_store::test_redis::TestRedis::single();
    let Some(redis) = whack_tests::redis(started)? else {
        return Ok(());
    };
    let nodes = TestServer::nodes(&redis.url, 2, &[]).await?;
    let (a, b) = (&nodes[0], &nodes[1]);
    let tmux = Tmux::new("redirect");
    let long = Duration::from_secs(30);
    let result = async {
        let (tokens, _) = passkey::login_new_player(&a.url(), "ivy").await?;
        let mut ivy = ws::connect(&b.ws_url(), tokens.access_token.expose()).await?;
        ivy.send(&ClientMsg::CreateRoom {
            name: Some("ivy's hole".into()),
            private: true,
            round_secs: None,
            seed: None,
        })
        .await?;
        let ServerMsg::RoomState { room } = ivy
            .wait_for(long, |m| matches!(m, ServerMsg::RoomState { .. }))
            .await?
        else {
            bail!("no room_state")
        };
        let code = room.code.context("the room has no code")?;
        let jay = Player::start_with(&tmux, "jay", &a.url(), &["join", &code])?;
        let screen = tmux.wait_until(&jay.session, long, |s| user_code(s).is_some())?;
        let user = user_code(&screen).context("no code")?;
        passkey::approve_new_player(&a.url(), &user, "jay").await?;
        // The whole room, not its first line drawn.
        let expected = ["ivy's hole", "Private room", "ivy", "jay (you)"];
        tmux.wait_until(&jay.session, long, |s| {
            expected.iter().all(|e| s.contains(e))
        })?;
        // Seated on B, where the room is.
        ivy.wait_for(
            long,
            |m| matches!(m, ServerMsg::RoomState { room } if room.players.len() == 2),
        )
        .await?;
        tmux.keys(&jay.session, &["C-c"])?;
        let exit = jay.wait_exit(long)?;
        ensure!(exit == 0, "whack exited {exit}");
        Ok(())
    }
    .await;
    if let Err(e) = &result {
        eprintln!(
            "--- jay screen ---\n{}",
            tmux.screen("jay").unwrap_or_default()
        );
        eprintln!(
            "--- node A log ---\n{}\n--- node B log ---\n{}\n{e:#}",
            a.logs(),
            b.logs()
        );
    }
    result
}

/// A `whack` in a real terminal, signed in through the real `/device` page in
/// Chromium, is signed out from the account page: the server closes its game
/// socket (4001), its refresh is refused, and the terminal says its login ended.
#[tokio::test]
async fn ending_a_session_on_the_account_page_signs_out_the_running_whack() -> Result<()> {
    use fantoccini::Locator;
    use whack_tests::browser::{self, Browser};
    if !prerequisites()
        || !whack_tests::e2e_available(
            "Chromium and chromedriver (apt-get install chromium chromium-driver)",
            browser::available(),
        )
    {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let url = server.url();
    let tmux = Tmux::new("account");
    let dana = Player::start(&tmux, "dana", &url)?;
    let long = Duration::from_secs(30);
    let signed_out_after = Browser::start()
        .await?
        .run(async |browser: &Browser| {
            browser.add_virtual_authenticator().await?;
            let screen = tmux.wait_until(&dana.session, long, |s| user_code(s).is_some())?;
            let code = user_code(&screen).context("no code")?;
            browser
                .goto(&format!("{url}/device?user_code={code}"))
                .await?;
            browser.click("continue").await?;
            browser.type_into("display-name", "dana").await?;
            browser.click("register").await?;
            browser.click("approve").await?;
            let (state, text) = browser.wait_final_status().await?;
            ensure!(state == "approved", "{state}: {text}");
            tmux.wait_for(&dana.session, "online", long)?;

            browser.goto(&format!("{url}/account")).await?;
            browser.click("account-signin").await?;
            let terminal = "#session-list li:not([data-current='true']) button";
            let end = browser::eventually(async || {
                Ok(browser
                    .client()
                    .find(Locator::Css(terminal))
                    .await
                    .map_err(|_| "the terminal's session is not listed".to_owned()))
            })
            .await?;
            end.click().await?;
            let clicked = Instant::now();
            tmux.wait_for(&dana.session, "login has ended", Duration::from_secs(10))?;
            Ok(clicked.elapsed())
        })
        .await;
    if signed_out_after.is_err() {
        eprintln!(
            "--- dana screen ---\n{}\n--- stderr ---\n{}\n--- server log ---\n{}",
            tmux.screen(&dana.session).unwrap_or_default(),
            dana.stderr(),
            server.logs()
        );
    }
    let signed_out_after = signed_out_after?;
    println!(
        "FIGURE end on /account -> the running whack says its login ended: {:.0} ms",
        signed_out_after.as_secs_f64() * 1000.0
    );
    ensure!(
        dana.bus.refresh_token(&url)?.is_none(),
        "the ended login's token is still in the keyring"
    );
    Ok(())
}
