//! The Node reference server of `../shared/peers/` (the same game protocol on
//! Node's `ws`), run beside `whack-server` so a bench compares the two in one run.
//!
//! The peer's files are copied into `target/whack-peer/` and its one dependency
//! installed there with `npm`, so the team folder is never written to.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The peer's files: its server, its game and its package list.
const FILES: [&str; 3] = ["ws-server.js", "game.js", "package.json"];

/// A running Node peer; killed on drop.
pub struct Peer {
    child: Child,
    port: u16,
}

/// Where the peer's sources are: `WHACK_PEER_DIR`, or `../shared/peers` beside
/// the workspace.
fn source_dir() -> PathBuf {
    std::env::var_os("WHACK_PEER_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers"),
        PathBuf::from,
    )
}

/// Copies the peer into `target/whack-peer/` and installs `ws` there once.
fn prepare() -> anyhow::Result<PathBuf> {
    let source = source_dir();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/whack-peer");
    std::fs::create_dir_all(&dir)?;
    for file in FILES {
        std::fs::copy(source.join(file), dir.join(file)).map_err(|e| {
            anyhow::anyhow!(
                "cannot copy the Node peer's {file} from {} (set WHACK_PEER_DIR): {e}",
                source.display()
            )
        })?;
    }
    if !dir.join("node_modules/ws").is_dir() {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .map_err(|e| anyhow::anyhow!("cannot run npm for the Node peer: {e}"))?;
        anyhow::ensure!(status.success(), "npm install for the Node peer failed");
    }
    Ok(dir)
}

impl Peer {
    /// Starts the peer on a free loopback port. `jwk_x` is the Ed25519 public
    /// key it verifies access tokens with (as `whack-server` does); `spawn_ms`
    /// sets its mole rate (a mole every 0.8 × `spawn_ms` on average).
    pub fn start(jwk_x: &str, spawn_ms: f64) -> anyhow::Result<Self> {
        let dir = prepare()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new("node")
            .arg("ws-server.js")
            .arg(port.to_string())
            .env("PEER_JWK_X", jwk_x)
            .env("PEER_SPAWN_MS", format!("{spawn_ms:.0}"))
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start node for the peer: {e}"))?;
        let mut peer = Self { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = peer.child.try_wait()? {
                anyhow::bail!("the Node peer exited at start: {status}");
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "the Node peer did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(peer)
    }

    /// Its WebSocket URL (the peer upgrades on any path).
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/play", self.port)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
