//! OAuth calls exactly as any standard device-grant client makes them.

use reqwest::StatusCode;
use std::time::Duration;
use whack_shared::oauth::{
    DEVICE_CODE_GRANT, DeviceAuthorization, ErrorBody, ErrorCode, REFRESH_TOKEN_GRANT,
    TokenResponse,
};
use whack_shared::{CLIENT_ID, Secret};

/// A refused token request: the HTTP status and the OAuth error body.
#[derive(Debug, Clone)]
pub struct Refused {
    /// HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

impl Refused {
    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.body.error
    }
}

/// `POST /oauth/device_authorization` as our CLI client.
pub async fn device_authorize(
    http: &reqwest::Client,
    url: &str,
) -> anyhow::Result<DeviceAuthorization> {
    let response = http
        .post(format!("{url}/oauth/device_authorization"))
        .form(&[("client_id", CLIENT_ID)])
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "device_authorization: {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// `POST /oauth/token` with arbitrary form parameters.
pub async fn token_request(
    http: &reqwest::Client,
    url: &str,
    params: &[(&str, &str)],
) -> anyhow::Result<Result<TokenResponse, Refused>> {
    let response = http
        .post(format!("{url}/oauth/token"))
        .form(params)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if status.is_success() {
        Ok(Ok(serde_json::from_str(&text)?))
    } else {
        let body: ErrorBody =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{status}: {text}: {e}"))?;
        Ok(Err(Refused { status, body }))
    }
}

/// One device-code poll.
pub async fn poll_once(
    http: &reqwest::Client,
    url: &str,
    device_code: &Secret,
) -> anyhow::Result<Result<TokenResponse, Refused>> {
    token_request(
        http,
        url,
        &[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", device_code.expose()),
            ("client_id", CLIENT_ID),
        ],
    )
    .await
}

/// Polls like a well-behaved client until something other than pending comes back.
pub async fn poll_token(
    http: &reqwest::Client,
    url: &str,
    auth: &DeviceAuthorization,
) -> anyhow::Result<Result<TokenResponse, Refused>> {
    let mut interval = Duration::from_secs(auth.interval);
    loop {
        match poll_once(http, url, &auth.device_code).await? {
            Err(r) if r.code() == ErrorCode::AuthorizationPending => {}
            Err(r) if r.code() == ErrorCode::SlowDown => interval += Duration::from_secs(5),
            other => return Ok(other),
        }
        tokio::time::sleep(interval).await;
    }
}

/// One refresh-token grant.
pub async fn refresh(
    http: &reqwest::Client,
    url: &str,
    refresh_token: &Secret,
) -> anyhow::Result<Result<TokenResponse, Refused>> {
    token_request(
        http,
        url,
        &[
            ("grant_type", REFRESH_TOKEN_GRANT),
            ("refresh_token", refresh_token.expose()),
            ("client_id", CLIENT_ID),
        ],
    )
    .await
}

/// `POST /oauth/revoke`; returns the HTTP status.
pub async fn revoke(
    http: &reqwest::Client,
    url: &str,
    token: &Secret,
) -> anyhow::Result<StatusCode> {
    let response = http
        .post(format!("{url}/oauth/revoke"))
        .form(&[
            ("token", token.expose()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await?;
    Ok(response.status())
}

/// `GET /api/me` with a bearer token; returns the status and the body.
pub async fn me(
    http: &reqwest::Client,
    url: &str,
    access_token: &str,
) -> anyhow::Result<(StatusCode, String)> {
    let response = http
        .get(format!("{url}/api/me"))
        .bearer_auth(access_token)
        .send()
        .await?;
    Ok((response.status(), response.text().await?))
}
