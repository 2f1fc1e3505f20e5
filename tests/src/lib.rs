//! Harness for end-to-end tests: the real `whack-server` and `whack` binaries on
//! loopback, OAuth calls as any device client makes them, and a software passkey
//! that drives the browser page's WebAuthn endpoints.
#![forbid(unsafe_code)]

pub mod browser;
pub mod figures;
pub mod home;
pub mod jwt;
pub mod keyring;
pub mod machine;
pub mod oauth;
pub mod passkey;
pub mod peer;
pub mod scrape;
pub mod server;
pub mod ws;

pub use server::TestServer;

use std::path::PathBuf;

/// Whether end-to-end prerequisites must be present (set by `.ci/run`).
pub fn e2e_required() -> bool {
    std::env::var("WHACK_REQUIRE_E2E").is_ok_and(|v| v == "1")
}

/// Gate for a test needing `what` (a browser, a keyring daemon…): when `ok` is
/// false, prints one clear skip line and returns false — or panics when
/// `WHACK_REQUIRE_E2E=1`, so CI cannot silently skip.
pub fn e2e_available(what: &str, ok: bool) -> bool {
    if ok {
        return true;
    }
    assert!(
        !e2e_required(),
        "WHACK_REQUIRE_E2E=1 but {what} is not available"
    );
    eprintln!("SKIPPED: {what} is not available (install it, or see .ci/run)");
    false
}

/// Whether an executable is on PATH (or is an existing absolute path).
pub fn have_program(name: &str) -> bool {
    let candidate = PathBuf::from(name);
    if candidate.is_absolute() {
        return candidate.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// Path of a workspace binary (`whack-server`, `whack`), rebuilt when stale.
///
/// `cargo test --workspace` builds both before any test runs (their packages have
/// integration tests). Running this crate alone could find an old binary, so it is
/// rebuilt when a source it is built from is newer. (Always running `cargo build`
/// here would rebuild with a different feature set than the workspace's.)
pub fn bin_path(name: &str) -> PathBuf {
    static CHECKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    // The test executable lives in target/<profile>/deps/.
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("unexpected test binary location {}", exe.display()))
        .to_path_buf();
    let path = profile_dir.join(name);
    let mut checked = CHECKED.lock().unwrap_or_else(|p| p.into_inner());
    if checked.iter().any(|c| c == name) {
        return path;
    }
    let (package, sources): (&str, &[&str]) = match name {
        "whack" => (
            "whack-client",
            &[
                "client/src",
                "client/Cargo.toml",
                "shared/src",
                "Cargo.lock",
            ],
        ),
        "durable_echo" => (
            "whack-tests",
            &["tests/src/bin", "server/src", "Cargo.lock"],
        ),
        _ => (
            name,
            &[
                "server/src",
                "server/assets",
                "server/Cargo.toml",
                "shared/src",
                "Cargo.lock",
            ],
        ),
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built_at = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let stale = match built_at {
        None => true,
        Some(built) => sources
            .iter()
            .any(|s| newest_mtime(&root.join(s)).is_some_and(|m| m > built)),
    };
    if stale {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", package, "--bin", name]);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo build: {e}"));
        assert!(status.success(), "cargo build of {name} failed");
    }
    checked.push(name.to_owned());
    path
}

/// The `whack` binary client tests run: `WHACK_CLIENT_BIN` when set (so figures
/// can be taken with a release client), else this workspace's.
pub fn client_bin() -> PathBuf {
    std::env::var_os("WHACK_CLIENT_BIN").map_or_else(|| bin_path("whack"), PathBuf::from)
}

/// The newest modification time of a file, or of any file under a directory.
fn newest_mtime(path: &std::path::Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| newest_mtime(&entry.path()))
        .max()
}

/// Raises this process's open-files limit to its hard limit, for tests that
/// open thousands of sockets.
pub fn raise_open_files_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum.or(Some(1 << 20)),
        maximum: limit.maximum,
    };
    if let Err(e) = setrlimit(Resource::Nofile, raised) {
        eprintln!("cannot raise the open-files limit: {e}");
    }
}

/// A Redis a test started (`TestRedis::single()`, `::cluster()`), or `None`
/// (the test is skipped) without `redis-server`; `TestRedis` itself fails
/// instead when `WHACK_REQUIRE_E2E=1`.
pub fn redis(
    started: Result<
        Option<whack_server::storage::redis_store::test_redis::TestRedis>,
        Box<dyn std::error::Error + Send + Sync>,
    >,
) -> anyhow::Result<Option<whack_server::storage::redis_store::test_redis::TestRedis>> {
    started.map_err(|e| anyhow::anyhow!("cannot start Redis: {e}"))
}
