//! The account page's JSON calls (`/account/api/*`). Its sign-in reuses
//! [`crate::device_page::CeremonyOptions`] and [`crate::device_page::CeremonyFinish`];
//! the browser session itself travels only in an `HttpOnly` cookie.

use crate::api::SessionInfo;
use serde::{Deserialize, Serialize};

/// Longest passkey name, in characters.
pub const PASSKEY_NAME_MAX: usize = 40;

/// One of the player's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    /// The credential id, base64url.
    pub id: String,
    /// Its name: given by the player, else "Passkey N" in the order they were added.
    pub name: String,
    /// When it was added, Unix ms (unknown for the oldest accounts).
    pub created_at: Option<u64>,
    /// Its last sign-in, Unix ms.
    pub last_used_at: Option<u64>,
    /// Whether it may be synced to other devices (backup eligible).
    pub backup_eligible: bool,
    /// Whether it is synced now (backed up).
    pub backed_up: bool,
}

/// `POST /account/api/passkeys/{id}/name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rename {
    /// The new name (1 to [`PASSKEY_NAME_MAX`] characters).
    pub name: String,
}

/// `POST /account/api/recover/start`: "Lost your passkey?" on the account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecoverStart {
    /// The account's display name.
    pub name: String,
    /// One of its recovery codes.
    pub recovery_code: crate::Secret,
}

/// `POST /account/api/delete`: the display name, typed to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteAccount {
    /// Must be the account's display name, exactly.
    pub name: String,
}

/// Where the player's recovery codes stand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryStatus {
    /// Codes not used yet (0 without a set).
    pub left: usize,
    /// When the current set was made, Unix ms; `None` without one.
    pub generated_at: Option<u64>,
    /// The latest sign-ins with a code, newest last.
    pub uses: Vec<RecoveryUseInfo>,
}

/// A sign-in with a recovery code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryUseInfo {
    /// When, Unix ms.
    pub at: u64,
    /// From which address.
    pub from: String,
}

/// `POST /account/api/recovery-codes`: a new set, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecoveryCodes {
    /// The codes, `xxxx-xxxx-xxxx-xxxx`.
    pub codes: Vec<crate::Secret>,
}

/// `GET /account/api/overview`: everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// Player id.
    pub player_id: String,
    /// Display name.
    pub name: String,
    /// The player's passkeys, oldest first.
    pub passkeys: Vec<PasskeyInfo>,
    /// The player's recovery codes.
    pub recovery: RecoveryStatus,
    /// Live login sessions, newest first; `current` marks this browser's.
    pub sessions: Vec<SessionInfo>,
}
