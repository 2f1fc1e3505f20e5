//! Issuing and verifying access tokens: RFC 9068 `at+jwt`, EdDSA, RFC 8725 rules.

use crate::auth::key_set::KeySet;
use crate::auth::revocation::Revocations;
use crate::storage::SessionRecord;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use std::sync::Arc;
use std::sync::{PoisonError, RwLock};
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

impl<'a> Subject<'a> {
    /// The subject of a login session's access tokens.
    pub fn of(session: &'a SessionRecord, sid: &'a str) -> Self {
        Subject {
            player_id: &session.player_id,
            name: &session.player_name,
            sid,
            client_id: &session.client_id,
        }
    }
}

/// Signs and verifies access tokens with the server's key set.
pub struct AccessTokens {
    /// Replaced as a whole when the shared set changes; tokens being signed
    /// with the old one finish with it.
    signing: RwLock<Arc<Signing>>,
    issuer: String,
    ttl: Duration,
    validation: Validation,
    revocations: Arc<Revocations>,
}

/// A key set with the base64url JOSE header of the tokens its signing key
/// signs, made once per set rather than per token.
struct Signing {
    keys: Arc<KeySet>,
    encoded_header: String,
}

impl Signing {
    fn new(keys: KeySet) -> Arc<Self> {
        let kid = keys.signing().kid();
        let header = serde_json::json!({ "alg": "EdDSA", "typ": ACCESS_TOKEN_TYP, "kid": kid });
        Arc::new(Self {
            encoded_header: URL_SAFE_NO_PAD.encode(header.to_string()),
            keys: Arc::new(keys),
        })
    }
}

impl AccessTokens {
    /// A token service for `issuer` whose tokens live `ttl`.
    pub fn new(keys: KeySet, issuer: String, ttl: Duration, revocations: Arc<Revocations>) -> Self {
        crate::auth::jwt_crypto::install();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        Self {
            signing: RwLock::new(Signing::new(keys)),
            issuer,
            ttl,
            validation,
            revocations,
        }
    }

    fn signing(&self) -> Arc<Signing> {
        Arc::clone(&self.signing.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The key set as it is now (for the JWKS).
    pub fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.signing().keys)
    }

    /// Replaces the key set (a rotation in the shared store).
    pub fn replace_keys(&self, keys: KeySet) {
        *self.signing.write().unwrap_or_else(PoisonError::into_inner) = Signing::new(keys);
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
        // Compact JWS (RFC 7515 §7.1) signed with the cached key pair; verification
        // (here and at any other service) goes through jsonwebtoken.
        let payload = serde_json::to_vec(&claims).map_err(|_| AccessError::Signing)?;
        let signing = self.signing();
        let key = signing.keys.signing();
        let mut token = format!(
            "{}.{}",
            signing.encoded_header,
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = URL_SAFE_NO_PAD.encode(key.sign(token.as_bytes()));
        token.push('.');
        token.push_str(&signature);
        Ok(Secret::new(token))
    }

    /// Verifies a presented token: one of our keys by `kid` only, EdDSA only, `typ` required,
    /// issuer, audience, expiry, not-before, and the revocation list.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AccessError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AccessError::Invalid)?;
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        // Keys come from our own set only: a token naming its own key is refused outright.
        let foreign_key = header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some();
        if !typ_ok || foreign_key || header.alg != Algorithm::EdDSA {
            return Err(AccessError::Invalid);
        }
        let keys = self.keys();
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| keys.find(kid))
            .ok_or(AccessError::Invalid)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key.decoding(), &self.validation)
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::auth::keys::SigningKey;

    fn service(dir: &std::path::Path, ttl_secs: u64) -> (AccessTokens, Arc<Revocations>) {
        let revocations = Arc::new(Revocations::new());
        let key = SigningKey::load_or_create(dir).unwrap_or_else(|e| panic!("{e}"));
        let tokens = AccessTokens::new(
            KeySet::single(key),
            "http://localhost:8080".into(),
            Duration::from_secs(ttl_secs),
            Arc::clone(&revocations),
        );
        (tokens, revocations)
    }

    const SUBJECT: Subject<'static> = Subject {
        player_id: "p1",
        name: "Ann",
        sid: "s1",
        client_id: "whack-cli",
    };

    fn now() -> u64 {
        crate::clock::now_ms() / 1000
    }

    #[test]
    fn issued_tokens_verify_and_carry_every_claim() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (tokens, _) = service(dir.path(), 900);
        let token = tokens.issue(&SUBJECT, now())?;
        let header = jsonwebtoken::decode_header(token.expose())?;
        assert_eq!(
            (header.alg, header.typ.as_deref(), header.kid.as_deref()),
            (
                Algorithm::EdDSA,
                Some("at+jwt"),
                Some(tokens.keys().signing().kid())
            )
        );
        let claims = tokens.verify(token.expose())?;
        assert_eq!(
            (
                claims.sub.as_str(),
                claims.name.as_str(),
                claims.sid.as_str(),
                claims.aud.as_str()
            ),
            ("p1", "Ann", "s1", "whack")
        );
        assert_eq!(claims.exp - claims.iat, 900);
        Ok(())
    }

    #[test]
    fn revoked_and_expired_tokens_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (tokens, revocations) = service(dir.path(), 60);
        let old = tokens.issue(&SUBJECT, now() - 60 - LEEWAY_SECS - 1)?;
        assert_eq!(
            tokens.verify(old.expose()).err(),
            Some(AccessError::Expired)
        );
        let within_leeway = tokens.issue(&SUBJECT, now() - 60 - LEEWAY_SECS + 5)?;
        assert!(tokens.verify(within_leeway.expose()).is_ok());
        revocations.revoke("s1", 0);
        assert_eq!(
            tokens.verify(within_leeway.expose()).err(),
            Some(AccessError::Revoked)
        );
        Ok(())
    }

    #[test]
    fn tokens_of_a_rotated_away_key_verify_while_it_is_published()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (tokens, _) = service(dir.path(), 300);
        let before = tokens.issue(&SUBJECT, now())?;
        let old = tokens.keys();
        let reloaded = |k: &SigningKey| SigningKey::from_pkcs8(&k.to_pkcs8().unwrap_or_default());
        let (new, kept) = (SigningKey::generate(), reloaded(old.signing()));
        let (new, kept) = (new.ok_or("no key")?, kept.ok_or("no key")?);
        tokens.replace_keys(KeySet::new(new, vec![kept]));
        tokens.verify(before.expose())?;
        let after = tokens.issue(&SUBJECT, now())?;
        let header = jsonwebtoken::decode_header(after.expose())?;
        assert_eq!(header.kid.as_deref(), Some(tokens.keys().signing().kid()));
        assert_ne!(header.kid.as_deref(), Some(old.signing().kid()));
        // Once the old key is no longer published, its tokens are refused.
        let newest = reloaded(tokens.keys().signing()).ok_or("no key")?;
        tokens.replace_keys(KeySet::single(newest));
        assert!(matches!(
            tokens.verify(before.expose()),
            Err(AccessError::Invalid)
        ));
        tokens.verify(after.expose())?;
        Ok(())
    }
}
