//! Knobs of the game side, taken from the server's configuration.

use std::time::Duration;

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
}

impl Default for GameSettings {
    fn default() -> Self {
        Self {
            allow_seeded_rooms: false,
            countdown_ms: super::DEFAULT_COUNTDOWN_MS,
            quick_fill: Duration::from_secs(3),
            quick_solo: Duration::from_secs(10),
            reconnect_grace: Duration::from_secs(whack_shared::protocol::RECONNECT_GRACE_SECS),
            heartbeat: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
        }
    }
}
