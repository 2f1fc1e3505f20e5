//! Unit tests of the round: scoring, races, expiry, refusals, phases.

use super::*;
use crate::game::rules::Audience;

/// A round start time with a fraction, as real clocks give.
const T0: Millis = 1_764_000_000_000.25;

fn players(n: usize) -> Vec<PlayerRef> {
    (1..=n)
        .map(|i| PlayerRef {
            id: format!("p{i}"),
            name: format!("Player {i}"),
        })
        .collect()
}

fn config(seed: u64) -> GameConfig {
    GameConfig {
        round_secs: 15,
        seed,
        countdown_ms: DEFAULT_COUNTDOWN_MS,
    }
}

fn start(seed: u64, n: usize) -> Game {
    let (game, _) = Game::start(config(seed), &players(n), T0).unwrap_or_else(|e| panic!("{e}"));
    game
}

/// Ticks from deadline to deadline, the way the room task does, until a mole
/// matching `wanted` pops; returns it (the clock is then at its `up_at`).
fn pop_until(game: &mut Game, wanted: impl Fn(&MoleView) -> bool) -> MoleView {
    while let Some(at) = game.next_deadline() {
        game.tick(at);
        if let Some(mole) = game
            .moles_up()
            .into_iter()
            .find(|m| m.up_at == at && wanted(m))
        {
            return mole;
        }
    }
    panic!("no such mole this round");
}

/// Ticks to `now` first so that only the whack's own events come back.
fn whack(game: &mut Game, player: &str, hole: u8, now: Millis) -> Vec<Event> {
    game.tick(now);
    game.whack(player, hole, now)
        .unwrap_or_else(|e| panic!("whack refused: {e}"))
}

fn score_msg(
    player: &str,
    score: i32,
    delta: i32,
    reason: ScoreReason,
    by: Option<&str>,
) -> ServerMsg {
    ServerMsg::Score {
        player_id: player.into(),
        score,
        delta,
        reason,
        by: by.map(Into::into),
    }
}

fn whacked_msg(mole: &MoleView, by: &str, points: i32) -> ServerMsg {
    ServerMsg::MoleDown {
        mole_id: mole.mole_id.clone(),
        hole: mole.hole,
        reason: MoleDownReason::Whacked,
        by: Some(by.into()),
        points: Some(points),
    }
}

#[test]
fn a_round_counts_down_plays_and_finishes() {
    let (mut game, countdown) =
        Game::start(config(1), &players(1), T0).unwrap_or_else(|e| panic!("{e}"));
    let starts_at = T0 + 3000.0;
    assert_eq!(
        countdown,
        Event::everyone(ServerMsg::Countdown { starts_at })
    );
    assert_eq!(
        (game.phase(), game.starts_at(), game.ends_at()),
        (Phase::Countdown, starts_at, starts_at + 15_000.0)
    );
    assert_eq!(game.next_deadline(), Some(starts_at));

    assert!(game.tick(starts_at - 0.5).is_empty());
    assert_eq!(game.phase(), Phase::Countdown);
    game.tick(starts_at);
    assert_eq!(game.phase(), Phase::Playing);
    assert!(
        game.next_deadline()
            .is_some_and(|at| at > starts_at && at <= game.ends_at())
    );

    let events = game.tick(game.ends_at() - 0.5);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.msg, ServerMsg::GameOver { .. }))
    );
    assert_eq!(game.phase(), Phase::Playing);
    let events = game.tick(game.ends_at());
    assert_eq!(game.phase(), Phase::Finished);
    let ranking = game.ranking();
    assert_eq!(
        events.last(),
        Some(&Event::everyone(ServerMsg::GameOver { ranking }))
    );
    assert!(game.moles_up().is_empty());
    assert_eq!(game.next_deadline(), None);
    assert!(game.tick(game.ends_at() + 10_000.0).is_empty());
}

#[test]
fn every_mole_is_down_before_game_over() {
    let mut game = start(2, 1);
    let events = game.tick(game.ends_at());
    let ups = events
        .iter()
        .filter(|e| matches!(e.msg, ServerMsg::MoleUp { .. }))
        .count();
    let downs = events
        .iter()
        .filter(|e| matches!(e.msg, ServerMsg::MoleDown { .. }))
        .count();
    assert!(ups > 10, "{ups} moles in 15 s");
    assert_eq!(ups, downs);
}

#[test]
fn a_hit_scores_one_and_takes_the_mole_down_for_everyone() {
    let mut game = start(3, 2);
    let mole = pop_until(&mut game, |m| m.kind == MoleKind::Normal);
    let events = whack(&mut game, "p2", mole.hole, mole.up_at + 250.0);
    let expected = [
        whacked_msg(&mole, "p2", 1),
        score_msg("p2", 1, 1, ScoreReason::Hit, None),
    ];
    assert_eq!(events, expected.map(Event::everyone));
    assert!(game.moles_up().iter().all(|m| m.mole_id != mole.mole_id));
    assert_eq!(game.player("p2").map(|p| (p.score, p.hits)), Some((1, 1)));
}

#[test]
fn golden_scores_three_and_bomb_costs_three() {
    let mut game = start(4, 1);
    let golden = pop_until(&mut game, |m| m.kind == MoleKind::Golden);
    assert!(golden.down_at - golden.up_at <= 1000.0);
    let events = whack(&mut game, "p1", golden.hole, golden.up_at);
    let expected = [
        whacked_msg(&golden, "p1", 3),
        score_msg("p1", 3, 3, ScoreReason::Golden, None),
    ];
    assert_eq!(events, expected.map(Event::everyone));

    let bomb = pop_until(&mut game, |m| m.kind == MoleKind::Bomb);
    let events = whack(&mut game, "p1", bomb.hole, bomb.down_at - 0.5);
    let tail = [
        whacked_msg(&bomb, "p1", -3),
        score_msg("p1", 0, -3, ScoreReason::Bomb, None),
    ];
    assert!(events.ends_with(&tail.map(Event::everyone)), "{events:?}");
    let stats = game
        .player("p1")
        .cloned()
        .unwrap_or_else(|| panic!("p1 seated"));
    assert_eq!(
        (stats.score, stats.hits, stats.bombs, stats.misses),
        (0, 1, 1, 0)
    );
}

#[test]
fn an_empty_hole_costs_one_for_everyone_to_see() {
    let mut game = start(5, 2);
    // Nothing has popped yet when play starts.
    let t = game.starts_at();
    let events = whack(&mut game, "p1", 4, t);
    assert_eq!(
        events,
        [Event::everyone(score_msg(
            "p1",
            -1,
            -1,
            ScoreReason::Miss,
            None
        ))]
    );
    let events = whack(&mut game, "p1", 0, t + 1.0);
    assert_eq!(
        events,
        [Event::everyone(score_msg(
            "p1",
            -2,
            -1,
            ScoreReason::Miss,
            None
        ))]
    );
    assert_eq!(game.player("p1").map(|p| p.misses), Some(2));
}

#[test]
fn the_first_whack_wins_and_the_second_is_late() {
    let mut game = start(6, 2);
    let mole = pop_until(&mut game, |m| m.kind == MoleKind::Normal);
    let at = mole.up_at + 400.0;
    whack(&mut game, "p1", mole.hole, at);
    let events = whack(&mut game, "p2", mole.hole, at);
    let late = score_msg("p2", 0, 0, ScoreReason::Late, Some("p1"));
    assert_eq!(events, [Event::to_player("p2", late.clone())]);
    assert_eq!(events[0].audience, Audience::Player("p2".into()));
    let events = whack(&mut game, "p2", mole.hole, at + LATE_WINDOW_MS - 0.5);
    assert_eq!(events, [Event::to_player("p2", late)]);

    // The hole stays empty through the late window, so this is a plain miss.
    let after = at + LATE_WINDOW_MS;
    game.tick(after);
    assert!(game.moles_up().iter().all(|m| m.hole != mole.hole));
    let events = whack(&mut game, "p2", mole.hole, after);
    assert_eq!(
        events,
        [Event::everyone(score_msg(
            "p2",
            -1,
            -1,
            ScoreReason::Miss,
            None
        ))]
    );
    let p1 = game.player("p1").map(|p| (p.score, p.hits));
    let p2 = game.player("p2").map(|p| (p.score, p.hits, p.misses));
    assert_eq!((p1, p2), (Some((1, 1)), Some((-1, 0, 1))));
}

#[test]
fn a_mole_expires_at_down_at_and_a_whack_just_after_is_late_with_no_winner() {
    let mut game = start(7, 1);
    let mole = pop_until(&mut game, |_| true);
    assert!(
        game.tick(mole.down_at - 0.5)
            .iter()
            .all(|e| !matches!(&e.msg,
        ServerMsg::MoleDown { mole_id, .. } if *mole_id == mole.mole_id))
    );
    let events = game.tick(mole.down_at);
    let expired = ServerMsg::MoleDown {
        mole_id: mole.mole_id.clone(),
        hole: mole.hole,
        reason: MoleDownReason::Expired,
        by: None,
        points: None,
    };
    assert!(events.contains(&Event::everyone(expired)), "{events:?}");
    let events = whack(&mut game, "p1", mole.hole, mole.down_at + 100.0);
    assert_eq!(
        events,
        [Event::to_player(
            "p1",
            score_msg("p1", 0, 0, ScoreReason::Late, None)
        )]
    );
}

#[test]
fn a_whack_at_the_instant_of_expiry_is_late_not_a_hit() {
    let mut game = start(8, 1);
    let mole = pop_until(&mut game, |_| true);
    // No tick first: the whack itself brings the round up to its time.
    let events = game
        .whack("p1", mole.hole, mole.down_at)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(
            events.as_slice(),
            [.., Event { msg: ServerMsg::MoleDown { reason: MoleDownReason::Expired, .. }, .. }, late]
                if late.msg == score_msg("p1", 0, 0, ScoreReason::Late, None)
        ),
        "{events:?}"
    );
}

#[test]
fn refused_whacks_change_nothing() {
    let mut game = start(9, 1);
    assert_eq!(game.whack("p1", 4, T0 + 10.0), Err(WhackError::NotStarted));
    assert_eq!(
        game.whack("p1", 4, game.starts_at() - 0.5),
        Err(WhackError::NotStarted)
    );
    assert_eq!(
        game.whack("p1", 9, game.starts_at()),
        Err(WhackError::InvalidHole(9))
    );
    assert_eq!(
        game.whack("p1", u8::MAX, game.starts_at()),
        Err(WhackError::InvalidHole(255))
    );
    assert_eq!(
        game.whack("nobody", 4, game.starts_at()),
        Err(WhackError::NotInGame)
    );
    assert_eq!(
        game.whack("p1", 4, game.ends_at()),
        Err(WhackError::RoundOver)
    );
    // The refusal at ends_at did not end the round behind the room's back.
    assert_eq!(game.phase(), Phase::Countdown);
    let events = game.tick(game.ends_at());
    assert!(matches!(
        events.last().map(|e| &e.msg),
        Some(ServerMsg::GameOver { .. })
    ));
    assert_eq!(
        game.whack("p1", 4, game.ends_at() + 5.0),
        Err(WhackError::RoundOver)
    );
    let p1 = game
        .player("p1")
        .cloned()
        .unwrap_or_else(|| panic!("p1 seated"));
    assert_eq!(p1, PlayerStats::new("p1", "Player 1"));
    assert_eq!(WhackError::RoundOver.code(), "round_over");
}

#[test]
fn whacks_beyond_fifteen_a_second_are_dropped_and_counted() {
    let mut game = start(10, 2);
    let t = game.starts_at();
    for i in 0..15 {
        assert!(
            game.whack("p1", 0, t + f64::from(i) * 10.0).is_ok(),
            "whack {i}"
        );
    }
    assert_eq!(game.whack("p1", 0, t + 500.0), Err(WhackError::RateLimited));
    assert_eq!(game.whack("p1", 0, t + 999.0), Err(WhackError::RateLimited));
    assert!(
        game.whack("p2", 0, t + 999.0).is_ok(),
        "the cap is per player"
    );
    let p1 = game.player("p1").map(|p| (p.score, p.misses, p.dropped));
    assert_eq!(p1, Some((-15, 15, 2)));
    assert!(
        game.whack("p1", 0, t + 1000.0).is_ok(),
        "the first whack left the window"
    );
}

#[test]
fn the_ranking_puts_the_best_first_and_shares_ranks() {
    let mut game = start(11, 4);
    let t = game.starts_at();
    for (player, misses) in [("p1", 2), ("p2", 1), ("p4", 1)] {
        for i in 0..misses {
            whack(&mut game, player, 0, t + f64::from(i));
        }
    }
    let events = game.tick(game.ends_at());
    let Some(ServerMsg::GameOver { ranking }) = events.last().map(|e| &e.msg) else {
        panic!("no game over in {events:?}");
    };
    let rows: Vec<(&str, i32, u32, u32)> = ranking
        .iter()
        .map(|r| (r.player_id.as_str(), r.score, r.misses, r.rank))
        .collect();
    assert_eq!(
        rows,
        [
            ("p3", 0, 0, 1),
            ("p2", -1, 1, 2),
            ("p4", -1, 1, 2),
            ("p1", -2, 2, 4)
        ]
    );
    assert_eq!(ranking[0].name, "Player 3");
}

#[test]
fn tick_granularity_does_not_change_the_round() {
    let run = |step: Millis| {
        let mut game = start(12, 1);
        let mut events = Vec::new();
        let mut now = T0;
        while game.phase() != Phase::Finished {
            now += step;
            events.extend(game.tick(now));
        }
        events
    };
    let by_deadline = {
        let mut game = start(12, 1);
        let mut events = Vec::new();
        while let Some(at) = game.next_deadline() {
            events.extend(game.tick(at));
        }
        events
    };
    assert_eq!(run(1.0), by_deadline);
    assert_eq!(run(100.0), by_deadline);
    assert_eq!(run(3333.3), by_deadline);
}

#[test]
fn a_clock_that_goes_backwards_or_is_nan_moves_nothing() {
    let mut game = start(13, 1);
    game.tick(game.starts_at() + 2000.0);
    let up = game.moles_up();
    assert!(game.tick(T0).is_empty());
    assert!(game.tick(f64::NAN).is_empty());
    assert_eq!(game.moles_up(), up);
    // A whack stamped in the past counts as now, not as a countdown whack.
    assert!(game.whack("p1", 0, T0).is_ok());
    assert!(game.whack("p1", 1, f64::NAN).is_ok());
}

#[test]
fn bad_settings_are_refused() {
    let refuse = |config: GameConfig, players: &[PlayerRef]| Game::start(config, players, T0).err();
    let seat = players(1);
    assert_eq!(
        refuse(
            GameConfig {
                round_secs: 14,
                ..config(0)
            },
            &seat
        ),
        Some(ConfigError::RoundSecs(14))
    );
    assert_eq!(
        refuse(
            GameConfig {
                round_secs: 181,
                ..config(0)
            },
            &seat
        ),
        Some(ConfigError::RoundSecs(181))
    );
    assert_eq!(refuse(config(0), &[]), Some(ConfigError::NoPlayers));
    assert_eq!(
        refuse(config(0), &players(9)),
        Some(ConfigError::TooManyPlayers(9))
    );
    let twice = [seat[0].clone(), seat[0].clone()];
    assert_eq!(
        refuse(config(0), &twice),
        Some(ConfigError::DuplicatePlayer("p1".into()))
    );
    assert_eq!(
        Game::start(config(0), &seat, f64::INFINITY).err(),
        Some(ConfigError::BadClock)
    );
    for round_secs in [15, 60, 180] {
        assert!(
            refuse(
                GameConfig {
                    round_secs,
                    ..config(0)
                },
                &players(8)
            )
            .is_none()
        );
    }
    assert_eq!(GameConfig::new(5).round_secs, 60);
    assert_eq!(RoomPhase::from(Phase::Playing), RoomPhase::Playing);
}

#[test]
fn a_mole_marked_sent_shows_its_send_time_and_plays_the_same() {
    let mut game = start(7, 2);
    let mole = pop_until(&mut game, |_| true);
    let sent = mole.up_at + 0.3;
    game.mark_sent(&mole.mole_id, sent);
    // Marks outside the mole's life are not taken.
    game.mark_sent(&mole.mole_id, mole.down_at + 1.0);
    game.mark_sent(&mole.mole_id, mole.up_at - 1.0);
    let shown = game.moles_up();
    let shown = shown
        .iter()
        .find(|m| m.mole_id == mole.mole_id)
        .unwrap_or_else(|| panic!("the mole is up"));
    assert_eq!(shown.up_at, sent);
    assert_eq!(shown.down_at, mole.down_at);
}
