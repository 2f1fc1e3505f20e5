//! The refresh-token rules (RFC 9700): issue, rotate atomically, treat a prompt
//! retry as a lost response, treat any other reuse as theft, revoke.
//!
//! A token names its session and generation and carries a tag only this
//! session's key makes, then 256 random bits: `whr_<sid>.<gen>.<tag>.<secret>`.
//! The session record holds the live token's hash, its parent (for the 30 s
//! grace) and the generation; an older ancestor is recognised by its tag, so
//! nothing per rotation is kept. Every change is one
//! [`SessionStore::rotate`] compare-and-set of the session record, so one
//! successor wins however many processes share the store. HTTP lives elsewhere.

use crate::auth::access_token::{AccessError, Subject};
use crate::auth::secrets;
use crate::storage::{
    RefreshChain, RefreshState, RotatedParent, SessionRecord, SessionStore, StoreError,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;
use whack_shared::Secret;
use whack_shared::oauth::REFRESH_TOKEN_PREFIX;

/// A refresh token lives 30 days.
pub const REFRESH_TTL_MS: u64 = 30 * 24 * 3600 * 1000;
/// A login session ends after 90 days at most.
pub const SESSION_TTL_MS: u64 = 90 * 24 * 3600 * 1000;
/// The client id of the account page's browser sessions: no OAuth client may
/// use it, and its tokens live only in an `HttpOnly` cookie.
pub const ACCOUNT_PAGE_CLIENT: &str = "whack-account-page";
/// An account-page cookie unused this long is refused.
pub const ACCOUNT_IDLE_MS: u64 = 30 * 60 * 1000;
/// An account-page session ends this long after its sign-in at most.
pub const ACCOUNT_SESSION_TTL_MS: u64 = 12 * 3600 * 1000;

/// How long a token of `client_id` lives unused, and its session at most.
pub(crate) fn lifetimes(client_id: &str) -> (u64, u64) {
    if client_id == ACCOUNT_PAGE_CLIENT {
        (ACCOUNT_IDLE_MS, ACCOUNT_SESSION_TTL_MS)
    } else {
        (REFRESH_TTL_MS, SESSION_TTL_MS)
    }
}

/// A parent presented again this soon after rotation is a lost-response retry.
pub const GRACE_MS: u64 = 30 * 1000;
/// How precisely a session's last game connection is kept.
const PLAYED_RESOLUTION_MS: u64 = 60 * 1000;
/// Rotations one session may make per minute unless configured: a client
/// refreshes every 15 minutes, so this only stops a loop.
pub const DEFAULT_REFRESHES_PER_MINUTE: u32 = 30;
/// The refresh-rate window, in ms.
const WINDOW_MS: u64 = 60_000;

/// What a decision over the stored session does.
// Made once per change and consumed at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Change<T> {
    /// Replace the session with this record (if nobody changed it first), then return `T`.
    Write(SessionRecord, T),
    /// Write nothing and return `T`.
    Keep(T),
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
    /// The access token to hand out with the successor could not be signed.
    #[error("cannot sign the access token: {0}")]
    Sign(#[from] AccessError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a caller hands out with a successor (the access token), made from the
/// refresh before its rotation is written: so it is computed while the previous
/// group commit is still flushing, and the answer is ready the moment this one
/// is durable. It runs only for a token that earns a successor.
pub type Grant<'a, A> = &'a (dyn Fn(&Refreshed) -> Result<A, RefreshError> + Sync);

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

impl Refreshed {
    /// Who the access token that goes with the successor is for.
    pub fn subject(&self) -> Subject<'_> {
        Subject::of(&self.session, &self.sid)
    }
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
pub struct RefreshTokens {
    store: Arc<dyn SessionStore>,
    per_minute: u32,
}

impl RefreshTokens {
    /// Rules over `store`, allowing `per_minute` rotations per session.
    pub fn new(store: Arc<dyn SessionStore>, per_minute: u32) -> Self {
        Self {
            store,
            per_minute: per_minute.max(1),
        }
    }

    /// Reads the session, lets `decide` choose, and writes its record with one
    /// compare-and-set; if another change came first, decides again on what
    /// is stored now.
    async fn change<T, E: From<StoreError>>(
        &self,
        sid: &str,
        mut decide: impl FnMut(Option<&SessionRecord>) -> Result<Change<T>, E>,
    ) -> Result<T, E> {
        loop {
            let stored = self.store.session(sid).await?;
            let (next, out) = match decide(stored.as_ref().map(|s| &s.record))? {
                Change::Keep(out) => return Ok(out),
                Change::Write(next, out) => (next, out),
            };
            // `decide` writes only over a session it saw.
            let Some(stored) = stored else {
                return Ok(out);
            };
            if self.store.rotate(sid, &stored.version, &next).await? {
                return Ok(out);
            }
        }
    }

    /// Starts a login session for a player and issues its first refresh token.
    pub async fn start_session(
        &self,
        player_id: &str,
        player_name: &str,
        client_id: &str,
        started_from: Option<&str>,
        now_ms: u64,
    ) -> Result<(String, SessionRecord, Secret), StoreError> {
        let sid = uuid::Uuid::new_v4().simple().to_string();
        let (chain, token) = new_chain(&sid, now_ms);
        let session = SessionRecord {
            player_id: player_id.to_owned(),
            player_name: player_name.to_owned(),
            client_id: client_id.to_owned(),
            created_at: now_ms,
            expires_at: now_ms + lifetimes(client_id).1,
            revoked_at: None,
            revoke_reason: None,
            chain: Some(chain),
            started_from: started_from.map(str::to_owned),
            last_played_at: None,
            passkey_checked_at: None,
        };
        // A fresh v4 id never collides; the store refuses to overwrite if it ever did.
        if !self.store.create_session(&sid, &session).await? {
            return Err(StoreError::Backend("a new session id collided".into()));
        }
        Ok((sid, session, token))
    }

    /// Exchanges `presented` for its successor.
    pub async fn refresh(
        &self,
        presented: &Secret,
        client_id: Option<&str>,
        now_ms: u64,
    ) -> Result<Refreshed, RefreshError> {
        let (refreshed, ()) = self
            .refresh_with(presented, client_id, now_ms, &|_| Ok(()))
            .await?;
        Ok(refreshed)
    }

    /// [`Self::refresh`], with `grant` made from the successor before it is written.
    pub async fn refresh_with<A>(
        &self,
        presented: &Secret,
        client_id: Option<&str>,
        now_ms: u64,
        grant: Grant<'_, A>,
    ) -> Result<(Refreshed, A), RefreshError> {
        let Some(parsed) = Parsed::new(presented.expose()) else {
            return self
                .refresh_legacy(presented, client_id, now_ms, grant)
                .await;
        };
        let hash = secrets::hex(&secrets::hash(presented.expose()));
        let sid = parsed.sid.to_owned();
        let outcome = self
            .change(&sid, |stored| {
                let Some(session) = stored else {
                    return Err(RefreshError::Invalid);
                };
                let chain = usable_chain(session, client_id, now_ms)?;
                if !parsed.tag_matches(chain) {
                    return Err(RefreshError::Invalid);
                }
                if parsed.generation == chain.generation && hash == chain.live {
                    let (record, token) = self.rotate(session, chain, &sid, presented, now_ms)?;
                    let issued = issued(token, &sid, record.clone(), false, grant)?;
                    return Ok(Change::Write(record, issued));
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
                    let issued = issued(token, &sid, session.clone(), true, grant)?;
                    return Ok(Change::Keep(issued));
                }
                if parsed.generation < chain.generation {
                    return Ok(Change::Write(
                        revoked(session, "refresh token reuse", now_ms),
                        Outcome::Reused,
                    ));
                }
                // A valid tag on a generation never issued, or a live generation
                // with the wrong secret: a forgery, not a sign of theft.
                Err(RefreshError::Invalid)
            })
            .await?;
        match outcome {
            Outcome::Issued(refreshed, granted) => Ok((refreshed, granted)),
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
    async fn refresh_legacy<A>(
        &self,
        presented: &Secret,
        client_id: Option<&str>,
        now_ms: u64,
        grant: Grant<'_, A>,
    ) -> Result<(Refreshed, A), RefreshError> {
        let hash = secrets::hash(presented.expose());
        let Some(record) = self.store.legacy_token(&hash).await? else {
            return Err(RefreshError::Invalid);
        };
        let sid = record.sid.clone();
        let live = record.state == RefreshState::Live && record.expires_at > now_ms;
        let outcome = self
            .change(&sid, |stored| {
                let Some(session) = stored else {
                    return Err(RefreshError::Invalid);
                };
                check_session(session, client_id, now_ms)?;
                if !live || session.chain.is_some() {
                    if record.expires_at <= now_ms {
                        return Err(RefreshError::Expired);
                    }
                    return Ok(Change::Write(
                        revoked(session, "refresh token reuse", now_ms),
                        Outcome::Reused,
                    ));
                }
                let (chain, token) = new_chain(&sid, now_ms);
                let moved = SessionRecord {
                    chain: Some(chain),
                    ..session.clone()
                };
                let issued = issued(token, &sid, moved.clone(), false, grant)?;
                Ok(Change::Write(moved, issued))
            })
            .await?;
        let Outcome::Issued(refreshed, granted) = outcome else {
            return Err(RefreshError::Reused { sid });
        };
        self.store.remove_legacy_token(&hash).await?;
        Ok((refreshed, granted))
    }

    /// Revokes the session `presented` belongs to. Returns the session id if the
    /// token was known and its session still live; unknown tokens are not an error
    /// (RFC 7009).
    pub async fn revoke(
        &self,
        presented: &Secret,
        now_ms: u64,
    ) -> Result<Option<String>, StoreError> {
        let sid = match Parsed::new(presented.expose()) {
            Some(parsed) => {
                let known = self.store.session(parsed.sid).await?.is_some_and(|s| {
                    s.record
                        .chain
                        .as_ref()
                        .is_some_and(|c| parsed.tag_matches(c))
                });
                if !known {
                    return Ok(None);
                }
                parsed.sid.to_owned()
            }
            None => match self
                .store
                .legacy_token(&secrets::hash(presented.expose()))
                .await?
            {
                Some(record) => record.sid,
                None => return Ok(None),
            },
        };
        self.revoke_session(&sid, "revoked by the client", now_ms)
            .await
    }

    /// Rewrites session `sid` as `amend` returns it; `None` leaves it be.
    async fn amend(
        &self,
        sid: &str,
        amend: impl Fn(&SessionRecord) -> Option<SessionRecord>,
    ) -> Result<(), StoreError> {
        self.change(sid, |stored| {
            Ok::<_, StoreError>(match stored.and_then(&amend) {
                Some(next) => Change::Write(next, ()),
                None => Change::Keep(()),
            })
        })
        .await
    }

    /// Notes that `sid` opened a game connection, at most once a minute (the
    /// list of signed-in devices shows it; it is not worth a write per socket).
    pub async fn played(&self, sid: &str, now_ms: u64) -> Result<(), StoreError> {
        self.amend(sid, |session| {
            let due = session
                .last_played_at
                .is_none_or(|at| now_ms.saturating_sub(at) >= PLAYED_RESOLUTION_MS);
            (session.revoked_at.is_none() && due).then(|| SessionRecord {
                last_played_at: Some(now_ms),
                ..session.clone()
            })
        })
        .await
    }

    /// Notes a fresh passkey check of live session `sid` at `now_ms`.
    pub async fn passkey_checked(&self, sid: &str, now_ms: u64) -> Result<(), StoreError> {
        self.amend(sid, |session| {
            session.revoked_at.is_none().then(|| SessionRecord {
                passkey_checked_at: Some(now_ms),
                ..session.clone()
            })
        })
        .await
    }

    /// Makes session `sid` end by `until` at the latest (so the purge takes it).
    pub async fn cut_short(&self, sid: &str, until: u64) -> Result<(), StoreError> {
        self.amend(sid, |session| {
            (session.expires_at > until).then(|| SessionRecord {
                expires_at: until,
                ..session.clone()
            })
        })
        .await
    }

    /// Revokes a session by id. Returns it if it was live.
    pub async fn revoke_session(
        &self,
        sid: &str,
        reason: &str,
        now_ms: u64,
    ) -> Result<Option<String>, StoreError> {
        self.change(sid, |stored| match stored {
            Some(session) if session.revoked_at.is_none() => Ok(Change::Write(
                revoked(session, reason, now_ms),
                Some(sid.to_owned()),
            )),
            _ => Ok(Change::Keep(None)),
        })
        .await
    }
}

/// What one refresh decided inside the compare-and-swap.
// Made once per refresh and returned at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Outcome<A> {
    Issued(Refreshed, A),
    Reused,
}

/// A successor handed out for session `sid`, as `session` now stands.
fn issued<A>(
    refresh_token: Secret,
    sid: &str,
    session: SessionRecord,
    retry: bool,
    grant: Grant<'_, A>,
) -> Result<Outcome<A>, RefreshError> {
    let refreshed = Refreshed {
        refresh_token,
        sid: sid.to_owned(),
        session,
        retry,
    };
    let granted = grant(&refreshed)?;
    Ok(Outcome::Issued(refreshed, granted))
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
    // A cookie of the account page is good there only, never at /oauth/token.
    let wrong_client = match client_id {
        Some(c) => c != session.client_id,
        None => session.client_id == ACCOUNT_PAGE_CLIENT,
    };
    if wrong_client {
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
    if chain
        .live_issued_at
        .saturating_add(lifetimes(&session.client_id).0)
        <= now_ms
    {
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

    use crate::storage::{MemoryStore, RefreshRecord};

    fn store() -> Arc<MemoryStore> {
        Arc::new(MemoryStore::new())
    }

    fn rules() -> RefreshTokens {
        RefreshTokens::new(store(), 1_000_000)
    }

    /// Bytes the session is stored as.
    async fn stored_bytes(rules: &RefreshTokens, sid: &str) -> usize {
        let session = ok(rules.store.session(sid).await).map(|s| s.record);
        ok(crate::storage::encode(&session)).len()
    }

    fn ok<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[tokio::test]
    async fn account_page_tokens_stay_on_the_account_page_and_live_briefly() {
        let rules = rules();
        let (_, session, cookie) = ok(rules
            .start_session("p1", "Ann", ACCOUNT_PAGE_CLIENT, None, 0)
            .await);
        assert_eq!(session.expires_at, ACCOUNT_SESSION_TTL_MS);
        assert!(
            matches!(
                rules.refresh(&cookie, None, 1).await,
                Err(RefreshError::Invalid)
            ),
            "a cookie is no refresh token for /oauth/token"
        );
        let (_, _, terminal) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        assert!(matches!(
            rules.refresh(&terminal, Some(ACCOUNT_PAGE_CLIENT), 1).await,
            Err(RefreshError::Invalid)
        ));
        let next = ok(rules
            .refresh(&cookie, Some(ACCOUNT_PAGE_CLIENT), 1_000)
            .await);
        assert!(matches!(
            rules
                .refresh(
                    &next.refresh_token,
                    Some(ACCOUNT_PAGE_CLIENT),
                    1_000 + ACCOUNT_IDLE_MS
                )
                .await,
            Err(RefreshError::Expired)
        ));
    }

    #[tokio::test]
    async fn rotation_consumes_the_token_and_chains() {
        let rules = rules();
        let (sid, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 1_000).await);
        let r1 = ok(rules.refresh(&t0, Some("cli"), 2_000).await);
        assert_eq!(r1.sid, sid);
        assert_ne!(r1.refresh_token, t0);
        assert!(!r1.retry);
        let r2 = ok(rules.refresh(&r1.refresh_token, None, 3_000).await);
        assert_ne!(r2.refresh_token, r1.refresh_token);
    }

    #[tokio::test]
    async fn a_prompt_retry_gets_the_same_successor() {
        let rules = rules();
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        let first = ok(rules.refresh(&t0, None, 1_000).await);
        let retry = ok(rules.refresh(&t0, None, 1_000 + GRACE_MS).await);
        assert!(retry.retry);
        assert_eq!(retry.refresh_token, first.refresh_token);
        // The successor is still the one live token.
        ok(rules.refresh(&first.refresh_token, None, 2_000).await);
    }

    #[tokio::test]
    async fn a_late_retry_is_theft_and_revokes_the_session() {
        let rules = rules();
        let (sid, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        let first = ok(rules.refresh(&t0, None, 1_000).await);
        let late = rules.refresh(&t0, None, 1_001 + GRACE_MS).await;
        assert!(matches!(late, Err(RefreshError::Reused { sid: ref s }) if *s == sid));
        assert!(matches!(
            rules
                .refresh(&first.refresh_token, None, 2_000 + GRACE_MS)
                .await,
            Err(RefreshError::Revoked)
        ));
    }

    #[tokio::test]
    async fn reuse_after_the_successor_was_used_is_theft() {
        let rules = rules();
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        let t1 = ok(rules.refresh(&t0, None, 1_000).await).refresh_token;
        let t2 = ok(rules.refresh(&t1, None, 2_000).await).refresh_token;
        assert!(matches!(
            rules.refresh(&t0, None, 3_000).await,
            Err(RefreshError::Reused { .. })
        ));
        assert!(matches!(
            rules.refresh(&t2, None, 3_000).await,
            Err(RefreshError::Revoked)
        ));
    }

    #[tokio::test]
    async fn unknown_expired_and_foreign_client_tokens_are_refused() {
        let rules = rules();
        assert!(matches!(
            rules.refresh(&Secret::new("whr_nope"), None, 0).await,
            Err(RefreshError::Invalid)
        ));
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        assert!(matches!(
            rules.refresh(&t0, Some("other"), 1).await,
            Err(RefreshError::Invalid)
        ));
        assert!(matches!(
            rules.refresh(&t0, None, REFRESH_TTL_MS).await,
            Err(RefreshError::Expired)
        ));
    }

    #[tokio::test]
    async fn revocation_ends_the_session() {
        let rules = rules();
        let (sid, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        assert_eq!(ok(rules.revoke(&t0, 5).await), Some(sid));
        assert_eq!(ok(rules.revoke(&t0, 6).await), None, "already revoked");
        assert!(matches!(
            rules.refresh(&t0, None, 7).await,
            Err(RefreshError::Revoked)
        ));
        assert_eq!(ok(rules.revoke(&Secret::new("whr_unknown"), 8).await), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_refreshes_yield_one_successor() {
        let rules = Arc::new(rules());
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        assert_eq!(distinct_successors(&[rules], &t0).await, 1);
    }

    /// Refreshes `token` from 32 tasks spread over `rule_sets`; how many
    /// different successors came back.
    async fn distinct_successors(rule_sets: &[Arc<RefreshTokens>], token: &Secret) -> usize {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let rules = Arc::clone(&rule_sets[i % rule_sets.len()]);
                let token = token.clone();
                tokio::spawn(async move {
                    rules
                        .refresh(&token, None, 1_000)
                        .await
                        .map(|r| r.refresh_token)
                })
            })
            .collect();
        let mut successors = std::collections::HashSet::new();
        for handle in handles {
            successors.insert(ok(ok(handle.await)).expose().to_owned());
        }
        successors.len()
    }

    #[tokio::test]
    async fn a_session_stores_the_same_bytes_however_often_it_refreshes() {
        let rules = rules();
        let (sid, _, mut token) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        let mut after_100 = 0;
        for i in 1..=10_000u64 {
            token = ok(rules.refresh(&token, None, i).await).refresh_token;
            if i == 100 {
                after_100 = stored_bytes(&rules, &sid).await;
            }
        }
        let after_10_000 = stored_bytes(&rules, &sid).await;
        // Only numbers grow a digit here and there (generation, times, the
        // rate window); the old design added ~750 bytes per rotation.
        assert!(
            after_10_000.abs_diff(after_100) <= 32,
            "{after_100} bytes after 100 rotations, {after_10_000} after 10,000"
        );
    }

    #[tokio::test]
    async fn rotations_per_session_are_rate_limited() {
        let rules = RefreshTokens::new(store(), 2);
        let (_, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        let t1 = ok(rules.refresh(&t0, None, 1_000).await).refresh_token;
        let t2 = ok(rules.refresh(&t1, None, 2_000).await).refresh_token;
        assert!(matches!(
            rules.refresh(&t2, None, 3_000).await,
            Err(RefreshError::TooFrequent {
                retry_after_secs: 57
            })
        ));
        assert!(
            ok(rules.refresh(&t1, None, 3_000).await).retry,
            "a grace retry writes nothing and is not limited"
        );
        ok(rules.refresh(&t2, None, 61_000).await);
    }

    #[tokio::test]
    async fn a_forged_ancestor_is_refused_without_revoking_the_session() {
        let rules = rules();
        let (sid, _, t0) = ok(rules.start_session("p1", "Ann", "cli", None, 0).await);
        let t1 = ok(rules.refresh(&t0, None, 1_000).await).refresh_token;
        let forged = format!(
            "{REFRESH_TOKEN_PREFIX}{sid}.0.{}.{}",
            "A".repeat(22),
            "B".repeat(43)
        );
        assert!(matches!(
            rules.refresh(&Secret::new(forged), None, 2_000).await,
            Err(RefreshError::Invalid)
        ));
        assert_eq!(
            ok(rules.revoke(&Secret::new("whr_x.0.y.z"), 2_000).await),
            None
        );
        ok(rules.refresh(&t1, None, 3_000).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_successor_when_two_rule_sets_share_the_store() {
        // No lock is shared between the two: only the store's compare-and-set.
        let store = store();
        let a = Arc::new(RefreshTokens::new(store.clone(), 1_000_000));
        let b = Arc::new(RefreshTokens::new(store, 1_000_000));
        let (_, _, t0) = ok(a.start_session("p1", "Ann", "cli", None, 0).await);
        assert_eq!(distinct_successors(&[a, b], &t0).await, 1);
    }

    #[tokio::test]
    async fn a_token_from_before_chains_moves_its_session_onto_one() {
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
            started_from: None,
            last_played_at: None,
            passkey_checked_at: None,
        };
        let sid = "0123456789abcdef0123456789abcdef";
        assert!(ok(store.create_session(sid, &session).await));
        let old = secrets::generate(REFRESH_TOKEN_PREFIX);
        let record = RefreshRecord {
            sid: sid.into(),
            issued_at: 0,
            expires_at: REFRESH_TTL_MS,
            state: RefreshState::Live,
        };
        store.put_legacy_token(&secrets::hash(old.expose()), &record);
        let moved = ok(rules.refresh(&old, Some("cli"), 1_000).await);
        assert_eq!(moved.sid, sid);
        assert!(moved.session.chain.is_some());
        assert!(ok(store.legacy_token(&secrets::hash(old.expose())).await).is_none());
        ok(rules.refresh(&moved.refresh_token, None, 2_000).await);
    }
}
