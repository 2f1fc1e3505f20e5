//! The frame around every screen: header, status line, footer and "too small".

use super::{clock, fit, spinner};
use crate::tui::keymap::{self, Command};
use crate::tui::layout;
use crate::tui::state::{Conn, Screen, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use whack_shared::player_name;

/// The message shown instead of the game when the terminal is too small.
pub fn too_small(frame: &mut Frame<'_>, area: Rect, theme: Theme) {
    let text = vec![
        Line::styled("Terminal too small", theme.bad()),
        Line::from(format!("{}×{} now", area.width, area.height)),
        Line::from(format!(
            "Please enlarge it to at least {}×{}.",
            layout::MIN_COLS,
            layout::MIN_ROWS
        )),
        Line::styled("Ctrl-C quits", theme.dim()),
    ];
    let y = area.height.saturating_sub(4) / 2;
    let rect = Rect::new(
        area.x,
        area.y + y,
        area.width,
        area.height.saturating_sub(y),
    );
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

/// The connection, in a few characters.
pub fn conn_label(state: &State) -> (String, bool) {
    match &state.conn {
        Conn::Offline => (String::new(), true),
        Conn::Connecting(n) if *n <= 1 => (format!("{} connecting", spinner(state.now)), false),
        Conn::Connecting(n) => (
            format!("{} connecting (try {n})", spinner(state.now)),
            false,
        ),
        Conn::Online => match state.rtt_ms {
            Some(rtt) => (format!("● online · rtt {rtt:.0} ms"), true),
            None => ("● online".to_owned(), true),
        },
        Conn::Retrying { retry_at, .. } => {
            let secs = ((retry_at - state.now) / 1000.0).ceil().max(0.0);
            (format!("⟳ reconnecting in {secs:.0}s"), false)
        }
        Conn::Incompatible(_) => ("✘ incompatible server".to_owned(), false),
    }
}

/// Brand, where the player is, who they are and the connection.
pub fn header(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let place = match &state.screen {
        Screen::Login(_) => "sign in".to_owned(),
        Screen::Lobby(_) => "lobby".to_owned(),
        Screen::Room | Screen::Game(_) | Screen::Results(_) => state
            .room
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_else(|| "room".into()),
    };
    let mut left = vec![
        Span::styled(" WHACK ", theme.key()),
        Span::raw(" "),
        Span::styled(fit(&place, 30), theme.title()),
    ];
    if let Some(name) = state.my_name() {
        left.push(Span::styled("  ·  ", theme.dim()));
        left.push(Span::raw(fit(name, player_name::MAX_LEN)));
    }
    let (conn, ok) = conn_label(state);
    let right = Span::styled(
        format!("{conn} "),
        if ok { theme.dim() } else { theme.accent() },
    );
    let right_w = u16::try_from(right.width()).unwrap_or(0).min(area.width);
    frame.render_widget(Line::from(left), area);
    let r = Rect::new(area.x + area.width - right_w, area.y, right_w, 1);
    frame.render_widget(Line::from(right), r);
}

/// Toasts, or the reconnecting note.
pub fn status(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let line = if let Some(toast) = &state.toast {
        let (mark, style) = if toast.error {
            ("✘ ", theme.bad())
        } else {
            ("✔ ", theme.good())
        };
        Line::from(vec![
            Span::styled(mark, style),
            Span::raw(toast.text.clone()),
        ])
    } else {
        match &state.conn {
            Conn::Retrying { reason, retry_at } => Line::from(vec![
                Span::styled("⟳ Reconnecting: ", theme.accent()),
                Span::raw(format!(
                    "{reason} — next try in {}",
                    clock((retry_at - state.now).max(0.0))
                )),
                // The lobby's footer may be cut short: the key that skips the wait
                // is named here too.
                Span::styled(
                    match (
                        &state.screen,
                        keymap::shown_for(state, Command::ReconnectNow),
                    ) {
                        (Screen::Lobby(_), Some(key)) => format!("  ({key}: now)"),
                        _ => String::new(),
                    },
                    theme.dim(),
                ),
            ]),
            Conn::Connecting(n) if *n > 1 => Line::styled(
                format!("⟳ Reconnecting to {} (attempt {n})…", state.server),
                theme.accent(),
            ),
            Conn::Incompatible(message) => Line::styled(format!("✘ {message}"), theme.bad()),
            _ => Line::default(),
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// Key hints; each is a clickable button.
pub fn footer(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    for (rect, hint) in layout::footer_buttons(state, area) {
        let line = Line::from(vec![
            Span::styled(hint.keys, theme.key()),
            Span::raw(format!(" {}", hint.label)),
        ]);
        frame.render_widget(line, rect);
    }
}
