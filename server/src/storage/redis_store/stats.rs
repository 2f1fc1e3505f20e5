//! Per-player stats (a hash) and the leaderboard (a sorted set), both under the
//! `{stats}` tag, so a round updates every player and the board in one step.

use super::{RedisStore, keys, scripts};
use crate::storage::leaderboard::{add_round, push_ranked};
use crate::storage::{StatsStore, StoreError, decode, encode};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use whack_shared::api::{LeaderboardEntry, PlayerStats};
use whack_shared::protocol::RankingEntry;

/// How often a round is retried when another node's round changed the same players.
const ROUND_ATTEMPTS: usize = 16;

/// One player's row: the name at their last round and their stats.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    name: String,
    stats: PlayerStats,
}

/// The sorted set's score: ascending order is best score first, then more wins;
/// equal scores sort by player id (Redis orders ties by member), as
/// [`crate::storage::leaderboard::order`] does. Exact while |best score| < 2³¹
/// and wins < 2²¹, far beyond what rounds can reach.
fn board_score(stats: &PlayerStats) -> f64 {
    const WINS: i64 = 1 << 21;
    let best = stats.best_score.clamp(-(1 << 31), 1 << 31);
    let wins = i64::try_from(stats.wins).unwrap_or(i64::MAX).min(WINS - 1);
    -((best * WINS + wins) as f64)
}

impl RedisStore {
    /// Sets a player's stats as they are elsewhere (`migrate`).
    pub(crate) async fn import_stats(
        &self,
        player_id: &str,
        name: &str,
        stats: &PlayerStats,
    ) -> Result<(), StoreError> {
        let row = Row {
            name: name.to_owned(),
            stats: *stats,
        };
        let _: i64 = self
            .script(
                scripts::RECORD_ROUND
                    .key(keys::stats())
                    .key(keys::board())
                    .arg(1)
                    .arg(player_id)
                    .arg(self.row(player_id).await?.unwrap_or_default())
                    .arg(encode(&row)?)
                    .arg(board_score(stats)),
            )
            .await?;
        Ok(())
    }

    async fn row(&self, player_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(redis::cmd("HGET").arg(keys::stats()).arg(player_id))
            .await
    }
}

#[async_trait]
impl StatsStore for RedisStore {
    async fn record_round(&self, ranking: &[RankingEntry]) -> Result<(), StoreError> {
        for _ in 0..ROUND_ATTEMPTS {
            // Read every player's row, add the round, and write all of them only
            // if none changed meanwhile.
            let mut read: HashMap<&str, (Vec<u8>, Row)> = HashMap::new();
            let mut order = Vec::new();
            for entry in ranking {
                let id = entry.player_id.as_str();
                if !read.contains_key(id) {
                    let bytes = self.row(id).await?.unwrap_or_default();
                    let row = if bytes.is_empty() {
                        Row {
                            name: entry.name.clone(),
                            stats: PlayerStats::default(),
                        }
                    } else {
                        decode("stats", &bytes)?
                    };
                    read.insert(id, (bytes, row));
                    order.push(id);
                }
                if let Some((_, row)) = read.get_mut(id) {
                    row.stats = add_round(&row.stats, entry);
                    row.name.clone_from(&entry.name);
                }
            }
            let mut invocation = scripts::RECORD_ROUND.key(keys::stats());
            invocation.key(keys::board()).arg(order.len());
            for id in &order {
                if let Some((old, row)) = read.get(id) {
                    invocation
                        .arg(*id)
                        .arg(old.as_slice())
                        .arg(encode(row)?)
                        .arg(board_score(&row.stats));
                }
            }
            if self.script::<i64>(&invocation).await? == 1 {
                return Ok(());
            }
        }
        Err(StoreError::Backend(
            "redis: a round's stats kept conflicting with other rounds".into(),
        ))
    }

    async fn player_stats(&self, player_id: &str) -> Result<PlayerStats, StoreError> {
        match self.row(player_id).await? {
            Some(bytes) => Ok(decode::<Row>("stats", &bytes)?.stats),
            None => Ok(PlayerStats::default()),
        }
    }

    async fn leaderboard(&self, limit: usize) -> Result<Vec<LeaderboardEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let flat: Vec<Vec<u8>> = self
            .script(
                scripts::LEADERBOARD
                    .key(keys::stats())
                    .key(keys::board())
                    .arg(limit),
            )
            .await?;
        let mut entries = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            let id = String::from_utf8_lossy(&pair[0]);
            let row: Row = decode("stats", &pair[1])?;
            push_ranked(&mut entries, &id, &row.name, &row.stats);
        }
        Ok(entries)
    }

    async fn remove_player_stats(&self, player_id: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .script(
                scripts::REMOVE_STATS
                    .key(keys::stats())
                    .key(keys::board())
                    .arg(player_id),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::leaderboard::order;

    fn stats(best_score: i64, wins: u64) -> PlayerStats {
        PlayerStats {
            best_score,
            wins,
            games: wins.max(1),
            ..PlayerStats::default()
        }
    }

    #[test]
    fn the_board_score_orders_as_the_leaderboard_does() {
        let rows = [
            ("a", stats(9, 0)),
            ("b", stats(5, 3)),
            ("c", stats(5, 1)),
            ("d", stats(-4, 7)),
            ("e", stats(0, 0)),
            ("f", stats(1 << 40, 1 << 30)),
        ];
        for (x, sx) in &rows {
            for (y, sy) in &rows {
                let by_rule = order((x, sx), (y, sy));
                let by_score = board_score(sx).total_cmp(&board_score(sy)).then(x.cmp(y));
                assert_eq!(by_rule, by_score, "{x} vs {y}");
            }
        }
    }
}
