//! `GET /play`: checks the bearer token and the connect limits, upgrades, and
//! hands the socket to the game ([`crate::game::runtime::session`]).

use crate::game::runtime::TokenCheck;
use crate::game::runtime::room_error::RoomError;
use crate::game::runtime::session;
use crate::http::bearer::Bearer;
use crate::http::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use whack_shared::claims::AccessClaims;

/// `GET /play`: upgrades an authenticated request to a game connection.
///
/// Over the per-second connect limits (per player, per address) the upgrade is
/// refused with 429 and `Retry-After`. Over the per-player socket cap the
/// upgrade goes through and the socket is closed at once with an `error`
/// `too_many_connections` and 4008: a WebSocket client reads a close frame more
/// reliably than the body of a refused upgrade.
#[tracing::instrument(skip_all)]
pub async fn play(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Bearer(claims): Bearer,
    ws: WebSocketUpgrade,
) -> Response {
    let game = state.game.clone();
    if game.is_shutting_down() {
        return shutting_down();
    }
    if let Err(why) = state.revocations_current() {
        return AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            why,
        )
        .into_response();
    }
    if let Err(retry_after) = game.admit_connect(&claims.sub, peer.ip()).await {
        return connecting_too_fast(retry_after);
    }
    // Registered before the upgrade, so racing upgrades cannot all pass the cap.
    let registration = match game.register(&claims.sid, &claims.sub) {
        Err(RoomError::ShuttingDown) => return shutting_down(),
        other => other,
    };
    let addr = peer.ip();
    if registration.is_ok() {
        let (state, sid) = (state.clone(), claims.sid.clone());
        // Off the upgrade's path: a slow store must not delay the game.
        tokio::spawn(async move {
            if let Err(e) = state.auth.played(&sid, crate::clock::now_ms()).await {
                tracing::warn!(error = %e, "cannot note the game connection");
            }
        });
    }
    let tokens: Arc<dyn TokenCheck> = Arc::new(Tokens(state));
    let player = session::player_of(claims);
    session::limit(ws)
        .on_upgrade(move |socket| session::run(game, socket, player, registration, addr, tokens))
}

/// 503 while the server is shutting down.
fn shutting_down() -> Response {
    AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting_down",
        "the server is shutting down",
    )
    .into_response()
}

/// 429 for a client opening game connections faster than allowed.
fn connecting_too_fast(retry_after: u64) -> Response {
    let body = whack_shared::api::ApiError {
        error: "connecting_too_fast".into(),
        message: format!("too many game connections opened just now; try again in {retry_after} s"),
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// `reauth` tokens are checked like the upgrade's bearer token.
struct Tokens(AppState);

impl TokenCheck for Tokens {
    fn verify(&self, token: &str) -> Result<AccessClaims, String> {
        self.0.auth.access.verify(token).map_err(|e| {
            self.0.metrics.access_denied.inc();
            e.to_string()
        })
    }
}
