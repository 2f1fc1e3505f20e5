//! `update` through the key flows: login → lobby → room → game → results, and the
//! unhappy paths (denied, expired, dropped connection, lost login).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::tui::action::{Action, LoginEvent, NetEvent};
use crate::tui::effect::Effect;
use crate::tui::fixtures::*;
use crate::tui::layout;
use crate::tui::state::{Conn, FlashKind, LoginPhase, Modal, Screen, State};
use crate::tui::update::update;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use whack_shared::protocol::{
    ClientMsg, MoleDownReason, MoleKind, RoomPhase, ScoreReason, ServerMsg,
};

fn click(s: &mut State, now: f64, col: u16, row: u16) -> Vec<Effect> {
    let ev = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: col,
        row,
        modifiers: KeyModifiers::NONE,
    };
    update(s, now, Action::Mouse(ev))
}

#[test]
fn login_to_lobby_to_room_to_game_to_results_and_back() {
    // Login: a code is shown, the browser is opened, approval enters the lobby.
    let mut s = fresh();
    let fx = update(
        &mut s,
        T0,
        Action::Login(LoginEvent::Code {
            user_code: "BCDF-GHJK".into(),
            verification_uri: "http://localhost:8080/device".into(),
            verification_uri_complete: "http://localhost:8080/device?user_code=BCDF-GHJK".into(),
            expires_at: T0 + 600_000.0,
        }),
    );
    assert_eq!(
        fx,
        vec![Effect::OpenBrowser(
            "http://localhost:8080/device?user_code=BCDF-GHJK".into()
        )]
    );
    let Screen::Login(LoginPhase::Waiting(p)) = &s.screen else {
        panic!("{:?}", s.screen)
    };
    assert!(
        p.qr.as_ref().is_some_and(|q| q.width() >= 21),
        "a QR code is prepared"
    );
    let fx = update(&mut s, T0 + 5_000.0, Action::Login(LoginEvent::Approved));
    assert!(matches!(s.screen, Screen::Lobby(_)));
    assert_eq!(fx, vec![Effect::Connect]);

    // Lobby: welcomed (by a test server that takes seeds), stats asked for, rooms
    // listed, a room created.
    let fx = msg(
        &mut s,
        T0 + 5_100.0,
        ServerMsg::Welcome {
            protocol_version: 1,
            player: alice(),
            server_time: T0 + 5_100.0,
            seeded_rooms: true,
        },
    );
    assert_eq!(s.conn, Conn::Online);
    assert!(fx.contains(&Effect::FetchMe));
    assert!(fx.contains(&Effect::Send(ClientMsg::ListRooms)));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Send(ClientMsg::Ping { .. })))
    );
    msg(&mut s, T0 + 5_200.0, ServerMsg::Rooms { rooms: rooms() });
    assert_eq!(s.rooms.len(), 4);
    press(&mut s, T0 + 6_000.0, KeyCode::Char('c'));
    for c in "duel".chars() {
        press(&mut s, T0 + 6_000.0, KeyCode::Char(c));
    }
    press(&mut s, T0 + 6_000.0, KeyCode::Tab);
    press(&mut s, T0 + 6_000.0, KeyCode::Tab);
    press(&mut s, T0 + 6_000.0, KeyCode::Left); // 55 s
    press(&mut s, T0 + 6_000.0, KeyCode::Tab);
    for c in "42".chars() {
        press(&mut s, T0 + 6_000.0, KeyCode::Char(c));
    }
    let fx = press(&mut s, T0 + 6_100.0, KeyCode::Enter);
    assert_eq!(
        sent(&fx),
        vec![ClientMsg::CreateRoom {
            name: Some("duel".into()),
            private: false,
            round_secs: Some(55),
            seed: Some(42),
        }]
    );
    assert_eq!(s.modal, None);

    // Room: the host starts.
    msg(
        &mut s,
        T0 + 6_200.0,
        ServerMsg::RoomState {
            room: room_view(RoomPhase::Waiting, "p-alice", false),
        },
    );
    assert_eq!(s.screen, Screen::Room);
    let fx = press(&mut s, T0 + 7_000.0, KeyCode::Enter);
    assert_eq!(sent(&fx), vec![ClientMsg::StartGame]);

    // Game: whacks before the start do nothing; then hit, miss, late.
    msg(
        &mut s,
        T0 + 7_010.0,
        ServerMsg::Countdown {
            starts_at: T0 + 10_000.0,
        },
    );
    assert!(matches!(s.screen, Screen::Game(_)));
    assert!(sent(&press(&mut s, T0 + 8_000.0, KeyCode::Char('5'))).is_empty());
    msg(
        &mut s,
        T0 + 10_100.0,
        mole("m1", 4, MoleKind::Golden, T0 + 10_100.0),
    );
    let fx = press(&mut s, T0 + 10_300.0, KeyCode::Char('5'));
    assert_eq!(sent(&fx), vec![ClientMsg::Whack { hole: 4 }]);
    msg(
        &mut s,
        T0 + 10_302.0,
        ServerMsg::MoleDown {
            mole_id: "m1".into(),
            hole: 4,
            reason: MoleDownReason::Whacked,
            by: Some("p-alice".into()),
            points: Some(3),
        },
    );
    msg(
        &mut s,
        T0 + 10_302.0,
        ServerMsg::Score {
            player_id: "p-alice".into(),
            score: 3,
            delta: 3,
            reason: ScoreReason::Golden,
            by: None,
        },
    );
    let Screen::Game(g) = &s.screen else { panic!() };
    assert_eq!(
        g.flashes[4].as_ref().map(|f| &f.kind),
        Some(&FlashKind::Hit(MoleKind::Golden, 3))
    );
    assert_eq!(g.last_whack_ms, Some(2.0));
    assert_eq!(s.room.as_ref().unwrap().players[0].score, 3);
    assert!(
        s.room.as_ref().unwrap().moles.is_empty(),
        "the mole went down for everyone"
    );

    // Letters work like the numpad; `q` whacks, it does not quit.
    let fx = press(&mut s, T0 + 11_000.0, KeyCode::Char('q'));
    assert_eq!(sent(&fx), vec![ClientMsg::Whack { hole: 0 }]);
    assert!(!s.quit);
    msg(
        &mut s,
        T0 + 11_003.0,
        ServerMsg::Score {
            player_id: "p-alice".into(),
            score: 2,
            delta: -1,
            reason: ScoreReason::Miss,
            by: None,
        },
    );
    let Screen::Game(g) = &s.screen else { panic!() };
    assert_eq!(
        g.flashes[0].as_ref().map(|f| &f.kind),
        Some(&FlashKind::Miss(-1))
    );
    press(&mut s, T0 + 12_000.0, KeyCode::Char('c'));
    msg(
        &mut s,
        T0 + 12_001.0,
        ServerMsg::Score {
            player_id: "p-alice".into(),
            score: 2,
            delta: 0,
            reason: ScoreReason::Late,
            by: Some("p-bob".into()),
        },
    );
    let Screen::Game(g) = &s.screen else { panic!() };
    assert_eq!(
        g.flashes[8].as_ref().map(|f| &f.kind),
        Some(&FlashKind::Late("bob".into()))
    );
    assert!(g.last.as_deref().unwrap_or_default().contains("bob got it"));
    // Feedback fades.
    update(&mut s, T0 + 13_000.0, Action::Tick);
    let Screen::Game(g) = &s.screen else { panic!() };
    assert!(g.flashes.iter().all(Option::is_none));

    // Results, with fresh stats fetched.
    s.me = Some(me());
    let fx = msg(
        &mut s,
        T0 + 70_000.0,
        ServerMsg::GameOver { ranking: ranking() },
    );
    assert!(matches!(&s.screen, Screen::Results(r) if r.ranking.len() == 3));
    assert!(fx.contains(&Effect::FetchMe));
    // A room_state after the round does not yank the player off the results.
    msg(
        &mut s,
        T0 + 70_010.0,
        ServerMsg::RoomState {
            room: room_view(RoomPhase::Finished, "p-alice", false),
        },
    );
    assert!(matches!(s.screen, Screen::Results(_)));

    // Play again (host: starts), then back to the lobby.
    let fx = press(&mut s, T0 + 71_000.0, KeyCode::Enter);
    assert_eq!(s.screen, Screen::Room);
    assert_eq!(sent(&fx), vec![ClientMsg::StartGame]);
    let fx = press(&mut s, T0 + 72_000.0, KeyCode::Esc);
    assert_eq!(sent(&fx), vec![ClientMsg::LeaveRoom, ClientMsg::ListRooms]);
    assert!(matches!(s.screen, Screen::Lobby(_)));
    assert!(s.room.is_none());
}

#[test]
fn denied_and_expired_offer_a_new_code() {
    for event in [
        LoginEvent::Denied,
        LoginEvent::Expired,
        LoginEvent::ServerDown("refused".into()),
    ] {
        let mut s = waiting_login();
        update(&mut s, T0, Action::Login(event));
        let fx = press(&mut s, T0, KeyCode::Enter);
        assert_eq!(fx, vec![Effect::StartLogin]);
        assert_eq!(s.screen, Screen::Login(LoginPhase::Requesting));
    }
    let mut s = waiting_login();
    assert_eq!(
        press(&mut s, T0, KeyCode::Char('n')),
        vec![Effect::StartLogin]
    );
    assert!(matches!(
        press(&mut s, T0, KeyCode::Char('q')).as_slice(),
        [Effect::Quit]
    ));
}

#[test]
fn a_dropped_connection_rejoins_the_room() {
    let mut s = countdown();
    update(
        &mut s,
        T0 + 2_500.0,
        Action::Net(NetEvent::Disconnected {
            reason: "reset".into(),
            retry_in_ms: 500.0,
        }),
    );
    assert!(matches!(s.conn, Conn::Retrying { .. }));
    assert!(
        matches!(s.screen, Screen::Game(_)),
        "the board stays, with a note"
    );
    assert!(sent(&press(&mut s, T0 + 2_600.0, KeyCode::Char('5'))).is_empty());
    let fx = msg(
        &mut s,
        T0 + 3_100.0,
        ServerMsg::Welcome {
            protocol_version: 1,
            player: alice(),
            server_time: T0 + 3_100.0,
            seeded_rooms: false,
        },
    );
    assert_eq!(
        sent(&fx),
        vec![ClientMsg::JoinRoom {
            room_id: Some("r9".into()),
            code: None,
            ticket: None
        }]
    );
    msg(
        &mut s,
        T0 + 3_110.0,
        ServerMsg::RoomState {
            room: room_view(RoomPhase::Countdown, "p-alice", false),
        },
    );
    assert!(matches!(s.screen, Screen::Game(_)));
    assert!(!s.rejoining);

    // When the room is gone, the player lands in the lobby with a message.
    let mut s = in_room("p-alice", false);
    update(
        &mut s,
        T0 + 500.0,
        Action::Net(NetEvent::Disconnected {
            reason: "server restart".into(),
            retry_in_ms: 500.0,
        }),
    );
    msg(
        &mut s,
        T0 + 1_000.0,
        ServerMsg::Welcome {
            protocol_version: 1,
            player: alice(),
            server_time: T0 + 1_000.0,
            seeded_rooms: false,
        },
    );
    let fx = msg(
        &mut s,
        T0 + 1_010.0,
        ServerMsg::Error {
            code: "no_such_room".into(),
            message: "no such room".into(),
        },
    );
    assert!(matches!(s.screen, Screen::Lobby(_)));
    assert!(s.room.is_none());
    assert!(sent(&fx).contains(&ClientMsg::ListRooms));
    assert!(
        s.toast
            .as_ref()
            .is_some_and(|t| t.text.contains("no longer exists"))
    );
}

#[test]
fn a_seat_taken_to_another_connection_returns_to_the_lobby() {
    let mut s = playing();
    let fx = msg(
        &mut s,
        T0 + 21_000.0,
        ServerMsg::Error {
            code: "seat_moved".into(),
            message: "you took your seat to another connection".into(),
        },
    );
    assert!(matches!(s.screen, Screen::Lobby(_)));
    assert!(s.room.is_none());
    assert!(sent(&fx).contains(&ClientMsg::ListRooms));
}

#[test]
fn r_retries_at_once_while_reconnecting() {
    let mut s = lobby();
    update(
        &mut s,
        T0 + 100.0,
        Action::Net(NetEvent::Disconnected {
            reason: "refused".into(),
            retry_in_ms: 8_000.0,
        }),
    );
    assert_eq!(
        press(&mut s, T0 + 200.0, KeyCode::Char('r')),
        vec![Effect::ReconnectNow]
    );
}

#[test]
fn a_lost_login_returns_to_the_login_screen() {
    let mut s = in_room("p-alice", false);
    let fx = update(&mut s, T0 + 500.0, Action::Net(NetEvent::AuthLost));
    assert_eq!(fx, vec![Effect::StartLogin]);
    assert_eq!(s.screen, Screen::Login(LoginPhase::Requesting));
    assert_eq!(s.conn, Conn::Offline);
    assert!(s.room.is_none() && s.me.is_none());
}

#[test]
fn logout_asks_first() {
    let mut s = lobby();
    assert!(press(&mut s, T0 + 100.0, KeyCode::Char('o')).is_empty());
    assert_eq!(s.modal, Some(Modal::ConfirmLogout));
    assert!(press(&mut s, T0 + 100.0, KeyCode::Char('n')).is_empty());
    assert_eq!(s.modal, None);
    press(&mut s, T0 + 100.0, KeyCode::Char('o'));
    let fx = press(&mut s, T0 + 100.0, KeyCode::Char('y'));
    assert_eq!(fx, vec![Effect::Logout, Effect::StartLogin]);
}

#[test]
fn join_by_code_quick_match_and_selection() {
    let mut s = lobby();
    press(&mut s, T0 + 100.0, KeyCode::Char('j'));
    // Too short: not sent, the dialog stays.
    for c in "bcd".chars() {
        press(&mut s, T0 + 100.0, KeyCode::Char(c));
    }
    assert!(sent(&press(&mut s, T0 + 100.0, KeyCode::Enter)).is_empty());
    // Dashes and digits are skipped, a ninth letter is not taken, and
    // Backspace takes one back.
    for c in "f-3ghjkxz".chars() {
        press(&mut s, T0 + 100.0, KeyCode::Char(c));
    }
    assert_eq!(s.modal, Some(Modal::JoinCode("BCDFGHJK".into())));
    press(&mut s, T0 + 100.0, KeyCode::Backspace);
    press(&mut s, T0 + 100.0, KeyCode::Char('q'));
    let fx = press(&mut s, T0 + 100.0, KeyCode::Enter);
    assert_eq!(
        sent(&fx),
        vec![ClientMsg::JoinRoom {
            room_id: None,
            code: Some("BCDFGHJQ".into()),
            ticket: None
        }]
    );
    assert_eq!(
        sent(&press(&mut s, T0 + 100.0, KeyCode::Char('m'))),
        vec![ClientMsg::QuickMatch]
    );
    press(&mut s, T0 + 100.0, KeyCode::Down);
    press(&mut s, T0 + 100.0, KeyCode::Down);
    let fx = press(&mut s, T0 + 100.0, KeyCode::Enter);
    assert_eq!(
        sent(&fx),
        vec![ClientMsg::JoinRoom {
            room_id: Some("r3".into()),
            code: None,
            ticket: None
        }]
    );
}

#[test]
fn mouse_clicks_whack_holes_select_rooms_and_press_footer_buttons() {
    let mut s = playing();
    s.size = (80, 24);
    let body = layout::bands(Rect::new(0, 0, 80, 24)).body;
    let holes = layout::board(body).holes;
    for (i, r) in holes.iter().enumerate() {
        let fx = click(&mut s, T0 + 21_000.0, r.x + r.width / 2, r.y + r.height / 2);
        assert_eq!(
            sent(&fx),
            vec![ClientMsg::Whack { hole: i as u8 }],
            "hole {i} at {r:?}"
        );
    }
    // Between holes or on the side panel: nothing.
    let side = layout::board(body).side;
    assert!(sent(&click(&mut s, T0 + 21_000.0, side.x + 2, side.y + 2)).is_empty());

    let mut s = lobby();
    s.size = (80, 24);
    let list = layout::lobby(body).list;
    click(&mut s, T0 + 100.0, list.x + 5, list.y + 2 + 2);
    assert!(matches!(&s.screen, Screen::Lobby(l) if l.selected == 2));
    let fx = click(&mut s, T0 + 100.0, list.x + 5, list.y + 2 + 2);
    assert_eq!(
        sent(&fx),
        vec![ClientMsg::JoinRoom {
            room_id: Some("r3".into()),
            code: None,
            ticket: None
        }]
    );
    // The footer's first button is "Enter join"; "m quick match" comes next.
    let footer = layout::bands(Rect::new(0, 0, 80, 24)).footer;
    let buttons = layout::footer_buttons(&s, footer);
    let (quick, _) = buttons.iter().find(|(_, h)| h.keys == "m").unwrap();
    let fx = click(&mut s, T0 + 100.0, quick.x + 1, quick.y);
    assert_eq!(sent(&fx), vec![ClientMsg::QuickMatch]);
}

#[test]
fn pings_measure_round_trip_and_the_idle_lobby_sleeps() {
    let mut s = lobby();
    assert_eq!(s.rtt_ms, Some(4.0));
    // Idle lobby: the next wake-up is seconds away, not a busy loop.
    let next = s.next_wakeup().unwrap();
    assert!(next - s.now >= 1_000.0, "wakes in {} ms", next - s.now);
    let fx = update(&mut s, T0 + 5_100.0, Action::Tick);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Send(ClientMsg::Ping { t }) if *t == T0 + 5_100.0))
    );
    msg(
        &mut s,
        T0 + 5_107.0,
        ServerMsg::Pong {
            t: T0 + 5_100.0,
            server_time: T0 + 5_103.5,
        },
    );
    assert_eq!(s.rtt_ms, Some(7.0));
    assert!(s.clock_offset.abs() < 1.0);

    // Nothing visible changes on a timer tick or an identical room list: no redraw.
    let before = s.clone();
    update(&mut s, T0 + 10_200.0, Action::Tick);
    msg(&mut s, T0 + 10_201.0, ServerMsg::Rooms { rooms: rooms() });
    assert!(!s.looks_different(&before));
    assert!(!s.animates());
    msg(&mut s, T0 + 10_202.0, ServerMsg::Rooms { rooms: vec![] });
    assert!(s.looks_different(&before));
}

#[test]
fn ctrl_c_and_help() {
    let mut s = playing();
    press(&mut s, T0, KeyCode::Char('?'));
    assert!(s.help);
    assert!(
        sent(&press(&mut s, T0, KeyCode::Char('5'))).is_empty(),
        "keys go to the help first"
    );
    press(&mut s, T0, KeyCode::Esc);
    assert!(!s.help);
    let fx = update(
        &mut s,
        T0,
        Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert_eq!(fx, vec![Effect::Quit]);
    assert!(s.quit);
}

#[test]
fn a_pushed_room_list_keeps_the_cursor_on_its_room_and_enter_joins_it() {
    let joins = |fx: &[Effect]| {
        sent(fx)
            .into_iter()
            .filter_map(|m| match m {
                ClientMsg::JoinRoom { room_id, .. } => room_id,
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // On "quick-7" (third row); then "Friday moles" above it closes and a new
    // room opens below, in a list the server pushed unasked.
    let mut s = lobby();
    press(&mut s, T0 + 100.0, KeyCode::Down);
    press(&mut s, T0 + 100.0, KeyCode::Down);
    let mut pushed = rooms();
    pushed.remove(0);
    let mut new = pushed[0].clone();
    new.id = "r5".into();
    pushed.push(new);
    msg(&mut s, T0 + 200.0, ServerMsg::Rooms { rooms: pushed });
    let fx = press(&mut s, T0 + 210.0, KeyCode::Enter);
    assert_eq!(joins(&fx), vec!["r3".to_owned()]);

    // A room that appears in an empty lobby is joined by the very next Enter.
    let mut s = lobby();
    msg(&mut s, T0 + 100.0, ServerMsg::Rooms { rooms: vec![] });
    let mut first = rooms();
    first.truncate(1);
    msg(&mut s, T0 + 150.0, ServerMsg::Rooms { rooms: first });
    let fx = press(&mut s, T0 + 160.0, KeyCode::Enter);
    assert_eq!(joins(&fx), vec!["r1".to_owned()]);

    // The selected room itself closed: the cursor stays in the list.
    let mut s = lobby();
    for _ in 0..3 {
        press(&mut s, T0 + 100.0, KeyCode::Down);
    }
    let mut fewer = rooms();
    fewer.truncate(2);
    msg(&mut s, T0 + 200.0, ServerMsg::Rooms { rooms: fewer });
    assert!(matches!(&s.screen, Screen::Lobby(l) if l.selected == 1));
}
