//! Opening the verification page in the player's browser, when there is a display.

use reqwest::Url;
use std::process::{Command, Stdio};
use thiserror::Error;

/// The browser could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BrowserError {
    /// The server sent something that is not an http(s) URL.
    #[error("refusing to open `{0}`: not an http(s) URL")]
    NotHttp(String),
    /// The opener program could not be started.
    #[error("cannot start {program}: {detail}")]
    Spawn {
        /// The program.
        program: &'static str,
        /// What failed.
        detail: String,
    },
}

/// True when a graphical session is likely: always on macOS and Windows, and on
/// other systems when `DISPLAY` or `WAYLAND_DISPLAY` is set.
pub fn display_available() -> bool {
    if cfg!(any(target_os = "macos", windows)) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Opens `url` with the system's opener, without waiting for the browser.
pub fn open(url: &str) -> Result<(), BrowserError> {
    // Only hand the opener a well-formed http(s) URL: it would also run files.
    let parsed = Url::parse(url).map_err(|_| BrowserError::NotHttp(url.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(BrowserError::NotHttp(url.to_string()));
    }
    let (program, args): (&'static str, Vec<String>) = if cfg!(target_os = "macos") {
        ("open", vec![parsed.to_string()])
    } else if cfg!(windows) {
        // Not `cmd /c start`: cmd would interpret `&` and `^` in the URL.
        (
            "rundll32",
            vec!["url.dll,FileProtocolHandler".into(), parsed.to_string()],
        )
    } else {
        ("xdg-open", vec![parsed.to_string()])
    };
    let mut child = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| BrowserError::Spawn {
            program,
            detail: e.to_string(),
        })?;
    // Reap it in the background so it does not linger as a zombie.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_http_urls() {
        assert!(matches!(
            open("file:///etc/passwd"),
            Err(BrowserError::NotHttp(_))
        ));
        assert!(matches!(open("--help"), Err(BrowserError::NotHttp(_))));
    }
}
