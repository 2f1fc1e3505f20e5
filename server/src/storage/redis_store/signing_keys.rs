//! The token-signing keys every node shares, under the `{keys}` tag.

use super::{RedisStore, keys, scripts};
use crate::storage::{KeyStore, StoreError, StoredKey, decode, encode};
use async_trait::async_trait;
use std::collections::HashMap;

#[async_trait]
impl KeyStore for RedisStore {
    async fn signing_keys(&self) -> Result<(Option<String>, Vec<StoredKey>), StoreError> {
        let current: Option<String> = self
            .run(redis::cmd("GET").arg(keys::signing_key_id()))
            .await?;
        let all: HashMap<String, Vec<u8>> = self
            .run(redis::cmd("HGETALL").arg(keys::signing_keys()))
            .await?;
        let stored = all
            .values()
            .map(|bytes| decode("signing_keys", bytes))
            .collect::<Result<_, _>>()?;
        Ok((current, stored))
    }

    async fn first_signing_key(&self, key: &StoredKey) -> Result<String, StoreError> {
        self.script(
            scripts::FIRST_SIGNING_KEY
                .key(keys::signing_keys())
                .key(keys::signing_key_id())
                .arg(&key.kid)
                .arg(encode(key)?),
        )
        .await
    }

    async fn rotate_signing_key(
        &self,
        key: &StoredKey,
        previous: Option<&StoredKey>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let (_, stored) = self.signing_keys().await?;
        let mut invocation = scripts::ROTATE_SIGNING_KEY.key(keys::signing_keys());
        invocation
            .key(keys::signing_key_id())
            .arg(&key.kid)
            .arg(encode(key)?);
        match previous {
            Some(previous) => invocation.arg(&previous.kid).arg(encode(previous)?),
            None => invocation.arg("").arg(""),
        };
        for retired in stored
            .iter()
            .filter(|k| k.retire_at.is_some_and(|at| at < now_ms))
        {
            invocation.arg(&retired.kid);
        }
        let _: i64 = self.script(&invocation).await?;
        Ok(())
    }
}
