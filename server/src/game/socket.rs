//! `GET /play`: the bearer token is checked before the upgrade, then one task per
//! connection runs a send half (its queue out to the socket, and the close) and a
//! receive half (frames in, token expiry, heartbeats) joined by `select!`.

use super::conn_limits::{FloodGuard, Strikes, WhackVerdict};
use super::hub::{ConnRegistration, CreateRoom, GameHub, RoomHandle};
use super::link::{CLOSE_IDLE, CloseSignal, ConnLink, OUT_QUEUE, Out, encode};
use super::metrics::inc;
use super::room::RoomCmd;
use super::room_error::RoomError;
use crate::http::bearer::Bearer;
use crate::http::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use whack_shared::Secret;
use whack_shared::claims::AccessClaims;
use whack_shared::protocol::{
    ClientMsg, HOLES, MAX_FRAME_BYTES, Millis, PROTOCOL_VERSION, PlayerRef, ServerMsg, close,
};

/// Read buffer per connection: frames are small, and idle sockets must be cheap.
const READ_BUFFER: usize = 512;
/// Frames above [`MAX_FRAME_BYTES`] up to this size are read and refused with an
/// `error`; larger ones end the connection at the WebSocket layer.
const MAX_INBOUND: usize = 64 * 1024;
/// Frames are gathered up to this many bytes and written together on flush.
const WRITE_BATCH: usize = 8 * 1024;
/// Unsent bytes a connection may hold before writes fail.
const MAX_WRITE_BUFFER: usize = 256 * 1024;
/// How long closing may take: queued frames, the close frame, the peer's reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Longest room command wait (the room is a local task; this only guards bugs).
const ROOM_SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /play`: upgrades an authenticated request to a game connection.
///
/// Over the per-second connect limits (per player, per address) the upgrade is
/// refused with 429 and `Retry-After`. Over the per-player socket cap the
/// upgrade goes through and the socket is closed at once with an `error`
/// `too_many_connections` and 4008: a WebSocket client reads a close frame more
/// reliably than the body of a refused upgrade.
pub async fn play(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Bearer(claims): Bearer,
    ws: WebSocketUpgrade,
) -> Response {
    let shutting_down = || {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        )
        .into_response()
    };
    if state.game.is_shutting_down() {
        return shutting_down();
    }
    if let Err(retry_after) = state.game.admit_connect(&claims.sub, peer.ip()) {
        return connecting_too_fast(retry_after);
    }
    // Registered before the upgrade, so racing upgrades cannot all pass the cap.
    let registration = match state.game.register(&claims.sid, &claims.sub) {
        Ok(r) => Ok(r),
        Err(RoomError::ShuttingDown) => return shutting_down(),
        Err(e) => Err(e),
    };
    let addr = peer.ip();
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_INBOUND)
        .max_frame_size(MAX_INBOUND)
        .on_upgrade(move |socket| async move {
            match registration {
                Ok(registration) => session(state, socket, claims, registration, addr).await,
                Err(e) => refuse(socket, &e).await,
            }
        })
}

/// 429 for a client opening game connections faster than allowed.
fn connecting_too_fast(retry_after: u64) -> Response {
    let body = whack_shared::api::ApiError {
        error: "connecting_too_fast".into(),
        message: format!("too many game connections opened just now; try again in {retry_after} s"),
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// Tells a socket why it may not play, and closes it with 4008.
async fn refuse(socket: WebSocket, e: &RoomError) {
    let (mut sink, mut stream) = socket.split();
    let error = ServerMsg::Error {
        code: e.code().to_owned(),
        message: e.to_string(),
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        if let Some(frame) = encode(&error) {
            sink.feed(Message::Text(frame)).await?;
        }
        sink.send(close_message(close::RATE_LIMITED)).await
    })
    .await;
    // Wait briefly for the peer's close, so the close frame is not lost to a reset.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn session(
    state: AppState,
    socket: WebSocket,
    claims: AccessClaims,
    registration: ConnRegistration,
    addr: IpAddr,
) {
    let hub = state.game.clone();
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel(OUT_QUEUE);
    let link = ConnLink::new(registration.id, tx, Arc::clone(&registration.close), addr);
    let mut conn = Conn {
        player: PlayerRef {
            id: claims.sub.clone(),
            name: claims.name.clone(),
        },
        expires_at: claims.exp as Millis * 1000.0,
        state,
        hub,
        link,
        strikes: Strikes::default(),
        flood: FloodGuard::default(),
    };
    conn.link.send_msg(&ServerMsg::Welcome {
        protocol_version: PROTOCOL_VERSION,
        player: conn.player.clone(),
        server_time: conn.hub.clock().now(),
        seeded_rooms: conn.hub.settings().allow_seeded_rooms,
    });
    // A player who dropped gets their seat, score and board straight back.
    conn.hub
        .resume(conn.player.clone(), conn.link.clone())
        .await;
    let close = Arc::clone(&registration.close);
    tokio::select! {
        () = send_half(&mut sink, &mut rx, &close) => {}
        () = conn.receive(&mut stream) => {}
    }
    conn.dropped().await;
    let code = close.code();
    tracing::debug!(player = %conn.player.id, conn = conn.link.id, ?code, "game connection ended");
    if let Some(code) = code {
        count_close(&conn.hub, code);
        // Read until the peer answers the close (or gives up), so nothing unread
        // turns our close into a reset that could swallow the close frame.
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(msg)) = stream.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    } else {
        // The peer closed (or vanished): answer its close frame if it sent one.
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
    }
    drop(registration);
}

fn count_close(hub: &GameHub, code: u16) {
    let m = hub.metrics();
    match code {
        close::TOKEN_EXPIRED => inc(&m.closed_token),
        close::PROTOCOL_ERROR | close::VERSION_MISMATCH => inc(&m.closed_protocol),
        close::RATE_LIMITED => inc(&m.closed_flood),
        super::link::CLOSE_TOO_SLOW => inc(&m.closed_slow),
        CLOSE_IDLE => inc(&m.closed_idle),
        _ => {}
    }
}

fn close_message(code: u16) -> Message {
    let reason = match code {
        close::TOKEN_EXPIRED => "token expired or revoked",
        close::PROTOCOL_ERROR => "protocol error",
        close::VERSION_MISMATCH => "unsupported protocol version",
        close::RATE_LIMITED => "rate limited",
        close::GOING_AWAY => "server shutting down",
        super::link::CLOSE_TOO_SLOW => "too slow to keep up",
        CLOSE_IDLE => "idle",
        _ => "",
    };
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// Writes the queue to the socket until a close is raised, then flushes what is
/// queued, the shutdown notice if any, and the close frame.
async fn send_half(
    sink: &mut SplitSink<WebSocket, Message>,
    rx: &mut mpsc::Receiver<Out>,
    close: &CloseSignal,
) {
    let code = loop {
        tokio::select! {
            biased;
            code = close.raised() => break code,
            out = rx.recv() => {
                let Some(out) = out else { return };
                // Whatever else is queued goes out in the same write.
                let mut batch = sink.feed(message(out)).await;
                while let (Ok(()), Ok(out)) = (&batch, rx.try_recv()) {
                    batch = sink.feed(message(out)).await;
                }
                if batch.is_err() || sink.flush().await.is_err() {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Ok(out) = rx.try_recv() {
            sink.feed(message(out)).await?;
        }
        if code == close::GOING_AWAY {
            let notice = ServerMsg::Shutdown {
                message: "the server is shutting down; reconnect in a moment".into(),
            };
            if let Some(frame) = encode(&notice) {
                sink.feed(Message::Text(frame)).await?;
            }
        }
        sink.send(close_message(code)).await
    })
    .await;
}

fn message(out: Out) -> Message {
    match out {
        Out::Text(text) => Message::Text(text),
        Out::Ping => Message::Ping(axum::body::Bytes::new()),
    }
}

/// One connection's receive side and what it knows about the player.
struct Conn {
    state: AppState,
    hub: GameHub,
    player: PlayerRef,
    /// Its seat, if any, is in `link.seat` (the hub moves it).
    link: ConnLink,
    /// When the access token in force expires (Unix ms).
    expires_at: Millis,
    strikes: Strikes,
    flood: FloodGuard,
}

impl Conn {
    async fn receive(&mut self, stream: &mut SplitStream<WebSocket>) {
        let clock = self.hub.clock();
        let settings = self.hub.settings().clone();
        let expiry = tokio::time::sleep_until(clock.instant_at(self.expires_at));
        tokio::pin!(expiry);
        let mut heartbeat =
            tokio::time::interval_at(Instant::now() + settings.heartbeat, settings.heartbeat);
        let mut last_seen = Instant::now();
        let close = Arc::clone(&self.link.close);
        loop {
            tokio::select! {
                frame = stream.next() => {
                    let Some(Ok(frame)) = frame else { return };
                    last_seen = Instant::now();
                    let expires_at = self.expires_at;
                    if !self.on_frame(frame).await {
                        return;
                    }
                    if self.expires_at != expires_at {
                        expiry.as_mut().reset(clock.instant_at(self.expires_at));
                    }
                }
                () = &mut expiry => {
                    if clock.now() >= self.expires_at {
                        close.raise(close::TOKEN_EXPIRED);
                    }
                    expiry.as_mut().reset(clock.instant_at(self.expires_at).max(Instant::now() + Duration::from_millis(50)));
                }
                _ = heartbeat.tick() => {
                    if last_seen.elapsed() >= settings.idle_timeout {
                        close.raise(CLOSE_IDLE);
                    } else {
                        let _ = self.link.tx.try_send(Out::Ping);
                    }
                }
                _ = close.raised() => {
                    // The send half is closing; give it time, then let go.
                    tokio::time::sleep(CLOSE_GRACE).await;
                    return;
                }
            }
        }
    }

    /// Handles one frame; false when the peer closed.
    async fn on_frame(&mut self, frame: Message) -> bool {
        match frame {
            Message::Text(text) => {
                if text.len() > MAX_FRAME_BYTES {
                    self.offend(
                        "frame_too_large",
                        format!("frames are at most {MAX_FRAME_BYTES} bytes"),
                    );
                } else {
                    match serde_json::from_str::<ClientMsg>(&text) {
                        Ok(msg) => {
                            // Tokens and join codes are `Secret`s: `Debug` redacts them.
                            tracing::trace!(conn = self.link.id, ?msg, "client message");
                            self.on_message(msg).await;
                        }
                        Err(e) => {
                            let (code, message) = classify(&text, &e);
                            self.offend(code, message);
                        }
                    }
                }
                true
            }
            Message::Binary(_) => {
                self.offend("binary_frame", "frames are JSON text".into());
                true
            }
            Message::Ping(_) | Message::Pong(_) => true,
            Message::Close(_) => false,
        }
    }

    fn offend(&mut self, code: &str, message: String) {
        inc(&self.hub.metrics().protocol_errors);
        self.error(code, &message);
        if self.strikes.offend(self.hub.clock().now()) {
            self.link.close.raise(close::PROTOCOL_ERROR);
        }
    }

    fn error(&self, code: &str, message: &str) {
        self.link.send_msg(&ServerMsg::Error {
            code: code.to_owned(),
            message: message.to_owned(),
        });
    }

    fn refused(&self, e: &RoomError) {
        self.error(e.code(), &e.to_string());
    }

    async fn on_message(&mut self, msg: ClientMsg) {
        match msg {
            ClientMsg::Hello { protocol_version } => {
                if protocol_version != PROTOCOL_VERSION {
                    self.error(
                        "version_mismatch",
                        &format!(
                            "this server speaks protocol version {PROTOCOL_VERSION}, not {protocol_version}; update your client"
                        ),
                    );
                    self.link.close.raise(close::VERSION_MISMATCH);
                }
            }
            ClientMsg::ListRooms => {
                // A lobby: kept up to date from now on, so counts do not lag.
                self.hub.watch_rooms(&self.link);
                self.link.send_msg(&ServerMsg::Rooms {
                    rooms: self.hub.list_rooms(),
                });
            }
            ClientMsg::CreateRoom {
                name,
                private,
                round_secs,
                seed,
            } => {
                let request = CreateRoom {
                    name,
                    private,
                    round_secs,
                    seed,
                };
                let result = self
                    .hub
                    .create_room(request, self.player.clone(), self.link.clone())
                    .await;
                self.entered(result);
            }
            ClientMsg::JoinRoom { room_id, code } => {
                let guessed = room_id.is_none() && code.is_some();
                let result = self
                    .hub
                    .join(
                        room_id.as_deref(),
                        code.as_ref().map(Secret::expose),
                        self.player.clone(),
                        self.link.clone(),
                    )
                    .await;
                // Wrong join codes (and codes refused by the guess limit) also
                // count like malformed frames: a socket that keeps guessing is closed.
                let wrong = |e: &RoomError| {
                    matches!(e, RoomError::NoSuchRoom | RoomError::TooManyGuesses { .. })
                };
                if guessed && result.as_ref().is_err_and(wrong) {
                    inc(&self.hub.metrics().protocol_errors);
                    if self.strikes.offend(self.hub.clock().now()) {
                        self.link.close.raise(close::PROTOCOL_ERROR);
                    }
                }
                self.entered(result);
            }
            ClientMsg::QuickMatch => {
                let result = self
                    .hub
                    .quick_match(self.player.clone(), self.link.clone())
                    .await;
                self.entered(result);
            }
            ClientMsg::LeaveRoom => {
                if let Err(e) = self.hub.leave(&self.player.id, &self.link).await {
                    self.refused(&e);
                }
            }
            ClientMsg::StartGame => match self.link.seat.get() {
                Some(room) => {
                    let command = RoomCmd::Start {
                        player_id: self.player.id.clone(),
                    };
                    self.command_room(&room, command).await;
                }
                None => self.refused(&RoomError::NotInRoom),
            },
            ClientMsg::Whack { hole } => self.whack(hole),
            ClientMsg::Reauth { access_token } => self.reauth(access_token.expose()),
            ClientMsg::Ping { t } => {
                self.link.send_msg(&ServerMsg::Pong {
                    t,
                    server_time: self.hub.clock().now(),
                });
            }
        }
    }

    /// Answers a refused seat change; an accepted one is answered by the room.
    fn entered(&self, result: Result<RoomHandle, RoomError>) {
        if let Err(e) = result {
            self.refused(&e);
        }
    }

    async fn command_room(&self, room: &RoomHandle, command: RoomCmd) {
        let sent = tokio::time::timeout(ROOM_SEND_TIMEOUT, room.tx.send(command)).await;
        if !matches!(sent, Ok(Ok(()))) {
            self.refused(&RoomError::NoSuchRoom);
        }
    }

    fn whack(&mut self, hole: u8) {
        let metrics = self.hub.metrics();
        inc(&metrics.whacks);
        if hole >= HOLES {
            self.error("invalid_hole", "holes are 0–8");
            return;
        }
        if self.link.seat.with(|room| room.is_none()) {
            self.refused(&RoomError::NotInRoom);
            return;
        }
        let at = self.hub.clock().now();
        match self.flood.admit(at) {
            WhackVerdict::Forward => {
                let command = RoomCmd::Whack {
                    player_id: self.player.id.clone(),
                    hole,
                    at,
                };
                let sent = self.link.seat.with(|room| match room {
                    Some(room) => room.tx.try_send(command).map_err(|e| match e {
                        mpsc::error::TrySendError::Full(_) => false,
                        mpsc::error::TrySendError::Closed(_) => true,
                    }),
                    None => Err(true),
                });
                match sent {
                    Ok(()) => {}
                    Err(false) => inc(&metrics.whacks_dropped),
                    Err(true) => self.refused(&RoomError::NotInRoom),
                }
            }
            WhackVerdict::Drop => inc(&metrics.whacks_dropped),
            WhackVerdict::Close => {
                inc(&metrics.whacks_dropped);
                self.error("rate_limited", "too many whacks for too long");
                self.link.close.raise(close::RATE_LIMITED);
            }
        }
    }

    fn reauth(&mut self, token: &str) {
        match self.state.access.verify(token) {
            Ok(claims) if claims.sub == self.player.id => {
                self.expires_at = claims.exp as Millis * 1000.0;
                self.hub.set_session(self.link.id, &claims.sid);
                self.link.send_msg(&ServerMsg::ReauthOk {
                    expires_at: self.expires_at,
                });
            }
            Ok(_) => self.error(
                "reauth_wrong_player",
                "that access token belongs to another player",
            ),
            Err(e) => {
                self.state.metrics.access_denied.inc();
                self.error("reauth_failed", &e.to_string());
            }
        }
    }

    /// The connection is gone: the room keeps the seat for the reconnect grace.
    /// Not cut short by a timeout: a seat left pointing at a dead socket would
    /// show the player as connected until the room ends.
    async fn dropped(&self) {
        self.hub.dropped(&self.player.id, &self.link).await;
    }
}

/// Names what was wrong with a frame that did not parse, without echoing it.
pub(crate) fn classify(text: &str, error: &serde_json::Error) -> (&'static str, String) {
    if error.is_syntax() || error.is_eof() {
        return ("invalid_json", "frames must be JSON objects".into());
    }
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    match value.get("type").and_then(|t| t.as_str()) {
        None => (
            "missing_type",
            "a message needs a string \"type\" field".into(),
        ),
        Some(kind) if !KNOWN_TYPES.contains(&kind) => (
            "unknown_type",
            format!(
                "unknown message type; known types: {}",
                KNOWN_TYPES.join(", ")
            ),
        ),
        Some(kind) => (
            "bad_message",
            format!("a {kind} message with missing or invalid fields"),
        ),
    }
}

/// The `type`s a client may send.
pub(crate) const KNOWN_TYPES: [&str; 10] = [
    "hello",
    "list_rooms",
    "create_room",
    "join_room",
    "quick_match",
    "leave_room",
    "start_game",
    "whack",
    "reauth",
    "ping",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(text: &str) -> &'static str {
        match serde_json::from_str::<ClientMsg>(text) {
            Ok(_) => "ok",
            Err(e) => classify(text, &e).0,
        }
    }

    #[test]
    fn bad_frames_are_named_without_echoing_them() {
        assert_eq!(code_of("{not json"), "invalid_json");
        assert_eq!(code_of("[1,2]"), "missing_type");
        assert_eq!(code_of(r#"{"type":"dance"}"#), "unknown_type");
        assert_eq!(code_of(r#"{"type":"whack","hole":"x"}"#), "bad_message");
        assert_eq!(code_of(r#"{"type":"whack","hole":3}"#), "ok");
        let text = r#"{"type":"reauth","access_token":5}"#;
        let Err(e) = serde_json::from_str::<ClientMsg>(text) else {
            panic!("parsed");
        };
        assert!(!classify(text, &e).1.contains('5'));
    }

    #[test]
    fn every_known_type_parses() {
        for kind in KNOWN_TYPES {
            let text = format!(r#"{{"type":"{kind}"}}"#);
            assert_ne!(code_of(&text), "unknown_type", "{kind}");
        }
    }
}
