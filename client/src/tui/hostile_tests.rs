//! A hostile server's frames through the real decoder, `update` and the real
//! terminal backend: names keep no escape sequence, absurd times panic nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::tui::action::{Action, NetEvent};
use crate::tui::fixtures::*;
use crate::tui::net;
use crate::tui::state::State;
use crate::tui::ui::draw;
use crate::tui::update::update;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

/// Frames as a hostile server would write them (JSON escapes and raw C1 alike).
const FRAMES: &[&str] = &[
    r#"{"type":"room_state","room":{"id":"r9","name":"\u001b]0;pwned\u0007den","host":"p-alice",
        "state":"waiting","round_secs":60,"players":[
        {"id":"p-alice","name":"alice","score":0,"connected":true},
        {"id":"p-evil","name":"ev\u001b[2J\u001b[Hil\u0007","score":2147483647,"connected":true}]}}"#,
    "{\"type\":\"error\",\"code\":\"x\",\"message\":\"nope\u{9b}31m\\u001b]8;;http://evil\\u0007\"}",
    r#"{"type":"countdown","starts_at":1e308}"#,
    r#"{"type":"mole_up","mole_id":"m\u001b","hole":200,"kind":"golden","up_at":-1e308,"down_at":1e308}"#,
    r#"{"type":"mole_down","mole_id":"m","hole":255,"reason":"whacked","by":"p-evil","points":-2147483648}"#,
    r#"{"type":"score","player_id":"p-alice","score":-2147483648,"delta":-2147483648,"reason":"late","by":"p-evil"}"#,
    r#"{"type":"pong","t":1e308,"server_time":-1e308}"#,
    r#"{"type":"reauth_ok","expires_at":1e308}"#,
    r#"{"type":"game_over","ranking":[{"player_id":"p-evil","name":"\u001b[31mev\u009bil","score":1,
        "hits":4294967295,"misses":0,"bombs":0,"rank":4294967295}]}"#,
];

fn apply(s: &mut State, now: f64, frame: &str) {
    let msg = net::decode(frame).unwrap_or_else(|e| panic!("{frame}: {e}"));
    update(s, now, Action::Net(NetEvent::Msg(msg)));
}

fn no_controls(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

#[test]
fn hostile_names_reach_the_state_and_the_screen_without_escapes() {
    let mut s = lobby();
    apply(&mut s, T0 + 100.0, FRAMES[0]);
    let room = s.room.as_ref().expect("seated");
    assert_eq!(room.name, "]0;pwnedden");
    assert_eq!(room.players[1].name, "ev[2J[Hil");
    apply(&mut s, T0 + 200.0, FRAMES[1]);
    let toast = s.toast.as_ref().expect("the error is shown");
    assert!(no_controls(&toast.text), "{:?}", toast.text);

    // The bytes the real terminal backend writes: crossterm's own colour and cursor
    // sequences, but no OSC (title, hyperlink), bell, screen clear or 8-bit CSI.
    let mut bytes = Vec::new();
    {
        // A fixed viewport: no terminal to ask for its size.
        let viewport = Viewport::Fixed(Rect::new(0, 0, s.size.0, s.size.1));
        let mut terminal = Terminal::with_options(
            CrosstermBackend::new(&mut bytes),
            TerminalOptions { viewport },
        )
        .unwrap();
        terminal.draw(|f| draw(f, &s)).unwrap();
    }
    let written = String::from_utf8_lossy(&bytes);
    assert!(written.contains("ev[2J[Hil"), "the name is not drawn");
    for bad in ["\u{1b}]", "\u{7}", "\u{1b}[2J", "\u{9b}"] {
        assert!(!written.contains(bad), "{bad:?} reached the terminal");
    }
}

#[test]
fn absurd_numbers_in_every_message_panic_nothing() {
    let mut s = lobby();
    let mut now = T0;
    for frame in FRAMES {
        now += 50.0;
        apply(&mut s, now, frame);
        for (w, h) in [(80, 24), (200, 50), (20, 5)] {
            s.size = (w, h);
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| draw(f, &s)).unwrap();
            let screen = terminal.backend().to_string();
            assert!(no_controls(&screen.replace('\n', "")), "{frame}");
        }
        assert!(s.next_wakeup().is_none_or(f64::is_finite), "{frame}");
        update(&mut s, now + 10_000.0, Action::Tick);
    }
    if let Some(room) = &s.room {
        assert!(room.starts_at.is_none_or(f64::is_finite));
        assert!(room.moles.iter().all(|m| m.down_at.is_finite()));
    }
    assert!(s.clock_offset.is_finite());
}
