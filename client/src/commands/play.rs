//! `whack` without a subcommand: the game.

use std::process::ExitCode;
use whack_client::auth::ServerUrl;

/// Starts the TUI.
pub async fn run(server: &ServerUrl, insecure_storage: bool) -> anyhow::Result<ExitCode> {
    let _ = (server, insecure_storage);
    eprintln!(
        "The game screen is not available in this build yet. Use `whack login`, \
         `whack status` or `whack logout` (see `whack --help`)."
    );
    Ok(ExitCode::FAILURE)
}
