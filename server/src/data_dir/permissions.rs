//! The data dir holds pending user codes, client addresses and token hashes: it
//! is 0700 and everything in it 0600, whatever the umask. sled creates its files
//! itself with the process umask, so they are tightened after it opens them.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of the data dir and every directory in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in the data dir.
pub const FILE_MODE: u32 = 0o600;

/// A permission problem: its path and what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct PermissionError {
    /// The path.
    pub path: PathBuf,
    /// Why.
    pub source: io::Error,
}

fn err(path: &Path) -> impl FnOnce(io::Error) -> PermissionError + '_ {
    move |source| PermissionError {
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` (and missing parents) 0700, or tightens an existing one that
/// others could enter. Returns whether it had to be tightened.
pub fn private_dir(dir: &Path) -> Result<bool, PermissionError> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(err(dir))?;
            // The umask can only remove bits; set the mode anyway so a umask
            // that also removes ours (0o1077, say) leaves a usable dir.
            fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)).map_err(err(dir))?;
            Ok(false)
        }
        Err(e) => Err(err(dir)(e)),
        Ok(_) => tighten(dir, DIR_MODE),
    }
}

fn tighten(path: &Path, mode: u32) -> Result<bool, PermissionError> {
    let current = fs::metadata(path).map_err(err(path))?.permissions().mode() & 0o777;
    if current == mode {
        return Ok(false);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(err(path))?;
    Ok(true)
}

/// Entries under `dir` (not `dir` itself) whose mode is not ours, skipping
/// `except` (a file with its own, stricter rule) and not following symlinks.
pub fn loose(dir: &Path, except: &[&str]) -> Result<Vec<(PathBuf, u32)>, PermissionError> {
    let mut out = Vec::new();
    walk(dir, except, &mut |path, is_dir, mode| {
        let want = if is_dir { DIR_MODE } else { FILE_MODE };
        if mode != want {
            out.push((path.to_owned(), mode));
        }
        Ok(())
    })?;
    Ok(out)
}

/// Sets every directory under `dir` to 0700 and every file to 0600 (except
/// `except`); returns what it changed.
pub fn tighten_all(dir: &Path, except: &[&str]) -> Result<Vec<PathBuf>, PermissionError> {
    let mut changed = Vec::new();
    walk(dir, except, &mut |path, is_dir, _| {
        if tighten(path, if is_dir { DIR_MODE } else { FILE_MODE })? {
            changed.push(path.to_owned());
        }
        Ok(())
    })?;
    Ok(changed)
}

/// Every path under `dir` (not following symlinks).
pub fn entries(dir: &Path) -> Result<std::collections::BTreeSet<PathBuf>, PermissionError> {
    let mut out = std::collections::BTreeSet::new();
    walk(dir, &[], &mut |path, _, _| {
        out.insert(path.to_owned());
        Ok(())
    })?;
    Ok(out)
}

/// Makes one entry private: 0700 for a directory, 0600 for a file.
pub fn make_private(path: &Path) -> Result<(), PermissionError> {
    let meta = fs::symlink_metadata(path).map_err(err(path))?;
    if meta.is_dir() {
        tighten(path, DIR_MODE)?;
    } else if meta.is_file() {
        tighten(path, FILE_MODE)?;
    }
    Ok(())
}

type Visit<'a> = dyn FnMut(&Path, bool, u32) -> Result<(), PermissionError> + 'a;

fn walk(dir: &Path, except: &[&str], visit: &mut Visit<'_>) -> Result<(), PermissionError> {
    for entry in fs::read_dir(dir).map_err(err(dir))? {
        let entry = entry.map_err(err(dir))?;
        let path = entry.path();
        if except.iter().any(|e| entry.file_name() == *e) {
            continue;
        }
        let meta = entry.metadata().map_err(err(&path))?;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            visit(&path, true, mode)?;
            walk(&path, &[], visit)?;
        } else if meta.is_file() {
            visit(&path, false, mode)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> io::Result<u32> {
        Ok(fs::metadata(path)?.permissions().mode() & 0o777)
    }

    #[test]
    fn a_new_data_dir_is_0700() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let dir = root.path().join("a/data");
        assert!(!private_dir(&dir)?);
        assert_eq!(mode(&dir)?, 0o700);
        Ok(())
    }

    #[test]
    fn an_open_data_dir_and_its_files_are_tightened() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let dir = root.path().join("data");
        fs::create_dir_all(dir.join("db"))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
        fs::write(dir.join("db/conf"), b"x")?;
        fs::set_permissions(dir.join("db/conf"), fs::Permissions::from_mode(0o644))?;
        fs::write(dir.join("signing-key.p8"), b"k")?;
        fs::set_permissions(
            dir.join("signing-key.p8"),
            fs::Permissions::from_mode(0o644),
        )?;
        assert!(private_dir(&dir)?);
        assert_eq!(mode(&dir)?, 0o700);
        let found = loose(&dir, &["signing-key.p8"])?;
        assert_eq!(found.len(), 2, "{found:?}");
        let changed = tighten_all(&dir, &["signing-key.p8"])?;
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert_eq!(mode(&dir.join("db"))?, 0o700);
        assert_eq!(mode(&dir.join("db/conf"))?, 0o600);
        // The key keeps its own rule (a key others could read is refused).
        assert_eq!(mode(&dir.join("signing-key.p8"))?, 0o644);
        assert!(loose(&dir, &["signing-key.p8"])?.is_empty());
        Ok(())
    }
}
