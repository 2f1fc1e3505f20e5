//! The subcommands of `whack`: thin presentation over `whack_client::auth`.

pub mod login;
pub mod logout;
pub mod play;
pub mod sessions;
pub mod status;
pub mod time_fmt;
