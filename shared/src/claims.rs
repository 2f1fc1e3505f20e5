//! Claims of an access token (RFC 9068 `at+jwt`).

use serde::{Deserialize, Serialize};

/// The JOSE `typ` header every access token carries.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Lifetime of an access token in seconds.
pub const ACCESS_TOKEN_TTL_SECS: u64 = 900;

/// Claims of a Whack access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: the server's public URL.
    pub iss: String,
    /// Audience: always [`crate::AUDIENCE`].
    pub aud: String,
    /// Subject: the player id.
    pub sub: String,
    /// The player's display name.
    pub name: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Not before, Unix seconds.
    pub nbf: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Unique token id.
    pub jti: String,
    /// The login session this token belongs to.
    pub sid: String,
}
