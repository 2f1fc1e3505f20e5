//! After the round: winner, ranking and what changed in the player's stats.

use super::fit;
use crate::tui::layout::centered;
use crate::tui::state::{Results, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table};
use whack_shared::player_name;

/// Draws the results in `area`.
pub fn draw(frame: &mut Frame<'_>, area: Rect, state: &State, results: &Results, theme: Theme) {
    let me = state.my_id();
    let winners: Vec<&str> = results
        .ranking
        .iter()
        .filter(|r| r.rank == 1)
        .map(|r| r.name.as_str())
        .collect();
    let i_won = results
        .ranking
        .iter()
        .any(|r| r.rank == 1 && Some(r.player_id.as_str()) == me);
    let headline = match (winners.as_slice(), i_won) {
        ([], _) => "Round over".to_owned(),
        ([_], true) => "★ You win! ★".to_owned(),
        ([one], false) => format!("★ {} wins! ★", fit(one, player_name::MAX_LEN)),
        (many, _) => format!("★ Tie: {} ★", fit(&many.join(", "), 40)),
    };
    let rows = u16::try_from(results.ranking.len()).unwrap_or(8);
    let rect = centered(area, 72, rows + 10);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border())
        .title(Line::styled(" Results ", theme.title()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [head, table_area, stats] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(rows + 2),
        Constraint::Min(1),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(Line::styled(headline, theme.accent())).alignment(Alignment::Center),
        head,
    );
    let table_rows = results.ranking.iter().map(|r| {
        let mine = Some(r.player_id.as_str()) == me;
        let name = if mine {
            format!("{} (you)", r.name)
        } else {
            r.name.clone()
        };
        let medal = if r.rank == 1 { "★" } else { " " };
        Row::new(vec![
            Cell::from(format!("{medal}{:>2}.", r.rank)),
            Cell::from(name),
            Cell::from(format!("{:>5}", r.score)),
            Cell::from(format!("{:>4}", r.hits)),
            Cell::from(format!("{:>6}", r.misses)),
            Cell::from(format!("{:>5}", r.bombs)),
        ])
        .style(if mine { theme.me() } else { Style::new() })
    });
    let header = Row::new(vec!["  #", "Player", "Score", "Hits", "Misses", "Bombs"])
        .style(theme.dim())
        .bottom_margin(1);
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(4),
            Constraint::Min(10),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Length(6),
        ],
    )
    .header(header);
    frame.render_widget(table, table_area);
    frame.render_widget(Paragraph::new(stats_lines(state, results, theme)), stats);
}

fn stats_lines<'a>(state: &State, results: &Results, theme: Theme) -> Vec<Line<'a>> {
    let Some(me) = &state.me else {
        return vec![Line::styled("loading your stats…", theme.dim())];
    };
    let now = me.stats;
    let delta = |new: u64, old: Option<u64>| match old {
        Some(o) if new > o => format!(" (+{})", new - o),
        _ => String::new(),
    };
    let before = results.stats_before;
    let best_note = match before {
        Some(b) if now.best_score > b.best_score && now.games > b.games => "  new best!",
        _ => "",
    };
    vec![
        Line::default(),
        Line::styled("Your stats", theme.title()),
        Line::from(vec![
            Span::styled("games ", theme.dim()),
            Span::raw(format!(
                "{}{}",
                now.games,
                delta(now.games, before.map(|b| b.games))
            )),
            Span::styled("   wins ", theme.dim()),
            Span::raw(format!(
                "{}{}",
                now.wins,
                delta(now.wins, before.map(|b| b.wins))
            )),
            Span::styled("   best ", theme.dim()),
            Span::raw(now.best_score.to_string()),
            Span::styled(best_note, theme.good()),
        ]),
        Line::from(vec![
            Span::styled("hits ", theme.dim()),
            Span::raw(now.hits.to_string()),
            Span::styled("   misses ", theme.dim()),
            Span::raw(now.misses.to_string()),
            Span::styled("   bombs ", theme.dim()),
            Span::raw(now.bombs.to_string()),
        ]),
    ]
}
