//! The shared store for several nodes: every record in Redis (a single server or
//! a Redis Cluster), so any node reads what any other wrote. Same semantics as
//! the sled store, checked by the same contract suite:
//!
//! - **Acknowledged means durable.** The server refuses to start unless every
//!   Redis it talks to has `appendonly yes` and `appendfsync always` (each write
//!   is in the append-only file and fsynced before Redis answers), or the
//!   operator accepted a volatile Redis with `--redis-allow-volatile`.
//! - **Changes that race are compare-and-set**, each one Lua script on the keys
//!   of one hash tag, so it is one atomic step on one cluster slot ([`keys`]).
//!
//! Values are the same JSON the other stores keep; a version is the stored bytes.
//!
//! Why the `redis` crate: it is the client the Redis project itself maintains,
//! with tokio support, Redis Cluster (slot routing, `MOVED`/`ASK`,
//! reconnection), scripts by `EVALSHA` and streams, and no TLS or C dependency
//! unless asked for.

mod accounts;
mod counts;
mod devices;
mod durability;
mod feed;
mod keys;
mod rooms;
mod scripts;
mod sessions;
mod signing_keys;
mod stats;
#[cfg(any(test, feature = "test-support"))]
pub mod test_redis;

use super::{RevocationStore, Store, StoreError};
use crate::metrics::Histogram;
use async_trait::async_trait;
pub use durability::DurabilityCheck;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, RedisFuture, ScriptInvocation, Value};
use std::time::{Duration, Instant};

/// How long a command may take before it fails (a Redis that is down must not
/// hold requests for ever).
const TIMEOUT: Duration = Duration::from_secs(2);

/// Purge at most this many expired records of a kind per run, so one run stays short.
const PURGE_BATCH: usize = 10_000;

/// Round-trip buckets: loopback answers in ~0.1 ms, another machine in ~1 ms.
const RTT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25,
];

/// Why the server could not use the Redis it was given.
#[derive(Debug, thiserror::Error)]
pub enum RedisStartError {
    /// The URL is not a Redis URL, or Redis could not be reached.
    #[error("cannot connect to Redis at {url}: {detail}")]
    Connect {
        /// Where (without any password).
        url: String,
        /// Why.
        detail: String,
    },
    /// Redis would lose acknowledged writes in a crash.
    #[error(
        "Redis at {node} is not durable ({found}): set `appendonly yes` and `appendfsync always` in its configuration, or pass --redis-allow-volatile to accept losing writes (development only)"
    )]
    NotDurable {
        /// Which node.
        node: String,
        /// What it has now.
        found: String,
    },
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::Backend(format!("redis: {e}"))
    }
}

/// One connection to a single Redis or to a cluster; clones share it.
#[derive(Clone)]
enum Link {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::Single(c) => c.req_packed_command(cmd),
            Link::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Link::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Link::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::Single(c) => c.get_db(),
            Link::Cluster(c) => c.get_db(),
        }
    }
}

/// The Redis store.
#[derive(Clone)]
pub struct RedisStore {
    link: Link,
    /// The revocation feed's reader waits on this one alone.
    feed_reader: Link,
    round_trips: std::sync::Arc<Histogram>,
}

/// How long the feed reader's connection lets a blocked read last.
const FEED_TIMEOUT: Duration = Duration::from_secs(10);

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(not a URL)".into(),
    }
}

impl RedisStore {
    /// Connects to the Redis (or Redis Cluster: found by asking the node) at
    /// `url` and checks that it is durable, unless `durability` accepts a
    /// volatile one.
    pub async fn connect(url: &str, durability: DurabilityCheck) -> Result<Self, RedisStartError> {
        let failed = |e: redis::RedisError| RedisStartError::Connect {
            url: redact(url),
            detail: e.to_string(),
        };
        let client = redis::Client::open(url).map_err(failed)?;
        let single = |timeout| {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(timeout));
            client.get_connection_manager_with_config(config)
        };
        let mut first = single(TIMEOUT).await.map_err(failed)?;
        let info: String = redis::cmd("INFO")
            .arg("cluster")
            .query_async(&mut first)
            .await
            .map_err(failed)?;
        let (link, feed_reader) = if info.contains("cluster_enabled:1") {
            let masters = durability::masters(&mut first, url).await.map_err(failed)?;
            for node in &masters {
                durability.check(node).await?;
            }
            let cluster = |timeout| {
                redis::cluster::ClusterClient::builder([url])
                    .connection_timeout(TIMEOUT)
                    .response_timeout(timeout)
                    .build()
            };
            let link = cluster(TIMEOUT)
                .map_err(failed)?
                .get_async_connection()
                .await;
            let reader = cluster(FEED_TIMEOUT)
                .map_err(failed)?
                .get_async_connection()
                .await;
            (
                Link::Cluster(link.map_err(failed)?),
                Link::Cluster(reader.map_err(failed)?),
            )
        } else {
            durability.check(url).await?;
            let reader = single(FEED_TIMEOUT).await.map_err(failed)?;
            (Link::Single(first), Link::Single(reader))
        };
        Ok(Self {
            link,
            feed_reader,
            round_trips: std::sync::Arc::new(Histogram::new(RTT_BUCKETS)),
        })
    }

    /// Runs one command.
    async fn run<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.run_on(&self.link, cmd).await
    }

    /// Runs one command on `link`, timing the round trip.
    async fn run_on<T: FromRedisValue>(&self, link: &Link, cmd: &Cmd) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = cmd.query_async(&mut link.clone()).await;
        self.round_trips.observe(started.elapsed());
        Ok(result?)
    }

    /// Runs one script.
    async fn script<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = invocation.invoke_async(&mut self.link.clone()).await;
        self.round_trips.observe(started.elapsed());
        Ok(result?)
    }

    /// Whether the store holds no Whack key at all (a fresh target for `migrate`).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        match &self.link {
            Link::Single(_) => {
                // A page can come back empty before the scan is over.
                let mut cursor = 0u64;
                loop {
                    let (next, found): (u64, Vec<String>) = self
                        .run(
                            redis::cmd("SCAN")
                                .arg(cursor)
                                .arg("MATCH")
                                .arg(keys::pattern())
                                .arg("COUNT")
                                .arg(1_000),
                        )
                        .await?;
                    if !found.is_empty() {
                        return Ok(false);
                    }
                    if next == 0 {
                        return Ok(true);
                    }
                    cursor = next;
                }
            }
            // Scanning would mean every master: a cluster that served has a
            // signing key, and any login left an index behind.
            Link::Cluster(_) => {
                for key in [
                    keys::signing_key_id(),
                    keys::stats(),
                    keys::session_expiry(),
                    keys::device_expiry(),
                ] {
                    if self.run::<bool>(redis::cmd("EXISTS").arg(key)).await? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }
}

#[async_trait]
impl RevocationStore for RedisStore {
    async fn revoked_since(&self, since_ms: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, f64)> = self
            .run(
                redis::cmd("ZRANGE")
                    .arg(keys::revocations())
                    .arg(since_ms)
                    .arg("+inf")
                    .arg("BYSCORE")
                    .arg("WITHSCORES"),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(sid, at)| (sid, at.max(0.0) as u64))
            .collect())
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn purge(&self, now_ms: u64) -> Result<usize, StoreError> {
        let devices: usize = self
            .script(
                scripts::PURGE_DEVICES
                    .key(keys::device_expiry())
                    .arg(now_ms)
                    .arg(keys::device_prefix())
                    .arg(keys::user_code_prefix())
                    .arg(PURGE_BATCH),
            )
            .await?;
        Ok(devices + self.purge_sessions(now_ms).await?)
    }

    async fn close(&self) -> Result<(), StoreError> {
        // Redis fsyncs every write before answering: nothing is pending here.
        Ok(())
    }

    fn render_metrics(&self, out: &mut String) {
        self.round_trips.render(
            out,
            "whack_redis_seconds",
            "Redis round trips (one command or script) by duration.",
        );
    }
}
