//! Every screen and state drawn at 80×24 and 200×50, with and without colour.
//! Colour snapshots are the text plus a style map (see [`style_map`]); `NO_COLOR`
//! ones are the plain text a player sees, and must hold no colour at all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::tui::action::{Action, LoginEvent, NetEvent};
use crate::tui::fixtures::*;
use crate::tui::state::State;
use crate::tui::style_map;
use crate::tui::ui::draw;
use crate::tui::update::update;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use whack_shared::protocol::{MoleDownReason, MoleKind, ScoreReason, ServerMsg};

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

fn render(state: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, state)).unwrap();
    terminal
}

fn snap(name: &str, state: &State) {
    for (w, h) in SIZES {
        for colour in [true, false] {
            let mut s = state.clone();
            s.colour = colour;
            s.size = (w, h);
            let terminal = render(&s, w, h);
            let buffer = terminal.backend().buffer();
            if colour {
                insta::assert_snapshot!(
                    format!("{name}_{w}x{h}_colour"),
                    style_map::render(buffer)
                );
            } else {
                let colourless = buffer
                    .content
                    .iter()
                    .all(|c| c.fg == Color::Reset && c.bg == Color::Reset);
                assert!(colourless, "{name} at {w}x{h} uses colour under NO_COLOR");
                insta::assert_snapshot!(format!("{name}_{w}x{h}_nocolor"), terminal.backend());
            }
        }
    }
}

fn key(s: &mut State, now: f64, code: KeyCode) {
    update(s, now, Action::Key(KeyEvent::from(code)));
}

#[test]
fn login_states() {
    let mut s = fresh();
    snap("login_checking", &s);
    update(&mut s, T0, Action::Login(LoginEvent::Failed("x".into())));
    key(&mut s, T0, KeyCode::Enter);
    snap("login_requesting", &s);
    let mut w = waiting_login();
    update(&mut w, T0 + 61_000.0, Action::Tick);
    snap("login_waiting", &w);
    update(
        &mut w,
        T0 + 61_000.0,
        Action::Login(LoginEvent::BrowserOpened(false)),
    );
    snap("login_waiting_no_browser", &w);
    for (name, event) in [
        ("login_denied", LoginEvent::Denied),
        ("login_expired", LoginEvent::Expired),
        (
            "login_server_down",
            LoginEvent::ServerDown(
                "could not connect to http://localhost:8080 (connection refused)".into(),
            ),
        ),
        (
            "login_failed",
            LoginEvent::Failed("The OS keyring did not answer within 5 s.".into()),
        ),
        (
            "login_failed_long",
            LoginEvent::Failed(
                "could not store the login: no OS keyring is reachable (zbus error: \
                 org.freedesktop.DBus.Error.ServiceUnknown); start a Secret Service \
                 (e.g. gnome-keyring or KeePassXC) in your desktop session, or pass \
                 --insecure-storage to keep the token in a plain 0600 file instead"
                    .into(),
            ),
        ),
    ] {
        let mut s = waiting_login();
        update(&mut s, T0 + 2_000.0, Action::Login(event));
        snap(name, &s);
    }
}

#[test]
fn lobby_states() {
    let s = lobby();
    snap("lobby_rooms", &s);

    let mut empty = lobby();
    msg(&mut empty, T0 + 30.0, ServerMsg::Rooms { rooms: vec![] });
    snap("lobby_empty", &empty);

    let mut board = lobby();
    key(&mut board, T0 + 40.0, KeyCode::Char('l'));
    snap("lobby_leaderboard_loading", &board);
    update(&mut board, T0 + 50.0, Action::Leaderboard(leaderboard()));
    snap("lobby_leaderboard", &board);

    let mut create = lobby();
    key(&mut create, T0 + 40.0, KeyCode::Down);
    key(&mut create, T0 + 40.0, KeyCode::Char('c'));
    for c in "moles!".chars() {
        key(&mut create, T0 + 40.0, KeyCode::Char(c));
    }
    key(&mut create, T0 + 40.0, KeyCode::Tab);
    key(&mut create, T0 + 40.0, KeyCode::Char(' '));
    snap("lobby_create", &create);

    let mut join = lobby();
    key(&mut join, T0 + 40.0, KeyCode::Char('j'));
    for c in "qwrt-p".chars() {
        key(&mut join, T0 + 40.0, KeyCode::Char(c));
    }
    snap("lobby_join_code", &join);

    let mut logout = lobby();
    key(&mut logout, T0 + 40.0, KeyCode::Char('o'));
    snap("lobby_confirm_logout", &logout);

    let mut help = lobby();
    key(&mut help, T0 + 40.0, KeyCode::Char('?'));
    snap("lobby_help", &help);

    let mut down = lobby();
    update(
        &mut down,
        T0 + 40.0,
        Action::Net(NetEvent::Disconnected {
            reason: "the server closed the connection".into(),
            retry_in_ms: 4_000.0,
        }),
    );
    snap("lobby_reconnecting", &down);

    let mut insecure = lobby();
    insecure.insecure_storage =
        Some("file ~/.config/whack/token-http_localhost_8080 (insecure)".into());
    snap("lobby_insecure_storage", &insecure);

    let mut toast = lobby();
    msg(
        &mut toast,
        T0 + 40.0,
        ServerMsg::Error {
            code: "room_full".into(),
            message: "That room is full.".into(),
        },
    );
    snap("lobby_error_toast", &toast);
}

#[test]
fn room_states() {
    snap("room_host", &in_room("p-alice", false));
    snap("room_guest_private", &in_room("p-bob", true));
}

#[test]
fn game_states() {
    snap("game_countdown", &countdown());
    snap("game_playing", &playing());

    let mut fb = playing();
    let now = T0 + 3_900.0 + 17_100.0;
    // Hit on the normal mole (hole 0): pressed, then the server's answer.
    key(&mut fb, now, KeyCode::Char('7'));
    msg(
        &mut fb,
        now + 2.0,
        ServerMsg::MoleDown {
            mole_id: "m1".into(),
            hole: 0,
            reason: MoleDownReason::Whacked,
            by: Some("p-alice".into()),
            points: Some(1),
        },
    );
    // Miss on hole 2.
    key(&mut fb, now + 10.0, KeyCode::Char('e'));
    msg(
        &mut fb,
        now + 12.0,
        ServerMsg::Score {
            player_id: "p-alice".into(),
            score: 12,
            delta: -1,
            reason: ScoreReason::Miss,
            by: None,
        },
    );
    // Bob takes the golden mole; our late whack on it.
    msg(
        &mut fb,
        now + 20.0,
        ServerMsg::MoleDown {
            mole_id: "m2".into(),
            hole: 4,
            reason: MoleDownReason::Whacked,
            by: Some("p-bob".into()),
            points: Some(3),
        },
    );
    key(&mut fb, now + 25.0, KeyCode::Char('s'));
    msg(
        &mut fb,
        now + 27.0,
        ServerMsg::Score {
            player_id: "p-alice".into(),
            score: 12,
            delta: 0,
            reason: ScoreReason::Late,
            by: Some("p-bob".into()),
        },
    );
    // We whack the bomb.
    key(&mut fb, now + 30.0, KeyCode::Char('3'));
    msg(
        &mut fb,
        now + 32.0,
        ServerMsg::MoleDown {
            mole_id: "m3".into(),
            hole: 8,
            reason: MoleDownReason::Whacked,
            by: Some("p-alice".into()),
            points: Some(-3),
        },
    );
    // A whack still in flight on hole 6, and a fresh mole on hole 1.
    msg(
        &mut fb,
        now + 33.0,
        mole("m4", 1, MoleKind::Normal, now + 33.0),
    );
    key(&mut fb, now + 34.0, KeyCode::Char('z'));
    snap("game_feedback", &fb);

    let mut down = playing();
    update(
        &mut down,
        T0 + 21_000.0,
        Action::Net(NetEvent::Disconnected {
            reason: "connection reset".into(),
            retry_in_ms: 1_000.0,
        }),
    );
    snap("game_reconnecting", &down);
}

#[test]
fn results_state() {
    let mut s = playing();
    msg(
        &mut s,
        T0 + 64_000.0,
        ServerMsg::GameOver { ranking: ranking() },
    );
    snap("results_loading_stats", &s);
    let mut after = me();
    after.stats.games += 1;
    after.stats.wins += 1;
    after.stats.best_score = 31;
    update(&mut s, T0 + 64_100.0, Action::Me(after));
    snap("results", &s);
}

#[test]
fn too_small() {
    let mut s = lobby();
    s.colour = true;
    let terminal = render(&s, 40, 12);
    insta::assert_snapshot!(
        "too_small_40x12_colour",
        style_map::render(terminal.backend().buffer())
    );
    s.colour = false;
    let terminal = render(&s, 40, 12);
    insta::assert_snapshot!("too_small_40x12_nocolor", terminal.backend());
}

#[test]
fn resizing_never_panics() {
    let states = [
        fresh(),
        waiting_login(),
        lobby(),
        in_room("p-bob", true),
        countdown(),
        playing(),
    ];
    for s in &states {
        for w in [0u16, 1, 20, 59, 60, 61, 79, 80, 81, 120, 255] {
            for h in [0u16, 1, 10, 19, 20, 21, 24, 40, 80] {
                render(s, w, h);
            }
        }
    }
}
