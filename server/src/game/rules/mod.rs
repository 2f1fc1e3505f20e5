//! The whack-a-mole round as a pure state machine: time is passed in, randomness
//! comes from a seed, and every change comes out as an [`Event`] that maps onto
//! one [`ServerMsg`](whack_shared::protocol::ServerMsg). Nothing here does I/O or
//! knows about rooms, sockets or tasks; [`super::runtime`] drives it.
//!
//! How a room drives it: [`Game::start`] returns the round and the `countdown` to
//! broadcast; then it sleeps until [`Game::next_deadline`], calls [`Game::tick`], and
//! passes every whack to [`Game::whack`] with the time it arrived. Each event goes
//! to its [`Audience`]; the room serializes a broadcast once and fans out the bytes.
//!
//! Decisions the rules leave open:
//! - A whack within [`LATE_WINDOW_MS`] after a mole *expired* is also `late` (no
//!   `by`): the whacker saw it up, so lag should not cost them a point.
//! - A hole stays empty for [`LATE_WINDOW_MS`] after its mole goes down, so a late
//!   whack can never land on the next mole by accident.
//! - A mole is up from `up_at` until just before `down_at`; a whack at `down_at` is late.
//! - A refused whack ([`WhackError`]) changes nothing; a rate-limited one only bumps
//!   the player's [`PlayerStats::dropped`] and should not be answered one by one.
//! - Moles never outlive the round: the schedule pops none that could not stay up
//!   for [`MIN_UP_MS`] before the end.

mod engine;
mod event;
mod round_error;
mod scoring;
mod spawner;
mod whack_cap;

#[cfg(test)]
mod proptests;

pub use engine::{DEFAULT_COUNTDOWN_MS, Game, GameConfig, LATE_WINDOW_MS, Phase};
pub use event::{Audience, Event};
pub use round_error::{ConfigError, WhackError};
pub use scoring::PlayerStats;
pub use spawner::{MAX_GOLDEN_UP_MS, MAX_UP_MS, MIN_UP_MS};
