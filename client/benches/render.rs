//! Frame render time of the TUI at 200×50 (target: median ≤ 1 ms).
//! A benchmark, not a test: it prints figures. Run with `cargo bench -p whack-client`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Instant;
use whack_client::tui::action::{Action, LoginEvent, NetEvent};
use whack_client::tui::state::State;
use whack_client::tui::ui::draw;
use whack_client::tui::update::update;
use whack_shared::api::{Me, PlayerStats};
use whack_shared::protocol::{
    MoleKind, PlayerRef, PlayerView, RoomPhase, RoomSummary, RoomView, ServerMsg,
};

const T0: f64 = 1_700_000_000_000.0;
const FRAMES: usize = 3_000;

fn net(s: &mut State, now: f64, m: ServerMsg) {
    update(s, now, Action::Net(NetEvent::Msg(m)));
}

fn lobby() -> State {
    let mut s = State::new("http://localhost:8080", true, (200, 50), T0);
    update(&mut s, T0, Action::Login(LoginEvent::AlreadyLoggedIn));
    update(
        &mut s,
        T0,
        Action::Me(Me {
            id: "p0".into(),
            name: "alice".into(),
            stats: PlayerStats {
                games: 12,
                wins: 5,
                best_score: 27,
                hits: 310,
                misses: 41,
                bombs: 9,
            },
        }),
    );
    net(
        &mut s,
        T0,
        ServerMsg::Welcome {
            protocol_version: 1,
            player: PlayerRef {
                id: "p0".into(),
                name: "alice".into(),
            },
            server_time: T0,
            seeded_rooms: false,
        },
    );
    let rooms = (0..30)
        .map(|i| RoomSummary {
            id: format!("r{i}"),
            name: format!("room number {i}"),
            players: i % 8 + 1,
            max_players: 8,
            state: RoomPhase::Waiting,
            round_secs: 60,
            code: Some("BCDF-GHJK".into()),
        })
        .collect();
    net(&mut s, T0, ServerMsg::Rooms { rooms });
    s
}

fn game() -> State {
    let mut s = lobby();
    let players = (0..8)
        .map(|i| PlayerView {
            id: format!("p{i}"),
            name: format!("player{i}"),
            score: i * 3,
            connected: true,
        })
        .collect();
    let room = RoomView {
        id: "r".into(),
        name: "bench".into(),
        code: None,
        private: false,
        host: "p0".into(),
        state: RoomPhase::Playing,
        round_secs: 60,
        starts_at: Some(T0),
        ends_at: Some(T0 + 60_000.0),
        players,
        moles: vec![],
        quick: false,
    };
    net(&mut s, T0, ServerMsg::RoomState { room });
    let kinds = [MoleKind::Normal, MoleKind::Golden, MoleKind::Bomb];
    for hole in 0..6u8 {
        let kind = kinds[usize::from(hole) % 3];
        net(
            &mut s,
            T0 + 1_000.0,
            ServerMsg::MoleUp {
                mole_id: format!("m{hole}"),
                hole,
                kind,
                up_at: T0 + 1_000.0,
                down_at: T0 + 2_000.0,
            },
        );
    }
    update(
        &mut s,
        T0 + 1_100.0,
        Action::Key(KeyEvent::from(KeyCode::Char('3'))),
    );
    s
}

fn measure(name: &str, mut state: State) {
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut times = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        // Move the clock so every frame has something new to draw (timer, spinner).
        state.now = T0 + 1_100.0 + i as f64;
        let start = Instant::now();
        terminal.draw(|f| draw(f, &state)).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    println!(
        "render {name:<6} 200x50: median {:>6.1} µs   p90 {:>6.1} µs   p99 {:>6.1} µs   ({FRAMES} frames)",
        pct(0.5),
        pct(0.9),
        pct(0.99)
    );
}

fn main() {
    measure("lobby", lobby());
    measure("game", game());
}
