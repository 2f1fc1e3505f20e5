//! The refresh-token rules (RFC 9700): issue, rotate atomically, treat a prompt
//! retry as a lost response, treat any other reuse as theft, revoke.
//!
//! Pure rules over [`TokenStore`]; HTTP and flushing live elsewhere.

use crate::secrets;
use crate::store::{RefreshRecord, RefreshState, SessionRecord, Store, StoreError};
use std::sync::Mutex;
use whack_shared::Secret;
use whack_shared::oauth::REFRESH_TOKEN_PREFIX;

/// A refresh token lives 30 days.
pub const REFRESH_TTL_MS: u64 = 30 * 24 * 3600 * 1000;
/// A login session ends after 90 days at most.
pub const SESSION_TTL_MS: u64 = 90 * 24 * 3600 * 1000;
/// A parent presented again this soon after rotation is a lost-response retry.
pub const GRACE_MS: u64 = 30 * 1000;

/// What the rules need from storage.
pub trait TokenStore {
    /// A session by id.
    fn session(&self, sid: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Writes a session.
    fn put_session(&self, sid: &str, session: &SessionRecord) -> Result<(), StoreError>;
    /// A refresh token by hash.
    fn refresh_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError>;
    /// Writes one refresh-token record.
    fn put_refresh_token(&self, hash: &[u8], record: &RefreshRecord) -> Result<(), StoreError>;
}

impl TokenStore for Store {
    fn session(&self, sid: &str) -> Result<Option<SessionRecord>, StoreError> {
        Store::session(self, sid)
    }
    fn put_session(&self, sid: &str, session: &SessionRecord) -> Result<(), StoreError> {
        Store::put_session(self, sid, session)
    }
    fn refresh_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError> {
        Store::refresh_token(self, hash)
    }
    fn put_refresh_token(&self, hash: &[u8], record: &RefreshRecord) -> Result<(), StoreError> {
        Store::put_refresh_token(self, hash, record)
    }
}

/// Why a refresh was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown token, or issued to another client.
    #[error("the refresh token is invalid")]
    Invalid,
    /// Past its expiry or its session's.
    #[error("the refresh token has expired")]
    Expired,
    /// Its session was revoked (logout or earlier theft).
    #[error("the refresh token was revoked")]
    Revoked,
    /// An already-rotated token came back: the session is now revoked.
    #[error("the refresh token was already used; the session has been revoked")]
    Reused {
        /// The revoked session.
        sid: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A successful refresh.
#[derive(Debug)]
pub struct Refreshed {
    /// The successor refresh token.
    pub refresh_token: Secret,
    /// Its session id.
    pub sid: String,
    /// The session.
    pub session: SessionRecord,
    /// True when this was a lost-response retry answered with the same successor.
    pub retry: bool,
}

/// The refresh-token rules over a store.
pub struct RefreshTokens<S> {
    store: S,
    /// Striped locks: by token hash for rotation, by session id for revocation.
    stripes: Vec<Mutex<()>>,
}

impl<S: TokenStore> RefreshTokens<S> {
    /// Rules over `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            stripes: (0..256).map(|_| Mutex::new(())).collect(),
        }
    }

    fn stripe(&self, key: &[u8]) -> std::sync::MutexGuard<'_, ()> {
        let index = key.iter().fold(0usize, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(usize::from(*b))
        }) % self.stripes.len();
        // A panic while holding a stripe leaves at worst an unreachable successor
        // (see `refresh`), so a poisoned stripe is safe to reuse.
        self.stripes[index]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a login session for a player and issues its first refresh token.
    pub fn start_session(
        &self,
        player_id: &str,
        player_name: &str,
        client_id: &str,
        now_ms: u64,
    ) -> Result<(String, SessionRecord, Secret), StoreError> {
        let sid = uuid::Uuid::new_v4().simple().to_string();
        let session = SessionRecord {
            player_id: player_id.to_owned(),
            player_name: player_name.to_owned(),
            client_id: client_id.to_owned(),
            created_at: now_ms,
            expires_at: now_ms + SESSION_TTL_MS,
            revoked_at: None,
            revoke_reason: None,
        };
        let token = secrets::generate(REFRESH_TOKEN_PREFIX);
        let record = RefreshRecord {
            sid: sid.clone(),
            issued_at: now_ms,
            expires_at: (now_ms + REFRESH_TTL_MS).min(session.expires_at),
            state: RefreshState::Live,
        };
        self.store.put_session(&sid, &session)?;
        self.store
            .put_refresh_token(&secrets::hash(token.expose()), &record)?;
        Ok((sid, session, token))
    }

    /// Exchanges `presented` for its successor.
    pub fn refresh(
        &self,
        presented: &Secret,
        client_id: Option<&str>,
        now_ms: u64,
    ) -> Result<Refreshed, RefreshError> {
        let hash = secrets::hash(presented.expose());
        // Every use of one token is serialized, so a concurrent refresh sees the
        // rotation this one writes: N concurrent refreshes make one successor.
        let _guard = self.stripe(&hash);
        let Some(record) = self.store.refresh_token(&hash)? else {
            return Err(RefreshError::Invalid);
        };
        let sid = record.sid.clone();
        let Some(session) = self.store.session(&sid)? else {
            return Err(RefreshError::Invalid);
        };
        if client_id.is_some_and(|c| c != session.client_id) {
            return Err(RefreshError::Invalid);
        }
        if session.revoked_at.is_some() {
            return Err(RefreshError::Revoked);
        }
        if record.expires_at <= now_ms || session.expires_at <= now_ms {
            return Err(RefreshError::Expired);
        }
        match &record.state {
            RefreshState::Live => {
                let successor = secrets::generate(REFRESH_TOKEN_PREFIX);
                let successor_hash = secrets::hash(successor.expose());
                let sealed = secrets::seal(presented.expose(), successor.expose())
                    .ok_or(RefreshError::Invalid)?;
                let rotated = RefreshRecord {
                    state: RefreshState::Rotated {
                        at: now_ms,
                        successor: secrets::hex(&successor_hash),
                        sealed_successor: sealed,
                    },
                    ..record.clone()
                };
                let next = RefreshRecord {
                    sid: sid.clone(),
                    issued_at: now_ms,
                    expires_at: (now_ms + REFRESH_TTL_MS).min(session.expires_at),
                    state: RefreshState::Live,
                };
                // Two single-key writes, not a sled batch: sled 0.34 writes out its
                // log buffer twice per batch, which cost a third of the server's CPU
                // under load. The successor goes first: until the parent reads
                // Rotated nobody can reach it, so a crash between the two writes
                // leaves the parent live and its retry simply rotates again. (Were
                // the parent's write ever kept without the successor's, the retry
                // would count as reuse: the session ends, nothing leaks.)
                self.store.put_refresh_token(&successor_hash, &next)?;
                self.store.put_refresh_token(&hash, &rotated)?;
                Ok(Refreshed {
                    refresh_token: successor,
                    sid,
                    session,
                    retry: false,
                })
            }
            RefreshState::Rotated {
                at,
                successor,
                sealed_successor,
            } => {
                let successor_live = decode_hex(successor)
                    .map(|h| self.store.refresh_token(&h))
                    .transpose()?
                    .flatten()
                    .is_some_and(|r| r.state == RefreshState::Live);
                let retry = now_ms.saturating_sub(*at) <= GRACE_MS && successor_live;
                if let Some(token) = retry
                    .then(|| secrets::open(presented.expose(), sealed_successor))
                    .flatten()
                {
                    return Ok(Refreshed {
                        refresh_token: Secret::new(token),
                        sid,
                        session,
                        retry: true,
                    });
                }
                let revoked = SessionRecord {
                    revoked_at: Some(now_ms),
                    revoke_reason: Some("refresh token reuse".into()),
                    ..session
                };
                self.store.put_session(&sid, &revoked)?;
                Err(RefreshError::Reused { sid })
            }
        }
    }

    /// Revokes the session `presented` belongs to. Returns the session id if the
    /// token was known and its session still live; unknown tokens are not an error
    /// (RFC 7009).
    pub fn revoke(&self, presented: &Secret, now_ms: u64) -> Result<Option<String>, StoreError> {
        let Some(record) = self
            .store
            .refresh_token(&secrets::hash(presented.expose()))?
        else {
            return Ok(None);
        };
        self.revoke_session(&record.sid, "revoked by the client", now_ms)
    }

    /// Revokes a session by id. Returns it if it was live.
    pub fn revoke_session(
        &self,
        sid: &str,
        reason: &str,
        now_ms: u64,
    ) -> Result<Option<String>, StoreError> {
        let _guard = self.stripe(sid.as_bytes());
        let Some(session) = self.store.session(sid)? else {
            return Ok(None);
        };
        if session.revoked_at.is_some() {
            return Ok(None);
        }
        let revoked = SessionRecord {
            revoked_at: Some(now_ms),
            revoke_reason: Some(reason.to_owned()),
            ..session
        };
        self.store.put_session(sid, &revoked)?;
        Ok(Some(sid.to_owned()))
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RefreshTokens<Store> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .unwrap_or_else(|e| panic!("{e}"));
        RefreshTokens::new(Store::from_db(db).unwrap_or_else(|e| panic!("{e}")))
    }

    fn ok<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn rotation_consumes_the_token_and_chains() {
        let rules = rules();
        let (sid, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 1_000));
        let r1 = ok(rules.refresh(&t0, Some("cli"), 2_000));
        assert_eq!(r1.sid, sid);
        assert_ne!(r1.refresh_token, t0);
        assert!(!r1.retry);
        let r2 = ok(rules.refresh(&r1.refresh_token, None, 3_000));
        assert_ne!(r2.refresh_token, r1.refresh_token);
    }

    #[test]
    fn a_prompt_retry_gets_the_same_successor() {
        let rules = rules();
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 0));
        let first = ok(rules.refresh(&t0, None, 1_000));
        let retry = ok(rules.refresh(&t0, None, 1_000 + GRACE_MS));
        assert!(retry.retry);
        assert_eq!(retry.refresh_token, first.refresh_token);
        // The successor is still the one live token.
        ok(rules.refresh(&first.refresh_token, None, 2_000));
    }

    #[test]
    fn a_late_retry_is_theft_and_revokes_the_session() {
        let rules = rules();
        let (sid, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 0));
        let first = ok(rules.refresh(&t0, None, 1_000));
        let late = rules.refresh(&t0, None, 1_001 + GRACE_MS);
        assert!(matches!(late, Err(RefreshError::Reused { sid: ref s }) if *s == sid));
        assert!(matches!(
            rules.refresh(&first.refresh_token, None, 2_000 + GRACE_MS),
            Err(RefreshError::Revoked)
        ));
    }

    #[test]
    fn reuse_after_the_successor_was_used_is_theft() {
        let rules = rules();
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 0));
        let t1 = ok(rules.refresh(&t0, None, 1_000)).refresh_token;
        let t2 = ok(rules.refresh(&t1, None, 2_000)).refresh_token;
        assert!(matches!(
            rules.refresh(&t0, None, 3_000),
            Err(RefreshError::Reused { .. })
        ));
        assert!(matches!(
            rules.refresh(&t2, None, 3_000),
            Err(RefreshError::Revoked)
        ));
    }

    #[test]
    fn unknown_expired_and_foreign_client_tokens_are_refused() {
        let rules = rules();
        assert!(matches!(
            rules.refresh(&Secret::new("whr_nope"), None, 0),
            Err(RefreshError::Invalid)
        ));
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 0));
        assert!(matches!(
            rules.refresh(&t0, Some("other"), 1),
            Err(RefreshError::Invalid)
        ));
        assert!(matches!(
            rules.refresh(&t0, None, REFRESH_TTL_MS),
            Err(RefreshError::Expired)
        ));
    }

    #[test]
    fn revocation_ends_the_session() {
        let rules = rules();
        let (sid, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 0));
        assert_eq!(ok(rules.revoke(&t0, 5)), Some(sid));
        assert_eq!(ok(rules.revoke(&t0, 6)), None, "already revoked");
        assert!(matches!(
            rules.refresh(&t0, None, 7),
            Err(RefreshError::Revoked)
        ));
        assert_eq!(ok(rules.revoke(&Secret::new("whr_unknown"), 8)), None);
    }

    #[test]
    fn concurrent_refreshes_yield_one_successor() {
        let rules = std::sync::Arc::new(rules());
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 0));
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let (rules, t0) = (std::sync::Arc::clone(&rules), t0.clone());
                std::thread::spawn(move || rules.refresh(&t0, None, 1_000).map(|r| r.refresh_token))
            })
            .collect();
        let successors: std::collections::HashSet<_> = handles
            .into_iter()
            .map(|h| ok(ok(h.join().map_err(|_| "panicked"))))
            .map(|s| s.expose().to_owned())
            .collect();
        assert_eq!(successors.len(), 1);
    }
}
