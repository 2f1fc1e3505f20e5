//! `whack status`: server, player, where the token is kept, access-token expiry.

use crate::commands::time_fmt;
use std::process::ExitCode;
use std::time::SystemTime;
use whack_client::auth::probe::probe;
use whack_client::auth::{AuthError, Http, ServerUrl, Storage, TokenManager, api};

/// Prints the status; exit 1 when not logged in, when the server cannot be reached or
/// is not a Whack server, or when it cannot confirm the login.
pub async fn run(server: &ServerUrl, insecure_storage: bool) -> anyhow::Result<ExitCode> {
    println!("Server:        {}", server.as_str());
    let storage = Storage::open(server, insecure_storage).await?;
    let place = storage.describe();
    let http = Http::new()?;
    if storage.load().await?.is_none() {
        // Nothing stored says nothing about the server: "not logged in" to a server
        // that is not there (or is some other web server) would send the player
        // off to log in where that cannot work.
        if let Err(e) = probe(&http, server).await {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
        println!("Not logged in. Run `whack login`.");
        return Ok(ExitCode::FAILURE);
    }
    let manager = TokenManager::new(server.clone(), storage, http);
    let me = api::me(&manager).await;
    match me {
        Ok(me) => {
            println!("Player:        {} (id {})", me.name, me.id);
            println!("Token kept in: {place}");
            if let Some(expires) = manager.expires_at() {
                let left = expires
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                println!(
                    "Access token:  expires {} (in {}), kept in memory only",
                    time_fmt::utc(expires),
                    time_fmt::span(left)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(AuthError::LoggedOut { reason }) => {
            println!("Not logged in: {reason}. The stored token was removed from {place}.");
            println!("Run `whack login` to sign in again.");
            Ok(ExitCode::FAILURE)
        }
        Err(AuthError::NotLoggedIn { .. }) => {
            println!("Not logged in. Run `whack login`.");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            println!("Token kept in: {place}");
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
