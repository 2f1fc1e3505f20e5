//! Plain HTTP API bodies: `/api/me`, `/api/leaderboard`, `/api/sessions`,
//! `/healthz`.

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

/// One signed-in device: a live login session of the player.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Session id (the `sid` of its access tokens).
    pub id: String,
    /// The client's name, as the server knows it.
    pub client: String,
    /// The OAuth client id.
    pub client_id: String,
    /// When the login was made, Unix ms.
    pub started_at: u64,
    /// The address it was made from, if known.
    #[serde(default)]
    pub started_from: Option<String>,
    /// When its refresh token was last rotated (or first issued), Unix ms.
    #[serde(default)]
    pub last_refresh_at: Option<u64>,
    /// Its last game connection, Unix ms, to the minute.
    #[serde(default)]
    pub last_played_at: Option<u64>,
    /// When it ends at the latest, Unix ms.
    pub expires_at: u64,
    /// Whether the request itself was made with this session's token.
    #[serde(default)]
    pub current: bool,
}

/// `GET /api/sessions`: the player's signed-in devices, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sessions {
    /// Live sessions, newest first.
    pub sessions: Vec<SessionInfo>,
}

/// `POST /api/sessions/end-others`: how many sessions it ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedSessions {
    /// Sessions ended.
    pub ended: u64,
}

/// A JSON error body outside the OAuth endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable snake_case word.
    pub error: String,
    /// A human message.
    pub message: String,
}
