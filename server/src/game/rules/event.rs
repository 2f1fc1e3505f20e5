//! What the round tells players: a server message and who should get it.

use whack_shared::protocol::ServerMsg;

/// Who an [`Event`] is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every player in the room.
    Everyone,
    /// Only the player with this id.
    Player(String),
}

/// One thing that happened in the round, ready to send as is.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Who gets it.
    pub audience: Audience,
    /// What they get.
    pub msg: ServerMsg,
}

impl Event {
    /// An event for the whole room.
    pub fn everyone(msg: ServerMsg) -> Self {
        Self {
            audience: Audience::Everyone,
            msg,
        }
    }

    /// An event for one player only.
    pub fn to_player(player_id: impl Into<String>, msg: ServerMsg) -> Self {
        Self {
            audience: Audience::Player(player_id.into()),
            msg,
        }
    }
}
