//! Two players play a whole seeded round: the same ranking for both, one winner
//! per mole race, and results that match the stored stats after a `kill -9`.

use crate::{FLAGS, Player, online, seeded_room, start};
use std::collections::HashMap;
use std::time::Duration;
use whack_shared::api::{Leaderboard, Me};
use whack_shared::protocol::{
    ClientMsg, HOLES, MoleDownReason, RankingEntry, ScoreReason, ServerMsg,
};
use whack_tests::TestServer;
use whack_tests::oauth;
use whack_tests::ws::GameClient;

/// Plays until `game_over`; whacks what `choose` picks on each message.
async fn play(
    mut client: GameClient,
    mut choose: impl FnMut(&ServerMsg) -> Option<u8> + Send,
) -> anyhow::Result<(GameClient, Vec<ServerMsg>)> {
    let mut log = Vec::new();
    loop {
        let msg = client.recv_within(Duration::from_secs(20)).await?;
        if let Some(hole) = choose(&msg) {
            client.send(&ClientMsg::Whack { hole }).await?;
        }
        let over = matches!(msg, ServerMsg::GameOver { .. });
        log.push(msg);
        if over {
            return Ok((client, log));
        }
    }
}

fn ranking(log: &[ServerMsg]) -> Vec<RankingEntry> {
    log.iter()
        .find_map(|m| match m {
            ServerMsg::GameOver { ranking } => Some(ranking.clone()),
            _ => None,
        })
        .expect("a game_over")
}

/// Tallies (score, hits, misses, bombs) per player from the broadcast scores.
fn tally(log: &[ServerMsg]) -> HashMap<String, (i32, u32, u32, u32)> {
    let mut tally: HashMap<String, (i32, u32, u32, u32)> = HashMap::new();
    for msg in log {
        if let ServerMsg::Score {
            player_id,
            score,
            delta,
            reason,
            ..
        } = msg
        {
            let t = tally.entry(player_id.clone()).or_default();
            t.0 += delta;
            assert_eq!(t.0, *score, "running total of {player_id}");
            match reason {
                ScoreReason::Hit | ScoreReason::Golden => t.1 += 1,
                ScoreReason::Miss => t.2 += 1,
                ScoreReason::Bomb => t.3 += 1,
                ScoreReason::Late => {}
            }
        }
    }
    tally
}

async fn me(server: &TestServer, player: &Player) -> anyhow::Result<Me> {
    let (status, body) = oauth::me(
        &reqwest::Client::new(),
        &server.url(),
        player.tokens.access_token.expose(),
    )
    .await?;
    anyhow::ensure!(status.is_success(), "/api/me: {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}

#[tokio::test]
async fn two_players_finish_a_seeded_round_with_one_ranking_that_is_stored() -> anyhow::Result<()> {
    let mut server = TestServer::start_with(FLAGS).await?;
    let [(alice, mut a), (bob, mut b)] = online(&server, ["Alice", "Bob"]).await?;
    seeded_room(&mut a, &mut [&mut b], 7).await?;
    start(&mut a, &mut [&mut b]).await?;

    // Alice whacks every mole. Bob races her for the first one, then whacks one
    // hole he knows is empty once moles have been popping for a while.
    let alice_task = tokio::spawn(play(a, |m| match m {
        ServerMsg::MoleUp { hole, .. } => Some(*hole),
        _ => None,
    }));
    let mut ever: Vec<u8> = Vec::new();
    let bob_task = tokio::spawn(play(b, move |m| {
        if let ServerMsg::MoleUp { hole, .. } = m {
            ever.push(*hole);
            match ever.len() {
                1 => return Some(*hole),
                // A hole that has had no mole this round is empty, and no late race.
                4 => return (0..HOLES).find(|h| !ever.contains(h)),
                _ => {}
            }
        }
        None
    }));
    let (a, alice_log) = alice_task.await??;
    let (b, bob_log) = bob_task.await??;

    let final_ranking = ranking(&alice_log);
    assert_eq!(
        final_ranking,
        ranking(&bob_log),
        "both see the same ranking"
    );
    assert_eq!(final_ranking.len(), 2);
    assert_eq!(final_ranking[0].rank, 1);
    assert!(final_ranking[0].score >= final_ranking[1].score);

    // The first mole: exactly one whack scored it; the other was told it was late.
    let first = alice_log
        .iter()
        .find_map(|m| match m {
            ServerMsg::MoleUp { mole_id, .. } => Some(mole_id.clone()),
            _ => None,
        })
        .expect("a mole popped");
    let downs: Vec<_> = alice_log
        .iter()
        .filter_map(|m| match m {
            ServerMsg::MoleDown {
                mole_id,
                reason,
                by,
                ..
            } if *mole_id == first => Some((*reason, by.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(downs.len(), 1, "{downs:?}");
    let (reason, winner) = downs[0].clone();
    assert_eq!(reason, MoleDownReason::Whacked);
    let winner = winner.expect("whacked by someone");
    let loser_log = if winner == alice.me.id {
        &bob_log
    } else {
        &alice_log
    };
    let loser_id = if winner == alice.me.id {
        &bob.me.id
    } else {
        &alice.me.id
    };
    let late: Vec<_> = loser_log
        .iter()
        .filter(|m| {
            matches!(
                m,
                ServerMsg::Score {
                    reason: ScoreReason::Late,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(late.len(), 1, "exactly one late whack: {late:?}");
    assert!(matches!(
        late[0],
        ServerMsg::Score { player_id, delta: 0, by: Some(by), .. } if player_id == loser_id && *by == winner
    ));
    // Late scores go to the whacker only.
    let winner_log = if winner == alice.me.id {
        &alice_log
    } else {
        &bob_log
    };
    assert!(!winner_log.iter().any(|m| matches!(
        m,
        ServerMsg::Score {
            reason: ScoreReason::Late,
            ..
        }
    )));

    // The ranking is what the broadcast scores add up to.
    let tallies = tally(&alice_log);
    assert_eq!(tallies, tally(&bob_log));
    for entry in &final_ranking {
        let (score, hits, misses, bombs) =
            tallies.get(&entry.player_id).copied().unwrap_or_default();
        assert_eq!(
            (entry.score, entry.hits, entry.misses, entry.bombs),
            (score, hits, misses, bombs),
            "{entry:?}"
        );
    }
    let bob_entry = final_ranking
        .iter()
        .find(|e| e.player_id == bob.me.id)
        .unwrap();
    let bob_late = usize::from(loser_id == &bob.me.id);
    assert_eq!(
        (bob_entry.hits + bob_entry.misses + bob_entry.bombs) as usize + bob_late,
        2,
        "Bob whacked twice: {bob_entry:?}"
    );
    drop((a, b));

    // game_over is only sent once the results are on disk.
    server.kill9();
    server.restart().await?;
    for entry in &final_ranking {
        let player = if entry.player_id == alice.me.id {
            &alice
        } else {
            &bob
        };
        let me = me(&server, player).await?;
        let s = me.stats;
        assert_eq!(
            (s.games, s.wins, s.best_score, s.hits, s.misses, s.bombs),
            (
                1,
                u64::from(entry.rank == 1),
                i64::from(entry.score),
                u64::from(entry.hits),
                u64::from(entry.misses),
                u64::from(entry.bombs)
            ),
            "{}",
            player.me.name
        );
    }
    let board: Leaderboard = reqwest::get(format!("{}/api/leaderboard", server.url()))
        .await?
        .json()
        .await?;
    assert!(
        board
            .entries
            .windows(2)
            .all(|w| w[0].best_score >= w[1].best_score)
    );
    let mut rows: Vec<_> = board
        .entries
        .iter()
        .map(|e| (e.player_id.clone(), e.best_score, e.wins, e.games))
        .collect();
    let mut expected: Vec<_> = final_ranking
        .iter()
        .map(|e| {
            (
                e.player_id.clone(),
                i64::from(e.score),
                u64::from(e.rank == 1),
                1,
            )
        })
        .collect();
    rows.sort();
    expected.sort();
    assert_eq!(rows, expected);
    Ok(())
}
