//! `whack`: the terminal client. Subcommands log in, log out, show status and
//! list or end signed-in sessions; without one, the game starts.
#![forbid(unsafe_code)]

mod cli;
mod commands;

use clap::Parser;
use cli::{Cli, Command, SessionsAction};
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;
use whack_client::auth::server::Transport;

fn main() -> ExitCode {
    // clap exits with code 2 on usage errors.
    let cli = Cli::parse();
    // Before any connection, for every command: no token may cross the network in
    // clear text unless the user said so.
    match cli.server.transport(cli.allow_insecure_http) {
        Ok(Transport::Https | Transport::Loopback) => {}
        Ok(Transport::InsecureAllowed) => eprintln!(
            "warning: --allow-insecure-http: talking to {} over plain http://; your login \
             tokens cross the network unencrypted.",
            cli.server.origin()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    init_logging(matches!(cli.command, None | Some(Command::Join { .. })));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(cli));
    // A keyring call stuck past its timeout must not keep the process alive.
    runtime.shutdown_background();
    code
}

/// Logs go to stderr for the subcommands; while the game owns the terminal they go
/// to `~/.cache/whack/whack.log` instead, so a warning cannot draw over the screen.
fn init_logging(tui: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if !tui {
        builder
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
        return;
    }
    let file = dirs::cache_dir().map(|d| d.join("whack")).and_then(|dir| {
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("whack.log"))
            .ok()
    });
    if let Some(file) = file {
        builder
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .init();
    }
}

async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Some(Command::Login { no_browser, switch }) => {
            commands::login::run(&cli.server, cli.insecure_storage, no_browser, switch).await
        }
        Some(Command::Logout) => commands::logout::run(&cli.server, cli.insecure_storage).await,
        Some(Command::Status) => commands::status::run(&cli.server, cli.insecure_storage).await,
        Some(Command::Sessions { action }) => match action {
            None => commands::sessions::list(&cli.server, cli.insecure_storage).await,
            Some(SessionsAction::Revoke { others: true, .. }) => {
                commands::sessions::revoke_others(&cli.server, cli.insecure_storage).await
            }
            Some(SessionsAction::Revoke { id, .. }) => {
                let id = id.unwrap_or_default();
                commands::sessions::revoke(&cli.server, cli.insecure_storage, &id).await
            }
        },
        Some(Command::Join { code }) => {
            commands::play::run(&cli.server, cli.insecure_storage, Some(code)).await
        }
        None => commands::play::run(&cli.server, cli.insecure_storage, None).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
