//! The WebSocket game protocol on `GET /play`: JSON text frames, each an object
//! tagged by `"type"`. Unknown fields are ignored so the protocol can grow.

use crate::Secret;
pub use crate::codes::{CloseCode, ErrorCode};
use serde::{Deserialize, Serialize};

/// The protocol version the client announces in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;
/// The largest frame either side accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 4096;
/// Holes on the board, numbered 0–8 row by row from the top left.
pub const HOLES: u8 = 9;
/// Most players in one room.
pub const MAX_PLAYERS: usize = 8;
/// Shortest round a room may set, in seconds.
pub const MIN_ROUND_SECS: u32 = 15;
/// Longest round a room may set, in seconds.
pub const MAX_ROUND_SECS: u32 = 180;
/// Round length when a room does not say.
pub const DEFAULT_ROUND_SECS: u32 = 60;
/// Whacks per second per player beyond which whacks are dropped.
pub const MAX_WHACKS_PER_SEC: u32 = 15;
/// How long a dropped player keeps their seat, in seconds.
pub const RECONNECT_GRACE_SECS: u64 = 30;
/// How long the seat ticket of a `redirect` is good for.
pub const SEAT_TICKET_SECS: u64 = 30;
/// Longest room name, in characters (the server trims longer ones).
pub const MAX_ROOM_NAME_CHARS: usize = 32;

/// WebSocket close codes as numbers, for matching on a close frame; each is
/// its [`CloseCode`]'s number.
pub mod close {
    use crate::codes::CloseCode;

    /// [`CloseCode::TokenExpired`].
    pub const TOKEN_EXPIRED: u16 = CloseCode::TokenExpired.code();
    /// [`CloseCode::ProtocolError`].
    pub const PROTOCOL_ERROR: u16 = CloseCode::ProtocolError.code();
    /// [`CloseCode::VersionMismatch`].
    pub const VERSION_MISMATCH: u16 = CloseCode::VersionMismatch.code();
    /// [`CloseCode::RateLimited`].
    pub const RATE_LIMITED: u16 = CloseCode::RateLimited.code();
    /// [`CloseCode::GoingAway`].
    pub const GOING_AWAY: u16 = CloseCode::GoingAway.code();
}

/// Unix epoch milliseconds (fractions allowed).
pub type Millis = f64;

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Announces the client's protocol version.
    Hello {
        /// The client's [`PROTOCOL_VERSION`].
        protocol_version: u32,
    },
    /// Asks for the public rooms.
    ListRooms,
    /// Creates a room; the creator is its host.
    CreateRoom {
        /// Shown in the room list.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Private rooms are joined by code only.
        #[serde(default)]
        private: bool,
        /// Round length, 15–180 s.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        round_secs: Option<u32>,
        /// Fixed randomness, only on a server run with `--allow-seeded-rooms`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    /// Joins a room by id or by join code.
    JoinRoom {
        /// A room id from `rooms`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room_id: Option<String>,
        /// A room's join code (`XXXX-XXXX`; case, dashes and spaces do not
        /// matter). A secret: never printed by `Debug`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<Secret>,
        /// The seat ticket of a `redirect` to this node: lets the player into
        /// `room_id` (a private room too) without its code. A secret.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<Secret>,
    },
    /// Joins any public room that is waiting, or opens one.
    QuickMatch,
    /// Leaves the current room.
    LeaveRoom,
    /// Starts the round (host only).
    StartGame,
    /// Whacks a hole.
    Whack {
        /// 0–8.
        hole: u8,
    },
    /// Replaces the connection's access token with a fresh one.
    Reauth {
        /// The new access token.
        access_token: Secret,
    },
    /// Measures round-trip time.
    Ping {
        /// Client time, echoed back.
        t: Millis,
    },
}

impl ClientMsg {
    /// Every `type` a client may send, as serde names them: read from the
    /// derived deserializer itself, so a new variant is never missing.
    pub fn types() -> &'static [&'static str] {
        static TYPES: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
        TYPES.get_or_init(|| crate::variant_names::of::<ClientMsg>("type"))
    }
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// Sent right after the upgrade.
    Welcome {
        /// The server's [`PROTOCOL_VERSION`].
        protocol_version: u32,
        /// Who this connection plays as.
        player: PlayerRef,
        /// Server clock.
        server_time: Millis,
        /// Whether `create_room` may fix the seed (a server run with
        /// `--allow-seeded-rooms`, for tests); absent from older servers: no.
        #[serde(default)]
        seeded_rooms: bool,
    },
    /// The public rooms.
    Rooms {
        /// One entry per room.
        rooms: Vec<RoomSummary>,
    },
    /// The whole state of the room the player is in.
    RoomState {
        /// The room.
        room: RoomView,
    },
    /// The round starts at `starts_at`.
    Countdown {
        /// Server time the first mole may pop.
        starts_at: Millis,
    },
    /// A mole popped up.
    MoleUp {
        /// Unique within the round.
        mole_id: String,
        /// 0–8.
        hole: u8,
        /// Its kind.
        kind: MoleKind,
        /// When it came up.
        up_at: Millis,
        /// When it will go down unless whacked.
        down_at: Millis,
    },
    /// A mole went down.
    MoleDown {
        /// The mole.
        mole_id: String,
        /// 0–8.
        hole: u8,
        /// Whacked or expired.
        reason: MoleDownReason,
        /// Who whacked it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// What it scored.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        points: Option<i32>,
    },
    /// A player's score changed (or a late whack scored nothing).
    Score {
        /// Whose score.
        player_id: String,
        /// New total.
        score: i32,
        /// Change.
        delta: i32,
        /// Why.
        reason: ScoreReason,
        /// Who got the mole, for `late`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The round ended.
    GameOver {
        /// Best first.
        ranking: Vec<RankingEntry>,
    },
    /// Answer to `ping`.
    Pong {
        /// The client's `t`, echoed.
        t: Millis,
        /// Server clock.
        server_time: Millis,
    },
    /// The new access token was accepted.
    ReauthOk {
        /// When it expires.
        expires_at: Millis,
    },
    /// The room asked for is played on another node of this server: connect
    /// to `url` (same login) and send `join_room` with `room_id` and `ticket`.
    Redirect {
        /// The other node's base URL (`http(s)://host[:port]`).
        url: String,
        /// The room.
        room_id: String,
        /// A one-time seat ticket for that room, valid for [`SEAT_TICKET_SECS`].
        ticket: Secret,
    },
    /// The server is going away; the connection closes with 1001 next.
    Shutdown {
        /// A human message.
        message: String,
    },
    /// Something the client sent was refused.
    Error {
        /// A stable snake_case word.
        code: ErrorCode,
        /// A human message.
        message: String,
    },
}

/// A player's id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerRef {
    /// Player id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A room in the public list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// Room id.
    pub id: String,
    /// Room name.
    pub name: String,
    /// Seated players.
    pub players: u32,
    /// Seats.
    pub max_players: u32,
    /// Phase.
    pub state: RoomPhase,
    /// Round length.
    pub round_secs: u32,
    /// The room's join code (`XXXX-XXXX`), to share; only public rooms are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Phase of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomPhase {
    /// Waiting for the host to start.
    Waiting,
    /// The round is about to start.
    Countdown,
    /// A round is on.
    Playing,
    /// The round ended; the room may play again.
    Finished,
}

/// The full state of a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomView {
    /// Room id.
    pub id: String,
    /// Room name.
    pub name: String,
    /// Join code (every room has one, shown `XXXX-XXXX`; members only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Whether the room is private.
    #[serde(default)]
    pub private: bool,
    /// The host's player id.
    pub host: String,
    /// Phase.
    pub state: RoomPhase,
    /// Round length.
    pub round_secs: u32,
    /// When the countdown ends, during `countdown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Millis>,
    /// When the round ends, during `playing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Millis>,
    /// Seated players.
    pub players: Vec<PlayerView>,
    /// Moles up now.
    #[serde(default)]
    pub moles: Vec<MoleView>,
    /// Whether the room starts by itself (quick match).
    #[serde(default)]
    pub quick: bool,
}

/// A seated player.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerView {
    /// Player id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Score this round.
    pub score: i32,
    /// False while the player is dropped and may still reconnect.
    pub connected: bool,
}

/// A mole that is up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoleView {
    /// The mole.
    pub mole_id: String,
    /// 0–8.
    pub hole: u8,
    /// Its kind.
    pub kind: MoleKind,
    /// When it came up.
    pub up_at: Millis,
    /// When it goes down unless whacked.
    pub down_at: Millis,
}

/// Kinds of mole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoleKind {
    /// +1.
    Normal,
    /// +3, rare and short.
    Golden,
    /// −3.
    Bomb,
}

impl MoleKind {
    /// Points for whacking it.
    pub fn points(self) -> i32 {
        match self {
            Self::Normal => 1,
            Self::Golden => 3,
            Self::Bomb => -3,
        }
    }
}

/// Why a mole went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoleDownReason {
    /// Somebody whacked it.
    Whacked,
    /// Its time ran out.
    Expired,
}

/// Why a score changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreReason {
    /// Whacked a normal mole.
    Hit,
    /// Whacked a golden mole.
    Golden,
    /// Whacked a bomb.
    Bomb,
    /// Whacked an empty hole.
    Miss,
    /// Whacked a mole somebody else got first.
    Late,
}

/// One row of the final ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankingEntry {
    /// Player id.
    pub player_id: String,
    /// Display name.
    pub name: String,
    /// Final score.
    pub score: i32,
    /// Moles whacked (normal and golden).
    pub hits: u32,
    /// Empty-hole whacks.
    pub misses: u32,
    /// Bombs whacked.
    pub bombs: u32,
    /// 1-based; equal scores share a rank.
    pub rank: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ClientMsg {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn client_messages_parse_with_extra_fields() {
        assert_eq!(
            parse(r#"{"type":"list_rooms","future":1}"#),
            ClientMsg::ListRooms
        );
        assert_eq!(
            parse(r#"{"type":"whack","hole":4,"x":[]}"#),
            ClientMsg::Whack { hole: 4 }
        );
        assert_eq!(
            parse(r#"{"type":"create_room"}"#),
            ClientMsg::CreateRoom {
                name: None,
                private: false,
                round_secs: None,
                seed: None
            }
        );
    }

    #[test]
    fn server_messages_are_tagged_snake_case() {
        let msg = ServerMsg::MoleDown {
            mole_id: "7".into(),
            hole: 3,
            reason: MoleDownReason::Whacked,
            by: Some("p1".into()),
            points: Some(3),
        };
        let json = serde_json::to_value(&msg).unwrap_or_default();
        assert_eq!(json["type"], "mole_down");
        assert_eq!(json["reason"], "whacked");
        let back: ServerMsg = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, msg);
    }

    #[test]
    fn reauth_never_debug_prints_the_token() {
        let msg = parse(r#"{"type":"reauth","access_token":"eyJsecret"}"#);
        assert!(!format!("{msg:?}").contains("eyJsecret"));
    }

    #[test]
    fn join_room_never_debug_prints_the_code() {
        let msg = parse(r#"{"type":"join_room","code":"BCDF-GHJK"}"#);
        assert!(!format!("{msg:?}").contains("GHJK"));
        let back = serde_json::to_string(&msg).unwrap_or_default();
        assert_eq!(back, r#"{"type":"join_room","code":"BCDF-GHJK"}"#);
    }
}
