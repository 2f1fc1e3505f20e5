//! The Whack server: OAuth device grant with passkeys, rotating tokens on sled,
//! the browser login page, and authoritative game rooms over WebSockets.
#![forbid(unsafe_code)]

pub mod access_token;
pub mod clock;
pub mod config;
pub mod device_grant;
pub mod durability;
pub mod game;
pub mod http;
pub mod integrity;
pub mod keys;
pub mod metrics;
pub mod passkeys;
pub mod rate_limit;
pub mod refresh;
pub mod revocation;
pub mod secrets;
pub mod state;
pub mod stats;
pub mod store;

use axum::Router;
use state::AppState;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// How often expired records are purged.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// The whole application router.
pub fn app(state: AppState) -> Router {
    http::finish(http::routes(), state)
}

/// Serves until `shutdown` resolves, then drains connections and flushes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let purger = tokio::spawn({
        let state = state.clone();
        async move {
            let mut every = tokio::time::interval(PURGE_EVERY);
            loop {
                every.tick().await;
                state.purge(clock::now_ms());
            }
        }
    });
    let service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    // Axum's graceful shutdown also waits for upgraded connections, so the game
    // side closes its sockets (after recording finished rounds) first.
    let game = state.game.clone();
    let shutdown = async move {
        shutdown.await;
        game.shutdown().await;
    };
    // Game frames are small and latency-bound: no Nagle delay behind delayed ACKs.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    purger.abort();
    if let Err(e) = state.durability.flush().await {
        tracing::error!(error = %e, "final flush failed");
    }
    state.durability.write_seal().await;
    result
}
