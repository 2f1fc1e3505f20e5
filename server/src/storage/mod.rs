//! Storage: one trait per concern, each implemented by the embedded sled store
//! ([`SledStore`], the default), by Redis for several nodes ([`RedisStore`])
//! and by an in-memory store ([`MemoryStore`], for unit tests). Services hold an [`Arc<dyn Store>`](Store); nothing above this
//! module sees sled.
//!
//! Two rules every implementation keeps, checked by one contract suite run
//! against each (`contract_tests`):
//! - **Acknowledged means durable.** A method that changes something returns
//!   only once the change would survive a crash, so a caller cannot answer
//!   before the write is safe (sled group-commits concurrent flushes).
//! - **Changes that race are compare-and-set.** A session or a device request
//!   changes only through [`SessionStore::rotate`] / [`DeviceGrantStore::replace_device`],
//!   which write only if the record is still the one the caller read (its
//!   [`Version`]). That holds however many processes share the store.

pub mod leaderboard;
pub mod memory;
pub mod migrate;
pub mod players_only;
pub mod records;
pub mod redis_store;
pub mod room_directory;
pub mod shared_counts;
pub mod sled_store;

#[cfg(test)]
pub(crate) mod contract_tests;

use async_trait::async_trait;
pub use memory::MemoryStore;
pub use records::{
    CredentialRecord, DeviceRecord, DeviceStatus, PlayerRecord, RecoveryCode, RecoveryRecord,
    RecoveryUse, RefreshChain, RefreshRecord, RefreshState, RotatedParent, SessionRecord,
    StoredKey,
};
pub use redis_store::RedisStore;
pub use room_directory::RoomDirectory;
pub use sled_store::SledStore;
use std::sync::Arc;
use whack_shared::api::{LeaderboardEntry, PlayerStats};
use whack_shared::protocol::RankingEntry;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, a lost connection).
    #[error("database error: {0}")]
    Backend(String),
    /// A stored record did not decode (corruption or an incompatible version).
    #[error("stored record in {what} is unreadable: {detail}")]
    Corrupt {
        /// Which kind of record.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// Encoding a record failed.
    #[error("could not encode a record: {0}")]
    Encode(String),
    /// The change was written but could not be made durable.
    #[error("could not flush the database to disk: {0}")]
    NotDurable(String),
}

/// The stored form of a record as it was read: a compare-and-set writes only if
/// the record still has this version. Opaque to callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(Vec<u8>);

impl Version {
    /// A version from the backend's own representation (its stored bytes, a counter).
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A record with the version it was read at.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The record.
    pub record: T,
    /// What a compare-and-set must find to replace it.
    pub version: Version,
}

impl<T: serde::de::DeserializeOwned> Versioned<T> {
    /// Decodes stored bytes of kind `what`; the bytes themselves are the version.
    pub(crate) fn decode(what: &'static str, bytes: &[u8]) -> Result<Self, StoreError> {
        Ok(Self {
            record: decode(what, bytes)?,
            version: Version::new(bytes.to_vec()),
        })
    }
}

/// Outcome of creating a player.
#[derive(Debug, PartialEq, Eq)]
pub enum CreatePlayer {
    /// Created.
    Created,
    /// Somebody has that name (case-insensitively).
    NameTaken,
    /// That credential is registered already.
    CredentialExists,
}

/// What a deleted account's name maps to until it is free again: no player
/// id looks like it (ids are UUIDs).
pub(crate) fn released_name(free_at: u64) -> String {
    format!("{RELEASED_PREFIX}{free_at}")
}

/// The prefix of [`released_name`].
pub(crate) const RELEASED_PREFIX: &str = "released:";

/// When a released name is free again, if `value` is one.
pub(crate) fn name_free_at(value: &str) -> Option<u64> {
    value.strip_prefix(RELEASED_PREFIX)?.parse().ok()
}

/// What [`AccountStore::remove_credential`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveCredential {
    /// Removed.
    Removed,
    /// Not a passkey of this player.
    Unknown,
    /// Kept: it is the player's last.
    Last,
}

/// Accounts and their passkeys.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// A player by id.
    async fn player(&self, id: &str) -> Result<Option<PlayerRecord>, StoreError>;
    /// Whether a display name is taken (case-insensitively).
    async fn name_taken(&self, name: &str) -> Result<bool, StoreError>;
    /// The id of the player with this display name (case-insensitively).
    async fn player_id_by_name(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// A player's recovery codes, with their version.
    async fn recovery_codes(
        &self,
        player_id: &str,
    ) -> Result<Option<Versioned<RecoveryRecord>>, StoreError>;
    /// Replaces the player's recovery codes if they are still at `expected`
    /// (`None`: there are none yet); false when another change came first.
    async fn replace_recovery_codes(
        &self,
        player_id: &str,
        expected: Option<&Version>,
        next: &RecoveryRecord,
    ) -> Result<bool, StoreError>;
    /// Creates a player with their first passkey, atomically: names and
    /// credential ids stay unique under concurrent sign-ups.
    async fn create_player(
        &self,
        player: &PlayerRecord,
        credential: &CredentialRecord,
    ) -> Result<CreatePlayer, StoreError>;
    /// Deletes an account: the player, their passkeys and recovery codes. Their
    /// name stays taken until `name_free_at` (Unix ms); the purge frees it then.
    async fn delete_account(&self, id: &str, name_free_at: u64) -> Result<(), StoreError>;
    /// Removes a player, their passkeys and recovery codes (a sign-up whose
    /// approval lost a race).
    async fn delete_player(&self, id: &str) -> Result<(), StoreError>;
    /// A passkey by credential id.
    async fn credential(&self, cred_id: &[u8]) -> Result<Option<CredentialRecord>, StoreError>;
    /// Replaces a stored passkey (its counter, flags, last use or name
    /// changed); one removed meanwhile stays removed.
    async fn put_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError>;
    /// Every passkey of a player, in no particular order.
    async fn credentials_of(&self, player_id: &str) -> Result<Vec<CredentialRecord>, StoreError>;
    /// Adds a passkey to an existing player; false (and nothing written) when
    /// its credential id is registered already.
    async fn add_credential(&self, credential: &CredentialRecord) -> Result<bool, StoreError>;
    /// Removes one of the player's passkeys, atomically refusing to remove
    /// their last one unless `allow_last`.
    async fn remove_credential(
        &self,
        player_id: &str,
        cred_id: &[u8],
        allow_last: bool,
    ) -> Result<RemoveCredential, StoreError>;
}

/// Login sessions and their refresh-token chains.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// A session by id, with its version.
    async fn session(&self, sid: &str) -> Result<Option<Versioned<SessionRecord>>, StoreError>;
    /// Stores a new session; false (and nothing written) if `sid` exists.
    async fn create_session(&self, sid: &str, session: &SessionRecord) -> Result<bool, StoreError>;
    /// Every stored session of a player (revoked and expired ones too, until
    /// the purge takes them), in no particular order.
    async fn sessions_of(
        &self,
        player_id: &str,
    ) -> Result<Vec<(String, SessionRecord)>, StoreError>;
    /// Replaces the session with `successor` if it is still at `parent`: the one
    /// atomic step behind rotation, retry bookkeeping and revocation. False when
    /// another change came first (read again and decide again).
    async fn rotate(
        &self,
        sid: &str,
        parent: &Version,
        successor: &SessionRecord,
    ) -> Result<bool, StoreError>;
    /// A refresh token issued before sessions kept their own chain, by the
    /// SHA-256 of its value.
    async fn legacy_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError>;
    /// Forgets such a token.
    async fn remove_legacy_token(&self, hash: &[u8]) -> Result<(), StoreError>;
}

/// Device authorization requests.
#[async_trait]
pub trait DeviceGrantStore: Send + Sync {
    /// Stores a new request under its device-code hash; false (and nothing
    /// written) when its user code is already in use.
    async fn insert_device(&self, hash: &[u8], device: &DeviceRecord) -> Result<bool, StoreError>;
    /// A request by device-code hash, with its version.
    async fn device(&self, hash: &[u8]) -> Result<Option<Versioned<DeviceRecord>>, StoreError>;
    /// A request by canonical user code, with its device-code hash.
    async fn device_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(Vec<u8>, DeviceRecord)>, StoreError>;
    /// Replaces a request if it is still at `expected`; false when another
    /// change came first.
    async fn replace_device(
        &self,
        hash: &[u8],
        expected: &Version,
        next: &DeviceRecord,
    ) -> Result<bool, StoreError>;
}

/// Per-player statistics and the leaderboard.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Adds one finished round to every ranked player's stats, atomically.
    async fn record_round(&self, ranking: &[RankingEntry]) -> Result<(), StoreError>;
    /// A player's stats (zeros if they never finished a round).
    async fn player_stats(&self, player_id: &str) -> Result<PlayerStats, StoreError>;
    /// The best `limit` players; equal best scores share a rank.
    async fn leaderboard(&self, limit: usize) -> Result<Vec<LeaderboardEntry>, StoreError>;
    /// Forgets a player's stats and takes them off the leaderboard.
    async fn remove_player_stats(&self, player_id: &str) -> Result<(), StoreError>;
}

/// Which sessions were revoked, to rebuild the in-memory revocation list.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Sessions revoked at or after `since_ms`, with when.
    async fn revoked_since(&self, since_ms: u64) -> Result<Vec<(String, u64)>, StoreError>;
}

/// The token-signing keys of a store that several nodes share (Redis); the
/// single-machine store keeps its one key in the data dir instead.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The signing key's id and every stored key (retired ones included).
    async fn signing_keys(&self) -> Result<(Option<String>, Vec<StoredKey>), StoreError>;
    /// Stores `key` as the signing key if there is none yet; returns the id of
    /// the signing key, this one or the one another node stored first.
    async fn first_signing_key(&self, key: &StoredKey) -> Result<String, StoreError>;
    /// Makes `key` the signing key; the previous one (stored again as
    /// `previous`, with its `retire_at`) stays published; keys retired before
    /// `now_ms` are deleted.
    async fn rotate_signing_key(
        &self,
        key: &StoredKey,
        previous: Option<&StoredKey>,
        now_ms: u64,
    ) -> Result<(), StoreError>;
}

/// One entry of a [`RevocationFeed`]: its id, the session, when it was revoked.
pub type FeedEntry = (String, String, u64);

/// The revocations of a store several nodes share, as an ordered feed every
/// node reads from the last entry it saw, so one that was cut off catches up.
#[async_trait]
pub trait RevocationFeed: Send + Sync {
    /// Appends that `sid` was revoked at `at_ms`.
    async fn publish_revocation(&self, sid: &str, at_ms: u64) -> Result<(), StoreError>;
    /// The id of the newest entry, where a new reader starts (`0-0` when empty).
    async fn feed_head(&self) -> Result<String, StoreError>;
    /// The entries after `after`, waiting up to `block` for the first; one
    /// reader per node (it holds a connection of its own while it waits).
    async fn read_feed(
        &self,
        after: &str,
        block: std::time::Duration,
    ) -> Result<Vec<FeedEntry>, StoreError>;
}

/// Every concern, plus the housekeeping a server runs.
#[async_trait]
pub trait Store:
    AccountStore + SessionStore + DeviceGrantStore + StatsStore + RevocationStore
{
    /// Deletes what can no longer matter at `now_ms` (expired device requests,
    /// legacy tokens and sessions). Returns how many records went.
    async fn purge(&self, now_ms: u64) -> Result<usize, StoreError>;
    /// Makes everything written so far durable and closes cleanly (at shutdown).
    async fn close(&self) -> Result<(), StoreError>;
    /// Appends backend-specific series (flush times) in Prometheus text format.
    fn render_metrics(&self, out: &mut String);
}

/// The store every service shares.
pub type SharedStore = Arc<dyn Store>;

/// Encodes a record the way every backend stores it.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Encode(e.to_string()))
}

/// Decodes a stored record of kind `what`.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    })
}
