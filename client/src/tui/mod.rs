//! The terminal game: login screen, lobby, board and results.
//!
//! Elm architecture: every input, network message and timer becomes an
//! [`action::Action`]; [`update::update`] changes the [`state::State`] and returns
//! [`effect::Effect`]s for the runtime; [`ui::draw`] renders the state and nothing else.

pub mod action;
pub mod effect;
pub mod input;
pub mod keymap;
pub mod layout;
mod login_tasks;
pub mod net;
pub mod run;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod update;

pub use run::{Outcome, TuiConfig, TuiError, run};

#[cfg(test)]
mod first_hour_tests;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod style_map;
