//! jsonwebtoken's crypto for the tests: Ed25519 as the server uses it, and
//! HS256 so the tests can forge the algorithm-confusion tokens an attacker
//! would send.

use ed25519_dalek::pkcs8::DecodePrivateKey;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

enum Signing {
    Ed(ed25519_dalek::SigningKey),
    Hs256(Vec<u8>),
}

impl signature::Signer<Vec<u8>> for Signing {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        match self {
            Self::Ed(key) => Ok(key.sign(message).to_bytes().to_vec()),
            Self::Hs256(secret) => {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret)
                    .map_err(|_| signature::Error::new())?;
                mac.update(message);
                Ok(mac.finalize().into_bytes().to_vec())
            }
        }
    }
}

impl JwtSigner for Signing {
    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Ed(_) => Algorithm::EdDSA,
            Self::Hs256(_) => Algorithm::HS256,
        }
    }
}

struct EdVerifier(ed25519_dalek::VerifyingKey);

impl signature::Verifier<Vec<u8>> for EdVerifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        let signature =
            ed25519_dalek::Signature::from_slice(signature).map_err(|_| signature::Error::new())?;
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for EdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match algorithm {
        Algorithm::EdDSA => Ok(Box::new(Signing::Ed(
            ed25519_dalek::SigningKey::from_pkcs8_der(key.as_bytes())
                .map_err(|_| ErrorKind::InvalidEddsaKey)?,
        ))),
        Algorithm::HS256 => Ok(Box::new(Signing::Hs256(key.as_bytes().to_vec()))),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let bytes: &[u8; 32] = key
        .try_get_as_bytes()?
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdVerifier(key)))
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
