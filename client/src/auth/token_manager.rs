//! The token manager every authenticated call goes through.
//!
//! The access token lives only in memory. It is refreshed shortly before it expires and
//! once after a 401. Refreshes are serialized within the process (an async mutex) and
//! across processes (a lock file); after taking the lock the stored refresh token is
//! read again, so a token another process already rotated is never presented (that
//! would be reuse and end the session). The rotated refresh token is stored before the
//! new access token is handed out.

use crate::auth::http::{self, Http, HttpError};
use crate::auth::paths;
use crate::auth::refresh_lock::{LockError, RefreshLock};
use crate::auth::server::ServerUrl;
use crate::auth::storage::{Storage, StorageError};
use crate::sanitize::MAX_ACCESS_LIFETIME_SECS;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use thiserror::Error;
use tokio::time::Instant;
use whack_shared::oauth::{ErrorBody, ErrorCode, REFRESH_TOKEN_GRANT, TokenResponse};
use whack_shared::{CLIENT_ID, Secret};

/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// How long to wait for another process's refresh.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an authenticated call could not get a usable access token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// Nothing is stored for this server.
    #[error("not logged in to {server}; run `whack login`")]
    NotLoggedIn {
        /// The server origin.
        server: String,
    },
    /// The server refused the stored login (revoked, expired or reused); storage
    /// has been cleared.
    #[error("logged out: {reason}; run `whack login` to sign in again")]
    LoggedOut {
        /// Why, for the player.
        reason: String,
    },
    /// The token storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The server could not be reached or answered oddly.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The refresh lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The server refused a freshly refreshed access token.
    #[error("the server refused the access token even after a refresh; try `whack login`")]
    Unauthorized,
    /// The server refused the refresh for a reason other than a dead login.
    #[error("the server refused to refresh the login: {0}")]
    Refused(String),
}

/// What `logout` managed to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// The server revoked the session and the local token is gone.
    Revoked,
    /// The local token is gone but the server could not be told.
    ServerNotTold(HttpError),
    /// Nothing was stored.
    WasNotLoggedIn,
}

#[derive(Debug, Clone)]
struct Access {
    token: Secret,
    refresh_at: Instant,
    expires_at: SystemTime,
}

struct Inner {
    server: ServerUrl,
    http: Http,
    storage: Storage,
    access: Mutex<Option<Access>>,
    refresh_gate: tokio::sync::Mutex<()>,
}

/// Hands out access tokens for one server; clones share state.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("server", &self.inner.server)
            .field("storage", &self.inner.storage.describe())
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A manager for `server` keeping its refresh token in `storage`.
    pub fn new(server: ServerUrl, storage: Storage, http: Http) -> Self {
        Self {
            inner: Arc::new(Inner {
                server,
                http,
                storage,
                access: Mutex::new(None),
                refresh_gate: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The server.
    pub fn server(&self) -> &ServerUrl {
        &self.inner.server
    }

    /// The HTTP client.
    pub fn http(&self) -> &Http {
        &self.inner.http
    }

    /// The refresh-token storage.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Takes the tokens of a fresh login: the refresh token is stored first.
    pub async fn adopt(&self, tokens: TokenResponse) -> Result<(), AuthError> {
        let sent_at = Instant::now();
        let _gate = self.inner.refresh_gate.lock().await;
        let _lock = self.lock().await?;
        self.inner.storage.save(&tokens.refresh_token).await?;
        self.set_access(&tokens, sent_at);
        Ok(())
    }

    /// A valid access token, refreshed first if it expires within a minute.
    pub async fn access_token(&self) -> Result<Secret, AuthError> {
        if let Some(token) = self.fresh_access() {
            return Ok(token);
        }
        let _gate = self.inner.refresh_gate.lock().await;
        if let Some(token) = self.fresh_access() {
            return Ok(token);
        }
        self.refresh_holding_gate().await
    }

    /// Refreshes now, whatever the current token's expiry.
    pub async fn force_refresh(&self) -> Result<Secret, AuthError> {
        let _gate = self.inner.refresh_gate.lock().await;
        self.refresh_holding_gate().await
    }

    /// After a 401 with `rejected`: refreshes once, unless another task already did.
    pub async fn refresh_after_401(&self, rejected: &Secret) -> Result<Secret, AuthError> {
        let _gate = self.inner.refresh_gate.lock().await;
        if let Some(current) = self.current_access()
            && current.token != *rejected
        {
            return Ok(current.token);
        }
        self.refresh_holding_gate().await
    }

    /// When the access token in memory expires, if there is one.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.current_access().map(|a| a.expires_at)
    }

    /// True when an access token is in memory or a refresh token is stored.
    pub async fn is_logged_in(&self) -> Result<bool, AuthError> {
        if self.current_access().is_some() {
            return Ok(true);
        }
        Ok(self.inner.storage.load().await?.is_some())
    }

    /// Revokes the session at the server and removes the stored token. Offline, the
    /// token is removed anyway and the outcome says the server was not told.
    pub async fn logout(&self) -> Result<LogoutOutcome, AuthError> {
        let _gate = self.inner.refresh_gate.lock().await;
        let _lock = self.lock().await?;
        let stored = self.inner.storage.load().await?;
        self.clear_access();
        let Some(refresh) = stored else {
            return Ok(LogoutOutcome::WasNotLoggedIn);
        };
        let told = self.revoke(&refresh).await;
        self.inner.storage.clear().await?;
        Ok(match told {
            Ok(()) => LogoutOutcome::Revoked,
            Err(e) => LogoutOutcome::ServerNotTold(e),
        })
    }

    async fn lock(&self) -> Result<RefreshLock, AuthError> {
        let path = paths::refresh_lock_file(&self.inner.server)?;
        Ok(RefreshLock::acquire(&path, LOCK_TIMEOUT).await?)
    }

    fn current_access(&self) -> Option<Access> {
        self.inner
            .access
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn fresh_access(&self) -> Option<Secret> {
        self.current_access()
            .filter(|a| Instant::now() < a.refresh_at)
            .map(|a| a.token)
    }

    fn set_access(&self, tokens: &TokenResponse, sent_at: Instant) {
        let (refresh_at, expires_at) = access_times(tokens.expires_in, sent_at, SystemTime::now());
        let access = Access {
            token: tokens.access_token.clone(),
            refresh_at,
            expires_at,
        };
        *self
            .inner
            .access
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(access);
    }

    fn clear_access(&self) {
        *self
            .inner
            .access
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The refresh itself; the caller holds `refresh_gate`.
    async fn refresh_holding_gate(&self) -> Result<Secret, AuthError> {
        let _lock = self.lock().await?;
        // Read again under the lock: another process may have rotated the token.
        let Some(refresh) = self.inner.storage.load().await? else {
            self.clear_access();
            return Err(AuthError::NotLoggedIn {
                server: self.inner.server.origin().to_string(),
            });
        };
        let sent_at = Instant::now();
        let result = match self.refresh_request(&refresh).await {
            // A lost answer may be retried once: the server hands the same successor
            // to the immediate parent within its grace period.
            Err(RefreshFailure::Transport(_)) => self.refresh_request(&refresh).await,
            other => other,
        };
        match result {
            Ok(tokens) => {
                self.inner.storage.save(&tokens.refresh_token).await?;
                self.set_access(&tokens, sent_at);
                tracing::debug!(expires_in = tokens.expires_in, "access token refreshed");
                Ok(tokens.access_token)
            }
            Err(RefreshFailure::Dead(reason)) => {
                self.clear_access();
                self.inner.storage.clear().await?;
                tracing::info!(%reason, "refresh refused; stored login removed");
                Err(AuthError::LoggedOut { reason })
            }
            Err(RefreshFailure::Refused(why)) => Err(AuthError::Refused(why)),
            Err(RefreshFailure::Transport(e) | RefreshFailure::Other(e)) => Err(AuthError::Http(e)),
        }
    }

    async fn refresh_request(&self, refresh: &Secret) -> Result<TokenResponse, RefreshFailure> {
        let server = &self.inner.server;
        let response = self
            .inner
            .http
            .client()
            .post(server.endpoint("/oauth/token"))
            .form(&[
                ("grant_type", REFRESH_TOKEN_GRANT),
                ("refresh_token", refresh.expose()),
                ("client_id", CLIENT_ID),
            ])
            .send()
            .await
            .map_err(|e| RefreshFailure::Transport(http::transport_error(server, &e)))?;
        let status = response.status();
        if status.is_success() {
            return http::json_body(server, response)
                .await
                .map_err(RefreshFailure::Other);
        }
        if status.as_u16() == 400 || status.as_u16() == 401 {
            let body: ErrorBody = http::json_body(server, response)
                .await
                .map_err(RefreshFailure::Other)?;
            return Err(match body.error {
                ErrorCode::InvalidGrant => RefreshFailure::Dead(
                    "the server no longer accepts this login (signed out, revoked, expired \
                     or used elsewhere)"
                        .to_string(),
                ),
                other => RefreshFailure::Refused(
                    body.error_description
                        .unwrap_or_else(|| format!("{other:?}")),
                ),
            });
        }
        Err(RefreshFailure::Other(http::status_error(server, &response)))
    }

    /// Revokes one refresh token at the server (RFC 7009), e.g. a replaced login's.
    pub async fn revoke(&self, token: &Secret) -> Result<(), HttpError> {
        let server = &self.inner.server;
        let response = self
            .inner
            .http
            .client()
            .post(server.endpoint("/oauth/revoke"))
            .form(&[
                ("token", token.expose()),
                ("token_type_hint", "refresh_token"),
                ("client_id", CLIENT_ID),
            ])
            .send()
            .await
            .map_err(|e| http::transport_error(server, &e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(http::status_error(server, &response))
        }
    }
}

/// When to refresh an access token that lives `expires_in` seconds (from the server,
/// so clamped to [`MAX_ACCESS_LIFETIME_SECS`]) and when it expires. Never overflows:
/// a time the clock cannot hold becomes "now", which only means refreshing early.
fn access_times(expires_in: u64, sent_at: Instant, now: SystemTime) -> (Instant, SystemTime) {
    let lifetime = Duration::from_secs(expires_in.min(MAX_ACCESS_LIFETIME_SECS));
    let margin = REFRESH_MARGIN.min(lifetime / 2);
    let refresh_at = sent_at
        .checked_add(lifetime.saturating_sub(margin))
        .unwrap_or(sent_at);
    let expires_at = now.checked_add(lifetime).unwrap_or(now);
    (refresh_at, expires_at)
}

enum RefreshFailure {
    /// The request may not have arrived, or its answer was lost.
    Transport(HttpError),
    /// The login is over (`invalid_grant`).
    Dead(String),
    /// Refused for another reason; the login may still be fine.
    Refused(String),
    /// The server answered, but not as a Whack server would.
    Other(HttpError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_times_refresh_a_minute_early() {
        let (t0, now) = (Instant::now(), SystemTime::now());
        let (refresh_at, expires_at) = access_times(900, t0, now);
        assert_eq!(refresh_at, t0 + Duration::from_secs(840));
        assert_eq!(expires_at, now + Duration::from_secs(900));
        // Short lifetimes refresh at half-life rather than before they were issued.
        let (refresh_at, _) = access_times(10, t0, now);
        assert_eq!(refresh_at, t0 + Duration::from_secs(5));
        assert_eq!(access_times(0, t0, now), (t0, now));
    }

    #[test]
    fn huge_lifetimes_are_clamped_without_overflow() {
        let (t0, now) = (Instant::now(), SystemTime::now());
        let cap = Duration::from_secs(MAX_ACCESS_LIFETIME_SECS);
        let (refresh_at, expires_at) = access_times(u64::MAX, t0, now);
        assert_eq!(refresh_at, t0 + cap - REFRESH_MARGIN);
        assert_eq!(expires_at, now + cap);
        // Even at the far end of what a clock holds, nothing panics.
        let far = SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(i64::MAX as u64))
            .unwrap_or(now);
        let (_, expires_at) = access_times(u64::MAX, t0, far);
        assert!(expires_at >= far);
    }
}
