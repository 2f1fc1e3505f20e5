//! The pure heart of the TUI: `update(state, now, action)` changes the state and
//! returns the effects the runtime must carry out. No I/O, no clock: time comes in
//! as `now` (local epoch milliseconds), so every flow is testable and repeatable.

use crate::block_art::qr::QrMatrix;
use crate::tui::action::{Action, LoginEvent, NetEvent};
use crate::tui::effect::Effect;
use crate::tui::input;
use crate::tui::state::{
    Conn, FLASH_MS, Flash, FlashKind, Game, IDLE_PING_EVERY_MS, Lobby, LobbyView, LoginPhase,
    NOTICE_MS, PENDING_WHACK_MS, PING_EVERY_MS, Pending, ROOMS_REFRESH_MS, Results, Screen, State,
    TOAST_MS, Toast,
};
use whack_shared::protocol::{
    ClientMsg, Millis, MoleDownReason, MoleKind, MoleView, RoomPhase, RoomView, ScoreReason,
    ServerMsg,
};
use whack_shared::user_code;

/// Applies one action at local time `now` and returns what the runtime must do.
pub fn update(state: &mut State, now: Millis, action: Action) -> Vec<Effect> {
    state.now = now;
    expire(state);
    let mut fx = Vec::new();
    match action {
        Action::Key(key) => input::key(state, key, &mut fx),
        Action::Mouse(mouse) => input::mouse(state, mouse, &mut fx),
        Action::Resize(cols, rows) => state.size = (cols, rows),
        Action::Tick => {}
        Action::Login(event) => login(state, event, &mut fx),
        Action::Net(event) => net(state, event, &mut fx),
        Action::Me(me) => state.me = Some(me),
        Action::Leaderboard(board) => state.leaderboard = Some(board),
        Action::HttpFailed(message) => toast(state, message, true),
        Action::Interrupt => quit(state, &mut fx),
    }
    timers(state, &mut fx);
    fx
}

/// Shows a message at the bottom for a few seconds.
pub fn toast(state: &mut State, text: impl Into<String>, error: bool) {
    toast_for(state, text, error, TOAST_MS);
}

/// Shows a message at the bottom for `ms` milliseconds.
pub fn toast_for(state: &mut State, text: impl Into<String>, error: bool, ms: Millis) {
    state.toast = Some(Toast {
        text: text.into(),
        error,
        until: state.now + ms,
    });
}

/// Drops an error message that something which just worked has made untrue.
fn clear_error(state: &mut State) {
    if state.toast.as_ref().is_some_and(|t| t.error) {
        state.toast = None;
    }
}

/// Asks the runtime to exit.
pub fn quit(state: &mut State, fx: &mut Vec<Effect>) {
    state.quit = true;
    fx.push(Effect::Quit);
}

/// Sends a message if connected; otherwise tells the player why nothing happens.
pub fn send(state: &mut State, msg: ClientMsg, fx: &mut Vec<Effect>) {
    if state.conn == Conn::Online {
        fx.push(Effect::Send(msg));
    } else {
        toast(
            state,
            "Not connected to the server yet — reconnecting…",
            true,
        );
    }
}

/// Drops flashes, toasts and unanswered whacks whose time is up.
fn expire(state: &mut State) {
    let now = state.now;
    if state.toast.as_ref().is_some_and(|t| t.until <= now) {
        state.toast = None;
    }
    if let Screen::Game(game) = &mut state.screen {
        for flash in &mut game.flashes {
            if flash.as_ref().is_some_and(|f| f.until <= now) {
                *flash = None;
            }
        }
        game.pending.retain(|&(_, at)| now - at < PENDING_WHACK_MS);
    }
    if let Some(room) = &mut state.room {
        // A lost `mole_down` must not leave a mole up forever.
        let server_now = now + state.clock_offset;
        room.moles.retain(|m| m.down_at + 500.0 > server_now);
    }
}

/// Periodic messages: pings for the round-trip time, room list refreshes.
fn timers(state: &mut State, fx: &mut Vec<Effect>) {
    if state.conn != Conn::Online {
        return;
    }
    let now = state.now;
    if now >= state.next_ping_at {
        fx.push(Effect::Send(ClientMsg::Ping { t: now }));
        let every = if matches!(state.screen, Screen::Game(_)) {
            PING_EVERY_MS
        } else {
            IDLE_PING_EVERY_MS
        };
        state.next_ping_at = now + every;
    }
    let in_room_list = matches!(&state.screen, Screen::Lobby(l) if l.view == LobbyView::Rooms);
    if in_room_list && now >= state.next_rooms_at {
        fx.push(Effect::Send(ClientMsg::ListRooms));
        state.next_rooms_at = now + ROOMS_REFRESH_MS;
    }
}

/// Goes to the lobby after a successful login; the stats come with the connection
/// (see `welcome`), so a server that is not up yet cannot leave them unloaded.
fn enter_lobby(state: &mut State, fx: &mut Vec<Effect>) {
    state.screen = Screen::Lobby(Lobby::default());
    state.conn = Conn::Connecting(1);
    fx.push(Effect::Connect);
}

fn login(state: &mut State, event: LoginEvent, fx: &mut Vec<Effect>) {
    match event {
        LoginEvent::AlreadyLoggedIn => enter_lobby(state, fx),
        LoginEvent::Code {
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_at,
        } => {
            let qr = QrMatrix::new(&verification_uri_complete).ok();
            fx.push(Effect::OpenBrowser(verification_uri_complete.clone()));
            state.screen = Screen::Login(LoginPhase::Waiting(Pending {
                user_code,
                uri: verification_uri,
                uri_complete: verification_uri_complete,
                expires_at,
                qr,
                browser: None,
            }));
        }
        LoginEvent::BrowserOpened(ok) => {
            if let Screen::Login(LoginPhase::Waiting(p)) = &mut state.screen {
                p.browser = Some(ok);
            }
        }
        LoginEvent::Approved => {
            enter_lobby(state, fx);
            toast(state, "Signed in. Welcome!", false);
        }
        LoginEvent::Denied => state.screen = Screen::Login(LoginPhase::Denied),
        LoginEvent::Expired => state.screen = Screen::Login(LoginPhase::Expired),
        LoginEvent::ServerDown(m) => state.screen = Screen::Login(LoginPhase::ServerDown(m)),
        LoginEvent::Failed(m) => state.screen = Screen::Login(LoginPhase::Failed(m)),
    }
}

/// Forgets everything about the session and shows a fresh login.
pub fn back_to_login(state: &mut State, fx: &mut Vec<Effect>) {
    state.conn = Conn::Offline;
    state.room = None;
    state.player = None;
    state.me = None;
    state.rooms.clear();
    state.leaderboard = None;
    state.modal = None;
    state.rtt_ms = None;
    state.screen = Screen::Login(LoginPhase::Requesting);
    fx.push(Effect::StartLogin);
}

fn net(state: &mut State, event: NetEvent, fx: &mut Vec<Effect>) {
    match event {
        NetEvent::Connecting(attempt) => {
            if !matches!(state.conn, Conn::Retrying { .. }) || attempt == 1 {
                state.conn = Conn::Connecting(attempt);
            }
        }
        NetEvent::Connected => {}
        NetEvent::Msg(msg) => server_msg(state, msg, fx),
        NetEvent::Disconnected {
            reason,
            retry_in_ms,
        } => {
            let reason = if state.going_away {
                "the server shut down; waiting for it to come back".to_owned()
            } else {
                reason
            };
            state.conn = Conn::Retrying {
                reason,
                retry_at: state.now + retry_in_ms,
            };
            if let Screen::Game(game) = &mut state.screen {
                game.pending.clear();
            }
        }
        NetEvent::AuthLost => {
            back_to_login(state, fx);
            toast(state, "Your login has ended — please sign in again.", true);
        }
        NetEvent::Incompatible(message) => state.conn = Conn::Incompatible(message),
    }
}

fn server_msg(state: &mut State, msg: ServerMsg, fx: &mut Vec<Effect>) {
    match msg {
        ServerMsg::Welcome {
            player,
            server_time,
            seeded_rooms,
            ..
        } => {
            state.player = Some(player);
            state.conn = Conn::Online;
            state.seeded_rooms = seeded_rooms;
            state.going_away = false;
            state.clock_offset = server_time - state.now;
            state.next_ping_at = state.now;
            // Whatever HTTP said while the server was away (stats that never loaded,
            // a leaderboard shown as loading) is asked again on every (re)connect.
            fx.push(Effect::FetchMe);
            if matches!(&state.screen, Screen::Lobby(l) if l.view == LobbyView::Leaderboard) {
                fx.push(Effect::FetchLeaderboard);
            }
            if let Some(room) = &state.room {
                // Back after a drop: take our seat again if the room still exists.
                let room_id = Some(room.id.clone());
                fx.push(Effect::Send(ClientMsg::JoinRoom {
                    room_id,
                    code: None,
                    ticket: None,
                }));
                state.rejoining = true;
            } else {
                if let Some(code) = state.join_code.take() {
                    // `whack join CODE`: straight into that room.
                    fx.push(Effect::Send(ClientMsg::JoinRoom {
                        room_id: None,
                        code: Some(code.clone().into()),
                        ticket: None,
                    }));
                    state.joining_code = Some(code);
                }
                fx.push(Effect::Send(ClientMsg::ListRooms));
                state.next_rooms_at = state.now + ROOMS_REFRESH_MS;
            }
        }
        // The connection follows it before the screen hears of it (net.rs).
        ServerMsg::Redirect { .. } => {}
        ServerMsg::Rooms { rooms } => {
            // The server pushes the list as it changes: the cursor stays on the
            // room it was on (rooms above it may have closed), so Enter joins
            // the room highlighted, not whichever moved into its row.
            let on = match &state.screen {
                Screen::Lobby(lobby) => state.rooms.get(lobby.selected).map(|r| r.id.clone()),
                _ => None,
            };
            state.rooms = rooms;
            if let Screen::Lobby(lobby) = &mut state.screen {
                let kept = on.and_then(|id| state.rooms.iter().position(|r| r.id == id));
                lobby.selected = kept
                    .unwrap_or(lobby.selected)
                    .min(state.rooms.len().saturating_sub(1));
            }
        }
        ServerMsg::RoomState { room } => {
            state.rejoining = false;
            state.joining_code = None;
            if state.room.as_ref().is_none_or(|r| r.id != room.id) {
                // In a room now: a refusal shown from before ("no such room" for a
                // mistyped code) is no longer true.
                clear_error(state);
            }
            apply_room(state, room);
        }
        ServerMsg::Countdown { starts_at } => {
            if let Some(room) = &mut state.room {
                room.state = RoomPhase::Countdown;
                room.starts_at = Some(starts_at);
                room.ends_at = None;
                room.moles.clear();
            }
            if !matches!(state.screen, Screen::Game(_)) {
                state.screen = Screen::Game(Game::default());
            }
            state.modal = None;
        }
        ServerMsg::MoleUp {
            mole_id,
            hole,
            kind,
            up_at,
            down_at,
        } => {
            if let Some(room) = &mut state.room {
                if room.state == RoomPhase::Countdown {
                    room.state = RoomPhase::Playing;
                }
                room.moles.retain(|m| m.hole != hole);
                room.moles.push(MoleView {
                    mole_id,
                    hole,
                    kind,
                    up_at,
                    down_at,
                });
            }
        }
        ServerMsg::MoleDown {
            mole_id,
            hole,
            reason,
            by,
            points,
        } => mole_down(state, &mole_id, hole, reason, by, points),
        ServerMsg::Score {
            player_id,
            score,
            delta,
            reason,
            by,
        } => {
            if let Some(p) = state
                .room
                .as_mut()
                .and_then(|r| r.players.iter_mut().find(|p| p.id == player_id))
            {
                p.score = score;
            }
            if state.my_id() == Some(player_id.as_str()) {
                my_score(state, delta, reason, by);
            }
        }
        ServerMsg::GameOver { ranking } => {
            let stats_before = state.me.as_ref().map(|m| m.stats);
            if let Some(room) = &mut state.room {
                room.state = RoomPhase::Finished;
                room.moles.clear();
                for p in &mut room.players {
                    if let Some(r) = ranking.iter().find(|r| r.player_id == p.id) {
                        p.score = r.score;
                    }
                }
            }
            state.screen = Screen::Results(Results {
                ranking,
                stats_before,
            });
            state.modal = None;
            fx.push(Effect::FetchMe);
        }
        ServerMsg::Pong { t, server_time } => {
            let rtt = (state.now - t).max(0.0);
            state.rtt_ms = Some(rtt);
            state.clock_offset = server_time - (t + state.now) / 2.0;
        }
        ServerMsg::ReauthOk { .. } => {}
        ServerMsg::Shutdown { message } => shutdown(state, message),
        ServerMsg::Error { code, message } => {
            if code == "seat_moved" {
                // This player took their seat to another connection (another
                // `whack`): this one is back in the lobby.
                state.rejoining = false;
                state.room = None;
                state.screen = Screen::Lobby(Lobby::default());
                fx.push(Effect::Send(ClientMsg::ListRooms));
                toast(state, message, true);
            } else if state.rejoining {
                state.rejoining = false;
                state.room = None;
                state.screen = Screen::Lobby(Lobby::default());
                fx.push(Effect::Send(ClientMsg::ListRooms));
                toast(state, "Reconnected — your room no longer exists.", true);
            } else if let Some(typed) = state.joining_code.take()
                && code == "no_such_room"
            {
                toast_for(
                    state,
                    format!(
                        "No room has the code {}. Check it with whoever gave it to you: \
                         a code ends when its room closes.",
                        user_code::display(&typed)
                    ),
                    true,
                    NOTICE_MS,
                );
            } else {
                tracing::debug!(%code, "server refused a request");
                toast(state, message, true);
            }
        }
    }
}

/// The server is going away: rooms live in its memory, so the player's room ends
/// now. Said plainly, and no seat is promised on the way back.
fn shutdown(state: &mut State, message: String) {
    state.going_away = true;
    state.rejoining = false;
    let Some(room) = state.room.take() else {
        return toast_for(state, format!("Server: {message}"), true, NOTICE_MS);
    };
    if !matches!(state.screen, Screen::Results(_)) {
        // Results stay readable: a round that ended was recorded before the shutdown.
        state.screen = Screen::Lobby(Lobby::default());
    }
    state.modal = None;
    toast_for(
        state,
        format!(
            "The server is shutting down, so room “{}” has ended. Server: {message}",
            room.name
        ),
        true,
        NOTICE_MS,
    );
}

/// Takes a new room snapshot and moves to the screen its phase calls for.
fn apply_room(state: &mut State, room: RoomView) {
    let phase = room.state;
    state.room = Some(room);
    state.modal = state.modal.take().filter(|m| {
        // Keep a "leave?" question open; close lobby dialogs once seated.
        matches!(m, crate::tui::state::Modal::ConfirmLeave)
    });
    let next = match (phase, &state.screen) {
        (RoomPhase::Waiting | RoomPhase::Finished, Screen::Results(_)) => None,
        (RoomPhase::Finished, Screen::Game(_)) => None,
        (RoomPhase::Waiting | RoomPhase::Finished, _) => Some(Screen::Room),
        (RoomPhase::Countdown | RoomPhase::Playing, Screen::Game(_)) => None,
        (RoomPhase::Countdown | RoomPhase::Playing, _) => Some(Screen::Game(Game::default())),
    };
    if let Some(screen) = next {
        state.screen = screen;
    }
}

fn flash(state: &mut State, hole: u8, kind: FlashKind) {
    let until = state.now + FLASH_MS;
    if let Screen::Game(game) = &mut state.screen
        && let Some(slot) = game.flashes.get_mut(usize::from(hole))
    {
        *slot = Some(Flash { kind, until });
    }
}

/// Takes the oldest unanswered whack (on `hole` if given) and records its latency.
fn answer_whack(state: &mut State, hole: Option<u8>) -> Option<u8> {
    let now = state.now;
    let Screen::Game(game) = &mut state.screen else {
        return None;
    };
    let i = match hole {
        Some(h) => game.pending.iter().position(|&(ph, _)| ph == h)?,
        None if game.pending.is_empty() => return None,
        None => 0,
    };
    let (h, at) = game.pending.remove(i);
    game.last_whack_ms = Some(now - at);
    Some(h)
}

fn set_last(state: &mut State, text: String) {
    if let Screen::Game(game) = &mut state.screen {
        game.last = Some(text);
    }
}

fn mole_down(
    state: &mut State,
    mole_id: &str,
    hole: u8,
    reason: MoleDownReason,
    by: Option<String>,
    points: Option<i32>,
) {
    let kind = state
        .room
        .as_mut()
        .and_then(|room| {
            let i = room
                .moles
                .iter()
                .position(|m| m.mole_id == mole_id || m.hole == hole)?;
            Some(room.moles.remove(i).kind)
        })
        .unwrap_or(match points {
            Some(3) => MoleKind::Golden,
            Some(p) if p < 0 => MoleKind::Bomb,
            _ => MoleKind::Normal,
        });
    if reason != MoleDownReason::Whacked {
        return;
    }
    let points = points.unwrap_or(kind.points());
    let Some(by) = by else { return };
    if state.my_id() == Some(by.as_str()) {
        answer_whack(state, Some(hole));
        flash(state, hole, FlashKind::Hit(kind, points));
    } else {
        let name = state.player_name(&by);
        flash(state, hole, FlashKind::Other(name, points));
    }
}

fn my_score(state: &mut State, delta: i32, reason: ScoreReason, by: Option<String>) {
    let text = match reason {
        ScoreReason::Hit => format!("Whack! {delta:+}"),
        ScoreReason::Golden => format!("Golden mole! {delta:+}"),
        ScoreReason::Bomb => format!("Boom — that was a bomb. {delta:+}"),
        ScoreReason::Miss => {
            if let Some(hole) = answer_whack(state, None) {
                flash(state, hole, FlashKind::Miss(delta));
            }
            format!("Miss — empty hole. {delta:+}")
        }
        ScoreReason::Late => {
            let name = by
                .map(|id| state.player_name(&id))
                .unwrap_or_else(|| "someone".into());
            if let Some(hole) = answer_whack(state, None) {
                flash(state, hole, FlashKind::Late(name.clone()));
            }
            format!("Too late — {name} got it first.")
        }
    };
    set_last(state, text);
}

/// Whacks a hole: sends the intent and marks the hole at once, before the answer.
pub fn whack(state: &mut State, hole: u8, fx: &mut Vec<Effect>) {
    let playing = state.room.as_ref().is_some_and(|r| {
        r.state == RoomPhase::Playing
            || r.starts_at
                .is_some_and(|s| s <= state.now + state.clock_offset)
    });
    if !playing || state.conn != Conn::Online {
        return;
    }
    fx.push(Effect::Send(ClientMsg::Whack { hole }));
    let now = state.now;
    if let Screen::Game(game) = &mut state.screen {
        game.pending.push((hole, now));
    }
    flash(state, hole, FlashKind::Pressed);
}

/// Leaves the room for the lobby.
pub fn leave_room(state: &mut State, fx: &mut Vec<Effect>) {
    if state.room.take().is_some() {
        send(state, ClientMsg::LeaveRoom, fx);
    }
    state.modal = None;
    state.screen = Screen::Lobby(Lobby::default());
    if state.conn == Conn::Online {
        fx.push(Effect::Send(ClientMsg::ListRooms));
        state.next_rooms_at = state.now + ROOMS_REFRESH_MS;
    }
}
