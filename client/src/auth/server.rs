//! The server the client talks to: a parsed base URL and its origin.

use reqwest::Url;
use std::fmt;
use std::net::Ipv6Addr;
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
    #[error("`{input}` must be a plain server URL without {what}; did you mean {suggestion} ?")]
    Extra {
        /// What the user gave.
        input: String,
        /// What is in excess.
        what: &'static str,
        /// The URL without it.
        suggestion: String,
    },
    /// The address of one of the server's pages or endpoints, not of the server.
    #[error(
        "`{input}` is the address of a Whack page or endpoint (`{page}`), not of the server; \
         use --server {suggestion}"
    )]
    WhackPath {
        /// What the user gave.
        input: String,
        /// The path part that names the page.
        page: String,
        /// The server URL without it.
        suggestion: String,
    },
}

/// The first path segments of the server's own pages and endpoints: a `--server`
/// whose path contains one was copied from the browser's address bar (`/device`) or
/// a log line, and would send every request to a wrong address.
const WHACK_PATHS: [&str; 8] = [
    "device",
    "play",
    "oauth",
    "api",
    ".well-known",
    "healthz",
    "metrics",
    "account",
];

/// Tokens would go over plain http to a host that is not this machine.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "refusing to talk to {origin} over plain http://: it is not this machine (loopback), so \
     anyone on the network between could read your login tokens and play as you. Use an \
     https:// server URL, or pass --allow-insecure-http (WHACK_ALLOW_INSECURE_HTTP=1) if you \
     accept that risk"
)]
pub struct InsecureHttpError {
    /// The server origin.
    pub origin: String,
}

/// How tokens travel to a server that [`ServerUrl::transport`] accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `https://`: encrypted.
    Https,
    /// `http://` to this machine: never leaves it.
    Loopback,
    /// `http://` across the network, because the user said `--allow-insecure-http`.
    InsecureAllowed,
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
        let bare = {
            let mut bare = url.clone();
            bare.set_query(None);
            bare.set_fragment(None);
            let _ = bare.set_username("");
            let _ = bare.set_password(None);
            bare.as_str().trim_end_matches('/').to_string()
        };
        let extra = |what| ServerUrlError::Extra {
            input: trimmed.to_string(),
            what,
            suggestion: bare.clone(),
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
        let path = url.path().trim_end_matches('/').to_string();
        let segments: Vec<&str> = path.split('/').collect();
        if let Some(i) = segments
            .iter()
            .position(|s| WHACK_PATHS.iter().any(|p| p.eq_ignore_ascii_case(s)))
        {
            let mut base = url.clone();
            base.set_path(&segments[..i].join("/"));
            base.set_query(None);
            base.set_fragment(None);
            return Err(ServerUrlError::WhackPath {
                input: trimmed.to_string(),
                page: segments[i..].join("/").chars().take(40).collect::<String>(),
                suggestion: base.as_str().trim_end_matches('/').to_string(),
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

    /// Whether this server may send the game connection (and with it the
    /// access token) to `node`, another node of it: only to this host or one of
    /// its subdomains, any port, and never from https down to http. Anything
    /// else is a server trying to hand our token to someone else.
    pub fn may_redirect_to(&self, node: &ServerUrl) -> bool {
        use url::Host;
        let secure_enough = node.is_https() || !self.is_https();
        let same_host = match (self.base.host(), node.base.host()) {
            (Some(Host::Domain(ours)), Some(Host::Domain(theirs))) => {
                let (ours, theirs) = (ours.to_ascii_lowercase(), theirs.to_ascii_lowercase());
                theirs == ours
                    || theirs
                        .strip_suffix(ours.as_str())
                        .is_some_and(|sub| sub.ends_with('.'))
            }
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => false,
        };
        secure_enough && same_host
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

    /// True when the host is this machine: `localhost`, 127.0.0.0/8 or `::1`
    /// (also written as `::ffff:127.x.y.z`).
    pub fn is_loopback(&self) -> bool {
        match self.base.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => {
                ip == Ipv6Addr::LOCALHOST || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            None => false,
        }
    }

    /// Whether tokens may be sent to this server: always over https and to loopback;
    /// over plain http across the network only with `allow_insecure_http`. Decided
    /// from the URL alone, before any connection is made.
    pub fn transport(&self, allow_insecure_http: bool) -> Result<Transport, InsecureHttpError> {
        if self.is_https() {
            Ok(Transport::Https)
        } else if self.is_loopback() {
            Ok(Transport::Loopback)
        } else if allow_insecure_http {
            Ok(Transport::InsecureAllowed)
        } else {
            Err(InsecureHttpError {
                origin: self.origin.clone(),
            })
        }
    }

    /// Whether `url` is on this server's origin (same scheme, host and port).
    pub fn same_origin(&self, url: &str) -> bool {
        Self::origin_of(url).is_some_and(|origin| origin == self.origin)
    }

    /// The origin of `url` (`scheme://host[:port]`), if it parses and has one.
    pub fn origin_of(url: &str) -> Option<String> {
        let origin = Url::parse(url).ok()?.origin();
        // Opaque origins (`javascript:`, `data:`, `file:`) serialize as "null".
        origin.is_tuple().then(|| origin.ascii_serialization())
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
    fn plain_http_only_to_loopback_unless_allowed() {
        for local in [
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://127.0.0.1:1",
            "http://127.9.8.7",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]",
        ] {
            assert_eq!(
                ok(local).transport(false),
                Ok(Transport::Loopback),
                "{local}"
            );
        }
        assert_eq!(
            ok("https://example.com").transport(false),
            Ok(Transport::Https)
        );
        for remote in [
            "http://example.invalid",
            "http://localhost.example.com",
            "http://10.0.0.1:8080",
            "http://128.0.0.1",
            "http://[::2]",
            "http://0.0.0.0",
        ] {
            let err = ok(remote).transport(false).err();
            assert!(
                err.as_ref()
                    .is_some_and(|e| e.to_string().contains("--allow-insecure-http")),
                "{remote}: {err:?}"
            );
            assert_eq!(
                ok(remote).transport(true),
                Ok(Transport::InsecureAllowed),
                "{remote}"
            );
        }
    }

    #[test]
    fn origins_of_other_urls() {
        let s = ok("http://localhost:8080");
        assert!(s.same_origin("http://localhost:8080/device?user_code=X"));
        assert!(s.same_origin("HTTP://LocalHost:8080/device"));
        assert!(!s.same_origin("http://localhost:8080.evil.example/device"));
        assert!(!s.same_origin("http://evil.example/?http://localhost:8080"));
        assert!(!s.same_origin("javascript:alert(1)"));
        assert_eq!(ServerUrl::origin_of("data:text/html,x"), None);
        assert_eq!(
            ServerUrl::origin_of("https://a.example:443/x").as_deref(),
            Some("https://a.example")
        );
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
        for (input, suggestion) in [
            ("http://localhost:8080/device", "http://localhost:8080"),
            (
                "http://localhost:8080/device?user_code=BCDF-GHJK",
                "http://localhost:8080",
            ),
            (
                "https://example.com/whack/oauth/token",
                "https://example.com/whack",
            ),
            ("http://localhost:8080/DEVICE/", "http://localhost:8080"),
        ] {
            let err = ServerUrl::parse(input).err();
            let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(
                msg.contains(&format!("--server {suggestion}"))
                    || msg.contains(&format!("did you mean {suggestion} ?")),
                "{input}: {msg}"
            );
        }
        let msg = ServerUrl::parse("localhost:8080")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("http://localhost:8080"), "{msg}");
    }

    #[test]
    fn redirects_stay_on_the_servers_host() {
        let home = ok("http://localhost:8080");
        assert!(home.may_redirect_to(&ok("http://localhost:8081")));
        assert!(home.may_redirect_to(&ok("https://localhost:9000/whack")));
        assert!(!home.may_redirect_to(&ok("http://evil.example:8081")));
        assert!(!home.may_redirect_to(&ok("http://127.0.0.1:8081")));
        assert!(!home.may_redirect_to(&ok("http://notlocalhost:8081")));

        let home = ok("https://whack.example");
        assert!(home.may_redirect_to(&ok("https://node1.whack.example")));
        assert!(home.may_redirect_to(&ok("https://WHACK.example:8443")));
        assert!(
            !home.may_redirect_to(&ok("http://node1.whack.example")),
            "no downgrade"
        );
        assert!(!home.may_redirect_to(&ok("https://evilwhack.example")));
        assert!(!home.may_redirect_to(&ok("https://whack.example.evil")));

        let home = ok("http://10.0.0.5:8080");
        assert!(home.may_redirect_to(&ok("http://10.0.0.5:8081")));
        assert!(!home.may_redirect_to(&ok("http://10.0.0.6:8080")));
    }
}
