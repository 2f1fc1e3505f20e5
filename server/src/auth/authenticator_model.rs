//! Which kind of authenticator made a passkey, from the AAGUID it puts in the
//! registration's authenticator data, so a new passkey gets a name a player
//! recognises ("iCloud Keychain") rather than "Passkey 3".
//!
//! Only the names of well-known passkey providers are kept here; an unknown
//! or all-zero AAGUID (browsers may blank it) names nothing.

use serde_cbor_2::Value;

/// (AAGUID, name) of common passkey providers, from their published AAGUIDs.
const KNOWN: &[(&str, &str)] = &[
    (
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
        "Google Password Manager",
    ),
    ("fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "iCloud Keychain"),
    ("adce0002-35bc-c60a-648b-0b25f1f05503", "Chrome on Mac"),
    ("08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"),
    ("9ddd1817-af5a-4672-a2b9-3e3dd95000a9", "Windows Hello"),
    ("6028b017-b1d4-4c02-b4b3-afcdafc96bb2", "Windows Hello"),
    ("bada5566-a7aa-401f-bd96-45619a55120d", "1Password"),
    ("d548826e-79b4-db40-a3d8-11116f7e8349", "Bitwarden"),
    ("531126d6-e717-415c-9320-3d9aa6981239", "Dashlane"),
    ("b84e4048-15dc-4dd0-8640-f4f60813c8af", "NordPass"),
    ("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6", "Keeper"),
    ("fdb141b2-5d84-443e-8a35-4698c205a502", "KeePassXC"),
    ("f3809540-7f14-49c1-a8b3-8f813b225541", "Enpass"),
    ("53414d53-554e-4700-0000-000000000000", "Samsung Pass"),
    ("cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5"),
    ("ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5"),
    ("fa2b99dc-9e39-4257-8f92-4a30d23c4118", "YubiKey 5 NFC"),
    ("2fc0579f-8113-47ea-b116-bb5a8db9202a", "YubiKey 5 NFC"),
    ("c5ef55ff-ad9a-4b9f-b580-adebafe026d0", "YubiKey 5Ci"),
    ("d8522d9f-575b-4866-88a9-ba99fa02f35b", "YubiKey Bio"),
];

/// The AAGUID in a registration's `attestationObject`, as lower-case
/// hyphenated text; `None` if it is absent, all zeros or unreadable.
pub fn aaguid(attestation_object: &[u8]) -> Option<String> {
    let Value::Map(map) = serde_cbor_2::from_slice::<Value>(attestation_object).ok()? else {
        return None;
    };
    let Some(Value::Bytes(auth_data)) = map.get(&Value::Text("authData".into())) else {
        return None;
    };
    // rpIdHash (32), flags (1), signCount (4), then the attested credential
    // data, present when flag bit 6 (AT) is set: AAGUID (16) first.
    const AT: u8 = 0x40;
    let flags = *auth_data.get(32)?;
    let bytes = auth_data.get(37..53).filter(|_| flags & AT != 0)?;
    if bytes.iter().all(|b| *b == 0) {
        return None;
    }
    let hex = crate::auth::secrets::hex(bytes);
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// The name of a well-known authenticator model.
pub fn name(aaguid: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(aaguid))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn attestation_object(flags: u8, aaguid: [u8; 16]) -> Vec<u8> {
        let mut auth_data = vec![0u8; 32];
        auth_data.push(flags);
        auth_data.extend_from_slice(&[0, 0, 0, 1]);
        auth_data.extend_from_slice(&aaguid);
        auth_data.extend_from_slice(&[0, 2, 9, 9]);
        let map = BTreeMap::from([
            (Value::Text("fmt".into()), Value::Text("none".into())),
            (Value::Text("attStmt".into()), Value::Map(BTreeMap::new())),
            (Value::Text("authData".into()), Value::Bytes(auth_data)),
        ]);
        serde_cbor_2::to_vec(&Value::Map(map)).unwrap_or_default()
    }

    #[test]
    fn reads_the_model_of_a_registration() {
        let icloud = [
            0xfb, 0xfc, 0x30, 0x07, 0x15, 0x4e, 0x4e, 0xcc, 0x8c, 0x0b, 0x6e, 0x02, 0x05, 0x57,
            0xd7, 0xbd,
        ];
        let found = aaguid(&attestation_object(0x45, icloud));
        assert_eq!(
            found.as_deref(),
            Some("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")
        );
        assert_eq!(found.as_deref().and_then(name), Some("iCloud Keychain"));
    }

    #[test]
    fn blank_absent_or_garbled_names_nothing() {
        assert_eq!(aaguid(&attestation_object(0x45, [0; 16])), None, "zeroed");
        assert_eq!(
            aaguid(&attestation_object(0x05, [7; 16])),
            None,
            "no AT flag"
        );
        assert_eq!(aaguid(b"not cbor"), None);
        assert_eq!(aaguid(&[]), None);
        assert_eq!(name("01020304-0506-0708-0102-030405060708"), None);
    }
}
