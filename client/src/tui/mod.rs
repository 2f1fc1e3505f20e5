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
pub mod state;
pub mod theme;
pub mod ui;
pub mod update;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod snapshot_tests;
