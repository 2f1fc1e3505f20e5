//! Operations: health and metrics.

use crate::metrics::Exposition;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

/// `GET /healthz`: the server is up and serving.
pub async fn healthz() -> &'static str {
    "ok\n"
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
