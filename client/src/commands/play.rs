//! `whack` without a subcommand, and `whack join CODE`: the game.

use std::process::ExitCode;
use whack_client::auth::ServerUrl;
use whack_client::tui::{self, Outcome, TuiConfig};

/// Starts the TUI (straight into the room with `join_code`, canonical letters); the
/// keyring is checked before the terminal is taken over. Exit 1 when the player
/// quits before a login worked, as for a cancelled `whack login`.
pub async fn run(
    server: &ServerUrl,
    insecure_storage: bool,
    join_code: Option<String>,
) -> anyhow::Result<ExitCode> {
    let outcome = tui::run(TuiConfig {
        server: server.clone(),
        insecure_storage,
        join_code,
    })
    .await?;
    Ok(match outcome {
        Outcome::Quit => ExitCode::SUCCESS,
        Outcome::NotLoggedIn => {
            eprintln!("Not logged in: the sign-in did not finish.");
            ExitCode::FAILURE
        }
    })
}
