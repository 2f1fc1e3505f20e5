//! Display names: 1–24 characters of ASCII letters, digits, `_` and `-`, unique
//! case-insensitively (ASCII only, so look-alike letters cannot impersonate).

/// Longest display name.
pub const MAX_LEN: usize = 24;

/// Checks a display name; `Err` holds a message to show the player.
pub fn validate(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("choose a display name");
    }
    if name.len() > MAX_LEN {
        return Err("display names are at most 24 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("use only letters, digits, _ and -");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses() {
        assert!(validate("mole_smasher-9").is_ok());
        assert!(validate("a").is_ok());
        assert!(validate(&"x".repeat(24)).is_ok());
        assert!(validate("").is_err());
        assert!(validate(&"x".repeat(25)).is_err());
        assert!(validate("with space").is_err());
        assert!(validate("<script>").is_err());
        assert!(validate("Zoë").is_err());
    }
}
