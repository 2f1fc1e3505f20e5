//! The game, in two layers:
//!
//! - [`rules`]: the round as a pure state machine (engine, scoring, the mole
//!   schedule, the per-player whack cap). No I/O, no tokio; never imports
//!   [`runtime`].
//! - [`runtime`]: the tasks around it: the hub (lobby, seats, quick match, open
//!   connections), one task per room, and one per `/play` connection with a
//!   handler per client message. It knows nothing of HTTP: the upgrade and the
//!   bearer check are `crate::http::play`.

pub mod rules;
pub mod runtime;

pub use rules::DEFAULT_COUNTDOWN_MS;
pub use runtime::settings;
pub use runtime::{GameHub, GameSettings};
