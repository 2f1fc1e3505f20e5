//! Device requests and their user codes, all under the `{devices}` tag, with an
//! expiry index for the purge.

use super::{RedisStore, keys, scripts};
use crate::storage::{DeviceGrantStore, DeviceRecord, StoreError, Version, Versioned, encode};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[async_trait]
impl DeviceGrantStore for RedisStore {
    async fn insert_device(&self, hash: &[u8], device: &DeviceRecord) -> Result<bool, StoreError> {
        let inserted: i64 = self
            .script(
                scripts::INSERT_DEVICE
                    .key(keys::user_code(&device.user_code))
                    .key(keys::device(hash))
                    .key(keys::device_expiry())
                    .arg(keys::hash_member(hash))
                    .arg(encode(device)?)
                    .arg(device.expires_at),
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn device(&self, hash: &[u8]) -> Result<Option<Versioned<DeviceRecord>>, StoreError> {
        let bytes: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(keys::device(hash))).await?;
        bytes
            .map(|b| Versioned::decode("device_requests", &b))
            .transpose()
    }

    async fn device_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(Vec<u8>, DeviceRecord)>, StoreError> {
        let member: Option<String> = self
            .run(redis::cmd("GET").arg(keys::user_code(user_code)))
            .await?;
        let Some(member) = member else {
            return Ok(None);
        };
        let hash = URL_SAFE_NO_PAD
            .decode(&member)
            .map_err(|e| StoreError::Corrupt {
                what: "user_codes",
                detail: e.to_string(),
            })?;
        Ok(self.device(&hash).await?.map(|d| (hash, d.record)))
    }

    async fn replace_device(
        &self,
        hash: &[u8],
        expected: &Version,
        next: &DeviceRecord,
    ) -> Result<bool, StoreError> {
        let replaced: i64 = self
            .script(
                scripts::COMPARE_AND_SET
                    .key(keys::device(hash))
                    .arg(expected.as_bytes())
                    .arg(encode(next)?),
            )
            .await?;
        Ok(replaced == 1)
    }
}
