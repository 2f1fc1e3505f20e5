//! Device authorization requests and the index of their user codes.

use super::{SledStore, get, purge_where};
use crate::storage::{DeviceGrantStore, DeviceRecord, StoreError, Version, Versioned, encode};
use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

#[async_trait]
impl DeviceGrantStore for SledStore {
    async fn insert_device(&self, hash: &[u8], device: &DeviceRecord) -> Result<bool, StoreError> {
        let bytes = encode(device)?;
        let result = (&self.devices, &self.user_codes).transaction(|(devices, codes)| {
            if codes.get(device.user_code.as_bytes())?.is_some() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            codes.insert(device.user_code.as_bytes(), hash)?;
            devices.insert(hash, bytes.as_slice())?;
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(())) => return Ok(false),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        self.durable().await?;
        Ok(true)
    }

    async fn device(&self, hash: &[u8]) -> Result<Option<Versioned<DeviceRecord>>, StoreError> {
        self.devices
            .get(hash)?
            .map(|bytes| Versioned::decode("device_requests", &bytes))
            .transpose()
    }

    async fn device_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(Vec<u8>, DeviceRecord)>, StoreError> {
        let Some(hash) = self.user_codes.get(user_code.as_bytes())? else {
            return Ok(None);
        };
        Ok(get(&self.devices, "device_requests", &hash)?.map(|d| (hash.to_vec(), d)))
    }

    async fn replace_device(
        &self,
        hash: &[u8],
        expected: &Version,
        next: &DeviceRecord,
    ) -> Result<bool, StoreError> {
        let swapped = self
            .devices
            .compare_and_swap(hash, Some(expected.as_bytes()), Some(encode(next)?))?
            .is_ok();
        if swapped {
            self.durable().await?;
        }
        Ok(swapped)
    }
}

impl SledStore {
    pub(super) fn purge_devices(&self, now_ms: u64) -> Result<usize, StoreError> {
        purge_where(&self.devices, "device_requests", |d: &DeviceRecord| {
            let expired = d.expires_at < now_ms;
            if expired {
                self.user_codes.remove(d.user_code.as_bytes())?;
            }
            Ok(expired)
        })
    }
}
