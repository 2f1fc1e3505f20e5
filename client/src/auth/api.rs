//! Authenticated HTTP API calls, each through the token manager (one retry on 401).

use crate::auth::http::{self, HttpError};
use crate::auth::token_manager::{AuthError, TokenManager};
use crate::sanitize::Sanitize;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use whack_shared::Secret;
use whack_shared::api::{Leaderboard, Me};

/// `GET /api/me`: who the access token belongs to.
pub async fn me(manager: &TokenManager) -> Result<Me, AuthError> {
    get_json(manager, "/api/me").await
}

/// `GET /api/leaderboard`: the global leaderboard, best first.
pub async fn leaderboard(manager: &TokenManager) -> Result<Leaderboard, AuthError> {
    get_json(manager, "/api/leaderboard").await
}

/// GETs `path` with the access token; on a 401, refreshes once and retries once.
pub async fn get_json<T: DeserializeOwned + Sanitize>(
    manager: &TokenManager,
    path: &str,
) -> Result<T, AuthError> {
    let token = manager.access_token().await?;
    let mut response = send(manager, path, &token).await?;
    if response.status() == StatusCode::UNAUTHORIZED {
        let token = manager.refresh_after_401(&token).await?;
        response = send(manager, path, &token).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(AuthError::Unauthorized);
        }
    }
    let server = manager.server();
    if !response.status().is_success() {
        return Err(http::status_error(server, &response).into());
    }
    Ok(http::json_body(server, response).await?)
}

async fn send(
    manager: &TokenManager,
    path: &str,
    token: &Secret,
) -> Result<reqwest::Response, HttpError> {
    let server = manager.server();
    manager
        .http()
        .client()
        .get(server.endpoint(path))
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(|e| http::transport_error(server, &e))
}
