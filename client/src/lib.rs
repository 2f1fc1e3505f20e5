//! The Whack terminal client: login, token storage and the game TUI.
#![forbid(unsafe_code)]

pub mod auth;
pub mod block_art;
pub mod sanitize;
pub mod tui;
