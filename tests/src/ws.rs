//! A game client for tests and benches: `/play` with a bearer token over
//! tokio-tungstenite, typed messages from `whack-shared`, and waits with timeouts.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use whack_shared::protocol::{ClientMsg, PlayerRef, ServerMsg};

/// The usual wait for one message.
pub const WAIT: Duration = Duration::from_secs(10);

/// How a connection attempt or a read ended, when not with a message.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The server refused the upgrade with this HTTP status.
    #[error("upgrade refused with HTTP {0}")]
    Refused(u16),
    /// The server closed the connection with this code.
    #[error("closed with code {0} ({1})")]
    Closed(u16, String),
    /// The connection ended without a close frame.
    #[error("connection ended without a close frame")]
    Ended,
    /// Nothing arrived in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// A frame that is not a server message.
    #[error("unexpected frame: {0}")]
    Unexpected(String),
    /// A transport error.
    #[error(transparent)]
    Ws(#[from] tungstenite::Error),
}

/// One connection to `/play`.
pub struct GameClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Who the server says we are (from `welcome`).
    pub player: PlayerRef,
    /// The server clock at `welcome`.
    pub server_time: f64,
}

/// Small buffers, so a bench can hold thousands of connections.
pub fn lean_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
}

/// The `/play` URL of a node's base URL (as a `redirect` names it).
pub fn play_url(node_url: &str) -> String {
    let ws = node_url
        .strip_prefix("https://")
        .map(|rest| format!("wss://{rest}"))
        .unwrap_or_else(|| node_url.replacen("http://", "ws://", 1));
    format!("{}/play", ws.trim_end_matches('/'))
}

/// Connects and reads the `welcome`.
pub async fn connect(ws_url: &str, access_token: &str) -> Result<GameClient, WsError> {
    let mut ws = open(ws_url, Some(access_token)).await?;
    let msg = tokio::time::timeout(WAIT, next_msg(&mut ws))
        .await
        .map_err(|_| WsError::Timeout(WAIT))??;
    match msg {
        ServerMsg::Welcome {
            player,
            server_time,
            ..
        } => Ok(GameClient {
            ws,
            player,
            server_time,
        }),
        other => Err(WsError::Unexpected(format!("{other:?} before welcome"))),
    }
}

/// Opens the socket only (no `welcome` read); `None` sends no Authorization.
pub async fn open(
    ws_url: &str,
    access_token: Option<&str>,
) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, WsError> {
    let mut request = ws_url.into_client_request()?;
    if let Some(token) = access_token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| WsError::Unexpected(e.to_string()))?;
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    match tokio_tungstenite::connect_async_with_config(request, Some(lean_config()), true).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(response)) => {
            Err(WsError::Refused(response.status().as_u16()))
        }
        Err(e) => Err(e.into()),
    }
}

async fn next_msg(
    ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>,
) -> Result<ServerMsg, WsError> {
    loop {
        match ws.next().await {
            None => return Err(WsError::Ended),
            Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) => {
                return Err(WsError::Ended);
            }
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text)
                    .map_err(|e| WsError::Unexpected(format!("{text}: {e}")));
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                return Err(WsError::Closed(code, reason));
            }
            Some(Ok(Message::Binary(_))) => {
                return Err(WsError::Unexpected("binary frame".into()));
            }
            Some(Ok(_)) => {}
        }
    }
}

impl GameClient {
    /// Sends a message.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<(), WsError> {
        let text = serde_json::to_string(msg).map_err(|e| WsError::Unexpected(e.to_string()))?;
        self.send_raw(text).await
    }

    /// Sends any text frame, well-formed or not.
    pub async fn send_raw(&mut self, text: impl Into<String>) -> Result<(), WsError> {
        Ok(self.ws.send(Message::text(text.into())).await?)
    }

    /// Sends a raw frame (binary, oversized…).
    pub async fn send_frame(&mut self, frame: Message) -> Result<(), WsError> {
        Ok(self.ws.send(frame).await?)
    }

    /// Queues a message without flushing (for bursts); see [`Self::flush`].
    pub async fn feed(&mut self, msg: &ClientMsg) -> Result<(), WsError> {
        let text = serde_json::to_string(msg).map_err(|e| WsError::Unexpected(e.to_string()))?;
        Ok(self.ws.feed(Message::text(text)).await?)
    }

    /// Writes out what [`Self::feed`] queued.
    pub async fn flush(&mut self) -> Result<(), WsError> {
        Ok(self.ws.flush().await?)
    }

    /// The next server message, within `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> Result<ServerMsg, WsError> {
        tokio::time::timeout(wait, next_msg(&mut self.ws))
            .await
            .map_err(|_| WsError::Timeout(wait))?
    }

    /// The next server message, within [`WAIT`].
    pub async fn recv(&mut self) -> Result<ServerMsg, WsError> {
        self.recv_within(WAIT).await
    }

    /// Reads until a message matches `pred`, within `wait` overall.
    pub async fn wait_for(
        &mut self,
        wait: Duration,
        mut pred: impl FnMut(&ServerMsg) -> bool,
    ) -> Result<ServerMsg, WsError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = self.recv_within(left).await?;
            if pred(&msg) {
                return Ok(msg);
            }
        }
    }

    /// Reads (and discards messages) until the server closes; returns the code.
    pub async fn expect_close(&mut self, wait: Duration) -> Result<u16, WsError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv_within(left).await {
                Ok(_) => {}
                Err(WsError::Closed(code, _)) => return Ok(code),
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes politely.
    pub async fn close(mut self) -> Result<(), WsError> {
        self.ws.close(None).await?;
        Ok(())
    }

    /// Drops the TCP connection without a close frame, like a lost network.
    pub fn drop_connection(self) {
        drop(self.ws);
    }
}
