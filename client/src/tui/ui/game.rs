//! The round: countdown, the 3×3 board, scores, time left and round-trip time.

use super::{clock, fit};
use crate::block_art::big_text;
use crate::tui::keymap::keys_for_hole;
use crate::tui::layout::{self, centered};
use crate::tui::state::{Conn, FlashKind, Game, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use whack_shared::protocol::{MoleKind, RoomPhase};

/// Draws the game in `area`.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, game: &Game, theme: Theme) {
    let parts = layout::board(area);
    let countdown = state.countdown_left().filter(|&ms| ms > 0.0);
    for (i, rect) in parts.holes.iter().enumerate() {
        hole(frame, *rect, state, game, i, theme);
    }
    side(frame, parts.side, state, game, theme);
    if let Some(ms) = countdown {
        let digit = format!("{}", (ms / 1000.0).ceil().max(1.0) as u64);
        let lines: Vec<Line<'_>> = std::iter::once(Line::styled("Get ready!", theme.title()))
            .chain(std::iter::once(Line::default()))
            .chain(
                big_text::half_rows(&digit)
                    .into_iter()
                    .map(|r| Line::styled(r, theme.accent())),
            )
            .chain([
                Line::default(),
                Line::styled(
                    "keys 7 8 9 / 4 5 6 / 1 2 3 or q w e / a s d / z x c",
                    theme.dim(),
                ),
            ])
            .collect();
        let rect = centered(parts.board, 58.min(parts.board.width), 9);
        frame.render_widget(Clear, rect);
        frame.render_widget(
            Paragraph::new(lines).alignment(Alignment::Center).block(
                Block::bordered()
                    .border_type(BorderType::Double)
                    .border_style(theme.border()),
            ),
            rect,
        );
    } else if state.conn != Conn::Online {
        let rect = centered(parts.board, 44, 5);
        frame.render_widget(Clear, rect);
        // A seat is kept for a dropped player, not through a server shutdown.
        let promise = if state.going_away {
            "the server shut down: this round has ended"
        } else {
            "your seat and score are kept for 30 s"
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::styled("⟳ Reconnecting…", theme.accent()),
                Line::from(promise),
            ])
            .alignment(Alignment::Center)
            .block(Block::bordered().border_type(BorderType::Double)),
            rect,
        );
    }
}

/// Art for a mole: lines (the largest that fits) and a label that names it, so
/// kinds differ by shape and text, not only by colour.
fn mole_art(kind: MoleKind, rows: u16, cols: u16) -> (Vec<&'static str>, &'static str) {
    let huge = rows >= 8 && cols >= 19;
    let big = rows >= 4;
    match kind {
        MoleKind::Normal if huge => (
            vec![
                "   .-\"\"\"-.   ",
                "  /       \\  ",
                " |  o   o  | ",
                " |    ^    | ",
                "  \\  \\_/  /  ",
                "   '-----'   ",
            ],
            "MOLE +1",
        ),
        MoleKind::Golden if huge => (
            vec![
                " *  .-\"\"\"-.  * ",
                "   / $   $ \\   ",
                "* |    ^    | *",
                "   \\  \\_/  /   ",
                " *  '-----'  * ",
                "   *  * *  *   ",
            ],
            "GOLD +3",
        ),
        MoleKind::Bomb if huge => (
            vec![
                "      \\ | /  ",
                "       -*-   ",
                "   .---'---. ",
                "  / ####### \\",
                "  | ## X ## |",
                "   '-------' ",
            ],
            "BOMB -3",
        ),
        MoleKind::Normal if big => (vec![" .---. ", "( o o )", " \\_^_/ "], "MOLE +1"),
        MoleKind::Normal => (vec!["(o.o)"], "MOLE +1"),
        MoleKind::Golden if big => (vec!["*.---.*", "($ ^ $)", "*\\_o_/*"], "GOLD +3"),
        MoleKind::Golden => (vec!["$(^.^)$"], "GOLD +3"),
        MoleKind::Bomb if big => (vec!["  ,*'  ", " (###) ", " `---' "], "BOMB -3"),
        MoleKind::Bomb => (vec!["(#*#)"], "BOMB -3"),
    }
}

fn flash_art(kind: &FlashKind, rows: u16, theme: Theme) -> Option<(Vec<String>, Style)> {
    let big = rows >= 4;
    let lines: Vec<String> = match kind {
        FlashKind::Pressed => return None,
        FlashKind::Hit(MoleKind::Bomb, p) if big => {
            vec![
                "\\ | /".into(),
                "BOOM!".into(),
                "/ | \\".into(),
                format!("{p:+}"),
            ]
        }
        FlashKind::Hit(MoleKind::Bomb, p) => vec!["BOOM!".into(), format!("{p:+}")],
        FlashKind::Hit(kind, p) if big => {
            let word = if *kind == MoleKind::Golden {
                "GOLD!!"
            } else {
                "WHACK!"
            };
            vec![
                "\\ | /".into(),
                word.into(),
                "/ | \\".into(),
                format!("{p:+}"),
            ]
        }
        FlashKind::Hit(kind, p) => {
            let word = if *kind == MoleKind::Golden {
                "GOLD!!"
            } else {
                "WHACK!"
            };
            vec![word.into(), format!("{p:+}")]
        }
        FlashKind::Miss(d) => vec!["x miss x".into(), format!("{d:+}")],
        FlashKind::Late(name) => vec!["too late".into(), format!("{name} got it")],
        FlashKind::Other(name, p) => vec![name.clone(), format!("got it {p:+}")],
    };
    let style = match kind {
        FlashKind::Hit(MoleKind::Bomb, _) | FlashKind::Miss(_) => theme.bad(),
        FlashKind::Hit(..) => theme.good(),
        FlashKind::Late(_) => theme.accent(),
        _ => theme.dim(),
    };
    Some((lines, style))
}

fn hole(frame: &mut Frame<'_>, rect: Rect, state: &State, game: &Game, i: usize, theme: Theme) {
    let hole = u8::try_from(i).unwrap_or(0);
    let (n, l) = keys_for_hole(hole);
    let mole = state
        .room
        .as_ref()
        .and_then(|r| r.moles.iter().find(|m| m.hole == hole));
    let flash = game.flashes.get(i).and_then(|f| f.as_ref());
    let pressed = flash.is_some();
    let block = Block::bordered()
        .border_type(if pressed {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(if pressed {
            theme.accent()
        } else {
            theme.border()
        })
        .title(Line::styled(format!(" {n} {l} "), theme.dim()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let w = usize::from(inner.width);
    let (lines, style): (Vec<String>, Style) =
        match flash.and_then(|f| flash_art(&f.kind, inner.height, theme)) {
            Some(art) => art,
            None => match mole {
                Some(m) => {
                    let (art, label) = mole_art(m.kind, inner.height, inner.width);
                    let mut v: Vec<String> = art.into_iter().map(str::to_owned).collect();
                    v.push(label.to_owned());
                    (v, theme.mole(m.kind))
                }
                None if inner.height >= 8 && inner.width >= 19 => (
                    vec!["".into(), " .---------. ".into(), "(___________)".into()],
                    theme.dim(),
                ),
                None => (vec!["".into(), "(_____)".into()], theme.dim()),
            },
        };
    let keep = usize::from(inner.height);
    // When there is no room for the art, keep the label (last line): it names the mole.
    let lines: Vec<String> = if lines.len() > keep {
        lines[lines.len() - keep..].to_vec()
    } else {
        lines
    };
    let pad = inner
        .height
        .saturating_sub(u16::try_from(lines.len()).unwrap_or(0))
        / 2;
    let text: Vec<Line<'_>> = lines
        .into_iter()
        .map(|s| Line::styled(fit(&s, w), style))
        .collect();
    let target = Rect::new(inner.x, inner.y + pad, inner.width, inner.height - pad);
    frame.render_widget(Paragraph::new(text).alignment(Alignment::Center), target);
}

fn side(frame: &mut Frame<'_>, area: Rect, state: &State, game: &Game, theme: Theme) {
    let Some(room) = &state.room else { return };
    let me = state.my_id();
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines = Vec::new();
    let left = match room.state {
        RoomPhase::Countdown if state.countdown_left().is_some_and(|ms| ms > 0.0) => {
            f64::from(room.round_secs) * 1000.0
        }
        RoomPhase::Finished => 0.0,
        _ => state
            .time_left()
            .unwrap_or(f64::from(room.round_secs) * 1000.0),
    };
    lines.push(Line::from(vec![
        Span::styled("Time  ", theme.dim()),
        Span::styled(
            clock(left),
            if left < 10_000.0 {
                theme.bad()
            } else {
                theme.accent()
            },
        ),
    ]));
    let rtt = state
        .rtt_ms
        .map_or("—".to_owned(), |r| format!("{r:.0} ms"));
    lines.push(Line::from(vec![
        Span::styled("RTT   ", theme.dim()),
        Span::raw(rtt),
    ]));
    lines.push(Line::default());
    lines.push(Line::styled("Scores", theme.title()));
    let mut players: Vec<_> = room.players.iter().collect();
    players.sort_by(|a, b| b.score.cmp(&a.score).then(a.name.cmp(&b.name)));
    for p in players {
        let mine = Some(p.id.as_str()) == me;
        let mark = if mine { "▶ " } else { "  " };
        let away = if p.connected { "" } else { " (away)" };
        let score = format!("{:>5}", p.score);
        let name_w = width.saturating_sub(score.len() + 3);
        let name = fit(&format!("{}{away}", p.name), name_w);
        let line = format!("{mark}{name:<name_w$} {score}");
        lines.push(Line::styled(
            line,
            if mine { theme.me() } else { Style::new() },
        ));
    }
    lines.push(Line::default());
    if let Some(last) = &game.last {
        lines.push(Line::from(fit(last, width)));
    }
    if let Some(ms) = game.last_whack_ms {
        lines.push(Line::styled(
            format!("whack answered in {ms:.0} ms"),
            theme.dim(),
        ));
    }
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border())
        .title(Line::styled(" Round ", theme.title()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
