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

/// Draws a code uniformly from [`ALPHABET`], taking bytes from `random_byte`
/// (which must be a CSPRNG: room and login codes are secrets). Bytes of 240 and
/// up are skipped, so every letter is equally likely (240 = 12 × 20).
pub fn draw(mut random_byte: impl FnMut() -> u8) -> String {
    let mut code = String::with_capacity(LEN);
    while code.len() < LEN {
        let b = random_byte();
        if b < 240 {
            code.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        }
    }
    code
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
    fn draws_valid_codes_skipping_biased_bytes() {
        let mut bytes = [250u8, 0, 19, 20, 239, 240, 1, 2, 3, 4].into_iter().cycle();
        let code = draw(|| bytes.next().unwrap_or(0));
        assert_eq!(code, "BZBZCDFG");
        assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
    }

    #[test]
    fn displays_with_a_dash() {
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
    }
}
