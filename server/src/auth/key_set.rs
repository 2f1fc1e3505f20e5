//! The keys access tokens are signed and verified with: one signs, and every
//! published key verifies, so tokens signed before a rotation (or by another
//! node) keep verifying until they expire.

use crate::auth::keys::SigningKey;
use crate::storage::{KeyStore, StoreError, StoredKey};
use whack_shared::oauth::Jwks;

/// Why the shared key set could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// The store failed.
    #[error("cannot read the signing keys: {0}")]
    Store(#[from] StoreError),
    /// A stored key does not parse.
    #[error("the stored signing key {kid} is not an Ed25519 PKCS#8 key")]
    Malformed {
        /// Which.
        kid: String,
    },
    /// The store names a signing key it does not hold.
    #[error("the store names {kid} as its signing key but does not hold it")]
    Missing {
        /// Which.
        kid: String,
    },
    /// A new key could not be made.
    #[error("cannot make a new signing key")]
    Generate,
}

/// The set a shared store holds at `now_ms`: its signing key, and every other
/// key not yet retired.
pub fn from_stored(
    signing: &str,
    stored: &[StoredKey],
    now_ms: u64,
) -> Result<KeySet, KeySetError> {
    let parse = |k: &StoredKey| {
        SigningKey::from_pkcs8(&k.pkcs8)
            .ok_or_else(|| KeySetError::Malformed { kid: k.kid.clone() })
    };
    let current = stored
        .iter()
        .find(|k| k.kid == signing)
        .ok_or_else(|| KeySetError::Missing {
            kid: signing.to_owned(),
        })?;
    let others = stored
        .iter()
        .filter(|k| k.kid != signing && k.retire_at.is_none_or(|at| at > now_ms))
        .map(parse)
        .collect::<Result<_, _>>()?;
    Ok(KeySet::new(parse(current)?, others))
}

/// `key` as a shared store keeps it, made at `now_ms`, not retired.
pub fn stored(key: &SigningKey, now_ms: u64) -> Result<StoredKey, KeySetError> {
    Ok(StoredKey {
        kid: key.kid().to_owned(),
        pkcs8: key.to_pkcs8().ok_or(KeySetError::Generate)?,
        created_at: now_ms,
        retire_at: None,
    })
}

/// The shared set, made with a first key if the store has none (the first
/// node to start; nodes starting together agree on one).
pub async fn open_shared(store: &dyn KeyStore, now_ms: u64) -> Result<KeySet, KeySetError> {
    let (signing, keys) = store.signing_keys().await?;
    let signing = match signing {
        Some(kid) => kid,
        None => {
            let key = SigningKey::generate().ok_or(KeySetError::Generate)?;
            let first = store.first_signing_key(&stored(&key, now_ms)?).await?;
            tracing::info!(kid = %first, "the shared store had no signing key: made one");
            return load(store, &first, now_ms).await;
        }
    };
    from_stored(&signing, &keys, now_ms)
}

async fn load(store: &dyn KeyStore, signing: &str, now_ms: u64) -> Result<KeySet, KeySetError> {
    let (_, keys) = store.signing_keys().await?;
    from_stored(signing, &keys, now_ms)
}

/// The shared set as the store holds it now, if it has a signing key.
pub async fn reload(store: &dyn KeyStore, now_ms: u64) -> Result<Option<KeySet>, KeySetError> {
    let (signing, keys) = store.signing_keys().await?;
    signing
        .map(|kid| from_stored(&kid, &keys, now_ms))
        .transpose()
}

/// Adds a new signing key; the previous one stays published for `keep_ms`
/// (its tokens' lifetime and the time nodes take to notice). Returns the new
/// key's id and when the previous one retires.
pub async fn rotate(
    store: &dyn KeyStore,
    now_ms: u64,
    keep_ms: u64,
) -> Result<(String, Option<(String, u64)>), KeySetError> {
    let (signing, keys) = store.signing_keys().await?;
    let retire_at = now_ms.saturating_add(keep_ms);
    let previous = signing
        .and_then(|kid| keys.into_iter().find(|k| k.kid == kid))
        .map(|k| StoredKey {
            retire_at: Some(retire_at),
            ..k
        });
    let key = SigningKey::generate().ok_or(KeySetError::Generate)?;
    let new = stored(&key, now_ms)?;
    store
        .rotate_signing_key(&new, previous.as_ref(), now_ms)
        .await?;
    Ok((new.kid, previous.map(|p| (p.kid, retire_at))))
}

/// One set of keys, as loaded at one instant.
pub struct KeySet {
    signing: SigningKey,
    /// Published besides the signing key (older keys whose tokens still live).
    others: Vec<SigningKey>,
}

impl KeySet {
    /// A set of one key (the single-machine server's data-dir key).
    pub fn single(key: SigningKey) -> Self {
        Self::new(key, Vec::new())
    }

    /// `signing` signs; it and `others` verify.
    pub fn new(signing: SigningKey, others: Vec<SigningKey>) -> Self {
        let others = others
            .into_iter()
            .filter(|k| k.kid() != signing.kid())
            .collect();
        Self { signing, others }
    }

    /// The key new tokens are signed with.
    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// The published key with id `kid`.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.signing)
            .chain(&self.others)
            .find(|k| k.kid() == kid)
    }

    /// The ids of every published key, the signing one first.
    pub fn kids(&self) -> Vec<&str> {
        std::iter::once(&self.signing)
            .chain(&self.others)
            .map(SigningKey::kid)
            .collect()
    }

    /// Every published public key, the signing one first.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: std::iter::once(&self.signing)
                .chain(&self.others)
                .map(|k| k.jwk().clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::generate().unwrap_or_else(|| panic!("cannot make a key"))
    }

    #[test]
    fn every_published_key_is_found_and_listed_the_signing_one_first() {
        let (old, new) = (key(), key());
        let (old_kid, new_kid) = (old.kid().to_owned(), new.kid().to_owned());
        let set = KeySet::new(new, vec![old]);
        assert_eq!(set.signing().kid(), new_kid);
        assert!(set.find(&old_kid).is_some());
        assert!(set.find("someone-else").is_none());
        let kids: Vec<_> = set.jwks().keys.into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, [new_kid, old_kid]);
    }

    fn stored_key(key: &SigningKey, retire_at: Option<u64>) -> StoredKey {
        let stored = stored(key, 0).unwrap_or_else(|e| panic!("{e}"));
        StoredKey {
            retire_at,
            ..stored
        }
    }

    #[test]
    fn a_stored_set_publishes_what_has_not_retired() -> Result<(), KeySetError> {
        let (current, kept, retired) = (key(), key(), key());
        let stored = [
            stored_key(&current, None),
            stored_key(&kept, Some(2_000)),
            stored_key(&retired, Some(500)),
        ];
        let set = from_stored(current.kid(), &stored, 1_000)?;
        assert_eq!(set.kids(), [current.kid(), kept.kid()]);
        assert!(matches!(
            from_stored("gone", &stored, 1_000),
            Err(KeySetError::Missing { .. })
        ));
        let mut broken = stored_key(&kept, None);
        broken.pkcs8 = vec![1, 2, 3];
        assert!(matches!(
            from_stored(current.kid(), &[stored_key(&current, None), broken], 1_000),
            Err(KeySetError::Malformed { .. })
        ));
        Ok(())
    }

    #[test]
    fn the_signing_key_is_listed_once() {
        let signing = key();
        let again = SigningKey::from_pkcs8(&signing.to_pkcs8().unwrap_or_default())
            .unwrap_or_else(|| panic!("round trip"));
        let set = KeySet::new(signing, vec![again]);
        assert_eq!(set.jwks().keys.len(), 1);
    }
}
