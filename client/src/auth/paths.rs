//! Files the client keeps in the user's config directory (never an access token).

use crate::auth::server::ServerUrl;
use crate::auth::storage::StorageError;
use std::path::{Path, PathBuf};

/// `~/.config/whack` (or the platform's config dir).
pub fn config_dir() -> Result<PathBuf, StorageError> {
    dirs::config_dir()
        .map(|d| d.join("whack"))
        .ok_or(StorageError::NoConfigDir)
}

/// The `--insecure-storage` refresh-token file for `server`.
pub fn token_file(server: &ServerUrl) -> Result<PathBuf, StorageError> {
    Ok(config_dir()?.join(format!("refresh-token-{}", server.file_stem())))
}

/// The lock file that serializes refreshes across processes for `server`.
pub fn refresh_lock_file(server: &ServerUrl) -> Result<PathBuf, StorageError> {
    Ok(config_dir()?.join(format!("refresh-{}.lock", server.file_stem())))
}

/// Creates `dir` (and parents), private to the user on Unix.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A path for messages, with the home directory shown as `~`.
pub fn display(path: &Path) -> String {
    match dirs::home_dir().and_then(|home| path.strip_prefix(home).ok().map(Path::to_path_buf)) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}
