//! `update` against what a new player met in their first hour (issue 12): screens
//! that kept showing what was no longer true, actions offered that could not work,
//! and input that got no answer. Each test failed on the code before the fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::tui::action::{Action, LoginEvent, NetEvent};
use crate::tui::effect::Effect;
use crate::tui::fixtures::*;
use crate::tui::keymap::{self, Hint};
use crate::tui::state::{Conn, CreateField, Modal, Screen, State};
use crate::tui::ui::draw;
use crate::tui::update::update;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use whack_shared::protocol::{ClientMsg, RoomPhase, ServerMsg};

fn welcome(s: &mut State, now: f64, seeded_rooms: bool) -> Vec<Effect> {
    msg(
        s,
        now,
        ServerMsg::Welcome {
            protocol_version: 1,
            player: alice(),
            server_time: now,
            seeded_rooms,
        },
    )
}

fn drop_connection(s: &mut State, now: f64, reason: &str) {
    update(
        s,
        now,
        Action::Net(NetEvent::Disconnected {
            reason: reason.into(),
            retry_in_ms: 2_000.0,
        }),
    );
}

/// The screen as text, as a player reads it at 100×30.
fn screen(s: &State) -> String {
    let mut s = s.clone();
    s.size = (100, 30);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| draw(f, &s)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

fn hint_keys(s: &State) -> Vec<&'static str> {
    keymap::hints(s).iter().map(|h: &Hint| h.keys).collect()
}

fn toast_text(s: &State) -> String {
    s.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default()
}

fn type_code(s: &mut State, now: f64, code: &str) -> Vec<Effect> {
    press(s, now, KeyCode::Char('j'));
    for c in code.chars() {
        press(s, now, KeyCode::Char(c));
    }
    press(s, now, KeyCode::Enter)
}

#[test]
fn a_refusal_is_cleared_once_a_later_join_works() {
    let mut s = lobby();
    let fx = type_code(&mut s, T0 + 100.0, "BCDFGHJX");
    assert_eq!(sent(&fx).len(), 1);
    msg(
        &mut s,
        T0 + 110.0,
        ServerMsg::Error {
            code: "no_such_room".into(),
            message: "no such room".into(),
        },
    );
    assert!(
        toast_text(&s).contains("No room has the code BCDF-GHJX"),
        "a wrong code is named: {:?}",
        s.toast
    );
    type_code(&mut s, T0 + 1_000.0, "QWRTPLMK");
    msg(
        &mut s,
        T0 + 1_010.0,
        ServerMsg::RoomState {
            room: room_view(RoomPhase::Waiting, "p-bob", true),
        },
    );
    assert_eq!(s.screen, Screen::Room);
    assert_eq!(s.toast, None, "the old refusal is gone");
    assert!(!screen(&s).contains("No room"), "{}", screen(&s));
}

#[test]
fn stats_are_asked_for_on_every_connect_and_reconnect() {
    // The server is not up yet when the client starts: the first stats fail.
    let mut s = fresh();
    update(&mut s, T0, Action::Login(LoginEvent::AlreadyLoggedIn));
    update(
        &mut s,
        T0 + 10.0,
        Action::HttpFailed("could not load your stats: cannot reach".into()),
    );
    assert!(screen(&s).contains("loading stats"));
    // It comes up: the connection is welcomed, and the stats are asked for again.
    let fx = welcome(&mut s, T0 + 3_000.0, false);
    assert!(fx.contains(&Effect::FetchMe), "{fx:?}");
    update(&mut s, T0 + 3_050.0, Action::Me(me()));
    assert!(!screen(&s).contains("loading stats"));
    // And after every drop.
    drop_connection(&mut s, T0 + 10_000.0, "reset");
    let fx = welcome(&mut s, T0 + 12_000.0, false);
    assert!(fx.contains(&Effect::FetchMe), "{fx:?}");
    // On the leaderboard, that comes again too.
    press(&mut s, T0 + 13_000.0, KeyCode::Char('l'));
    drop_connection(&mut s, T0 + 14_000.0, "reset");
    let fx = welcome(&mut s, T0 + 15_000.0, false);
    assert!(fx.contains(&Effect::FetchLeaderboard), "{fx:?}");
}

#[test]
fn a_server_shutdown_says_the_room_ended_and_promises_no_seat() {
    let mut s = playing();
    let now = T0 + 25_000.0;
    msg(
        &mut s,
        now,
        ServerMsg::Shutdown {
            message: "the server is shutting down; reconnect in a moment".into(),
        },
    );
    drop_connection(&mut s, now + 5.0, "the server is restarting");
    assert!(matches!(s.screen, Screen::Lobby(_)), "{:?}", s.screen);
    assert!(s.room.is_none());
    let text = screen(&s);
    assert!(
        text.contains("“Friday moles” has ended"),
        "the room is said to have ended:\n{text}"
    );
    assert!(
        text.contains("shutting down"),
        "the notice is shown:\n{text}"
    );
    assert!(!text.contains("kept for 30 s"), "{text}");
    // Once the notice has faded, the status line still says why it is offline.
    update(&mut s, now + 15_000.0, Action::Tick);
    assert!(
        screen(&s).contains("the server shut down"),
        "{}",
        screen(&s)
    );
    // Back: no rejoin of a room that cannot exist.
    let fx = welcome(&mut s, now + 16_000.0, false);
    assert!(
        !sent(&fx)
            .iter()
            .any(|m| matches!(m, ClientMsg::JoinRoom { .. }))
    );
    assert!(!s.going_away);

    // A drop without a shutdown still keeps the promise (the seat is held).
    let mut s = playing();
    drop_connection(&mut s, T0 + 25_000.0, "reset");
    assert!(screen(&s).contains("kept for 30 s"), "{}", screen(&s));
}

#[test]
fn the_offline_lobby_offers_nothing_that_needs_the_server() {
    let mut s = lobby();
    drop_connection(&mut s, T0 + 100.0, "connection refused");
    let keys = hint_keys(&s);
    for online_only in ["Enter", "m", "c", "j"] {
        assert!(!keys.contains(&online_only), "{online_only} in {keys:?}");
    }
    assert!(keys.contains(&"r"), "retry now is offered: {keys:?}");
    let text = screen(&s);
    assert!(!text.contains("for a quick match"), "{text}");
    assert!(!text.contains("m quick match"), "{text}");
    assert!(!text.contains("Friday moles"), "stale rooms shown:\n{text}");
    // Keys for those actions are answered, not silently turned into forms.
    for key in ['c', 'j', 'm'] {
        let fx = press(&mut s, T0 + 200.0, KeyCode::Char(key));
        assert!(sent(&fx).is_empty());
        assert_eq!(s.modal, None, "{key} opened a dialog offline");
        assert!(
            toast_text(&s).contains("Not connected"),
            "{key}: {:?}",
            s.toast
        );
    }
    // Online again: all of it is back.
    welcome(&mut s, T0 + 3_000.0, false);
    assert!(hint_keys(&s).contains(&"m"));
}

#[test]
fn a_quick_match_footer_offers_what_the_server_allows() {
    let quick = |host: &str| {
        let mut s = lobby();
        let mut room = room_view(RoomPhase::Waiting, host, false);
        room.quick = true;
        room.name = "Quick match".into();
        msg(&mut s, T0 + 100.0, ServerMsg::RoomState { room });
        s
    };
    // The host may start a quick match now (the server's rule); it says so.
    let mut s = quick("p-alice");
    let hints = keymap::hints(&s);
    assert!(
        hints
            .iter()
            .any(|h| h.keys == "Enter" && h.label == "start now"),
        "{hints:?}"
    );
    let text = screen(&s);
    assert!(text.contains("starts by itself soon, or press"), "{text}");
    assert_eq!(
        sent(&press(&mut s, T0 + 200.0, KeyCode::Enter)),
        vec![ClientMsg::StartGame]
    );
    // Anyone else is not offered a start, and Enter says why nothing happens.
    let mut s = quick("p-bob");
    assert!(!hint_keys(&s).contains(&"Enter"), "{:?}", hint_keys(&s));
    assert!(sent(&press(&mut s, T0 + 200.0, KeyCode::Enter)).is_empty());
    assert!(toast_text(&s).contains("starts by itself"), "{:?}", s.toast);
}

#[test]
fn enter_on_a_room_that_just_appeared_joins_it_and_says_so() {
    let mut s = lobby();
    msg(&mut s, T0 + 100.0, ServerMsg::Rooms { rooms: vec![] });
    // Nothing listed yet: the list is asked for again at once, and the key answered.
    let fx = press(&mut s, T0 + 200.0, KeyCode::Enter);
    assert_eq!(sent(&fx), vec![ClientMsg::ListRooms]);
    assert!(toast_text(&s).contains("No public rooms yet"));
    // A room appears; Enter joins it straight away and says so.
    let mut listed = rooms();
    listed.truncate(1);
    msg(&mut s, T0 + 300.0, ServerMsg::Rooms { rooms: listed });
    let fx = press(&mut s, T0 + 310.0, KeyCode::Enter);
    assert_eq!(
        sent(&fx),
        vec![ClientMsg::JoinRoom {
            room_id: Some("r1".into()),
            code: None,
            ticket: None
        }]
    );
    assert!(
        toast_text(&s).contains("Joining “Friday moles”"),
        "{:?}",
        s.toast
    );
}

#[test]
fn the_seed_field_is_there_only_on_servers_that_take_a_seed() {
    let create = |seeded: bool| {
        let mut s = lobby();
        welcome(&mut s, T0 + 50.0, seeded);
        press(&mut s, T0 + 100.0, KeyCode::Char('c'));
        s
    };
    // An ordinary server: Tab cycles name, visibility, round; no seed anywhere.
    let mut s = create(false);
    let mut seen = Vec::new();
    for _ in 0..4 {
        press(&mut s, T0 + 100.0, KeyCode::Tab);
        if let Some(Modal::Create(form)) = &s.modal {
            seen.push(form.focus);
        }
    }
    assert!(!seen.contains(&CreateField::Seed), "{seen:?}");
    press(&mut s, T0 + 100.0, KeyCode::BackTab);
    assert!(!matches!(&s.modal, Some(Modal::Create(f)) if f.focus == CreateField::Seed));
    assert!(!screen(&s).contains("Seed"), "{}", screen(&s));
    let fx = press(&mut s, T0 + 100.0, KeyCode::Enter);
    assert!(matches!(
        sent(&fx).as_slice(),
        [ClientMsg::CreateRoom { seed: None, .. }]
    ));
    // A test server that takes seeds: the field is there and used.
    let mut s = create(true);
    assert!(screen(&s).contains("Seed"));
    for _ in 0..3 {
        press(&mut s, T0 + 100.0, KeyCode::Tab);
    }
    press(&mut s, T0 + 100.0, KeyCode::Char('7'));
    let fx = press(&mut s, T0 + 100.0, KeyCode::Enter);
    assert!(matches!(
        sent(&fx).as_slice(),
        [ClientMsg::CreateRoom { seed: Some(7), .. }]
    ));
}

#[test]
fn whack_join_code_goes_straight_into_the_room_or_says_the_code_is_wrong() {
    let mut s = fresh();
    s.join_code = Some("BCDFGHJK".into());
    update(&mut s, T0, Action::Login(LoginEvent::AlreadyLoggedIn));
    update(&mut s, T0 + 5.0, Action::Net(NetEvent::Connected));
    let fx = welcome(&mut s, T0 + 10.0, false);
    assert_eq!(
        sent(&fx),
        vec![
            ClientMsg::JoinRoom {
                room_id: None,
                code: Some("BCDFGHJK".into()),
                ticket: None
            },
            ClientMsg::ListRooms
        ]
    );
    msg(
        &mut s,
        T0 + 20.0,
        ServerMsg::Error {
            code: "no_such_room".into(),
            message: "no such room".into(),
        },
    );
    assert!(matches!(s.screen, Screen::Lobby(_)));
    // Clear, and up long enough to be read after the screen changed.
    update(&mut s, T0 + 8_000.0, Action::Tick);
    assert!(
        screen(&s).contains("No room has the code BCDF-GHJK"),
        "{}",
        screen(&s)
    );
    // Once: a reconnect does not try the code again.
    drop_connection(&mut s, T0 + 9_000.0, "reset");
    let fx = welcome(&mut s, T0 + 10_000.0, false);
    assert_eq!(sent(&fx), vec![ClientMsg::ListRooms]);
}

#[test]
fn quitting_before_a_login_worked_counts_as_a_failure() {
    let mut s = waiting_login();
    assert!(s.login_unfinished());
    update(&mut s, T0, Action::Login(LoginEvent::Denied));
    assert!(s.login_unfinished(), "quitting from the error box exits 1");
    let s = lobby();
    assert!(!s.login_unfinished());
    assert_eq!(s.conn, Conn::Online);
}

#[test]
fn the_login_screen_asks_for_the_code_and_shows_the_whole_link() {
    let s = waiting_login();
    let text = screen(&s);
    assert!(!text.contains("Check that it shows"), "{text}");
    assert!(text.contains("Enter this code there"), "{text}");
    assert!(
        text.contains("http://localhost:8080/device?user_code=BCDF-GHJK"),
        "the full link is shown as text:\n{text}"
    );
}
