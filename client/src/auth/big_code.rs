//! The user code in big block letters, so it is easy to read off the terminal.

use crate::font::{HEIGHT, glyph};

/// The code in block letters, one string per row; `None` if a character has no glyph
/// (then show the code as plain text only).
pub fn render(code: &str) -> Option<Vec<String>> {
    let glyphs = code.chars().map(glyph).collect::<Option<Vec<_>>>()?;
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
    fn renders_rows_of_equal_width() {
        let rows = render("BCDF-GHJK").unwrap_or_default();
        assert_eq!(rows.len(), HEIGHT);
        assert!(rows.iter().all(|r| r.chars().count() == 9 * 6 - 1));
        assert_eq!(render("ABCD"), None);
    }
}
