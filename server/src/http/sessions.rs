//! The player's signed-in devices over the bearer API: `GET /api/sessions`,
//! `DELETE /api/sessions/{id}`, `POST /api/sessions/end-others`. Ending a
//! session is a logout of it: its access tokens are refused at once and its
//! game sockets closed (4001).

use super::bearer::Bearer;
use super::error::AppError;
use crate::auth::refresh::ACCOUNT_PAGE_CLIENT;
use crate::clock::now_ms;
use crate::state::AppState;
use crate::storage::SessionRecord;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use whack_shared::api::{EndedSessions, SessionInfo, Sessions};

/// `GET /api/sessions`: the live sessions of the token's player, newest first.
pub async fn list(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Json<Sessions>, AppError> {
    let live = state.auth.sessions(&claims.sub, now_ms()).await?;
    Ok(Json(Sessions {
        sessions: infos(&state, live, &claims.sid),
    }))
}

/// Sessions as the API shows them; `current` marks `current_sid`.
pub fn infos(
    state: &AppState,
    live: Vec<(String, SessionRecord)>,
    current_sid: &str,
) -> Vec<SessionInfo> {
    live.into_iter()
        .map(|(id, s)| SessionInfo {
            current: id == current_sid,
            client: client_name(state, &s.client_id).to_owned(),
            last_refresh_at: s.chain.as_ref().map(|c| c.live_issued_at),
            id,
            client_id: s.client_id,
            started_at: s.created_at,
            started_from: s.started_from,
            last_played_at: s.last_played_at,
            expires_at: s.expires_at,
        })
        .collect()
}

fn client_name<'a>(state: &'a AppState, client_id: &str) -> &'a str {
    if client_id == ACCOUNT_PAGE_CLIENT {
        return "Web browser (account page)";
    }
    state
        .config
        .client_name(client_id)
        .unwrap_or("a client no longer allowed")
}

/// `DELETE /api/sessions/{id}`: ends one of the player's sessions (the
/// current one too: that is a logout). 404 for anything else.
pub async fn end(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    if state.auth.end_session(&claims.sub, &id, now_ms()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::new(
            StatusCode::NOT_FOUND,
            "unknown_session",
            "no live session of yours has this id",
        ))
    }
}

/// `POST /api/sessions/end-others`: ends every session of the player but the
/// one making the request.
pub async fn end_others(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Json<EndedSessions>, AppError> {
    let ended = state
        .auth
        .end_other_sessions(&claims.sub, &claims.sid, now_ms())
        .await?;
    Ok(Json(EndedSessions {
        ended: u64::try_from(ended).unwrap_or(u64::MAX),
    }))
}
