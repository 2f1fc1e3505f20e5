//! The player API: `/api/me` and `/api/leaderboard`.

use super::bearer::Bearer;
use super::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use whack_shared::api::{Leaderboard, Me};

/// Rows in the leaderboard.
const LEADERBOARD_SIZE: usize = 100;

/// `GET /api/me`: the player the bearer token belongs to, with their stats.
pub async fn me(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
) -> Result<Json<Me>, AppError> {
    let player = state
        .auth
        .player(&claims.sub)
        .await?
        .ok_or_else(|| AppError::unauthorized("this player no longer exists"))?;
    let stats = state.game.stats().player_stats(&player.id).await?;
    Ok(Json(Me {
        id: player.id,
        name: player.name,
        stats,
    }))
}

/// `GET /api/leaderboard`: best first.
pub async fn leaderboard(State(state): State<AppState>) -> Result<Json<Leaderboard>, AppError> {
    let entries = state.game.stats().leaderboard(LEADERBOARD_SIZE).await?;
    Ok(Json(Leaderboard { entries }))
}
