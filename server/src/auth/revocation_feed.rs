//! Revocations across nodes: each node appends the revocations it makes to the
//! shared store's feed and follows the feed from the last entry it saw, so a
//! logout or a reuse on any node closes the session's sockets and refuses its
//! access tokens on every node. A node that cannot read the feed says so
//! ([`FeedHealth`]) and refuses refreshes and new game sockets until it can.

use crate::auth::revocation::Revocations;
use crate::metrics::{Exposition, Histogram};
use crate::storage::{RevocationFeed, SharedStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long one read of the feed waits for an entry; a revocation reaches a
/// reading node as soon as it is appended.
const WAIT: Duration = Duration::from_secs(1);

/// Pause before reading again after a failure.
const RETRY: Duration = Duration::from_millis(250);

/// How long a revocation that could not be appended is retried.
const PUBLISH_FOR: Duration = Duration::from_secs(60);

/// Lag buckets: a revocation normally arrives within a few milliseconds.
const LAG_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];

/// Whether this node is following the feed, and how late revocations reach it.
pub struct FeedHealth {
    ok: AtomicBool,
    lag: Histogram,
}

impl FeedHealth {
    /// Healthy until the first read fails.
    pub fn new() -> Self {
        Self {
            ok: AtomicBool::new(true),
            lag: Histogram::new(LAG_BUCKETS),
        }
    }

    /// Whether the last read of the feed succeeded.
    pub fn ok(&self) -> bool {
        self.ok.load(Ordering::SeqCst)
    }

    fn set(&self, ok: bool) -> bool {
        self.ok.swap(ok, Ordering::SeqCst)
    }

    /// Appends the feed's series in Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        Exposition::new(out).gauge(
            "whack_revocation_feed_up",
            "1 while this node reads the shared revocation feed, else 0.",
            usize::from(self.ok()),
        );
        self.lag.render(
            out,
            "whack_revocation_feed_lag_seconds",
            "From a revocation on any node to this node applying it.",
        );
    }
}

impl Default for FeedHealth {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends a revocation to the feed, retrying in the background if the store
/// cannot take it now (the revocation itself is already durable in the
/// session; the feed only delivers it).
pub async fn publish(feed: &Arc<dyn RevocationFeed>, sid: &str, at_ms: u64) {
    if feed.publish_revocation(sid, at_ms).await.is_ok() {
        return;
    }
    let (feed, sid) = (Arc::clone(feed), sid.to_owned());
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + PUBLISH_FOR;
        loop {
            tokio::time::sleep(RETRY).await;
            match feed.publish_revocation(&sid, at_ms).await {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    tracing::error!(error = %e, sid, "a revocation never reached the other nodes' feed");
                    return;
                }
                Err(_) => {}
            }
        }
    });
}

/// Follows the feed from `after` for as long as the server runs, applying each
/// revocation to `revocations`. After a failure it also reapplies every
/// revocation of the last `window_ms` from the sessions themselves, so an
/// entry trimmed from the feed meanwhile is not missed either.
pub async fn follow(
    feed: Arc<dyn RevocationFeed>,
    store: SharedStore,
    revocations: Arc<Revocations>,
    health: Arc<FeedHealth>,
    mut after: String,
    window_ms: u64,
) {
    loop {
        match feed.read_feed(&after, WAIT).await {
            Ok(entries) => {
                if !health.ok() {
                    let since = crate::clock::now_ms().saturating_sub(window_ms);
                    match store.revoked_since(since).await {
                        Ok(revoked) => {
                            for (sid, at) in revoked {
                                revocations.revoke(&sid, at);
                            }
                            health.set(true);
                            tracing::info!("following the revocation feed again");
                        }
                        Err(_) => {
                            tokio::time::sleep(RETRY).await;
                            continue;
                        }
                    }
                }
                let now = crate::clock::now_ms();
                for (id, sid, at) in entries {
                    revocations.revoke(&sid, at);
                    health
                        .lag
                        .observe(Duration::from_millis(now.saturating_sub(at)));
                    after = id;
                }
            }
            Err(e) => {
                if health.set(false) {
                    tracing::error!(error = %e, "cannot read the revocation feed: refusing refreshes and new game sockets until it is back");
                }
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
