//! `whack` without a subcommand: the game.

use std::process::ExitCode;
use whack_client::auth::ServerUrl;
use whack_client::tui::{self, TuiConfig};

/// Starts the TUI; the keyring is checked before the terminal is taken over.
pub async fn run(server: &ServerUrl, insecure_storage: bool) -> anyhow::Result<ExitCode> {
    tui::run(TuiConfig {
        server: server.clone(),
        insecure_storage,
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
