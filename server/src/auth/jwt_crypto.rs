//! The cryptography under jsonwebtoken: Ed25519 on ed25519-dalek and nothing
//! else. Access tokens are EdDSA only, so a verifier that knows no other
//! algorithm cannot be talked into one, and no C crypto library is built.

use ed25519_dalek::pkcs8::DecodePrivateKey;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

struct EdSigner(ed25519_dalek::SigningKey);

impl signature::Signer<Vec<u8>> for EdSigner {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

impl JwtSigner for EdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
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
        // Strict: no small-order keys, no non-canonical signatures.
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
    if *algorithm != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    ed25519_signer(key)
}

/// An Ed25519 signer for a PKCS#8 key (for providers that know more algorithms).
pub fn ed25519_signer(key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    let key = ed25519_dalek::SigningKey::from_pkcs8_der(key.as_bytes())
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdSigner(key)))
}

/// The verifier of this provider: Ed25519, and no other algorithm.
pub fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
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

/// Ed25519 only; no JWK helpers (we build our JWKS ourselves).
static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this the process's jsonwebtoken provider; later calls change nothing.
pub fn install() {
    // Err means one is installed already: this one, installed earlier.
    let _ = PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_eddsa_is_known() -> Result<()> {
        install();
        let hmac = EncodingKey::from_secret(b"a shared secret")?;
        let header = jsonwebtoken::Header::new(Algorithm::HS256);
        assert!(jsonwebtoken::encode(&header, &serde_json::json!({}), &hmac).is_err());
        let decoding = DecodingKey::from_secret(b"a shared secret")?;
        assert!(verifier(&Algorithm::HS256, &decoding).is_err());
        assert!(
            verifier(&Algorithm::EdDSA, &decoding).is_err(),
            "not an Ed25519 key"
        );
        Ok(())
    }
}
