//! JSON calls the browser page `/device` makes (same-origin, `application/json`).
//!
//! WebAuthn options and credentials travel as opaque JSON: the server builds them
//! with webauthn-rs and the browser consumes them with `PublicKeyCredential`.

use crate::Secret;
use serde::{Deserialize, Serialize};

/// `POST /device/api/lookup`: which request does this code belong to?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupRequest {
    /// The code as typed.
    pub user_code: String,
}

/// What is asking to sign in, shown so the player can spot phishing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestDetails {
    /// The code, `XXXX-XXXX`.
    pub user_code: String,
    /// The OAuth client that asked.
    pub client_id: String,
    /// Its name for people (`client_id` itself when the operator gave none).
    #[serde(default)]
    pub client_name: String,
    /// The address the request came from.
    pub client_addr: String,
    /// When it asked, Unix ms.
    pub requested_at: f64,
    /// When the code expires, Unix ms.
    pub expires_at: f64,
}

/// `POST /device/api/signin/start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigninStart {
    /// The code being approved.
    pub user_code: String,
}

/// `POST /device/api/register/start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterStart {
    /// The code being approved.
    pub user_code: String,
    /// The new player's display name.
    pub display_name: String,
}

/// Answer to a ceremony start: options for `navigator.credentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CeremonyOptions {
    /// Names this ceremony when finishing it; single-use.
    pub ceremony_id: Secret,
    /// `{"publicKey": …}` for `create()` or `get()`.
    pub options: serde_json::Value,
}

/// `POST /device/api/recover/start`: signing in with a recovery code, which
/// leads to registering a new passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverStart {
    /// The terminal's code.
    pub user_code: String,
    /// The account's display name.
    pub name: String,
    /// One of its recovery codes.
    pub recovery_code: Secret,
}

/// `POST /device/api/signin/finish` and `/device/api/register/finish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CeremonyFinish {
    /// From [`CeremonyOptions`].
    pub ceremony_id: Secret,
    /// `PublicKeyCredential.toJSON()`.
    pub credential: serde_json::Value,
}

/// Answer to a finished ceremony: the player, and a single-use approval handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// Player id.
    pub player_id: String,
    /// Display name.
    pub name: String,
    /// Lets this page approve this one request, once, shortly.
    pub approval: Secret,
}

/// The player's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Let the device in.
    Approve,
    /// Refuse the device.
    Deny,
}

/// `POST /device/api/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    /// The code being decided.
    pub user_code: String,
    /// Approve or deny.
    pub decision: Decision,
    /// Required to approve: from [`SignedIn`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Secret>,
}

/// Answer to a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionResponse {
    /// `approved` or `denied`.
    pub state: String,
}
