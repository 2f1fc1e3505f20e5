//! Knobs of the game side, taken from the server's configuration.

use std::time::Duration;

/// Open `/play` sockets one player may hold unless configured.
pub const DEFAULT_SOCKETS_PER_PLAYER: u32 = 4;
/// `/play` upgrades one player may make per second unless configured.
pub const DEFAULT_PLAYER_CONNECTS_PER_SEC: u32 = 10;
/// `/play` upgrades one client address may make per second unless configured.
pub const DEFAULT_ADDRESS_CONNECTS_PER_SEC: u32 = 30;
/// Wrong join codes per minute, per player and per address, unless configured.
pub const DEFAULT_JOIN_CODE_GUESSES_PER_MIN: u32 = 10;
/// Rooms open at once on one server unless configured.
pub const DEFAULT_MAX_ROOMS: u32 = 10_000;

/// Timings and switches the hub, rooms and sockets run by.
#[derive(Debug, Clone)]
pub struct GameSettings {
    /// Whether `create_room` may fix the seed (tests only).
    pub allow_seeded_rooms: bool,
    /// From `start_game` to the first moment moles may pop, in ms.
    pub countdown_ms: u32,
    /// A quick-match room with 2+ players starts this long after the second joined.
    pub quick_fill: Duration,
    /// A quick-match room with one player starts this long after it opened.
    pub quick_solo: Duration,
    /// How long a dropped player keeps their seat.
    pub reconnect_grace: Duration,
    /// How often the server pings an open connection.
    pub heartbeat: Duration,
    /// A connection silent this long (not even a pong) is closed.
    pub idle_timeout: Duration,
    /// Open `/play` sockets per player; one more is refused (4008).
    pub sockets_per_player: u32,
    /// `/play` upgrades per player per second; more get 429.
    pub player_connects_per_sec: u32,
    /// `/play` upgrades per client address per second; more get 429.
    pub address_connects_per_sec: u32,
    /// Wrong join codes per minute, per player and per address.
    pub join_code_guesses_per_min: u32,
    /// Rooms open at once.
    pub max_rooms: u32,
}

impl Default for GameSettings {
    fn default() -> Self {
        Self {
            allow_seeded_rooms: false,
            countdown_ms: crate::game::rules::DEFAULT_COUNTDOWN_MS,
            quick_fill: Duration::from_secs(3),
            quick_solo: Duration::from_secs(10),
            reconnect_grace: Duration::from_secs(whack_shared::protocol::RECONNECT_GRACE_SECS),
            heartbeat: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            sockets_per_player: DEFAULT_SOCKETS_PER_PLAYER,
            player_connects_per_sec: DEFAULT_PLAYER_CONNECTS_PER_SEC,
            address_connects_per_sec: DEFAULT_ADDRESS_CONNECTS_PER_SEC,
            join_code_guesses_per_min: DEFAULT_JOIN_CODE_GUESSES_PER_MIN,
            max_rooms: DEFAULT_MAX_ROOMS,
        }
    }
}
