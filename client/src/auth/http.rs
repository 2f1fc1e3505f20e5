//! The HTTP client and the readable messages its failures turn into.

use crate::auth::server::ServerUrl;
use crate::sanitize::{self, Sanitize};
use reqwest::{Response, StatusCode};
use std::error::Error as _;
use std::time::Duration;
use thiserror::Error;

/// How long establishing a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest response body read, in bytes: our answers are a few hundred bytes,
/// and a hostile server must not make us buffer gigabytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A failed exchange with the server, worded for the player.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpError {
    /// Nothing answers at the address.
    #[error(
        "cannot reach the Whack server at {origin}: {detail}. Is it running, and is --server right?"
    )]
    Unreachable {
        /// The server origin.
        origin: String,
        /// What failed (connection refused, no such host, ...).
        detail: String,
    },
    /// The server did not answer in time.
    #[error("the Whack server at {origin} did not answer in time")]
    Timeout {
        /// The server origin.
        origin: String,
    },
    /// The TLS handshake failed (bad certificate, or http/https mixed up).
    #[error("TLS error talking to {origin}: {detail}{hint}")]
    Tls {
        /// The server origin.
        origin: String,
        /// The TLS library's reason.
        detail: String,
        /// A hint when the scheme looks wrong.
        hint: &'static str,
    },
    /// Something answers, but it is not a Whack server.
    #[error("{origin} is not a Whack server ({detail}); check --server")]
    NotWhack {
        /// The server origin.
        origin: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// The server failed on its side.
    #[error("the Whack server at {origin} had an internal error (HTTP {status}); try again later")]
    ServerError {
        /// The server origin.
        origin: String,
        /// The status code.
        status: u16,
    },
    /// The HTTP client itself could not be set up (no TLS roots, ...).
    #[error("cannot set up HTTP: {0}")]
    Setup(String),
    /// The server asks us to slow down.
    #[error("the Whack server at {origin} is rate limiting this address; wait a minute and retry")]
    RateLimited {
        /// The server origin.
        origin: String,
    },
    /// The answer is larger than any Whack server sends; reading stopped.
    #[error(
        "{origin} sent an answer larger than {limit} bytes on {path}; it is not a Whack server \
         (or a broken one), check --server"
    )]
    TooLarge {
        /// The server origin.
        origin: String,
        /// The request path.
        path: String,
        /// The cap, [`MAX_BODY_BYTES`].
        limit: usize,
    },
}

/// Makes rustls on ring the process's TLS provider (later calls change nothing).
/// Set here rather than by crate features: ring builds in seconds, where
/// reqwest's default provider is a C library that takes minutes.
pub fn install_tls_provider() {
    // Err means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client used for every call to the server; cheap to clone.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// Builds the client with our timeouts and user agent.
    pub fn new() -> Result<Self, HttpError> {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("whack/", env!("CARGO_PKG_VERSION")))
            // Tokens must not follow a redirect to another origin.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::Setup(e.to_string()))?;
        Ok(Self { client })
    }

    /// The underlying reqwest client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Turns a transport failure into a readable error. Never includes request bodies.
pub fn transport_error(server: &ServerUrl, error: &reqwest::Error) -> HttpError {
    let origin = server.origin().to_string();
    if error.is_timeout() {
        return HttpError::Timeout { origin };
    }
    let chain = source_chain(error);
    if let Some(tls) = tls_reason(&chain) {
        let hint = if !server.is_https() {
            ""
        } else if tls.contains("corrupt") || tls.contains("InvalidContentType") {
            " (the server may speak plain http://)"
        } else {
            ""
        };
        return HttpError::Tls {
            origin,
            detail: tls,
            hint,
        };
    }
    if error.is_connect() {
        return HttpError::Unreachable {
            origin,
            detail: connect_reason(&chain),
        };
    }
    if error.is_decode() || error.is_body() {
        return HttpError::NotWhack {
            origin,
            detail: "unreadable answer".to_string(),
        };
    }
    HttpError::Unreachable {
        origin,
        detail: chain
            .last()
            .cloned()
            .unwrap_or_else(|| "request failed".into()),
    }
}

/// Maps a non-success status that no endpoint-specific rule handled.
pub fn status_error(server: &ServerUrl, response: &Response) -> HttpError {
    let origin = server.origin().to_string();
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        HttpError::RateLimited { origin }
    } else if status.is_server_error() {
        HttpError::ServerError {
            origin,
            status: status.as_u16(),
        }
    } else {
        HttpError::NotWhack {
            origin,
            detail: format!("HTTP {} on {}", status.as_u16(), response.url().path()),
        }
    }
}

/// Reads a JSON body of the expected type, sanitized, or says the server is not ours.
/// At most [`MAX_BODY_BYTES`] are read.
pub async fn json_body<T: serde::de::DeserializeOwned + Sanitize>(
    server: &ServerUrl,
    response: Response,
) -> Result<T, HttpError> {
    let path = response.url().path().to_string();
    let bytes = capped_body(server, response, MAX_BODY_BYTES).await?;
    sanitize::decode_json(&bytes).map_err(|_| HttpError::NotWhack {
        origin: server.origin().to_string(),
        detail: format!("unexpected answer from {path}"),
    })
}

/// The body, read chunk by chunk, refused as soon as it passes `limit` bytes (or
/// announces more): dropping the response then closes the connection mid-body.
async fn capped_body(
    server: &ServerUrl,
    mut response: Response,
    limit: usize,
) -> Result<Vec<u8>, HttpError> {
    let too_large = |response: &Response| HttpError::TooLarge {
        origin: server.origin().to_string(),
        path: response.url().path().to_string(),
        limit,
    };
    let announced = response.content_length().unwrap_or(0);
    if !usize::try_from(announced).is_ok_and(|n| n <= limit) {
        return Err(too_large(&response));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(server, &e))?
    {
        if chunk.len() > limit.saturating_sub(body.len()) {
            return Err(too_large(&response));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn source_chain(error: &reqwest::Error) -> Vec<String> {
    let mut chain = Vec::new();
    let mut source = error.source();
    while let Some(e) = source {
        chain.push(e.to_string());
        source = e.source();
    }
    chain
}

fn tls_reason(chain: &[String]) -> Option<String> {
    chain
        .iter()
        .rev()
        .find(|s| {
            let l = s.to_ascii_lowercase();
            l.contains("certificate")
                || l.contains("tls")
                || l.contains("handshake")
                || l.contains("invalidcontenttype")
                || l.contains("corrupt message")
        })
        .cloned()
}

fn connect_reason(chain: &[String]) -> String {
    let innermost = chain.last().map(String::as_str).unwrap_or("");
    let l = innermost.to_ascii_lowercase();
    if l.contains("refused") {
        "connection refused".to_string()
    } else if l.contains("dns") || l.contains("name") || l.contains("lookup") {
        "unknown host name".to_string()
    } else if innermost.is_empty() {
        "connection failed".to_string()
    } else {
        innermost.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_tls_and_connect_reasons() {
        let chain = vec![
            "client error (Connect)".to_string(),
            "invalid peer certificate: UnknownIssuer".to_string(),
        ];
        assert_eq!(
            tls_reason(&chain).as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
        let chain = vec![
            "client error (Connect)".to_string(),
            "tcp connect error".to_string(),
            "Connection refused (os error 111)".to_string(),
        ];
        assert_eq!(tls_reason(&chain), None);
        assert_eq!(connect_reason(&chain), "connection refused");
    }
}
