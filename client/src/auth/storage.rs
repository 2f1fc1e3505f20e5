//! Where the refresh token is kept: the OS keyring, or (only when asked) a 0600 file.
//!
//! Every keyring call runs on its own thread under a timeout, so a keyring daemon that
//! hangs (a locked collection waiting for a prompt nobody sees) cannot hang `whack`.

use crate::auth::paths;
use crate::auth::server::ServerUrl;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use whack_shared::Secret;

/// Keyring service name of every entry.
pub const KEYRING_SERVICE: &str = "whack";
/// How long one keyring call may take.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(5);

/// The fix we name whenever the keyring cannot be used.
const KEYRING_FIX: &str = "start a Secret Service (e.g. gnome-keyring or KeePassXC) in your \
    desktop session, or pass --insecure-storage to keep the token in a plain 0600 file instead";

/// A storage failure, worded for the player.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StorageError {
    /// No OS keyring can be reached.
    #[error("no OS keyring is reachable ({detail}); {KEYRING_FIX}")]
    KeyringUnreachable {
        /// What the keyring library said.
        detail: String,
    },
    /// The keyring is there but locked or refused access.
    #[error("the OS keyring refused access ({detail}); unlock it, or {KEYRING_FIX}")]
    KeyringLocked {
        /// What the keyring library said.
        detail: String,
    },
    /// The keyring answers but cannot store a token (no default collection, locked).
    #[error(
        "the OS keyring cannot store the login ({detail}); create or unlock its default \
        keyring (collection), or {KEYRING_FIX}"
    )]
    KeyringUnwritable {
        /// What the keyring library said.
        detail: String,
    },
    /// A keyring call took too long.
    #[error(
        "the OS keyring did not answer within {secs} s (locked and waiting for a prompt?); {KEYRING_FIX}"
    )]
    KeyringTimeout {
        /// The timeout.
        secs: u64,
    },
    /// Any other keyring failure.
    #[error("OS keyring error: {0}")]
    Keyring(String),
    /// The token file could not be read or written.
    #[error("token file {path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// What failed.
        detail: String,
    },
    /// No config directory to put files in.
    #[error("cannot find a config directory (is HOME set?)")]
    NoConfigDir,
}

/// Which kind of storage is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageKind {
    /// The OS keyring (Secret Service, macOS Keychain, Windows Credential Manager).
    Keyring {
        /// Keyring account: the server's origin.
        account: String,
    },
    /// A plain file, only with `--insecure-storage`.
    InsecureFile {
        /// The file.
        path: PathBuf,
    },
}

/// The refresh-token store for one server.
#[derive(Debug, Clone)]
pub struct Storage {
    kind: StorageKind,
}

impl Storage {
    /// Opens the storage for `server` and checks that it is usable.
    ///
    /// `insecure` selects the plain file. Without it, a file left by an earlier
    /// `--insecure-storage` login is still honoured (the player chose it, and `status`
    /// says so); otherwise the keyring must answer, or this fails naming the fix.
    pub async fn open(server: &ServerUrl, insecure: bool) -> Result<Self, StorageError> {
        let path = paths::token_file(server)?;
        if insecure || path.exists() {
            return Ok(Self {
                kind: StorageKind::InsecureFile { path },
            });
        }
        let storage = Self {
            kind: StorageKind::Keyring {
                account: server.origin().to_string(),
            },
        };
        // The probe: a read proves the daemon answers and is unlocked.
        storage.load().await?;
        Ok(storage)
    }

    /// Checks that a token can be written, before a login asks the player to approve
    /// anything: writes and removes a placeholder entry (never the real token).
    pub async fn check_writable(&self) -> Result<(), StorageError> {
        match &self.kind {
            StorageKind::Keyring { account } => {
                let probe = format!("{account} (write check)");
                with_timeout(move || {
                    let unwritable = |e: StorageError| match e {
                        StorageError::KeyringUnreachable { detail }
                        | StorageError::KeyringLocked { detail }
                        | StorageError::Keyring(detail) => {
                            StorageError::KeyringUnwritable { detail }
                        }
                        other => other,
                    };
                    retrying(|| keyring_save(&probe, &Secret::new("write check")))
                        .map_err(unwritable)?;
                    retrying(|| keyring_clear(&probe)).map_err(unwritable)
                })
                .await
            }
            StorageKind::InsecureFile { path } => {
                let probe = with_suffix(path, ".write-check");
                file_save(&probe, &Secret::new("write check"))?;
                std::fs::remove_file(&probe).map_err(|e| file_error(&probe, &e))
            }
        }
    }

    /// Which kind of storage this is.
    pub fn kind(&self) -> &StorageKind {
        &self.kind
    }

    /// True for the plain file.
    pub fn is_insecure(&self) -> bool {
        matches!(self.kind, StorageKind::InsecureFile { .. })
    }

    /// Where the token is kept, for `whack status` and the login message.
    pub fn describe(&self) -> String {
        match &self.kind {
            StorageKind::Keyring { .. } => format!("OS keyring ({})", keyring_name()),
            StorageKind::InsecureFile { path } => {
                format!("file {} (insecure)", paths::display(path))
            }
        }
    }

    /// The stored refresh token, if any.
    pub async fn load(&self) -> Result<Option<Secret>, StorageError> {
        match &self.kind {
            StorageKind::Keyring { account } => {
                let account = account.clone();
                with_timeout(move || retrying(|| keyring_load(&account))).await
            }
            StorageKind::InsecureFile { path } => file_load(path),
        }
    }

    /// Stores `token`, replacing any previous one.
    pub async fn save(&self, token: &Secret) -> Result<(), StorageError> {
        match &self.kind {
            StorageKind::Keyring { account } => {
                let account = account.clone();
                let token = token.clone();
                with_timeout(move || retrying(|| keyring_save(&account, &token))).await
            }
            StorageKind::InsecureFile { path } => file_save(path, token),
        }
    }

    /// Removes the stored token; no error if there is none.
    pub async fn clear(&self) -> Result<(), StorageError> {
        match &self.kind {
            StorageKind::Keyring { account } => {
                let account = account.clone();
                with_timeout(move || retrying(|| keyring_clear(&account))).await
            }
            StorageKind::InsecureFile { path } => match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(file_error(path, &e)),
            },
        }
    }
}

fn keyring_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(windows) {
        "Windows Credential Manager"
    } else {
        "Secret Service"
    }
}

/// Tries a keyring call again when the bus itself failed (a dropped D-Bus
/// connection, a daemon still starting): a just-rotated refresh token lost to one
/// hiccup would sign the player out. Refusals and missing entries are final.
fn retrying<T>(mut call: impl FnMut() -> Result<T, StorageError>) -> Result<T, StorageError> {
    const TRIES: u32 = 3;
    const PAUSE: Duration = Duration::from_millis(200);
    let mut tried = 1;
    loop {
        match call() {
            Err(StorageError::KeyringUnreachable { detail }) if tried < TRIES => {
                tracing::debug!(%detail, tried, "keyring call failed; trying again");
                tried += 1;
                std::thread::sleep(PAUSE);
            }
            result => return result,
        }
    }
}

/// Runs a blocking keyring call on a detached thread: a hung call times out here and
/// cannot keep the process from exiting, as a `spawn_blocking` task would.
async fn with_timeout<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("whack-keyring".into())
        .spawn(move || {
            let _ = tx.send(call());
        })
        .map_err(|e| StorageError::Keyring(format!("cannot start a thread: {e}")))?;
    match tokio::time::timeout(KEYRING_TIMEOUT, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(StorageError::Keyring("the keyring call panicked".into())),
        Err(_) => Err(StorageError::KeyringTimeout {
            secs: KEYRING_TIMEOUT.as_secs(),
        }),
    }
}

fn entry(account: &str) -> Result<keyring::Entry, StorageError> {
    keyring::Entry::new(KEYRING_SERVICE, account).map_err(keyring_error)
}

fn keyring_load(account: &str) -> Result<Option<Secret>, StorageError> {
    match entry(account)?.get_password() {
        Ok(token) => Ok(Some(Secret::new(token))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keyring_error(e)),
    }
}

fn keyring_save(account: &str, token: &Secret) -> Result<(), StorageError> {
    entry(account)?
        .set_password(token.expose())
        .map_err(keyring_error)
}

fn keyring_clear(account: &str) -> Result<(), StorageError> {
    match entry(account)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(e)),
    }
}

fn keyring_error(error: keyring::Error) -> StorageError {
    // keyring errors carry platform messages, never the stored secret.
    match error {
        keyring::Error::NoDefaultStore => StorageError::KeyringUnreachable {
            detail: match keyring::Entry::store_status() {
                Err(e) if !matches!(e, keyring::Error::NoDefaultStore) => one_line(e),
                _ => "no credential store could be opened".to_string(),
            },
        },
        keyring::Error::PlatformFailure(e) => StorageError::KeyringUnreachable {
            detail: one_line(&e),
        },
        keyring::Error::NoStorageAccess(e) => StorageError::KeyringLocked {
            detail: one_line(&e),
        },
        other => StorageError::Keyring(one_line(&other)),
    }
}

fn one_line(error: &dyn std::fmt::Display) -> String {
    error.to_string().replace('\n', " ")
}

fn file_error(path: &Path, error: &std::io::Error) -> StorageError {
    StorageError::File {
        path: paths::display(path),
        detail: error.to_string(),
    }
}

fn file_load(path: &Path) -> Result<Option<Secret>, StorageError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            let token = text.trim();
            Ok((!token.is_empty()).then(|| Secret::new(token)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(file_error(path, &e)),
    }
}

/// Writes a sibling temp file created 0600, syncs it, then renames it over the
/// target, so a crash leaves the old token or the new one, never half of one.
fn file_save(path: &Path, token: &Secret) -> Result<(), StorageError> {
    let dir = path.parent().ok_or(StorageError::NoConfigDir)?;
    paths::create_private_dir(dir).map_err(|e| file_error(dir, &e))?;
    let tmp = with_suffix(path, ".tmp");
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(token.expose().as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        file_error(path, &e)
    })
}

/// `path` with `suffix` appended (not replacing an extension: origins contain dots).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %paths::display(path),
            "token file is readable by other users; run `chmod 600` on it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trip_is_private_and_atomic() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("whack").join("token");
        assert_eq!(file_load(&path), Ok(None));
        file_save(&path, &Secret::new("whr_one")).unwrap_or_else(|e| panic!("{e}"));
        file_save(&path, &Secret::new("whr_two")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file_load(&path), Ok(Some(Secret::new("whr_two"))));
        assert!(!with_suffix(&path, ".tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn errors_name_the_fix() {
        let e = StorageError::KeyringUnreachable {
            detail: "no bus".into(),
        };
        let msg = e.to_string();
        assert!(msg.contains("--insecure-storage") && msg.contains("Secret Service"));
    }
}
