//! The write sequence and its seal: our own evidence of what was acknowledged.
//!
//! sled 0.34 recovers from a bad checksum by dropping the log from that point on,
//! silently. So every durable flush first bumps a counter stored in sled itself
//! (the write sequence), and after a flush succeeds the flushed number is written,
//! at most about once a second, to a small file beside the database (the seal).
//! At start a database whose sequence is below the seal has lost acknowledged
//! writes. The seal is written only after sled reported the number on disk, so it
//! may lag the database (by up to a second of writes) but never lead it: a
//! `kill -9` between a flush and a seal update cannot cause a false refusal.

use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Key of the write sequence in sled's default tree.
pub const SEQ_KEY: &[u8] = b"whack:write_seq";

/// File name of the seal inside the data dir.
pub const SEAL_FILE: &str = "db.seal";

/// What the seal file holds.
#[derive(Debug, Serialize, Deserialize)]
struct SealRecord {
    /// Every write up to this sequence number was flushed to disk.
    write_seq: u64,
}

/// Why the seal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Reading or writing the seal failed.
    #[error("seal {path}: {source}")]
    Io {
        /// The seal file (or its temp file).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The seal exists but does not parse.
    #[error("seal {path} is unreadable: {reason}")]
    Malformed {
        /// The seal file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Reads the seal: `None` when there is none (a first run, or a data dir from
/// before seals).
pub fn read(path: &Path) -> Result<Option<u64>, SealError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SealError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_slice::<SealRecord>(&bytes)
        .map(|r| Some(r.write_seq))
        .map_err(|e| SealError::Malformed {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Writes the seal atomically: a temp file, fsync, rename, fsync of the dir. A
/// crash leaves either the old seal or the new one, never a torn one.
pub fn write(path: &Path, write_seq: u64) -> Result<(), SealError> {
    let tmp = path.with_extension("seal.tmp");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SealError::Io { path, source }
    };
    let bytes =
        serde_json::to_vec(&SealRecord { write_seq }).map_err(|e| SealError::Malformed {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    // A temp file left by a crash mid-write is stale: start it afresh.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(&bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io(path))?;
    // The rename is durable only once the directory entry is.
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// The write sequence stored in the database; `None` before the first sealed
/// flush. A value that is not 8 bytes is damage.
pub fn stored(db: &sled::Db) -> Result<Option<u64>, StoredSeqError> {
    match db.get(SEQ_KEY)? {
        None => Ok(None),
        Some(v) => <[u8; 8]>::try_from(v.as_ref())
            .map(|b| Some(u64::from_be_bytes(b)))
            .map_err(|_| StoredSeqError::Malformed(v.len())),
    }
}

/// The stored write sequence could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoredSeqError {
    /// sled failed.
    #[error("cannot read the write sequence: {0}")]
    Db(#[from] sled::Error),
    /// The value is not a big-endian u64.
    #[error("the write sequence is {0} bytes, not 8")]
    Malformed(usize),
}

/// How a database's write sequence compares with its seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The database holds at least every write the seal vouches for.
    Intact {
        /// The seal's number.
        sealed: u64,
        /// The database's number.
        stored: u64,
    },
    /// No seal: nothing to compare (a first run, a data dir from before seals, or
    /// a crash before the first seal was written).
    Unsealed {
        /// The database's number, if any.
        stored: Option<u64>,
    },
    /// The seal vouches for writes the database no longer has.
    Lost {
        /// The seal's number.
        sealed: u64,
        /// The database's number (0 when it has none).
        stored: u64,
    },
}

/// Compares the seal with the database. The seal may lag the database, never
/// lead it, so only a database behind its seal has lost acknowledged data.
pub fn compare(sealed: Option<u64>, stored: Option<u64>) -> Verdict {
    match (sealed, stored) {
        (None, stored) => Verdict::Unsealed { stored },
        (Some(sealed), Some(stored)) if stored >= sealed => Verdict::Intact { sealed, stored },
        (Some(sealed), stored) => Verdict::Lost {
            sealed,
            stored: stored.unwrap_or(0),
        },
    }
}

/// The flusher's side of the seal: bumps the sequence before each flush and
/// reports what was flushed to the [`SealFile`].
pub struct WriteSeal {
    /// The last number written to the database.
    seq: u64,
    file: std::sync::Arc<SealFile>,
}

/// The seal file and the newest number known to be on disk.
pub struct SealFile {
    path: PathBuf,
    /// The newest write sequence a successful flush covered.
    flushed: AtomicU64,
    /// The number the file holds; the lock also keeps two writers apart.
    written: Mutex<u64>,
}

impl WriteSeal {
    /// Seals the database as it is now: bumps the sequence past what it holds,
    /// flushes, and writes the seal. Run once at start, before serving, so the
    /// seal exists from then on (also for a data dir from before seals).
    pub fn start(
        db: &sled::Db,
        path: PathBuf,
        stored: Option<u64>,
    ) -> Result<Self, StartSealError> {
        let seq = stored.unwrap_or(0).saturating_add(1);
        bump(db, seq)?;
        db.flush()?;
        write(&path, seq)?;
        Ok(Self {
            seq,
            file: std::sync::Arc::new(SealFile {
                path,
                flushed: AtomicU64::new(seq),
                written: Mutex::new(seq),
            }),
        })
    }

    /// The number the next flush will carry. Call [`bump`] with it
    /// before flushing and [`SealFile::flushed`] once the flush succeeded.
    pub fn next_seq(&mut self) -> u64 {
        self.seq = self.seq.saturating_add(1);
        self.seq
    }

    /// The shared seal file (for the periodic writer and the final seal).
    pub fn file(&self) -> std::sync::Arc<SealFile> {
        std::sync::Arc::clone(&self.file)
    }
}

/// Stores `seq` as the write sequence (part of the next flush).
pub fn bump(db: &sled::Db, seq: u64) -> Result<(), sled::Error> {
    db.insert(SEQ_KEY, &seq.to_be_bytes()[..]).map(drop)
}

/// Sealing at start failed.
#[derive(Debug, thiserror::Error)]
pub enum StartSealError {
    /// sled could not store or flush the sequence.
    #[error("cannot store the write sequence: {0}")]
    Db(#[from] sled::Error),
    /// The seal file could not be written.
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl SealFile {
    /// Notes that a flush covering `seq` succeeded. Only ever called after sled
    /// said the data is on disk, which is what keeps the seal from leading.
    pub fn flushed(&self, seq: u64) {
        self.flushed.fetch_max(seq, Ordering::SeqCst);
    }

    /// Writes the seal if a flush got further than the file says. Blocking.
    pub fn write_pending(&self) -> Result<(), SealError> {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        let flushed = self.flushed.load(Ordering::SeqCst);
        if flushed > *written {
            write(&self.path, flushed)?;
            *written = flushed;
        }
        Ok(())
    }

    /// The seal file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Result<sled::Db, sled::Error> {
        // sled's own thread lets go of a dropped database's file lock a moment
        // after the drop, so reopening it at once can find it still held.
        let mut tries = 0;
        loop {
            match sled::Config::new().path(dir.join("db")).open() {
                Err(sled::Error::Io(e)) if e.kind() == std::io::ErrorKind::Other && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                result => return result,
            }
        }
    }

    #[test]
    fn the_seal_may_lag_the_database_but_not_lead_it() {
        assert_eq!(compare(None, None), Verdict::Unsealed { stored: None });
        assert_eq!(
            compare(None, Some(4)),
            Verdict::Unsealed { stored: Some(4) }
        );
        assert_eq!(
            compare(Some(4), Some(4)),
            Verdict::Intact {
                sealed: 4,
                stored: 4
            }
        );
        assert_eq!(
            compare(Some(4), Some(9)),
            Verdict::Intact {
                sealed: 4,
                stored: 9
            }
        );
        assert_eq!(
            compare(Some(4), Some(3)),
            Verdict::Lost {
                sealed: 4,
                stored: 3
            }
        );
        assert_eq!(
            compare(Some(4), None),
            Verdict::Lost {
                sealed: 4,
                stored: 0
            }
        );
    }

    #[test]
    fn start_seals_the_database_as_it_is() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let seal_path = dir.path().join(SEAL_FILE);
        {
            let db = open(dir.path())?;
            assert_eq!(stored(&db)?, None);
            WriteSeal::start(&db, seal_path.clone(), None)?;
            assert_eq!(stored(&db)?, Some(1));
        }
        assert_eq!(read(&seal_path)?, Some(1));
        let db = open(dir.path())?;
        assert_eq!(
            compare(read(&seal_path)?, stored(&db)?),
            Verdict::Intact {
                sealed: 1,
                stored: 1
            }
        );
        // The next start goes past what the database holds.
        WriteSeal::start(&db, seal_path.clone(), stored(&db)?)?;
        assert_eq!((read(&seal_path)?, stored(&db)?), (Some(2), Some(2)));
        Ok(())
    }

    #[test]
    fn the_file_follows_flushes_and_never_goes_back() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let seal_path = dir.path().join(SEAL_FILE);
        let db = open(dir.path())?;
        let mut seal = WriteSeal::start(&db, seal_path.clone(), None)?;
        let file = seal.file();
        let (a, b) = (seal.next_seq(), seal.next_seq());
        bump(&db, b)?;
        db.flush()?;
        // Nothing flushed beyond what the file holds: no write.
        file.write_pending()?;
        assert_eq!(read(&seal_path)?, Some(1));
        file.flushed(b);
        file.flushed(a);
        file.write_pending()?;
        assert_eq!(read(&seal_path)?, Some(b));
        assert!(!dir.path().join("db.seal.tmp").exists());
        Ok(())
    }

    #[test]
    fn a_crash_between_flush_and_seal_is_no_refusal() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let seal_path = dir.path().join(SEAL_FILE);
        {
            let db = open(dir.path())?;
            let mut seal = WriteSeal::start(&db, seal_path.clone(), None)?;
            let seq = seal.next_seq();
            db.insert("k", "v")?;
            bump(&db, seq)?;
            db.flush()?;
            seal.file().flushed(seq);
            // The process dies here: the seal still says 1.
        }
        let db = open(dir.path())?;
        assert_eq!(
            compare(read(&seal_path)?, stored(&db)?),
            Verdict::Intact {
                sealed: 1,
                stored: 2
            }
        );
        Ok(())
    }

    #[test]
    fn a_database_behind_its_seal_has_lost_writes() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let seal_path = dir.path().join(SEAL_FILE);
        let db = open(dir.path())?;
        WriteSeal::start(&db, seal_path.clone(), None)?;
        // As if the tail of the log holding writes 2..=7 had been dropped.
        write(&seal_path, 7)?;
        assert_eq!(
            compare(read(&seal_path)?, stored(&db)?),
            Verdict::Lost {
                sealed: 7,
                stored: 1
            }
        );
        Ok(())
    }

    #[test]
    fn an_unreadable_seal_or_sequence_is_an_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let seal_path = dir.path().join(SEAL_FILE);
        fs::write(&seal_path, b"{\"write_seq\": \"many\"}")?;
        assert!(matches!(read(&seal_path), Err(SealError::Malformed { .. })));
        let db = open(dir.path())?;
        db.insert(SEQ_KEY, &b"abc"[..])?;
        assert!(matches!(stored(&db), Err(StoredSeqError::Malformed(3))));
        Ok(())
    }

    #[test]
    fn the_seal_is_private() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let seal_path = dir.path().join(SEAL_FILE);
        write(&seal_path, 3)?;
        let mode = fs::metadata(&seal_path)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        Ok(())
    }
}
