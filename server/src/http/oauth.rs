//! The OAuth endpoints: device authorization (RFC 8628), token (device-code and
//! refresh grants), revocation (RFC 7009).

use super::body::Form;
use super::error::OAuthError;
use crate::auth::access_token::Subject;
use crate::auth::device_grant::Poll;
use crate::auth::refresh::RefreshError;
use crate::auth::service::DeviceLoginError;
use crate::clock::now_ms;
use crate::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use std::net::SocketAddr;
use tracing::instrument;
use whack_shared::Secret;
use whack_shared::oauth::{
    DEVICE_CODE_GRANT, DeviceAuthorization, ErrorCode, REFRESH_TOKEN_GRANT, TokenResponse,
};
use whack_shared::user_code;

fn known_client<'a>(state: &AppState, form: &'a Form) -> Result<&'a str, OAuthError> {
    let client_id = form
        .get("client_id")
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidClient, "missing client_id"))?;
    if state.config.client_name(client_id).is_none() {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "unknown client_id",
        ));
    }
    Ok(client_id)
}

fn check_scope(form: &Form) -> Result<(), OAuthError> {
    // Whack has one implicit scope; asking for anything specific is an error
    // rather than a silent downgrade.
    match form.get("scope") {
        None => Ok(()),
        Some(_) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "this server issues no scopes",
        )),
    }
}

/// `POST /oauth/device_authorization`.
#[instrument(skip_all)]
pub async fn device_authorization(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Form,
) -> Result<Json<DeviceAuthorization>, OAuthError> {
    let client_id = known_client(&state, &form)?;
    check_scope(&form)?;
    let now = now_ms();
    // Each grant is a stored record: a flood from one address must not fill the disk.
    if let Err(retry_after) = state
        .auth
        .device_requests
        .acquire_addr(peer.ip(), now)
        .await
    {
        state.metrics.rate_limited.inc();
        return Err(OAuthError::too_many(retry_after).described(format!(
            "too many logins started from this address; try again in {retry_after} s"
        )));
    }
    let issued = state
        .auth
        .devices
        .issue(client_id, &peer.ip().to_string(), now)
        .await?;
    state.metrics.device_authorizations.inc();
    let shown = user_code::display(&issued.user_code);
    let verification_uri = state.config.url("/device");
    tracing::info!(client_id, "device authorization started");
    Ok(Json(DeviceAuthorization {
        device_code: issued.device_code,
        verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
        verification_uri,
        user_code: shown,
        expires_in: state.config.device_code_ttl_secs,
        interval: issued.record.interval_secs,
    }))
}

/// `POST /oauth/token`.
#[instrument(skip_all, fields(grant_type))]
pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Form,
) -> Result<Json<TokenResponse>, OAuthError> {
    let grant_type = form.require("grant_type")?;
    tracing::Span::current().record("grant_type", grant_type);
    match grant_type {
        DEVICE_CODE_GRANT => device_code_grant(&state, &form, peer).await,
        REFRESH_TOKEN_GRANT => refresh_grant(&state, &form).await,
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "supported: device_code and refresh_token",
        )),
    }
}

async fn device_code_grant(
    state: &AppState,
    form: &Form,
    peer: SocketAddr,
) -> Result<Json<TokenResponse>, OAuthError> {
    let client_id = known_client(state, form)?;
    let device_code = Secret::new(form.require("device_code")?);
    let now = now_ms();
    let from = peer.ip().to_string();
    let login = match state
        .auth
        .device_login(&device_code, client_id, &from, now)
        .await
    {
        Ok(login) => login,
        Err(DeviceLoginError::NotApproved(poll)) => return Err(poll_error(poll)),
        Err(DeviceLoginError::PlayerGone) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "the player no longer exists",
            ));
        }
        Err(DeviceLoginError::Store(e)) => return Err(e.into()),
    };
    let access_token = state
        .auth
        .access
        .issue(&Subject::of(&login.session, &login.sid), now / 1000)
        .map_err(OAuthError::internal)?;
    let response = token_response(state, access_token, login.refresh_token);
    state.metrics.logins.inc();
    tracing::info!(player = %login.session.player_id, sid = login.sid, "device login completed");
    Ok(response)
}

/// The token endpoint's answer to a device code that gives no tokens.
fn poll_error(poll: Poll) -> OAuthError {
    match poll {
        Poll::Pending => OAuthError::new(
            ErrorCode::AuthorizationPending,
            "the player has not approved yet",
        ),
        Poll::SlowDown(interval) => OAuthError::new(
            ErrorCode::SlowDown,
            format!("polling too fast; wait {interval} s between polls"),
        ),
        Poll::Denied => OAuthError::new(ErrorCode::AccessDenied, "the player denied the request"),
        Poll::Expired => OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device code expired; start again",
        ),
        Poll::Invalid | Poll::Approved { .. } => OAuthError::new(
            ErrorCode::InvalidGrant,
            "unknown or already used device code",
        ),
    }
}

async fn refresh_grant(state: &AppState, form: &Form) -> Result<Json<TokenResponse>, OAuthError> {
    // A node that may have missed a revocation must not hand out access tokens.
    state
        .revocations_current()
        .map_err(|why| OAuthError::new(ErrorCode::TemporarilyUnavailable, why))?;
    let presented = Secret::new(form.require("refresh_token")?);
    check_scope(form)?;
    let client_id = form.get("client_id");
    if client_id.is_some() {
        known_client(state, form)?;
    }
    let now = now_ms();
    let (refreshed, access_token) = match state.auth.refresh(&presented, client_id, now).await {
        Ok(r) => r,
        Err(RefreshError::Reused { .. }) => {
            state.metrics.reuse_detections.inc();
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "refresh token already used; the session was revoked",
            ));
        }
        Err(RefreshError::Store(e)) => return Err(e.into()),
        Err(RefreshError::Sign(e)) => return Err(OAuthError::internal(e)),
        Err(e @ RefreshError::TooFrequent { retry_after_secs }) => {
            state.metrics.rate_limited.inc();
            return Err(OAuthError::too_many(retry_after_secs).described(e.to_string()));
        }
        Err(e) => return Err(OAuthError::new(ErrorCode::InvalidGrant, e.to_string())),
    };
    if refreshed.retry {
        state.metrics.refresh_retries.inc();
    } else {
        state.metrics.refreshes.inc();
    }
    Ok(token_response(state, access_token, refreshed.refresh_token))
}

/// The token endpoint's answer: both tokens and how long the access token lives.
fn token_response(
    state: &AppState,
    access_token: Secret,
    refresh_token: Secret,
) -> Json<TokenResponse> {
    Json(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.auth.access.ttl().as_secs(),
        refresh_token,
    })
}

/// `POST /oauth/revoke` (RFC 7009): 200 for unknown tokens too.
#[instrument(skip_all)]
pub async fn revoke(State(state): State<AppState>, form: Form) -> Result<StatusCode, OAuthError> {
    let token = Secret::new(form.require("token")?);
    let now = now_ms();
    // `token_type_hint` is only a hint (RFC 7009 §2.1): every kind is tried anyway.
    // Any token of a login revokes the whole login: its refresh token and every
    // access token carrying its `sid`.
    if state.auth.revoke(&token, now).await?.is_some() {
        state.metrics.revocations.inc();
    }
    Ok(StatusCode::OK)
}
