//! The stable codes of the game protocol: why the server closed a connection
//! ([`CloseCode`]) and why it refused a message ([`ErrorCode`]). Each code is
//! declared once, with its wire value and its documentation; the tables in
//! `docs/protocol.md` are generated from these declarations.

use serde::{Deserialize, Serialize};

/// Declares [`CloseCode`]: each variant with its number, the reason sent in the
/// close frame, and the two documentation columns.
macro_rules! close_codes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $code:literal, reason: $reason:literal,
        meaning: $meaning:literal, then: $then:literal;
    )*) => {
        /// Why the server closed a game connection; the number is the WebSocket
        /// close code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum CloseCode {
            $($(#[doc = $doc])* $variant = $code,)*
        }

        impl CloseCode {
            /// Every close code, in the order the docs list them.
            pub const ALL: &'static [CloseCode] = &[$(Self::$variant),*];

            /// The WebSocket close code.
            pub const fn code(self) -> u16 {
                self as u16
            }

            /// The close code with this number, if it is one of ours.
            pub const fn from_code(code: u16) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The short reason sent in the close frame.
            pub const fn reason(self) -> &'static str {
                match self {
                    $(Self::$variant => $reason,)*
                }
            }

            /// When the server closes with it (the docs' "meaning" column).
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Self::$variant => $meaning,)*
                }
            }

            /// What a client should do after it (the docs' last column).
            pub const fn then(self) -> &'static str {
                match self {
                    $(Self::$variant => $then,)*
                }
            }
        }
    };
}

close_codes! {
    /// The access token expired or its session was revoked.
    TokenExpired = 4001, reason: "token expired or revoked",
        meaning: "the access token expired without `reauth`, or its login session was revoked (logout, refresh-token reuse)",
        then: "refresh the token (or log in again), then reconnect";
    /// The client kept breaking the protocol.
    ProtocolError = 4002, reason: "protocol error",
        meaning: "protocol error: more than 3 malformed frames (or wrong or refused join codes) within 10 s, each first answered with an `error`",
        then: "fix the client";
    /// The client speaks a protocol version the server does not.
    VersionMismatch = 4003, reason: "unsupported protocol version",
        meaning: "protocol version mismatch",
        then: "update the client";
    /// The client sent too much for too long, or opened too many sockets.
    RateLimited = 4008, reason: "rate limited",
        meaning: "rate limited: whacks over 15/s for 3 s (`rate_limited`), or one socket over the per-player cap (`too_many_connections`)",
        then: "back off, reconnect (close another socket first)";
    /// The server is shutting down.
    GoingAway = 1001, reason: "server shutting down",
        meaning: "server shutting down (after a `shutdown` message)",
        then: "reconnect with backoff";
    /// The client did not read its frames (RFC 6455 "try again later").
    TooSlow = 1013, reason: "too slow to keep up",
        meaning: "the client did not read its frames fast enough (256 queued)",
        then: "reconnect";
    /// The connection was silent for too long.
    Idle = 1000, reason: "idle",
        meaning: "idle: nothing received (not even a pong) for 60 s",
        then: "reconnect";
}

/// Declares [`ErrorCode`]: each variant with its wire word and when it is sent.
macro_rules! error_codes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, when: $when:literal;
    )*) => {
        /// The `code` of an `error` message: a stable snake_case word.
        ///
        /// A code this version does not know (from a newer server) parses as
        /// [`ErrorCode::Unknown`], so an old client still reads the message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[doc = $doc])* #[serde(rename = $wire)] $variant,)*
            /// A code this version does not know.
            #[serde(other)]
            Unknown,
        }

        impl ErrorCode {
            /// Every known code, in the order the docs list them.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant),*];

            /// The wire word (`"unknown"` for [`ErrorCode::Unknown`]).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown => "unknown",
                }
            }

            /// When the server sends it (the docs' "when" column).
            pub const fn when(self) -> &'static str {
                match self {
                    $(Self::$variant => $when,)*
                    Self::Unknown => "a code this version does not know",
                }
            }

            /// The code for a wire word; [`ErrorCode::Unknown`] when it is none of ours.
            pub fn parse(word: &str) -> Self {
                match word {
                    $($wire => Self::$variant,)*
                    _ => Self::Unknown,
                }
            }
        }
    };
}

error_codes! {
    /// A text frame over the size limit.
    FrameTooLarge = "frame_too_large",
        when: "text frame over 4096 bytes (counts as a protocol error)";
    /// Not JSON.
    InvalidJson = "invalid_json", when: "not JSON (protocol error)";
    /// JSON without a string `type`.
    MissingType = "missing_type", when: "JSON without a string `type` (protocol error)";
    /// A `type` this version does not know.
    UnknownType = "unknown_type", when: "a `type` this version does not know (protocol error)";
    /// A known `type` with missing or invalid fields.
    BadMessage = "bad_message",
        when: "a known `type` with missing or invalid fields (protocol error)";
    /// A binary frame.
    BinaryFrame = "binary_frame", when: "a binary frame (protocol error)";
    /// `hello` with another protocol version.
    VersionMismatch = "version_mismatch",
        when: "`hello` with another version; close 4003 follows";
    /// One socket over the per-player cap.
    TooManyConnections = "too_many_connections",
        when: "the player already has 4 game sockets open; sent instead of `welcome`, close 4008 follows";
    /// No room with that id or code.
    NoSuchRoom = "no_such_room", when: "`join_room` / `quick_match` refused: no such room (it may have closed)";
    /// Every seat is taken.
    RoomFull = "room_full", when: "`join_room` / `quick_match` refused: every seat is taken";
    /// A round is on and the player has no seat in it.
    RoomInGame = "room_in_game",
        when: "`join_room` / `quick_match` refused: a round is being played without this player";
    /// `join_room` without `room_id` or `code`.
    NoRoomGiven = "no_room_given", when: "`join_room` refused: neither `room_id` nor `code`";
    /// Too many wrong join codes lately.
    TooManyGuesses = "too_many_guesses",
        when: "`join_room` by code refused: too many wrong codes from this player or address in the last minute";
    /// The server has its maximum of rooms open.
    TooManyRooms = "too_many_rooms",
        when: "`create_room` / `quick_match` refused: the server has its maximum of rooms open";
    /// The seat moved to another socket of the same player.
    SeatMoved = "seat_moved",
        when: "not a refusal: this player took their seat to another of their sockets (which created, joined or quick-matched, or connected while the seat was here); this socket is in no room now";
    /// `round_secs` out of range.
    BadRoundSecs = "bad_round_secs", when: "`create_room` refused: `round_secs` is not 15–180";
    /// A room name that is empty, too long or has control characters.
    BadRoomName = "bad_room_name",
        when: "`create_room` refused: the name is not 1–32 printable characters";
    /// `seed` on a server that does not allow it.
    SeedNotAllowed = "seed_not_allowed",
        when: "`create_room` refused: `seed` on a server without `--allow-seeded-rooms`";
    /// A room command from a player who is not in a room.
    NotInRoom = "not_in_room", when: "`leave_room` / `start_game` / `whack` refused: not in a room";
    /// `start_game` from someone else than the host.
    NotHost = "not_host", when: "`start_game` refused: only the host starts";
    /// `start_game` while a round is on.
    AlreadyStarted = "already_started", when: "`start_game` refused: the round has already started";
    /// A hole outside 0–8.
    InvalidHole = "invalid_hole", when: "`whack` refused: the hole is not 0–8";
    /// A whack from a player without a seat in the round.
    NotInGame = "not_in_game", when: "`whack` refused: the player has no seat in this round";
    /// A whack during the countdown (or before any round).
    NotStarted = "not_started", when: "`whack` refused: the round has not started yet";
    /// A whack after the round ended.
    RoundOver = "round_over", when: "`whack` refused: the round is over";
    /// A lasting whack flood.
    RateLimited = "rate_limited", when: "a lasting whack flood; close 4008 follows";
    /// `reauth` with a token that does not verify.
    ReauthFailed = "reauth_failed", when: "`reauth` refused: the token does not verify";
    /// `reauth` with another player's token.
    ReauthWrongPlayer = "reauth_wrong_player",
        when: "`reauth` refused: the token belongs to another player";
    /// The round ended but its result could not be stored.
    ResultsNotSaved = "results_not_saved",
        when: "the round ended but its result could not be stored: no `game_over` follows, the room is back to waiting";
    /// A seat ticket that is not this player's, was used, or expired.
    BadTicket = "bad_ticket",
        when: "`join_room` with a `ticket` refused: it is not this player's, was used already, or expired (tickets last 30 s)";
    /// The node cannot reach the store it shares with the other nodes.
    Unavailable = "unavailable",
        when: "a room request could not be served: this node cannot reach the store it shares with the other nodes; try again";
    /// The server is shutting down.
    ShuttingDown = "shutting_down", when: "the server is shutting down";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads as its wire word, so code that matched on the old `String` field
/// (`code == "room_full"`, `Some(code)` as `&str`) keeps working.
impl std::ops::Deref for ErrorCode {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<&str> for ErrorCode {
    fn from(word: &str) -> Self {
        Self::parse(word)
    }
}

/// The Markdown table of every close code, as `docs/protocol.md` shows it.
pub fn close_code_table() -> String {
    let mut out =
        String::from("| code | meaning | what the client should do |\n| --- | --- | --- |\n");
    for code in CloseCode::ALL {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            code.code(),
            code.meaning(),
            code.then()
        ));
    }
    out
}

/// The Markdown table of every error code, as `docs/protocol.md` shows it.
pub fn error_code_table() -> String {
    let mut out = String::from("| code | when |\n| --- | --- |\n");
    for code in ErrorCode::ALL {
        out.push_str(&format!("| `{}` | {} |\n", code.as_str(), code.when()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip_and_unknown_ones_still_parse() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code} is not snake_case"
            );
            let back: ErrorCode = serde_json::from_str(&json).unwrap_or(ErrorCode::Unknown);
            assert_eq!(back, code);
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
        let newer: ErrorCode =
            serde_json::from_str("\"from_a_newer_server\"").unwrap_or(ErrorCode::RoomFull);
        assert_eq!(newer, ErrorCode::Unknown);
    }

    #[test]
    fn close_codes_have_distinct_numbers_and_reasons() {
        for &code in CloseCode::ALL {
            assert_eq!(CloseCode::from_code(code.code()), Some(code));
            assert!(!code.reason().is_empty() && !code.meaning().is_empty());
        }
        assert_eq!(CloseCode::from_code(4999), None);
        // The numbers the protocol has always used.
        assert_eq!(CloseCode::TokenExpired.code(), 4001);
        assert_eq!(CloseCode::GoingAway.code(), 1001);
        assert_eq!(CloseCode::Idle.code(), 1000);
    }

    /// Replaces what lies between `<!-- begin NAME -->` and `<!-- end NAME -->`.
    fn with_table(doc: &str, name: &str, table: &str) -> Option<String> {
        let begin = format!("<!-- begin {name} -->\n");
        let end = format!("<!-- end {name} -->");
        let start = doc.find(&begin)? + begin.len();
        let stop = start + doc[start..].find(&end)?;
        Some(format!("{}{table}{}", &doc[..start], &doc[stop..]))
    }

    #[test]
    fn the_protocol_doc_lists_every_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let expected = with_table(&doc, "error-codes", &error_code_table())
            .and_then(|d| with_table(&d, "close-codes", &close_code_table()));
        let Some(expected) = expected else {
            panic!("docs/protocol.md lacks the error-codes / close-codes marker comments");
        };
        assert!(
            doc == expected,
            "docs/protocol.md is out of date with whack_shared::codes; the tables should read:\n\n{}\n{}",
            error_code_table(),
            close_code_table()
        );
    }
}
