//! `whack logout`: revoke at the server and forget the stored token.

use std::process::ExitCode;
use whack_client::auth::{Http, LogoutOutcome, ServerUrl, Storage, TokenManager};

/// Logs out of `server`.
pub async fn run(server: &ServerUrl, insecure_storage: bool) -> anyhow::Result<ExitCode> {
    let storage = Storage::open(server, insecure_storage).await?;
    let place = storage.describe();
    let manager = TokenManager::new(server.clone(), storage, Http::new()?);
    match manager.logout().await? {
        LogoutOutcome::Revoked => {
            println!(
                "Logged out of {}: the session is revoked and the token removed from {place}.",
                server.origin()
            );
        }
        LogoutOutcome::ServerNotTold(e) => {
            println!("Removed the token from {place}.");
            eprintln!(
                "warning: the server could not be told ({e}); the session stays valid there \
                 until its refresh token expires."
            );
        }
        LogoutOutcome::WasNotLoggedIn => {
            println!("Not logged in to {}; nothing to do.", server.origin());
        }
    }
    Ok(ExitCode::SUCCESS)
}
