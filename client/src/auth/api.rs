//! Authenticated HTTP API calls, each through the token manager (one retry on 401).

use crate::auth::http::{self, HttpError};
use crate::auth::token_manager::{AuthError, TokenManager};
use crate::sanitize::Sanitize;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use whack_shared::Secret;
use whack_shared::api::{EndedSessions, Leaderboard, Me, Sessions};

/// `GET /api/me`: who the access token belongs to.
pub async fn me(manager: &TokenManager) -> Result<Me, AuthError> {
    get_json(manager, "/api/me").await
}

/// `GET /api/leaderboard`: the global leaderboard, best first.
pub async fn leaderboard(manager: &TokenManager) -> Result<Leaderboard, AuthError> {
    get_json(manager, "/api/leaderboard").await
}

/// `GET /api/sessions`: the player's signed-in devices, newest first.
pub async fn sessions(manager: &TokenManager) -> Result<Sessions, AuthError> {
    get_json(manager, "/api/sessions").await
}

/// `DELETE /api/sessions/{id}`: ends one of the player's sessions. False when the
/// server knows no live session of theirs by that id.
pub async fn end_session(manager: &TokenManager, id: &str) -> Result<bool, AuthError> {
    let mut url = manager.server().endpoint("/api/sessions");
    // A segment of its own, escaped: an id is data, never more of the path.
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(id);
    }
    let response = authorized(manager, Method::DELETE, url).await?;
    match response.status() {
        StatusCode::NOT_FOUND => Ok(false),
        status if status.is_success() => Ok(true),
        _ => Err(http::status_error(manager.server(), &response).into()),
    }
}

/// `POST /api/sessions/end-others`: ends every session but this one.
pub async fn end_other_sessions(manager: &TokenManager) -> Result<EndedSessions, AuthError> {
    let url = manager.server().endpoint("/api/sessions/end-others");
    let response = authorized(manager, Method::POST, url).await?;
    json(manager, response).await
}

/// GETs `path` with the access token; on a 401, refreshes once and retries once.
pub async fn get_json<T: DeserializeOwned + Sanitize>(
    manager: &TokenManager,
    path: &str,
) -> Result<T, AuthError> {
    let url = manager.server().endpoint(path);
    let response = authorized(manager, Method::GET, url).await?;
    json(manager, response).await
}

/// A successful response's JSON body.
async fn json<T: DeserializeOwned + Sanitize>(
    manager: &TokenManager,
    response: reqwest::Response,
) -> Result<T, AuthError> {
    let server = manager.server();
    if !response.status().is_success() {
        return Err(http::status_error(server, &response).into());
    }
    Ok(http::json_body(server, response).await?)
}

/// Sends a request with the access token; on a 401, refreshes once and retries
/// once.
async fn authorized(
    manager: &TokenManager,
    method: Method,
    url: Url,
) -> Result<reqwest::Response, AuthError> {
    let token = manager.access_token().await?;
    let response = send(manager, &method, &url, &token).await?;
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    let token = manager.refresh_after_401(&token).await?;
    let response = send(manager, &method, &url, &token).await?;
    if response.status() == StatusCode::UNAUTHORIZED {
        return Err(AuthError::Unauthorized);
    }
    Ok(response)
}

async fn send(
    manager: &TokenManager,
    method: &Method,
    url: &Url,
    token: &Secret,
) -> Result<reqwest::Response, HttpError> {
    manager
        .http()
        .client()
        .request(method.clone(), url.clone())
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(|e| http::transport_error(manager.server(), &e))
}
