//! Plain HTTP API bodies: `/api/me`, `/api/leaderboard`, `/healthz`.

use serde::{Deserialize, Serialize};

/// A player's lifetime statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerStats {
    /// Rounds played to the end.
    pub games: u64,
    /// Rounds won (ties for first place count as wins).
    pub wins: u64,
    /// Best final score in one round.
    pub best_score: i64,
    /// Moles whacked.
    pub hits: u64,
    /// Whacks on empty holes.
    pub misses: u64,
    /// Bombs whacked.
    pub bombs: u64,
}

/// `GET /api/me`: the player the access token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Player id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Lifetime statistics.
    #[serde(default)]
    pub stats: PlayerStats,
}

/// One row of the global leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderboardEntry {
    /// 1-based rank; equal best scores share a rank.
    pub rank: u32,
    /// Player id.
    pub player_id: String,
    /// Display name.
    pub name: String,
    /// Best score in one round.
    pub best_score: i64,
    /// Rounds won.
    pub wins: u64,
    /// Rounds played.
    pub games: u64,
}

/// `GET /api/leaderboard`: best first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// Rows, best first.
    pub entries: Vec<LeaderboardEntry>,
}

/// A JSON error body outside the OAuth endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable snake_case word.
    pub error: String,
    /// A human message.
    pub message: String,
}
