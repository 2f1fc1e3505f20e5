//! Recovery codes: ten one-time codes that sign a player in when every passkey
//! is lost. Pure rules: making a set, reading what a player typed, spending one.
//!
//! A code is 16 characters of Crockford base32 (80 random bits), shown as
//! `xxxx-xxxx-xxxx-xxxx`. Each is stored only as SHA-256 over a random salt
//! and the code: 80 bits are far beyond offline guessing, so a slow hash would
//! add nothing, and the online guesses are rate-limited.

use crate::auth::secrets;
use crate::storage::{RecoveryCode, RecoveryRecord, RecoveryUse};
use whack_shared::Secret;

/// Codes in a set.
pub const CODES_PER_SET: usize = 10;
/// Uses kept to show on the account page.
pub const USES_KEPT: usize = 10;
/// Characters of a code, without dashes.
const CODE_LEN: usize = 16;
/// Crockford's base32: no I, L, O or U, so nothing reads as something else.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new set: the codes to show once, and the record to store.
pub fn new_set(now_ms: u64) -> (Vec<Secret>, RecoveryRecord) {
    let mut shown = Vec::with_capacity(CODES_PER_SET);
    let mut codes = Vec::with_capacity(CODES_PER_SET);
    for _ in 0..CODES_PER_SET {
        let bytes = secrets::random_bytes::<CODE_LEN>();
        let code: String = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        let salt = secrets::hex(&secrets::random_bytes::<16>());
        codes.push(RecoveryCode {
            hash: hash(&salt, &code),
            salt,
            spent_at: None,
        });
        shown.push(Secret::new(display(&code)));
    }
    let record = RecoveryRecord {
        created_at: now_ms,
        codes,
        uses: Vec::new(),
    };
    (shown, record)
}

fn hash(salt: &str, code: &str) -> String {
    secrets::hex(&secrets::hash(&format!("{salt}:{code}")))
}

fn display(code: &str) -> String {
    let mut out = String::with_capacity(CODE_LEN + 3);
    for (i, c) in code.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// A typed code in canonical form: case, dashes and spaces do not matter, and
/// the letters Crockford reads as digits (`o` → 0, `i`/`l` → 1) are taken as
/// them. `None` if it cannot be a code at all.
pub fn canonical(typed: &str) -> Option<String> {
    let mut code = String::with_capacity(CODE_LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        code.push(c);
    }
    (code.len() == CODE_LEN).then_some(code)
}

/// Which unspent code of `record` `typed` is, if any. Every code is compared,
/// in constant time each, so the answer takes as long whichever matched.
pub fn find(record: &RecoveryRecord, typed: &str) -> Option<usize> {
    let code = canonical(typed)?;
    let mut found = None;
    for (i, stored) in record.codes.iter().enumerate() {
        let matches = secrets::same(hash(&stored.salt, &code).as_bytes(), stored.hash.as_bytes());
        if matches && stored.spent_at.is_none() {
            found = Some(i);
        }
    }
    found
}

/// The record with code `index` spent, now, from `from`; `None` if it was
/// spent already.
pub fn spend(
    record: &RecoveryRecord,
    index: usize,
    from: &str,
    now_ms: u64,
) -> Option<RecoveryRecord> {
    let mut next = record.clone();
    let code = next.codes.get_mut(index)?;
    if code.spent_at.is_some() {
        return None;
    }
    code.spent_at = Some(now_ms);
    next.uses.push(RecoveryUse {
        at: now_ms,
        from: from.to_owned(),
    });
    let extra = next.uses.len().saturating_sub(USES_KEPT);
    next.uses.drain(..extra);
    Some(next)
}

/// Codes not used yet.
pub fn left(record: &RecoveryRecord) -> usize {
    record.codes.iter().filter(|c| c.spent_at.is_none()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_however_it_is_typed() {
        let (shown, record) = new_set(1);
        assert_eq!(shown.len(), CODES_PER_SET);
        assert_eq!(left(&record), CODES_PER_SET);
        let code = shown[3].expose();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(find(&record, code), Some(3));
        let sloppy = format!(" {} ", code.replace('-', " ").to_uppercase());
        assert_eq!(find(&record, &sloppy), Some(3));
        let Some(spent) = spend(&record, 3, "192.0.2.7", 5) else {
            panic!("an unspent code could not be spent");
        };
        assert_eq!(find(&spent, code), None, "a spent code never works again");
        assert!(spend(&spent, 3, "192.0.2.7", 6).is_none());
        assert_eq!(left(&spent), CODES_PER_SET - 1);
        assert_eq!(
            spent.uses,
            vec![RecoveryUse {
                at: 5,
                from: "192.0.2.7".into()
            }]
        );
    }

    #[test]
    fn nothing_else_is_a_code() {
        let (shown, record) = new_set(1);
        let (other, _) = new_set(1);
        assert_eq!(find(&record, other[0].expose()), None, "another set's code");
        assert_eq!(find(&record, ""), None);
        assert_eq!(find(&record, &shown[0].expose()[..18]), None, "one short");
        assert_eq!(
            canonical("uuuu-uuuu-uuuu-uuuu"),
            None,
            "u is not in the alphabet"
        );
        assert_eq!(
            canonical("oooo-iiii-llll-0000").as_deref(),
            Some("0000111111110000")
        );
        assert!(
            record
                .codes
                .iter()
                .all(|c| !c.hash.contains(&shown[0].expose().replace('-', ""))),
            "only hashes are stored"
        );
    }

    #[test]
    fn only_the_latest_uses_are_kept() {
        let (_, mut record) = new_set(1);
        record.codes = (0..12)
            .map(|_| RecoveryCode {
                salt: "00".into(),
                hash: "11".into(),
                spent_at: None,
            })
            .collect();
        for i in 0..12 {
            let Some(next) = spend(&record, i, "a", i as u64) else {
                panic!("code {i} could not be spent");
            };
            record = next;
        }
        assert_eq!(record.uses.len(), USES_KEPT);
        assert_eq!(record.uses[0].at, 2);
    }
}
