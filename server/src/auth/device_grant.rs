//! The device authorization grant (RFC 8628): issuing codes, the player's decision,
//! and the polling rules (pending, slow_down, denied, expired, exchanged once).

use crate::auth::secrets;
use crate::storage::{DeviceGrantStore, DeviceRecord, DeviceStatus, StoreError};
use std::sync::Arc;
use whack_shared::Secret;
use whack_shared::oauth::{DEVICE_CODE_PREFIX, POLL_INTERVAL_SECS, SLOW_DOWN_STEP_SECS};
use whack_shared::user_code;

/// How much sooner than the interval a poll may come without `slow_down`: a
/// client that waits the interval after each answer still lands early when its
/// machine is busy, its timer is coarse or the answer was slow to arrive.
pub const POLL_JITTER_MS: u64 = 1_000;

/// A newly issued device authorization.
#[derive(Debug)]
pub struct Issued {
    /// The device's secret.
    pub device_code: Secret,
    /// Canonical user code (8 letters).
    pub user_code: String,
    /// The record as stored.
    pub record: DeviceRecord,
}

/// What a poll gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Poll {
    /// Approved: issue tokens for this player (the code is now used up).
    Approved {
        /// The player.
        player_id: String,
    },
    /// `authorization_pending`.
    Pending,
    /// `slow_down`: the interval grew to this many seconds.
    SlowDown(u64),
    /// `access_denied`.
    Denied,
    /// `expired_token`.
    Expired,
    /// `invalid_grant`: unknown, another client's, or already exchanged.
    Invalid,
}

/// Why a decision could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No pending request has that code.
    #[error("that code is unknown, expired or already used")]
    UnknownCode,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The device grant over the store. Every change of a request is a
/// compare-and-set, so two polls, or two tabs deciding, race safely even
/// across processes sharing the store.
pub struct DeviceGrant {
    store: Arc<dyn DeviceGrantStore>,
    ttl_ms: u64,
}

/// A uniformly random user code (the thread CSPRNG: codes are secrets).
pub fn random_user_code() -> String {
    user_code::draw(rand::random)
}

impl DeviceGrant {
    /// The grant with codes living `ttl_ms`.
    pub fn new(store: Arc<dyn DeviceGrantStore>, ttl_ms: u64) -> Self {
        Self { store, ttl_ms }
    }

    /// Issues a device code and a unique user code for `client_id`.
    pub async fn issue(
        &self,
        client_id: &str,
        client_addr: &str,
        now_ms: u64,
    ) -> Result<Issued, StoreError> {
        loop {
            let device_code = secrets::generate(DEVICE_CODE_PREFIX);
            let user_code = random_user_code();
            let record = DeviceRecord {
                user_code: user_code.clone(),
                client_id: client_id.to_owned(),
                client_addr: client_addr.to_owned(),
                created_at: now_ms,
                expires_at: now_ms + self.ttl_ms,
                interval_secs: POLL_INTERVAL_SECS,
                last_poll_at: None,
                status: DeviceStatus::Pending,
            };
            // A live code colliding is astronomically rare (20^8); just draw again.
            if self
                .store
                .insert_device(&secrets::hash(device_code.expose()), &record)
                .await?
            {
                return Ok(Issued {
                    device_code,
                    user_code,
                    record,
                });
            }
        }
    }

    /// An unexpired request by canonical user code, whatever its status: a code
    /// that was already decided is not a wrong guess.
    pub async fn live(
        &self,
        user_code: &str,
        now_ms: u64,
    ) -> Result<Option<(Vec<u8>, DeviceRecord)>, StoreError> {
        Ok(self
            .store
            .device_by_user_code(user_code)
            .await?
            .filter(|(_, d)| d.expires_at > now_ms))
    }

    /// Records the player's decision on a request that is still pending:
    /// exactly one decision wins a race, the others get
    /// [`DecideError::UnknownCode`].
    pub async fn decide(
        &self,
        device_hash: &[u8],
        approved_by: Option<&str>,
        now_ms: u64,
    ) -> Result<DeviceRecord, DecideError> {
        loop {
            let Some(stored) = self.store.device(device_hash).await? else {
                return Err(DecideError::UnknownCode);
            };
            let mut record = stored.record;
            if record.status != DeviceStatus::Pending || record.expires_at <= now_ms {
                return Err(DecideError::UnknownCode);
            }
            record.status = match approved_by {
                Some(player_id) => DeviceStatus::Approved {
                    player_id: player_id.to_owned(),
                },
                None => DeviceStatus::Denied,
            };
            if self
                .store
                .replace_device(device_hash, &stored.version, &record)
                .await?
            {
                return Ok(record);
            }
        }
    }

    /// One poll of the token endpoint with `device_code` by `client_id`.
    pub async fn poll(
        &self,
        device_code: &Secret,
        client_id: &str,
        now_ms: u64,
    ) -> Result<Poll, StoreError> {
        let hash = secrets::hash(device_code.expose());
        loop {
            let Some(stored) = self.store.device(&hash).await? else {
                return Ok(Poll::Invalid);
            };
            let (next, outcome) = poll_once(stored.record, client_id, now_ms);
            let Some(next) = next else {
                return Ok(outcome);
            };
            if self
                .store
                .replace_device(&hash, &stored.version, &next)
                .await?
            {
                return Ok(outcome);
            }
        }
    }
}

/// What one poll at `now_ms` answers, and the record to store (none when the
/// poll changes nothing).
fn poll_once(
    mut record: DeviceRecord,
    client_id: &str,
    now_ms: u64,
) -> (Option<DeviceRecord>, Poll) {
    if record.client_id != client_id || record.status == DeviceStatus::Exchanged {
        return (None, Poll::Invalid);
    }
    if record.expires_at <= now_ms {
        return (None, Poll::Expired);
    }
    let too_soon = record.last_poll_at.is_some_and(|last| {
        now_ms.saturating_sub(last) + POLL_JITTER_MS < record.interval_secs * 1000
    });
    record.last_poll_at = Some(now_ms);
    let outcome = if too_soon {
        record.interval_secs += SLOW_DOWN_STEP_SECS;
        Poll::SlowDown(record.interval_secs)
    } else {
        match &record.status {
            DeviceStatus::Pending => Poll::Pending,
            DeviceStatus::Denied => Poll::Denied,
            DeviceStatus::Approved { player_id } => {
                let approved = Poll::Approved {
                    player_id: player_id.clone(),
                };
                record.status = DeviceStatus::Exchanged;
                approved
            }
            DeviceStatus::Exchanged => Poll::Invalid,
        }
    };
    (Some(record), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> DeviceGrant {
        DeviceGrant::new(Arc::new(crate::storage::MemoryStore::new()), 600_000)
    }

    fn ok<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// A pending, unexpired request by canonical user code.
    async fn pending(
        grant: &DeviceGrant,
        user_code: &str,
        now_ms: u64,
    ) -> Option<(Vec<u8>, DeviceRecord)> {
        ok(grant.live(user_code, now_ms).await).filter(|(_, d)| d.status == DeviceStatus::Pending)
    }

    #[test]
    fn user_codes_use_the_alphabet_uniformly() {
        let mut counts = [0u32; 20];
        for _ in 0..2_000 {
            let code = random_user_code();
            assert_eq!(code.len(), 8);
            for b in code.bytes() {
                let i = user_code::ALPHABET
                    .iter()
                    .position(|a| *a == b)
                    .unwrap_or_else(|| panic!("{code}"));
                counts[i] += 1;
            }
        }
        // 16,000 letters, 800 expected each; a biased draw would skew some by far more.
        assert!(counts.iter().all(|c| (650..950).contains(c)), "{counts:?}");
    }

    #[tokio::test]
    async fn polling_walks_through_every_state() {
        let grant = grant();
        let issued = ok(grant.issue("cli", "127.0.0.1", 0).await);
        let code = &issued.device_code;
        assert_eq!(ok(grant.poll(code, "cli", 0).await), Poll::Pending);
        assert_eq!(ok(grant.poll(code, "cli", 1_000).await), Poll::SlowDown(10));
        assert_eq!(
            ok(grant.poll(code, "cli", 6_000).await),
            Poll::SlowDown(15),
            "5 s is now too soon"
        );
        assert_eq!(ok(grant.poll(code, "cli", 21_000).await), Poll::Pending);
        assert_eq!(ok(grant.poll(code, "other", 40_000).await), Poll::Invalid);
        let (hash, _) = pending(&grant, &issued.user_code, 40_000)
            .await
            .unwrap_or_else(|| panic!("pending"));
        ok(grant.decide(&hash, Some("p1"), 40_000).await);
        assert!(pending(&grant, &issued.user_code, 40_000).await.is_none());
        assert_eq!(
            ok(grant.poll(code, "cli", 60_000).await),
            Poll::Approved {
                player_id: "p1".into()
            }
        );
        assert_eq!(
            ok(grant.poll(code, "cli", 80_000).await),
            Poll::Invalid,
            "exchanged once"
        );
    }

    #[tokio::test]
    async fn denial_and_expiry() {
        let grant = grant();
        let issued = ok(grant.issue("cli", "127.0.0.1", 0).await);
        let (hash, _) = pending(&grant, &issued.user_code, 0)
            .await
            .unwrap_or_else(|| panic!("pending"));
        ok(grant.decide(&hash, None, 1).await);
        assert!(matches!(
            grant.decide(&hash, Some("p1"), 2).await,
            Err(DecideError::UnknownCode)
        ));
        assert_eq!(
            ok(grant.poll(&issued.device_code, "cli", 10_000).await),
            Poll::Denied
        );
        let later = ok(grant.issue("cli", "127.0.0.1", 0).await);
        assert_eq!(
            ok(grant.poll(&later.device_code, "cli", 600_000).await),
            Poll::Expired
        );
        assert_eq!(
            ok(grant.poll(&Secret::new("whd_unknown"), "cli", 0).await),
            Poll::Invalid
        );
    }

    #[tokio::test]
    async fn polls_a_little_early_are_jitter_and_polls_far_too_early_slow_down() {
        let grant = grant();
        let issued = ok(grant.issue("cli", "127.0.0.1", 0).await);
        let code = &issued.device_code;
        assert_eq!(ok(grant.poll(code, "cli", 0).await), Poll::Pending);
        assert_eq!(
            ok(grant.poll(code, "cli", 5_000 - POLL_JITTER_MS).await),
            Poll::Pending,
            "a second early is scheduling jitter"
        );
        assert_eq!(
            ok(grant
                .poll(code, "cli", 5_000 - POLL_JITTER_MS + 3_999)
                .await),
            Poll::SlowDown(10),
            "more than a second early is polling too fast"
        );
    }
}
