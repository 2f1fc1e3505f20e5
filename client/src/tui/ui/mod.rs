//! Drawing: `draw(frame, &state)` renders the state and changes nothing.

mod chrome;
mod game;
mod lobby;
mod login;
mod overlay;
mod results;
mod room;

use crate::tui::layout;
use crate::tui::state::{Screen, State};
use crate::tui::theme::Theme;
use ratatui::Frame;

/// Draws the whole screen for `state`.
pub fn draw(frame: &mut Frame<'_>, state: &State) {
    let area = frame.area();
    let theme = Theme::new(state.colour);
    if layout::too_small(area) {
        return chrome::too_small(frame, area, theme);
    }
    let bands = layout::bands(area);
    chrome::header(frame, bands.header, state, theme);
    match &state.screen {
        Screen::Login(phase) => login::draw(frame, bands.body, state, phase, theme),
        Screen::Lobby(lobby) => lobby::draw(frame, bands.body, state, lobby, theme),
        Screen::Room => room::draw(frame, bands.body, state, theme),
        Screen::Game(game) => game::draw(frame, bands.body, state, game, theme),
        Screen::Results(results) => results::draw(frame, bands.body, state, results, theme),
    }
    chrome::status(frame, bands.status, state, theme);
    chrome::footer(frame, bands.footer, state, theme);
    if let Some(modal) = &state.modal {
        overlay::modal(frame, bands.body, modal, state.seeded_rooms, theme);
    }
    if state.help {
        overlay::help(frame, bands.body, state, theme);
    }
}

/// The spinner frame for local time `now`.
fn spinner(now: f64) -> char {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let i = (now / 100.0).max(0.0) as usize % FRAMES.len();
    FRAMES[i]
}

/// `m:ss` for a number of milliseconds.
fn clock(ms: f64) -> String {
    let secs = (ms / 1000.0).ceil().max(0.0) as u64;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Cuts `text` to `max` characters, with an ellipsis when it was longer.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}
