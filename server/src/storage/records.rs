//! The records every backend stores, as JSON. Field names are the stored
//! format: renaming one is a migration.

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::Passkey;

/// A player account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerRecord {
    /// Player id (a UUID, also the WebAuthn user handle).
    pub id: String,
    /// Display name as chosen.
    pub name: String,
    /// Created, Unix ms.
    pub created_at: u64,
}

/// A passkey and whose it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// Owner.
    pub player_id: String,
    /// The passkey (public key, counter, backup flags).
    pub passkey: Passkey,
    /// When it was registered, Unix ms (unknown for passkeys older than this field).
    #[serde(default)]
    pub created_at: Option<u64>,
    /// Its last sign-in, Unix ms.
    #[serde(default)]
    pub last_used_at: Option<u64>,
    /// The name the player gave it.
    #[serde(default)]
    pub name: Option<String>,
    /// The authenticator model's AAGUID, if it gave a real one.
    #[serde(default)]
    pub aaguid: Option<String>,
}

/// A player's recovery codes: one set at a time, stored only as salted hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryRecord {
    /// When this set was made, Unix ms.
    pub created_at: u64,
    /// The codes, in the order they were shown.
    pub codes: Vec<RecoveryCode>,
    /// The latest uses, newest last (a few only).
    pub uses: Vec<RecoveryUse>,
}

/// One recovery code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCode {
    /// Random salt, hex.
    pub salt: String,
    /// SHA-256 of the salt and the code, hex.
    pub hash: String,
    /// When it was used, Unix ms; a used code never works again.
    pub spent_at: Option<u64>,
}

/// A sign-in with a recovery code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryUse {
    /// When, Unix ms.
    pub at: u64,
    /// From which address.
    pub from: String,
}

/// A login session: everything descended from one device login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Player.
    pub player_id: String,
    /// The player's display name (names never change), for access tokens.
    pub player_name: String,
    /// OAuth client.
    pub client_id: String,
    /// Started, Unix ms.
    pub created_at: u64,
    /// Hard end, Unix ms (at most 90 days after the start).
    pub expires_at: u64,
    /// When it was revoked, if it was.
    #[serde(default)]
    pub revoked_at: Option<u64>,
    /// Why it was revoked.
    #[serde(default)]
    pub revoke_reason: Option<String>,
    /// The session's refresh-token chain; absent only on sessions whose tokens
    /// predate it (those live in the `refresh_tokens` tree).
    #[serde(default)]
    pub chain: Option<RefreshChain>,
    /// The address the login was completed from (absent on older sessions).
    #[serde(default)]
    pub started_from: Option<String>,
    /// The last game connection, Unix ms (kept to the minute).
    #[serde(default)]
    pub last_played_at: Option<u64>,
    /// The last fresh passkey check of an account-page session (its sign-in
    /// counts as one), Unix ms.
    #[serde(default)]
    pub passkey_checked_at: Option<u64>,
}

/// Everything rotation needs, in the session record itself: one live token,
/// its parent for the grace retry, and a generation number in place of every
/// ancestor, so a session's stored size stays the same however often it
/// refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshChain {
    /// The live token's generation (the first token is 0).
    pub generation: u64,
    /// SHA-256 of the live token, hex.
    pub live: String,
    /// When the live token was issued, Unix ms.
    pub live_issued_at: u64,
    /// The token the live one replaced, kept for the lost-response retry.
    pub parent: Option<RotatedParent>,
    /// Keys the tags that prove a token was issued for this session, so an
    /// ancestor coming back is recognised as reuse without keeping it. It
    /// cannot make a token: every token also carries 256 random bits whose
    /// hash alone is stored.
    #[serde(with = "sealed_bytes")]
    pub tag_key: Vec<u8>,
    /// Start of the current refresh-rate window, Unix ms.
    pub window_start: u64,
    /// Rotations in the current window.
    pub window_rotations: u32,
}

/// The parent of the live token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedParent {
    /// SHA-256 of the parent, hex.
    pub hash: String,
    /// When it was rotated, Unix ms.
    pub at: u64,
    /// The live token sealed under a key only the parent derives, so a
    /// lost-response retry gets the same successor while a database reader
    /// learns nothing usable.
    #[serde(with = "sealed_bytes")]
    pub sealed_successor: Vec<u8>,
}

/// A refresh token issued before sessions kept their own chain, stored under
/// the SHA-256 of its value. Read only, to move such sessions onto a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// Its session.
    pub sid: String,
    /// Issued, Unix ms.
    pub issued_at: u64,
    /// Expiry, Unix ms.
    pub expires_at: u64,
    /// Live or rotated.
    pub state: RefreshState,
}

/// Whether a refresh token may still be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RefreshState {
    /// Unused.
    Live,
    /// Used once; `successor` is the hash of the token it was exchanged for.
    Rotated {
        /// When, Unix ms.
        at: u64,
        /// SHA-256 of the successor, hex.
        successor: String,
        /// The successor sealed under a key only the presented token derives, so a
        /// lost-response retry gets the same successor while a database reader
        /// learns nothing usable.
        #[serde(with = "sealed_bytes")]
        sealed_successor: Vec<u8>,
    },
}

/// A token-signing key kept in a shared store, so every node signs with keys
/// every other node verifies. No `Debug`: it holds the private key.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredKey {
    /// Its key id (the JWK thumbprint).
    pub kid: String,
    /// The Ed25519 private key, PKCS#8 DER.
    #[serde(with = "sealed_bytes")]
    pub pkcs8: Vec<u8>,
    /// Created, Unix ms.
    pub created_at: u64,
    /// When it stops being published (its last tokens have expired), Unix ms;
    /// `None` while it is the signing key.
    pub retire_at: Option<u64>,
}

/// Sealed bytes as base64url text, a third the size of serde's default array of
/// numbers. Records written as arrays before still read.
mod sealed_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Numbers(Vec<u8>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        match Stored::deserialize(deserializer)? {
            Stored::Text(text) => URL_SAFE_NO_PAD
                .decode(text)
                .map_err(serde::de::Error::custom),
            Stored::Numbers(bytes) => Ok(bytes),
        }
    }
}

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Waiting for the player.
    Pending,
    /// Approved by this player; not yet exchanged.
    Approved {
        /// Who approved.
        player_id: String,
    },
    /// Denied.
    Denied,
    /// Exchanged for tokens (a device code is exchanged once).
    Exchanged,
}

/// A device authorization request, stored under the SHA-256 of its device code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The user code, canonical (8 letters).
    pub user_code: String,
    /// OAuth client.
    pub client_id: String,
    /// The requesting address.
    pub client_addr: String,
    /// Asked at, Unix ms.
    pub created_at: u64,
    /// Expires at, Unix ms.
    pub expires_at: u64,
    /// Current minimum poll interval, seconds.
    pub interval_secs: u64,
    /// Last poll, Unix ms.
    #[serde(default)]
    pub last_poll_at: Option<u64>,
    /// Where it stands.
    pub status: DeviceStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{StoreError, decode, encode};

    fn rotated(sealed: Vec<u8>) -> RefreshRecord {
        RefreshRecord {
            sid: "s1".into(),
            issued_at: 1,
            expires_at: 2,
            state: RefreshState::Rotated {
                at: 1,
                successor: "ab".into(),
                sealed_successor: sealed,
            },
        }
    }

    #[test]
    fn sealed_successors_are_stored_as_text_and_read_back() -> Result<(), StoreError> {
        let record = rotated(vec![0, 1, 254, 255]);
        let bytes = encode(&record)?;
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(r#""sealed_successor":"AAH-_w""#), "{text}");
        assert_eq!(decode::<RefreshRecord>("refresh_tokens", &bytes)?, record);
        Ok(())
    }

    #[test]
    fn sealed_successors_written_as_number_arrays_still_read() -> Result<(), StoreError> {
        let old = br#"{"sid":"s1","issued_at":1,"expires_at":2,"state":{"state":"rotated","at":1,"successor":"ab","sealed_successor":[0,1,254,255]}}"#;
        assert_eq!(
            decode::<RefreshRecord>("refresh_tokens", old)?,
            rotated(vec![0, 1, 254, 255])
        );
        Ok(())
    }

    #[test]
    fn a_corrupt_sealed_successor_is_a_decode_error() {
        let bad = br#"{"sid":"s1","issued_at":1,"expires_at":2,"state":{"state":"rotated","at":1,"successor":"ab","sealed_successor":"not base64!"}}"#;
        assert!(matches!(
            decode::<RefreshRecord>("refresh_tokens", bad),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
