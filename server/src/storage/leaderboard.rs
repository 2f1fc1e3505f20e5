//! The rules every backend applies to statistics: what a finished round adds to
//! a player's stats, and how the leaderboard orders and ranks players.

use std::cmp::Ordering;
use whack_shared::api::{LeaderboardEntry, PlayerStats};
use whack_shared::protocol::RankingEntry;

/// A player's stats after one more finished round.
pub fn add_round(old: &PlayerStats, entry: &RankingEntry) -> PlayerStats {
    PlayerStats {
        games: old.games + 1,
        wins: old.wins + u64::from(entry.rank == 1),
        best_score: if old.games == 0 {
            i64::from(entry.score)
        } else {
            old.best_score.max(i64::from(entry.score))
        },
        hits: old.hits + u64::from(entry.hits),
        misses: old.misses + u64::from(entry.misses),
        bombs: old.bombs + u64::from(entry.bombs),
    }
}

/// Leaderboard order: best score first, then more wins, then player id.
pub fn order(a: (&str, &PlayerStats), b: (&str, &PlayerStats)) -> Ordering {
    b.1.best_score
        .cmp(&a.1.best_score)
        .then(b.1.wins.cmp(&a.1.wins))
        .then(a.0.cmp(b.0))
}

/// Appends the next player in leaderboard order; equal best scores share a rank.
pub fn push_ranked(
    entries: &mut Vec<LeaderboardEntry>,
    player_id: &str,
    name: &str,
    stats: &PlayerStats,
) {
    let rank = match entries.last() {
        Some(prev) if prev.best_score == stats.best_score => prev.rank,
        _ => u32::try_from(entries.len() + 1).unwrap_or(u32::MAX),
    };
    entries.push(LeaderboardEntry {
        rank,
        player_id: player_id.to_owned(),
        name: name.to_owned(),
        best_score: stats.best_score,
        wins: stats.wins,
        games: stats.games,
    });
}
