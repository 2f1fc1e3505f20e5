//! The HTTP listener: every TCP connection counted against a global and a
//! per-address cap, request headers that must arrive in time (which also ends
//! idle keep-alive connections), and the open-files limit raised at start.
//!
//! A connection's slot travels with its socket, so an upgraded game WebSocket
//! keeps counting until it closes.

use crate::rate_limit::bucket;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::Service;

/// Files kept free for the database, the signing key and logs when the
/// connection cap is derived from the open-files limit.
const RESERVED_FILES: u64 = 64;
/// How long in-flight HTTP requests get to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// After the process ran out of files, wait this long before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What one client, and all of them, may hold open.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections in all (WebSockets included).
    pub max_total: usize,
    /// Open connections per client address (an IPv6 /64 counts as one).
    pub max_per_address: usize,
    /// Time a client has to send a request's headers, counted from the
    /// connection's start or its previous response.
    pub header_timeout: Duration,
}

impl ConnectionLimits {
    /// These limits with the total capped to what the open-files limit allows.
    pub fn within_open_files(self, open_files: u64) -> Self {
        let fit = usize::try_from(open_files.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
        Self {
            max_total: self.max_total.min(fit.max(1)),
            ..self
        }
    }
}

/// Raises the soft open-files limit to the hard one and returns the limit in
/// force; a refusal is logged and the current limit kept.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // "Unlimited" is not a value the kernel takes for open files; its usual ceiling is.
    let hard = limit.maximum.unwrap_or(1 << 20);
    if limit.current.is_some_and(|soft| soft < hard) {
        let raised = Rlimit {
            current: Some(hard),
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %io::Error::from(e), "cannot raise the open-files limit");
        }
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Counts open connections.
#[derive(Default)]
struct Tracker {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Tracker {
    /// A slot for a connection from `ip`, or `None` when a cap is reached.
    fn admit(self: &Arc<Self>, ip: IpAddr, limits: &ConnectionLimits) -> Option<Slot> {
        let ip = bucket(ip);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_address) = &mut *open;
        let mine = per_address.get(&ip).copied().unwrap_or(0);
        if *total >= limits.max_total || mine >= limits.max_per_address {
            return None;
        }
        *total += 1;
        per_address.insert(ip, mine + 1);
        Some(Slot {
            tracker: Arc::clone(self),
            ip,
        })
    }
}

/// One counted connection; freed on drop.
struct Slot {
    tracker: Arc<Tracker>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.tracker.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_address) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = per_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_address.remove(&self.ip);
            }
        }
    }
}

/// A socket that holds its slot for as long as it lives.
struct Counted {
    tcp: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves,
/// then lets in-flight requests finish (for a bounded time).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    on_refused: impl Fn() + Send + Sync + 'static,
    shutdown: impl Future<Output = ()> + Send,
) {
    let tracker = Arc::new(Tracker::default());
    // Every connection task holds a receiver: a send tells it to finish, and
    // the channel closing tells us they all did.
    let (stop, stopping) = tokio::sync::watch::channel(());
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of files (or a connection reset before accept): the
                    // listener stays usable, so wait a moment and go on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Some(slot) = tracker.admit(peer.ip(), &limits) else {
            on_refused();
            tracing::debug!(%peer, "connection refused: too many open");
            drop(tcp);
            continue;
        };
        // Game frames are small and latency-bound: no Nagle delay behind delayed ACKs.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let io = TokioIo::new(Counted { tcp, _slot: slot });
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().call(request)
        });
        let connection = builder.serve_connection(io, service).with_upgrades();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            // One send means "finish"; the receiver lives as long as the
            // connection, which is what `stop.closed()` waits for.
            let ended = tokio::select! {
                ended = &mut connection => ended,
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drop(stopping);
    let _ = stop.send(());
    if tokio::time::timeout(DRAIN_TIMEOUT, stop.closed())
        .await
        .is_err()
    {
        tracing::warn!("some HTTP requests were still running at shutdown");
    }
}
