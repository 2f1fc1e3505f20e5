//! A fresh HOME for a client process: a temp dir with the XDG folders, and the
//! only environment such a process gets, so nothing of the developer's own
//! login, keyring, display or `WHACK_SERVER` leaks into a test.

use std::ffi::OsString;
use std::path::Path;

/// A temp HOME with `run`, `.config`, `.local/share` and `.cache` in it; removed on drop.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A new HOME under the temp dir, named `prefix…`.
    pub fn new(prefix: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        for sub in ["run", ".config", ".local/share", ".cache"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        Ok(Self { dir })
    }

    /// The HOME folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `PATH` and the HOME and XDG variables pointing into this HOME: everything a
    /// client is given after `env_clear()` (no DISPLAY, so no browser opens).
    pub fn vars(&self) -> Vec<(&'static str, OsString)> {
        let home = self.path();
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("HOME", home.into()),
            ("XDG_CONFIG_HOME", home.join(".config").into()),
            ("XDG_DATA_HOME", home.join(".local/share").into()),
            ("XDG_CACHE_HOME", home.join(".cache").into()),
            ("XDG_RUNTIME_DIR", home.join("run").into()),
        ]
    }
}
