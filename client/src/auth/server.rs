//! The server the client talks to: a parsed base URL and its origin.

use reqwest::Url;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Why a `--server` value is not usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServerUrlError {
    /// Not parseable as a URL at all.
    #[error("`{input}` is not a URL ({reason}); use e.g. http://localhost:8080")]
    Malformed {
        /// What the user gave.
        input: String,
        /// What the parser said.
        reason: String,
    },
    /// Missing `http://` or `https://`.
    #[error("`{input}` has no http:// or https:// scheme; did you mean http://{input} ?")]
    NoScheme {
        /// What the user gave.
        input: String,
    },
    /// A scheme other than http or https.
    #[error(
        "`{input}` uses the scheme `{scheme}`; the server URL must start with http:// or https://"
    )]
    BadScheme {
        /// What the user gave.
        input: String,
        /// The scheme found.
        scheme: String,
    },
    /// Credentials, a query or a fragment, which a server URL never has.
    #[error("`{input}` must be a plain server URL without {what}")]
    Extra {
        /// What the user gave.
        input: String,
        /// What is in excess.
        what: &'static str,
    },
}

/// A Whack server: base URL (no trailing slash) and origin (`scheme://host[:port]`).
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    base: Url,
    origin: String,
}

impl ServerUrl {
    /// Parses and checks a server URL as typed by a user.
    pub fn parse(input: &str) -> Result<Self, ServerUrlError> {
        let trimmed = input.trim();
        if !trimmed.contains("://") {
            return Err(ServerUrlError::NoScheme {
                input: trimmed.to_string(),
            });
        }
        let mut url = Url::parse(trimmed).map_err(|e| ServerUrlError::Malformed {
            input: trimmed.to_string(),
            reason: e.to_string(),
        })?;
        let extra = |what| ServerUrlError::Extra {
            input: trimmed.to_string(),
            what,
        };
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(ServerUrlError::BadScheme {
                    input: trimmed.to_string(),
                    scheme: other.to_string(),
                });
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ServerUrlError::Malformed {
                input: trimmed.to_string(),
                reason: "no host".to_string(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(extra("a user name or password"));
        }
        if url.query().is_some() {
            return Err(extra("a query (`?…`)"));
        }
        if url.fragment().is_some() {
            return Err(extra("a fragment (`#…`)"));
        }
        let path = url.path().trim_end_matches('/').to_string();
        url.set_path(&path);
        let origin = url.origin().ascii_serialization();
        Ok(Self { base: url, origin })
    }

    /// `scheme://host[:port]`: the keyring account and what users are shown.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The base URL as a string, without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// True for `https://`.
    pub fn is_https(&self) -> bool {
        self.base.scheme() == "https"
    }

    /// The URL of an endpoint, `path` starting with `/`.
    pub fn endpoint(&self, path: &str) -> Url {
        let joined = format!("{}{}", self.as_str(), path);
        // The base is a valid URL and `path` is one of our constant paths, so this
        // only fails on a programming error; fall back to the base rather than panic.
        Url::parse(&joined).unwrap_or_else(|_| self.base.clone())
    }

    /// The WebSocket URL of an endpoint (`ws://` or `wss://`).
    pub fn ws_endpoint(&self, path: &str) -> String {
        let http = self.endpoint(path).to_string();
        match http.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => format!("ws://{}", http.trim_start_matches("http://")),
        }
    }

    /// A file-name-safe form of the origin, for per-server files.
    pub fn file_stem(&self) -> String {
        self.origin
            .replace("://", "_")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl FromStr for ServerUrl {
    type Err = ServerUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> ServerUrl {
        ServerUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn origin_and_endpoints() {
        let s = ok("http://localhost:8080/");
        assert_eq!(s.origin(), "http://localhost:8080");
        assert_eq!(s.as_str(), "http://localhost:8080");
        assert_eq!(
            s.endpoint("/oauth/token").as_str(),
            "http://localhost:8080/oauth/token"
        );
        assert_eq!(s.ws_endpoint("/play"), "ws://localhost:8080/play");
        assert_eq!(s.file_stem(), "http_localhost_8080");
    }

    #[test]
    fn default_ports_and_paths() {
        let s = ok("HTTPS://Example.COM:443/whack/");
        assert_eq!(s.origin(), "https://example.com");
        assert_eq!(s.as_str(), "https://example.com/whack");
        assert_eq!(
            s.endpoint("/api/me").as_str(),
            "https://example.com/whack/api/me"
        );
        assert_eq!(s.ws_endpoint("/play"), "wss://example.com/whack/play");
        assert!(s.is_https());
    }

    #[test]
    fn rejects_what_is_not_a_server_url() {
        assert!(matches!(
            ServerUrl::parse("localhost:8080"),
            Err(ServerUrlError::NoScheme { .. })
        ));
        assert!(matches!(
            ServerUrl::parse("ftp://x"),
            Err(ServerUrlError::BadScheme { .. })
        ));
        assert!(matches!(
            ServerUrl::parse("http://"),
            Err(ServerUrlError::Malformed { .. })
        ));
        assert!(matches!(
            ServerUrl::parse("http://u:p@x"),
            Err(ServerUrlError::Extra { .. })
        ));
        assert!(matches!(
            ServerUrl::parse("http://x/?a=1"),
            Err(ServerUrlError::Extra { .. })
        ));
        assert!(matches!(
            ServerUrl::parse("http://x:99999"),
            Err(ServerUrlError::Malformed { .. })
        ));
        let msg = ServerUrl::parse("localhost:8080")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("http://localhost:8080"), "{msg}");
    }
}
