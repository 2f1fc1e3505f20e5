//! An in-memory store with the same semantics as the sled one (it keeps the
//! encoded bytes, so versions and decoding behave alike). Nothing survives the
//! process: it is for unit tests and tools, never for serving players.

use super::leaderboard::{add_round, order, push_ranked};
use super::{
    AccountStore, CreatePlayer, CredentialRecord, DeviceGrantStore, DeviceRecord, PlayerRecord,
    RecoveryRecord, RefreshRecord, RemoveCredential, RevocationStore, SessionRecord, SessionStore,
    StatsStore, Store, StoreError, Version, Versioned, decode, encode,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use whack_shared::api::{LeaderboardEntry, PlayerStats};
use whack_shared::protocol::RankingEntry;

type Bytes = Vec<u8>;

#[derive(Default)]
struct Maps {
    players: HashMap<String, Bytes>,
    /// Lower-cased name → player id.
    player_names: HashMap<String, String>,
    credentials: HashMap<Bytes, Bytes>,
    recovery: HashMap<String, Bytes>,
    sessions: BTreeMap<String, Bytes>,
    legacy_tokens: HashMap<Bytes, RefreshRecord>,
    devices: HashMap<Bytes, Bytes>,
    user_codes: HashMap<String, Bytes>,
    /// Player id → (name at the last game, stats).
    stats: HashMap<String, (String, PlayerStats)>,
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    maps: Mutex<Maps>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn maps(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock leaves maps that are still whole:
        // every change below is a single insert or remove.
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a token in the format from before chains (for the migration's tests).
    #[cfg(test)]
    pub fn put_legacy_token(&self, hash: &[u8], record: &RefreshRecord) {
        self.maps()
            .legacy_tokens
            .insert(hash.to_vec(), record.clone());
    }
}

/// Replaces `stored` with `next` if it still holds the bytes `expected` names.
fn compare_and_set(stored: Option<&mut Bytes>, expected: &Version, next: Bytes) -> bool {
    match stored {
        Some(stored) if stored.as_slice() == expected.as_bytes() => {
            *stored = next;
            true
        }
        _ => false,
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn player(&self, id: &str) -> Result<Option<PlayerRecord>, StoreError> {
        let maps = self.maps();
        maps.players
            .get(id)
            .map(|b| decode("players", b))
            .transpose()
    }

    async fn name_taken(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.maps().player_names.contains_key(&name.to_lowercase()))
    }

    async fn player_id_by_name(&self, name: &str) -> Result<Option<String>, StoreError> {
        let maps = self.maps();
        let id = maps.player_names.get(&name.to_lowercase());
        Ok(id.filter(|id| super::name_free_at(id).is_none()).cloned())
    }

    async fn recovery_codes(
        &self,
        player_id: &str,
    ) -> Result<Option<Versioned<RecoveryRecord>>, StoreError> {
        self.maps()
            .recovery
            .get(player_id)
            .map(|b| Versioned::decode("recovery_codes", b))
            .transpose()
    }

    async fn replace_recovery_codes(
        &self,
        player_id: &str,
        expected: Option<&Version>,
        next: &RecoveryRecord,
    ) -> Result<bool, StoreError> {
        let bytes = encode(next)?;
        let mut maps = self.maps();
        let current = maps.recovery.get(player_id).map(Vec::as_slice);
        if current != expected.map(Version::as_bytes) {
            return Ok(false);
        }
        maps.recovery.insert(player_id.to_owned(), bytes);
        Ok(true)
    }

    async fn create_player(
        &self,
        player: &PlayerRecord,
        credential: &CredentialRecord,
    ) -> Result<CreatePlayer, StoreError> {
        let (player_bytes, cred_bytes) = (encode(player)?, encode(credential)?);
        let name_key = player.name.to_lowercase();
        let cred_id = credential.passkey.cred_id().to_vec();
        let mut maps = self.maps();
        if maps.player_names.contains_key(&name_key) {
            return Ok(CreatePlayer::NameTaken);
        }
        if maps.credentials.contains_key(&cred_id) {
            return Ok(CreatePlayer::CredentialExists);
        }
        maps.player_names.insert(name_key, player.id.clone());
        maps.players.insert(player.id.clone(), player_bytes);
        maps.credentials.insert(cred_id, cred_bytes);
        Ok(CreatePlayer::Created)
    }

    async fn delete_account(&self, id: &str, name_free_at: u64) -> Result<(), StoreError> {
        self.remove_player(id, Some(name_free_at))
    }

    async fn delete_player(&self, id: &str) -> Result<(), StoreError> {
        self.remove_player(id, None)
    }

    async fn credential(&self, cred_id: &[u8]) -> Result<Option<CredentialRecord>, StoreError> {
        let maps = self.maps();
        maps.credentials
            .get(cred_id)
            .map(|b| decode("credentials", b))
            .transpose()
    }

    async fn put_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        let bytes = encode(credential)?;
        if let Some(stored) = self
            .maps()
            .credentials
            .get_mut(credential.passkey.cred_id().as_slice())
        {
            *stored = bytes;
        }
        Ok(())
    }

    async fn credentials_of(&self, player_id: &str) -> Result<Vec<CredentialRecord>, StoreError> {
        owned_credentials(&self.maps(), player_id)
    }

    async fn add_credential(&self, credential: &CredentialRecord) -> Result<bool, StoreError> {
        let bytes = encode(credential)?;
        let mut maps = self.maps();
        let cred_id = credential.passkey.cred_id().to_vec();
        if maps.credentials.contains_key(&cred_id) {
            return Ok(false);
        }
        maps.credentials.insert(cred_id, bytes);
        Ok(true)
    }

    async fn remove_credential(
        &self,
        player_id: &str,
        cred_id: &[u8],
        allow_last: bool,
    ) -> Result<RemoveCredential, StoreError> {
        let mut maps = self.maps();
        let owned = owned_credentials(&maps, player_id)?;
        if !owned
            .iter()
            .any(|c| c.passkey.cred_id().as_slice() == cred_id)
        {
            return Ok(RemoveCredential::Unknown);
        }
        if owned.len() == 1 && !allow_last {
            return Ok(RemoveCredential::Last);
        }
        maps.credentials.remove(cred_id);
        Ok(RemoveCredential::Removed)
    }
}

impl MemoryStore {
    /// Removes a player; their name is freed now or (`Some`) reserved until then.
    fn remove_player(&self, id: &str, name_free_at: Option<u64>) -> Result<(), StoreError> {
        let mut maps = self.maps();
        let Some(bytes) = maps.players.remove(id) else {
            return Ok(());
        };
        let player: PlayerRecord = decode("players", &bytes)?;
        let name_key = player.name.to_lowercase();
        if maps.player_names.get(&name_key).map(String::as_str) == Some(id) {
            match name_free_at {
                Some(at) => {
                    maps.player_names.insert(name_key, super::released_name(at));
                }
                None => {
                    maps.player_names.remove(&name_key);
                }
            }
        }
        let mut owned = Vec::new();
        for (key, value) in &maps.credentials {
            let credential: CredentialRecord = decode("credentials", value)?;
            if credential.player_id == id {
                owned.push(key.clone());
            }
        }
        for key in owned {
            maps.credentials.remove(&key);
        }
        maps.recovery.remove(id);
        Ok(())
    }
}

fn owned_credentials(maps: &Maps, player_id: &str) -> Result<Vec<CredentialRecord>, StoreError> {
    let mut owned = Vec::new();
    for value in maps.credentials.values() {
        let credential: CredentialRecord = decode("credentials", value)?;
        if credential.player_id == player_id {
            owned.push(credential);
        }
    }
    Ok(owned)
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn session(&self, sid: &str) -> Result<Option<Versioned<SessionRecord>>, StoreError> {
        let maps = self.maps();
        maps.sessions
            .get(sid)
            .map(|b| Versioned::decode("sessions", b))
            .transpose()
    }

    async fn create_session(&self, sid: &str, session: &SessionRecord) -> Result<bool, StoreError> {
        let bytes = encode(session)?;
        let mut maps = self.maps();
        if maps.sessions.contains_key(sid) {
            return Ok(false);
        }
        maps.sessions.insert(sid.to_owned(), bytes);
        Ok(true)
    }

    async fn sessions_of(
        &self,
        player_id: &str,
    ) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let mut out = Vec::new();
        for (sid, bytes) in &self.maps().sessions {
            let session: SessionRecord = decode("sessions", bytes)?;
            if session.player_id == player_id {
                out.push((sid.clone(), session));
            }
        }
        Ok(out)
    }

    async fn rotate(
        &self,
        sid: &str,
        parent: &Version,
        successor: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let bytes = encode(successor)?;
        Ok(compare_and_set(
            self.maps().sessions.get_mut(sid),
            parent,
            bytes,
        ))
    }

    async fn legacy_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.maps().legacy_tokens.get(hash).cloned())
    }

    async fn remove_legacy_token(&self, hash: &[u8]) -> Result<(), StoreError> {
        self.maps().legacy_tokens.remove(hash);
        Ok(())
    }
}

#[async_trait]
impl DeviceGrantStore for MemoryStore {
    async fn insert_device(&self, hash: &[u8], device: &DeviceRecord) -> Result<bool, StoreError> {
        let bytes = encode(device)?;
        let mut maps = self.maps();
        if maps.user_codes.contains_key(&device.user_code) {
            return Ok(false);
        }
        maps.user_codes
            .insert(device.user_code.clone(), hash.to_vec());
        maps.devices.insert(hash.to_vec(), bytes);
        Ok(true)
    }

    async fn device(&self, hash: &[u8]) -> Result<Option<Versioned<DeviceRecord>>, StoreError> {
        let maps = self.maps();
        maps.devices
            .get(hash)
            .map(|b| Versioned::decode("device_requests", b))
            .transpose()
    }

    async fn device_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<(Vec<u8>, DeviceRecord)>, StoreError> {
        let maps = self.maps();
        let Some(hash) = maps.user_codes.get(user_code) else {
            return Ok(None);
        };
        maps.devices
            .get(hash)
            .map(|b| Ok((hash.clone(), decode("device_requests", b)?)))
            .transpose()
    }

    async fn replace_device(
        &self,
        hash: &[u8],
        expected: &Version,
        next: &DeviceRecord,
    ) -> Result<bool, StoreError> {
        let bytes = encode(next)?;
        Ok(compare_and_set(
            self.maps().devices.get_mut(hash),
            expected,
            bytes,
        ))
    }
}

#[async_trait]
impl StatsStore for MemoryStore {
    async fn record_round(&self, ranking: &[RankingEntry]) -> Result<(), StoreError> {
        let mut maps = self.maps();
        for entry in ranking {
            let old = maps
                .stats
                .get(&entry.player_id)
                .map(|(_, s)| *s)
                .unwrap_or_default();
            let new = add_round(&old, entry);
            maps.stats
                .insert(entry.player_id.clone(), (entry.name.clone(), new));
        }
        Ok(())
    }

    async fn player_stats(&self, player_id: &str) -> Result<PlayerStats, StoreError> {
        Ok(self
            .maps()
            .stats
            .get(player_id)
            .map(|(_, s)| *s)
            .unwrap_or_default())
    }

    async fn leaderboard(&self, limit: usize) -> Result<Vec<LeaderboardEntry>, StoreError> {
        let maps = self.maps();
        let mut rows: Vec<_> = maps.stats.iter().collect();
        rows.sort_by(|a, b| order((a.0, &a.1.1), (b.0, &b.1.1)));
        let mut entries = Vec::new();
        for (id, (name, stats)) in rows.into_iter().take(limit) {
            push_ranked(&mut entries, id, name, stats);
        }
        Ok(entries)
    }

    async fn remove_player_stats(&self, player_id: &str) -> Result<(), StoreError> {
        self.maps().stats.remove(player_id);
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for MemoryStore {
    async fn revoked_since(&self, since_ms: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let maps = self.maps();
        let mut out = Vec::new();
        for (sid, bytes) in &maps.sessions {
            let session: SessionRecord = decode("sessions", bytes)?;
            if let Some(at) = session.revoked_at.filter(|at| *at >= since_ms) {
                out.push((sid.clone(), at));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn purge(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut maps = self.maps();
        let mut removed = 0;
        let mut expired_devices = Vec::new();
        for (hash, bytes) in &maps.devices {
            let device: DeviceRecord = decode("device_requests", bytes)?;
            if device.expires_at < now_ms {
                expired_devices.push((hash.clone(), device.user_code));
            }
        }
        for (hash, code) in expired_devices {
            maps.devices.remove(&hash);
            maps.user_codes.remove(&code);
            removed += 1;
        }
        let names = maps.player_names.len();
        maps.player_names
            .retain(|_, id| super::name_free_at(id).is_none_or(|at| at >= now_ms));
        removed += names - maps.player_names.len();
        let before = maps.legacy_tokens.len();
        maps.legacy_tokens.retain(|_, r| r.expires_at >= now_ms);
        removed += before - maps.legacy_tokens.len();
        let mut expired_sessions = Vec::new();
        for (sid, bytes) in &maps.sessions {
            let session: SessionRecord = decode("sessions", bytes)?;
            if session.expires_at < now_ms {
                expired_sessions.push(sid.clone());
            }
        }
        for sid in expired_sessions {
            maps.sessions.remove(&sid);
            removed += 1;
        }
        Ok(removed)
    }

    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn render_metrics(&self, _out: &mut String) {}
}
