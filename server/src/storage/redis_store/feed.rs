//! The revocation feed: a Redis stream under the `{feed}` tag, trimmed to about
//! [`FEED_LENGTH`] entries. Readers block on a connection of their own, so a
//! wait never holds up the commands of the shared one.

use super::{RedisStore, keys};
use crate::storage::{FeedEntry, RevocationFeed, StoreError};
use async_trait::async_trait;
use redis::Value;
use std::time::Duration;

/// Entries kept: a node cut off for longer than this many revocations takes
/// also rebuilds its list from the sessions themselves when it is back.
pub const FEED_LENGTH: usize = 100_000;

/// The fields of a stream entry's value list, as `(sid, at)`.
fn entry(fields: &[Value]) -> Option<(String, u64)> {
    let mut sid = None;
    let mut at = None;
    for pair in fields.chunks_exact(2) {
        let name: String = redis::from_redis_value_ref(&pair[0]).ok()?;
        match name.as_str() {
            "sid" => sid = redis::from_redis_value_ref(&pair[1]).ok(),
            "at" => at = redis::from_redis_value_ref(&pair[1]).ok(),
            _ => {}
        }
    }
    Some((sid?, at?))
}

#[async_trait]
impl RevocationFeed for RedisStore {
    async fn publish_revocation(&self, sid: &str, at_ms: u64) -> Result<(), StoreError> {
        let _: String = self
            .run(
                redis::cmd("XADD")
                    .arg(keys::revocation_feed())
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(FEED_LENGTH)
                    .arg("*")
                    .arg("sid")
                    .arg(sid)
                    .arg("at")
                    .arg(at_ms),
            )
            .await?;
        Ok(())
    }

    async fn feed_head(&self) -> Result<String, StoreError> {
        let newest: Vec<(String, Vec<Value>)> = self
            .run(
                redis::cmd("XREVRANGE")
                    .arg(keys::revocation_feed())
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1),
            )
            .await?;
        Ok(newest
            .into_iter()
            .next()
            .map_or_else(|| "0-0".to_owned(), |(id, _)| id))
    }

    async fn read_feed(&self, after: &str, block: Duration) -> Result<Vec<FeedEntry>, StoreError> {
        let block_ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX);
        // Nil when nothing came within `block`; else [[stream, [[id, fields]…]]].
        let answer: Option<Vec<(String, Vec<(String, Vec<Value>)>)>> = self
            .run_on(
                &self.feed_reader,
                redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(1_000)
                    .arg("BLOCK")
                    .arg(block_ms)
                    .arg("STREAMS")
                    .arg(keys::revocation_feed())
                    .arg(after),
            )
            .await?;
        Ok(answer
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .filter_map(|(id, fields)| entry(&fields).map(|(sid, at)| (id, sid, at)))
            .collect())
    }
}
