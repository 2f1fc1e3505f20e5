//! Why a round cannot start, and why a whack was refused.

use whack_shared::codes::ErrorCode;
use whack_shared::protocol::{
    MAX_PLAYERS, MAX_ROUND_SECS, MAX_WHACKS_PER_SEC, MIN_ROUND_SECS, ServerMsg,
};

/// A round could not start with these settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The round length is outside 15–180 s.
    #[error("a round lasts {min}–{max} s, not {0} s", min = MIN_ROUND_SECS, max = MAX_ROUND_SECS)]
    RoundSecs(u32),
    /// Nobody to play.
    #[error("a round needs at least one player")]
    NoPlayers,
    /// More players than seats.
    #[error("a round takes at most {max} players, not {0}", max = MAX_PLAYERS)]
    TooManyPlayers(usize),
    /// One player id appears twice.
    #[error("player {0} is seated twice")]
    DuplicatePlayer(String),
    /// The start time is NaN or infinite.
    #[error("the clock reading is not a finite number")]
    BadClock,
}

/// A whack the round did not take. A refused whack changes nothing but the
/// player's dropped count (for [`WhackError::RateLimited`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WhackError {
    /// The hole number is not 0–8.
    #[error("there is no hole {0}; holes are 0–8")]
    InvalidHole(u8),
    /// The player has no seat in this round.
    #[error("you are not playing in this round")]
    NotInGame,
    /// The countdown is still running.
    #[error("the round has not started yet")]
    NotStarted,
    /// The round has ended.
    #[error("the round is over")]
    RoundOver,
    /// More than 15 whacks in the last second; dropped without penalty.
    #[error("too many whacks: at most {max} a second count", max = MAX_WHACKS_PER_SEC)]
    RateLimited,
}

impl WhackError {
    /// The `error` code this refusal is sent as.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::InvalidHole(_) => ErrorCode::InvalidHole,
            Self::NotInGame => ErrorCode::NotInGame,
            Self::NotStarted => ErrorCode::NotStarted,
            Self::RoundOver => ErrorCode::RoundOver,
            Self::RateLimited => ErrorCode::RateLimited,
        }
    }

    /// The `error` message telling the whacker about this refusal.
    pub fn to_msg(self) -> ServerMsg {
        ServerMsg::Error {
            code: self.code(),
            message: self.to_string(),
        }
    }
}
