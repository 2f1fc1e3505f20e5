//! Operations: health and metrics.

use crate::metrics::Exposition;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `GET /healthz`: `ok` while the server is up and serving; 503 and the reason
/// while it cannot vouch for revocations (a node cut off from the shared feed).
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.revocations_current() {
        Ok(()) => "ok\n".into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: {why}\n"),
        )
            .into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = String::new();
    state.metrics.describe(&mut Exposition::new(&mut body));
    state.render_store_metrics(&mut body);
    Exposition::new(&mut body).gauge(
        "whack_revoked_sessions",
        "Sessions on the in-memory revocation list.",
        state.auth.revocations.len(),
    );
    state
        .game
        .metrics()
        .describe(&mut Exposition::new(&mut body));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
