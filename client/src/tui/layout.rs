//! Screen geometry, shared by drawing and by mouse hit-testing so a click always
//! lands on what was drawn there.

use crate::tui::keymap::{Hint, hints};
use crate::tui::state::State;
use ratatui::layout::{Constraint, Layout, Rect};

/// Narrowest terminal the game is drawn in.
pub const MIN_COLS: u16 = 60;
/// Shortest terminal the game is drawn in.
pub const MIN_ROWS: u16 = 20;

/// Whether the terminal is too small to play.
pub fn too_small(area: Rect) -> bool {
    area.width < MIN_COLS || area.height < MIN_ROWS
}

/// The four bands of every screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    /// Title, player and connection.
    pub header: Rect,
    /// The screen itself.
    pub body: Rect,
    /// Toasts and the reconnecting note.
    pub status: Rect,
    /// Key hints (clickable).
    pub footer: Rect,
}

/// Splits the terminal into header, body, status line and footer.
pub fn bands(area: Rect) -> Bands {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Bands {
        header,
        body,
        status,
        footer,
    }
}

/// Where each hint sits in the footer; hints that do not fit are left out.
pub fn footer_buttons(state: &State, footer: Rect) -> Vec<(Rect, Hint)> {
    let mut all = hints(state);
    // The last hint is `?` (help): it stays even when others must go.
    let last = all.pop();
    let reserve = last.as_ref().map_or(0, |h| button_width(h) + GAP);
    let mut x = footer.x + 1;
    let end = footer.x.saturating_add(footer.width);
    let mut out = Vec::new();
    for h in all {
        let w = button_width(&h);
        if x.saturating_add(w + GAP + reserve) > end {
            break;
        }
        out.push((Rect::new(x, footer.y, w, 1), h));
        x = x.saturating_add(w + GAP);
    }
    if let Some(h) = last {
        let w = button_width(&h);
        if x.saturating_add(w) <= end {
            out.push((Rect::new(x, footer.y, w, 1), h));
        }
    }
    out
}

/// Columns between two footer buttons.
const GAP: u16 = 2;

/// Columns one footer button takes: `keys label`.
pub fn button_width(h: &Hint) -> u16 {
    let chars = h.keys.chars().count() + h.label.chars().count() + 1;
    u16::try_from(chars).unwrap_or(u16::MAX)
}

/// The game screen: the board, its nine holes and the side panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardLayout {
    /// The whole board.
    pub board: Rect,
    /// One rectangle per hole, row by row from the top left.
    pub holes: [Rect; 9],
    /// Scores, time and connection.
    pub side: Rect,
}

/// Lays the board out in the body: as large as fits, roughly square on screen.
pub fn board(body: Rect) -> BoardLayout {
    let side_w = if body.width >= 110 { 34 } else { 24 };
    let [left, side] =
        Layout::horizontal([Constraint::Min(1), Constraint::Length(side_w)]).areas(body);
    // Terminal cells are about twice as tall as wide: a hole 2w:1h looks square.
    let cell_h = (left.height / 3).max(1);
    let cell_w = (left.width / 3).min(cell_h.saturating_mul(3)).max(1);
    let board_w = cell_w * 3;
    let board_h = cell_h * 3;
    let board = Rect::new(
        left.x + (left.width - board_w) / 2,
        left.y + (left.height - board_h) / 2,
        board_w,
        board_h,
    );
    let mut holes = [Rect::default(); 9];
    for (i, hole) in holes.iter_mut().enumerate() {
        let (row, col) = ((i / 3) as u16, (i % 3) as u16);
        *hole = Rect::new(
            board.x + col * cell_w,
            board.y + row * cell_h,
            cell_w,
            cell_h,
        );
    }
    BoardLayout { board, holes, side }
}

/// The hole under a screen position, if any.
pub fn hole_at(body: Rect, col: u16, row: u16) -> Option<u8> {
    let pos = ratatui::layout::Position::new(col, row);
    board(body)
        .holes
        .iter()
        .position(|r| r.contains(pos))
        .and_then(|i| u8::try_from(i).ok())
}

/// The lobby: the player's card on one side, the room list or leaderboard on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LobbyLayout {
    /// Name and stats.
    pub profile: Rect,
    /// Rooms or leaderboard (with a border and a header row).
    pub list: Rect,
}

/// Lays out the lobby.
pub fn lobby(body: Rect) -> LobbyLayout {
    let profile_w = if body.width >= 100 { 32 } else { 22 };
    let [profile, list] =
        Layout::horizontal([Constraint::Length(profile_w), Constraint::Min(1)]).areas(body);
    LobbyLayout { profile, list }
}

/// Room list rows visible at once.
pub fn lobby_rows(list: Rect) -> usize {
    usize::from(list.height.saturating_sub(3))
}

/// First room shown so that `selected` stays visible.
pub fn lobby_scroll(list: Rect, selected: usize) -> usize {
    let rows = lobby_rows(list).max(1);
    selected.saturating_sub(rows - 1)
}

/// The room index under a screen row of the room list.
pub fn lobby_row_at(list: Rect, selected: usize, col: u16, row: u16) -> Option<usize> {
    let first = list.y + 2;
    let inside = col > list.x && col < list.x + list.width.saturating_sub(1);
    if !inside || row < first || row >= first + lobby_rows(list) as u16 {
        return None;
    }
    Some(lobby_scroll(list, selected) + usize::from(row - first))
}

/// A centred dialog of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
