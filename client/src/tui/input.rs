//! Keys and mouse clicks, per screen: what each one means right now.

use crate::tui::effect::Effect;
use crate::tui::keymap::hole_for_key;
use crate::tui::layout;
use crate::tui::state::{
    Conn, CreateField, CreateForm, LobbyView, LoginPhase, Modal, ROOMS_REFRESH_MS, Screen, State,
};
use crate::tui::update::{back_to_login, leave_room, quit, send, toast, whack};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use whack_shared::protocol::{ClientMsg, MAX_ROUND_SECS, MIN_ROUND_SECS, RoomPhase};
use whack_shared::user_code;

/// Longest room name the form accepts.
const MAX_NAME: usize = 24;
/// Step of the round-length setting, in seconds.
const ROUND_STEP: u32 = 5;

/// Handles a key press.
pub fn key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return quit(state, fx);
    }
    if state.help {
        if matches!(
            key.code,
            KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter
        ) {
            state.help = false;
        }
        return;
    }
    if let Some(modal) = state.modal.take() {
        return modal_key(state, modal, key, fx);
    }
    if key.code == KeyCode::Char('?') {
        state.help = true;
        return;
    }
    match &state.screen {
        Screen::Login(_) => login_key(state, key.code, fx),
        Screen::Lobby(_) => lobby_key(state, key.code, fx),
        Screen::Room => room_key(state, key.code, fx),
        Screen::Game(_) => game_key(state, key.code, fx),
        Screen::Results(_) => results_key(state, key.code, fx),
    }
}

fn login_key(state: &mut State, code: KeyCode, fx: &mut Vec<Effect>) {
    let Screen::Login(phase) = &state.screen else {
        return;
    };
    match (code, phase) {
        (KeyCode::Char('q') | KeyCode::Esc, _) => quit(state, fx),
        (KeyCode::Char('o'), LoginPhase::Waiting(p)) => {
            fx.push(Effect::OpenBrowser(p.uri_complete.clone()));
        }
        (KeyCode::Char('n'), LoginPhase::Waiting(_))
        | (
            KeyCode::Enter | KeyCode::Char('n'),
            LoginPhase::Denied
            | LoginPhase::Expired
            | LoginPhase::ServerDown(_)
            | LoginPhase::Failed(_),
        ) => {
            state.screen = Screen::Login(LoginPhase::Requesting);
            fx.push(Effect::StartLogin);
        }
        _ => {}
    }
}

/// What the lobby says to a key that needs the server while it is not connected.
const OFFLINE: &str = "Not connected to the server — rooms come back when it does (r: retry now).";

fn lobby_key(state: &mut State, code: KeyCode, fx: &mut Vec<Effect>) {
    let Screen::Lobby(lobby) = &mut state.screen else {
        return;
    };
    let rooms = state.rooms.len();
    let needs_server = matches!(
        (lobby.view, code),
        (
            LobbyView::Rooms,
            KeyCode::Enter | KeyCode::Char('m' | 'c' | 'j')
        )
    );
    if needs_server && state.conn != Conn::Online {
        // Answered at once, rather than opening a form that cannot be sent.
        return toast(state, OFFLINE, true);
    }
    match (lobby.view, code) {
        (_, KeyCode::Char('q')) => quit(state, fx),
        (_, KeyCode::Char('o')) => state.modal = Some(Modal::ConfirmLogout),
        (LobbyView::Rooms, KeyCode::Up) => {
            lobby.selected = lobby.selected.saturating_sub(1);
        }
        (LobbyView::Rooms, KeyCode::Down) => {
            lobby.selected = (lobby.selected + 1).min(rooms.saturating_sub(1));
        }
        (LobbyView::Rooms, KeyCode::Enter) => {
            let room = state
                .rooms
                .get(lobby.selected)
                .map(|r| (r.id.clone(), r.name.clone()));
            match room {
                Some((room_id, name)) => {
                    send(
                        state,
                        ClientMsg::JoinRoom {
                            room_id: Some(room_id),
                            code: None,
                        },
                        fx,
                    );
                    // Said at once: the room screen follows when the server answers.
                    toast(state, format!("Joining “{name}”…"), false);
                }
                None => {
                    // The list may be behind the server: ask again now.
                    send(state, ClientMsg::ListRooms, fx);
                    state.next_rooms_at = state.now + ROOMS_REFRESH_MS;
                    toast(
                        state,
                        "No public rooms yet — press c to create one or m for quick match.",
                        false,
                    );
                }
            }
        }
        (LobbyView::Rooms, KeyCode::Char('m')) => send(state, ClientMsg::QuickMatch, fx),
        (LobbyView::Rooms, KeyCode::Char('c')) => {
            state.modal = Some(Modal::Create(CreateForm::default()));
        }
        (LobbyView::Rooms, KeyCode::Char('j')) => {
            state.modal = Some(Modal::JoinCode(String::new()))
        }
        (_, KeyCode::Char('r')) if matches!(state.conn, Conn::Retrying { .. }) => {
            fx.push(Effect::ReconnectNow);
        }
        (LobbyView::Rooms, KeyCode::Char('r')) => send(state, ClientMsg::ListRooms, fx),
        (LobbyView::Rooms, KeyCode::Char('l')) => {
            lobby.view = LobbyView::Leaderboard;
            fx.push(Effect::FetchLeaderboard);
        }
        (LobbyView::Leaderboard, KeyCode::Char('l') | KeyCode::Esc) => {
            lobby.view = LobbyView::Rooms;
            state.next_rooms_at = state.now;
        }
        (LobbyView::Leaderboard, KeyCode::Char('r')) => fx.push(Effect::FetchLeaderboard),
        _ => {}
    }
}

fn room_key(state: &mut State, code: KeyCode, fx: &mut Vec<Effect>) {
    let quick = state.room.as_ref().is_some_and(|r| r.quick);
    match code {
        KeyCode::Enter | KeyCode::Char('s') => {
            // The server's rule: only the host starts, a quick match too (it also
            // starts by itself); the footer offers exactly that.
            if state.is_host() {
                send(state, ClientMsg::StartGame, fx);
            } else if quick {
                toast(
                    state,
                    "This quick match starts by itself in a moment.",
                    false,
                );
            } else {
                toast(state, "Waiting for the host to start the round.", false);
            }
        }
        KeyCode::Esc | KeyCode::Char('b') => leave_room(state, fx),
        _ => {}
    }
}

fn game_key(state: &mut State, code: KeyCode, fx: &mut Vec<Effect>) {
    match code {
        KeyCode::Esc => state.modal = Some(Modal::ConfirmLeave),
        KeyCode::Char(c) => {
            if let Some(hole) = hole_for_key(c) {
                whack(state, hole, fx);
            }
        }
        _ => {}
    }
}

fn results_key(state: &mut State, code: KeyCode, fx: &mut Vec<Effect>) {
    match code {
        KeyCode::Enter | KeyCode::Char('p') => play_again(state, fx),
        KeyCode::Esc | KeyCode::Char('b') => leave_room(state, fx),
        KeyCode::Char('q') => quit(state, fx),
        _ => {}
    }
}

/// Back to the room; the host starts the next round straight away.
fn play_again(state: &mut State, fx: &mut Vec<Effect>) {
    let Some(phase) = state.room.as_ref().map(|r| r.state) else {
        return leave_room(state, fx);
    };
    match phase {
        RoomPhase::Countdown | RoomPhase::Playing => {
            state.screen = Screen::Game(Default::default());
        }
        RoomPhase::Waiting | RoomPhase::Finished => {
            state.screen = Screen::Room;
            if state.is_host() {
                send(state, ClientMsg::StartGame, fx);
            }
        }
    }
}

fn modal_key(state: &mut State, modal: Modal, key: KeyEvent, fx: &mut Vec<Effect>) {
    let code = key.code;
    match modal {
        Modal::Create(form) => create_key(state, form, code, fx),
        // The modal keeps the letters only; it shows them as `XXXX-XXXX`.
        Modal::JoinCode(mut text) => match code {
            KeyCode::Esc => {}
            KeyCode::Enter => match user_code::normalize(&text) {
                Some(code) => {
                    state.joining_code = Some(code.clone());
                    send(
                        state,
                        ClientMsg::JoinRoom {
                            room_id: None,
                            code: Some(code.into()),
                        },
                        fx,
                    );
                }
                None => {
                    if !text.is_empty() {
                        toast(state, "A join code is 8 letters, like BCDF-GHJK.", true);
                    }
                    state.modal = Some(Modal::JoinCode(text));
                }
            },
            KeyCode::Backspace => {
                text.pop();
                state.modal = Some(Modal::JoinCode(text));
            }
            KeyCode::Char(c) if c.is_ascii_alphabetic() && text.len() < user_code::LEN => {
                text.push(c.to_ascii_uppercase());
                state.modal = Some(Modal::JoinCode(text));
            }
            _ => state.modal = Some(Modal::JoinCode(text)),
        },
        Modal::ConfirmLeave => match code {
            KeyCode::Char('y') | KeyCode::Enter => leave_room(state, fx),
            KeyCode::Char('n') | KeyCode::Esc => {}
            _ => state.modal = Some(Modal::ConfirmLeave),
        },
        Modal::ConfirmLogout => match code {
            KeyCode::Char('y') | KeyCode::Enter => {
                fx.push(Effect::Logout);
                back_to_login(state, fx);
            }
            KeyCode::Char('n') | KeyCode::Esc => {}
            _ => state.modal = Some(Modal::ConfirmLogout),
        },
    }
}

fn create_key(state: &mut State, mut form: CreateForm, code: KeyCode, fx: &mut Vec<Effect>) {
    // The seed field exists only on servers that take a seed (see `welcome`).
    let seeded = state.seeded_rooms;
    let skip = |f: CreateField| f == CreateField::Seed && !seeded;
    match (code, form.focus) {
        (KeyCode::Esc, _) => return,
        (KeyCode::Enter, _) => {
            let name = form.name.trim();
            let msg = ClientMsg::CreateRoom {
                name: (!name.is_empty()).then(|| name.to_owned()),
                private: form.private,
                round_secs: Some(form.round_secs),
                seed: if seeded { form.seed.parse().ok() } else { None },
            };
            return send(state, msg, fx);
        }
        (KeyCode::Tab | KeyCode::Down, _) => {
            form.focus = form.focus.next();
            if skip(form.focus) {
                form.focus = form.focus.next();
            }
        }
        (KeyCode::BackTab | KeyCode::Up, _) => {
            form.focus = form.focus.prev();
            if skip(form.focus) {
                form.focus = form.focus.prev();
            }
        }
        (KeyCode::Backspace, CreateField::Name) => {
            form.name.pop();
        }
        (KeyCode::Char(c), CreateField::Name)
            if form.name.chars().count() < MAX_NAME && !c.is_control() =>
        {
            form.name.push(c);
        }
        (KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right, CreateField::Private) => {
            form.private = !form.private;
        }
        (KeyCode::Left | KeyCode::Char('-'), CreateField::Round) => {
            form.round_secs = form
                .round_secs
                .saturating_sub(ROUND_STEP)
                .max(MIN_ROUND_SECS);
        }
        (KeyCode::Right | KeyCode::Char('+' | '='), CreateField::Round) => {
            form.round_secs = (form.round_secs + ROUND_STEP).min(MAX_ROUND_SECS);
        }
        (KeyCode::Backspace, CreateField::Seed) => {
            form.seed.pop();
        }
        (KeyCode::Char(c), CreateField::Seed) if c.is_ascii_digit() && form.seed.len() < 19 => {
            form.seed.push(c);
        }
        _ => {}
    }
    state.modal = Some(Modal::Create(form));
}

/// Handles a mouse event: clicks on footer buttons, holes and room rows.
pub fn mouse(state: &mut State, ev: MouseEvent, fx: &mut Vec<Effect>) {
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    if layout::too_small(area) {
        return;
    }
    let bands = layout::bands(area);
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {}
        MouseEventKind::ScrollUp => return scroll(state, true),
        MouseEventKind::ScrollDown => return scroll(state, false),
        _ => return,
    }
    let (col, row) = (ev.column, ev.row);
    if let Some((_, hint)) = layout::footer_buttons(state, bands.footer)
        .into_iter()
        .find(|(r, _)| r.contains((col, row).into()))
    {
        return key(state, KeyEvent::from(hint.key), fx);
    }
    if state.help || state.modal.is_some() {
        return;
    }
    match &mut state.screen {
        Screen::Game(_) => {
            if let Some(hole) = layout::hole_at(bands.body, col, row) {
                whack(state, hole, fx);
            }
        }
        Screen::Lobby(lobby) if lobby.view == LobbyView::Rooms => {
            let list = layout::lobby(bands.body).list;
            if let Some(i) = layout::lobby_row_at(list, lobby.selected, col, row)
                && i < state.rooms.len()
            {
                if lobby.selected == i {
                    key(state, KeyEvent::from(KeyCode::Enter), fx);
                } else {
                    lobby.selected = i;
                }
            }
        }
        _ => {}
    }
}

fn scroll(state: &mut State, up: bool) {
    if let Screen::Lobby(lobby) = &mut state.screen {
        lobby.selected = if up {
            lobby.selected.saturating_sub(1)
        } else {
            (lobby.selected + 1).min(state.rooms.len().saturating_sub(1))
        };
    }
}
