//! Login: the device grant, passkey ceremonies, access and refresh tokens, and
//! the revocation list. Pure token rules over the storage traits; no HTTP here.

pub mod access_token;
pub mod authenticator_model;
pub mod device_grant;
pub mod jwt_crypto;
pub mod key_set;
pub mod keys;
pub mod passkey_list;
pub mod passkeys;
pub mod recovery;
pub mod recovery_codes;
pub mod refresh;
pub mod revocation;
pub mod revocation_feed;
pub mod secrets;
pub mod service;
pub mod sessions;
