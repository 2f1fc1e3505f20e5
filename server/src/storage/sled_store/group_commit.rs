//! Group commit: every acknowledged change waits for a flush that started after it
//! was written, and concurrent waiters share one flush. What a flush does is a
//! [`Flush`]: sled's here, a bare append-and-`fdatasync` in the refresh bench's
//! reference, so both are batched by the same code.

use crate::metrics::Histogram;
use crate::storage::sled_store::seal::{self, SealFile, WriteSeal};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::{Notify, watch};

/// A flush failed: the change may not survive a crash.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not flush the database to disk: {0}")]
pub struct FlushError(String);

/// One flush of everything written so far; runs on a blocking thread, one at a time.
pub trait Flush: Send + 'static {
    /// Makes every write made before this call durable.
    fn flush(&mut self) -> Result<(), String>;
}

/// sled's flush, carrying the next write sequence to disk when sealed.
struct SledFlush {
    db: sled::Db,
    seal: Option<WriteSeal>,
}

impl Flush for SledFlush {
    fn flush(&mut self) -> Result<(), String> {
        // The sequence is written before the flush, so the flush that
        // acknowledges this batch also carries its number to disk.
        let seq = match &mut self.seal {
            Some(seal) => {
                let seq = seal.next_seq();
                seal::bump(&self.db, seq).map_err(|e| e.to_string())?;
                Some(seq)
            }
            None => None,
        };
        self.db.flush().map_err(|e| e.to_string())?;
        if let (Some(seq), Some(seal)) = (seq, &self.seal) {
            seal.file().flushed(seq);
        }
        Ok(())
    }
}

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
    /// The seal file, when flushes are sealed.
    seal: Option<Arc<SealFile>>,
}

/// Flush-time buckets: a healthy disk answers in well under a millisecond.
const FLUSH_BUCKETS: &[f64] = &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

/// How often the seal file catches up with the flushes: often enough that little
/// acknowledged data can go missing undetected, rarely enough that its two
/// fsyncs cost nothing next to the flushes.
const SEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Durability {
    /// Starts the flusher task for `db`, without a seal (tests and tools).
    pub fn start(db: sled::Db) -> Self {
        Self::spawn(db, None)
    }

    /// Starts the flusher task for `db`: every flush also bumps the write
    /// sequence, and the seal file follows the flushed sequence about once a
    /// second (see [`crate::storage::sled_store::seal`]).
    pub fn start_sealed(db: sled::Db, seal: WriteSeal) -> Self {
        Self::spawn(db, Some(seal))
    }

    fn spawn(db: sled::Db, seal: Option<WriteSeal>) -> Self {
        let file = seal.as_ref().map(WriteSeal::file);
        Self::start_inner(SledFlush { db, seal }, file)
    }

    /// Starts the flusher task for any [`Flush`], without a seal.
    pub fn start_with(flush: impl Flush) -> Self {
        Self::start_inner(flush, None)
    }

    fn start_inner(flush: impl Flush, seal: Option<Arc<SealFile>>) -> Self {
        let inner = Arc::new(Inner {
            requested: AtomicU64::new(0),
            wake: Notify::new(),
            flushed: watch::Sender::new(Flushed::default()),
            flush_time: Histogram::new(FLUSH_BUCKETS),
            seal,
        });
        if let Some(file) = &inner.seal {
            tokio::spawn(seal_writer(Arc::clone(file)));
        }
        tokio::spawn(flusher(Arc::new(Mutex::new(flush)), Arc::clone(&inner)));
        Self { inner }
    }

    /// Brings the seal file up to the last flush now (at shutdown, after the
    /// final flush, so a clean stop leaves an exact seal).
    pub async fn write_seal(&self) {
        if let Some(file) = self.inner.seal.clone() {
            write_seal_file(file).await;
        }
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

async fn seal_writer(file: Arc<SealFile>) {
    let mut every = tokio::time::interval(SEAL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        write_seal_file(Arc::clone(&file)).await;
    }
}

async fn write_seal_file(file: Arc<SealFile>) {
    // A seal that could not be written only lags: that is safe, so it is logged
    // and tried again at the next tick rather than failing any request.
    let path = file.path().display().to_string();
    match tokio::task::spawn_blocking(move || file.write_pending()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot update the seal"),
        Err(e) => tracing::warn!(error = %e, path, "the seal writer stopped"),
    }
}

async fn flusher<F: Flush>(flush: Arc<Mutex<F>>, inner: Arc<Inner>) {
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
            // `flush_async` starts a pool thread per flush under load. Only this
            // task flushes, so the lock is never contended; a flush that panicked
            // left nothing half-done that the next one would not redo.
            let flush = Arc::clone(&flush);
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || {
                flush.lock().unwrap_or_else(PoisonError::into_inner).flush()
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sealed_flushes_carry_the_sequence_and_the_seal_follows()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let seal_path = dir.path().join(seal::SEAL_FILE);
        let db = sled::Config::new().path(dir.path().join("db")).open()?;
        let write_seal = WriteSeal::start(&db, seal_path.clone(), None)?;
        let durability = Durability::start_sealed(db.clone(), write_seal);
        for i in 0..3u32 {
            db.insert(i.to_be_bytes(), &b"v"[..])?;
            durability.flush().await?;
        }
        let stored = seal::stored(&db)?.ok_or("no write sequence")?;
        assert_eq!(stored, 1 + durability.flush_count());
        // The seal lags by at most a tick, and never leads the database.
        let sealed = seal::read(&seal_path)?.ok_or("no seal")?;
        assert!(
            sealed <= stored,
            "seal {sealed} leads the database {stored}"
        );
        durability.write_seal().await;
        assert_eq!(seal::read(&seal_path)?, Some(stored));
        Ok(())
    }
}
