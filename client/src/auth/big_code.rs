//! The user code in big block letters, so it is easy to read off the terminal.

/// Rows of every glyph.
pub const HEIGHT: usize = 5;

/// 5×5 glyphs for the user-code alphabet and the dash, `#` = ink.
fn glyph(c: char) -> Option<[&'static str; HEIGHT]> {
    Some(match c {
        'B' => ["#### ", "#   #", "#### ", "#   #", "#### "],
        'C' => [" ####", "#    ", "#    ", "#    ", " ####"],
        'D' => ["#### ", "#   #", "#   #", "#   #", "#### "],
        'F' => ["#####", "#    ", "#### ", "#    ", "#    "],
        'G' => [" ####", "#    ", "#  ##", "#   #", " ####"],
        'H' => ["#   #", "#   #", "#####", "#   #", "#   #"],
        'J' => ["  ###", "   # ", "   # ", "#  # ", " ##  "],
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
        '-' => ["     ", "     ", " ### ", "     ", "     "],
        _ => return None,
    })
}

/// The code in block letters, one string per row; `None` if a character has no glyph
/// (then show the code as plain text only).
pub fn render(code: &str) -> Option<Vec<String>> {
    let glyphs = code
        .chars()
        .map(|c| glyph(c.to_ascii_uppercase()))
        .collect::<Option<Vec<_>>>()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_letter_has_a_glyph() {
        for &b in whack_shared::user_code::ALPHABET {
            let g = glyph(char::from(b)).unwrap_or_else(|| panic!("{}", char::from(b)));
            assert!(g.iter().all(|r| r.len() == 5));
        }
    }

    #[test]
    fn renders_rows_of_equal_width() {
        let rows = render("BCDF-GHJK").unwrap_or_default();
        assert_eq!(rows.len(), HEIGHT);
        assert!(rows.iter().all(|r| r.chars().count() == 9 * 6 - 1));
        assert_eq!(render("ABCD"), None);
    }
}
