//! The game connection: one task that keeps a WebSocket to `{server}/play` open,
//! authenticates the upgrade with a bearer token, says `hello`, keeps the token
//! fresh with `reauth`, and reconnects with backoff. Everything it hears becomes an
//! [`Action`]; everything to send arrives on a channel.
//!
//! A server of several nodes may answer a join with `redirect`: the connection
//! moves to that node at once and takes the seat with the ticket, unseen by the
//! screen, if the node is on the server's own host ([`ServerUrl::may_redirect_to`]).
//! After a drop it connects to the server it was given again, which sends it
//! on to wherever its room is.

use crate::auth::server::ServerUrl;
use crate::auth::{AuthError, TokenManager};
use crate::sanitize;
use crate::tui::action::{Action, NetEvent};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header::AUTHORIZATION};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use whack_shared::Secret;
use whack_shared::protocol::{ClientMsg, PROTOCOL_VERSION, ServerMsg, close};

/// First retry delay; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Send `reauth` this long before the access token expires.
const REAUTH_BEFORE_EXPIRY: Duration = Duration::from_secs(30);
/// Give up on a connection attempt after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed in a row before the connection backs off (nodes that
/// keep sending us on, or a server that loops).
const MAX_REDIRECTS: u32 = 3;
/// A connection that lasted this long before its redirect was played on, not
/// bounced: the count of redirects in a row starts again.
const SETTLED: Duration = Duration::from_secs(10);
/// The largest message (and frame) read from the server, in bytes. Frames are
/// meant to stay within 4 KiB; a long room list may be bigger, but a hostile server
/// must not make us buffer tungstenite's default of 64 MiB.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The running connection task.
pub struct NetHandle {
    out: mpsc::UnboundedSender<ClientMsg>,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl NetHandle {
    /// Starts connecting to `server`'s `/play`.
    pub fn spawn(
        server: ServerUrl,
        tokens: TokenManager,
        actions: mpsc::UnboundedSender<Action>,
    ) -> Self {
        let (out, out_rx) = mpsc::unbounded_channel();
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(server, tokens, actions, out_rx, Arc::clone(&wake)));
        Self { out, wake, task }
    }

    /// Queues a message; dropped if the connection is down (the state knows).
    pub fn send(&self, msg: ClientMsg) {
        let _ = self.out.send(msg);
    }

    /// Skips the current backoff wait.
    pub fn reconnect_now(&self) {
        self.wake.notify_one();
    }
}

impl Drop for NetHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How one connection ended.
enum Ended {
    /// Dropped; try again. `online` says whether it had been welcomed.
    Dropped { reason: String, online: bool },
    /// The login is gone.
    AuthLost,
    /// Versions do not match; trying again will not help.
    Incompatible(String),
    /// Sent to another node of the server.
    Redirected(Box<Redirect>),
}

/// Where a `redirect` sends the connection, and what it says there.
struct Redirect {
    node: ServerUrl,
    join: ClientMsg,
}

/// The delay before attempt `n` (1-based) after a failure, with a little jitter so a
/// restarted server is not hit by every client in the same millisecond.
pub fn backoff(attempt: u32, jitter_seed: u32) -> Duration {
    let exp = FIRST_BACKOFF.saturating_mul(1u32 << attempt.saturating_sub(1).min(6));
    let base = exp.min(MAX_BACKOFF);
    let jitter = f64::from(jitter_seed % 200) / 1000.0; // 0–20 %
    base.mul_f64(1.0 + jitter)
}

async fn run(
    server: ServerUrl,
    tokens: TokenManager,
    actions: mpsc::UnboundedSender<Action>,
    mut out: mpsc::UnboundedReceiver<ClientMsg>,
    wake: Arc<Notify>,
) {
    let net = |e: NetEvent| {
        let _ = actions.send(Action::Net(e));
    };
    let home = server.ws_endpoint("/play");
    let mut attempt: u32 = 1;
    // Where the next attempt goes, and what it says after `hello`.
    let mut target = (home.clone(), None);
    let mut redirects = 0;
    loop {
        if redirects == 0 {
            net(NetEvent::Connecting(attempt));
        }
        let (url, join) = std::mem::replace(&mut target, (home.clone(), None));
        let began = tokio::time::Instant::now();
        let ended = session(&url, join, &tokens, &actions, &mut out).await;
        if began.elapsed() >= SETTLED {
            redirects = 0;
        }
        let ended = match ended {
            Ended::Redirected(redirect) if redirects < MAX_REDIRECTS => {
                let Redirect { node, join } = *redirect;
                if server.may_redirect_to(&node) {
                    tracing::info!(node = node.as_str(), "following a redirect to another node");
                    redirects += 1;
                    target = (node.ws_endpoint("/play"), Some(join));
                    continue;
                }
                tracing::warn!(
                    node = node.as_str(),
                    "refused a redirect off the server's host"
                );
                Ended::Dropped {
                    reason: format!(
                        "the server sent us to {}, which is not on its own host; not following",
                        node.origin()
                    ),
                    online: false,
                }
            }
            Ended::Redirected(_) => dropped("the server kept sending us to other nodes"),
            other => other,
        };
        redirects = 0;
        match ended {
            Ended::AuthLost => return net(NetEvent::AuthLost),
            Ended::Incompatible(message) => return net(NetEvent::Incompatible(message)),
            Ended::Redirected(_) => {}
            Ended::Dropped { reason, online } => {
                if online {
                    attempt = 1;
                }
                let seed = SystemTime::UNIX_EPOCH
                    .elapsed()
                    .map_or(7, |d| d.subsec_micros());
                let delay = backoff(attempt, seed);
                tracing::info!(%reason, attempt, delay_ms = delay.as_millis() as u64, "game connection dropped");
                net(NetEvent::Disconnected {
                    reason,
                    retry_in_ms: delay.as_secs_f64() * 1000.0,
                });
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = wake.notified() => {}
                }
                // Whatever was queued while offline is stale now.
                while out.try_recv().is_ok() {}
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

/// Opens the socket with a bearer token; one refresh-and-retry on a 401.
async fn connect(
    url: &str,
    tokens: &TokenManager,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Ended,
> {
    crate::auth::http::install_tls_provider();
    let mut token = access(tokens.access_token().await)?;
    for retried in [false, true] {
        let request = request(url, &token)?;
        let attempt = tokio::time::timeout(
            CONNECT_TIMEOUT,
            // No Nagle: a whack must leave at once, not wait for the last frame's ACK.
            tokio_tungstenite::connect_async_with_config(request, Some(ws_config()), true),
        );
        match attempt.await {
            Err(_) => return Err(dropped("the server did not answer in time")),
            Ok(Ok((ws, _))) => return Ok(ws),
            Ok(Err(WsError::Http(response))) if response.status() == StatusCode::UNAUTHORIZED => {
                if retried {
                    return Err(Ended::AuthLost);
                }
                token = access(tokens.refresh_after_401(&token).await)?;
            }
            Ok(Err(WsError::Http(response))) => {
                return Err(dropped(&format!(
                    "the server answered {}",
                    response.status()
                )));
            }
            Ok(Err(e)) => return Err(dropped(&describe(&e))),
        }
    }
    Err(Ended::AuthLost)
}

/// Our read limits for the game connection.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

/// A text frame from the server, decoded and sanitized (the only way frames become
/// messages, so no server string reaches the screen unsanitized).
pub fn decode(text: &str) -> Result<ServerMsg, serde_json::Error> {
    sanitize::decode_json(text.as_bytes())
}

fn dropped(reason: &str) -> Ended {
    Ended::Dropped {
        reason: reason.to_owned(),
        online: false,
    }
}

/// Maps the token manager's answer: a dead login ends the session, anything else retries.
fn access(result: Result<Secret, AuthError>) -> Result<Secret, Ended> {
    result.map_err(|e| match e {
        AuthError::NotLoggedIn { .. } | AuthError::LoggedOut { .. } | AuthError::Unauthorized => {
            Ended::AuthLost
        }
        other => dropped(&other.to_string()),
    })
}

fn request(
    url: &str,
    token: &Secret,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, Ended> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Ended::Incompatible(format!("bad server URL {url}: {e}")))?;
    let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| dropped("the access token is not a valid header"))?;
    bearer.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, bearer);
    Ok(request)
}

/// Readable connection errors, without the noise.
fn describe(e: &WsError) -> String {
    match e {
        WsError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the server running?)".to_owned()
        }
        WsError::Io(io) => format!("network error: {io}"),
        WsError::ConnectionClosed | WsError::AlreadyClosed => "connection closed".to_owned(),
        WsError::Url(u) => format!("bad URL: {u}"),
        WsError::Capacity(_) => format!(
            "the server sent a message larger than {MAX_MESSAGE_BYTES} bytes; is --server a Whack server?"
        ),
        // Some errors quote what the server sent.
        other => sanitize::text(&other.to_string()).into_owned(),
    }
}

/// When to send the next `reauth`.
fn reauth_at(tokens: &TokenManager) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    let in_ = tokens
        .expires_at()
        .and_then(|exp| exp.duration_since(SystemTime::now()).ok())
        .map_or(Duration::from_secs(60), |left| {
            left.saturating_sub(REAUTH_BEFORE_EXPIRY)
        });
    now + in_.max(Duration::from_secs(5))
}

/// One connection, from upgrade to close; `join` is said right after `hello`.
async fn session(
    url: &str,
    join: Option<ClientMsg>,
    tokens: &TokenManager,
    actions: &mpsc::UnboundedSender<Action>,
    out: &mut mpsc::UnboundedReceiver<ClientMsg>,
) -> Ended {
    let ws = match connect(url, tokens).await {
        Ok(ws) => ws,
        Err(ended) => return ended,
    };
    let (mut sink, mut stream) = ws.split();
    let hello = ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
    };
    for msg in std::iter::once(&hello).chain(join.as_ref()) {
        if let Err(e) = send(&mut sink, msg).await {
            return dropped(&describe(&e));
        }
    }
    let _ = actions.send(Action::Net(NetEvent::Connected));
    let mut online = false;
    let reauth = tokio::time::sleep_until(reauth_at(tokens));
    tokio::pin!(reauth);
    loop {
        tokio::select! {
            msg = out.recv() => {
                let Some(msg) = msg else { return dropped("client closing") };
                if let Err(e) = send(&mut sink, &msg).await {
                    return Ended::Dropped { reason: describe(&e), online };
                }
            }
            frame = stream.next() => {
                let frame = match frame {
                    None => return Ended::Dropped { reason: "the server closed the connection".into(), online },
                    Some(Err(e)) => return Ended::Dropped { reason: describe(&e), online },
                    Some(Ok(frame)) => frame,
                };
                match frame {
                    Message::Text(text) => match decode(&text) {
                        Ok(ServerMsg::Redirect { url, room_id, ticket }) => {
                            return redirected(&url, room_id, ticket, online);
                        }
                        Ok(msg) => {
                            if matches!(msg, ServerMsg::Welcome { .. }) {
                                online = true;
                            }
                            let _ = actions.send(Action::Net(NetEvent::Msg(msg)));
                        }
                        Err(e) => tracing::debug!(error = %e, "ignoring an unreadable server message"),
                    },
                    Message::Close(frame) => return closed(frame, online),
                    _ => {}
                }
            }
            () = &mut reauth => {
                // Past the refresh margin, this refreshes (and stores the rotated token).
                match access(tokens.access_token().await) {
                    Ok(token) => {
                        if let Err(e) = send(&mut sink, &ClientMsg::Reauth { access_token: token }).await {
                            return Ended::Dropped { reason: describe(&e), online };
                        }
                    }
                    Err(Ended::AuthLost) => return Ended::AuthLost,
                    Err(_) => {} // Network trouble: try again at the next deadline.
                }
                reauth.as_mut().reset(reauth_at(tokens));
            }
        }
    }
}

/// A `redirect` to another node, or why it cannot be followed.
fn redirected(url: &str, room_id: String, ticket: Secret, online: bool) -> Ended {
    match ServerUrl::parse(url) {
        Ok(node) => Ended::Redirected(Box::new(Redirect {
            node,
            join: ClientMsg::JoinRoom {
                room_id: Some(room_id),
                code: None,
                ticket: Some(ticket),
            },
        })),
        Err(e) => Ended::Dropped {
            reason: format!("the server sent us to a node with a bad URL: {e}"),
            online,
        },
    }
}

fn closed(frame: Option<CloseFrame>, online: bool) -> Ended {
    let Some(frame) = frame else {
        return Ended::Dropped {
            reason: "the server closed the connection".into(),
            online,
        };
    };
    let code = u16::from(frame.code);
    // The close reason is server text shown to the player like any message.
    let why = sanitize::text(&frame.reason).into_owned();
    match code {
        close::VERSION_MISMATCH => Ended::Incompatible(format!(
            "the server speaks another protocol version ({why}); update whack"
        )),
        // The token ran out under us: the next attempt refreshes it.
        close::TOKEN_EXPIRED => Ended::Dropped {
            reason: "the login needs refreshing".into(),
            online,
        },
        close::GOING_AWAY => Ended::Dropped {
            reason: "the server is restarting".into(),
            online,
        },
        close::RATE_LIMITED => Ended::Dropped {
            reason: "too many messages, slowing down".into(),
            online,
        },
        _ if why.is_empty() => Ended::Dropped {
            reason: format!("closed by the server ({code})"),
            online,
        },
        _ => Ended::Dropped {
            reason: why,
            online,
        },
    }
}

async fn send<S>(sink: &mut S, msg: &ClientMsg) -> Result<(), WsError>
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let text = serde_json::to_string(msg).map_err(|e| WsError::Io(std::io::Error::other(e)))?;
    sink.send(Message::Text(text.into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1, 0), Duration::from_millis(500));
        assert_eq!(backoff(2, 0), Duration::from_secs(1));
        assert_eq!(backoff(4, 0), Duration::from_secs(4));
        assert_eq!(backoff(30, 0), MAX_BACKOFF);
        assert!(backoff(1, 199) < Duration::from_millis(601));
    }

    #[test]
    fn server_messages_are_read_up_to_a_mebibyte() {
        let config = ws_config();
        assert_eq!(config.max_message_size, Some(MAX_MESSAGE_BYTES));
        assert_eq!(config.max_frame_size, Some(MAX_MESSAGE_BYTES));
    }

    #[test]
    fn close_reasons_are_sanitized() {
        let frame = CloseFrame {
            code: 4999.into(),
            reason: "bye\u{1b}]0;pwned\u{7}".into(),
        };
        match closed(Some(frame), true) {
            Ended::Dropped { reason, .. } => assert_eq!(reason, "bye]0;pwned"),
            _ => panic!("not a drop"),
        }
    }
}
