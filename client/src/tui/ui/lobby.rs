//! The lobby: the player's card, public rooms (live) and the leaderboard.

use super::fit;
use crate::tui::layout::{self, lobby_scroll};
use crate::tui::state::{Conn, Lobby, LobbyView, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table, Wrap};
use whack_shared::protocol::RoomPhase;
use whack_shared::user_code;

/// Draws the lobby in `area`.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, lobby: &Lobby, theme: Theme) {
    let parts = layout::lobby(area);
    profile(frame, parts.profile, state, theme);
    match lobby.view {
        LobbyView::Rooms => rooms(frame, parts.list, state, lobby, theme),
        LobbyView::Leaderboard => leaderboard(frame, parts.list, state, theme),
    }
}

fn block(title: String, theme: Theme) -> Block<'static> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border())
        .title(Line::styled(title, theme.title()))
}

fn profile(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let name = state.my_name().unwrap_or("…").to_owned();
    let mut lines = Vec::new();
    match &state.me {
        Some(me) => {
            let s = me.stats;
            let rate = (s.wins * 100).checked_div(s.games).unwrap_or(0);
            let row = |k: &str, v: String| {
                Line::from(vec![
                    Span::styled(format!("{k:<8}"), theme.dim()),
                    Span::raw(v),
                ])
            };
            lines.push(row("Games", s.games.to_string()));
            lines.push(row("Wins", format!("{} ({rate}%)", s.wins)));
            lines.push(row("Best", s.best_score.to_string()));
            lines.push(row("Hits", s.hits.to_string()));
            lines.push(row("Misses", s.misses.to_string()));
            lines.push(row("Bombs", s.bombs.to_string()));
        }
        None => lines.push(Line::styled("loading stats…", theme.dim())),
    }
    if state.insecure_storage.is_some() {
        lines.push(Line::default());
        lines.push(Line::styled("⚠ plain-file login", theme.bad()));
        lines.push(Line::styled("not in the keyring", theme.dim()));
        lines.push(Line::styled("see `whack status`", theme.dim()));
    }
    let title = format!(
        " {} ",
        fit(&name, usize::from(area.width.saturating_sub(4)))
    );
    frame.render_widget(
        Paragraph::new(lines)
            .block(block(title, theme))
            .wrap(Wrap { trim: true }),
        area,
    );
}

/// How a room's phase reads in the list.
pub fn phase_label(phase: RoomPhase) -> &'static str {
    match phase {
        RoomPhase::Waiting => "waiting",
        RoomPhase::Countdown => "starting",
        RoomPhase::Playing => "playing",
        RoomPhase::Finished => "finished",
    }
}

fn rooms(frame: &mut Frame<'_>, area: Rect, state: &State, lobby: &Lobby, theme: Theme) {
    let online = state.conn == Conn::Online;
    let title = if online {
        format!(" Public rooms ({}) ", state.rooms.len())
    } else {
        " Public rooms ".to_owned()
    };
    if state.rooms.is_empty() || !online {
        let lines = if online {
            vec![
                Line::default(),
                Line::from("No public rooms right now."),
                Line::default(),
                Line::from(vec![
                    Span::raw("Press "),
                    Span::styled(" m ", theme.key()),
                    Span::raw(" for a quick match, or "),
                    Span::styled(" c ", theme.key()),
                    Span::raw(" to create a room."),
                ]),
            ]
        } else {
            // What the server listed before is not known to be true any more, and
            // nothing that needs the server can be done: say so, offer nothing.
            vec![
                Line::default(),
                Line::styled("Not connected to the server.", theme.accent()),
                Line::default(),
                Line::from("The rooms come back as soon as the connection does."),
            ]
        };
        frame.render_widget(
            Paragraph::new(lines)
                .block(block(title, theme))
                .alignment(ratatui::layout::Alignment::Center)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let first = lobby_scroll(area, lobby.selected);
    let visible = layout::lobby_rows(area);
    let rows = state
        .rooms
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, r)| {
            let mark = if i == lobby.selected { "▶ " } else { "  " };
            let style = if i == lobby.selected {
                theme.selected()
            } else {
                ratatui::style::Style::new()
            };
            let full = r.players >= r.max_players;
            let code = r.code.as_deref().and_then(user_code::normalize);
            Row::new(vec![
                Cell::from(format!("{mark}{}", r.name)),
                Cell::from(code.map(|c| user_code::display(&c)).unwrap_or_default()),
                Cell::from(format!(
                    "{}/{}{}",
                    r.players,
                    r.max_players,
                    if full { " full" } else { "" }
                )),
                Cell::from(phase_label(r.state)),
                Cell::from(format!("{} s", r.round_secs)),
            ])
            .style(style)
        });
    let header = Row::new(vec!["  Room", "Code", "Players", "State", "Round"]).style(theme.dim());
    let table = Table::new(
        rows,
        [
            Constraint::Min(12),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(6),
        ],
    )
    .header(header)
    .block(block(title, theme));
    frame.render_widget(table, area);
}

fn leaderboard(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let title = " Leaderboard ".to_owned();
    let Some(board) = &state.leaderboard else {
        frame.render_widget(
            Paragraph::new(Line::styled("loading…", theme.dim())).block(block(title, theme)),
            area,
        );
        return;
    };
    if board.entries.is_empty() {
        frame.render_widget(
            Paragraph::new("Nobody has finished a round yet. Be the first!")
                .block(block(title, theme)),
            area,
        );
        return;
    }
    let me = state.my_id();
    let rows = board
        .entries
        .iter()
        .take(layout::lobby_rows(area))
        .map(|e| {
            let mine = Some(e.player_id.as_str()) == me;
            let name = if mine {
                format!("{} (you)", e.name)
            } else {
                e.name.clone()
            };
            Row::new(vec![
                Cell::from(format!("{:>3}.", e.rank)),
                Cell::from(name),
                Cell::from(e.best_score.to_string()),
                Cell::from(e.wins.to_string()),
                Cell::from(e.games.to_string()),
            ])
            .style(if mine {
                theme.me()
            } else {
                ratatui::style::Style::new()
            })
        });
    let header = Row::new(vec!["   #", "Player", "Best", "Wins", "Games"]).style(theme.dim());
    let table = Table::new(
        rows,
        [
            Constraint::Length(4),
            Constraint::Min(10),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(6),
        ],
    )
    .header(header)
    .block(block(title, theme));
    frame.render_widget(table, area);
}
