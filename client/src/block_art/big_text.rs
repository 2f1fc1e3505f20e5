//! Big letters in a 5×5 block font, for the user code and the countdown: in full
//! blocks on the command line (`whack login`), in half blocks in the TUI.

use super::half_block;

/// Rows of every glyph.
pub const HEIGHT: usize = 5;
/// Columns one character takes, with its gap.
pub const CHAR_W: usize = 6;
/// Text rows the half-block form takes (two glyph rows a text row).
pub const HALF_ROWS: usize = HEIGHT.div_ceil(2);

/// Columns `text` takes in big letters, either form.
pub fn width(text: &str) -> usize {
    (text.chars().count() * CHAR_W).saturating_sub(1)
}

/// `text` in full blocks, one string per glyph row; `None` if a character has no
/// glyph (then show the text plainly only).
pub fn full_rows(text: &str) -> Option<Vec<String>> {
    let glyphs = text.chars().map(glyph).collect::<Option<Vec<_>>>()?;
    Some(
        (0..HEIGHT)
            .map(|row| {
                glyphs
                    .iter()
                    .map(|g| g[row].replace('#', "█"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect(),
    )
}

/// `text` in half blocks, three text rows; a character without a glyph is blank.
pub fn half_rows(text: &str) -> [String; HALF_ROWS] {
    const BLANK: [&str; HEIGHT] = ["     "; HEIGHT];
    let glyphs: Vec<_> = text.chars().map(|c| glyph(c).unwrap_or(BLANK)).collect();
    let lit = |g: &[&str; HEIGHT], row: usize, col: usize| {
        g.get(row).and_then(|r| r.as_bytes().get(col)) == Some(&b'#')
    };
    let mut out: [String; HALF_ROWS] = Default::default();
    for (i, line) in out.iter_mut().enumerate() {
        for (n, g) in glyphs.iter().enumerate() {
            if n > 0 {
                line.push(' ');
            }
            for col in 0..CHAR_W - 1 {
                line.push(half_block(lit(g, 2 * i, col), lit(g, 2 * i + 1, col)));
            }
        }
    }
    out
}

/// The 5×5 glyph of `c` (case-insensitive), `#` = ink; `None` if the font lacks it.
pub fn glyph(c: char) -> Option<[&'static str; HEIGHT]> {
    Some(match c.to_ascii_uppercase() {
        'B' => ["#### ", "#   #", "#### ", "#   #", "#### "],
        'C' => [" ####", "#    ", "#    ", "#    ", " ####"],
        'D' => ["#### ", "#   #", "#   #", "#   #", "#### "],
        'F' => ["#####", "#    ", "#### ", "#    ", "#    "],
        'G' => [" ####", "#    ", "#  ##", "#   #", " ####"],
        'H' => ["#   #", "#   #", "#####", "#   #", "#   #"],
        'J' => ["  ###", "    #", "    #", "#   #", " ### "],
        'K' => ["#   #", "#  # ", "###  ", "#  # ", "#   #"],
        'L' => ["#    ", "#    ", "#    ", "#    ", "#####"],
        'M' => ["#   #", "## ##", "# # #", "#   #", "#   #"],
        'N' => ["#   #", "##  #", "# # #", "#  ##", "#   #"],
        'P' => ["#### ", "#   #", "#### ", "#    ", "#    "],
        'Q' => [" ### ", "#   #", "# # #", "#  # ", " ## #"],
        'R' => ["#### ", "#   #", "#### ", "#  # ", "#   #"],
        'S' => [" ####", "#    ", " ### ", "    #", "#### "],
        'T' => ["#####", "  #  ", "  #  ", "  #  ", "  #  "],
        'V' => ["#   #", "#   #", "#   #", " # # ", "  #  "],
        'W' => ["#   #", "#   #", "# # #", "## ##", "#   #"],
        'X' => ["#   #", " # # ", "  #  ", " # # ", "#   #"],
        'Z' => ["#####", "   # ", "  #  ", " #   ", "#####"],
        '0' => [" ### ", "#  ##", "# # #", "##  #", " ### "],
        '1' => ["  #  ", " ##  ", "  #  ", "  #  ", " ### "],
        '2' => [" ### ", "#   #", "  ## ", " #   ", "#####"],
        '3' => ["#### ", "    #", " ### ", "    #", "#### "],
        '4' => ["#   #", "#   #", "#####", "    #", "    #"],
        '5' => ["#####", "#    ", "#### ", "    #", "#### "],
        '6' => [" ### ", "#    ", "#### ", "#   #", " ### "],
        '7' => ["#####", "    #", "   # ", "  #  ", "  #  "],
        '8' => [" ### ", "#   #", " ### ", "#   #", " ### "],
        '9' => [" ### ", "#   #", " ####", "    #", " ### "],
        '-' => ["     ", "     ", " ### ", "     ", "     "],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_the_user_code_alphabet_digits_and_dash() {
        let chars = whack_shared::user_code::ALPHABET
            .iter()
            .map(|b| char::from(*b))
            .chain('0'..='9')
            .chain(['-']);
        for c in chars {
            let g = glyph(c).unwrap_or_else(|| panic!("no glyph for {c}"));
            assert!(g.iter().all(|row| row.len() == 5), "{c}");
        }
        assert_eq!(glyph('b'), glyph('B'));
        assert_eq!(glyph('A'), None, "vowels never appear in codes");
    }

    #[test]
    fn both_forms_are_as_wide_as_width_says() {
        let code = "BCDF-GHJK";
        let full = full_rows(code).unwrap_or_default();
        assert_eq!(full.len(), HEIGHT);
        assert!(full.iter().all(|r| r.chars().count() == width(code)));
        let half = half_rows(code);
        assert!(half.iter().all(|r| r.chars().count() == width(code)));
        assert_eq!(full_rows("ABCD"), None);
    }

    #[test]
    fn half_blocks_stack_two_glyph_rows_a_line() {
        // `-` lights only its middle row (row 2): the second line's top halves.
        assert_eq!(half_rows("-"), ["     ", " ▀▀▀ ", "     "]);
        // `T`: a full top bar, then the stem through every row.
        assert_eq!(half_rows("T"), ["▀▀█▀▀", "  █  ", "  ▀  "]);
    }
}
