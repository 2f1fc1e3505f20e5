//! Deterministic states for snapshot and flow tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::tui::action::{Action, LoginEvent, NetEvent};
use crate::tui::effect::Effect;
use crate::tui::state::State;
use crate::tui::update::update;
use whack_shared::api::{Leaderboard, LeaderboardEntry, Me, PlayerStats};
use whack_shared::protocol::{
    Millis, MoleKind, PlayerRef, PlayerView, RankingEntry, RoomPhase, RoomSummary, RoomView,
    ServerMsg,
};

/// A fixed local "now" (2023-11-14T22:13:20Z).
pub const T0: Millis = 1_700_000_000_000.0;

pub fn alice() -> PlayerRef {
    PlayerRef {
        id: "p-alice".into(),
        name: "alice".into(),
    }
}

pub fn me() -> Me {
    Me {
        id: "p-alice".into(),
        name: "alice".into(),
        stats: PlayerStats {
            games: 12,
            wins: 5,
            best_score: 27,
            hits: 310,
            misses: 41,
            bombs: 9,
        },
    }
}

pub fn fresh() -> State {
    State::new("http://localhost:8080", true, (80, 24), T0)
}

pub fn waiting_login() -> State {
    let mut s = fresh();
    update(
        &mut s,
        T0,
        Action::Login(LoginEvent::Code {
            user_code: "BCDF-GHJK".into(),
            verification_uri: "http://localhost:8080/device".into(),
            verification_uri_complete: "http://localhost:8080/device?user_code=BCDF-GHJK".into(),
            expires_at: T0 + 600_000.0,
        }),
    );
    update(
        &mut s,
        T0 + 1_000.0,
        Action::Login(LoginEvent::BrowserOpened(true)),
    );
    s
}

pub fn rooms() -> Vec<RoomSummary> {
    let r = |id: &str, name: &str, players, state, secs| RoomSummary {
        id: id.into(),
        name: name.into(),
        players,
        max_players: 8,
        state,
        round_secs: secs,
        code: Some(format!("{}-GHJK", "BCDF")),
    };
    vec![
        r("r1", "Friday moles", 3, RoomPhase::Waiting, 60),
        r("r2", "speed run", 8, RoomPhase::Playing, 15),
        r("r3", "quick-7", 2, RoomPhase::Countdown, 60),
        r("r4", "bob's burrow", 1, RoomPhase::Finished, 180),
    ]
}

/// Logged in, connected, welcomed, stats known, rooms listed.
pub fn lobby() -> State {
    let mut s = fresh();
    update(&mut s, T0, Action::Login(LoginEvent::AlreadyLoggedIn));
    update(&mut s, T0, Action::Me(me()));
    online(&mut s, T0);
    update(
        &mut s,
        T0 + 20.0,
        Action::Net(NetEvent::Msg(ServerMsg::Rooms { rooms: rooms() })),
    );
    s
}

pub fn online(s: &mut State, now: Millis) {
    update(s, now, Action::Net(NetEvent::Connected));
    update(
        s,
        now,
        Action::Net(NetEvent::Msg(ServerMsg::Welcome {
            protocol_version: 1,
            player: alice(),
            server_time: now,
            seeded_rooms: false,
        })),
    );
    update(
        s,
        now + 4.0,
        Action::Net(NetEvent::Msg(ServerMsg::Pong {
            t: now,
            server_time: now + 2.0,
        })),
    );
}

pub fn leaderboard() -> Leaderboard {
    let e = |rank, id: &str, name: &str, best, wins, games| LeaderboardEntry {
        rank,
        player_id: id.into(),
        name: name.into(),
        best_score: best,
        wins,
        games,
    };
    Leaderboard {
        entries: vec![
            e(1, "p-carol", "carol", 41, 20, 33),
            e(2, "p-bob", "bob", 33, 8, 19),
            e(3, "p-alice", "alice", 27, 5, 12),
            e(3, "p-dave", "dave", 27, 2, 4),
        ],
    }
}

pub fn room_view(state: RoomPhase, host: &str, private: bool) -> RoomView {
    let p = |id: &str, name: &str, score, connected| PlayerView {
        id: id.into(),
        name: name.into(),
        score,
        connected,
    };
    RoomView {
        id: "r9".into(),
        name: "Friday moles".into(),
        // Every room has a join code; private ones are joined by it only.
        code: Some("QWRT-PLMK".into()),
        private,
        host: host.into(),
        state,
        round_secs: 60,
        starts_at: None,
        ends_at: None,
        players: vec![
            p("p-alice", "alice", 0, true),
            p("p-bob", "bob", 0, true),
            p("p-carol", "carol", 0, false),
        ],
        moles: vec![],
        quick: false,
    }
}

pub fn msg(s: &mut State, now: Millis, m: ServerMsg) -> Vec<crate::tui::effect::Effect> {
    update(s, now, Action::Net(NetEvent::Msg(m)))
}

/// In a room as host, waiting.
pub fn in_room(host: &str, private: bool) -> State {
    let mut s = lobby();
    msg(
        &mut s,
        T0 + 100.0,
        ServerMsg::RoomState {
            room: room_view(RoomPhase::Waiting, host, private),
        },
    );
    s
}

/// Two seconds into a countdown of three.
pub fn countdown() -> State {
    let mut s = in_room("p-alice", false);
    msg(
        &mut s,
        T0 + 1_000.0,
        ServerMsg::Countdown {
            starts_at: T0 + 3_900.0,
        },
    );
    update(&mut s, T0 + 2_000.0, Action::Tick);
    s
}

pub fn mole(id: &str, hole: u8, kind: MoleKind, now: Millis) -> ServerMsg {
    ServerMsg::MoleUp {
        mole_id: id.into(),
        hole,
        kind,
        up_at: now,
        down_at: now + 1_200.0,
    }
}

/// Mid-round: three kinds of mole up, scores moving.
pub fn playing() -> State {
    let mut s = countdown();
    let start = T0 + 3_900.0;
    let mut room = room_view(RoomPhase::Playing, "p-alice", false);
    room.starts_at = Some(start);
    room.ends_at = Some(start + 60_000.0);
    msg(&mut s, start, ServerMsg::RoomState { room });
    let now = start + 17_000.0;
    msg(&mut s, now, mole("m1", 0, MoleKind::Normal, now));
    msg(&mut s, now, mole("m2", 4, MoleKind::Golden, now));
    msg(&mut s, now, mole("m3", 8, MoleKind::Bomb, now));
    let score = |id: &str, score, delta, reason| ServerMsg::Score {
        player_id: id.into(),
        score,
        delta,
        reason,
        by: None,
    };
    msg(
        &mut s,
        now,
        score("p-alice", 12, 1, whack_shared::protocol::ScoreReason::Hit),
    );
    msg(
        &mut s,
        now,
        score("p-bob", 9, 3, whack_shared::protocol::ScoreReason::Golden),
    );
    msg(
        &mut s,
        now,
        score("p-carol", -2, -1, whack_shared::protocol::ScoreReason::Miss),
    );
    update(&mut s, now + 10.0, Action::Tick);
    s
}

pub fn ranking() -> Vec<RankingEntry> {
    let r = |id: &str, name: &str, score, hits, misses, bombs, rank| RankingEntry {
        player_id: id.into(),
        name: name.into(),
        score,
        hits,
        misses,
        bombs,
        rank,
    };
    vec![
        r("p-alice", "alice", 31, 28, 2, 0, 1),
        r("p-bob", "bob", 22, 21, 5, 1, 2),
        r("p-carol", "carol", -4, 3, 7, 0, 3),
    ]
}

/// Presses `code` at `now`; the effects.
pub fn press(s: &mut State, now: Millis, code: crossterm::event::KeyCode) -> Vec<Effect> {
    update(s, now, Action::Key(crossterm::event::KeyEvent::from(code)))
}

/// The messages among `fx` that go to the server, heartbeats left out.
pub fn sent(fx: &[Effect]) -> Vec<whack_shared::protocol::ClientMsg> {
    use whack_shared::protocol::ClientMsg;
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send(m) => Some(m.clone()),
            _ => None,
        })
        .filter(|m| !matches!(m, ClientMsg::Ping { .. }))
        .collect()
}
