//! The stats a room records, of players who still have an account: a round
//! that was under way while its player deleted their account must not put them
//! back on the leaderboard.

use super::{SharedStore, StatsStore, StoreError};
use async_trait::async_trait;
use whack_shared::api::{LeaderboardEntry, PlayerStats};
use whack_shared::protocol::RankingEntry;

/// A [`StatsStore`] that records only players whose account exists.
pub struct PlayersOnly(pub SharedStore);

#[async_trait]
impl StatsStore for PlayersOnly {
    async fn record_round(&self, ranking: &[RankingEntry]) -> Result<(), StoreError> {
        let mut kept = Vec::with_capacity(ranking.len());
        for entry in ranking {
            if self.0.player(&entry.player_id).await?.is_some() {
                kept.push(entry.clone());
            }
        }
        if kept.is_empty() {
            return Ok(());
        }
        self.0.record_round(&kept).await
    }

    async fn player_stats(&self, player_id: &str) -> Result<PlayerStats, StoreError> {
        self.0.player_stats(player_id).await
    }

    async fn leaderboard(&self, limit: usize) -> Result<Vec<LeaderboardEntry>, StoreError> {
        self.0.leaderboard(limit).await
    }

    async fn remove_player_stats(&self, player_id: &str) -> Result<(), StoreError> {
        self.0.remove_player_stats(player_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::contract_tests::credential;
    use crate::storage::{MemoryStore, PlayerRecord};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_round_records_only_players_that_still_exist()
    -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let store: SharedStore = Arc::new(MemoryStore::new());
        let ann = PlayerRecord {
            id: "p1".into(),
            name: "Ann".into(),
            created_at: 1,
        };
        store.create_player(&ann, &credential("p1")?).await?;
        let entry = |id: &str| RankingEntry {
            player_id: id.into(),
            name: id.into(),
            score: 3,
            hits: 3,
            misses: 0,
            bombs: 0,
            rank: 1,
        };
        let stats = PlayersOnly(Arc::clone(&store));
        stats.record_round(&[entry("p1"), entry("gone")]).await?;
        assert_eq!(store.player_stats("p1").await?.games, 1);
        assert_eq!(store.player_stats("gone").await?.games, 0);
        Ok(())
    }
}
