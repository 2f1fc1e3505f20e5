//! A screen as a reviewer can read it: the text, then the same grid with one letter
//! per cell naming its style, then a legend from letters to colours and modifiers.
//! A wrong colour changes a letter or a legend line, so a snapshot of it can fail.

use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};
use ratatui::text::Span;
use std::fmt::Write;

/// Letters for the styles, in order of first appearance; `.` is the default style.
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// What the map tells apart: colours and modifiers (not the underline colour, unused).
type Style = (Color, Color, Modifier);

fn style_of(cell: &Cell) -> Style {
    (cell.fg, cell.bg, cell.modifier)
}

/// The text, the style map and its legend of `buffer`.
pub fn render(buffer: &Buffer) -> String {
    let default: Style = (Color::Reset, Color::Reset, Modifier::empty());
    let mut styles: Vec<Style> = Vec::new();
    let (w, h) = (buffer.area.width, buffer.area.height);
    let mut text = String::new();
    let mut map = String::new();
    for y in 0..h {
        // A wide character covers the next cell too; the text skips it, the map
        // keeps a letter per cell so both grids stay the same width.
        let mut covered = 0;
        for x in 0..w {
            let cell = &buffer[(x, y)];
            if covered > 0 {
                covered -= 1;
            } else {
                text.push_str(cell.symbol());
                covered = Span::raw(cell.symbol()).width().saturating_sub(1);
            }
            let style = style_of(cell);
            let letter = if style == default {
                '.'
            } else {
                let i = styles.iter().position(|s| *s == style).unwrap_or_else(|| {
                    styles.push(style);
                    styles.len() - 1
                });
                LETTERS.chars().nth(i).unwrap_or('?')
            };
            map.push(letter);
        }
        text.push('\n');
        map.push('\n');
    }
    let mut out = text;
    out.push_str("-- styles (one letter a cell; . = default) --\n");
    out.push_str(&map);
    out.push_str("-- legend --\n");
    for (style, letter) in styles.iter().zip(LETTERS.chars()) {
        let _ = writeln!(out, "{letter}  {}", describe(*style));
    }
    out
}

/// `fg Black, bg Cyan, BOLD`, leaving out what is the terminal's default.
fn describe((fg, bg, modifier): Style) -> String {
    let mut parts = Vec::new();
    if fg != Color::Reset {
        parts.push(format!("fg {fg}"));
    }
    if bg != Color::Reset {
        parts.push(format!("bg {bg}"));
    }
    if !modifier.is_empty() {
        parts.push(format!("{modifier:?}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style as RStyle;

    #[test]
    fn each_style_gets_a_letter_and_a_legend_line() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 6, 2));
        buffer.set_string(0, 0, "ab", RStyle::new().fg(Color::Red));
        buffer.set_string(3, 1, "c", RStyle::new().bg(Color::Cyan).bold());
        buffer.set_string(4, 1, "d", RStyle::new().fg(Color::Red));
        assert_eq!(
            render(&buffer),
            "ab    \n   cd \n\
             -- styles (one letter a cell; . = default) --\n\
             aa....\n...ba.\n\
             -- legend --\n\
             a  fg Red\n\
             b  bg Cyan, BOLD\n"
        );
    }
}
