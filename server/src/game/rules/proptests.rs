//! Whole rounds under random whack scripts and tick schedules, checked event by
//! event against a small model of the rules.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use whack_shared::protocol::{
    HOLES, MAX_WHACKS_PER_SEC, Millis, MoleDownReason, MoleKind, PlayerRef, RankingEntry,
    ScoreReason, ServerMsg,
};

use super::{
    Audience, DEFAULT_COUNTDOWN_MS, Event, Game, GameConfig, LATE_WINDOW_MS, MAX_GOLDEN_UP_MS,
    MAX_UP_MS, MIN_UP_MS, Phase, WhackError,
};

const T0: Millis = 1_764_000_000_000.5;
const PLAYERS: [&str; 3] = ["p1", "p2", "p3"];
/// Float slack for durations computed from Unix-ms timestamps.
const EPS: Millis = 1e-3;

/// One whack in a script, `gap_ms` after the previous one.
#[derive(Debug, Clone)]
struct Swing {
    gap_ms: u32,
    player: usize,
    /// 0–9; 9 is not a hole.
    hole: u8,
    /// Whack a mole that is up, if any, instead of `hole`.
    aim: bool,
    /// Whacks in a row, at most 40 ms apart: a player mashing a key.
    mash: u8,
}

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Tick,
    Whack {
        player: String,
        hole: u8,
        result: Result<(), WhackError>,
    },
}

/// A call made on the round, when, and what it returned.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    at: Millis,
    call: Call,
    events: Vec<Event>,
}

fn swings() -> impl Strategy<Value = Vec<Swing>> {
    // Mostly bursts, so the rate cap and races come up, with pauses in between.
    let gap = prop_oneof![3 => 0u32..=20, 2 => 0u32..=600];
    let mash = prop_oneof![8 => Just(1u8), 1 => 10u8..=30];
    let swing = (
        gap,
        0..PLAYERS.len(),
        0u8..=HOLES,
        prop::bool::weighted(0.6),
        mash,
    )
        .prop_map(|(gap_ms, player, hole, aim, mash)| Swing {
            gap_ms,
            player,
            hole,
            aim,
            mash,
        });
    prop::collection::vec(swing, 0..150)
}

fn tick_gaps() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(1u32..=700, 1..20)
}

fn players() -> Vec<PlayerRef> {
    PLAYERS
        .iter()
        .map(|id| PlayerRef {
            id: (*id).into(),
            name: id.to_uppercase(),
        })
        .collect()
}

fn start(seed: u64, round_secs: u32) -> Game {
    let config = GameConfig {
        round_secs,
        seed,
        countdown_ms: DEFAULT_COUNTDOWN_MS,
    };
    let (game, _) = Game::start(config, &players(), T0).unwrap_or_else(|e| panic!("{e}"));
    game
}

/// Plays a round: ticks every `tick_gaps` (cycled) and runs the whack script from
/// 1 s before the countdown ends; ends with a tick past the end.
fn play(seed: u64, round_secs: u32, script: &[Swing], tick_gaps: &[u32]) -> (Game, Vec<Step>) {
    let mut game = start(seed, round_secs);
    let mut calls: Vec<(Millis, Option<&Swing>)> = Vec::new();
    let mut at = T0;
    for gap in tick_gaps.iter().cycle() {
        at += f64::from(*gap);
        if at > game.ends_at() {
            break;
        }
        calls.push((at, None));
    }
    calls.push((game.ends_at() + 1.0, None));
    let mut at = game.starts_at() - 1000.0;
    for swing in script {
        at += f64::from(swing.gap_ms);
        calls.push((at, Some(swing)));
        for _ in 1..swing.mash {
            at += f64::from(swing.gap_ms.min(40));
            calls.push((at, Some(swing)));
        }
    }
    // Stable: at equal times ticks stay before whacks.
    calls.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut steps = Vec::new();
    for (at, swing) in calls {
        let Some(swing) = swing else {
            steps.push(Step {
                at,
                call: Call::Tick,
                events: game.tick(at),
            });
            continue;
        };
        let mut hole = swing.hole;
        if swing.aim {
            // Aiming needs the board as of `at`, the same whatever the tick schedule.
            steps.push(Step {
                at,
                call: Call::Tick,
                events: game.tick(at),
            });
            let up = game.moles_up();
            if !up.is_empty() {
                hole = up[usize::from(swing.hole) % up.len()].hole;
            }
        }
        let player = PLAYERS[swing.player];
        let (result, events) = match game.whack(player, hole, at) {
            Ok(events) => (Ok(()), events),
            Err(e) => (Err(e), Vec::new()),
        };
        steps.push(Step {
            at,
            call: Call::Whack {
                player: player.into(),
                hole,
                result,
            },
            events,
        });
    }
    (game, steps)
}

fn all_events(steps: &[Step]) -> Vec<Event> {
    steps
        .iter()
        .flat_map(|s| s.events.iter().cloned())
        .collect()
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Tally {
    score: i32,
    hits: u32,
    misses: u32,
    bombs: u32,
    dropped: u32,
    accepted: Vec<Millis>,
}

#[derive(Debug, Clone, Copy)]
struct UpMole<'a> {
    id: &'a str,
    kind: MoleKind,
    down_at: Millis,
}

/// What the rules say the round should look like, rebuilt from its events.
#[derive(Debug)]
struct Model<'a> {
    starts_at: Millis,
    ends_at: Millis,
    /// Time of the last thing that happened on the round's clock.
    clock: Millis,
    up: HashMap<u8, UpMole<'a>>,
    popped: HashSet<&'a str>,
    /// `up_at` of every mole, in order.
    pops: Vec<Millis>,
    most_up_at_once: usize,
    last_down: HashMap<u8, (Millis, Option<&'a str>)>,
    tallies: HashMap<&'a str, Tally>,
    ranking: Option<&'a [RankingEntry]>,
}

impl<'a> Model<'a> {
    fn new(game: &Game) -> Self {
        Self {
            starts_at: game.starts_at(),
            ends_at: game.ends_at(),
            clock: game.starts_at(),
            up: HashMap::new(),
            popped: HashSet::new(),
            pops: Vec::new(),
            most_up_at_once: 0,
            last_down: HashMap::new(),
            tallies: PLAYERS.iter().map(|p| (*p, Tally::default())).collect(),
            ranking: None,
        }
    }

    fn step(&mut self, step: &'a Step) -> Result<(), TestCaseError> {
        match &step.call {
            Call::Tick => self.happenings(&step.events, step.at),
            Call::Whack {
                player,
                hole,
                result,
            } => self.whack(step, player, *hole, *result),
        }
    }

    /// Things that happen on the clock by themselves, all due by `now`, in time order.
    fn happenings(&mut self, events: &'a [Event], now: Millis) -> Result<(), TestCaseError> {
        for event in events {
            prop_assert_eq!(&event.audience, &Audience::Everyone);
            match &event.msg {
                ServerMsg::MoleUp {
                    mole_id,
                    hole,
                    kind,
                    up_at,
                    down_at,
                } => {
                    prop_assert!(self.popped.insert(mole_id), "{} popped twice", mole_id);
                    prop_assert!(!self.up.contains_key(hole), "two moles in hole {}", hole);
                    if let Some((down, _)) = self.last_down.get(hole) {
                        prop_assert!(
                            up_at - down >= LATE_WINDOW_MS,
                            "hole {} refilled too soon",
                            hole
                        );
                    }
                    let up_ms = down_at - up_at;
                    let longest = if *kind == MoleKind::Golden {
                        MAX_GOLDEN_UP_MS
                    } else {
                        MAX_UP_MS
                    };
                    prop_assert!(
                        up_ms >= f64::from(MIN_UP_MS) - EPS && up_ms <= f64::from(longest) + EPS
                    );
                    prop_assert!(*up_at >= self.starts_at && *down_at <= self.ends_at);
                    prop_assert!(
                        *up_at >= self.clock && *up_at <= now,
                        "mole up out of order"
                    );
                    self.clock = *up_at;
                    self.up.insert(
                        *hole,
                        UpMole {
                            id: mole_id,
                            kind: *kind,
                            down_at: *down_at,
                        },
                    );
                    self.pops.push(*up_at);
                    self.most_up_at_once = self.most_up_at_once.max(self.up.len());
                }
                ServerMsg::MoleDown {
                    mole_id,
                    hole,
                    reason: MoleDownReason::Expired,
                    by: None,
                    points: None,
                } => {
                    let mole = self.up.remove(hole);
                    prop_assert!(
                        mole.is_some_and(|m| m.id == mole_id),
                        "{} was not up in {}",
                        mole_id,
                        hole
                    );
                    let down_at = mole.map_or(0.0, |m| m.down_at);
                    prop_assert!(
                        down_at >= self.clock && down_at <= now,
                        "mole down out of order"
                    );
                    self.clock = down_at;
                    self.last_down.insert(*hole, (down_at, None));
                }
                ServerMsg::GameOver { ranking } => {
                    prop_assert!(self.ranking.is_none(), "two game overs");
                    prop_assert!(now >= self.ends_at && self.up.is_empty());
                    self.clock = self.ends_at;
                    self.ranking = Some(ranking);
                }
                other => prop_assert!(false, "{:?} without a whack", other),
            }
        }
        Ok(())
    }

    fn whack(
        &mut self,
        step: &'a Step,
        player: &'a str,
        hole: u8,
        result: Result<(), WhackError>,
    ) -> Result<(), TestCaseError> {
        let at = step.at;
        let tally = self.tallies.get(player).cloned().unwrap_or_default();
        let recent = tally.accepted.iter().filter(|&&t| t > at - 1000.0).count();
        let expected = if hole >= HOLES {
            Err(WhackError::InvalidHole(hole))
        } else if at < self.starts_at {
            Err(WhackError::NotStarted)
        } else if at >= self.ends_at {
            Err(WhackError::RoundOver)
        } else if recent >= MAX_WHACKS_PER_SEC as usize {
            Err(WhackError::RateLimited)
        } else {
            Ok(())
        };
        prop_assert_eq!(
            result,
            expected,
            "whack by {} on {} at {}",
            player,
            hole,
            at - self.starts_at
        );
        match result {
            Err(WhackError::RateLimited) => self.tally(player).dropped += 1,
            Err(_) => {}
            Ok(()) => {
                self.tally(player).accepted.push(at);
                let outcome_len = match step.events.last().map(|e| &e.msg) {
                    Some(ServerMsg::Score {
                        reason: ScoreReason::Hit | ScoreReason::Golden | ScoreReason::Bomb,
                        ..
                    }) => 2,
                    _ => 1,
                };
                prop_assert!(step.events.len() >= outcome_len);
                let (before, outcome) = step.events.split_at(step.events.len() - outcome_len);
                self.happenings(before, at)?;
                self.clock = at;
                let expected = self.expected_outcome(player, hole, at);
                prop_assert_eq!(outcome, expected.as_slice());
            }
        }
        Ok(())
    }

    /// The rules: first whack on an up mole scores it, a recently emptied hole is
    /// late, anything else is a miss. Applies the outcome to the model.
    fn expected_outcome(&mut self, player: &'a str, hole: u8, at: Millis) -> Vec<Event> {
        let score = |tally: &Tally, delta, reason, by: Option<&str>| ServerMsg::Score {
            player_id: player.into(),
            score: tally.score,
            delta,
            reason,
            by: by.map(Into::into),
        };
        if let Some(mole) = self.up.remove(&hole) {
            let points = mole.kind.points();
            let tally = self.tally(player);
            tally.score += points;
            let reason = match mole.kind {
                MoleKind::Normal => ScoreReason::Hit,
                MoleKind::Golden => ScoreReason::Golden,
                MoleKind::Bomb => ScoreReason::Bomb,
            };
            if mole.kind == MoleKind::Bomb {
                tally.bombs += 1;
            } else {
                tally.hits += 1;
            }
            let score = score(tally, points, reason, None);
            self.last_down.insert(hole, (at, Some(player)));
            let down = ServerMsg::MoleDown {
                mole_id: mole.id.into(),
                hole,
                reason: MoleDownReason::Whacked,
                by: Some(player.into()),
                points: Some(points),
            };
            vec![Event::everyone(down), Event::everyone(score)]
        } else if let Some((_, by)) = self
            .last_down
            .get(&hole)
            .copied()
            .filter(|(down, _)| at - down < LATE_WINDOW_MS)
        {
            let tally = self.tally(player);
            vec![Event::to_player(
                player,
                score(tally, 0, ScoreReason::Late, by),
            )]
        } else {
            let tally = self.tally(player);
            tally.score -= 1;
            tally.misses += 1;
            vec![Event::everyone(score(tally, -1, ScoreReason::Miss, None))]
        }
    }

    fn tally(&mut self, player: &'a str) -> &mut Tally {
        self.tallies.entry(player).or_default()
    }

    fn finish(&self, game: &Game) -> Result<(), TestCaseError> {
        prop_assert_eq!(game.phase(), Phase::Finished);
        prop_assert!(self.up.is_empty(), "moles left up: {:?}", self.up);
        let Some(ranking) = self.ranking else {
            return Err(TestCaseError::fail("no game over"));
        };
        prop_assert_eq!(ranking, game.ranking());
        for player in game.players() {
            let tally = &self.tallies[player.id.as_str()];
            let mine = (
                player.score,
                player.hits,
                player.misses,
                player.bombs,
                player.dropped,
            );
            prop_assert_eq!(
                mine,
                (
                    tally.score,
                    tally.hits,
                    tally.misses,
                    tally.bombs,
                    tally.dropped
                )
            );
            // No half-open 1 s window holds more than the cap.
            for (i, from) in tally.accepted.iter().enumerate() {
                let in_window = tally.accepted[i..]
                    .iter()
                    .take_while(|t| **t < from + 1000.0)
                    .count();
                prop_assert!(
                    in_window <= MAX_WHACKS_PER_SEC as usize,
                    "{} whacks in 1 s",
                    in_window
                );
            }
        }
        // Best first; equal scores share a rank; ties in join order.
        let order: Vec<&str> = ranking.iter().map(|r| r.player_id.as_str()).collect();
        let mut expected: Vec<&str> = PLAYERS.to_vec();
        expected.sort_by_key(|p| -self.tallies[p].score);
        prop_assert_eq!(order, expected);
        for row in ranking {
            let better = ranking.iter().filter(|r| r.score > row.score).count();
            prop_assert_eq!(row.rank as usize, better + 1);
        }
        Ok(())
    }
}

fn check_round(game: &Game, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut model = Model::new(game);
    for step in steps {
        model.step(step)?;
    }
    model.finish(game)
}

fn moles_only(steps: &[Step]) -> Vec<Event> {
    all_events(steps)
        .into_iter()
        .filter(|e| matches!(e.msg, ServerMsg::MoleUp { .. }))
        .collect()
}

proptest! {
    #[test]
    fn rounds_follow_the_rules(seed: u64, round_secs in 15u32..=30, script in swings(), ticks in tick_gaps()) {
        let (game, steps) = play(seed, round_secs, &script, &ticks);
        check_round(&game, &steps)?;
    }

    #[test]
    fn a_seed_and_a_script_replay_the_round_whatever_the_ticks(
        seed: u64, round_secs in 15u32..=30, script in swings(), ticks_a in tick_gaps(), ticks_b in tick_gaps(),
    ) {
        let (_, a) = play(seed, round_secs, &script, &ticks_a);
        let (_, b) = play(seed, round_secs, &script, &ticks_b);
        prop_assert_eq!(all_events(&a), all_events(&b));
        let whacks = |steps: &[Step]| -> Vec<Call> {
            steps.iter().filter(|s| s.call != Call::Tick).map(|s| s.call.clone()).collect()
        };
        prop_assert_eq!(whacks(&a), whacks(&b));
    }

    #[test]
    fn fine_and_coarse_ticks_pop_the_same_moles(seed: u64, fine in 1u32..=5, coarse in 200u32..=3000) {
        let (_, a) = play(seed, 15, &[], &[fine]);
        let (_, b) = play(seed, 15, &[], &[coarse]);
        prop_assert_eq!(all_events(&a), all_events(&b));
    }

    #[test]
    fn moles_crowd_in_as_the_round_goes_on(seed: u64, round_secs in 15u32..=180) {
        let (game, steps) = play(seed, round_secs, &[], &[500]);
        let mut model = Model::new(&game);
        for step in &steps {
            model.step(step)?;
        }
        model.finish(&game)?;
        prop_assert!(model.most_up_at_once >= 2, "never more than one mole up");
        let third = (game.ends_at() - game.starts_at()) / 3.0;
        let first = model.pops.iter().filter(|t| **t < game.starts_at() + third).count();
        let last = model.pops.iter().filter(|t| **t >= game.ends_at() - third).count();
        prop_assert!(last > first, "{} moles in the first third, {} in the last", first, last);
        prop_assert!(!moles_only(&steps).is_empty());
    }
}
