//! Per-player statistics and the global leaderboard in sled trees.

use crate::storage::StoreError;
use crate::storage::leaderboard::{add_round, push_ranked};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;
use whack_shared::api::{LeaderboardEntry, PlayerStats};
use whack_shared::protocol::RankingEntry;

/// Stats as stored, with the name at the time of the last game.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    name: String,
    stats: PlayerStats,
}

/// The `stats` tree, plus a `leaderboard` index ordered best first.
#[derive(Clone)]
pub struct Stats {
    stats: sled::Tree,
    /// Key: (i64::MAX - best_score) big-endian, then wins reversed, then player id;
    /// iterating in key order yields the leaderboard.
    board: sled::Tree,
}

fn board_key(player_id: &str, stats: &PlayerStats) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + player_id.len());
    // Flip the sign bit so negative scores sort below positive ones, then invert
    // so higher scores come first.
    key.extend_from_slice(&(!((stats.best_score as u64) ^ (1 << 63))).to_be_bytes());
    key.extend_from_slice(&(u64::MAX - stats.wins).to_be_bytes());
    key.extend_from_slice(player_id.as_bytes());
    key
}

fn decode(bytes: &[u8]) -> Result<Stored, StoreError> {
    crate::storage::decode("stats", bytes)
}

/// Whether `bytes` is a record of the `stats` tree (for the start-up check).
pub fn check_record(bytes: &[u8]) -> Result<(), String> {
    decode(bytes).map(drop).map_err(|e| e.to_string())
}

impl Stats {
    /// Opens the trees in `db`.
    pub fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            stats: db.open_tree("stats")?,
            board: db.open_tree("leaderboard")?,
        })
    }

    /// A player's stats (zeros if they never finished a round).
    pub fn player(&self, player_id: &str) -> Result<PlayerStats, StoreError> {
        Ok(self
            .stats
            .get(player_id.as_bytes())?
            .map(|v| decode(&v))
            .transpose()?
            .unwrap_or_default()
            .stats)
    }

    /// Adds one finished round to every ranked player's stats, atomically.
    pub fn record_round(&self, ranking: &[RankingEntry]) -> Result<(), StoreError> {
        let result = (&self.stats, &self.board).transaction(|(stats, board)| {
            for entry in ranking {
                let old = match stats.get(entry.player_id.as_bytes())? {
                    Some(v) => decode(&v).map_err(ConflictableTransactionError::Abort)?,
                    None => Stored::default(),
                };
                let new = Stored {
                    name: entry.name.clone(),
                    stats: add_round(&old.stats, entry),
                };
                if old.stats.games > 0 {
                    board.remove(board_key(&entry.player_id, &old.stats))?;
                }
                board.insert(
                    board_key(&entry.player_id, &new.stats),
                    entry.player_id.as_bytes(),
                )?;
                let bytes =
                    crate::storage::encode(&new).map_err(ConflictableTransactionError::Abort)?;
                stats.insert(entry.player_id.as_bytes(), bytes)?;
            }
            Ok(())
        });
        result.map_err(|e| match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => e.into(),
        })
    }

    /// Forgets a player's stats and their leaderboard entry, atomically.
    pub fn remove(&self, player_id: &str) -> Result<(), StoreError> {
        let result = (&self.stats, &self.board).transaction(|(stats, board)| {
            if let Some(v) = stats.remove(player_id.as_bytes())? {
                let old = decode(&v).map_err(ConflictableTransactionError::Abort)?;
                board.remove(board_key(player_id, &old.stats))?;
            }
            Ok(())
        });
        result.map_err(|e| match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => e.into(),
        })
    }

    /// The best `limit` players; equal best scores share a rank.
    pub fn leaderboard(&self, limit: usize) -> Result<Vec<LeaderboardEntry>, StoreError> {
        let mut entries: Vec<LeaderboardEntry> = Vec::new();
        for item in self.board.iter().take(limit) {
            let (_, player_id) = item?;
            let Some(stored) = self.stats.get(&player_id)? else {
                continue;
            };
            let stored = decode(&stored)?;
            push_ranked(
                &mut entries,
                &String::from_utf8_lossy(&player_id),
                &stored.name,
                &stored.stats,
            );
        }
        Ok(entries)
    }
}
