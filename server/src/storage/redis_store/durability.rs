//! The start-up check that Redis keeps what it acknowledges: `appendonly yes`
//! with `appendfsync always` on every node that holds data.

use super::{RedisStartError, redact};
use redis::aio::ConnectionLike;

/// What the operator accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurabilityCheck {
    /// Refuse a Redis that could lose acknowledged writes.
    Required,
    /// Accept it with a warning (`--redis-allow-volatile`, for development).
    AllowVolatile,
}

impl DurabilityCheck {
    /// The check `--redis-allow-volatile` asks for.
    pub fn allowing_volatile(allow: bool) -> Self {
        if allow {
            Self::AllowVolatile
        } else {
            Self::Required
        }
    }

    /// Checks the node at `url`.
    pub(super) async fn check(self, url: &str) -> Result<(), RedisStartError> {
        let node = redact(url);
        let unreadable = |detail: String| RedisStartError::NotDurable {
            node: node.clone(),
            found: format!("its configuration cannot be read: {detail}"),
        };
        let settings = async {
            let mut conn = redis::Client::open(url)?
                .get_multiplexed_async_connection()
                .await?;
            let append: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg("appendonly")
                .query_async(&mut conn)
                .await?;
            let fsync: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg("appendfsync")
                .query_async(&mut conn)
                .await?;
            Ok::<_, redis::RedisError>((append.get(1).cloned(), fsync.get(1).cloned()))
        };
        let found = match settings.await {
            Ok((Some(append), Some(fsync))) if append == "yes" && fsync == "always" => {
                return Ok(());
            }
            Ok((append, fsync)) => format!(
                "appendonly {}, appendfsync {}",
                append.as_deref().unwrap_or("unknown"),
                fsync.as_deref().unwrap_or("unknown")
            ),
            Err(e) => match self {
                Self::Required => return Err(unreadable(e.to_string())),
                Self::AllowVolatile => e.to_string(),
            },
        };
        match self {
            Self::Required => Err(RedisStartError::NotDurable { node, found }),
            Self::AllowVolatile => {
                tracing::warn!(
                    node,
                    found,
                    "Redis is not durable: acknowledged writes can be lost in a crash (--redis-allow-volatile)"
                );
                Ok(())
            }
        }
    }
}

/// The URLs of a cluster's masters, as `seed` reaches them (same scheme and
/// credentials, each master's own address).
pub(super) async fn masters(
    conn: &mut impl ConnectionLike,
    seed: &str,
) -> Result<Vec<String>, redis::RedisError> {
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(conn).await?;
    let seed = url::Url::parse(seed).map_err(|e| {
        redis::RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "not a URL",
            e.to_string(),
        ))
    })?;
    let mut out = Vec::new();
    for line in nodes.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(addr), Some(flags)) = (fields.get(1), fields.get(2)) else {
            continue;
        };
        if !flags.split(',').any(|f| f == "master") || flags.contains("fail") {
            continue;
        }
        // `ip:port@bus-port[,hostname]`
        let addr = addr.split(['@', ',']).next().unwrap_or_default();
        let Some((host, port)) = addr.rsplit_once(':') else {
            continue;
        };
        let mut url = seed.clone();
        if url.set_host(Some(host)).is_err() {
            continue;
        }
        let Ok(port) = port.parse() else { continue };
        if url.set_port(Some(port)).is_err() {
            continue;
        }
        out.push(url.to_string());
    }
    Ok(out)
}
