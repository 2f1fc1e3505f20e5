//! The Ed25519 key that signs access tokens: created on first run, kept 0600 in the
//! data dir, published as a JWKS.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::DecodingKey;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use whack_shared::oauth::Jwk;

/// File name of the private key inside the data dir.
pub const KEY_FILE: &str = "signing-key.p8";

/// Why the signing key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("signing key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file is readable by other users.
    #[error(
        "signing key {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The key file is gone while players hold tokens it signed.
    #[error(
        "signing key {path} is missing, but the store holds accounts or logins: it was \
         deleted, or not restored with the database. Restore it from the same backup as \
         the database; or start with --accept-new-signing-key \
         (WHACK_ACCEPT_NEW_SIGNING_KEY=true) to create a new key: every access token \
         signed with the old key then stops working (refresh tokens still work, so \
         players stay logged in and get new access tokens on their next refresh)"
    )]
    Missing {
        /// The key file.
        path: PathBuf,
    },
    /// The key file does not hold an Ed25519 PKCS#8 key.
    #[error("signing key {path} is not an Ed25519 PKCS#8 key")]
    Malformed {
        /// The key file.
        path: PathBuf,
    },
}

/// What to do when there is no key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Create one: a first run, nobody holds a token yet.
    Create,
    /// Create one although tokens signed with the lost key exist (the operator
    /// accepted that they stop verifying).
    Replace,
    /// Refuse to start ([`KeyError::Missing`]).
    Refuse,
}

/// The signing key with everything derived from it.
pub struct SigningKey {
    kid: String,
    pair: ed25519_dalek::SigningKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

impl SigningKey {
    /// Loads the key from `data_dir`, creating it (0600) when there is none.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        Self::open(data_dir, IfMissing::Create)
    }

    /// Loads the key from `data_dir`; `if_missing` says whether a missing one
    /// may be created.
    pub fn open(data_dir: &Path, if_missing: IfMissing) -> Result<Self, KeyError> {
        if let Some(key) = Self::load(data_dir)? {
            return Ok(key);
        }
        let path = data_dir.join(KEY_FILE);
        if if_missing == IfMissing::Refuse {
            return Err(KeyError::Missing { path });
        }
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        let new_key =
            ed25519_dalek::SigningKey::from_bytes(&crate::auth::secrets::random_bytes::<32>());
        let doc = new_key
            .to_pkcs8_der()
            .map_err(|_| KeyError::Malformed { path: path.clone() })?;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        file.write_all(doc.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        if if_missing == IfMissing::Replace {
            tracing::warn!(
                path = %path.display(),
                "the signing key was missing: created a new one as accepted \
                 (--accept-new-signing-key); access tokens signed with the old key no longer \
                 verify, players get new ones with their refresh tokens"
            );
        } else {
            tracing::info!(path = %path.display(), "created a new access-token signing key");
        }
        Self::from_pkcs8(doc.as_bytes()).ok_or(KeyError::Malformed { path })
    }

    /// Loads the key from `data_dir`: `None` when there is no key file; an error
    /// when others can read it or it is not an Ed25519 PKCS#8 key.
    pub fn load(data_dir: &Path) -> Result<Option<Self>, KeyError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        let pkcs8 = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mode = fs::metadata(&path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path,
                mode: mode & 0o777,
            });
        }
        Self::from_pkcs8(&pkcs8)
            .map(Some)
            .ok_or(KeyError::Malformed { path })
    }

    /// A new random key (for a key set that lives in a shared store); `None`
    /// only if it failed to encode.
    pub fn generate() -> Option<Self> {
        let pair =
            ed25519_dalek::SigningKey::from_bytes(&crate::auth::secrets::random_bytes::<32>());
        let doc = pair.to_pkcs8_der().ok()?;
        Self::from_pkcs8(doc.as_bytes())
    }

    /// The key as PKCS#8 DER, to store it.
    pub fn to_pkcs8(&self) -> Option<Vec<u8>> {
        self.pair
            .to_pkcs8_der()
            .ok()
            .map(|doc| doc.as_bytes().to_vec())
    }

    /// Parses an Ed25519 PKCS#8 key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Option<Self> {
        let pair = ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8).ok()?;
        let x = URL_SAFE_NO_PAD.encode(pair.verifying_key().as_bytes());
        // RFC 7638 thumbprint: members in lexicographic order, no white space.
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        let decoding = DecodingKey::from_ed_components(&x).ok()?;
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x,
            kid: kid.clone(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        };
        Some(Self {
            kid,
            pair,
            decoding,
            jwk,
        })
    }

    /// The key id carried in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// An Ed25519 signature over `message`. The parsed key pair is kept, so signing
    /// costs one signature, not a PKCS#8 parse as well.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).to_bytes().to_vec()
    }

    /// For verifying.
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public key, as published.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_written_by_earlier_versions_still_load() {
        // PKCS#8 v2 (seed, then the public key as `[1] IMPLICIT BIT STRING`) laid
        // out byte for byte as aws-lc's `ed25519_priv_encode_v2` writes it; the
        // public key computed independently (Python's `cryptography`).
        let der = "3051020101300506032b657004220420\
                   0707070707070707070707070707070707070707070707070707070707070707\
                   812100ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
        let bytes: Vec<u8> = (0..der.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&der[i..i + 2], 16).ok())
            .collect();
        let key = SigningKey::from_pkcs8(&bytes).unwrap_or_else(|| panic!("a v2 key file"));
        assert_eq!(key.jwk().x, "6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw");
    }

    #[test]
    fn creates_a_0600_key_once_and_reloads_it() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let first = SigningKey::load_or_create(dir.path())?;
        let mode = fs::metadata(dir.path().join(KEY_FILE))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = SigningKey::load_or_create(dir.path())?;
        assert_eq!(first.kid(), again.kid());
        assert_eq!(first.jwk(), again.jwk());
        Ok(())
    }

    #[test]
    fn refuses_a_key_others_can_read() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        SigningKey::load_or_create(dir.path())?;
        let path = dir.path().join(KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        assert!(matches!(
            SigningKey::load_or_create(dir.path()),
            Err(KeyError::Permissions { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_missing_key_is_created_only_when_allowed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert!(SigningKey::load(dir.path())?.is_none());
        assert!(matches!(
            SigningKey::open(dir.path(), IfMissing::Refuse),
            Err(KeyError::Missing { .. })
        ));
        assert!(!dir.path().join(KEY_FILE).exists());
        let replaced = SigningKey::open(dir.path(), IfMissing::Replace)?;
        // Once it exists, refusing a missing key changes nothing.
        let loaded = SigningKey::open(dir.path(), IfMissing::Refuse)?;
        assert_eq!(replaced.kid(), loaded.kid());
        let message = KeyError::Missing {
            path: dir.path().join(KEY_FILE),
        }
        .to_string();
        assert!(
            message.contains("--accept-new-signing-key") && message.contains("refresh tokens"),
            "{message}"
        );
        Ok(())
    }

    #[test]
    fn refuses_garbage() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(KEY_FILE);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?
            .write_all(b"nope")?;
        assert!(matches!(
            SigningKey::load_or_create(dir.path()),
            Err(KeyError::Malformed { .. })
        ));
        Ok(())
    }
}
