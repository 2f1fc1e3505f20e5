//! Damaged data is refused, not served: a store with flipped or cut bytes, a lost
//! signing key, `whack-server check`, and the data dir's permissions — all on the
//! real binary with a real sled store that real logins filled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use whack_shared::oauth::TokenResponse;
use whack_tests::passkey::login_new_player;
use whack_tests::{TestServer, oauth};

/// Players each test logs in before damaging the store.
const PLAYERS: usize = 4;

/// A server whose store holds `PLAYERS` accounts and sessions, stopped with
/// SIGTERM (which flushes and seals), and the tokens it issued.
async fn stopped_server_with_players() -> anyhow::Result<(TestServer, Vec<TokenResponse>)> {
    let mut server = TestServer::start().await?;
    let mut tokens = Vec::new();
    for i in 0..PLAYERS {
        let (t, _) = login_new_player(&server.url(), &format!("Damaged{i}")).await?;
        tokens.push(t);
    }
    let status = server.terminate().await?;
    anyhow::ensure!(status.success(), "exit status {status}");
    Ok((server, tokens))
}

/// sled's log: the largest file of the database.
fn sled_log(data_dir: &Path) -> PathBuf {
    let mut files: Vec<_> = fs::read_dir(data_dir.join("db"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.metadata().unwrap().len(), e.path()))
        .collect();
    files.sort();
    let (len, path) = files.pop().expect("sled files");
    assert!(len > 4096, "{} is only {len} bytes", path.display());
    path
}

fn check(data_dir: &Path) -> Output {
    Command::new(whack_tests::bin_path("whack-server"))
        .arg("check")
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("WHACK_DATA_DIR")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a refused start: non-zero exit, the database named, and the fix.
async fn assert_refused(server: &mut TestServer, what: &str) -> anyhow::Result<String> {
    let refused = server.start_refused().await?;
    eprintln!("{what}: refused:\n{}", refused.stderr);
    let db = server.data_dir().join("db").display().to_string();
    assert!(
        !refused.status.success(),
        "{what}: exit status {}",
        refused.status
    );
    assert!(
        refused.stderr.contains(&db)
            && refused.stderr.contains("damaged")
            && refused.stderr.contains("restore"),
        "{what}: stderr does not name {db} and the fix:\n{}",
        refused.stderr
    );
    Ok(refused.stderr)
}

#[tokio::test]
async fn flipped_bytes_in_the_log_are_refused_not_served() -> anyhow::Result<()> {
    let (mut server, _) = stopped_server_with_players().await?;
    let log = sled_log(&server.data_dir());
    let mut bytes = fs::read(&log)?;
    // The middle of what sled wrote: past it the file may be zeros that sled
    // reserved, where flipped bytes would change no record.
    let used = bytes.iter().rposition(|b| *b != 0).unwrap_or(0);
    let middle = used / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b = !*b;
    }
    fs::write(&log, &bytes)?;
    let stderr = assert_refused(&mut server, "16 flipped bytes").await?;
    assert!(stderr.contains("whack-server check"), "{stderr}");
    // Refused again: the first refusal did not turn the loss into a healthy store.
    assert_refused(&mut server, "16 flipped bytes, second start").await?;
    let checked = check(&server.data_dir());
    assert!(!checked.status.success(), "check passed a damaged store");
    assert!(
        text(&checked.stderr).contains("damaged"),
        "{}",
        text(&checked.stderr)
    );
    Ok(())
}

#[tokio::test]
async fn a_truncated_log_is_refused_not_served() -> anyhow::Result<()> {
    let (mut server, _) = stopped_server_with_players().await?;
    let log = sled_log(&server.data_dir());
    let used = fs::read(&log)?.iter().rposition(|b| *b != 0).unwrap_or(0);
    fs::OpenOptions::new()
        .write(true)
        .open(&log)?
        .set_len(used as u64 / 2)?;
    assert_refused(&mut server, "log cut in half").await?;
    assert!(!check(&server.data_dir()).status.success());
    Ok(())
}

#[tokio::test]
async fn a_lost_signing_key_is_refused_until_a_new_one_is_accepted() -> anyhow::Result<()> {
    let (mut server, tokens) = stopped_server_with_players().await?;
    let key = server.data_dir().join("signing-key.p8");
    fs::remove_file(&key)?;
    let refused = server.start_refused().await?;
    assert!(!refused.status.success(), "{}", refused.status);
    assert!(
        refused.stderr.contains(&key.display().to_string())
            && refused.stderr.contains("--accept-new-signing-key")
            && refused.stderr.contains("refresh tokens still work"),
        "{}",
        refused.stderr
    );
    assert!(!key.exists(), "the refused start made a key anyway");
    let checked = check(&server.data_dir());
    assert!(
        !checked.status.success(),
        "check passed a store without its key"
    );

    server.restart_with(&["--accept-new-signing-key"]).await?;
    assert!(key.exists());
    let url = server.url();
    let http = reqwest::Client::new();
    let (status, _) = oauth::me(&http, &url, tokens[0].access_token.expose()).await?;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an access token signed with the lost key"
    );
    // The player is not logged out: the refresh token gets a token the new key signed.
    let fresh = oauth::refresh(&http, &url, &tokens[0].refresh_token)
        .await?
        .expect("refresh after a new key");
    let (status, body) = oauth::me(&http, &url, fresh.access_token.expose()).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    Ok(())
}

#[tokio::test]
async fn check_summarizes_a_healthy_store_and_refuses_a_running_one() -> anyhow::Result<()> {
    let (mut server, _) = stopped_server_with_players().await?;
    let data_dir = server.data_dir();
    let log = sled_log(&data_dir);
    let before = fs::read(&log)?;
    let checked = check(&data_dir);
    let stdout = text(&checked.stdout);
    assert!(
        checked.status.success(),
        "check failed on a healthy store: {}\n{stdout}",
        text(&checked.stderr)
    );
    let count = |tree: &str| -> Option<u64> {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(tree))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    };
    assert_eq!(count("players"), Some(PLAYERS as u64), "{stdout}");
    assert_eq!(count("sessions"), Some(PLAYERS as u64), "{stdout}");
    assert_eq!(count("credentials"), Some(PLAYERS as u64), "{stdout}");
    assert!(
        stdout.contains("healthy") && stdout.contains("kid"),
        "{stdout}"
    );
    // Opening the log lets sled zero-fill it to the end of its segment; every
    // byte that was there stays.
    let after = fs::read(&log)?;
    let first_change = before.iter().zip(&after).position(|(a, b)| a != b);
    assert!(
        after.len() >= before.len()
            && first_change.is_none()
            && after[before.len()..].iter().all(|b| *b == 0),
        "check changed the database: {} bytes before, {} after, first change at {first_change:?}",
        before.len(),
        after.len()
    );
    // It still serves, with everything there.
    server.restart().await?;
    assert!(server.logs().contains("store checked"));
    let running = check(&data_dir);
    assert!(!running.status.success(), "check ran beside a live server");
    assert!(
        text(&running.stderr).contains("in use"),
        "{}",
        text(&running.stderr)
    );
    Ok(())
}

fn modes(dir: &Path, out: &mut Vec<(PathBuf, bool, u32)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        out.push((
            entry.path(),
            meta.is_dir(),
            meta.permissions().mode() & 0o777,
        ));
        if meta.is_dir() {
            modes(&entry.path(), out);
        }
    }
}

#[tokio::test]
async fn the_data_dir_is_private() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    login_new_player(&server.url(), "Private").await?;
    let data_dir = server.data_dir();
    let check_modes = |when: &str| {
        let mode = fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{when}: data dir is {mode:o}");
        let mut entries = Vec::new();
        modes(&data_dir, &mut entries);
        assert!(entries.len() >= 4, "{entries:?}");
        for (path, is_dir, mode) in entries {
            let want = if is_dir { 0o700 } else { 0o600 };
            assert_eq!(mode, want, "{when}: {} is {mode:o}", path.display());
        }
    };
    check_modes("running");
    // An existing dir someone opened up is tightened at the next start.
    server.terminate().await?;
    fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o755))?;
    fs::set_permissions(data_dir.join("db.seal"), fs::Permissions::from_mode(0o644))?;
    server.restart().await?;
    check_modes("restarted");
    Ok(())
}

#[tokio::test]
async fn kill_9_right_after_acknowledged_writes_is_no_false_refusal() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let http = reqwest::Client::new();
    for round in 0..3 {
        // Killed at once, before the seal can catch up with these writes.
        let (tokens, _) = login_new_player(&server.url(), &format!("Killed{round}")).await?;
        server.kill9();
        server.restart().await?;
        let (status, body) = oauth::me(&http, &server.url(), tokens.access_token.expose()).await?;
        assert_eq!(status, StatusCode::OK, "round {round}: {body}");
    }
    Ok(())
}
