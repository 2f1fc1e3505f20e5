//! Everything the server says is untrusted: this module makes it safe before the
//! rest of the client sees it.
//!
//! Text loses its control characters (C0, DEL, C1 — so no ESC, CSI or OSC can reach
//! the terminal — plus the bidirectional overrides that reorder what is shown) and is
//! cut to a sane length; server times and durations are clamped into ranges where
//! the client's arithmetic cannot overflow. Both happen at decode time, in
//! [`decode_json`], which is the only way the client turns server bytes into values
//! (HTTP bodies in `auth::http::json_body`, WebSocket frames in `tui::net`). A type
//! can only be decoded there if it implements [`Sanitize`], so a new field of a
//! sanitized type is covered and a new server type cannot skip the step.

use serde::de::DeserializeOwned;
use std::borrow::Cow;
use whack_shared::api::{EndedSessions, Leaderboard, LeaderboardEntry, Me, SessionInfo, Sessions};
use whack_shared::oauth::{DeviceAuthorization, ErrorBody, TokenResponse};
use whack_shared::protocol::{
    Millis, MoleView, PlayerRef, PlayerView, RankingEntry, RoomSummary, RoomView, ServerMsg,
};

/// Longest server string kept, in characters (names are 24, URLs and messages short).
pub const MAX_TEXT_CHARS: usize = 512;
/// Longest device-code lifetime believed, in seconds (our server says 600).
pub const MAX_CODE_LIFETIME_SECS: u64 = 3_600;
/// Longest polling interval believed, in seconds (our server says 5).
pub const MAX_POLL_INTERVAL_SECS: u64 = 60;
/// Longest access-token lifetime believed, in seconds (our server says 900): a longer
/// claim only makes us refresh sooner than needed.
pub const MAX_ACCESS_LIFETIME_SECS: u64 = 3_600;
/// Latest server time believed, in epoch milliseconds: 2^53, the largest integer an
/// f64 holds exactly (year 287,396), so sums and differences of two times stay exact
/// and finite.
pub const MAX_EPOCH_MS: Millis = 9_007_199_254_740_992.0;

/// A value from the server that can be made safe to show and to compute with.
pub trait Sanitize {
    /// Strips control characters from every string and clamps every number that
    /// time arithmetic depends on.
    fn sanitize(&mut self);
}

/// Decodes server JSON and sanitizes it: the one door from server bytes to values.
pub fn decode_json<T: DeserializeOwned + Sanitize>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut value: T = serde_json::from_slice(bytes)?;
    value.sanitize();
    Ok(value)
}

/// `s` without control characters, at most [`MAX_TEXT_CHARS`] characters long.
///
/// Tabs and line breaks become a space (so words stay apart); every other C0, DEL and
/// C1 control, bidirectional override and Unicode line/paragraph separator is
/// dropped. Printable text, including non-ASCII letters, is kept as it is.
pub fn text(s: &str) -> Cow<'_, str> {
    let clean = s.chars().all(|c| !is_unsafe(c)) && s.chars().nth(MAX_TEXT_CHARS).is_none();
    if clean {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(MAX_TEXT_CHARS * 4));
    let mut kept = 0;
    for c in s.chars() {
        let c = match c {
            '\t' | '\n' | '\r' => ' ',
            c if is_unsafe(c) => continue,
            c => c,
        };
        if kept == MAX_TEXT_CHARS {
            // Say that something was cut rather than silently end mid-word.
            out.pop();
            out.push('…');
            break;
        }
        out.push(c);
        kept += 1;
    }
    Cow::Owned(out)
}

/// Whether `c` must not reach a terminal.
fn is_unsafe(c: char) -> bool {
    // `is_control` is exactly Unicode Cc: U+0000–U+001F, U+007F and U+0080–U+009F
    // (C1, whose U+009B is a one-character CSI on some terminals).
    c.is_control()
        || matches!(
            c,
            // Arabic letter mark, LRM/RLM, embeddings and overrides, isolates: they
            // reorder the text around them ("Trojan Source").
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            // Line and paragraph separators, which some terminals treat as newlines.
            | '\u{2028}' | '\u{2029}'
        )
}

/// A server time clamped to `0..=MAX_EPOCH_MS`; anything not finite becomes 0.
pub fn time(ms: Millis) -> Millis {
    if ms.is_finite() {
        ms.clamp(0.0, MAX_EPOCH_MS)
    } else {
        0.0
    }
}

/// A whole-millisecond server time clamped to `..=MAX_EPOCH_MS`.
pub fn epoch_ms(ms: u64) -> u64 {
    // MAX_EPOCH_MS is 2^53, exact in both types.
    ms.min(1 << 53)
}

impl Sanitize for String {
    fn sanitize(&mut self) {
        if let Cow::Owned(clean) = text(self) {
            *self = clean;
        }
    }
}

impl<T: Sanitize> Sanitize for Option<T> {
    fn sanitize(&mut self) {
        if let Some(value) = self {
            value.sanitize();
        }
    }
}

impl<T: Sanitize> Sanitize for Vec<T> {
    fn sanitize(&mut self) {
        for value in self {
            value.sanitize();
        }
    }
}

impl Sanitize for DeviceAuthorization {
    fn sanitize(&mut self) {
        // The device code is a secret we only send back, never show.
        self.user_code.sanitize();
        self.verification_uri.sanitize();
        self.verification_uri_complete.sanitize();
        self.expires_in = self.expires_in.min(MAX_CODE_LIFETIME_SECS);
        self.interval = self.interval.min(MAX_POLL_INTERVAL_SECS);
    }
}

impl Sanitize for TokenResponse {
    fn sanitize(&mut self) {
        self.token_type.sanitize();
        self.expires_in = self.expires_in.min(MAX_ACCESS_LIFETIME_SECS);
    }
}

impl Sanitize for ErrorBody {
    fn sanitize(&mut self) {
        self.error_description.sanitize();
    }
}

impl Sanitize for Me {
    fn sanitize(&mut self) {
        self.id.sanitize();
        self.name.sanitize();
    }
}

impl Sanitize for Leaderboard {
    fn sanitize(&mut self) {
        self.entries.sanitize();
    }
}

impl Sanitize for LeaderboardEntry {
    fn sanitize(&mut self) {
        self.player_id.sanitize();
        self.name.sanitize();
    }
}

impl Sanitize for Sessions {
    fn sanitize(&mut self) {
        self.sessions.sanitize();
    }
}

impl Sanitize for SessionInfo {
    fn sanitize(&mut self) {
        self.id.sanitize();
        self.client.sanitize();
        self.client_id.sanitize();
        self.started_from.sanitize();
        self.started_at = epoch_ms(self.started_at);
        self.last_refresh_at = self.last_refresh_at.map(epoch_ms);
        self.last_played_at = self.last_played_at.map(epoch_ms);
        self.expires_at = epoch_ms(self.expires_at);
    }
}

impl Sanitize for EndedSessions {
    fn sanitize(&mut self) {}
}

impl Sanitize for ServerMsg {
    fn sanitize(&mut self) {
        match self {
            Self::Welcome {
                player,
                server_time,
                ..
            } => {
                player.sanitize();
                *server_time = time(*server_time);
            }
            Self::Rooms { rooms } => rooms.sanitize(),
            Self::RoomState { room } => room.sanitize(),
            Self::Countdown { starts_at } => *starts_at = time(*starts_at),
            Self::MoleUp {
                mole_id,
                up_at,
                down_at,
                ..
            } => {
                mole_id.sanitize();
                *up_at = time(*up_at);
                *down_at = time(*down_at);
            }
            Self::MoleDown { mole_id, by, .. } => {
                mole_id.sanitize();
                by.sanitize();
            }
            Self::Score { player_id, by, .. } => {
                player_id.sanitize();
                by.sanitize();
            }
            Self::GameOver { ranking } => ranking.sanitize(),
            Self::Pong { t, server_time } => {
                *t = time(*t);
                *server_time = time(*server_time);
            }
            Self::ReauthOk { expires_at } => *expires_at = time(*expires_at),
            Self::Redirect { url, room_id, .. } => {
                url.sanitize();
                room_id.sanitize();
            }
            Self::Shutdown { message } => message.sanitize(),
            Self::Error { message, .. } => message.sanitize(),
        }
    }
}

impl Sanitize for PlayerRef {
    fn sanitize(&mut self) {
        self.id.sanitize();
        self.name.sanitize();
    }
}

impl Sanitize for RoomSummary {
    fn sanitize(&mut self) {
        self.id.sanitize();
        self.name.sanitize();
        self.code.sanitize();
    }
}

impl Sanitize for RoomView {
    fn sanitize(&mut self) {
        self.id.sanitize();
        self.name.sanitize();
        self.code.sanitize();
        self.host.sanitize();
        self.starts_at = self.starts_at.map(time);
        self.ends_at = self.ends_at.map(time);
        self.players.sanitize();
        self.moles.sanitize();
    }
}

impl Sanitize for PlayerView {
    fn sanitize(&mut self) {
        self.id.sanitize();
        self.name.sanitize();
    }
}

impl Sanitize for MoleView {
    fn sanitize(&mut self) {
        self.mole_id.sanitize();
        self.up_at = time(self.up_at);
        self.down_at = time(self.down_at);
    }
}

impl Sanitize for RankingEntry {
    fn sanitize(&mut self) {
        self.player_id.sanitize();
        self.name.sanitize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plain_text_as_it_is() {
        for s in [
            "alice",
            "Zoë_42-x",
            "http://localhost:8080/device?user_code=BCDF-GHJK",
        ] {
            assert!(matches!(text(s), Cow::Borrowed(_)), "{s}");
        }
        assert_eq!(text("日本語 ok"), "日本語 ok");
    }

    #[test]
    fn strips_escape_sequences_and_every_control() {
        // A title-setting OSC, a screen clear, an 8-bit CSI and a bell.
        let hostile = "\u{1b}]0;pwned\u{7}BCDF\u{1b}[2J\u{1b}[H-\u{9b}31mGHJK\u{7f}\u{0}";
        assert_eq!(text(hostile), "]0;pwnedBCDF[2J[H-31mGHJK");
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let cleaned = text(&format!("a{c}b")).into_owned();
            assert!(!cleaned.contains(c), "U+{:04X} survived", u32::from(c));
        }
    }

    #[test]
    fn line_breaks_become_spaces_and_overrides_go() {
        assert_eq!(text("one\ntwo\tthree\r"), "one two three ");
        assert_eq!(text("abc\u{202e}fed\u{2066}x\u{2028}y"), "abcfedxy");
    }

    #[test]
    fn cuts_long_text_and_says_so() {
        let long = "x".repeat(MAX_TEXT_CHARS + 100);
        let cut = text(&long);
        assert_eq!(cut.chars().count(), MAX_TEXT_CHARS);
        assert!(cut.ends_with('…'));
        let exact = "y".repeat(MAX_TEXT_CHARS);
        assert!(matches!(text(&exact), Cow::Borrowed(_)));
    }

    #[test]
    fn times_are_clamped_and_finite() {
        assert_eq!(time(1.5e12), 1.5e12);
        assert_eq!(time(-5.0), 0.0);
        assert_eq!(time(1e300), MAX_EPOCH_MS);
        assert_eq!(time(f64::NAN), 0.0);
        assert_eq!(time(f64::INFINITY), 0.0);
    }

    #[test]
    fn decoding_sanitizes_http_answers() {
        let json = br#"{"device_code":"whd_x","user_code":"\u001b]0;t\u0007BCDF-GHJK",
            "verification_uri":"http://x/device\u001b[2J",
            "verification_uri_complete":"http://x/device?user_code=BCDF-GHJK\u009b",
            "expires_in":18446744073709551615,"interval":18446744073709551615}"#;
        let a: DeviceAuthorization = decode_json(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.user_code, "]0;tBCDF-GHJK");
        assert_eq!(a.verification_uri, "http://x/device[2J");
        assert_eq!(
            a.verification_uri_complete,
            "http://x/device?user_code=BCDF-GHJK"
        );
        assert_eq!(a.expires_in, MAX_CODE_LIFETIME_SECS);
        assert_eq!(a.interval, MAX_POLL_INTERVAL_SECS);

        let json = br#"{"access_token":"a","token_type":"Bearer\u001b","expires_in":18446744073709551615,"refresh_token":"whr_r"}"#;
        let t: TokenResponse = decode_json(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.expires_in, MAX_ACCESS_LIFETIME_SECS);
        assert_eq!(t.token_type, "Bearer");

        let json = br#"{"error":"invalid_request","error_description":"no\u001b[31m red"}"#;
        let e: ErrorBody = decode_json(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.error_description.as_deref(), Some("no[31m red"));
    }

    #[test]
    fn decoding_sanitizes_every_string_of_a_room() {
        let json = br#"{"type":"room_state","room":{"id":"r\u001b1","name":"\u001b]2;x\u0007den",
            "code":"AB\u0007","host":"p\u00071","state":"playing","round_secs":60,
            "starts_at":-1e308,"ends_at":1e308,
            "players":[{"id":"p\u00071","name":"ev\u001b[2Jil","score":1,"connected":true}],
            "moles":[{"mole_id":"m\u001b","hole":3,"kind":"normal","up_at":-1,"down_at":1e308}]}}"#;
        let msg: ServerMsg = decode_json(json).unwrap_or_else(|e| panic!("{e}"));
        let ServerMsg::RoomState { room } = msg else {
            panic!("not a room_state")
        };
        assert_eq!(room.id, "r1");
        assert_eq!(room.name, "]2;xden");
        assert_eq!(room.code.as_deref(), Some("AB"));
        assert_eq!(room.host, "p1");
        assert_eq!(room.starts_at, Some(0.0));
        assert_eq!(room.ends_at, Some(MAX_EPOCH_MS));
        assert_eq!(room.players[0].id, "p1");
        assert_eq!(room.players[0].name, "ev[2Jil");
        assert_eq!(room.moles[0].mole_id, "m");
        assert_eq!(
            (room.moles[0].up_at, room.moles[0].down_at),
            (0.0, MAX_EPOCH_MS)
        );
    }
}
