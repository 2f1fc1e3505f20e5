//! A real Secret Service for client tests: a private D-Bus session bus with an
//! unlocked gnome-keyring on it, per test, under the test's own HOME.

use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use whack_shared::Secret;

/// A private D-Bus session bus with an unlocked gnome-keyring on it. gnome-keyring
/// exits by itself when the bus goes away, which dropping this does.
pub struct KeyringBus {
    daemon: std::process::Child,
    address: String,
    home: PathBuf,
}

impl KeyringBus {
    /// Starts the bus and the keyring for a user whose HOME is `home`.
    pub fn start(home: &Path) -> Result<Self> {
        use std::io::{BufRead, Write};
        let runtime = home.join("run");
        let mut daemon = std::process::Command::new("dbus-daemon")
            .arg("--session")
            .arg("--nofork")
            .arg("--print-address=1")
            .arg(format!(
                "--address=unix:path={}",
                runtime.join("bus").display()
            ))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting dbus-daemon")?;
        let mut address = String::new();
        if let Some(out) = daemon.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut address)?;
        }
        let address = address.trim().to_string();
        let mut bus = Self {
            daemon,
            address,
            home: home.to_owned(),
        };
        ensure!(!bus.address.is_empty(), "dbus-daemon printed no address");
        // --daemonize returns once the keyring is unlocked and on the bus.
        let mut keyring = std::process::Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--daemonize"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting gnome-keyring-daemon")?;
        if let Some(mut stdin) = keyring.stdin.take() {
            stdin.write_all(b"test-keyring-password")?;
        }
        let status = keyring.wait()?;
        if !status.success() {
            bus.stop();
            bail!("gnome-keyring-daemon failed: {status}");
        }
        Ok(bus)
    }

    /// `DBUS_SESSION_BUS_ADDRESS` for processes that should use this keyring.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `secret-tool ARGS…` against this keyring, as its user.
    pub fn secret_tool(&self, args: &[&str]) -> Result<Output> {
        std::process::Command::new("secret-tool")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .context("running secret-tool")
    }

    /// The refresh token `whack` keeps here for `server` (service `whack`, the
    /// server's origin as user name), if any.
    pub fn refresh_token(&self, server: &str) -> Result<Option<Secret>> {
        let out = self.secret_tool(&["lookup", "service", "whack", "username", server])?;
        let token = String::from_utf8(out.stdout)?.trim().to_owned();
        Ok((!token.is_empty()).then(|| Secret::new(token)))
    }

    fn stop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

impl Drop for KeyringBus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether the programs a keyring test needs are installed (see `e2e_available`).
pub fn programs_installed() -> bool {
    ["dbus-daemon", "gnome-keyring-daemon", "secret-tool"]
        .iter()
        .all(|p| crate::have_program(p))
}
