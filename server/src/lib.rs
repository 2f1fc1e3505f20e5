//! The Whack server: OAuth device grant with passkeys, rotating tokens on sled,
//! the browser login page, and authoritative game rooms over WebSockets.
#![forbid(unsafe_code)]

pub mod auth;
pub mod clock;
pub mod config;
pub mod connections;
pub mod data_dir;
#[cfg(test)]
mod fuzz_tests;
pub mod game;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod rate_limit;
pub mod state;
pub mod storage;

use axum::Router;
use state::AppState;
use std::time::Duration;
use tokio::net::TcpListener;

/// How often expired records are purged.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// The whole application router.
pub fn app(state: AppState) -> Router {
    http::finish(http::routes(), state)
}

/// Serves until `shutdown` resolves, then drains connections and flushes.
/// `open_files` is the process's open-files limit, which bounds connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    open_files: u64,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let purger = tokio::spawn({
        let state = state.clone();
        async move {
            let mut every = tokio::time::interval(PURGE_EVERY);
            loop {
                every.tick().await;
                state.purge(clock::now_ms()).await;
            }
        }
    });
    let limits = state
        .config
        .connection_limits()
        .within_open_files(open_files);
    tracing::info!(
        open_files,
        max_connections = limits.max_total,
        max_per_address = limits.max_per_address,
        "connection limits"
    );
    // The game side closes its sockets (after recording finished rounds)
    // before the listener drains what is left.
    let game = state.game.clone();
    let shutdown = async move {
        shutdown.await;
        game.shutdown().await;
    };
    let metrics_state = state.clone();
    connections::serve(
        listener,
        app(state.clone()),
        limits,
        move || metrics_state.metrics.connections_refused.inc(),
        shutdown,
    )
    .await;
    purger.abort();
    state.close().await;
}
