//! Logging in, keeping tokens, and authenticated calls to the server.
//!
//! - [`server`]: the `--server` URL and its origin (the keyring account).
//! - [`http`]: the HTTP client and readable transport errors.
//! - [`storage`]: the refresh token in the OS keyring, or a 0600 file on request.
//! - [`device_flow`]: the RFC 8628 device grant (start, poll).
//! - [`token_manager`]: access tokens in memory, serialized refresh with rotation.
//! - [`api`]: authenticated API calls.
//! - [`probe`]: whether a Whack server answers at `--server` at all.
//! - [`browser`]: opening the page (the code itself is drawn by [`crate::block_art`]).

pub mod api;
pub mod browser;
pub mod device_flow;
pub mod http;
pub mod paths;
pub mod probe;
pub mod refresh_lock;
pub mod server;
pub mod storage;
pub mod token_manager;

pub use http::{Http, HttpError};
pub use server::ServerUrl;
pub use storage::{Storage, StorageError, StorageKind};
pub use token_manager::{AuthError, LogoutOutcome, TokenManager};
