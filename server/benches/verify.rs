//! Access-token verifications per second on one core: the full check the server
//! runs on every authenticated request and WebSocket upgrade (header rules,
//! EdDSA signature, claims, revocation list).
//!
//! `cargo bench -p whack-server --bench verify`

use std::sync::Arc;
use std::time::{Duration, Instant};
use whack_server::auth::access_token::{AccessTokens, Subject};
use whack_server::auth::key_set::KeySet;
use whack_server::auth::keys::SigningKey;
use whack_server::auth::revocation::Revocations;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let revocations = Arc::new(Revocations::new());
    // A realistic revocation list: some sessions revoked in the last 15 minutes.
    for i in 0..1_000 {
        revocations.revoke(&format!("revoked-{i}"), 0);
    }
    let tokens = AccessTokens::new(
        KeySet::single(SigningKey::load_or_create(dir.path())?),
        "http://localhost:8080".into(),
        Duration::from_secs(900),
        revocations,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let subject = Subject {
        player_id: "p",
        name: "Bench",
        sid: "live-session",
        client_id: "whack-cli",
    };
    let token = tokens.issue(&subject, now)?;

    let mut rounds = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(500) {
            for _ in 0..100 {
                tokens.verify(token.expose())?;
            }
            n += 100;
        }
        rounds.push(n as f64 / start.elapsed().as_secs_f64());
    }
    rounds.sort_by(f64::total_cmp);
    let median = rounds[rounds.len() / 2];
    println!(
        "access-token verification, 1 thread: median {median:.0}/s over {} rounds (min {:.0}, max {:.0}); target ≥ 12,000/s per core",
        rounds.len(),
        rounds[0],
        rounds[rounds.len() - 1]
    );

    let start = Instant::now();
    let mut issued = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        tokens.issue(&subject, now)?;
        issued += 1;
    }
    println!(
        "access-token signing, 1 thread: {:.0}/s",
        issued as f64 / start.elapsed().as_secs_f64()
    );
    Ok(())
}
