//! Damaged data is refused, not served: the checks a data dir passes before the
//! server uses it, and `whack-server check`, which runs them offline.
//!
//! A store is damaged when sled reports corruption, when its write sequence is
//! behind the seal (sled dropped acknowledged writes while recovering, see
//! [`seal`]), or when a record does not decode as what its tree holds.

pub mod permissions;
pub mod record_checks;

pub use record_checks::TreeCounts;

use crate::auth::keys::{IfMissing, KEY_FILE, KeyError, SigningKey};
use crate::storage::sled_store::seal::{self, SealError, StoredSeqError, Verdict, WriteSeal};
use permissions::PermissionError;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The sled database's directory inside the data dir.
pub const DB_DIR: &str = "db";

/// sled's log file inside [`DB_DIR`]; it also carries sled's lock.
const SLED_LOG: &str = "db";

/// Why a data dir was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// The store is damaged; serving from it would serve missing or wrong data.
    #[error(
        "the store {db} is damaged: {damage}. Do not serve from it: restore the whole data \
         dir {dir} from a backup (db/, db.seal and signing-key.p8 from the same copy) and \
         run `whack-server check --data-dir {dir}` on it before starting"
    )]
    Damaged {
        /// The database directory.
        db: PathBuf,
        /// The data dir.
        dir: PathBuf,
        /// What is wrong.
        damage: Damage,
    },
    /// Another process (a running server) has the database open.
    #[error(
        "the store {db} is in use by another process (is a whack-server running on it?); \
         stop that process first"
    )]
    InUse {
        /// The database directory.
        db: PathBuf,
    },
    /// There is nothing to check.
    #[error("there is no store in {dir} (no {db})")]
    NoStore {
        /// The data dir.
        dir: PathBuf,
        /// Where the database would be.
        db: PathBuf,
    },
    /// sled could not open the database for a reason other than damage.
    #[error("cannot open the store {db}: {source}")]
    Open {
        /// The database directory.
        db: PathBuf,
        /// sled's error.
        source: sled::Error,
    },
    /// Reading or writing a file of the data dir failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Permissions could not be set.
    #[error("cannot make the data dir private: {0}")]
    Permissions(#[from] PermissionError),
    /// The seal could not be written.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The signing key is missing, unreadable or readable by others.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// What is wrong with a damaged store.
#[derive(Debug, thiserror::Error)]
pub enum Damage {
    /// The database is behind its seal.
    #[error(
        "the seal {seal} vouches for write {sealed}, but the database holds writes only up \
         to {stored}: acknowledged data is missing (a damaged or truncated file, or a \
         database restored without the seal from the same backup)"
    )]
    LostWrites {
        /// The seal file.
        seal: PathBuf,
        /// Its number.
        sealed: u64,
        /// The database's number.
        stored: u64,
    },
    /// A seal but no database.
    #[error("the seal {seal} vouches for write {sealed}, but the database is missing")]
    NoDatabase {
        /// The seal file.
        seal: PathBuf,
        /// Its number.
        sealed: u64,
    },
    /// The seal itself does not parse.
    #[error(transparent)]
    BadSeal(SealError),
    /// The stored write sequence does not parse.
    #[error(transparent)]
    BadSequence(StoredSeqError),
    /// sled found corruption while opening.
    #[error("sled reports corruption: {0}")]
    Corrupt(sled::Error),
    /// sled panicked on what it read.
    #[error("sled failed on what it read: {0}")]
    Panicked(String),
    /// A record could not be read or decoded.
    #[error(transparent)]
    Record(#[from] record_checks::RecordError),
}

/// A store that passed the checks, with what the checks found.
struct Opened {
    db: sled::Db,
    sealed: Option<u64>,
    stored: Option<u64>,
    counts: TreeCounts,
}

/// How a data dir is opened.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// For serving: a missing database is created (a first run).
    Serve,
    /// For `check`: nothing is created.
    Check,
}

fn damaged(dir: &Path, damage: Damage) -> IntegrityError {
    IntegrityError::Damaged {
        db: dir.join(DB_DIR),
        dir: dir.to_owned(),
        damage,
    }
}

/// Runs `f`, turning a sled panic on damaged input into [`Damage::Panicked`].
fn guarded<T>(
    dir: &Path,
    f: impl FnOnce() -> Result<T, IntegrityError>,
) -> Result<T, IntegrityError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        Err(damaged(dir, Damage::Panicked(message)))
    })
}

fn sled_error(dir: &Path, e: sled::Error) -> IntegrityError {
    match e {
        sled::Error::Corruption { .. } | sled::Error::ReportableBug(_) => {
            damaged(dir, Damage::Corrupt(e))
        }
        // sled's own lock, should a process take it between our check and sled's.
        sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => {
            IntegrityError::InUse {
                db: dir.join(DB_DIR),
            }
        }
        e => IntegrityError::Open {
            db: dir.join(DB_DIR),
            source: e,
        },
    }
}

/// Whether another process holds sled's lock on `log`. Asked before sled opens
/// the file, because sled's recovery rewrites a damaged tail it would otherwise
/// only be refused after.
fn in_use(log: &Path) -> Result<bool, IntegrityError> {
    let io = |source| IntegrityError::Io {
        path: log.to_owned(),
        source,
    };
    let file = fs::File::open(log).map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(fs::TryLockError::WouldBlock) => Ok(true),
        Err(fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

fn exists(path: &Path) -> Result<bool, IntegrityError> {
    path.try_exists().map_err(|source| IntegrityError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Opens the database in `dir` and runs every check on it.
fn open_checked(dir: &Path, purpose: Purpose) -> Result<Opened, IntegrityError> {
    let db_dir = dir.join(DB_DIR);
    let seal_path = dir.join(seal::SEAL_FILE);
    let sealed = match seal::read(&seal_path) {
        Ok(sealed) => sealed,
        Err(e @ SealError::Malformed { .. }) => return Err(damaged(dir, Damage::BadSeal(e))),
        Err(e) => return Err(e.into()),
    };
    let log = db_dir.join(SLED_LOG);
    if exists(&log)? {
        if in_use(&log)? {
            return Err(IntegrityError::InUse { db: db_dir });
        }
    } else if let Some(sealed) = sealed {
        // Never let sled create an empty database where the seal says data was.
        return Err(damaged(
            dir,
            Damage::NoDatabase {
                seal: seal_path,
                sealed,
            },
        ));
    } else if purpose == Purpose::Check {
        return Err(IntegrityError::NoStore {
            dir: dir.to_owned(),
            db: db_dir,
        });
    }
    guarded(dir, || {
        let db = match purpose {
            Purpose::Serve => crate::storage::sled_store::open_db(&db_dir),
            // The trees are only read: no housekeeping thread, no tree created.
            Purpose::Check => sled::Config::new()
                .path(&db_dir)
                .flush_every_ms(None)
                .open(),
        }
        .map_err(|e| sled_error(dir, e))?;
        let stored = seal::stored(&db).map_err(|e| match e {
            StoredSeqError::Db(e) => sled_error(dir, e),
            e => damaged(dir, Damage::BadSequence(e)),
        })?;
        if let Verdict::Lost { sealed, stored } = seal::compare(sealed, stored) {
            return Err(damaged(
                dir,
                Damage::LostWrites {
                    seal: seal_path.clone(),
                    sealed,
                    stored,
                },
            ));
        }
        let counts = record_checks::verify(&db).map_err(|e| damaged(dir, e.into()))?;
        Ok(Opened {
            db,
            sealed,
            stored,
            counts,
        })
    })
}

/// A data dir that passed every start-up check.
pub struct Verified {
    /// The database.
    pub db: sled::Db,
    /// The flusher's seal (hand it to [`crate::storage::SledStore::sealed`]).
    pub seal: WriteSeal,
    /// Records per tree.
    pub counts: TreeCounts,
}

impl Verified {
    /// What to do about a missing signing key: create one unless players hold
    /// tokens the lost one signed, which only `accept_new` allows.
    pub fn if_key_missing(&self, accept_new: bool) -> IfMissing {
        match (self.counts.holds_logins(), accept_new) {
            (false, _) => IfMissing::Create,
            (true, true) => IfMissing::Replace,
            (true, false) => IfMissing::Refuse,
        }
    }
}

/// Opens `dir` for serving: creates it 0700 on a first run, refuses a damaged
/// store, seals the database and makes everything in the dir private.
pub fn open_for_serving(dir: &Path) -> Result<Verified, IntegrityError> {
    if permissions::private_dir(dir)? {
        tracing::warn!(dir = %dir.display(), "the data dir was open to other users: set it to 0700");
    }
    let started = std::time::Instant::now();
    let opened = open_checked(dir, Purpose::Serve)?;
    match seal::compare(opened.sealed, opened.stored) {
        Verdict::Unsealed { stored: Some(_) } => tracing::warn!(
            dir = %dir.display(),
            "the seal {} is missing: lost writes cannot be detected this time; writing a new one",
            seal::SEAL_FILE
        ),
        Verdict::Unsealed { stored: None } if opened.counts.holds_logins() => tracing::info!(
            dir = %dir.display(),
            "a store from before seals: writing its first seal"
        ),
        _ => {}
    }
    for tree in opened.counts.undecoded() {
        tracing::warn!(
            tree,
            "tree read in full but not decoded: the start-up check knows no record type for it"
        );
    }
    let seal = WriteSeal::start(&opened.db, dir.join(seal::SEAL_FILE), opened.stored).map_err(
        |e| match e {
            seal::StartSealError::Db(e) => sled_error(dir, e),
            seal::StartSealError::Seal(e) => e.into(),
        },
    )?;
    // sled created its files with the process umask.
    let changed = permissions::tighten_all(dir, &[KEY_FILE])?;
    if !changed.is_empty() {
        tracing::warn!(
            files = changed.len(),
            first = %changed[0].display(),
            "data dir entries were open to other users: set to 0700 (dirs) and 0600 (files)"
        );
    }
    tracing::info!(
        dir = %dir.display(),
        players = opened.counts.get("players"),
        sessions = opened.counts.get("sessions"),
        write_seq_found = opened.stored.unwrap_or(0),
        ms = started.elapsed().as_millis() as u64,
        "store checked: every record decodes, nothing acknowledged is missing"
    );
    Ok(Verified {
        db: opened.db,
        seal,
        counts: opened.counts,
    })
}

/// The signing key as `check` found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Present, private, parses.
    Present {
        /// Its key id.
        kid: String,
    },
    /// Absent from a store nobody has logged in to (created at the next start).
    NotYetCreated,
}

/// What `whack-server check` found in a healthy data dir.
#[derive(Debug)]
pub struct CheckReport {
    /// The data dir.
    pub dir: PathBuf,
    /// The seal's number, if there is a seal.
    pub sealed: Option<u64>,
    /// The database's write sequence, if any.
    pub stored: Option<u64>,
    /// Records per tree.
    pub counts: TreeCounts,
    /// The signing key.
    pub key: KeyState,
    /// Entries others can reach, with their modes (the server tightens them).
    pub loose: Vec<(PathBuf, u32)>,
}

/// Opens a stopped server's data dir to copy it elsewhere (`migrate`): every
/// check of [`check`] on the database, and the signing key if there is one.
pub fn open_for_export(dir: &Path) -> Result<(sled::Db, Option<SigningKey>), IntegrityError> {
    let opened = open_checked(dir, Purpose::Check)?;
    Ok((opened.db, SigningKey::load(dir)?))
}

/// Checks the data dir `dir` offline: the seal, every record in every tree, the
/// signing key. Changes no data (sled may rewrite its own snapshot on open).
pub fn check(dir: &Path) -> Result<CheckReport, IntegrityError> {
    let db = dir.join(DB_DIR);
    if !exists(dir)? {
        return Err(IntegrityError::NoStore {
            dir: dir.to_owned(),
            db,
        });
    }
    // Modes as found, before sled writes anything.
    let mut loose = Vec::new();
    let mode = fs::metadata(dir)
        .map_err(|source| IntegrityError::Io {
            path: dir.to_owned(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode != permissions::DIR_MODE {
        loose.push((dir.to_owned(), mode));
    }
    let before = permissions::entries(dir)?;
    loose.extend(permissions::loose(dir, &[KEY_FILE])?);
    let opened = open_checked(dir, Purpose::Check)?;
    // sled writes a fresh snapshot as it opens, with the process umask: the
    // check must not leave a file others can read behind.
    for path in permissions::entries(dir)?.difference(&before) {
        permissions::make_private(path)?;
    }
    let key = match SigningKey::load(dir)? {
        Some(key) => KeyState::Present {
            kid: key.kid().to_owned(),
        },
        None if opened.counts.holds_logins() => {
            return Err(KeyError::Missing {
                path: dir.join(KEY_FILE),
            }
            .into());
        }
        None => KeyState::NotYetCreated,
    };
    drop(opened.db);
    Ok(CheckReport {
        dir: dir.to_owned(),
        sealed: opened.sealed,
        stored: opened.stored,
        counts: opened.counts,
        key,
        loose,
    })
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "store {}: healthy", self.dir.join(DB_DIR).display())?;
        match (self.sealed, self.stored) {
            (Some(sealed), stored) => writeln!(
                f,
                "seal: write {sealed} vouched for, database at write {}",
                stored.unwrap_or(0)
            )?,
            (None, _) => writeln!(
                f,
                "seal: none yet (lost writes cannot be detected; the server writes one at start)"
            )?,
        }
        writeln!(f, "records per tree (every one decodes):")?;
        write!(f, "{}", self.counts)?;
        match &self.key {
            KeyState::Present { kid } => writeln!(f, "signing key: {KEY_FILE}, 0600, kid {kid}")?,
            KeyState::NotYetCreated => {
                writeln!(f, "signing key: none yet (created at the first start)")?;
            }
        }
        for (path, mode) in &self.loose {
            writeln!(
                f,
                "warning: {} is {mode:o}, open to other users (the server sets it private at start)",
                path.display()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
