//! Why a lobby or room request was refused; each maps onto an `error` message.

use whack_shared::codes::ErrorCode;
use whack_shared::protocol::{MAX_PLAYERS, MAX_ROUND_SECS, MIN_ROUND_SECS, ServerMsg};

/// A refused room request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// No room with that id or join code.
    #[error("no such room (it may have closed)")]
    NoSuchRoom,
    /// All seats are taken.
    #[error("the room is full ({max} players)", max = MAX_PLAYERS)]
    RoomFull,
    /// A round is on and the player has no seat in it.
    #[error("a round is being played in that room; try again when it ends")]
    RoomInGame,
    /// `round_secs` out of range.
    #[error("round_secs must be {min}–{max}", min = MIN_ROUND_SECS, max = MAX_ROUND_SECS)]
    BadRoundSecs,
    /// A room name that is empty, too long or has control characters.
    #[error("a room name is 1–32 printable characters")]
    BadName,
    /// `seed` on a server that does not allow it.
    #[error("this server does not accept fixed seeds")]
    SeedNotAllowed,
    /// `join_room` without `room_id` or `code`.
    #[error("join_room needs a room_id or a code")]
    NoTarget,
    /// Only the host may start the round.
    #[error("only the host can start the round")]
    NotHost,
    /// `start_game` while a round is on.
    #[error("the round has already started")]
    AlreadyStarted,
    /// A room command from a player who is not in a room.
    #[error("you are not in a room")]
    NotInRoom,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The player already has as many `/play` sockets open as allowed.
    #[error("you already have {max} game connections open; close one first")]
    TooManyConnections {
        /// The cap.
        max: u32,
    },
    /// Too many wrong join codes from this player or address lately.
    #[error("too many wrong join codes; try again in {retry_after} s")]
    TooManyGuesses {
        /// Seconds until a guess is taken again.
        retry_after: u64,
    },
    /// The server has as many rooms open as it allows.
    #[error("the server has {max} rooms open, its limit; try quick match or later")]
    TooManyRooms {
        /// The cap.
        max: u32,
    },
    /// Sent to a connection whose seat the same player took to another connection.
    #[error("you took your seat to another connection; this one is no longer in a room")]
    SeatMoved,
    /// A seat ticket that is not the player's, was spent, or expired.
    #[error("that seat ticket is not valid (used already, or older than 30 s); join again")]
    BadTicket,
    /// The store shared with the other nodes cannot be reached.
    #[error("this node cannot reach the other nodes' rooms just now; try again in a moment")]
    Unavailable,
    /// The round ended but its result could not be stored.
    #[error(
        "the round's result could not be saved, so it does not count; the room is back to waiting"
    )]
    ResultsNotSaved,
}

impl RoomError {
    /// The `error` code this refusal is sent as.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoSuchRoom => ErrorCode::NoSuchRoom,
            Self::RoomFull => ErrorCode::RoomFull,
            Self::RoomInGame => ErrorCode::RoomInGame,
            Self::BadRoundSecs => ErrorCode::BadRoundSecs,
            Self::BadName => ErrorCode::BadRoomName,
            Self::SeedNotAllowed => ErrorCode::SeedNotAllowed,
            Self::NoTarget => ErrorCode::NoRoomGiven,
            Self::NotHost => ErrorCode::NotHost,
            Self::AlreadyStarted => ErrorCode::AlreadyStarted,
            Self::NotInRoom => ErrorCode::NotInRoom,
            Self::ShuttingDown => ErrorCode::ShuttingDown,
            Self::TooManyConnections { .. } => ErrorCode::TooManyConnections,
            Self::TooManyGuesses { .. } => ErrorCode::TooManyGuesses,
            Self::TooManyRooms { .. } => ErrorCode::TooManyRooms,
            Self::SeatMoved => ErrorCode::SeatMoved,
            Self::ResultsNotSaved => ErrorCode::ResultsNotSaved,
            Self::BadTicket => ErrorCode::BadTicket,
            Self::Unavailable => ErrorCode::Unavailable,
        }
    }

    /// The `error` message telling a player about this refusal.
    pub fn to_msg(&self) -> ServerMsg {
        ServerMsg::Error {
            code: self.code(),
            message: self.to_string(),
        }
    }
}
