//! Seated in a room before the round: who is here, the join code, who starts.

use super::fit;
use crate::tui::layout::centered;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};
use whack_shared::player_name;
use whack_shared::protocol::{MAX_PLAYERS, RoomPhase};
use whack_shared::user_code;

/// Draws the waiting room in `area`.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let Some(room) = &state.room else { return };
    let me = state.my_id();
    let mut lines = Vec::new();
    let kind = if room.private {
        "Private room"
    } else if room.quick {
        "Quick match"
    } else {
        "Public room"
    };
    lines.push(Line::from(vec![
        Span::styled(kind, theme.dim()),
        Span::styled(" · ", theme.dim()),
        Span::raw(format!("rounds of {} s", room.round_secs)),
    ]));
    if let Some(code) = &room.code {
        // Shown like a login code whatever the server's spelling.
        let code =
            user_code::normalize(code).map_or_else(|| code.clone(), |c| user_code::display(&c));
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::raw("Join code: "),
            Span::styled(format!(" {code} "), theme.key()),
        ]));
        lines.push(Line::styled(
            format!("  friends press j in the lobby, or run: whack join {code}"),
            theme.dim(),
        ));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        format!("Players {}/{}", room.players.len(), MAX_PLAYERS),
        theme.title(),
    ));
    for p in &room.players {
        let mine = Some(p.id.as_str()) == me;
        let mut spans = vec![
            Span::raw(if p.id == room.host { " ★ " } else { "   " }),
            Span::styled(
                fit(&p.name, player_name::MAX_LEN),
                if mine {
                    theme.me()
                } else {
                    ratatui::style::Style::new()
                },
            ),
        ];
        if mine {
            spans.push(Span::styled(" (you)", theme.dim()));
        }
        if p.id == room.host {
            spans.push(Span::styled(" host", theme.dim()));
        }
        if !p.connected {
            spans.push(Span::styled(" — away, seat kept", theme.accent()));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    let host_name = state.player_name(&room.host);
    lines.push(if room.state == RoomPhase::Finished && !state.is_host() {
        Line::styled(
            format!("Round over. Waiting for {host_name} to start another…"),
            theme.dim(),
        )
    } else if room.quick && state.is_host() {
        Line::from(vec![
            Span::raw("Quick match: starts by itself soon, or press "),
            Span::styled(" Enter ", theme.key()),
            Span::raw(" now."),
        ])
    } else if room.quick {
        Line::styled(
            "Quick match: the round starts by itself in a moment.",
            theme.dim(),
        )
    } else if state.is_host() {
        Line::from(vec![
            Span::raw("You are the host. Press "),
            Span::styled(" Enter ", theme.key()),
            Span::raw(" to start the round."),
        ])
    } else {
        Line::styled(
            format!("Waiting for {host_name} to start the round…"),
            theme.dim(),
        )
    });
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, 64, h);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border())
        .title(Line::styled(
            format!(" {} ", fit(&room.name, 40)),
            theme.title(),
        ));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}
