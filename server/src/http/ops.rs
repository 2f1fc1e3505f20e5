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
    body.push_str(&format!(
        "# HELP whack_db_flushes_total Database flushes (each may cover many writes).\n# TYPE whack_db_flushes_total counter\nwhack_db_flushes_total {}\n",
        state.durability.flush_count()
    ));
    body.push_str(&format!(
        "# HELP whack_revoked_sessions Sessions on the in-memory revocation list.\n# TYPE whack_revoked_sessions gauge\nwhack_revoked_sessions {}\n",
        state.revocations.len()
    ));
    body.push_str(&state.game.metrics().render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
