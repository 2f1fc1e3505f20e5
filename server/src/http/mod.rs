//! HTTP: the router, and the middleware every response passes through.

pub mod account;
pub mod api;
pub mod bearer;
pub mod body;
pub mod device_page;
pub mod error;
pub mod oauth;
pub mod ops;
pub mod play;
pub mod sessions;
pub mod well_known;

use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};

const SECURITY_HEADERS: [(HeaderName, &str); 7] = [
    (header::CACHE_CONTROL, "no-store"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// Every route of the login side.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/device_authorization",
            post(oauth::device_authorization),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(well_known::metadata),
        )
        .route("/", get(device_page::home))
        .route("/device", get(device_page::page))
        .route("/assets/device.css", get(device_page::css))
        .route("/assets/device.js", get(device_page::js))
        .route("/assets/webauthn.js", get(device_page::webauthn_js))
        .route("/assets/page.js", get(device_page::page_js))
        .route("/assets/favicon.svg", get(device_page::icon))
        .route("/device/api/lookup", post(device_page::lookup))
        .route(
            "/device/api/register/start",
            post(device_page::register_start),
        )
        .route(
            "/device/api/register/finish",
            post(device_page::register_finish),
        )
        .route("/device/api/signin/start", post(device_page::signin_start))
        .route(
            "/device/api/signin/finish",
            post(device_page::signin_finish),
        )
        .route("/device/api/decision", post(device_page::decision))
        .route("/account", get(account::page))
        .route("/assets/account.js", get(account::js))
        .route("/account/api/signin/start", post(account::signin_start))
        .route("/account/api/signin/finish", post(account::signin_finish))
        .route("/account/api/verify/finish", post(account::verify_finish))
        .route("/account/api/overview", get(account::overview))
        .route("/account/api/delete", post(account::delete_account))
        .route("/account/api/recover/start", post(account::recover_start))
        .route("/account/api/recover/finish", post(account::recover_finish))
        .route(
            "/account/api/recovery-codes",
            post(account::new_recovery_codes),
        )
        .route(
            "/device/api/recover/start",
            post(device_page::recover_start),
        )
        .route(
            "/device/api/recover/finish",
            post(device_page::recover_finish),
        )
        .route(
            "/account/api/passkeys/add/start",
            post(account::add_passkey_start),
        )
        .route(
            "/account/api/passkeys/add/finish",
            post(account::add_passkey_finish),
        )
        .route(
            "/account/api/passkeys/{id}/name",
            post(account::rename_passkey),
        )
        .route(
            "/account/api/passkeys/{id}",
            delete(account::remove_passkey),
        )
        .route(
            "/account/api/sessions/end-others",
            post(account::end_others),
        )
        .route("/account/api/sessions/{id}", delete(account::end_session))
        .route("/api/me", get(api::me))
        .route("/api/leaderboard", get(api::leaderboard))
        .route("/api/sessions", get(sessions::list))
        .route("/api/sessions/end-others", post(sessions::end_others))
        .route("/api/sessions/{id}", delete(sessions::end))
        .route("/play", get(play::play))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
}

/// Adds the security headers and counts every response.
pub fn finish(router: Router<AppState>, state: AppState) -> Router {
    router
        .fallback(|| async {
            error::AppError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such page",
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// The method as a metrics label: a closed set, so made-up method names cannot
/// mint a new series each.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // A matched path is an Arc: cheap to clone; unmatched paths share one label.
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().cloned();
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    state.metrics.request_time.observe(started.elapsed());
    state.metrics.record_request(
        method,
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status().as_u16(),
    );
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}
