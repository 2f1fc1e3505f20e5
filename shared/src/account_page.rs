//! The account page's JSON calls (`/account/api/*`). Its sign-in reuses
//! [`crate::device_page::CeremonyOptions`] and [`crate::device_page::CeremonyFinish`];
//! the browser session itself travels only in an `HttpOnly` cookie.

use crate::api::SessionInfo;
use serde::{Deserialize, Serialize};

/// `GET /account/api/overview`: everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// Player id.
    pub player_id: String,
    /// Display name.
    pub name: String,
    /// Live login sessions, newest first; `current` marks this browser's.
    pub sessions: Vec<SessionInfo>,
}
