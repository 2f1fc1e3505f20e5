//! jsonwebtoken's crypto for the tests: the server's own Ed25519 signer and
//! verifier, plus HS256 signing so the tests can forge the algorithm-confusion
//! tokens an attacker would send.

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, EncodingKey};
use whack_server::auth::jwt_crypto::{ed25519_signer, verifier};

struct Hs256(Vec<u8>);

impl signature::Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&self.0).map_err(|_| signature::Error::new())?;
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match algorithm {
        Algorithm::EdDSA => ed25519_signer(key),
        Algorithm::HS256 => Ok(Box::new(Hs256(key.as_bytes().to_vec()))),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this the test process's jsonwebtoken provider (idempotent).
pub fn install() {
    let _ = PROVIDER.install_default();
}
