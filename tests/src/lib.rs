//! Harness for end-to-end tests: the real `whack-server` and `whack` binaries on
//! loopback, OAuth calls as any device client makes them, and a software passkey
//! that drives the browser page's WebAuthn endpoints.
#![forbid(unsafe_code)]

pub mod browser;
pub mod keyring;
pub mod oauth;
pub mod passkey;
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

/// Path of a workspace binary (`whack-server`, `whack`), built fresh.
///
/// Under cargo, the binary is (re)built once per test process, so running this
/// crate alone never tests a stale binary; `cargo test --workspace` has built it
/// already and this is a quick no-op.
pub fn bin_path(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    // The test executable lives in target/<profile>/deps/.
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("unexpected test binary location {}", exe.display()))
        .to_path_buf();
    let path = profile_dir.join(name);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    let cargo = std::env::var("CARGO").ok();
    if !built.iter().any(|b| b == name) && (cargo.is_some() || !path.is_file()) {
        let package = if name == "whack" {
            "whack-client"
        } else {
            name
        };
        let mut cmd = std::process::Command::new(cargo.as_deref().unwrap_or("cargo"));
        cmd.args(["build", "--quiet", "-p", package, "--bin", name]);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo build: {e}"));
        assert!(status.success(), "cargo build of {name} failed");
        built.push(name.to_owned());
    }
    path
}
