//! The account page `/account` and its JSON calls. A fresh discoverable passkey
//! sign-in starts a browser session of its own (listed among the player's
//! sessions); its token lives only in an `HttpOnly`, `SameSite=Strict` cookie
//! (`__Host-`, `Secure` over https) and is rotated on every request like a
//! refresh token, so a copied cookie that comes back after the browser moved
//! on ends the session. Every state-changing call must come from this origin.

use super::body::JsonBody;
use super::error::AppError;
use super::sessions::infos;
use crate::auth::refresh::{ACCOUNT_IDLE_MS, RefreshError, Refreshed};
use crate::clock::now_ms;
use crate::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use tracing::instrument;
use whack_shared::Secret;
use whack_shared::account_page::Overview;
use whack_shared::api::EndedSessions;
use whack_shared::device_page::{CeremonyFinish, CeremonyOptions};

const PAGE: &str = include_str!("../../assets/account.html");
const JS: &str = include_str!("../../assets/account.js");

/// `GET /account`.
pub async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

/// `GET /assets/account.js`.
pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
}

/// The cookie's name: over https the `__Host-` prefix makes browsers insist on
/// `Secure`, `Path=/` and no `Domain`, so no other host can plant one.
fn cookie_name(state: &AppState) -> &'static str {
    if is_https(state) {
        "__Host-whack_account"
    } else {
        "whack_account"
    }
}

fn is_https(state: &AppState) -> bool {
    state.config.public_url.scheme() == "https"
}

/// `Set-Cookie` for `token`, or (`None`) one that deletes the cookie.
fn set_cookie(state: &AppState, token: Option<&Secret>) -> [(header::HeaderName, HeaderValue); 1] {
    let (value, max_age) = match token {
        Some(token) => (token.expose(), ACCOUNT_IDLE_MS / 1000),
        None => ("", 0),
    };
    let secure = if is_https(state) { "; Secure" } else { "" };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        cookie_name(state)
    );
    // Tokens are URL-safe base64 and a prefix: always a valid header value.
    let value = HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""));
    [(header::SET_COOKIE, value)]
}

/// The session token the request's cookie carries.
fn cookie_token(state: &AppState, headers: &HeaderMap) -> Option<Secret> {
    let name = cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| Secret::new(value.trim()))
}

/// Refuses a state-changing request that did not come from this page: the
/// browser says where a request comes from (`Origin`, and `Sec-Fetch-Site`
/// where supported), and a request without an `Origin` is not the page's.
fn same_origin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let issuer = state.config.issuer();
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin == issuer);
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|site| site == "same-origin");
    if origin_ok && fetch_site_ok {
        Ok(())
    } else {
        Err(AppError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "this request did not come from the account page",
        ))
    }
}

/// The browser session behind the cookie, after rotating its token; the
/// response must carry the returned `Set-Cookie`.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Refreshed, [(header::HeaderName, HeaderValue); 1]), Response> {
    let signed_out = |message: &str| {
        (
            set_cookie(state, None),
            AppError::new(StatusCode::UNAUTHORIZED, "signed_out", message),
        )
            .into_response()
    };
    let Some(token) = cookie_token(state, headers) else {
        return Err(signed_out("sign in with your passkey"));
    };
    match state.auth.account_session(&token, now_ms()).await {
        Ok(session) => {
            let cookie = set_cookie(state, Some(&session.refresh_token));
            Ok((session, cookie))
        }
        Err(RefreshError::TooFrequent { retry_after_secs }) => Err(AppError::rate_limited(
            retry_after_secs,
            format!("too many requests; try again in {retry_after_secs} s"),
        )
        .into_response()),
        Err(RefreshError::Store(e)) => Err(AppError::from(e).into_response()),
        Err(RefreshError::Sign(e)) => Err(AppError::internal(e).into_response()),
        Err(RefreshError::Reused { .. }) => Err(signed_out(
            "this sign-in was used from somewhere else, so it was ended; sign in again",
        )),
        Err(RefreshError::Invalid | RefreshError::Expired | RefreshError::Revoked) => Err(
            signed_out("you were signed out (timed out or ended); sign in again"),
        ),
    }
}

/// `POST /account/api/signin/start`: a fresh discoverable passkey ceremony.
#[instrument(skip_all)]
pub async fn signin_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<CeremonyOptions>, AppError> {
    same_origin(&state, &headers)?;
    super::device_page::ceremony_budget(&state, peer).await?;
    let (ceremony_id, options) = state
        .auth
        .passkeys
        .start_account_signin(peer.ip(), now_ms())?;
    Ok(Json(CeremonyOptions {
        ceremony_id,
        options,
    }))
}

/// `POST /account/api/signin/finish`: verifies the passkey and sets the cookie.
#[instrument(skip_all)]
pub async fn signin_finish(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CeremonyFinish>,
) -> Result<Response, AppError> {
    same_origin(&state, &headers)?;
    let now = now_ms();
    let player = state
        .auth
        .passkeys
        .finish_account_signin(&req.ceremony_id, req.credential, now)
        .await?;
    let (sid, token) = state
        .auth
        .account_signin(&player, &peer.ip().to_string(), now)
        .await?;
    state.metrics.signins.inc();
    tracing::info!(player = %player.id, sid, "account page signed in");
    Ok((StatusCode::NO_CONTENT, set_cookie(&state, Some(&token))).into_response())
}

/// `GET /account/api/overview`: who is signed in and their sessions.
pub async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (session, cookie) = match signed_in(&state, &headers).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let player_id = session.session.player_id.clone();
    let live = match state.auth.sessions(&player_id, now_ms()).await {
        Ok(live) => live,
        Err(e) => return (cookie, AppError::from(e)).into_response(),
    };
    let overview = Overview {
        sessions: infos(&state, live, &session.sid),
        player_id,
        name: session.session.player_name,
    };
    (cookie, Json(overview)).into_response()
}

/// `DELETE /account/api/sessions/{id}`: ends one of the player's sessions
/// (this browser's too: that is signing out).
pub async fn end_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = same_origin(&state, &headers) {
        return e.into_response();
    }
    let (session, cookie) = match signed_in(&state, &headers).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let player_id = &session.session.player_id;
    match state.auth.end_session(player_id, &id, now_ms()).await {
        Ok(true) if id == session.sid => {
            (StatusCode::NO_CONTENT, set_cookie(&state, None)).into_response()
        }
        Ok(true) => (StatusCode::NO_CONTENT, cookie).into_response(),
        Ok(false) => (
            cookie,
            AppError::new(
                StatusCode::NOT_FOUND,
                "unknown_session",
                "no live session of yours has this id",
            ),
        )
            .into_response(),
        Err(e) => (cookie, AppError::from(e)).into_response(),
    }
}

/// `POST /account/api/sessions/end-others`: ends every session but this browser's.
pub async fn end_others(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = same_origin(&state, &headers) {
        return e.into_response();
    }
    let (session, cookie) = match signed_in(&state, &headers).await {
        Ok(signed_in) => signed_in,
        Err(response) => return response,
    };
    let ended = state
        .auth
        .end_other_sessions(&session.session.player_id, &session.sid, now_ms())
        .await;
    match ended {
        Ok(ended) => (
            cookie,
            Json(EndedSessions {
                ended: u64::try_from(ended).unwrap_or(u64::MAX),
            }),
        )
            .into_response(),
        Err(e) => (cookie, AppError::from(e)).into_response(),
    }
}
