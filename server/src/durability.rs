//! Group commit: every acknowledged change waits for a flush that started after it
//! was written, and concurrent waiters share one flush.

use crate::metrics::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{Notify, watch};

/// A flush failed: the change may not survive a crash.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not flush the database to disk: {0}")]
pub struct FlushError(String);

#[derive(Debug, Clone, Default)]
struct Flushed {
    /// Every ticket up to this one is on disk (or failed with `error`).
    ticket: u64,
    error: Option<String>,
}

/// Hands out flush tickets and runs one flusher task.
#[derive(Clone)]
pub struct Durability {
    inner: Arc<Inner>,
}

struct Inner {
    requested: AtomicU64,
    wake: Notify,
    flushed: watch::Sender<Flushed>,
    /// How long each flush took, from start to data on disk.
    flush_time: Histogram,
}

/// Flush-time buckets: a healthy disk answers in well under a millisecond.
const FLUSH_BUCKETS: &[f64] = &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

impl Durability {
    /// Starts the flusher task for `db`.
    pub fn start(db: sled::Db) -> Self {
        let inner = Arc::new(Inner {
            requested: AtomicU64::new(0),
            wake: Notify::new(),
            flushed: watch::Sender::new(Flushed::default()),
            flush_time: Histogram::new(FLUSH_BUCKETS),
        });
        tokio::spawn(flusher(db, Arc::clone(&inner)));
        Self { inner }
    }

    /// Returns once everything written before this call is on disk.
    pub async fn flush(&self) -> Result<(), FlushError> {
        let ticket = self.inner.requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.wake.notify_one();
        let mut rx = self.inner.flushed.subscribe();
        let state = rx
            .wait_for(|f| f.ticket >= ticket)
            .await
            .map_err(|_| FlushError("the flusher stopped".into()))?;
        match &state.error {
            Some(e) => Err(FlushError(e.clone())),
            None => Ok(()),
        }
    }

    /// Flushes performed so far (each may have served many waiters).
    pub fn flush_count(&self) -> u64 {
        self.inner.flush_time.count()
    }

    /// Appends the flush-time histogram in Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        self.inner.flush_time.render(
            out,
            "whack_db_flush_seconds",
            "Database flushes (each may cover many writes) by duration.",
        );
    }
}

async fn flusher(db: sled::Db, inner: Arc<Inner>) {
    loop {
        inner.wake.notified().await;
        loop {
            // Let requests that are ready to write do so first: under load the
            // next flush then covers more of them.
            tokio::task::yield_now().await;
            // Every ticket taken before this load was written before it, so one
            // flush started now covers all of them.
            let target = inner.requested.load(Ordering::SeqCst);
            if target <= inner.flushed.borrow().ticket {
                break;
            }
            // A blocking flush on tokio's reused blocking threads: sled's own
            // `flush_async` starts a pool thread per flush under load.
            let db = db.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || db.flush())
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map(drop).map_err(|e| e.to_string()));
            let error = result
                .err()
                .inspect(|e| tracing::error!(error = %e, "database flush failed"));
            inner.flush_time.observe(started.elapsed());
            inner.flushed.send_replace(Flushed {
                ticket: target,
                error,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_waiters_share_flushes() -> Result<(), Box<dyn std::error::Error>> {
        let db = sled::Config::new().temporary(true).open()?;
        let durability = Durability::start(db.clone());
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let (db, durability) = (db.clone(), durability.clone());
            tasks.push(tokio::spawn(async move {
                db.insert(i.to_be_bytes(), &b"v"[..])
                    .map_err(|e| e.to_string())?;
                durability.flush().await.map_err(|e| e.to_string())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let flushes = durability.flush_count();
        assert!(
            (1..200).contains(&flushes),
            "{flushes} flushes for 200 writes"
        );
        Ok(())
    }
}
