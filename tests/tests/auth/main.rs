//! End-to-end tests of the login side against the real `whack-server` binary with
//! a real sled store in a temp dir and real WebAuthn ceremonies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod bad_input;
mod device_errors;
mod durability;
mod first_hour;
mod jwt_attacks;
mod passkey_login;
mod rotation;

use whack_shared::claims::AccessClaims;

/// Decodes a JWT's claims without verifying (to read `sid`, `exp`…).
pub fn claims_of(token: &str) -> AccessClaims {
    jsonwebtoken::dangerous::insecure_decode::<AccessClaims>(token)
        .expect("a JWT")
        .claims
}
