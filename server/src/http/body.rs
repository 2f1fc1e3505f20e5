//! Strict request bodies: form-encoded for OAuth, JSON for the page. Wrong content
//! types, malformed or repeated parameters get clear errors instead of axum's
//! plain-text rejections.

use super::error::{AppError, OAuthError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Largest body accepted on the OAuth and page endpoints.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

fn content_type_is(req: &Request, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// Past the limit, up to this much more is still read and dropped: a connection
/// closed with unread data is reset, and the reset can destroy the error response
/// before a client that is still sending reads it.
const DRAIN_BYTES: usize = 1024 * 1024;

/// Status, stable code and message of a body that could not be read.
type BodyError = (StatusCode, &'static str, &'static str);

/// A body must arrive within this long, so a client trickling one byte at a
/// time cannot hold a connection and a task for ever.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn read_body(req: Request) -> Result<Bytes, BodyError> {
    tokio::time::timeout(BODY_TIMEOUT, read_body_in_time(req))
        .await
        .unwrap_or(Err((
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        )))
}

async fn read_body_in_time(req: Request) -> Result<Bytes, BodyError> {
    let mut chunks = req.into_body().into_data_stream();
    let (mut body, mut seen) = (Vec::new(), 0usize);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| {
            (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request body could not be read",
            )
        })?;
        seen = seen.saturating_add(chunk.len());
        if seen <= MAX_BODY_BYTES {
            body.extend_from_slice(&chunk);
        } else if seen > MAX_BODY_BYTES + DRAIN_BYTES {
            break;
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        ));
    }
    Ok(Bytes::from(body))
}

/// `application/x-www-form-urlencoded` parameters; each may appear once (RFC 6749 §3.2).
#[derive(Debug)]
pub struct Form(pub HashMap<String, String>);

impl Form {
    /// A parameter, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = OAuthError;

    async fn from_request(req: Request, _: &S) -> Result<Self, OAuthError> {
        if !content_type_is(&req, "application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = read_body(req)
            .await
            .map_err(|(_, _, m)| OAuthError::invalid_request(m))?;
        Self::parse(&bytes)
    }
}

impl Form {
    /// Decodes a form body; a repeated parameter is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (key, value) in form_urlencoded::parse(bytes) {
            if params
                .insert(key.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{key}` is repeated"
                )));
            }
        }
        Ok(Self(params))
    }
}

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _: &S) -> Result<Self, AppError> {
        if !content_type_is(&req, "application/json") {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_content_type",
                "the body must be application/json",
            ));
        }
        let bytes = read_body(req)
            .await
            .map_err(|(s, code, m)| AppError::new(s, code, m))?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("malformed request: {e}"),
            )
        })
    }
}
