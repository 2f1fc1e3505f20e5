//! One `/play` connection after the upgrade: a send half (its queue out to the
//! socket, and the close) and a receive half (frames in, token expiry,
//! heartbeats) joined by `select!`. Each parsed message goes to its handler in
//! [`super::messages`].

use super::conn::{Conn, TokenCheck};
use super::conn_limits::{FloodGuard, Strikes};
use super::frames::classify;
use super::handles::ConnLink;
use super::hub::{ConnRegistration, GameHub};
use super::messages;
use super::outbox::{CloseSignal, Out, Outbox, encode};
use super::room_error::RoomError;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::future::Either;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use whack_shared::claims::AccessClaims;
use whack_shared::protocol::{
    ClientMsg, CloseCode, ErrorCode, MAX_FRAME_BYTES, Millis, PROTOCOL_VERSION, PlayerRef,
    ServerMsg,
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

/// Sets a game connection's buffer and frame limits on its upgrade.
pub fn limit(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_INBOUND)
        .max_frame_size(MAX_INBOUND)
}

/// The player an access token names and when it expires (Unix ms): all a
/// connection keeps of its claims.
pub fn player_of(claims: AccessClaims) -> (PlayerRef, Millis) {
    let player = PlayerRef {
        id: claims.sub,
        name: claims.name,
    };
    (player, claims.exp as Millis * 1000.0)
}

/// The connection's task: an upgraded socket played for `player` until either
/// side closes, or refused with an `error` and 4008 if its registration was.
///
/// Not an `async fn`: the socket is split and the connection's state built
/// before the task's future exists, so the future does not also carry its
/// arguments (an idle connection is mostly this future).
pub fn run(
    hub: GameHub,
    socket: WebSocket,
    (player, expires_at): (PlayerRef, Millis),
    registration: Result<ConnRegistration, RoomError>,
    addr: IpAddr,
    tokens: Arc<dyn TokenCheck>,
) -> impl Future<Output = ()> + Send {
    let (sink, stream) = socket.split();
    match registration {
        Ok(registration) => {
            let conn = Conn {
                player,
                expires_at,
                tokens,
                hub,
                link: ConnLink::new(registration.id, Arc::clone(&registration.close), addr),
                strikes: Strikes::default(),
                flood: FloodGuard::default(),
            };
            Either::Left(session(conn, sink, stream, registration))
        }
        Err(e) => Either::Right(refuse(sink, stream, encode(&e.to_msg()))),
    }
}

/// Tells a socket why it may not play, and closes it with 4008.
async fn refuse(
    mut sink: SplitSink<WebSocket, Message>,
    mut stream: SplitStream<WebSocket>,
    error: Option<Utf8Bytes>,
) {
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        if let Some(frame) = error {
            sink.feed(Message::Text(frame)).await?;
        }
        sink.send(close_message(CloseCode::RateLimited)).await
    })
    .await;
    peer_close(&mut stream).await;
}

/// Reads (for at most [`CLOSE_GRACE`]) until the peer answers our close, so
/// nothing unread turns the close into a reset that could swallow its frame.
async fn peer_close(stream: &mut SplitStream<WebSocket>) {
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
    mut conn: Conn,
    mut sink: SplitSink<WebSocket, Message>,
    mut stream: SplitStream<WebSocket>,
    registration: ConnRegistration,
) {
    conn.link.send_msg(&ServerMsg::Welcome {
        protocol_version: PROTOCOL_VERSION,
        player: conn.player.clone(),
        server_time: conn.hub.clock().now(),
        seeded_rooms: conn.hub.settings().allow_seeded_rooms,
    });
    // A player who dropped gets their seat, score and board straight back.
    // Boxed like every wait that happens once (see `messages::dispatch`), so
    // the task's size is what an idle connection needs.
    Box::pin(conn.hub.resume(conn.player.clone(), conn.link.clone())).await;
    let close = Arc::clone(&registration.close);
    let outbox = Arc::clone(&conn.link.outbox);
    tokio::select! {
        () = send_half(&mut sink, &outbox, &close) => {}
        () = receive(&mut conn, &mut stream) => {}
    }
    Box::pin(end(conn, sink, stream, &close)).await;
    outbox.close();
    drop(registration);
}

/// Gives up the connection's seat and finishes its close handshake.
async fn end(
    conn: Conn,
    mut sink: SplitSink<WebSocket, Message>,
    mut stream: SplitStream<WebSocket>,
    close: &CloseSignal,
) {
    // The connection is gone: the room keeps the seat for the reconnect grace.
    // Not cut short by a timeout: a seat left pointing at a dead socket would
    // show the player as connected until the room ends.
    conn.hub.dropped(&conn.player.id, &conn.link).await;
    let code = close.code();
    tracing::debug!(player = %conn.player.id, conn = conn.link.id, ?code, "game connection ended");
    if let Some(code) = code {
        conn.hub.metrics().count_close(code);
        peer_close(&mut stream).await;
    } else {
        // The peer closed (or vanished): answer its close frame if it sent one.
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
    }
}

fn close_message(code: CloseCode) -> Message {
    Message::Close(Some(CloseFrame {
        code: code.code(),
        reason: Utf8Bytes::from_static(code.reason()),
    }))
}

/// Writes the queue to the socket until a close is raised, then flushes what is
/// queued, the shutdown notice if any, and the close frame.
async fn send_half(sink: &mut SplitSink<WebSocket, Message>, outbox: &Outbox, close: &CloseSignal) {
    let code = loop {
        tokio::select! {
            biased;
            code = close.raised() => break code,
            out = outbox.recv() => {
                // Whatever else is queued goes out in the same write.
                let mut batch = sink.feed(message(out)).await;
                while let (Ok(()), Some(out)) = (&batch, outbox.try_recv()) {
                    batch = sink.feed(message(out)).await;
                }
                if batch.is_err() || sink.flush().await.is_err() {
                    return;
                }
            }
        }
    };
    Box::pin(flush_and_close(sink, outbox, code)).await;
}

/// Writes what is still queued, the shutdown notice if any, and the close frame.
async fn flush_and_close(
    sink: &mut SplitSink<WebSocket, Message>,
    outbox: &Outbox,
    code: CloseCode,
) {
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(out) = outbox.try_recv() {
            sink.feed(message(out)).await?;
        }
        if code == CloseCode::GoingAway {
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

async fn receive(conn: &mut Conn, stream: &mut SplitStream<WebSocket>) {
    let clock = conn.hub.clock();
    let (every, idle_timeout) = {
        let settings = conn.hub.settings();
        (settings.heartbeat, settings.idle_timeout)
    };
    let expiry = tokio::time::sleep_until(clock.instant_at(conn.expires_at));
    tokio::pin!(expiry);
    let mut heartbeat = tokio::time::interval_at(Instant::now() + every, every);
    let mut last_seen = Instant::now();
    let close = Arc::clone(&conn.link.close);
    loop {
        tokio::select! {
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { return };
                last_seen = Instant::now();
                let expires_at = conn.expires_at;
                if !on_frame(conn, frame).await {
                    return;
                }
                if conn.expires_at != expires_at {
                    expiry.as_mut().reset(clock.instant_at(conn.expires_at));
                }
            }
            () = &mut expiry => {
                if clock.now() >= conn.expires_at {
                    close.raise(CloseCode::TokenExpired);
                }
                expiry.as_mut().reset(clock.instant_at(conn.expires_at).max(Instant::now() + Duration::from_millis(50)));
            }
            _ = heartbeat.tick() => {
                if last_seen.elapsed() >= idle_timeout {
                    close.raise(CloseCode::Idle);
                } else {
                    let _ = conn.link.outbox.push(Out::Ping);
                }
            }
            _ = close.raised() => {
                // The send half is closing; give it time, then let go. Boxed:
                // it happens once, and inline it would weigh on every idle task.
                Box::pin(tokio::time::sleep(CLOSE_GRACE)).await;
                return;
            }
        }
    }
}

/// Handles one frame; false when the peer closed.
async fn on_frame(conn: &mut Conn, frame: Message) -> bool {
    let msg = match frame {
        Message::Text(text) => match parse(conn, &text) {
            Some(msg) => msg,
            None => return true,
        },
        Message::Binary(_) => {
            conn.offend(ErrorCode::BinaryFrame, "frames are JSON text");
            return true;
        }
        Message::Ping(_) | Message::Pong(_) => return true,
        Message::Close(_) => return false,
    };
    // Tokens and join codes are `Secret`s: `Debug` redacts them.
    tracing::trace!(conn = conn.link.id, ?msg, "client message");
    messages::dispatch(conn, msg).await;
    true
}

/// A text frame's message, or `None` once the frame has been answered with an
/// `error` (and counted as a strike).
fn parse(conn: &mut Conn, text: &str) -> Option<ClientMsg> {
    if text.len() > MAX_FRAME_BYTES {
        conn.offend(
            ErrorCode::FrameTooLarge,
            &format!("frames are at most {MAX_FRAME_BYTES} bytes"),
        );
        return None;
    }
    serde_json::from_str(text)
        .map_err(|e| {
            let (code, message) = classify(text, &e);
            conn.offend(code, &message);
        })
        .ok()
}
