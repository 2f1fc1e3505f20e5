//! The browser page `/device` and its JSON calls: look up a code, create an account
//! or sign in with a passkey, approve or deny.

use super::body::JsonBody;
use super::error::AppError;
use crate::auth::passkeys::{ApprovedBy, PasskeyError};
use crate::auth::recovery::RecoveryError;
use crate::auth::service::{ApproveError, RecoverError};
use crate::clock::now_ms;
use crate::state::AppState;
use crate::storage::{DeviceRecord, DeviceStatus};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::net::SocketAddr;
use std::sync::LazyLock;
use tracing::instrument;
use whack_shared::device_page::{
    CeremonyFinish, CeremonyOptions, Decision, DecisionRequest, DecisionResponse, LookupRequest,
    RecoverStart, RegisterStart, RequestDetails, SignedIn, SigninStart,
};
use whack_shared::{Secret, player_name, user_code};

const PAGE: &str = include_str!("../../assets/device.html");
const HOME: &str = include_str!("../../assets/index.html");
const CSS: &str = include_str!("../../assets/device.css");
const JS: &str = include_str!("../../assets/device.js");
/// The page script with the facts it shares with the server filled in once.
static SCRIPT: LazyLock<String> = LazyLock::new(|| {
    JS.replace(
        "{{CODE_ALPHABET}}",
        &String::from_utf8_lossy(user_code::ALPHABET),
    )
    .replace("{{CODE_LEN}}", &user_code::LEN.to_string())
    .replace("{{NAME_MAX}}", &player_name::MAX_LEN.to_string())
});
const ICON: &str = include_str!("../../assets/favicon.svg");
const WEBAUTHN_JS: &str = include_str!("../../assets/webauthn.js");
const PAGE_JS: &str = include_str!("../../assets/page.js");

/// `GET /device`.
pub async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

/// `GET /`: what Whack is and how to connect to this server.
pub async fn home(State(state): State<AppState>) -> impl IntoResponse {
    let url = html_escape(&state.config.issuer());
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        HOME.replace("{{PUBLIC_URL}}", &url),
    )
}

/// Text made safe to place in HTML.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `GET /assets/device.css`.
pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS)
}

/// `GET /assets/device.js`.
pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT.as_str(),
    )
}

/// `GET /assets/webauthn.js`: the ceremony helpers every passkey page shares.
pub async fn webauthn_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        WEBAUTHN_JS,
    )
}

/// `GET /assets/page.js`: what every page shares (its JSON calls, times).
pub async fn page_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGE_JS,
    )
}

/// `GET /assets/favicon.svg`.
pub async fn icon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml")], ICON)
}

impl From<PasskeyError> for AppError {
    fn from(e: PasskeyError) -> Self {
        let message = e.to_string();
        match e {
            PasskeyError::UnknownCeremony => {
                AppError::new(StatusCode::GONE, "ceremony_expired", message)
            }
            PasskeyError::NameTaken => AppError::new(StatusCode::CONFLICT, "name_taken", message),
            PasskeyError::InvalidName(_) => {
                AppError::new(StatusCode::BAD_REQUEST, "invalid_name", message)
            }
            PasskeyError::UnknownCredential => {
                AppError::new(StatusCode::NOT_FOUND, "unknown_passkey", message)
            }
            PasskeyError::Rejected => {
                AppError::new(StatusCode::BAD_REQUEST, "passkey_rejected", message)
            }
            PasskeyError::CounterWentBack => {
                AppError::new(StatusCode::FORBIDDEN, "passkey_cloned", message)
            }
            PasskeyError::TooMany => {
                AppError::new(StatusCode::CONFLICT, "too_many_passkeys", message)
            }
            PasskeyError::LastPasskey => {
                AppError::new(StatusCode::CONFLICT, "last_passkey", message)
            }
            PasskeyError::NameTakenMeanwhile => {
                AppError::new(StatusCode::CONFLICT, "name_taken", message)
            }
            PasskeyError::Config(_) | PasskeyError::Store(_) => AppError::internal(e),
        }
    }
}

/// Finds the pending request for a typed code, counting wrong guesses per address.
/// A real code that was already approved or denied is not a guess: the loser of
/// a race between two tabs hears what happened.
async fn pending_request(
    state: &AppState,
    peer: SocketAddr,
    typed: &str,
) -> Result<(Vec<u8>, DeviceRecord), AppError> {
    let now = now_ms();
    let ip = peer.ip();
    // Counted before the lookup (and given back for a real code), so
    // concurrent guesses cannot slip past the limit together.
    let guess = match state.auth.guesses.take_addr(ip, now).await {
        Ok(guess) => guess,
        Err(retry_after) => {
            state.metrics.rate_limited.inc();
            return Err(AppError::too_many(retry_after));
        }
    };
    let found = match user_code::normalize(typed) {
        Some(code) => state.auth.devices.live(&code, now).await,
        None => Ok(None),
    };
    if !matches!(found, Ok(None)) {
        state.auth.guesses.give_back(guess).await;
    }
    match found? {
        Some((hash, device)) if device.status == DeviceStatus::Pending => Ok((hash, device)),
        Some(_) => Err(already_decided()),
        None => Err(AppError::new(
            StatusCode::NOT_FOUND,
            "invalid_user_code",
            "that code is not valid: check it, or start again in the terminal",
        )),
    }
}

/// 409 for a request another tab (or person) approved or denied first.
fn already_decided() -> AppError {
    AppError::new(
        StatusCode::CONFLICT,
        "already_decided",
        "this sign-in was already approved or denied, perhaps in another tab; \
         start again in the terminal if that was not you",
    )
}

/// Counts a ceremony start against the address's budget (one limiter for
/// every login-side quota: see `rate_limit`).
pub(super) async fn ceremony_budget(state: &AppState, peer: SocketAddr) -> Result<(), AppError> {
    state
        .auth
        .ceremony_starts
        .acquire_addr(peer.ip(), now_ms())
        .await
        .map_err(|retry_after| {
            state.metrics.rate_limited.inc();
            AppError::rate_limited(
                retry_after,
                format!("too many passkey sign-ins started; try again in {retry_after} s"),
            )
        })
}

/// `POST /device/api/lookup`.
#[instrument(skip_all)]
pub async fn lookup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<LookupRequest>,
) -> Result<Json<RequestDetails>, AppError> {
    let (_, device) = pending_request(&state, peer, &req.user_code).await?;
    Ok(Json(RequestDetails {
        user_code: user_code::display(&device.user_code),
        client_name: state
            .config
            .client_name(&device.client_id)
            .unwrap_or(&device.client_id)
            .to_owned(),
        client_id: device.client_id,
        client_addr: device.client_addr,
        requested_at: device.created_at as f64,
        expires_at: device.expires_at as f64,
    }))
}

/// `POST /device/api/register/start`.
#[instrument(skip_all)]
pub async fn register_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<RegisterStart>,
) -> Result<Json<CeremonyOptions>, AppError> {
    let (hash, _) = pending_request(&state, peer, &req.user_code).await?;
    ceremony_budget(&state, peer).await?;
    let (ceremony_id, options) = state
        .auth
        .passkeys
        .start_registration(&hash, peer.ip(), req.display_name.trim(), now_ms())
        .await?;
    Ok(Json(CeremonyOptions {
        ceremony_id,
        options,
    }))
}

/// `POST /device/api/register/finish`.
#[instrument(skip_all)]
pub async fn register_finish(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CeremonyFinish>,
) -> Result<Json<SignedIn>, AppError> {
    // Nothing is stored yet: the account is created with the approval.
    let signed_in = state
        .auth
        .passkeys
        .finish_registration(&req.ceremony_id, req.credential, now_ms())
        .await?;
    Ok(Json(signed_in))
}

/// `POST /device/api/signin/start`.
#[instrument(skip_all)]
pub async fn signin_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<SigninStart>,
) -> Result<Json<CeremonyOptions>, AppError> {
    let (hash, _) = pending_request(&state, peer, &req.user_code).await?;
    ceremony_budget(&state, peer).await?;
    let (ceremony_id, options) = state
        .auth
        .passkeys
        .start_signin(&hash, peer.ip(), now_ms())?;
    Ok(Json(CeremonyOptions {
        ceremony_id,
        options,
    }))
}

/// `POST /device/api/signin/finish`.
#[instrument(skip_all)]
pub async fn signin_finish(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CeremonyFinish>,
) -> Result<Json<SignedIn>, AppError> {
    let signed_in = state
        .auth
        .passkeys
        .finish_signin(&req.ceremony_id, req.credential, now_ms())
        .await?;
    state.metrics.signins.inc();
    Ok(Json(signed_in))
}

/// `POST /device/api/recover/start`: "Lost your passkey?" — a recovery code
/// of the named account, then straight to registering a new passkey. Wrong
/// codes count like wrong user codes (per address) and per account.
#[instrument(skip_all)]
pub async fn recover_start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<RecoverStart>,
) -> Result<Json<CeremonyOptions>, AppError> {
    let (hash, _) = pending_request(&state, peer, &req.user_code).await?;
    recovery_ceremony(&state, peer, &req.name, &req.recovery_code, Some(&hash)).await
}

/// Checks a recovery code of account `name` — a wrong one counts against the
/// address with the user-code guesses, and against the account — and starts
/// registering the new passkey it leads to, for the request `device_hash`
/// (`None`: on the account page).
pub(super) async fn recovery_ceremony(
    state: &AppState,
    peer: SocketAddr,
    name: &str,
    recovery_code: &Secret,
    device_hash: Option<&[u8]>,
) -> Result<Json<CeremonyOptions>, AppError> {
    let now = now_ms();
    let guess = match state.auth.guesses.take_addr(peer.ip(), now).await {
        Ok(guess) => guess,
        Err(retry_after) => {
            state.metrics.rate_limited.inc();
            return Err(AppError::too_many(retry_after));
        }
    };
    ceremony_budget(state, peer).await?;
    let (player, code) = state.auth.recovery.check(name, recovery_code, now).await?;
    state.auth.guesses.give_back(guess).await;
    let (ceremony_id, options) = state
        .auth
        .passkeys
        .start_recovery(player, code, device_hash, peer.ip(), now)
        .await?;
    Ok(Json(CeremonyOptions {
        ceremony_id,
        options,
    }))
}

/// `POST /device/api/recover/finish`: the new passkey is stored, the code
/// spent, and the player signed in to approve the terminal.
#[instrument(skip_all)]
pub async fn recover_finish(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<CeremonyFinish>,
) -> Result<Json<SignedIn>, AppError> {
    let now = now_ms();
    let recovered =
        state
            .auth
            .passkeys
            .finish_recovery(&req.ceremony_id, req.credential, true, now)?;
    let signed_in = state.auth.recover(recovered, peer.ip(), now).await?;
    state.metrics.signins.inc();
    Ok(Json(signed_in))
}

impl From<RecoveryError> for AppError {
    fn from(e: RecoveryError) -> Self {
        let message = e.to_string();
        match e {
            RecoveryError::NoMatch => {
                AppError::new(StatusCode::BAD_REQUEST, "invalid_recovery_code", message)
            }
            RecoveryError::TooMany(retry_after) => AppError::rate_limited(retry_after, message),
            RecoveryError::Spent => {
                AppError::new(StatusCode::CONFLICT, "recovery_code_spent", message)
            }
            RecoveryError::Store(e) => e.into(),
        }
    }
}

impl From<RecoverError> for AppError {
    fn from(e: RecoverError) -> Self {
        match e {
            RecoverError::Code(e) => e.into(),
            RecoverError::Passkey(e) => e.into(),
        }
    }
}

/// `POST /device/api/decision`.
#[instrument(skip_all)]
pub async fn decision(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(req): JsonBody<DecisionRequest>,
) -> Result<Json<DecisionResponse>, AppError> {
    let (hash, _) = pending_request(&state, peer, &req.user_code).await?;
    let now = now_ms();
    let approved_by = match req.decision {
        Decision::Deny => None,
        Decision::Approve => {
            let handle = req.approval.as_ref().ok_or_else(|| {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "approval_required",
                    "sign in with your passkey before approving",
                )
            })?;
            let approver = state
                .auth
                .passkeys
                .take_approval(handle, &hash, now)
                .ok_or_else(|| {
                    AppError::new(
                        StatusCode::FORBIDDEN,
                        "approval_expired",
                        "your sign-in expired; sign in with your passkey again",
                    )
                })?;
            Some(approver)
        }
    };
    match state.auth.decide(&hash, approved_by.as_ref(), now).await {
        Ok(()) => {}
        Err(ApproveError::AlreadyDecided) => return Err(already_decided()),
        Err(ApproveError::Account(e)) => return Err(e.into()),
        Err(ApproveError::Store(e)) => return Err(e.into()),
    }
    if approved_by.as_ref().is_some_and(ApprovedBy::is_new_account) {
        state.metrics.registrations.inc();
    }
    let state_word = if approved_by.is_some() {
        state.metrics.approvals.inc();
        "approved"
    } else {
        state.metrics.denials.inc();
        "denied"
    };
    tracing::info!(decision = state_word, "device request decided");
    Ok(Json(DecisionResponse {
        state: state_word.into(),
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_carries_the_shared_facts() {
        let script = super::SCRIPT.as_str();
        assert!(
            !script.contains("{{"),
            "a placeholder was left in device.js"
        );
        let alphabet = String::from_utf8_lossy(whack_shared::user_code::ALPHABET);
        assert!(script.contains(&format!("const CODE_ALPHABET = \"{alphabet}\";")));
        assert!(script.contains("const CODE_LEN = Number(\"8\");"));
        assert!(script.contains("const NAME_MAX = Number(\"24\");"));
    }
}
