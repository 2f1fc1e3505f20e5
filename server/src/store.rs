//! The sled database: one tree per kind of record, JSON values, and the typed
//! operations the login side needs. Writes here are not yet durable: callers
//! acknowledge only after [`crate::durability::Durability::flush`].

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::path::Path;
use webauthn_rs::prelude::Passkey;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    /// A stored record did not decode (corruption or an incompatible version).
    #[error("stored record in {tree} is unreadable: {source}")]
    Decode {
        /// The tree.
        tree: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// Encoding a record failed.
    #[error("could not encode a record: {0}")]
    Encode(serde_json::Error),
    /// A record that must be new already exists.
    #[error("a record that should be new already exists")]
    Conflict,
}

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
    /// The passkey (public key, counter).
    pub passkey: Passkey,
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

/// What [`Store::update_session`]'s closure decided.
// It lives for one compare-and-swap on the stack: boxing the record would only
// add an allocation to every rotation.
#[allow(clippy::large_enum_variant)]
pub enum SessionUpdate<T> {
    /// Write this record (if nobody else wrote first) and return `T`.
    Write(SessionRecord, T),
    /// Write nothing and return `T`.
    Keep(T),
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

/// The sled database and its trees.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    players: sled::Tree,
    player_names: sled::Tree,
    credentials: sled::Tree,
    sessions: sled::Tree,
    refresh: sled::Tree,
    devices: sled::Tree,
    user_codes: sled::Tree,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(StoreError::Encode)
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode { tree, source })
}

fn get<T: DeserializeOwned>(
    tree: &sled::Tree,
    name: &'static str,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    tree.get(key)?.map(|v| decode(name, &v)).transpose()
}

/// Outcome of creating a player.
#[derive(Debug, PartialEq, Eq)]
pub enum CreatePlayer {
    /// Created.
    Created,
    /// Somebody has that name (case-insensitively).
    NameTaken,
    /// That credential is registered already.
    CredentialExists,
}

/// How often sled's own thread writes buffers out and cleans log segments.
const SLED_HOUSEKEEPING_MS: u64 = 1_000;

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // sled's background thread is the only place sled 0.34 cleans log
        // segments (`attempt_gc`), so without it the file never shrinks. Every
        // acknowledged write is flushed by `Durability` already; the thread only
        // has to reclaim space, so it runs at 1 s rather than the default 500 ms
        // (open-loop p90/p99 at 5,000 rotations/s measured the same as with no
        // thread at all).
        Self::from_db(
            sled::Config::new()
                .path(path)
                .flush_every_ms(Some(SLED_HOUSEKEEPING_MS))
                .open()?,
        )
    }

    /// Wraps an open database.
    pub fn from_db(db: sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            players: db.open_tree("players")?,
            player_names: db.open_tree("player_names")?,
            credentials: db.open_tree("credentials")?,
            sessions: db.open_tree("sessions")?,
            refresh: db.open_tree("refresh_tokens")?,
            devices: db.open_tree("device_requests")?,
            user_codes: db.open_tree("user_codes")?,
            db,
        })
    }

    /// The underlying database (for other modules' trees and for flushing).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    // --- players and passkeys ---

    /// A player by id.
    pub fn player(&self, id: &str) -> Result<Option<PlayerRecord>, StoreError> {
        get(&self.players, "players", id.as_bytes())
    }

    /// Whether a display name is taken (case-insensitively).
    pub fn name_taken(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .player_names
            .contains_key(name.to_lowercase().as_bytes())?)
    }

    /// Creates a player with their first passkey, atomically: the name and the
    /// credential id stay unique even under concurrent registrations.
    pub fn create_player(
        &self,
        player: &PlayerRecord,
        credential: &CredentialRecord,
    ) -> Result<CreatePlayer, StoreError> {
        let name_key = player.name.to_lowercase();
        let cred_id = credential.passkey.cred_id().to_vec();
        let player_bytes = encode(player)?;
        let cred_bytes = encode(credential)?;
        let result = (&self.players, &self.player_names, &self.credentials).transaction(
            |(players, names, creds)| {
                if names.get(name_key.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(CreatePlayer::NameTaken));
                }
                if creds.get(cred_id.as_slice())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(
                        CreatePlayer::CredentialExists,
                    ));
                }
                names.insert(name_key.as_bytes(), player.id.as_bytes())?;
                players.insert(player.id.as_bytes(), player_bytes.as_slice())?;
                creds.insert(cred_id.as_slice(), cred_bytes.as_slice())?;
                Ok(())
            },
        );
        match result {
            Ok(()) => Ok(CreatePlayer::Created),
            Err(TransactionError::Abort(outcome)) => Ok(outcome),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// A passkey by credential id.
    pub fn credential(&self, cred_id: &[u8]) -> Result<Option<CredentialRecord>, StoreError> {
        get(&self.credentials, "credentials", cred_id)
    }

    /// Replaces a stored passkey (after its counter or backup state changed).
    pub fn put_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        self.credentials
            .insert(credential.passkey.cred_id().as_slice(), encode(credential)?)?;
        Ok(())
    }

    /// All players (for the leaderboard's names).
    pub fn players(&self) -> impl Iterator<Item = Result<PlayerRecord, StoreError>> + '_ {
        self.players.iter().values().map(|v| decode("players", &v?))
    }

    // --- sessions and refresh tokens ---

    /// A session by id.
    pub fn session(&self, sid: &str) -> Result<Option<SessionRecord>, StoreError> {
        get(&self.sessions, "sessions", sid.as_bytes())
    }

    /// Writes a session.
    pub fn put_session(&self, sid: &str, session: &SessionRecord) -> Result<(), StoreError> {
        self.sessions.insert(sid.as_bytes(), encode(session)?)?;
        Ok(())
    }

    /// Changes a session atomically: `change` sees the stored record (or none)
    /// and decides; its record is written only if the stored bytes are still
    /// the ones it saw (compare-and-swap), else it runs again on the new ones.
    /// Unlike a lock in this process, this holds when several processes share
    /// the store.
    pub fn update_session<T, E: From<StoreError>>(
        &self,
        sid: &str,
        mut change: impl FnMut(Option<&SessionRecord>) -> Result<SessionUpdate<T>, E>,
    ) -> Result<T, E> {
        loop {
            let current = self
                .sessions
                .get(sid.as_bytes())
                .map_err(StoreError::from)?;
            let record = current
                .as_ref()
                .map(|bytes| decode::<SessionRecord>("sessions", bytes))
                .transpose()?;
            let (next, out) = match change(record.as_ref())? {
                SessionUpdate::Keep(out) => return Ok(out),
                SessionUpdate::Write(next, out) => (next, out),
            };
            let swapped = self
                .sessions
                .compare_and_swap(sid.as_bytes(), current, Some(encode(&next)?))
                .map_err(StoreError::from)?;
            if swapped.is_ok() {
                return Ok(out);
            }
        }
    }

    /// Forgets a pre-chain refresh token.
    pub fn remove_refresh_token(&self, hash: &[u8]) -> Result<(), StoreError> {
        self.refresh.remove(hash)?;
        Ok(())
    }

    /// A refresh token by the hash of its value.
    pub fn refresh_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError> {
        get(&self.refresh, "refresh_tokens", hash)
    }

    /// Writes a token in the format from before chains, for the migration's tests:
    /// nothing issues such tokens any more.
    #[cfg(test)]
    pub fn put_refresh_token(&self, hash: &[u8], record: &RefreshRecord) -> Result<(), StoreError> {
        self.refresh.insert(hash, encode(record)?)?;
        Ok(())
    }

    /// Sessions revoked at or after `since_ms` (to rebuild the revocation list).
    pub fn sessions_revoked_since(&self, since_ms: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.sessions.iter() {
            let (key, value) = entry?;
            let session: SessionRecord = decode("sessions", &value)?;
            if let Some(at) = session.revoked_at.filter(|at| *at >= since_ms) {
                out.push((String::from_utf8_lossy(&key).into_owned(), at));
            }
        }
        Ok(out)
    }

    // --- device requests ---

    /// Stores a new device request and its user-code index entry. Returns false
    /// (and stores nothing) when the user code is already in use.
    pub fn insert_device(&self, hash: &[u8], device: &DeviceRecord) -> Result<bool, StoreError> {
        let bytes = encode(device)?;
        let result = (&self.devices, &self.user_codes).transaction(|(devices, codes)| {
            if codes.get(device.user_code.as_bytes())?.is_some() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            codes.insert(device.user_code.as_bytes(), hash)?;
            devices.insert(hash, bytes.as_slice())?;
            Ok(())
        });
        match result {
            Ok(()) => Ok(true),
            Err(TransactionError::Abort(())) => Ok(false),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// A device request by the hash of its device code.
    pub fn device(&self, hash: &[u8]) -> Result<Option<DeviceRecord>, StoreError> {
        get(&self.devices, "device_requests", hash)
    }

    /// A device request by its canonical user code, with its device-code hash.
    pub fn device_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(Vec<u8>, DeviceRecord)>, StoreError> {
        let Some(hash) = self.user_codes.get(user_code.as_bytes())? else {
            return Ok(None);
        };
        Ok(self.device(&hash)?.map(|d| (hash.to_vec(), d)))
    }

    /// Replaces a device request.
    pub fn put_device(&self, hash: &[u8], device: &DeviceRecord) -> Result<(), StoreError> {
        self.devices.insert(hash, encode(device)?)?;
        Ok(())
    }

    // --- housekeeping ---

    /// Deletes records that can no longer matter at `now_ms`: device requests past
    /// expiry, refresh tokens past expiry, sessions past their hard end.
    pub fn purge(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.devices.iter() {
            let (key, value) = entry?;
            let device: DeviceRecord = decode("device_requests", &value)?;
            if device.expires_at < now_ms {
                self.user_codes.remove(device.user_code.as_bytes())?;
                self.devices.remove(key)?;
                removed += 1;
            }
        }
        for entry in self.refresh.iter() {
            let (key, value) = entry?;
            let record: RefreshRecord = decode("refresh_tokens", &value)?;
            if record.expires_at < now_ms {
                self.refresh.remove(key)?;
                removed += 1;
            }
        }
        for entry in self.sessions.iter() {
            let (key, value) = entry?;
            let session: SessionRecord = decode("sessions", &value)?;
            if session.expires_at < now_ms {
                self.sessions.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Err(StoreError::Decode { .. })
        ));
    }
}
