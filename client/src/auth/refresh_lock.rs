//! A lock file so that only one `whack` process at a time refreshes for a server:
//! two processes presenting the same refresh token would trip reuse detection.

use crate::auth::paths;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::Duration;
use thiserror::Error;
use tokio::time::Instant;

/// How often a waiting process retries the lock.
const RETRY_EVERY: Duration = Duration::from_millis(10);

/// The lock could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LockError {
    /// The file could not be opened or locked.
    #[error("cannot use the lock file {path}: {detail}")]
    Io {
        /// The lock file.
        path: String,
        /// What failed.
        detail: String,
    },
    /// Another process held it for too long.
    #[error("another whack process has been refreshing for over {secs} s (lock file {path})")]
    Timeout {
        /// The lock file.
        path: String,
        /// How long we waited.
        secs: u64,
    },
}

/// Held while refreshing; the OS releases it when dropped or when the process dies.
#[derive(Debug)]
pub struct RefreshLock {
    _file: File,
}

impl RefreshLock {
    /// Waits (without blocking the runtime) until this process holds the lock.
    pub async fn acquire(path: &Path, timeout: Duration) -> Result<Self, LockError> {
        let io = |e: std::io::Error| LockError::Io {
            path: paths::display(path),
            detail: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            paths::create_private_dir(dir).map_err(io)?;
        }
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            // It holds nothing secret, but others must not be able to take it (and
            // stall our refreshes): private like every file the client keeps.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(io)?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(RETRY_EVERY).await;
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(LockError::Timeout {
                        path: paths::display(path),
                        secs: timeout.as_secs(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("sub").join("r.lock");
        let first = RefreshLock::acquire(&path, Duration::from_secs(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let second = RefreshLock::acquire(&path, Duration::from_millis(50)).await;
        assert!(matches!(second, Err(LockError::Timeout { .. })));
        drop(first);
        assert!(
            RefreshLock::acquire(&path, Duration::from_millis(50))
                .await
                .is_ok()
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("r.lock");
        let _lock = RefreshLock::acquire(&path, Duration::from_secs(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mode, 0o600);
    }
}
