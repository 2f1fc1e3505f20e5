//! Per-player tallies and the final ranking.

use whack_shared::protocol::{MoleKind, RankingEntry, ScoreReason};

/// Points for whacking an empty hole.
pub const MISS_POINTS: i32 = -1;

/// One player's standing in the round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerStats {
    /// Player id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Score so far.
    pub score: i32,
    /// Normal and golden moles whacked.
    pub hits: u32,
    /// Empty holes whacked.
    pub misses: u32,
    /// Bombs whacked.
    pub bombs: u32,
    /// Whacks dropped by the 15-a-second cap.
    pub dropped: u32,
}

impl PlayerStats {
    /// A player with nothing scored yet.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            score: 0,
            hits: 0,
            misses: 0,
            bombs: 0,
            dropped: 0,
        }
    }

    /// Counts a whacked mole; returns why the score changed.
    pub fn whacked(&mut self, kind: MoleKind) -> ScoreReason {
        self.score += kind.points();
        match kind {
            MoleKind::Normal => {
                self.hits += 1;
                ScoreReason::Hit
            }
            MoleKind::Golden => {
                self.hits += 1;
                ScoreReason::Golden
            }
            MoleKind::Bomb => {
                self.bombs += 1;
                ScoreReason::Bomb
            }
        }
    }

    /// Counts a whack on an empty hole.
    pub fn missed(&mut self) {
        self.score += MISS_POINTS;
        self.misses += 1;
    }

    fn entry(&self, rank: u32) -> RankingEntry {
        RankingEntry {
            player_id: self.id.clone(),
            name: self.name.clone(),
            score: self.score,
            hits: self.hits,
            misses: self.misses,
            bombs: self.bombs,
            rank,
        }
    }
}

/// Best score first; equal scores share a rank (1, 1, 3) and keep the order given.
pub fn ranking<'a>(players: impl IntoIterator<Item = &'a PlayerStats>) -> Vec<RankingEntry> {
    let mut order: Vec<&PlayerStats> = players.into_iter().collect();
    // A stable sort keeps tied players in join order.
    order.sort_by_key(|p| std::cmp::Reverse(p.score));
    let mut ranking: Vec<RankingEntry> = Vec::with_capacity(order.len());
    for (place, player) in (1u32..).zip(order) {
        let rank = match ranking.last() {
            Some(prev) if prev.score == player.score => prev.rank,
            _ => place,
        };
        ranking.push(player.entry(rank));
    }
    ranking
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player(id: &str, score: i32) -> PlayerStats {
        PlayerStats {
            score,
            ..PlayerStats::new(id, id.to_uppercase())
        }
    }

    fn ranks(players: &[PlayerStats]) -> Vec<(String, u32)> {
        ranking(players)
            .into_iter()
            .map(|e| (e.player_id, e.rank))
            .collect()
    }

    #[test]
    fn equal_scores_share_a_rank_and_the_next_rank_skips() {
        let players = [
            player("a", 2),
            player("b", 5),
            player("c", 5),
            player("d", -1),
        ];
        let expected = [("b", 1), ("c", 1), ("a", 3), ("d", 4)];
        assert_eq!(ranks(&players), expected.map(|(id, r)| (id.to_owned(), r)));
    }

    #[test]
    fn ties_keep_join_order() {
        let players = [player("z", 0), player("y", 0), player("x", 0)];
        let expected = [("z", 1), ("y", 1), ("x", 1)];
        assert_eq!(ranks(&players), expected.map(|(id, r)| (id.to_owned(), r)));
    }

    #[test]
    fn tallies_follow_the_kind_whacked() {
        let mut p = PlayerStats::new("p", "P");
        assert_eq!(p.whacked(MoleKind::Normal), ScoreReason::Hit);
        assert_eq!(p.whacked(MoleKind::Golden), ScoreReason::Golden);
        assert_eq!(p.whacked(MoleKind::Bomb), ScoreReason::Bomb);
        p.missed();
        assert_eq!(
            (p.score, p.hits, p.bombs, p.misses),
            (1 + 3 - 3 - 1, 2, 1, 1)
        );
        let entry = &ranking([&p])[0];
        assert_eq!((entry.name.as_str(), entry.score, entry.rank), ("P", 0, 1));
    }
}
