//! The refresh-token rules (RFC 9700): issue, rotate atomically, treat a prompt
//! retry as a lost response, treat any other reuse as theft, revoke.
//!
//! A token names its session and generation and carries a tag only this
//! session's key makes, then 256 random bits: `whr_<sid>.<gen>.<tag>.<secret>`.
//! The session record holds the live token's hash, its parent (for the 30 s
//! grace) and the generation; an older ancestor is recognised by its tag, so
//! nothing per rotation is kept. Each change is one compare-and-swap of the
//! session record. HTTP and flushing live elsewhere.

use crate::auth::secrets;
use crate::store::{
    RefreshChain, RefreshRecord, RefreshState, RotatedParent, SessionRecord, SessionUpdate, Store,
    StoreError,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use whack_shared::Secret;
use whack_shared::oauth::REFRESH_TOKEN_PREFIX;

/// A refresh token lives 30 days.
pub const REFRESH_TTL_MS: u64 = 30 * 24 * 3600 * 1000;
/// A login session ends after 90 days at most.
pub const SESSION_TTL_MS: u64 = 90 * 24 * 3600 * 1000;
/// A parent presented again this soon after rotation is a lost-response retry.
pub const GRACE_MS: u64 = 30 * 1000;
/// Rotations one session may make per minute unless configured: a client
/// refreshes every 15 minutes, so this only stops a loop.
pub const DEFAULT_REFRESHES_PER_MINUTE: u32 = 30;
/// The refresh-rate window, in ms.
const WINDOW_MS: u64 = 60_000;

/// What the rules need from storage.
pub trait TokenStore {
    /// A session by id.
    fn session(&self, sid: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Changes a session with one compare-and-swap (see [`Store::update_session`]).
    fn update_session<T, E: From<StoreError>>(
        &self,
        sid: &str,
        change: impl FnMut(Option<&SessionRecord>) -> Result<SessionUpdate<T>, E>,
    ) -> Result<T, E>;
    /// A token issued before sessions kept their own chain, by hash.
    fn legacy_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError>;
    /// Forgets such a token.
    fn remove_legacy_token(&self, hash: &[u8]) -> Result<(), StoreError>;
}

impl TokenStore for Store {
    fn session(&self, sid: &str) -> Result<Option<SessionRecord>, StoreError> {
        Store::session(self, sid)
    }
    fn update_session<T, E: From<StoreError>>(
        &self,
        sid: &str,
        change: impl FnMut(Option<&SessionRecord>) -> Result<SessionUpdate<T>, E>,
    ) -> Result<T, E> {
        Store::update_session(self, sid, change)
    }
    fn legacy_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError> {
        Store::refresh_token(self, hash)
    }
    fn remove_legacy_token(&self, hash: &[u8]) -> Result<(), StoreError> {
        Store::remove_refresh_token(self, hash)
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
    /// The session refreshed more often than allowed.
    #[error("this login refreshes too often; try again in {retry_after_secs} s")]
    TooFrequent {
        /// Seconds until a rotation is allowed again.
        retry_after_secs: u64,
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

/// A token of the current format, split into its parts.
struct Parsed<'a> {
    sid: &'a str,
    generation: u64,
    tag: &'a str,
}

impl<'a> Parsed<'a> {
    fn new(token: &'a str) -> Option<Self> {
        let rest = token.strip_prefix(REFRESH_TOKEN_PREFIX)?;
        let mut parts = rest.split('.');
        let (sid, generation, tag, secret) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let well_formed = parts.next().is_none()
            && sid.len() == 32
            && sid.bytes().all(|b| b.is_ascii_hexdigit())
            && (1..=20).contains(&generation.len())
            && tag.len() == 22
            && secret.len() == 43;
        Some(Self {
            sid,
            generation: generation.parse().ok().filter(|_| well_formed)?,
            tag,
        })
    }

    /// Whether the tag is the one this session's key makes for this generation.
    fn tag_matches(&self, chain: &RefreshChain) -> bool {
        let expected = URL_SAFE_NO_PAD.encode(tag_of(&chain.tag_key, self.sid, self.generation));
        secrets::same(expected.as_bytes(), self.tag.as_bytes())
    }
}

fn tag_of(key: &[u8], sid: &str, generation: u64) -> [u8; 16] {
    secrets::tag(key, format!("whr v2 {sid} {generation}").as_bytes())
}

/// A new token of generation `generation` for session `sid`.
fn mint(key: &[u8], sid: &str, generation: u64) -> Secret {
    let tag = URL_SAFE_NO_PAD.encode(tag_of(key, sid, generation));
    let random = URL_SAFE_NO_PAD.encode(secrets::random_bytes::<32>());
    Secret::new(format!(
        "{REFRESH_TOKEN_PREFIX}{sid}.{generation}.{tag}.{random}"
    ))
}

/// The refresh-token rules over a store.
pub struct RefreshTokens<S> {
    store: S,
    per_minute: u32,
}

impl<S: TokenStore> RefreshTokens<S> {
    /// Rules over `store`, allowing `per_minute` rotations per session.
    pub fn new(store: S, per_minute: u32) -> Self {
        Self {
            store,
            per_minute: per_minute.max(1),
        }
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
        let (chain, token) = new_chain(&sid, now_ms);
        let session = SessionRecord {
            player_id: player_id.to_owned(),
            player_name: player_name.to_owned(),
            client_id: client_id.to_owned(),
            created_at: now_ms,
            expires_at: now_ms + SESSION_TTL_MS,
            revoked_at: None,
            revoke_reason: None,
            chain: Some(chain),
        };
        self.store.update_session(&sid, |existing| match existing {
            // A fresh v4 id never collides; refuse to overwrite if it ever did.
            Some(_) => Err(StoreError::Conflict),
            None => Ok(SessionUpdate::Write(session.clone(), ())),
        })?;
        Ok((sid, session, token))
    }

    /// Exchanges `presented` for its successor.
    pub fn refresh(
        &self,
        presented: &Secret,
        client_id: Option<&str>,
        now_ms: u64,
    ) -> Result<Refreshed, RefreshError> {
        let Some(parsed) = Parsed::new(presented.expose()) else {
            return self.refresh_legacy(presented, client_id, now_ms);
        };
        let hash = secrets::hex(&secrets::hash(presented.expose()));
        let sid = parsed.sid.to_owned();
        let outcome = self.store.update_session(&sid, |stored| {
            let Some(session) = stored else {
                return Err(RefreshError::Invalid);
            };
            let chain = usable_chain(session, client_id, now_ms)?;
            if !parsed.tag_matches(chain) {
                return Err(RefreshError::Invalid);
            }
            if parsed.generation == chain.generation && hash == chain.live {
                let (record, token) = self.rotate(session, chain, &sid, presented, now_ms)?;
                let issued = issued(token, &sid, record.clone(), false);
                return Ok(SessionUpdate::Write(record, issued));
            }
            let retry = chain.parent.as_ref().filter(|p| {
                parsed.generation + 1 == chain.generation
                    && p.hash == hash
                    && now_ms.saturating_sub(p.at) <= GRACE_MS
            });
            if let Some(token) =
                retry.and_then(|p| secrets::open(presented.expose(), &p.sealed_successor))
            {
                let token = Secret::new(token);
                return Ok(SessionUpdate::Keep(issued(
                    token,
                    &sid,
                    session.clone(),
                    true,
                )));
            }
            if parsed.generation < chain.generation {
                return Ok(SessionUpdate::Write(
                    revoked(session, "refresh token reuse", now_ms),
                    Outcome::Reused,
                ));
            }
            // A valid tag on a generation never issued, or a live generation
            // with the wrong secret: a forgery, not a sign of theft.
            Err(RefreshError::Invalid)
        })?;
        match outcome {
            Outcome::Issued(refreshed) => Ok(refreshed),
            Outcome::Reused => Err(RefreshError::Reused { sid }),
        }
    }

    /// The session after rotating its live token, and the successor.
    fn rotate(
        &self,
        session: &SessionRecord,
        chain: &RefreshChain,
        sid: &str,
        presented: &Secret,
        now_ms: u64,
    ) -> Result<(SessionRecord, Secret), RefreshError> {
        let (window_start, window_rotations) =
            if now_ms.saturating_sub(chain.window_start) < WINDOW_MS {
                (chain.window_start, chain.window_rotations)
            } else {
                (now_ms, 0)
            };
        if window_rotations >= self.per_minute {
            let retry_after_ms = (window_start + WINDOW_MS).saturating_sub(now_ms);
            return Err(RefreshError::TooFrequent {
                retry_after_secs: retry_after_ms.div_ceil(1000).max(1),
            });
        }
        let generation = chain.generation + 1;
        let successor = mint(&chain.tag_key, sid, generation);
        let sealed =
            secrets::seal(presented.expose(), successor.expose()).ok_or(RefreshError::Invalid)?;
        let next = RefreshChain {
            generation,
            live: secrets::hex(&secrets::hash(successor.expose())),
            live_issued_at: now_ms,
            parent: Some(RotatedParent {
                hash: chain.live.clone(),
                at: now_ms,
                sealed_successor: sealed,
            }),
            tag_key: chain.tag_key.clone(),
            window_start,
            window_rotations: window_rotations + 1,
        };
        let record = SessionRecord {
            chain: Some(next),
            ..session.clone()
        };
        Ok((record, successor))
    }

    /// A token from before sessions kept their own chain: a live one moves its
    /// session onto a chain (once; the old record is then forgotten), a rotated
    /// one is reuse as it always was.
    fn refresh_legacy(
        &self,
        presented: &Secret,
        client_id: Option<&str>,
        now_ms: u64,
    ) -> Result<Refreshed, RefreshError> {
        let hash = secrets::hash(presented.expose());
        let Some(record) = self.store.legacy_token(&hash)? else {
            return Err(RefreshError::Invalid);
        };
        let sid = record.sid.clone();
        let live = record.state == RefreshState::Live && record.expires_at > now_ms;
        let outcome = self.store.update_session(&sid, |stored| {
            let Some(session) = stored else {
                return Err(RefreshError::Invalid);
            };
            check_session(session, client_id, now_ms)?;
            if !live || session.chain.is_some() {
                if record.expires_at <= now_ms {
                    return Err(RefreshError::Expired);
                }
                return Ok(SessionUpdate::Write(
                    revoked(session, "refresh token reuse", now_ms),
                    Outcome::Reused,
                ));
            }
            let (chain, token) = new_chain(&sid, now_ms);
            let moved = SessionRecord {
                chain: Some(chain),
                ..session.clone()
            };
            let issued = issued(token, &sid, moved.clone(), false);
            Ok(SessionUpdate::Write(moved, issued))
        })?;
        let Outcome::Issued(refreshed) = outcome else {
            return Err(RefreshError::Reused { sid });
        };
        self.store.remove_legacy_token(&hash)?;
        Ok(refreshed)
    }

    /// Revokes the session `presented` belongs to. Returns the session id if the
    /// token was known and its session still live; unknown tokens are not an error
    /// (RFC 7009).
    pub fn revoke(&self, presented: &Secret, now_ms: u64) -> Result<Option<String>, StoreError> {
        let sid = match Parsed::new(presented.expose()) {
            Some(parsed) => {
                let known = self
                    .store
                    .session(parsed.sid)?
                    .is_some_and(|s| s.chain.as_ref().is_some_and(|c| parsed.tag_matches(c)));
                if !known {
                    return Ok(None);
                }
                parsed.sid.to_owned()
            }
            None => match self
                .store
                .legacy_token(&secrets::hash(presented.expose()))?
            {
                Some(record) => record.sid,
                None => return Ok(None),
            },
        };
        self.revoke_session(&sid, "revoked by the client", now_ms)
    }

    /// Revokes a session by id. Returns it if it was live.
    pub fn revoke_session(
        &self,
        sid: &str,
        reason: &str,
        now_ms: u64,
    ) -> Result<Option<String>, StoreError> {
        self.store.update_session(sid, |stored| match stored {
            Some(session) if session.revoked_at.is_none() => Ok(SessionUpdate::Write(
                revoked(session, reason, now_ms),
                Some(sid.to_owned()),
            )),
            _ => Ok(SessionUpdate::Keep(None)),
        })
    }
}

/// What one refresh decided inside the compare-and-swap.
// Made once per refresh and returned at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Outcome {
    Issued(Refreshed),
    Reused,
}

/// A successor handed out for session `sid`, as `session` now stands.
fn issued(refresh_token: Secret, sid: &str, session: SessionRecord, retry: bool) -> Outcome {
    Outcome::Issued(Refreshed {
        refresh_token,
        sid: sid.to_owned(),
        session,
        retry,
    })
}

/// A chain whose first token is generation 0.
fn new_chain(sid: &str, now_ms: u64) -> (RefreshChain, Secret) {
    let tag_key = secrets::random_bytes::<32>().to_vec();
    let token = mint(&tag_key, sid, 0);
    let chain = RefreshChain {
        generation: 0,
        live: secrets::hex(&secrets::hash(token.expose())),
        live_issued_at: now_ms,
        parent: None,
        tag_key,
        window_start: now_ms,
        window_rotations: 0,
    };
    (chain, token)
}

/// Client, revocation and expiry checks every refresh passes first.
fn check_session(
    session: &SessionRecord,
    client_id: Option<&str>,
    now_ms: u64,
) -> Result<(), RefreshError> {
    if client_id.is_some_and(|c| c != session.client_id) {
        return Err(RefreshError::Invalid);
    }
    if session.revoked_at.is_some() {
        return Err(RefreshError::Revoked);
    }
    if session.expires_at <= now_ms {
        return Err(RefreshError::Expired);
    }
    Ok(())
}

/// The session's chain, once the session passed its checks and the live token
/// is unexpired.
fn usable_chain<'s>(
    session: &'s SessionRecord,
    client_id: Option<&str>,
    now_ms: u64,
) -> Result<&'s RefreshChain, RefreshError> {
    let chain = session.chain.as_ref().ok_or(RefreshError::Invalid)?;
    check_session(session, client_id, now_ms)?;
    if chain.live_issued_at.saturating_add(REFRESH_TTL_MS) <= now_ms {
        return Err(RefreshError::Expired);
    }
    Ok(chain)
}

fn revoked(session: &SessionRecord, reason: &str, now_ms: u64) -> SessionRecord {
    SessionRecord {
        revoked_at: Some(now_ms),
        revoke_reason: Some(reason.to_owned()),
        ..session.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .unwrap_or_else(|e| panic!("{e}"));
        Store::from_db(db).unwrap_or_else(|e| panic!("{e}"))
    }

    fn rules() -> RefreshTokens<Store> {
        RefreshTokens::new(store(), 1_000_000)
    }

    /// Bytes of every key and value in every tree.
    fn stored_bytes(store: &Store) -> usize {
        store
            .db()
            .tree_names()
            .into_iter()
            .filter_map(|name| store.db().open_tree(name).ok())
            .flat_map(|tree| tree.iter().flatten().collect::<Vec<_>>())
            .map(|(k, v)| k.len() + v.len())
            .sum()
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
        assert_eq!(distinct_successors(&[rules], &t0), 1);
    }

    /// Refreshes `token` from 32 threads spread over `rule_sets`; how many
    /// different successors came back.
    fn distinct_successors(
        rule_sets: &[std::sync::Arc<RefreshTokens<Store>>],
        token: &Secret,
    ) -> usize {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let rules = std::sync::Arc::clone(&rule_sets[i % rule_sets.len()]);
                let token = token.clone();
                std::thread::spawn(move || {
                    rules.refresh(&token, None, 1_000).map(|r| r.refresh_token)
                })
            })
            .collect();
        let successors: std::collections::HashSet<_> = handles
            .into_iter()
            .map(|h| ok(ok(h.join().map_err(|_| "panicked"))))
            .map(|s| s.expose().to_owned())
            .collect();
        successors.len()
    }

    #[test]
    fn a_session_stores_the_same_bytes_however_often_it_refreshes() {
        let rules = rules();
        let (_, _, mut token) = ok(rules.start_session("p1", "Ann", "cli", 0));
        let mut after_100 = 0;
        for i in 1..=10_000u64 {
            token = ok(rules.refresh(&token, None, i)).refresh_token;
            if i == 100 {
                after_100 = stored_bytes(&rules.store);
            }
        }
        let after_10_000 = stored_bytes(&rules.store);
        // Only numbers grow a digit here and there (generation, times, the
        // rate window); the old design added ~750 bytes per rotation.
        assert!(
            after_10_000.abs_diff(after_100) <= 32,
            "{after_100} bytes after 100 rotations, {after_10_000} after 10,000"
        );
    }

    #[test]
    fn rotations_per_session_are_rate_limited() {
        let rules = RefreshTokens::new(store(), 2);
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 0));
        let t1 = ok(rules.refresh(&t0, None, 1_000)).refresh_token;
        let t2 = ok(rules.refresh(&t1, None, 2_000)).refresh_token;
        assert!(matches!(
            rules.refresh(&t2, None, 3_000),
            Err(RefreshError::TooFrequent {
                retry_after_secs: 57
            })
        ));
        assert!(
            ok(rules.refresh(&t1, None, 3_000)).retry,
            "a grace retry writes nothing and is not limited"
        );
        ok(rules.refresh(&t2, None, 61_000));
    }

    #[test]
    fn a_forged_ancestor_is_refused_without_revoking_the_session() {
        let rules = rules();
        let (sid, _, t0) = ok(rules.start_session("p1", "Ann", "cli", 0));
        let t1 = ok(rules.refresh(&t0, None, 1_000)).refresh_token;
        let forged = format!(
            "{REFRESH_TOKEN_PREFIX}{sid}.0.{}.{}",
            "A".repeat(22),
            "B".repeat(43)
        );
        assert!(matches!(
            rules.refresh(&Secret::new(forged), None, 2_000),
            Err(RefreshError::Invalid)
        ));
        assert_eq!(ok(rules.revoke(&Secret::new("whr_x.0.y.z"), 2_000)), None);
        ok(rules.refresh(&t1, None, 3_000));
    }

    #[test]
    fn one_successor_when_two_rule_sets_share_the_store() {
        // No lock is shared between the two: only the store's compare-and-swap.
        let store = store();
        let a = std::sync::Arc::new(RefreshTokens::new(store.clone(), 1_000_000));
        let b = std::sync::Arc::new(RefreshTokens::new(store, 1_000_000));
        let (_, _, t0) = ok(a.start_session("p1", "Ann", "cli", 0));
        assert_eq!(distinct_successors(&[a, b], &t0), 1);
    }

    #[test]
    fn a_token_from_before_chains_moves_its_session_onto_one() {
        let store = store();
        let rules = RefreshTokens::new(store.clone(), 1_000_000);
        let session = SessionRecord {
            player_id: "p1".into(),
            player_name: "Ann".into(),
            client_id: "cli".into(),
            created_at: 0,
            expires_at: SESSION_TTL_MS,
            revoked_at: None,
            revoke_reason: None,
            chain: None,
        };
        let sid = "0123456789abcdef0123456789abcdef";
        ok(store.put_session(sid, &session));
        let old = secrets::generate(REFRESH_TOKEN_PREFIX);
        let record = RefreshRecord {
            sid: sid.into(),
            issued_at: 0,
            expires_at: REFRESH_TTL_MS,
            state: RefreshState::Live,
        };
        ok(store.put_refresh_token(&secrets::hash(old.expose()), &record));
        let moved = ok(rules.refresh(&old, Some("cli"), 1_000));
        assert_eq!(moved.sid, sid);
        assert!(moved.session.chain.is_some());
        assert!(ok(store.refresh_token(&secrets::hash(old.expose()))).is_none());
        ok(rules.refresh(&moved.refresh_token, None, 2_000));
    }
}
