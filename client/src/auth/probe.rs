//! Is there a Whack server at `--server`? One `GET` of its RFC 8414 metadata, for
//! the commands that would otherwise say something about the login without ever
//! talking to the server (`whack status` with nothing stored), so that "nothing
//! answers" and "that is some other web server" are not reported as "not logged in".

use crate::auth::http::{self, Http, HttpError};
use crate::auth::server::ServerUrl;
use crate::sanitize::Sanitize;
use serde::Deserialize;
use whack_shared::oauth::DEVICE_CODE_GRANT;

/// Where every Whack server (and any RFC 8414 authorization server) describes itself.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The part of the metadata that tells a Whack server from another web server.
#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    device_authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    grant_types_supported: Vec<String>,
}

impl Sanitize for Metadata {
    fn sanitize(&mut self) {
        self.issuer.sanitize();
        self.device_authorization_endpoint.sanitize();
        self.token_endpoint.sanitize();
        self.grant_types_supported.sanitize();
    }
}

/// Succeeds when a Whack server answers at `server`; otherwise says what is there
/// instead: nothing ([`HttpError::Unreachable`], [`HttpError::Timeout`]), or
/// something else ([`HttpError::NotWhack`], naming what was wrong).
pub async fn probe(http: &Http, server: &ServerUrl) -> Result<(), HttpError> {
    let response = http
        .client()
        .get(server.endpoint(METADATA_PATH))
        .send()
        .await
        .map_err(|e| http::transport_error(server, &e))?;
    let status = response.status();
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(http::status_error(server, &response));
    }
    let not_whack = |detail: String| HttpError::NotWhack {
        origin: server.origin().to_string(),
        detail,
    };
    if !status.is_success() {
        return Err(not_whack(format!(
            "{METADATA_PATH} answered HTTP {}",
            status.as_u16()
        )));
    }
    let metadata: Metadata = http::json_body(server, response)
        .await
        .map_err(|_| not_whack(format!("{METADATA_PATH} is not Whack's server metadata")))?;
    if !metadata
        .grant_types_supported
        .iter()
        .any(|g| g == DEVICE_CODE_GRANT)
    {
        return Err(not_whack(format!(
            "the OAuth server at {} offers no device login",
            metadata.issuer
        )));
    }
    tracing::debug!(
        issuer = %metadata.issuer,
        device = %metadata.device_authorization_endpoint,
        token = %metadata.token_endpoint,
        "a Whack server answers"
    );
    Ok(())
}
