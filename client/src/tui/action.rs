//! Everything that can happen to the TUI, as one enum: input, network, login and
//! timers all arrive here and go through [`crate::tui::update::update`].

use crossterm::event::{KeyEvent, MouseEvent};
use whack_shared::api::{Leaderboard, Me};
use whack_shared::protocol::ServerMsg;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A key was pressed.
    Key(KeyEvent),
    /// The mouse was clicked or moved.
    Mouse(MouseEvent),
    /// The terminal has a new size (columns, rows).
    Resize(u16, u16),
    /// Time passed; only sent while something animates.
    Tick,
    /// The login flow reported progress.
    Login(LoginEvent),
    /// The game connection reported progress.
    Net(NetEvent),
    /// `GET /api/me` answered.
    Me(Me),
    /// `GET /api/leaderboard` answered.
    Leaderboard(Leaderboard),
    /// An HTTP call failed; the message is for the player.
    HttpFailed(String),
    /// Ctrl-C from the OS signal handler (when it is not a key event).
    Interrupt,
}

/// Progress of the device-code login.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginEvent {
    /// A stored login was found and works; go straight to the lobby.
    AlreadyLoggedIn,
    /// A new code to show.
    Code {
        /// `XXXX-XXXX`.
        user_code: String,
        /// The page to type it into.
        verification_uri: String,
        /// The page with the code filled in (for the QR code).
        verification_uri_complete: String,
        /// Local epoch milliseconds at which the code expires.
        expires_at: f64,
    },
    /// Whether the browser could be opened.
    BrowserOpened(bool),
    /// The player approved in the browser; tokens are stored.
    Approved,
    /// The player denied the request.
    Denied,
    /// The code expired before anyone approved it.
    Expired,
    /// The server could not be reached; the message says how.
    ServerDown(String),
    /// Anything else that stopped the login (storage, protocol), for the player.
    Failed(String),
}

/// Progress of the WebSocket connection.
#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// Trying to connect (attempt number, 1-based).
    Connecting(u32),
    /// The socket is open and `hello` was sent.
    Connected,
    /// A message from the server.
    Msg(ServerMsg),
    /// The connection dropped; the runtime retries after `retry_in_ms`.
    Disconnected {
        /// What happened, for the player.
        reason: String,
        /// Milliseconds until the next attempt.
        retry_in_ms: f64,
    },
    /// The login is no longer valid (refresh refused); log in again.
    AuthLost,
    /// The server speaks another protocol version; no retry.
    Incompatible(String),
}
