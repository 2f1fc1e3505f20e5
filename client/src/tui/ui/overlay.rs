//! Things drawn on top of a screen: dialogs and the key help.

use crate::tui::keymap;
use crate::tui::layout::centered;
use crate::tui::state::{CreateField, Modal, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

fn dialog(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    lines: Vec<Line<'_>>,
    w: u16,
    theme: Theme,
) {
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.accent())
        .title(Line::styled(format!(" {title} "), theme.title()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// Draws a dialog; `seeded` shows the create form's seed field (servers that take one).
pub fn modal(frame: &mut Frame<'_>, area: Rect, modal: &Modal, seeded: bool, theme: Theme) {
    match modal {
        Modal::Create(form) => {
            let field = |f: CreateField, label: &str, value: String, help: &str| {
                let focused = form.focus == f;
                let mark = if focused { "▶ " } else { "  " };
                let vstyle = if focused {
                    theme.selected()
                } else {
                    Style::new()
                };
                Line::from(vec![
                    Span::raw(mark),
                    Span::styled(format!("{label:<11}"), theme.dim()),
                    Span::styled(value, vstyle),
                    Span::styled(format!("  {help}"), theme.dim()),
                ])
            };
            let name = if form.focus == CreateField::Name {
                format!("{}▏", form.name)
            } else if form.name.is_empty() {
                "(automatic)".to_owned()
            } else {
                form.name.clone()
            };
            let seed = if form.seed.is_empty() && form.focus != CreateField::Seed {
                "(random)".to_owned()
            } else if form.focus == CreateField::Seed {
                format!("{}▏", form.seed)
            } else {
                form.seed.clone()
            };
            let mut lines = vec![
                field(CreateField::Name, "Name", name, ""),
                field(
                    CreateField::Private,
                    "Visibility",
                    if form.private {
                        "◉ private (join code)"
                    } else {
                        "◉ public"
                    }
                    .to_owned(),
                    &field_keys(CreateField::Private),
                ),
                field(
                    CreateField::Round,
                    "Round",
                    format!("◀ {} s ▶", form.round_secs),
                    &field_keys(CreateField::Round),
                ),
            ];
            if seeded {
                lines.push(field(CreateField::Seed, "Seed", seed, "test servers only"));
            }
            dialog(frame, area, "Create a room", lines, 58, theme);
        }
        Modal::JoinCode(code) => {
            // Typed letters, grouped like the code the host sees (`XXXX-XXXX`).
            let shown = if code.len() > whack_shared::user_code::LEN / 2 {
                whack_shared::user_code::display(code)
            } else {
                code.clone()
            };
            let lines = vec![
                Line::from("Type the room's join code:"),
                Line::from(vec![
                    Span::raw("  "),
                    Span::styled(format!(" {shown}▏ "), theme.selected()),
                ]),
            ];
            dialog(frame, area, "Join by code", lines, 40, theme);
        }
        Modal::ConfirmLeave => dialog(
            frame,
            area,
            "Leave?",
            vec![Line::from(format!("Leave this room? {}", answers()))],
            36,
            theme,
        ),
        Modal::ConfirmLogout => dialog(
            frame,
            area,
            "Log out?",
            vec![Line::from(format!(
                "Log out and forget this login? {}",
                answers()
            ))],
            46,
            theme,
        ),
    }
}

/// The keys that change a create-form field, as the form shows them (`← →`).
fn field_keys(field: CreateField) -> String {
    let shown: Vec<&str> = keymap::field(field).iter().map(|b| b.shown).collect();
    shown.join(" ")
}

/// A yes/no question's keys, as `(y / n)`.
fn answers() -> String {
    let shown: Vec<&str> = keymap::CONFIRM.iter().map(|b| b.shown).collect();
    format!("({})", shown.join(" / "))
}

/// Draws the key help for the current screen.
pub fn help(frame: &mut Frame<'_>, area: Rect, state: &State, theme: Theme) {
    let key = |k: &str, what: &str| {
        Line::from(vec![
            Span::styled(format!(" {k:<14}"), theme.accent()),
            Span::raw(what.to_owned()),
        ])
    };
    let mut lines = vec![Line::styled("Board", theme.title())];
    lines.extend(keymap::board_help().iter().map(|(k, what)| key(k, what)));
    lines.push(key("click", "whack a hole, press a button"));
    lines.push(Line::styled("Moles", theme.title()));
    lines.push(key("MOLE (o o)", "+1"));
    lines.push(key("GOLD ($ $)", "+3, rare and quick"));
    lines.push(key("BOMB (###)", "-3, leave it alone"));
    lines.push(key("empty hole", "-1 (0 if someone just got it)"));
    lines.push(Line::styled("Here", theme.title()));
    lines.extend(
        keymap::help_lines(state)
            .iter()
            .map(|(k, what)| key(k, what)),
    );
    dialog(frame, area, "Keys", lines, 52, theme);
}
