//! `whack-server`: parse flags, open the data dir, serve until SIGINT/SIGTERM.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use whack_server::config::{Cli, Command, Config};
use whack_server::state::AppState;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Check(args)) => check(&args.data_dir),
    }
}

/// `whack-server check`: the summary on stdout and exit 0, or the reason and a
/// non-zero exit.
fn check(data_dir: &std::path::Path) -> anyhow::Result<()> {
    let report = whack_server::integrity::check(data_dir)?;
    print!("{report}");
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let local = listener.local_addr().context("no local address")?;
    let public_url = config.issuer();
    let data_dir = config.data_dir.display().to_string();
    let state = AppState::open(config)?;
    tracing::info!(%local, %public_url, data_dir, "whack-server listening");
    // Printed plainly (not only logged) so scripts and people can read it.
    println!("Whack server listening on http://{local}");
    println!("Public URL: {public_url}  (players log in at {public_url}/device)");
    println!("Play:       cargo run --release -p whack-client -- --server {public_url}");
    whack_server::serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
