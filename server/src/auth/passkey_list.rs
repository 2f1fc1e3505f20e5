//! How the account page shows a player's passkeys, and which names it takes:
//! pure rules, no store.

use crate::auth::authenticator_model;
use crate::storage::CredentialRecord;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use whack_shared::account_page::{PASSKEY_NAME_MAX, PasskeyInfo};

/// Passkeys one player may hold: enough for every device they own, few
/// enough that the list (and the store) stays small.
pub const MAX_PASSKEYS_PER_PLAYER: usize = 10;

/// The passkeys oldest first, each named by the player, else by its
/// authenticator model where known, else "Passkey N".
pub fn describe(mut records: Vec<CredentialRecord>) -> Vec<PasskeyInfo> {
    // Unknown creation times are the oldest (they predate the field).
    records.sort_by(|a, b| {
        (a.created_at, a.passkey.cred_id().as_slice())
            .cmp(&(b.created_at, b.passkey.cred_id().as_slice()))
    });
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            let (backup_eligible, backed_up) = backup_flags(&record);
            PasskeyInfo {
                id: URL_SAFE_NO_PAD.encode(record.passkey.cred_id()),
                name: record
                    .name
                    .or_else(|| {
                        let model = record.aaguid.as_deref().and_then(authenticator_model::name);
                        model.map(str::to_owned)
                    })
                    .unwrap_or_else(|| format!("Passkey {}", i + 1)),
                created_at: record.created_at,
                last_used_at: record.last_used_at,
                backup_eligible,
                backed_up,
            }
        })
        .collect()
}

/// The authenticator's backup-eligible and backed-up flags. webauthn-rs
/// keeps them inside the passkey and shows them only behind its
/// "danger-credential-internals" feature, so they are read from the
/// passkey's own serialized form; anything unreadable counts as not synced.
fn backup_flags(record: &CredentialRecord) -> (bool, bool) {
    let Ok(value) = serde_json::to_value(&record.passkey) else {
        return (false, false);
    };
    let flag = |name: &str| value["cred"][name].as_bool().unwrap_or(false);
    (flag("backup_eligible"), flag("backup_state"))
}

/// A name the player typed, trimmed, or why it cannot be one.
pub fn valid_name(typed: &str) -> Result<String, &'static str> {
    let name = typed.trim();
    if name.is_empty() {
        return Err("a passkey needs a name");
    }
    if name.chars().count() > PASSKEY_NAME_MAX {
        return Err("a passkey name has at most 40 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("a passkey name cannot hold control characters");
    }
    Ok(name.to_owned())
}

/// The credential id of a listed passkey, from its base64url form.
pub fn parse_id(id: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(id).ok().filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(valid_name("  Phone "), Ok("Phone".into()));
        assert_eq!(
            valid_name("Zoë's YubiKey 5C"),
            Ok("Zoë's YubiKey 5C".into())
        );
        assert!(valid_name("   ").is_err());
        assert!(valid_name(&"x".repeat(41)).is_err());
        assert!(valid_name(&"é".repeat(40)).is_ok());
        assert!(valid_name("a\u{1b}[31m").is_err());
    }

    #[test]
    fn a_given_name_beats_the_model_which_beats_the_order()
    -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        use crate::storage::contract_tests::credential;
        let at = |created_at, name: Option<&str>, aaguid: Option<&str>| {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(CredentialRecord {
                created_at: Some(created_at),
                name: name.map(str::to_owned),
                aaguid: aaguid.map(str::to_owned),
                ..credential("p1")?
            })
        };
        let listed = describe(vec![
            at(3, None, Some("fbfc3007-154e-4ecc-8c0b-6e020557d7bd"))?,
            at(1, None, Some("01020304-0506-0708-0102-030405060708"))?,
            at(
                2,
                Some("Laptop key"),
                Some("bada5566-a7aa-401f-bd96-45619a55120d"),
            )?,
        ]);
        let names: Vec<_> = listed.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Passkey 1", "Laptop key", "iCloud Keychain"]);
        assert!(
            listed.iter().all(|p| !p.backup_eligible),
            "a soft passkey does not sync"
        );
        Ok(())
    }

    #[test]
    fn ids_round_trip_and_garbage_is_none() {
        assert_eq!(
            parse_id(&URL_SAFE_NO_PAD.encode([1, 2, 3])),
            Some(vec![1, 2, 3])
        );
        assert_eq!(parse_id("not base64!"), None);
        assert_eq!(parse_id(""), None);
    }
}
