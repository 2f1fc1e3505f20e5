//! The game's tasks: the hub (lobby, seats, quick match, every open
//! connection), one task per room driving a [`rules::Game`](super::rules::Game),
//! and one per `/play` connection. Nothing here knows about HTTP or the app's
//! state: `crate::http::play` checks the bearer token, upgrades, and hands the
//! socket to [`session::run`].
//!
//! Who talks to whom: a session sends its room [`handles::RoomCmd`]s and asks
//! the [`GameHub`] for seat changes; the hub spawns rooms and hands them
//! [`room_env::Services`] and itself as a [`room_env::Lobby`]; rooms queue
//! frames on [`handles::ConnLink`]s. Each client message has its handler in
//! [`messages`].

pub mod cluster;
mod conn;
pub mod conn_limits;
mod frames;
pub mod game_metrics;
pub mod handles;
pub mod hub;
mod messages;
pub mod outbox;
mod precise_timer;
mod room;
pub mod room_env;
pub mod room_error;
pub mod session;
pub mod settings;

#[cfg(test)]
mod lobby_tests;

pub use conn::TokenCheck;
pub use frames::classify;
pub use hub::GameHub;
pub use settings::GameSettings;
