//! OAuth 2.0 bodies: device authorization (RFC 8628), token responses and errors
//! (RFC 6749 §5), server metadata (RFC 8414) and the JSON Web Key Set.

use crate::Secret;
use serde::{Deserialize, Serialize};

/// `grant_type` of the device-code exchange.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// `grant_type` of a refresh.
pub const REFRESH_TOKEN_GRANT: &str = "refresh_token";
/// Prefix of every refresh token, so leaked ones are easy to spot and scan for.
pub const REFRESH_TOKEN_PREFIX: &str = "whr_";
/// Prefix of every device code.
pub const DEVICE_CODE_PREFIX: &str = "whd_";
/// Lifetime of a device code in seconds.
pub const DEVICE_CODE_TTL_SECS: u64 = 600;
/// The polling interval a device starts with, in seconds.
pub const POLL_INTERVAL_SECS: u64 = 5;
/// How much `slow_down` adds to the interval, in seconds.
pub const SLOW_DOWN_STEP_SECS: u64 = 5;

/// Response of `POST /oauth/device_authorization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    /// The secret the device polls with.
    pub device_code: Secret,
    /// The code the player types, `XXXX-XXXX`.
    pub user_code: String,
    /// The page where the player enters the code.
    pub verification_uri: String,
    /// The same page with the code filled in.
    pub verification_uri_complete: String,
    /// Seconds until the codes expire.
    pub expires_in: u64,
    /// Minimum seconds between polls.
    pub interval: u64,
}

/// A successful `POST /oauth/token` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token (a JWT).
    pub access_token: Secret,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The refresh token; the presented one is consumed.
    pub refresh_token: Secret,
}

/// Error codes of RFC 6749 §5.2 and RFC 8628 §3.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Missing, repeated or malformed parameter.
    InvalidRequest,
    /// Unknown client.
    InvalidClient,
    /// The device code or refresh token is invalid, expired, used or revoked.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The requested scope is not supported.
    InvalidScope,
    /// The player has not acted yet.
    AuthorizationPending,
    /// Polling too fast: add 5 seconds to the interval.
    SlowDown,
    /// The player denied the request.
    AccessDenied,
    /// The device code expired.
    ExpiredToken,
    /// Too many requests from this address.
    TooManyRequests,
    /// The server failed.
    ServerError,
    /// The server cannot answer this now (RFC 6749 §4.1.2.1); try again shortly.
    TemporarilyUnavailable,
    /// A code this client does not know.
    #[serde(other)]
    Unknown,
}

/// An OAuth error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error code.
    pub error: ErrorCode,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// RFC 8414 authorization server metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMetadata {
    /// The issuer (public URL).
    pub issuer: String,
    /// `POST` here for a device code.
    pub device_authorization_endpoint: String,
    /// `POST` here for tokens.
    pub token_endpoint: String,
    /// `POST` here to revoke a token.
    pub revocation_endpoint: String,
    /// The public keys.
    pub jwks_uri: String,
    /// Supported grants.
    pub grant_types_supported: Vec<String>,
    /// Always `["none"]`: public clients.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Always `["none"]`: public clients.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// Response types (none: no browser redirect flow).
    pub response_types_supported: Vec<String>,
}

/// One public key (RFC 8037 OKP Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// Public key, base64url.
    pub x: String,
    /// Key id.
    pub kid: String,
    /// Algorithm: `EdDSA`.
    pub alg: String,
    /// Use: `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// `GET /.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_error_codes_still_parse() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":"brand_new","error_description":"x"}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.error, ErrorCode::Unknown);
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":"slow_down"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.error, ErrorCode::SlowDown);
    }
}
