//! The round's mole schedule: when waves pop, how big they are, which kinds and for
//! how long. It is generated lazily, one wave at a time, from the seed and the
//! round's clock only, so how often the room ticks never changes the moles.
//!
//! Every wave draws the same amount of randomness whatever the board looks like, so
//! wave times, kinds and durations depend on the seed alone; only which holes get
//! used depends on what players whacked.

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use whack_shared::protocol::{HOLES, Millis, MoleKind};

/// Shortest time a mole stays up, in ms.
pub const MIN_UP_MS: u32 = 700;
/// Longest time a mole stays up, in ms.
pub const MAX_UP_MS: u32 = 1500;
/// Longest time a golden mole stays up, in ms: rare and short.
pub const MAX_GOLDEN_UP_MS: u32 = 1000;
/// A beat between the countdown ending and the first mole.
const FIRST_WAVE_MS: Millis = 500.0;
/// Mean gap between waves at the start of the round, in ms.
const GAP_START_MS: Millis = 1100.0;
/// Mean gap between waves at the end of the round, in ms.
const GAP_END_MS: Millis = 450.0;
/// Gaps vary by this fraction either way so waves do not feel metronomic.
const GAP_JITTER: Millis = 0.2;
/// Most moles in one wave; the chance of each extra one grows with the round.
const MAX_WAVE: usize = 3;
/// Chance of a golden mole, in percent.
const GOLDEN_PERCENT: u32 = 7;
/// Chance of a bomb, in percent.
const BOMB_PERCENT: u32 = 13;

/// A mole the schedule pops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedMole {
    /// 0–8.
    pub hole: u8,
    /// Its kind.
    pub kind: MoleKind,
    /// When it comes up.
    pub up_at: Millis,
    /// When it goes down unless whacked.
    pub down_at: Millis,
}

/// The waves of one round, produced in time order.
#[derive(Debug)]
pub struct Spawner {
    rng: StdRng,
    starts_at: Millis,
    ends_at: Millis,
    next_at: Option<Millis>,
}

impl Spawner {
    /// The schedule for a round played from `starts_at` to `ends_at`.
    pub fn new(seed: u64, starts_at: Millis, ends_at: Millis) -> Self {
        let mut spawner = Self {
            rng: StdRng::seed_from_u64(seed),
            starts_at,
            ends_at,
            next_at: None,
        };
        spawner.next_at = spawner.if_room_for_a_mole(starts_at + FIRST_WAVE_MS);
        spawner
    }

    /// When the next wave pops; `None` once no mole fits before the end.
    pub fn next_at(&self) -> Option<Millis> {
        self.next_at
    }

    /// Pops the wave due at [`Self::next_at`] into some of the `free` holes and
    /// schedules the one after. Fewer moles pop when fewer holes are free.
    pub fn pop_wave(&mut self, free: &[u8]) -> Vec<PlannedMole> {
        let Some(at) = self.next_at else {
            return Vec::new();
        };
        let progress = ((at - self.starts_at) / (self.ends_at - self.starts_at)).clamp(0.0, 1.0);
        let size = 1
            + (1..MAX_WAVE)
                .filter(|_| self.rng.random_bool(progress))
                .count();
        let mut preference: Vec<u8> = (0..HOLES).collect();
        preference.shuffle(&mut self.rng);
        let traits: [(MoleKind, u32); MAX_WAVE] = std::array::from_fn(|_| self.mole_traits(at));
        let holes = preference
            .into_iter()
            .filter(|hole| free.contains(hole))
            .take(size);
        let wave = holes
            .zip(traits)
            .map(|(hole, (kind, up_ms))| PlannedMole {
                hole,
                kind,
                up_at: at,
                down_at: at + f64::from(up_ms),
            })
            .collect();

        let mean_gap = GAP_START_MS + (GAP_END_MS - GAP_START_MS) * progress;
        let shortest = (mean_gap * (1.0 - GAP_JITTER)).round() as u32;
        let longest = (mean_gap * (1.0 + GAP_JITTER)).round() as u32;
        let gap = self.rng.random_range(shortest..=longest);
        self.next_at = self.if_room_for_a_mole(at + f64::from(gap));
        wave
    }

    /// A kind and an up time in ms; no mole outlives the round.
    fn mole_traits(&mut self, at: Millis) -> (MoleKind, u32) {
        let roll = self.rng.random_range(0..100);
        let (kind, longest) = if roll < GOLDEN_PERCENT {
            (MoleKind::Golden, MAX_GOLDEN_UP_MS)
        } else if roll < GOLDEN_PERCENT + BOMB_PERCENT {
            (MoleKind::Bomb, MAX_UP_MS)
        } else {
            (MoleKind::Normal, MAX_UP_MS)
        };
        let left = (self.ends_at - at).floor().clamp(0.0, f64::from(MAX_UP_MS)) as u32;
        let longest = longest.min(left).max(MIN_UP_MS);
        (kind, self.rng.random_range(MIN_UP_MS..=longest))
    }

    fn if_room_for_a_mole(&self, at: Millis) -> Option<Millis> {
        (at + f64::from(MIN_UP_MS) <= self.ends_at).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [u8; 9] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

    fn waves(seed: u64, free: &[u8]) -> Vec<Vec<PlannedMole>> {
        let mut spawner = Spawner::new(seed, 0.0, 60_000.0);
        std::iter::from_fn(|| spawner.next_at().map(|_| spawner.pop_wave(free))).collect()
    }

    #[test]
    fn the_seed_fixes_the_schedule() {
        assert_eq!(waves(7, &ALL), waves(7, &ALL));
        assert_ne!(waves(7, &ALL), waves(8, &ALL));
    }

    #[test]
    fn wave_times_and_kinds_do_not_depend_on_free_holes() {
        let strip = |waves: Vec<Vec<PlannedMole>>| -> Vec<(Millis, MoleKind)> {
            waves.iter().map(|w| (w[0].up_at, w[0].kind)).collect()
        };
        assert_eq!(strip(waves(3, &ALL)), strip(waves(3, &[4])));
    }

    #[test]
    fn moles_only_use_free_holes_and_never_outlive_the_round() {
        for wave in waves(11, &[1, 5, 8]) {
            assert!(!wave.is_empty() && wave.len() <= MAX_WAVE);
            for mole in wave {
                assert!([1, 5, 8].contains(&mole.hole), "{mole:?}");
                assert!(mole.down_at <= 60_000.0, "{mole:?}");
            }
        }
    }
}
