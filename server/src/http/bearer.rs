//! The `Authorization: Bearer` extractor: a verified access token or a clean 401.

use super::error::AppError;
use crate::auth::access_token::AccessError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use whack_shared::claims::AccessClaims;

/// The claims of a verified access token.
#[derive(Debug, Clone)]
pub struct Bearer(pub AccessClaims);

/// Reads and verifies the bearer token of a request.
pub fn verify(state: &AppState, parts: &Parts) -> Result<AccessClaims, AppError> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            AppError::unauthorized("an access token is required (Authorization: Bearer …)")
        })?;
    state.auth.access.verify(token).map_err(|e| {
        state.metrics.access_denied.inc();
        AppError::unauthorized(match e {
            AccessError::Expired => "the access token has expired; refresh it",
            AccessError::Revoked => "the session was signed out; log in again",
            AccessError::Invalid | AccessError::Signing => "the access token is invalid",
        })
    })
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        verify(state, parts).map(Bearer)
    }
}
