//! What a room task is given: the services it shares with the hub
//! ([`Services`]) and the narrow [`Lobby`] through which it tells the hub about
//! itself. The hub implements [`Lobby`]; a room never sees the hub's fields.

use super::game_metrics::GameMetrics;
use super::settings::GameSettings;
use crate::clock::GameClock;
use crate::storage::StatsStore;
use std::sync::Arc;
use whack_shared::protocol::RoomSummary;

/// The services the hub and every room use.
pub struct Services {
    /// Timings and switches.
    pub settings: GameSettings,
    /// The clock every room and connection reads.
    pub clock: GameClock,
    /// Where finished rounds are recorded (durably, before the call returns).
    pub stats: Arc<dyn StatsStore>,
    /// The game's counters.
    pub metrics: GameMetrics,
}

/// What a room reports to the lobby about itself.
pub trait Lobby: Send + Sync {
    /// The room's summary for the public list changed.
    fn publish(&self, room: &str, summary: RoomSummary);
    /// The room gave up `player_id`'s seat (grace over, or a leave).
    fn unseat(&self, player_id: &str, room: &str);
    /// The room has closed itself.
    fn close_room(&self, room: &str);
}
