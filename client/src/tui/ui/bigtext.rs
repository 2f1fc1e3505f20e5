//! A 5×5 block font drawn with half blocks (three rows high), for the login code
//! and the countdown.

/// Glyph rows, `#` lit; a blank cell for characters the font lacks.
fn glyph(c: char) -> [&'static str; 5] {
    crate::font::glyph(c).unwrap_or(["     "; 5])
}

/// Columns one character takes, with its gap.
pub const CHAR_W: usize = 6;
/// Rows the big text takes.
pub const ROWS: usize = 3;

/// Columns `text` takes in the big font.
pub fn width(text: &str) -> usize {
    (text.chars().count() * CHAR_W).saturating_sub(1)
}

/// The three text rows of `text` in the big font.
pub fn render(text: &str) -> [String; ROWS] {
    let glyphs: Vec<_> = text.chars().map(glyph).collect();
    let lit = |g: &[&str; 5], row: usize, col: usize| {
        g.get(row).and_then(|r| r.as_bytes().get(col)) == Some(&b'#')
    };
    let mut out: [String; ROWS] = Default::default();
    for (i, line) in out.iter_mut().enumerate() {
        for (n, g) in glyphs.iter().enumerate() {
            if n > 0 {
                line.push(' ');
            }
            for col in 0..5 {
                let top = lit(g, 2 * i, col);
                let bottom = lit(g, 2 * i + 1, col);
                line.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
        }
    }
    out
}
