//! Operations: health and metrics.

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
    let mut body = state.metrics.render();
    state.durability.render_metrics(&mut body);
    body.push_str(&format!(
        "# HELP whack_revoked_sessions Sessions on the in-memory revocation list.\n# TYPE whack_revoked_sessions gauge\nwhack_revoked_sessions {}\n",
        state.revocations.len()
    ));
    body.push_str(&state.game.metrics().render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
