//! `whack-server`: parse flags, open the data dir, serve until SIGINT/SIGTERM.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;
use whack_server::config::{Cli, Command, Config, KeysCommand, MigrateArgs, RotateArgs};
use whack_server::state::AppState;
use whack_server::storage::RedisStore;
use whack_server::storage::redis_store::DurabilityCheck;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    whack_server::logging::init();
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Check(args)) => check(&args.data_dir),
        Some(Command::Keys(KeysCommand::Rotate(args))) => rotate_keys(&args).await,
        Some(Command::Migrate(args)) => migrate(&args).await,
    }
}

/// `whack-server migrate`: the data dir's store copied into Redis.
async fn migrate(args: &MigrateArgs) -> anyhow::Result<()> {
    use whack_server::storage::migrate::Export;
    let (db, key) = whack_server::data_dir::open_for_export(&args.data_dir)?;
    let target = RedisStore::connect(
        args.to.expose(),
        DurabilityCheck::allowing_volatile(args.redis_allow_volatile),
    )
    .await?;
    if !args.into_non_empty && !target.is_empty().await? {
        anyhow::bail!(
            "the target Redis already holds Whack data; nothing was copied (pass --into-non-empty to add to it, keeping what it has)"
        );
    }
    let export = Export::read(&db)?;
    let now = whack_server::clock::now_ms();
    let key = key
        .map(|k| whack_server::auth::key_set::stored(&k, now))
        .transpose()?;
    let moved = export.copy_into(&target, key).await?;
    println!("copied {} into Redis: {moved}", args.data_dir.display());
    println!("start the server with --redis-url to serve from it");
    Ok(())
}

/// `whack-server keys rotate`: a new signing key in the shared Redis.
async fn rotate_keys(args: &RotateArgs) -> anyhow::Result<()> {
    let store = RedisStore::connect(
        args.redis_url.expose(),
        DurabilityCheck::allowing_volatile(args.redis_allow_volatile),
    )
    .await?;
    // Tokens signed with the old key until the nodes notice, then their lifetime.
    let keep = std::time::Duration::from_secs(args.access_token_ttl_secs)
        + whack_server::state::KEY_SET_POLL * 2
        + std::time::Duration::from_secs(whack_server::auth::access_token::LEEWAY_SECS);
    let now = whack_server::clock::now_ms();
    let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
    let (kid, previous) = whack_server::auth::key_set::rotate(&store, now, keep_ms).await?;
    println!(
        "new signing key {kid}; every node signs with it within {} s",
        whack_server::state::KEY_SET_POLL.as_secs()
    );
    if let Some((old, _)) = previous {
        println!(
            "the previous key {old} stays published for {} s",
            keep.as_secs()
        );
    }
    Ok(())
}

/// `whack-server check`: the summary on stdout and exit 0, or the reason and a
/// non-zero exit.
fn check(data_dir: &std::path::Path) -> anyhow::Result<()> {
    let report = whack_server::data_dir::check(data_dir)?;
    print!("{report}");
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let open_files = whack_server::connections::raise_open_files_limit();
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let local = listener.local_addr().context("no local address")?;
    let public_url = config.issuer();
    let data_dir = config.data_dir.display().to_string();
    let state = AppState::open(config).await?;
    tracing::info!(%local, %public_url, data_dir, "whack-server listening");
    // Printed plainly (not only logged) so scripts and people can read it.
    // The public URL comes first: it is the one that works for passkeys (an
    // IP address such as 127.0.0.1 cannot be a relying-party id).
    println!("Whack is running: open {public_url}");
    println!("Players connect with: whack --server {public_url}");
    println!("  (from a checkout: cargo run --release -p whack-client -- --server {public_url})");
    println!("Listening on {local}; sign-in page {public_url}/device");
    whack_server::serve(listener, state, open_files, shutdown_signal()).await;
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
