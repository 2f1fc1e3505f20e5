//! The login service the HTTP handlers call: each method is one whole step of
//! a flow (start a device login, exchange its code, refresh, revoke, approve),
//! and returns only once what it changed is durable (the store's rule).

use crate::auth::access_token::AccessTokens;
use crate::auth::device_grant::{DecideError, DeviceGrant, Poll};
use crate::auth::key_set::KeySet;
use crate::auth::passkeys::{ApprovedBy, PasskeyError, Passkeys, Recovered};
use crate::auth::recovery::{Recovery, RecoveryError};
use crate::auth::refresh::{ACCOUNT_PAGE_CLIENT, RefreshError, RefreshTokens, Refreshed};
use crate::auth::revocation::Revocations;
use crate::auth::revocation_feed;
use crate::auth::sessions::{self, MAX_LIVE_SESSIONS_PER_PLAYER};
use crate::rate_limit::{MAX_WRONG_GUESSES, Quota, WINDOW_MS};
use crate::storage::shared_counts::SharedCounts;
use crate::storage::{PlayerRecord, RevocationFeed, SessionRecord, SharedStore, StoreError};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use whack_shared::Secret;
use whack_shared::device_page::SignedIn;

/// The login side's settings (from the flags).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Where players reach this server: the token issuer and the passkeys' origin.
    pub public_url: url::Url,
    /// How long an access token lives.
    pub access_token_ttl: Duration,
    /// How long a device code lives.
    pub device_code_ttl: Duration,
    /// Device authorizations one address may start a minute.
    pub device_authorizations_per_minute: u32,
    /// Passkey ceremonies one address may start a minute.
    pub ceremonies_per_minute: u32,
    /// Refreshes one session may make a minute.
    pub refreshes_per_minute: u32,
}

impl AuthSettings {
    /// The issuer: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    /// How long after a revocation an access token of that session could still
    /// pass every other check: its lifetime plus the clock leeway.
    pub fn revocation_window_ms(&self) -> u64 {
        let secs = self.access_token_ttl.as_secs() + crate::auth::access_token::LEEWAY_SECS;
        secs.saturating_mul(1000)
    }
}

/// Every login-side service over one store.
pub struct AuthService {
    /// Access tokens (issue and verify).
    pub access: AccessTokens,
    /// The device grant.
    pub devices: DeviceGrant,
    /// Passkey ceremonies.
    pub passkeys: Passkeys,
    /// Recovery codes.
    pub recovery: Recovery,
    /// Wrong user-code guesses per address.
    pub guesses: Quota,
    /// Device authorizations per address.
    pub device_requests: Quota,
    /// Passkey ceremony starts per address.
    pub ceremony_starts: Quota,
    /// Revoked sessions, announced to open game sockets.
    pub revocations: Arc<Revocations>,
    refresh: RefreshTokens,
    store: SharedStore,
    /// The feed other nodes learn this node's revocations from, if shared.
    feed: Option<Arc<dyn RevocationFeed>>,
    revocation_window_ms: u64,
}

/// How long a deleted account's name stays taken, so nobody can pose as
/// the player under it right away.
pub const NAME_COOLDOWN_MS: u64 = 7 * 24 * 3600 * 1000;

/// Why a recovery could not complete.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The code.
    #[error(transparent)]
    Code(#[from] RecoveryError),
    /// The new passkey.
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
}

impl From<StoreError> for RecoverError {
    fn from(e: StoreError) -> Self {
        Self::Code(RecoveryError::Store(e))
    }
}

/// A device login that completed: the session it started and its first
/// refresh token.
pub struct DeviceLogin {
    /// The session id.
    pub sid: String,
    /// The session.
    pub session: SessionRecord,
    /// Its first refresh token.
    pub refresh_token: Secret,
}

/// Why exchanging a device code gave no tokens.
#[derive(Debug, thiserror::Error)]
pub enum DeviceLoginError {
    /// The grant's answer (pending, slow down, denied, expired, invalid).
    #[error("the device code cannot be exchanged yet or any more")]
    NotApproved(Poll),
    /// The approving player is gone.
    #[error("the player no longer exists")]
    PlayerGone,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the login service could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Passkeys cannot work with this public URL.
    #[error(transparent)]
    Passkeys(#[from] PasskeyError),
    /// The revoked sessions could not be read.
    #[error("cannot read the revoked sessions: {0}")]
    Store(#[from] StoreError),
}

/// Why a decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// Another tab (or person) decided first, or the request expired.
    #[error("the request was already decided")]
    AlreadyDecided,
    /// Creating the signed-up account failed (its name was taken meanwhile).
    #[error(transparent)]
    Account(#[from] PasskeyError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthService {
    /// Builds the services over `store`, rebuilding the revocation list from
    /// the sessions revoked recently enough to matter.
    pub async fn open(
        config: &AuthSettings,
        keys: KeySet,
        store: SharedStore,
        revocations: Arc<Revocations>,
        now_ms: u64,
    ) -> Result<Self, OpenError> {
        let window = config.revocation_window_ms();
        for (sid, at) in store.revoked_since(now_ms.saturating_sub(window)).await? {
            revocations.revoke(&sid, at);
        }
        let per_minute =
            |name, n: u32| Quota::new(name, usize::try_from(n).unwrap_or(usize::MAX), WINDOW_MS);
        Ok(Self {
            access: AccessTokens::new(
                keys,
                config.issuer(),
                config.access_token_ttl,
                Arc::clone(&revocations),
            ),
            devices: DeviceGrant::new(
                store.clone(),
                u64::try_from(config.device_code_ttl.as_millis()).unwrap_or(u64::MAX),
            ),
            passkeys: Passkeys::new(&config.public_url, store.clone())?,
            recovery: Recovery::new(store.clone()),
            guesses: Quota::new("user_code_guesses", MAX_WRONG_GUESSES, WINDOW_MS),
            device_requests: per_minute(
                "device_authorizations",
                config.device_authorizations_per_minute,
            ),
            ceremony_starts: per_minute("ceremony_starts", config.ceremonies_per_minute),
            refresh: RefreshTokens::new(store.clone(), config.refreshes_per_minute),
            revocations,
            store,
            feed: None,
            revocation_window_ms: window,
        })
    }

    /// Announces this node's revocations on `feed` too (a store other nodes share).
    pub fn with_feed(mut self, feed: Arc<dyn RevocationFeed>) -> Self {
        self.feed = Some(feed);
        self
    }

    /// Counts the login-side quotas in `counts` (a store other nodes share),
    /// so they hold for the whole server.
    pub fn with_shared_counts(mut self, counts: &Arc<dyn SharedCounts>) -> Self {
        self.guesses = self.guesses.shared(Arc::clone(counts));
        self.recovery = self.recovery.shared(counts);
        self.device_requests = self.device_requests.shared(Arc::clone(counts));
        self.ceremony_starts = self.ceremony_starts.shared(Arc::clone(counts));
        self
    }

    /// How far back revocations matter (the access tokens' lifetime and leeway).
    pub fn revocation_window_ms(&self) -> u64 {
        self.revocation_window_ms
    }

    /// Refuses `sid`'s access tokens here and tells this node's sockets, then
    /// every other node through the feed.
    async fn revoked(&self, sid: &str, now_ms: u64) {
        self.revocations.revoke(sid, now_ms);
        if let Some(feed) = &self.feed {
            revocation_feed::publish(feed, sid, now_ms).await;
        }
    }

    /// A player by id.
    pub async fn player(&self, id: &str) -> Result<Option<PlayerRecord>, StoreError> {
        self.store.player(id).await
    }

    /// Exchanges an approved device code for a new login session, made from
    /// address `from`. A login beyond the player's bound ends their oldest.
    pub async fn device_login(
        &self,
        device_code: &Secret,
        client_id: &str,
        from: &str,
        now_ms: u64,
    ) -> Result<DeviceLogin, DeviceLoginError> {
        let player_id = match self.devices.poll(device_code, client_id, now_ms).await? {
            Poll::Approved { player_id } => player_id,
            other => return Err(DeviceLoginError::NotApproved(other)),
        };
        let player = self
            .store
            .player(&player_id)
            .await?
            .ok_or(DeviceLoginError::PlayerGone)?;
        let (sid, session, refresh_token) =
            self.start_session(&player, client_id, from, now_ms).await?;
        Ok(DeviceLogin {
            sid,
            session,
            refresh_token,
        })
    }

    /// Rotates a refresh token and signs the access token that goes with the
    /// successor. Reuse revokes the session, durably, before its access tokens
    /// are refused and its sockets told.
    pub async fn refresh(
        &self,
        presented: &Secret,
        client_id: Option<&str>,
        now_ms: u64,
    ) -> Result<(Refreshed, Secret), RefreshError> {
        let sign = |r: &Refreshed| Ok(self.access.issue(&r.subject(), now_ms / 1000)?);
        let result = self
            .refresh
            .refresh_with(presented, client_id, now_ms, &sign)
            .await;
        self.note_reuse(&result, now_ms).await;
        result
    }

    /// Signs `player` in to the account page from address `from`: a browser
    /// session of its own, and the first token for its cookie.
    pub async fn account_signin(
        &self,
        player: &PlayerRecord,
        from: &str,
        now_ms: u64,
    ) -> Result<(String, Secret), StoreError> {
        let (sid, _, token) = self
            .start_session(player, ACCOUNT_PAGE_CLIENT, from, now_ms)
            .await?;
        Ok((sid, token))
    }

    /// Rotates the account page's cookie token, as every request does; an old
    /// one presented again ends the browser session, like a reused refresh token.
    pub async fn account_session(
        &self,
        presented: &Secret,
        now_ms: u64,
    ) -> Result<Refreshed, RefreshError> {
        let result = self
            .refresh
            .refresh(presented, Some(ACCOUNT_PAGE_CLIENT), now_ms)
            .await;
        self.note_reuse(&result, now_ms).await;
        result
    }

    /// A new login session; one beyond the player's bound ends their oldest.
    async fn start_session(
        &self,
        player: &PlayerRecord,
        client_id: &str,
        from: &str,
        now_ms: u64,
    ) -> Result<(String, SessionRecord, Secret), StoreError> {
        let (sid, session, token) = self
            .refresh
            .start_session(&player.id, &player.name, client_id, Some(from), now_ms)
            .await?;
        let live = self.sessions(&player.id, now_ms).await?;
        for old in sessions::beyond(&live, &sid, MAX_LIVE_SESSIONS_PER_PLAYER) {
            self.end(&old, "too many sessions", now_ms).await?;
        }
        Ok((sid, session, token))
    }

    /// A reused token has revoked its session in the store: refuse its access
    /// tokens and close its sockets too.
    async fn note_reuse<T>(&self, result: &Result<T, RefreshError>, now_ms: u64) {
        if let Err(RefreshError::Reused { sid }) = result {
            self.revoked(sid, now_ms).await;
            tracing::warn!(sid, "refresh token reuse detected; session revoked");
        }
    }

    /// Ends the login any of whose tokens `token` is (refresh or access).
    /// Returns the session if it was live; unknown tokens are not an error
    /// (RFC 7009).
    pub async fn revoke(&self, token: &Secret, now_ms: u64) -> Result<Option<String>, StoreError> {
        const REASON: &str = "revoked by the client";
        let sid = match self.refresh.revoke(token, now_ms).await? {
            Some(sid) => Some(sid),
            None => match self.access.verify(token.expose()) {
                Ok(claims) => {
                    self.refresh
                        .revoke_session(&claims.sid, REASON, now_ms)
                        .await?
                }
                Err(_) => None,
            },
        };
        if let Some(sid) = &sid {
            self.revoked(sid, now_ms).await;
            tracing::info!(sid, "session revoked by the client");
        }
        Ok(sid)
    }

    /// Completes a recovery: spends its code (once), stores the new passkey,
    /// and approves the request it was made on as the player.
    pub async fn recover(
        &self,
        recovered: Recovered,
        from: IpAddr,
        now_ms: u64,
    ) -> Result<SignedIn, RecoverError> {
        self.spend_and_store(&recovered, from, now_ms).await?;
        Ok(self.passkeys.approve_recovered(recovered, now_ms))
    }

    /// Completes a recovery on the account page: spends its code (once),
    /// stores the new passkey, and signs the browser in.
    pub async fn recover_account(
        &self,
        recovered: Recovered,
        from: IpAddr,
        now_ms: u64,
    ) -> Result<(String, Secret), RecoverError> {
        self.spend_and_store(&recovered, from, now_ms).await?;
        Ok(self
            .account_signin(&recovered.player, &from.to_string(), now_ms)
            .await?)
    }

    async fn spend_and_store(
        &self,
        recovered: &Recovered,
        from: IpAddr,
        now_ms: u64,
    ) -> Result<(), RecoverError> {
        let player_id = &recovered.player.id;
        self.recovery
            .spend(player_id, recovered.code, from, now_ms)
            .await?;
        if !self.store.add_credential(&recovered.credential).await? {
            return Err(RecoverError::Passkey(PasskeyError::Rejected));
        }
        tracing::info!(player = %player_id, "passkey added after a recovery");
        Ok(())
    }

    /// Deletes the player's account: every session ends like a logout (and
    /// is purged once its access tokens are past), then the passkeys, recovery
    /// codes and stats go; the name stays taken for [`NAME_COOLDOWN_MS`].
    pub async fn delete_account(&self, player_id: &str, now_ms: u64) -> Result<(), StoreError> {
        let purge_after = now_ms.saturating_add(self.revocation_window_ms);
        for (sid, _) in self.store.sessions_of(player_id).await? {
            self.end(&sid, "account deleted", now_ms).await?;
            self.refresh.cut_short(&sid, purge_after).await?;
        }
        self.store
            .delete_account(player_id, now_ms.saturating_add(NAME_COOLDOWN_MS))
            .await?;
        self.store.remove_player_stats(player_id).await?;
        tracing::info!(player = %player_id, "account deleted");
        Ok(())
    }

    /// A player's live login sessions, newest first.
    pub async fn sessions(
        &self,
        player_id: &str,
        now_ms: u64,
    ) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let stored = self.store.sessions_of(player_id).await?;
        Ok(sessions::live(stored, now_ms))
    }

    /// Ends one of the player's sessions exactly like a logout. False if `sid`
    /// is not a live session of theirs.
    pub async fn end_session(
        &self,
        player_id: &str,
        sid: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let theirs = self
            .store
            .session(sid)
            .await?
            .is_some_and(|s| s.record.player_id == player_id);
        Ok(theirs && self.end(sid, "ended by the player", now_ms).await?)
    }

    /// Ends every live session of the player but `keep`; returns how many.
    pub async fn end_other_sessions(
        &self,
        player_id: &str,
        keep: &str,
        now_ms: u64,
    ) -> Result<usize, StoreError> {
        let mut ended = 0;
        for (sid, _) in self.sessions(player_id, now_ms).await? {
            if sid != keep && self.end(&sid, "ended by the player", now_ms).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Notes a fresh passkey check of account-page session `sid`.
    pub async fn passkey_checked(&self, sid: &str, now_ms: u64) -> Result<(), StoreError> {
        self.refresh.passkey_checked(sid, now_ms).await
    }

    /// Notes a game connection of session `sid` (see [`RefreshTokens::played`]).
    pub async fn played(&self, sid: &str, now_ms: u64) -> Result<(), StoreError> {
        self.refresh.played(sid, now_ms).await
    }

    /// Revokes `sid` durably, then refuses its access tokens and closes its
    /// sockets everywhere. False if it was not live.
    async fn end(&self, sid: &str, reason: &str, now_ms: u64) -> Result<bool, StoreError> {
        if self
            .refresh
            .revoke_session(sid, reason, now_ms)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        self.revoked(sid, now_ms).await;
        tracing::info!(sid, reason, "session ended");
        Ok(true)
    }

    /// Records the player's decision on the pending request `device_hash`.
    /// A sign-up's account is created first and exists only if its approval
    /// wins: if another decision came first, it is removed again.
    pub async fn decide(
        &self,
        device_hash: &[u8],
        approved_by: Option<&ApprovedBy>,
        now_ms: u64,
    ) -> Result<(), ApproveError> {
        if let Some(approver) = approved_by {
            approver.create_account(self.store.as_ref()).await?;
        }
        let decided = self
            .devices
            .decide(device_hash, approved_by.map(ApprovedBy::player_id), now_ms)
            .await;
        match decided {
            Ok(_) => Ok(()),
            Err(e) => {
                if let Some(approver) = approved_by.filter(|a| a.is_new_account()) {
                    self.store.delete_player(approver.player_id()).await?;
                }
                match e {
                    DecideError::UnknownCode => Err(ApproveError::AlreadyDecided),
                    DecideError::Store(e) => Err(e.into()),
                }
            }
        }
    }

    /// Periodic housekeeping: forgets what can no longer matter.
    pub async fn purge(&self, now_ms: u64) {
        let forgotten = self
            .revocations
            .purge_before(now_ms.saturating_sub(self.revocation_window_ms));
        self.guesses.purge(now_ms);
        self.recovery.purge(now_ms);
        self.device_requests.purge(now_ms);
        self.ceremony_starts.purge(now_ms);
        match self.store.purge(now_ms).await {
            Ok(removed) => tracing::debug!(removed, forgotten, "purged expired records"),
            Err(e) => tracing::warn!(error = %e, "purge failed"),
        }
    }
}
