//! Random opaque secrets and how they are stored: only as SHA-256 hashes.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use whack_shared::Secret;

/// A new secret: `prefix` followed by 256 random bits, base64url.
pub fn generate(prefix: &str) -> Secret {
    Secret::new(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    ))
}

/// `N` bytes from a CSPRNG (the thread-local ChaCha generator seeded by the OS).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes
}

/// The storage key of a secret: its SHA-256. Secrets carry 256 random bits, so a
/// fast hash is enough to make a stolen database useless.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A 128-bit HMAC-SHA256 tag of `message` under `key`.
pub fn tag(key: &[u8], message: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    // HMAC takes a key of any length, so this never fails.
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) {
        mac.update(message);
        out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
    }
    out
}

/// Equality that takes the same time wherever the inputs differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Bytes of the nonce that [`seal`] puts before the ciphertext.
const NONCE_LEN: usize = 12;

fn sealing_key(key_material: &str) -> Aes256Gcm {
    let mut derive = Sha256::new();
    derive.update(b"whack refresh grace v1\0");
    derive.update(key_material.as_bytes());
    let key: [u8; 32] = derive.finalize().into();
    Aes256Gcm::new(&key.into())
}

/// Encrypts `plaintext` under a key derived from `key_material` (nonce prepended).
pub fn seal(key_material: &str, plaintext: &str) -> Option<Vec<u8>> {
    let nonce = random_bytes::<NONCE_LEN>();
    let sealed = sealing_key(key_material)
        .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
        .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Some(out)
}

/// Decrypts what [`seal`] produced with the same `key_material`.
pub fn open(key_material: &str, sealed: &[u8]) -> Option<String> {
    let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let plain = sealing_key(key_material)
        .decrypt(&Nonce::from(nonce), ciphertext)
        .ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_unique() {
        let (a, b) = (generate("whr_"), generate("whr_"));
        assert!(a.expose().starts_with("whr_") && a.expose().len() == 4 + 43);
        assert_ne!(a, b);
        assert_eq!(hash(a.expose()), hash(a.expose()));
        assert_ne!(hash(a.expose()), hash(b.expose()));
    }

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn sealed_values_open_only_with_the_same_key() {
        let sealed = seal("whr_parent", "whr_child").unwrap_or_default();
        assert_eq!(open("whr_parent", &sealed).as_deref(), Some("whr_child"));
        assert_eq!(open("whr_other", &sealed), None);
        assert_eq!(open("whr_parent", &sealed[..5]), None);
    }

    #[test]
    fn values_sealed_by_any_aes_256_gcm_still_open() {
        // Made with Python's `cryptography` (nonce 0..12, then ciphertext and
        // tag), so grace records stored before a change of crypto library open.
        let sealed = [
            0x00u8, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x6a, 0xec,
            0x2f, 0xa9, 0xe5, 0xee, 0x6d, 0x1d, 0x12, 0x5e, 0xc3, 0x76, 0xec, 0x77, 0x5b, 0xc5,
            0x7f, 0x2b, 0xb8, 0x30, 0x80, 0xac, 0xb3, 0x6e, 0x5c,
        ];
        assert_eq!(open("whr_parent", &sealed).as_deref(), Some("whr_child"));
        assert_eq!(open("whr_other", &sealed), None);
    }

    #[test]
    fn tags_depend_on_key_and_message_and_compare_in_constant_time() {
        let t = tag(b"key", b"msg");
        assert_ne!(t, tag(b"key2", b"msg"));
        assert_ne!(t, tag(b"key", b"msg2"));
        assert!(same(&t, &tag(b"key", b"msg")));
        assert!(!same(&t, &t[..15]));
    }
}
