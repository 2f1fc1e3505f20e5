//! The embedded store: one sled tree per kind of record, JSON values. Every
//! change is flushed before its method returns, through one group commit
//! ([`Durability`]) that concurrent writers share.

mod accounts;
mod devices;
pub mod group_commit;
pub mod seal;
mod sessions;
pub(crate) mod stats;

use super::{
    CredentialRecord, RevocationStore, SessionRecord, StatsStore, Store, StoreError, decode,
};
use crate::storage::sled_store::seal::WriteSeal;
use async_trait::async_trait;
use group_commit::Durability;
use serde::de::DeserializeOwned;
use stats::Stats;
use std::path::Path;
use std::sync::Arc;
use whack_shared::api::{LeaderboardEntry, PlayerStats};
use whack_shared::protocol::RankingEntry;

/// How often sled's own thread writes buffers out and cleans log segments.
const SLED_HOUSEKEEPING_MS: u64 = 1_000;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<group_commit::FlushError> for StoreError {
    fn from(e: group_commit::FlushError) -> Self {
        StoreError::NotDurable(e.to_string())
    }
}

/// Opens (or creates) the sled database at `path` with the server's settings.
pub fn open_db(path: &Path) -> Result<sled::Db, sled::Error> {
    // sled's background thread is the only place sled 0.34 cleans log segments
    // (`attempt_gc`), so without it the file never shrinks. Every acknowledged
    // write is flushed by `Durability` already; the thread only has to reclaim
    // space, so it runs at 1 s rather than the default 500 ms (open-loop p90/p99
    // at 5,000 rotations/s measured the same as with no thread at all).
    sled::Config::new()
        .path(path)
        .flush_every_ms(Some(SLED_HOUSEKEEPING_MS))
        .open()
}

/// The sled database and its trees.
#[derive(Clone)]
pub struct SledStore {
    players: sled::Tree,
    player_names: sled::Tree,
    credentials: sled::Tree,
    recovery_codes: sled::Tree,
    sessions: sled::Tree,
    /// Index: `player_id \0 sid` → nothing, for a player's sessions.
    player_sessions: sled::Tree,
    /// Index: `player_id \0 credential id` → nothing, for a player's passkeys.
    player_credentials: sled::Tree,
    /// Held while removing a passkey, so two removals cannot both pass the
    /// "not the last one" check (sled transactions cannot count a prefix).
    credential_removal: Arc<std::sync::Mutex<()>>,
    refresh: sled::Tree,
    devices: sled::Tree,
    user_codes: sled::Tree,
    stats: Stats,
    durability: Durability,
}

impl SledStore {
    /// A store over an open database whose flushes also advance `seal` (the
    /// data dir's write seal: see [`crate::storage::sled_store::seal`]).
    pub fn sealed(db: sled::Db, seal: WriteSeal) -> Result<Self, StoreError> {
        let durability = Durability::start_sealed(db.clone(), seal);
        Self::with(db, durability)
    }

    /// A store over an open database, without a seal (tests and tools). Must
    /// run inside a tokio runtime: the flusher is a task.
    pub fn unsealed(db: sled::Db) -> Result<Self, StoreError> {
        let durability = Durability::start(db.clone());
        Self::with(db, durability)
    }

    /// Opens (or creates) the database at `path`, without a seal.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::unsealed(open_db(path)?)
    }

    fn with(db: sled::Db, durability: Durability) -> Result<Self, StoreError> {
        let store = Self {
            players: db.open_tree("players")?,
            player_names: db.open_tree("player_names")?,
            credentials: db.open_tree("credentials")?,
            recovery_codes: db.open_tree("recovery_codes")?,
            sessions: db.open_tree("sessions")?,
            player_sessions: db.open_tree("player_sessions")?,
            player_credentials: db.open_tree("player_credentials")?,
            credential_removal: Arc::default(),
            refresh: db.open_tree("refresh_tokens")?,
            devices: db.open_tree("device_requests")?,
            user_codes: db.open_tree("user_codes")?,
            stats: Stats::open(&db)?,
            durability,
        };
        index_by_owner(
            &store.sessions,
            "sessions",
            &store.player_sessions,
            |s: &SessionRecord| s.player_id.clone(),
        )?;
        index_by_owner(
            &store.credentials,
            "credentials",
            &store.player_credentials,
            |c: &CredentialRecord| c.player_id.clone(),
        )?;
        Ok(store)
    }

    /// Returns once everything written so far is on disk.
    async fn durable(&self) -> Result<(), StoreError> {
        Ok(self.durability.flush().await?)
    }
}

/// The key of record `id` in its owner's index: `owner \0 id`.
fn owned_key(owner: &str, id: &[u8]) -> Vec<u8> {
    [owner.as_bytes(), b"\0", id].concat()
}

/// Fills `index` from `records` in one atomic batch if it is empty: a data dir
/// from before the index gets it at its first open.
fn index_by_owner<T: DeserializeOwned>(
    records: &sled::Tree,
    what: &'static str,
    index: &sled::Tree,
    owner: impl Fn(&T) -> String,
) -> Result<(), StoreError> {
    if !index.is_empty() || records.is_empty() {
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    for entry in records.iter() {
        let (id, value) = entry?;
        batch.insert(owned_key(&owner(&decode(what, &value)?), &id), &[]);
    }
    Ok(index.apply_batch(batch)?)
}

fn get<T: DeserializeOwned>(
    tree: &sled::Tree,
    what: &'static str,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    tree.get(key)?.map(|v| decode(what, &v)).transpose()
}

/// Removes every record of `tree` (of kind `what`) for which `expired` says
/// so; `expired` may also clean up what the record points to. Returns how many went.
fn purge_where<T: DeserializeOwned>(
    tree: &sled::Tree,
    what: &'static str,
    mut expired: impl FnMut(&T) -> Result<bool, StoreError>,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    for entry in tree.iter() {
        let (key, value) = entry?;
        if expired(&decode(what, &value)?)? {
            tree.remove(key)?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[async_trait]
impl StatsStore for SledStore {
    async fn record_round(&self, ranking: &[RankingEntry]) -> Result<(), StoreError> {
        self.stats.record_round(ranking)?;
        self.durable().await
    }

    async fn player_stats(&self, player_id: &str) -> Result<PlayerStats, StoreError> {
        self.stats.player(player_id)
    }

    async fn leaderboard(&self, limit: usize) -> Result<Vec<LeaderboardEntry>, StoreError> {
        self.stats.leaderboard(limit)
    }

    async fn remove_player_stats(&self, player_id: &str) -> Result<(), StoreError> {
        self.stats.remove(player_id)?;
        self.durable().await
    }
}

#[async_trait]
impl RevocationStore for SledStore {
    async fn revoked_since(&self, since_ms: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.sessions.iter() {
            let (key, value) = entry?;
            let session: SessionRecord = decode("sessions", &value)?;
            if let Some(at) = session.revoked_at.filter(|at| *at >= since_ms) {
                out.push((String::from_utf8_lossy(&key).into_owned(), at));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Store for SledStore {
    async fn purge(&self, now_ms: u64) -> Result<usize, StoreError> {
        let removed = self.purge_devices(now_ms)?
            + self.purge_legacy_tokens(now_ms)?
            + self.purge_sessions(now_ms)?
            + self.purge_released_names(now_ms)?;
        if removed > 0 {
            self.durable().await?;
        }
        Ok(removed)
    }

    async fn close(&self) -> Result<(), StoreError> {
        let flushed = self.durable().await;
        self.durability.write_seal().await;
        flushed
    }

    fn render_metrics(&self, out: &mut String) {
        self.durability.render_metrics(out);
    }
}
