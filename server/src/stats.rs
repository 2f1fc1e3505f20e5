//! Per-player statistics and the global leaderboard, kept durably in sled.

use crate::store::StoreError;
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
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode {
        tree: "stats",
        source,
    })
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
                let mut new = old.clone();
                new.name = entry.name.clone();
                new.stats.games += 1;
                new.stats.wins += u64::from(entry.rank == 1);
                new.stats.best_score = if old.stats.games == 0 {
                    i64::from(entry.score)
                } else {
                    old.stats.best_score.max(i64::from(entry.score))
                };
                new.stats.hits += u64::from(entry.hits);
                new.stats.misses += u64::from(entry.misses);
                new.stats.bombs += u64::from(entry.bombs);
                if old.stats.games > 0 {
                    board.remove(board_key(&entry.player_id, &old.stats))?;
                }
                board.insert(
                    board_key(&entry.player_id, &new.stats),
                    entry.player_id.as_bytes(),
                )?;
                let bytes = serde_json::to_vec(&new)
                    .map_err(|e| ConflictableTransactionError::Abort(StoreError::Encode(e)))?;
                stats.insert(entry.player_id.as_bytes(), bytes)?;
            }
            Ok(())
        });
        result.map_err(|e| match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Db(e),
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
            let rank = match entries.last() {
                Some(prev) if prev.best_score == stored.stats.best_score => prev.rank,
                _ => u32::try_from(entries.len() + 1).unwrap_or(u32::MAX),
            };
            entries.push(LeaderboardEntry {
                rank,
                player_id: String::from_utf8_lossy(&player_id).into_owned(),
                name: stored.name,
                best_score: stored.stats.best_score,
                wins: stored.stats.wins,
                games: stored.stats.games,
            });
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, score: i32, rank: u32) -> RankingEntry {
        RankingEntry {
            player_id: id.into(),
            name: id.to_uppercase(),
            score,
            hits: 2,
            misses: 1,
            bombs: 0,
            rank,
        }
    }

    #[test]
    fn records_rounds_and_ranks_best_first() -> Result<(), Box<dyn std::error::Error>> {
        let db = sled::Config::new().temporary(true).open()?;
        let stats = Stats::open(&db)?;
        stats.record_round(&[entry("a", 5, 1), entry("b", -2, 2)])?;
        stats.record_round(&[entry("b", 9, 1), entry("c", 5, 2), entry("a", 3, 3)])?;
        let a = stats.player("a")?;
        assert_eq!(
            (a.games, a.wins, a.best_score, a.hits, a.misses),
            (2, 1, 5, 4, 2)
        );
        assert_eq!(stats.player("nobody")?, PlayerStats::default());
        let board = stats.leaderboard(10)?;
        let rows: Vec<_> = board
            .iter()
            .map(|e| (e.player_id.as_str(), e.rank, e.best_score))
            .collect();
        // a and c share best score 5; a has more wins so comes first, same rank.
        assert_eq!(rows, vec![("b", 1, 9), ("a", 2, 5), ("c", 2, 5)]);
        Ok(())
    }

    #[test]
    fn negative_best_scores_sort_last() -> Result<(), Box<dyn std::error::Error>> {
        let db = sled::Config::new().temporary(true).open()?;
        let stats = Stats::open(&db)?;
        stats.record_round(&[entry("neg", -4, 1)])?;
        stats.record_round(&[entry("zero", 0, 1)])?;
        let ids: Vec<_> = stats
            .leaderboard(10)?
            .into_iter()
            .map(|e| e.player_id)
            .collect();
        assert_eq!(ids, vec!["zero", "neg"]);
        Ok(())
    }
}
