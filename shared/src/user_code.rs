//! The user code a player types into the browser: 8 letters shown as `XXXX-XXXX`.

/// Letters a user code is drawn from: no vowels (no words), no look-alikes.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code.
pub const LEN: usize = 8;

/// Normalizes typed input: case-insensitive, dashes and spaces ignored.
/// Returns the 8 canonical letters, or `None` if the input cannot be a code.
pub fn normalize(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let letters: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = letters.len() == LEN && letters.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(letters)
}

/// Formats 8 canonical letters as `XXXX-XXXX`.
pub fn display(canonical: &str) -> String {
    let (a, b) = canonical.split_at(canonical.len().min(LEN / 2));
    format!("{a}-{b}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_dashes_and_spaces() {
        assert_eq!(normalize("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize(" BC DF ghjk ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize("BCDFGHJ"), None);
        assert_eq!(
            normalize("BCDFGHJA"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalize("BCDFGHJKL"), None);
        assert_eq!(normalize("ÄCDFGHJK"), None);
    }

    #[test]
    fn displays_with_a_dash() {
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
    }
}
