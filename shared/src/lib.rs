//! Wire types shared by the Whack client and server: the OAuth device grant, the
//! HTTP API, the browser page's JSON calls and the WebSocket game protocol.
#![forbid(unsafe_code)]

pub mod account_page;
pub mod api;
pub mod claims;
pub mod codes;
pub mod device_page;
pub mod oauth;
pub mod player_name;
pub mod protocol;
pub mod secret;
pub mod user_code;
mod variant_names;

pub use secret::Secret;

/// The audience every access token is issued for.
pub const AUDIENCE: &str = "whack";
/// The `client_id` our own terminal client sends.
pub const CLIENT_ID: &str = "whack-cli";
/// The server's default public URL and the client's default server.
pub const DEFAULT_SERVER_URL: &str = "http://localhost:8080";
