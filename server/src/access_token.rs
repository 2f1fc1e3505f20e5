//! Issuing and verifying access tokens: RFC 9068 `at+jwt`, EdDSA, RFC 8725 rules.

use crate::keys::SigningKey;
use crate::revocation::Revocations;
use jsonwebtoken::{Algorithm, Header, Validation};
use std::sync::Arc;
use std::time::Duration;
use whack_shared::claims::{ACCESS_TOKEN_TYP, AccessClaims};
use whack_shared::{AUDIENCE, Secret};

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Why an access token was refused. Deliberately vague towards clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Not a well-formed JWT of ours, or a bad signature.
    #[error("the access token is invalid")]
    Invalid,
    /// Past `exp`.
    #[error("the access token has expired")]
    Expired,
    /// Its login session was revoked.
    #[error("the access token was revoked")]
    Revoked,
    /// Signing failed (a server fault).
    #[error("could not sign an access token")]
    Signing,
}

/// Who an access token is for, as the server needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// Player id.
    pub player_id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Login session.
    pub sid: &'a str,
    /// OAuth client.
    pub client_id: &'a str,
}

/// Signs and verifies access tokens with the server's one key.
pub struct AccessTokens {
    key: SigningKey,
    issuer: String,
    ttl: Duration,
    validation: Validation,
    revocations: Arc<Revocations>,
}

impl AccessTokens {
    /// A token service for `issuer` whose tokens live `ttl`.
    pub fn new(
        key: SigningKey,
        issuer: String,
        ttl: Duration,
        revocations: Arc<Revocations>,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        Self {
            key,
            issuer,
            ttl,
            validation,
            revocations,
        }
    }

    /// The signing key (for the JWKS).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Lifetime of new tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs a fresh token for `subject`, issued at `now_secs`.
    pub fn issue(&self, subject: &Subject<'_>, now_secs: u64) -> Result<Secret, AccessError> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: subject.player_id.to_owned(),
            name: subject.name.to_owned(),
            client_id: subject.client_id.to_owned(),
            iat: now_secs,
            nbf: now_secs,
            exp: now_secs + self.ttl.as_secs(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            sid: subject.sid.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(self.key.kid().to_owned());
        jsonwebtoken::encode(&header, &claims, self.key.encoding())
            .map(Secret::new)
            .map_err(|_| AccessError::Signing)
    }

    /// Verifies a presented token: our key by `kid` only, EdDSA only, `typ` required,
    /// issuer, audience, expiry, not-before, and the revocation list.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AccessError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AccessError::Invalid)?;
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        // Keys come from our own set only: a token naming its own key is refused outright.
        let foreign_key = header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some();
        if !typ_ok
            || foreign_key
            || header.alg != Algorithm::EdDSA
            || header.kid.as_deref() != Some(self.key.kid())
        {
            return Err(AccessError::Invalid);
        }
        let data =
            jsonwebtoken::decode::<AccessClaims>(token, self.key.decoding(), &self.validation)
                .map_err(|e| match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => AccessError::Expired,
                    _ => AccessError::Invalid,
                })?;
        if self.revocations.is_revoked(&data.claims.sid) {
            return Err(AccessError::Revoked);
        }
        Ok(data.claims)
    }
}
