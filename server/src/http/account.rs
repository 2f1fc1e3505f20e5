//! The account page `/account` and its JSON calls. A fresh discoverable passkey
//! sign-in starts a browser session of its own (listed among the player's
//! sessions); its token lives only in an `HttpOnly`, `SameSite=Strict` cookie
//! (`__Host-`, `Secure` over https) and is rotated on every request like a
//! refresh token, so a copied cookie that comes back after the browser moved
//! on ends the session. Every state-changing call must come from this origin.

use super::body::JsonBody;
use super::error::AppError;
use super::sessions::infos;
use crate::auth::passkey_list;
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
use whack_shared::account_page::{
    AccountRecoverStart, DeleteAccount, NewRecoveryCodes, Overview, Rename,
};
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
fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-whack_account"
    } else {
        "whack_account"
    }
}

fn is_https(state: &AppState) -> bool {
    state.config.public_url.scheme() == "https"
}

/// The `Set-Cookie` value for `token`, or (`None`) one that deletes the cookie.
fn cookie_header(https: bool, token: Option<&Secret>) -> String {
    let (value, max_age) = match token {
        Some(token) => (token.expose(), ACCOUNT_IDLE_MS / 1000),
        None => ("", 0),
    };
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        cookie_name(https)
    )
}

/// `Set-Cookie` for `token`, or (`None`) one that deletes the cookie.
fn set_cookie(state: &AppState, token: Option<&Secret>) -> [(header::HeaderName, HeaderValue); 1] {
    let cookie = cookie_header(is_https(state), token);
    // Tokens are URL-safe base64 and a prefix: always a valid header value.
    let value = HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""));
    [(header::SET_COOKIE, value)]
}

/// The session token the request's cookie carries.
fn cookie_token(state: &AppState, headers: &HeaderMap) -> Option<Secret> {
    let name = cookie_name(is_https(state));
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
    let ours = state.config.public_url.origin().ascii_serialization();
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin == ours);
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

/// A passkey check older than this must be made again before a sensitive
/// action (removing a passkey).
pub const FRESH_CHECK_MS: u64 = 5 * 60 * 1000;

/// `Set-Cookie` with the rotated token: every answer to a signed-in call
/// carries it, errors too.
type Cookie = [(header::HeaderName, HeaderValue); 1];

/// The browser session behind the cookie, after rotating its token; the
/// response must carry the returned cookie. A call that changes something
/// (`mutates`) must come from this origin first.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    mutates: bool,
) -> Result<(Refreshed, Cookie), Response> {
    if mutates {
        same_origin(state, headers).map_err(IntoResponse::into_response)?;
    }
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

/// What a signed-in call answers; an `Err` is an answer too (a refusal
/// before the call could start, as [`signed_in`] makes it).
type Reply = Result<Response, Response>;

/// The answer to a signed-in call, with its rotated cookie.
fn answer(cookie: Cookie, result: Result<impl IntoResponse, AppError>) -> Response {
    match result {
        Ok(body) => (cookie, body).into_response(),
        Err(e) => (cookie, e).into_response(),
    }
}

/// Refuses a sensitive action unless the passkey was checked lately.
fn fresh(session: &Refreshed, now_ms: u64) -> Result<(), AppError> {
    let record = &session.session;
    let checked = record
        .passkey_checked_at
        .unwrap_or(0)
        .max(record.created_at);
    if now_ms.saturating_sub(checked) <= FRESH_CHECK_MS {
        Ok(())
    } else {
        Err(AppError::new(
            StatusCode::FORBIDDEN,
            "passkey_check_required",
            "confirm with your passkey first",
        ))
    }
}

fn unknown(what: &'static str) -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        what,
        "nothing of yours has this id; reload the page",
    )
}

/// `POST /account/api/signin/start`: a fresh discoverable passkey ceremony
/// (also the fresh check before a sensitive action, finished at `verify`).
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

/// `POST /account/api/verify/finish`: a fresh passkey check of the signed-in
/// player (a ceremony from `signin/start`), for the next few minutes.
#[instrument(skip_all)]
pub async fn verify_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CeremonyFinish>,
) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let now = now_ms();
    let result = async {
        let player = state
            .auth
            .passkeys
            .finish_account_signin(&req.ceremony_id, req.credential, now)
            .await?;
        if player.id != session.session.player_id {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "other_player",
                "that passkey belongs to another account",
            ));
        }
        state.auth.passkey_checked(&session.sid, now).await?;
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    Ok(answer(cookie, result))
}

/// `GET /account/api/overview`: who is signed in, their passkeys and sessions.
pub async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, false).await?;
    let result = async {
        let player_id = session.session.player_id.clone();
        let passkeys = state.auth.passkeys.list(&player_id).await?;
        let recovery = state.auth.recovery.status(&player_id).await?;
        let live = state.auth.sessions(&player_id, now_ms()).await?;
        Ok::<_, AppError>(Json(Overview {
            sessions: infos(&state, live, &session.sid),
            passkeys,
            recovery,
            player_id,
            name: session.session.player_name.clone(),
        }))
    }
    .await;
    Ok(answer(cookie, result))
}

/// `DELETE /account/api/sessions/{id}`: ends one of the player's sessions
/// (this browser's too: that is signing out).
pub async fn end_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let ended = state
        .auth
        .end_session(&session.session.player_id, &id, now_ms())
        .await;
    if matches!(ended, Ok(true)) && id == session.sid {
        return Ok((StatusCode::NO_CONTENT, set_cookie(&state, None)).into_response());
    }
    let ended = ended.map_err(AppError::from).and_then(|ended| {
        ended
            .then_some(StatusCode::NO_CONTENT)
            .ok_or_else(|| unknown("unknown_session"))
    });
    Ok(answer(cookie, ended))
}

/// `POST /account/api/sessions/end-others`: ends every session but this browser's.
pub async fn end_others(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let ended = state
        .auth
        .end_other_sessions(&session.session.player_id, &session.sid, now_ms())
        .await
        .map(|ended| {
            Json(EndedSessions {
                ended: u64::try_from(ended).unwrap_or(u64::MAX),
            })
        })
        .map_err(AppError::from);
    Ok(answer(cookie, ended))
}

/// `POST /account/api/passkeys/add/start`: a registration ceremony for
/// another passkey of the signed-in player.
#[instrument(skip_all)]
pub async fn add_passkey_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let result = async {
        super::device_page::ceremony_budget(&state, peer).await?;
        let player = state
            .auth
            .player(&session.session.player_id)
            .await?
            .ok_or_else(|| unknown("unknown_player"))?;
        let (ceremony_id, options) = state
            .auth
            .passkeys
            .start_adding(&player, peer.ip(), now_ms())
            .await?;
        Ok(Json(CeremonyOptions {
            ceremony_id,
            options,
        }))
    }
    .await;
    Ok(answer(cookie, result))
}

/// `POST /account/api/passkeys/add/finish`: stores the new passkey.
#[instrument(skip_all)]
pub async fn add_passkey_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CeremonyFinish>,
) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let result = state
        .auth
        .passkeys
        .finish_adding(
            &session.session.player_id,
            &req.ceremony_id,
            req.credential,
            now_ms(),
        )
        .await
        .map(|()| StatusCode::NO_CONTENT)
        .map_err(AppError::from);
    Ok(answer(cookie, result))
}

/// `POST /account/api/passkeys/{id}/name`: renames one of the player's passkeys.
pub async fn rename_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<Rename>,
) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let result = async {
        let cred_id = passkey_list::parse_id(&id).ok_or_else(|| unknown("unknown_passkey"))?;
        state
            .auth
            .passkeys
            .rename(&session.session.player_id, &cred_id, &req.name)
            .await?;
        Ok::<_, AppError>(StatusCode::NO_CONTENT)
    }
    .await;
    Ok(answer(cookie, result))
}

/// `DELETE /account/api/passkeys/{id}`: removes one of the player's passkeys,
/// after a fresh passkey check, and never their last.
pub async fn remove_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let result = async {
        fresh(&session, now_ms())?;
        let cred_id = passkey_list::parse_id(&id).ok_or_else(|| unknown("unknown_passkey"))?;
        let player_id = &session.session.player_id;
        let codes_left = state.auth.recovery.status(player_id).await?.left > 0;
        state
            .auth
            .passkeys
            .remove(player_id, &cred_id, codes_left)
            .await?;
        Ok::<_, AppError>(StatusCode::NO_CONTENT)
    }
    .await;
    Ok(answer(cookie, result))
}

/// `POST /account/api/recovery-codes`: a new set of recovery codes, shown this
/// once, after a fresh passkey check; the old set stops working.
pub async fn new_recovery_codes(State(state): State<AppState>, headers: HeaderMap) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let result = async {
        let now = now_ms();
        fresh(&session, now)?;
        let codes = state
            .auth
            .recovery
            .new_set(&session.session.player_id, now)
            .await?;
        Ok::<_, AppError>(Json(NewRecoveryCodes { codes }))
    }
    .await;
    Ok(answer(cookie, result))
}

/// `POST /account/api/delete`: deletes the account after a fresh passkey
/// check and the display name typed exactly; this browser is signed out too.
pub async fn delete_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<DeleteAccount>,
) -> Reply {
    let (session, cookie) = signed_in(&state, &headers, true).await?;
    let now = now_ms();
    let deleted = async {
        fresh(&session, now)?;
        if req.name.trim() != session.session.player_name {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "name_mismatch",
                "type your display name exactly to confirm",
            ));
        }
        Ok(state
            .auth
            .delete_account(&session.session.player_id, now)
            .await?)
    }
    .await;
    match deleted {
        Ok(()) => Ok((StatusCode::NO_CONTENT, set_cookie(&state, None)).into_response()),
        Err(e) => Ok((cookie, e).into_response()),
    }
}

/// `POST /account/api/recover/start`: "Lost your passkey?" — the display name
/// and a recovery code, then straight to registering a new passkey. Wrong
/// codes count per address (with wrong user codes) and per account.
#[instrument(skip_all)]
pub async fn recover_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<AccountRecoverStart>,
) -> Result<Json<CeremonyOptions>, AppError> {
    same_origin(&state, &headers)?;
    super::device_page::recovery_ceremony(&state, peer, &req.name, &req.recovery_code, None).await
}

/// `POST /account/api/recover/finish`: stores the new passkey, spends the
/// code and signs this browser in.
#[instrument(skip_all)]
pub async fn recover_finish(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CeremonyFinish>,
) -> Result<Response, AppError> {
    same_origin(&state, &headers)?;
    let now = now_ms();
    let recovered =
        state
            .auth
            .passkeys
            .finish_recovery(&req.ceremony_id, req.credential, false, now)?;
    let (sid, token) = state
        .auth
        .recover_account(recovered, peer.ip(), now)
        .await?;
    state.metrics.signins.inc();
    tracing::info!(sid, "account page signed in with a recovery code");
    Ok((StatusCode::NO_CONTENT, set_cookie(&state, Some(&token))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SessionRecord;

    fn signed_in_at(created_at: u64, passkey_checked_at: Option<u64>) -> Refreshed {
        Refreshed {
            refresh_token: Secret::new("whr_test"),
            sid: "s1".into(),
            session: SessionRecord {
                player_id: "p1".into(),
                player_name: "Ann".into(),
                client_id: crate::auth::refresh::ACCOUNT_PAGE_CLIENT.into(),
                created_at,
                expires_at: u64::MAX,
                revoked_at: None,
                revoke_reason: None,
                chain: None,
                started_from: None,
                last_played_at: None,
                passkey_checked_at,
            },
            retry: false,
        }
    }

    #[test]
    fn the_cookie_is_host_only_and_secure_over_https() {
        let token = Secret::new("whr_abc.1.tag.secret");
        assert_eq!(
            cookie_header(true, Some(&token)),
            "__Host-whack_account=whr_abc.1.tag.secret; Path=/; HttpOnly; SameSite=Strict; \
             Max-Age=1800; Secure"
        );
        assert_eq!(
            cookie_header(false, Some(&token)),
            "whack_account=whr_abc.1.tag.secret; Path=/; HttpOnly; SameSite=Strict; Max-Age=1800"
        );
        assert!(cookie_header(true, None).starts_with("__Host-whack_account=; "));
        assert!(cookie_header(true, None).contains("Max-Age=0"));
    }

    #[test]
    fn a_sensitive_action_needs_a_recent_passkey_check() {
        let minute = 60_000;
        assert!(
            fresh(&signed_in_at(0, None), 4 * minute).is_ok(),
            "the sign-in counts"
        );
        assert!(fresh(&signed_in_at(0, None), 6 * minute).is_err());
        assert!(fresh(&signed_in_at(0, Some(5 * minute)), 9 * minute).is_ok());
        assert!(fresh(&signed_in_at(0, Some(5 * minute)), 11 * minute).is_err());
    }
}
