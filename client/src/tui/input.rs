//! Keys and mouse clicks: what each one does right now. Which key does what is
//! [`keymap`]'s table; this carries the commands out.

use crate::tui::effect::Effect;
use crate::tui::keymap::{self, Command};
use crate::tui::layout;
use crate::tui::state::{
    Conn, CreateField, CreateForm, LobbyView, LoginPhase, Modal, ROOMS_REFRESH_MS, Screen, State,
};
use crate::tui::update::{back_to_login, leave_room, quit, send, toast, whack};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use whack_shared::protocol::{
    ClientMsg, MAX_ROOM_NAME_CHARS, MAX_ROUND_SECS, MIN_ROUND_SECS, RoomPhase,
};
use whack_shared::user_code;

/// Step of the round-length setting, in seconds.
const ROUND_STEP: u32 = 5;
/// Digits the seed field takes: every 19-digit number fits the wire's `u64` seed.
const SEED_DIGITS: usize = 19;

/// What the lobby says to a key that needs the server while it is not connected.
const OFFLINE: &str = "Not connected to the server — rooms come back when it does (r: retry now).";

/// Handles a key press.
pub fn key(state: &mut State, key: KeyEvent, fx: &mut Vec<Effect>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    match keymap::binding_for(state, &key) {
        // Answered at once, rather than opening a form that cannot be sent.
        Some(b) if b.needs_server && state.conn != Conn::Online => toast(state, OFFLINE, true),
        Some(b) => run(state, b.command, fx),
        None => type_into_dialog(state, key.code),
    }
}

/// Carries out what a key means.
fn run(state: &mut State, command: Command, fx: &mut Vec<Effect>) {
    match command {
        Command::Quit => quit(state, fx),
        Command::OpenHelp => state.help = true,
        Command::CloseHelp => state.help = false,
        Command::OpenBrowser => {
            if let Screen::Login(LoginPhase::Waiting(p)) = &state.screen {
                fx.push(Effect::OpenBrowser(p.uri_complete.clone()));
            }
        }
        Command::NewCode => {
            state.screen = Screen::Login(LoginPhase::Requesting);
            fx.push(Effect::StartLogin);
        }
        Command::SelectPrev => scroll(state, true),
        Command::SelectNext => scroll(state, false),
        Command::JoinSelected => join_selected(state, fx),
        Command::QuickMatch => send(state, ClientMsg::QuickMatch, fx),
        Command::OpenCreate => state.modal = Some(Modal::Create(CreateForm::default())),
        Command::OpenJoinCode => state.modal = Some(Modal::JoinCode(String::new())),
        Command::ReconnectNow => fx.push(Effect::ReconnectNow),
        Command::ListRooms => send(state, ClientMsg::ListRooms, fx),
        Command::ShowLeaderboard => {
            set_lobby_view(state, LobbyView::Leaderboard);
            fx.push(Effect::FetchLeaderboard);
        }
        Command::ShowRooms => {
            set_lobby_view(state, LobbyView::Rooms);
            state.next_rooms_at = state.now;
        }
        Command::RefreshLeaderboard => fx.push(Effect::FetchLeaderboard),
        Command::AskLogout => state.modal = Some(Modal::ConfirmLogout),
        Command::Start => start(state, fx),
        Command::Leave => leave_room(state, fx),
        Command::AskLeave => state.modal = Some(Modal::ConfirmLeave),
        Command::Whack(hole) => whack(state, hole, fx),
        Command::PlayAgain => play_again(state, fx),
        Command::Submit => submit(state, fx),
        Command::Cancel | Command::Decline => state.modal = None,
        Command::Confirm => match state.modal.take() {
            Some(Modal::ConfirmLeave) => leave_room(state, fx),
            Some(Modal::ConfirmLogout) => {
                fx.push(Effect::Logout);
                back_to_login(state, fx);
            }
            other => state.modal = other,
        },
        Command::NextField
        | Command::PrevField
        | Command::TogglePrivate
        | Command::Shorter
        | Command::Longer => {
            let seeded = state.seeded_rooms;
            if let Some(Modal::Create(form)) = &mut state.modal {
                edit_form(form, command, seeded);
            }
        }
    }
}

fn set_lobby_view(state: &mut State, view: LobbyView) {
    if let Screen::Lobby(lobby) = &mut state.screen {
        lobby.view = view;
    }
}

fn join_selected(state: &mut State, fx: &mut Vec<Effect>) {
    let Screen::Lobby(lobby) = &state.screen else {
        return;
    };
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
                    ticket: None,
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

fn start(state: &mut State, fx: &mut Vec<Effect>) {
    // The server's rule: only the host starts, a quick match too (it also starts
    // by itself); the footer offers exactly that.
    if state.is_host() {
        send(state, ClientMsg::StartGame, fx);
    } else if state.room.as_ref().is_some_and(|r| r.quick) {
        toast(
            state,
            "This quick match starts by itself in a moment.",
            false,
        );
    } else {
        toast(state, "Waiting for the host to start the round.", false);
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

/// Sends the open dialog: the create form, or the join code once it is whole.
fn submit(state: &mut State, fx: &mut Vec<Effect>) {
    match state.modal.take() {
        Some(Modal::Create(form)) => {
            // The seed field exists only on servers that take a seed (see `welcome`).
            let seeded = state.seeded_rooms;
            let name = form.name.trim();
            let msg = ClientMsg::CreateRoom {
                name: (!name.is_empty()).then(|| name.to_owned()),
                private: form.private,
                round_secs: Some(form.round_secs),
                seed: if seeded { form.seed.parse().ok() } else { None },
            };
            send(state, msg, fx);
        }
        // The dialog keeps the letters only; it shows them as `XXXX-XXXX`.
        Some(Modal::JoinCode(text)) => match user_code::normalize(&text) {
            Some(code) => {
                state.joining_code = Some(code.clone());
                send(
                    state,
                    ClientMsg::JoinRoom {
                        room_id: None,
                        code: Some(code.into()),
                        ticket: None,
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
        other => state.modal = other,
    }
}

/// Moves between the create form's fields or changes the focused one.
fn edit_form(form: &mut CreateForm, command: Command, seeded: bool) {
    // The seed field exists only on servers that take a seed (see `welcome`).
    let skip = |f: CreateField| f == CreateField::Seed && !seeded;
    match command {
        Command::NextField => {
            form.focus = form.focus.next();
            if skip(form.focus) {
                form.focus = form.focus.next();
            }
        }
        Command::PrevField => {
            form.focus = form.focus.prev();
            if skip(form.focus) {
                form.focus = form.focus.prev();
            }
        }
        Command::TogglePrivate => form.private = !form.private,
        Command::Shorter => {
            form.round_secs = form
                .round_secs
                .saturating_sub(ROUND_STEP)
                .max(MIN_ROUND_SECS);
        }
        Command::Longer => form.round_secs = (form.round_secs + ROUND_STEP).min(MAX_ROUND_SECS),
        _ => {}
    }
}

/// A key no binding takes: typed text, for the dialog's text field if one is open.
fn type_into_dialog(state: &mut State, code: KeyCode) {
    if state.help {
        return;
    }
    match (&mut state.modal, code) {
        (Some(Modal::Create(form)), code) => match (form.focus, code) {
            (CreateField::Name, KeyCode::Backspace) => {
                form.name.pop();
            }
            (CreateField::Name, KeyCode::Char(c))
                if form.name.chars().count() < MAX_ROOM_NAME_CHARS && !c.is_control() =>
            {
                form.name.push(c);
            }
            (CreateField::Seed, KeyCode::Backspace) => {
                form.seed.pop();
            }
            (CreateField::Seed, KeyCode::Char(c))
                if c.is_ascii_digit() && form.seed.len() < SEED_DIGITS =>
            {
                form.seed.push(c);
            }
            _ => {}
        },
        (Some(Modal::JoinCode(text)), KeyCode::Backspace) => {
            text.pop();
        }
        (Some(Modal::JoinCode(text)), KeyCode::Char(c))
            if c.is_ascii_alphabetic() && text.len() < user_code::LEN =>
        {
            text.push(c.to_ascii_uppercase());
        }
        _ => {}
    }
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
