//! Shared sliding windows on Redis: one sorted set of event times per key,
//! each under its own hash tag so the keys spread over a cluster, expiring
//! with the window.

use super::{RedisStore, keys, scripts};
use crate::storage::StoreError;
use crate::storage::shared_counts::{Counted, SharedCounts};
use async_trait::async_trait;

#[async_trait]
impl SharedCounts for RedisStore {
    async fn acquire(
        &self,
        key: &str,
        member: &str,
        max: usize,
        window_ms: u64,
        now_ms: u64,
    ) -> Result<Counted, StoreError> {
        let (allowed, oldest): (i64, u64) = self
            .script(
                scripts::ACQUIRE_COUNT
                    .key(keys::count(key))
                    .arg(max)
                    .arg(window_ms.max(1))
                    .arg(now_ms)
                    .arg(member),
            )
            .await?;
        Ok(match allowed {
            1 => Counted::Allowed,
            _ => Counted::Full { oldest_ms: oldest },
        })
    }

    async fn give_back(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .run(redis::cmd("ZREM").arg(keys::count(key)).arg(member))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::rate_limit::Quota;
    use crate::storage::redis_store::test_redis::TestRedis;
    use crate::storage::redis_store::{DurabilityCheck, RedisStore};
    use crate::storage::shared_counts::SharedCounts;
    use std::sync::Arc;

    type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

    /// Two nodes' quotas on one store are one quota; while the store is gone
    /// each node counts alone.
    async fn nodes_share_one_quota(mut redis: TestRedis) -> TestResult {
        let store = RedisStore::connect(&redis.url, DurabilityCheck::Required).await?;
        let counts: Arc<dyn SharedCounts> = Arc::new(store);
        let node = || Quota::new("test_guesses", 3, 60_000).shared(Arc::clone(&counts));
        let (a, b) = (node(), node());
        let addr = [10, 0, 0, 1].into();
        assert_eq!(a.acquire_addr(addr, 1_000).await, Ok(()));
        assert_eq!(b.acquire_addr(addr, 2_000).await, Ok(()));
        let taken = b
            .take_addr(addr, 3_000)
            .await
            .map_err(|secs| format!("full for {secs} s"))?;
        let full = a.acquire_addr(addr, 4_000).await;
        assert_eq!(full, Err(57), "full for every node");
        b.give_back(taken).await;
        let given_back = a.acquire_addr(addr, 4_000).await;
        assert_eq!(given_back, Ok(()), "given back on the other node");
        assert_eq!(b.acquire_addr(addr, 5_000).await, Err(56));
        assert_eq!(a.acquire("someone-else", 5_000).await, Ok(()));
        let aged = a.acquire_addr(addr, 61_000).await;
        assert_eq!(aged, Ok(()), "the first aged out");

        redis.kill9();
        // With Redis gone, node a counts on its own: three, then refused.
        assert_eq!(a.acquire("alone", 62_000).await, Ok(()));
        assert_eq!(a.acquire("alone", 62_001).await, Ok(()));
        assert_eq!(a.acquire("alone", 62_002).await, Ok(()));
        assert_eq!(a.acquire("alone", 62_003).await, Err(60));
        Ok(())
    }

    #[tokio::test]
    async fn nodes_share_one_quota_on_redis() -> TestResult {
        match TestRedis::single()? {
            Some(redis) => nodes_share_one_quota(redis).await,
            None => Ok(()),
        }
    }

    #[tokio::test]
    async fn nodes_share_one_quota_on_a_redis_cluster() -> TestResult {
        match TestRedis::cluster()? {
            Some(redis) => nodes_share_one_quota(redis).await,
            None => Ok(()),
        }
    }
}
