//! `whack`: the terminal client. Subcommands log in, log out and show status;
//! without one, the game starts.
#![forbid(unsafe_code)]

mod cli;
mod commands;

use clap::Parser;
use cli::{Cli, Command};
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // clap exits with code 2 on usage errors.
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
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

async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Some(Command::Login { no_browser }) => {
            commands::login::run(&cli.server, cli.insecure_storage, no_browser).await
        }
        Some(Command::Logout) => commands::logout::run(&cli.server, cli.insecure_storage).await,
        Some(Command::Status) => commands::status::run(&cli.server, cli.insecure_storage).await,
        None => commands::play::run(&cli.server, cli.insecure_storage).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
