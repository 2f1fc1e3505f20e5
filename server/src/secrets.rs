//! Random opaque secrets and how they are stored: only as SHA-256 hashes.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref());
    out
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
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut out = [0u8; 16];
    out.copy_from_slice(&hmac::sign(&key, message).as_ref()[..16]);
    out
}

/// Equality that takes the same time wherever the inputs differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

fn sealing_key(key_material: &str) -> Option<LessSafeKey> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"whack refresh grace v1\0");
    ctx.update(key_material.as_bytes());
    UnboundKey::new(&AES_256_GCM, ctx.finish().as_ref())
        .ok()
        .map(LessSafeKey::new)
}

/// Encrypts `plaintext` under a key derived from `key_material` (nonce prepended).
pub fn seal(key_material: &str, plaintext: &str) -> Option<Vec<u8>> {
    let key = sealing_key(key_material)?;
    let nonce = random_bytes::<NONCE_LEN>();
    let mut buf = plaintext.as_bytes().to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
        .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Some(out)
}

/// Decrypts what [`seal`] produced with the same `key_material`.
pub fn open(key_material: &str, sealed: &[u8]) -> Option<String> {
    let key = sealing_key(key_material)?;
    let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = ciphertext.to_vec();
    let plain = key.open_in_place(nonce, Aad::empty(), &mut buf).ok()?;
    String::from_utf8(plain.to_vec()).ok()
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
}
