//! What `update` asks the runtime to do; the only way the pure core touches the world.

use whack_shared::protocol::ClientMsg;

/// A side effect for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a message on the game connection.
    Send(ClientMsg),
    /// Look for a stored login; answer with `LoginEvent::AlreadyLoggedIn` or start a new one.
    CheckLogin,
    /// Ask the server for a new device code and poll it.
    StartLogin,
    /// Open this URL in the browser.
    OpenBrowser(String),
    /// Open the game connection (and keep it open, reconnecting with backoff).
    Connect,
    /// Reconnect now instead of waiting for the backoff.
    ReconnectNow,
    /// Fetch the player's profile and stats.
    FetchMe,
    /// Fetch the global leaderboard.
    FetchLeaderboard,
    /// Revoke and forget the stored login, close the connection.
    Logout,
    /// Restore the terminal and exit.
    Quit,
}
