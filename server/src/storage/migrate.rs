//! `whack-server migrate`: a stopped single-machine store copied into Redis, so
//! a server that outgrew one machine keeps its accounts, passkeys, logins and
//! stats. Device requests in flight are not copied (they live minutes; a login
//! started during the move is simply started again).

use super::redis_store::RedisStore;
use super::{
    AccountStore, CredentialRecord, KeyStore, PlayerRecord, RefreshRecord, SessionRecord,
    SessionStore, StoreError, StoredKey, decode,
};
use std::collections::HashMap;
use std::fmt;
use whack_shared::api::PlayerStats;

/// Everything worth moving, read from a sled database.
#[derive(Default)]
pub struct Export {
    players: Vec<PlayerRecord>,
    credentials: Vec<CredentialRecord>,
    sessions: Vec<(String, SessionRecord)>,
    legacy_tokens: Vec<(Vec<u8>, RefreshRecord)>,
    stats: Vec<(String, String, PlayerStats)>,
}

/// What a migration copied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// Players, with all their passkeys.
    pub players: usize,
    /// Passkeys.
    pub passkeys: usize,
    /// Login sessions (their refresh tokens keep working).
    pub sessions: usize,
    /// Refresh tokens from before sessions kept their chain.
    pub legacy_tokens: usize,
    /// Players with stats.
    pub stats: usize,
    /// Records the target already had, left as they were.
    pub skipped: usize,
}

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} players, {} passkeys, {} sessions, {} older refresh tokens, {} players' stats; {} already there",
            self.players,
            self.passkeys,
            self.sessions,
            self.legacy_tokens,
            self.stats,
            self.skipped
        )
    }
}

fn tree<T: serde::de::DeserializeOwned>(
    db: &sled::Db,
    name: &'static str,
) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
    let mut out = Vec::new();
    for entry in db.open_tree(name)?.iter() {
        let (key, value) = entry?;
        out.push((key.to_vec(), decode(name, &value)?));
    }
    Ok(out)
}

/// A sled stats row (see `sled_store::stats`).
#[derive(serde::Deserialize)]
struct StatsRow {
    name: String,
    stats: PlayerStats,
}

impl Export {
    /// Reads every record to move from `db` (checked beforehand).
    pub fn read(db: &sled::Db) -> Result<Self, StoreError> {
        let utf8 = |key: Vec<u8>| String::from_utf8_lossy(&key).into_owned();
        Ok(Self {
            players: tree(db, "players")?.into_iter().map(|(_, p)| p).collect(),
            credentials: tree(db, "credentials")?
                .into_iter()
                .map(|(_, c)| c)
                .collect(),
            sessions: tree(db, "sessions")?
                .into_iter()
                .map(|(k, s)| (utf8(k), s))
                .collect(),
            legacy_tokens: tree(db, "refresh_tokens")?,
            stats: tree::<StatsRow>(db, "stats")?
                .into_iter()
                .map(|(k, row)| (utf8(k), row.name, row.stats))
                .collect(),
        })
    }

    /// Copies everything into `target`; with `signing_key`, the old server's
    /// key becomes the shared signing key if the target has none, so access
    /// tokens it signed keep verifying.
    pub async fn copy_into(
        self,
        target: &RedisStore,
        signing_key: Option<StoredKey>,
    ) -> Result<Moved, StoreError> {
        let mut moved = Moved::default();
        let mut by_player: HashMap<String, Vec<CredentialRecord>> = HashMap::new();
        for credential in self.credentials {
            by_player
                .entry(credential.player_id.clone())
                .or_default()
                .push(credential);
        }
        for player in &self.players {
            let mut credentials = by_player.remove(&player.id).unwrap_or_default().into_iter();
            let Some(first) = credentials.next() else {
                // A player without a passkey cannot sign in: nothing to move.
                moved.skipped += 1;
                continue;
            };
            if target.player(&player.id).await?.is_some() {
                moved.skipped += 1;
                continue;
            }
            match target.create_player(player, &first).await? {
                super::CreatePlayer::Created => {}
                _ => {
                    moved.skipped += 1;
                    continue;
                }
            }
            moved.players += 1;
            moved.passkeys += 1;
            for credential in credentials {
                target.put_credential(&credential).await?;
                moved.passkeys += 1;
            }
        }
        for (sid, session) in &self.sessions {
            if target.create_session(sid, session).await? {
                moved.sessions += 1;
            } else {
                moved.skipped += 1;
            }
        }
        for (hash, record) in &self.legacy_tokens {
            if target.import_legacy_token(hash, record).await? {
                moved.legacy_tokens += 1;
            }
        }
        for (id, name, stats) in &self.stats {
            target.import_stats(id, name, stats).await?;
            moved.stats += 1;
        }
        if let Some(key) = signing_key {
            target.first_signing_key(&key).await?;
        }
        Ok(moved)
    }
}
