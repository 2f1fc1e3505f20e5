//! The round itself: countdown, play, game over. Time only moves when the caller
//! passes it in, and everything due up to that time happens in time order, so the
//! same seed and the same whacks give the same events however often it is ticked.

use std::collections::HashSet;

use whack_shared::protocol::{
    DEFAULT_ROUND_SECS, HOLES, MAX_PLAYERS, MAX_ROUND_SECS, MIN_ROUND_SECS, Millis, MoleDownReason,
    MoleKind, MoleView, PlayerRef, RankingEntry, RoomPhase, ScoreReason, ServerMsg,
};

use super::event::Event;
use super::round_error::{ConfigError, WhackError};
use super::scoring::{MISS_POINTS, PlayerStats, ranking};
use super::spawner::{PlannedMole, Spawner};
use super::whack_cap::WhackLimiter;

/// A whack this soon after a hole's mole went down lost a race: `late`, not a miss.
/// Holes also stay empty this long, so a late whack never hits the next mole.
pub const LATE_WINDOW_MS: Millis = 300.0;
/// Countdown before the round starts, in ms.
pub const DEFAULT_COUNTDOWN_MS: u32 = 3000;

/// Settings for one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GameConfig {
    /// Round length, 15–180 s.
    pub round_secs: u32,
    /// Fixes every random choice of the round.
    pub seed: u64,
    /// Time from the start call to the first moment moles may pop, in ms.
    pub countdown_ms: u32,
}

impl GameConfig {
    /// A round of the default length and countdown.
    pub fn new(seed: u64) -> Self {
        Self {
            round_secs: DEFAULT_ROUND_SECS,
            seed,
            countdown_ms: DEFAULT_COUNTDOWN_MS,
        }
    }
}

/// Where a round is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before `starts_at`.
    Countdown,
    /// From `starts_at` until `ends_at`.
    Playing,
    /// From `ends_at` on.
    Finished,
}

impl From<Phase> for RoomPhase {
    fn from(phase: Phase) -> Self {
        match phase {
            Phase::Countdown => Self::Countdown,
            Phase::Playing => Self::Playing,
            Phase::Finished => Self::Finished,
        }
    }
}

/// A mole that is up.
#[derive(Debug, Clone)]
struct Mole {
    id: String,
    hole: u8,
    kind: MoleKind,
    up_at: Millis,
    down_at: Millis,
}

impl Mole {
    fn view(&self) -> MoleView {
        MoleView {
            mole_id: self.id.clone(),
            hole: self.hole,
            kind: self.kind,
            up_at: self.up_at,
            down_at: self.down_at,
        }
    }
}

/// The last time a hole's mole went down, and who whacked it if anyone did.
#[derive(Debug, Clone)]
struct LastDown {
    at: Millis,
    by: Option<String>,
}

#[derive(Debug)]
struct Seat {
    stats: PlayerStats,
    limiter: WhackLimiter,
}

/// Something due on the round's clock. At equal times the derived order decides:
/// moles expire (in spawn order) before a wave picks free holes, and the round
/// ends last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Start,
    Expire(usize),
    Wave,
    End,
}

/// One round of whack-a-mole for a fixed set of players.
#[derive(Debug)]
pub struct Game {
    config: GameConfig,
    phase: Phase,
    /// The time the state reflects; never goes backwards.
    now: Millis,
    starts_at: Millis,
    ends_at: Millis,
    seats: Vec<Seat>,
    /// Moles up now, in spawn order.
    moles: Vec<Mole>,
    last_down: [Option<LastDown>; HOLES as usize],
    spawner: Spawner,
    moles_popped: u64,
}

impl Game {
    /// Starts a round's countdown at `now` for `players` in join order; returns the
    /// round and the `countdown` event to broadcast.
    pub fn start(
        config: GameConfig,
        players: &[PlayerRef],
        now: Millis,
    ) -> Result<(Self, Event), ConfigError> {
        if !(MIN_ROUND_SECS..=MAX_ROUND_SECS).contains(&config.round_secs) {
            return Err(ConfigError::RoundSecs(config.round_secs));
        }
        if players.is_empty() {
            return Err(ConfigError::NoPlayers);
        }
        if players.len() > MAX_PLAYERS {
            return Err(ConfigError::TooManyPlayers(players.len()));
        }
        let mut ids = HashSet::new();
        if let Some(twice) = players.iter().find(|p| !ids.insert(p.id.as_str())) {
            return Err(ConfigError::DuplicatePlayer(twice.id.clone()));
        }
        if !now.is_finite() {
            return Err(ConfigError::BadClock);
        }
        let starts_at = now + f64::from(config.countdown_ms);
        let ends_at = starts_at + f64::from(config.round_secs) * 1000.0;
        let game = Self {
            config,
            phase: Phase::Countdown,
            now,
            starts_at,
            ends_at,
            seats: players
                .iter()
                .map(|p| Seat {
                    stats: PlayerStats::new(&p.id, &p.name),
                    limiter: WhackLimiter::default(),
                })
                .collect(),
            moles: Vec::new(),
            last_down: Default::default(),
            spawner: Spawner::new(config.seed, starts_at, ends_at),
            moles_popped: 0,
        };
        Ok((game, Event::everyone(ServerMsg::Countdown { starts_at })))
    }

    /// Brings the round up to `now`: starts play, pops and expires moles, ends the
    /// round. A `now` earlier than one seen before counts as that earlier time.
    pub fn tick(&mut self, now: Millis) -> Vec<Event> {
        let mut events = Vec::new();
        self.advance(now, &mut events);
        events
    }

    /// `player_id` whacks `hole` at `now` (the time the server received it).
    ///
    /// The first whack on an up mole scores it; a whack on a hole whose mole went
    /// down less than [`LATE_WINDOW_MS`] earlier is `late` (0 points, told only to
    /// the whacker, `by` whoever got it, none if it expired); any other empty-hole
    /// whack is a miss (−1). The events include whatever else fell due up to `now`.
    /// A refused whack returns an error and changes nothing, except that a
    /// rate-limited one is counted in the player's `dropped`; it does not move the
    /// clock either, so what fell due comes out of the next tick.
    pub fn whack(
        &mut self,
        player_id: &str,
        hole: u8,
        now: Millis,
    ) -> Result<Vec<Event>, WhackError> {
        if hole >= HOLES {
            return Err(WhackError::InvalidHole(hole));
        }
        let seat = self
            .seats
            .iter()
            .position(|s| s.stats.id == player_id)
            .ok_or(WhackError::NotInGame)?;
        let now = self.not_before_now(now);
        if now < self.starts_at {
            return Err(WhackError::NotStarted);
        }
        if now >= self.ends_at || self.phase == Phase::Finished {
            return Err(WhackError::RoundOver);
        }
        let Seat { stats, limiter } = &mut self.seats[seat];
        if !limiter.admit(now) {
            stats.dropped += 1;
            return Err(WhackError::RateLimited);
        }
        let mut events = Vec::new();
        self.advance(now, &mut events);
        self.resolve_whack(seat, hole, now, &mut events);
        Ok(events)
    }

    /// When something is next due (start, a wave, an expiry, the end); the room
    /// should tick then. `None` once the round is over.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.next_due().map(|(at, _)| at)
    }

    /// Where the round is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When moles may start popping.
    pub fn starts_at(&self) -> Millis {
        self.starts_at
    }

    /// When the round ends.
    pub fn ends_at(&self) -> Millis {
        self.ends_at
    }

    /// The settings the round was started with.
    pub fn config(&self) -> GameConfig {
        self.config
    }

    /// The moles up as of the last tick or whack, in the order they popped.
    pub fn moles_up(&self) -> Vec<MoleView> {
        self.moles.iter().map(Mole::view).collect()
    }

    /// Records when a mole's `mole_up` actually went out (a moment after its
    /// scheduled time), so later views of the board say the same. Only what is
    /// shown changes: no rule reads a mole's `up_at`, so the round still plays
    /// the same whatever the stamps.
    pub fn mark_sent(&mut self, mole_id: &str, at: Millis) {
        if let Some(mole) = self.moles.iter_mut().find(|m| m.id == mole_id)
            && at > mole.up_at
            && at < mole.down_at
        {
            mole.up_at = at;
        }
    }

    /// Every player's standing, in join order.
    pub fn players(&self) -> impl ExactSizeIterator<Item = &PlayerStats> {
        self.seats.iter().map(|s| &s.stats)
    }

    /// One player's standing.
    pub fn player(&self, player_id: &str) -> Option<&PlayerStats> {
        self.players().find(|p| p.id == player_id)
    }

    /// The ranking as it stands (final once the round is over), best first.
    pub fn ranking(&self) -> Vec<RankingEntry> {
        ranking(self.players())
    }

    fn not_before_now(&self, now: Millis) -> Millis {
        // Also maps NaN to the current time: a broken clock reading moves nothing.
        if now > self.now { now } else { self.now }
    }

    fn advance(&mut self, now: Millis, events: &mut Vec<Event>) {
        let now = self.not_before_now(now);
        while let Some((at, due)) = self.next_due().filter(|&(at, _)| at <= now) {
            self.now = at;
            match due {
                Due::Start => self.phase = Phase::Playing,
                Due::Expire(index) => self.expire(index, events),
                Due::Wave => self.pop_wave(at, events),
                Due::End => self.finish(events),
            }
        }
        self.now = now;
    }

    fn next_due(&self) -> Option<(Millis, Due)> {
        match self.phase {
            Phase::Countdown => Some((self.starts_at, Due::Start)),
            Phase::Finished => None,
            Phase::Playing => {
                let expiries = self
                    .moles
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (m.down_at, Due::Expire(i)));
                let wave = self.spawner.next_at().map(|at| (at, Due::Wave));
                expiries
                    .chain(wave)
                    .chain([(self.ends_at, Due::End)])
                    .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            }
        }
    }

    fn expire(&mut self, index: usize, events: &mut Vec<Event>) {
        let mole = self.moles.remove(index);
        self.last_down[usize::from(mole.hole)] = Some(LastDown {
            at: mole.down_at,
            by: None,
        });
        events.push(mole_down(mole, MoleDownReason::Expired, None));
    }

    fn pop_wave(&mut self, at: Millis, events: &mut Vec<Event>) {
        let free: Vec<u8> = (0..HOLES).filter(|&hole| self.is_free(hole, at)).collect();
        for PlannedMole {
            hole,
            kind,
            up_at,
            down_at,
        } in self.spawner.pop_wave(&free)
        {
            self.moles_popped += 1;
            let mole = Mole {
                id: format!("m{}", self.moles_popped),
                hole,
                kind,
                up_at,
                down_at,
            };
            let view = mole.view();
            events.push(Event::everyone(ServerMsg::MoleUp {
                mole_id: view.mole_id,
                hole: view.hole,
                kind: view.kind,
                up_at: view.up_at,
                down_at: view.down_at,
            }));
            self.moles.push(mole);
        }
    }

    fn is_free(&self, hole: u8, at: Millis) -> bool {
        let cooled = self.last_down[usize::from(hole)]
            .as_ref()
            .is_none_or(|d| at - d.at >= LATE_WINDOW_MS);
        cooled && !self.moles.iter().any(|m| m.hole == hole)
    }

    fn finish(&mut self, events: &mut Vec<Event>) {
        // The schedule keeps every mole inside the round, so normally none is left.
        for mole in std::mem::take(&mut self.moles) {
            events.push(mole_down(mole, MoleDownReason::Expired, None));
        }
        self.phase = Phase::Finished;
        events.push(Event::everyone(ServerMsg::GameOver {
            ranking: self.ranking(),
        }));
    }

    fn resolve_whack(&mut self, seat: usize, hole: u8, now: Millis, events: &mut Vec<Event>) {
        let stats = &mut self.seats[seat].stats;
        let player_id = stats.id.clone();
        let slot = &mut self.last_down[usize::from(hole)];
        if let Some(index) = self.moles.iter().position(|m| m.hole == hole) {
            let mole = self.moles.remove(index);
            let points = mole.kind.points();
            let reason = stats.whacked(mole.kind);
            *slot = Some(LastDown {
                at: now,
                by: Some(player_id.clone()),
            });
            events.push(mole_down(
                mole,
                MoleDownReason::Whacked,
                Some((&player_id, points)),
            ));
            events.push(Event::everyone(score(stats, points, reason, None)));
        } else if let Some(down) = slot.as_ref().filter(|d| now - d.at < LATE_WINDOW_MS) {
            let msg = score(stats, 0, ScoreReason::Late, down.by.clone());
            events.push(Event::to_player(player_id, msg));
        } else {
            stats.missed();
            events.push(Event::everyone(score(
                stats,
                MISS_POINTS,
                ScoreReason::Miss,
                None,
            )));
        }
    }
}

fn mole_down(mole: Mole, reason: MoleDownReason, whacked: Option<(&str, i32)>) -> Event {
    Event::everyone(ServerMsg::MoleDown {
        mole_id: mole.id,
        hole: mole.hole,
        reason,
        by: whacked.map(|(by, _)| by.to_owned()),
        points: whacked.map(|(_, points)| points),
    })
}

fn score(stats: &PlayerStats, delta: i32, reason: ScoreReason, by: Option<String>) -> ServerMsg {
    ServerMsg::Score {
        player_id: stats.id.clone(),
        score: stats.score,
        delta,
        reason,
        by,
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
