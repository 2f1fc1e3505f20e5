//! Shared sliding windows on Redis: one sorted set of event times per key,
//! each under its own hash tag so the keys spread over a cluster, expiring
//! with the window.

use super::{RedisStore, keys, scripts};
use crate::storage::StoreError;
use crate::storage::shared_counts::{Counted, SharedCounts, Step};
use async_trait::async_trait;

#[async_trait]
impl SharedCounts for RedisStore {
    async fn count(
        &self,
        key: &str,
        step: Step,
        max: usize,
        window_ms: u64,
        now_ms: u64,
    ) -> Result<Counted, StoreError> {
        let step = match step {
            Step::Check => "check",
            Step::Record => "record",
            Step::Acquire => "acquire",
        };
        // Events of one ms are apart by a random member.
        let member = format!("{now_ms}-{:016x}", rand::random::<u64>());
        let (allowed, oldest): (i64, u64) = self
            .script(
                scripts::COUNT
                    .key(keys::count(key))
                    .arg(step)
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
        b.record_addr(addr, 3_000).await;
        assert_eq!(
            a.check_addr(addr, 4_000).await,
            Err(57),
            "full for every node"
        );
        assert_eq!(b.acquire_addr(addr, 4_000).await, Err(57));
        assert_eq!(a.check("someone-else", 4_000).await, Ok(()));
        assert_eq!(
            a.acquire_addr(addr, 61_000).await,
            Ok(()),
            "the first aged out"
        );

        redis.kill9();
        // Node a counted two of its own so far: its third is its last alone.
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
