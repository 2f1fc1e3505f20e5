//! One contract every store keeps, run against each implementation: the same
//! test bodies over the in-memory store and over sled in a temporary directory.

use super::redis_store::test_redis::TestRedis;
use super::*;
use std::collections::HashSet;
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{Passkey, Url, Uuid, WebauthnBuilder};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A real passkey from a real (software) registration ceremony.
fn passkey() -> Result<Passkey, Box<dyn std::error::Error + Send + Sync>> {
    let origin = Url::parse("http://localhost:8080")?;
    let webauthn = WebauthnBuilder::new("localhost", &origin)?.build()?;
    let (options, state) =
        webauthn.start_passkey_registration(Uuid::new_v4(), "ann", "Ann", None)?;
    let credential = SoftPasskey::new(true)
        .perform_register(origin, options.public_key, 60_000)
        .map_err(|e| format!("soft passkey: {e:?}"))?;
    Ok(webauthn.finish_passkey_registration(&credential, &state)?)
}

fn player(id: &str, name: &str) -> PlayerRecord {
    PlayerRecord {
        id: id.into(),
        name: name.into(),
        created_at: 1,
    }
}

pub(crate) fn credential(
    player_id: &str,
) -> Result<CredentialRecord, Box<dyn std::error::Error + Send + Sync>> {
    Ok(CredentialRecord {
        player_id: player_id.into(),
        passkey: passkey()?,
        created_at: Some(1),
        last_used_at: None,
        name: None,
        aaguid: None,
    })
}

fn session(revoked_at: Option<u64>, expires_at: u64) -> SessionRecord {
    SessionRecord {
        player_id: "p1".into(),
        player_name: "Ann".into(),
        client_id: "cli".into(),
        created_at: 0,
        expires_at,
        revoked_at,
        revoke_reason: revoked_at.map(|_| "test".into()),
        chain: None,
        started_from: None,
        last_played_at: None,
        passkey_checked_at: None,
    }
}

fn device(user_code: &str, expires_at: u64) -> DeviceRecord {
    DeviceRecord {
        user_code: user_code.into(),
        client_id: "cli".into(),
        client_addr: "127.0.0.1".into(),
        created_at: 0,
        expires_at,
        interval_secs: 5,
        last_poll_at: None,
        status: DeviceStatus::Pending,
    }
}

fn ranked(id: &str, score: i32, rank: u32) -> RankingEntry {
    RankingEntry {
        player_id: id.into(),
        name: id.to_uppercase(),
        score,
        hits: 2,
        misses: 1,
        bombs: 0,
        rank,
    }
}

async fn accounts_keep_names_and_credentials_unique(store: SharedStore) -> TestResult {
    let ann = credential("p1")?;
    assert_eq!(
        store.create_player(&player("p1", "Ann"), &ann).await?,
        CreatePlayer::Created
    );
    assert_eq!(store.player("p1").await?, Some(player("p1", "Ann")));
    assert!(
        store.name_taken("aNN").await?,
        "names are unique case-insensitively"
    );
    assert_eq!(
        store
            .create_player(&player("p2", "ANN"), &credential("p2")?)
            .await?,
        CreatePlayer::NameTaken
    );
    let reused = CredentialRecord {
        player_id: "p3".into(),
        ..ann.clone()
    };
    assert_eq!(
        store.create_player(&player("p3", "Bob"), &reused).await?,
        CreatePlayer::CredentialExists
    );
    assert_eq!(
        store.player("p2").await?,
        None,
        "a refused sign-up stores nothing"
    );
    assert!(
        !store.name_taken("bob").await?,
        "a refused sign-up stores nothing"
    );
    let found = store
        .credential(ann.passkey.cred_id())
        .await?
        .ok_or("no credential")?;
    assert_eq!(found.player_id, "p1");
    let used = CredentialRecord {
        last_used_at: Some(5),
        ..found
    };
    store.put_credential(&used).await?;
    assert_eq!(
        store
            .credential(ann.passkey.cred_id())
            .await?
            .and_then(|c| c.last_used_at),
        Some(5),
        "a sign-in's time is kept"
    );
    store.delete_player("p1").await?;
    assert_eq!(store.player("p1").await?, None);
    assert!(
        !store.name_taken("ann").await?,
        "a deleted player's name is free"
    );
    assert!(store.credential(ann.passkey.cred_id()).await?.is_none());
    Ok(())
}

async fn sessions_change_only_by_compare_and_set(store: SharedStore) -> TestResult {
    let live = session(None, 10_000);
    assert!(store.create_session("s1", &live).await?);
    assert!(
        !store.create_session("s1", &live).await?,
        "never overwritten"
    );
    let read = store.session("s1").await?.ok_or("no session")?;
    assert_eq!(read.record, live);
    let revoked = session(Some(5), 10_000);
    assert!(store.rotate("s1", &read.version, &revoked).await?);
    assert!(
        !store.rotate("s1", &read.version, &live).await?,
        "a stale version must not win"
    );
    assert_eq!(store.session("s1").await?.ok_or("gone")?.record, revoked);
    assert!(
        !store.rotate("nobody", &read.version, &live).await?,
        "rotate never creates"
    );
    assert!(store.session("nobody").await?.is_none());
    Ok(())
}

async fn one_of_many_racing_rotations_wins(store: SharedStore) -> TestResult {
    assert!(store.create_session("s1", &session(None, 10_000)).await?);
    let parent = store.session("s1").await?.ok_or("no session")?.version;
    let mut racers = Vec::new();
    for i in 0..16u64 {
        let (store, parent) = (store.clone(), parent.clone());
        racers.push(tokio::spawn(async move {
            let successor = session(None, 20_000 + i);
            store
                .rotate("s1", &parent, &successor)
                .await
                .map(|won| (won, i))
        }));
    }
    let mut winners = Vec::new();
    for racer in racers {
        if let (true, i) = racer.await?? {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored = store.session("s1").await?.ok_or("gone")?.record;
    assert_eq!(stored.expires_at, 20_000 + winners[0]);
    Ok(())
}

async fn device_requests_keep_user_codes_unique(store: SharedStore) -> TestResult {
    assert!(
        store
            .insert_device(b"h1", &device("BCDFGHJK", 1_000))
            .await?
    );
    assert!(
        !store
            .insert_device(b"h2", &device("BCDFGHJK", 1_000))
            .await?,
        "a live user code is never given twice"
    );
    assert!(store.device(b"h2").await?.is_none());
    let (hash, found) = store
        .device_by_user_code("BCDFGHJK")
        .await?
        .ok_or("no request")?;
    assert_eq!(
        (hash.as_slice(), found.user_code.as_str()),
        (&b"h1"[..], "BCDFGHJK")
    );
    let read = store.device(b"h1").await?.ok_or("no request")?;
    let mut denied = read.record.clone();
    denied.status = DeviceStatus::Denied;
    assert!(store.replace_device(b"h1", &read.version, &denied).await?);
    assert!(
        !store
            .replace_device(b"h1", &read.version, &read.record)
            .await?,
        "a stale decision must not win"
    );
    assert_eq!(
        store.device(b"h1").await?.ok_or("gone")?.record.status,
        DeviceStatus::Denied
    );
    Ok(())
}

async fn stats_add_up_and_rank_best_first(store: SharedStore) -> TestResult {
    store
        .record_round(&[ranked("a", 5, 1), ranked("b", -2, 2)])
        .await?;
    store
        .record_round(&[ranked("b", 9, 1), ranked("c", 5, 2), ranked("a", 3, 3)])
        .await?;
    store.record_round(&[ranked("neg", -4, 1)]).await?;
    let a = store.player_stats("a").await?;
    assert_eq!(
        (a.games, a.wins, a.best_score, a.hits, a.misses),
        (2, 1, 5, 4, 2)
    );
    assert_eq!(store.player_stats("nobody").await?, PlayerStats::default());
    let rows: Vec<_> = store
        .leaderboard(10)
        .await?
        .into_iter()
        .map(|e| (e.player_id, e.rank, e.best_score))
        .collect();
    // a and c share best score 5 (same rank); a has more wins so comes first;
    // a negative best score sorts last.
    let expected = [("b", 1, 9), ("a", 2, 5), ("c", 2, 5), ("neg", 4, -4)];
    let expected: Vec<_> = expected
        .iter()
        .map(|(p, r, s)| (p.to_string(), *r, *s))
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(store.leaderboard(2).await?.len(), 2);
    store.remove_player_stats("b").await?;
    assert_eq!(store.player_stats("b").await?, PlayerStats::default());
    let ids: Vec<_> = store
        .leaderboard(10)
        .await?
        .into_iter()
        .map(|e| (e.player_id, e.rank))
        .collect();
    assert_eq!(
        ids,
        [("a", 1), ("c", 1), ("neg", 3)].map(|(p, r)| (p.to_string(), r))
    );
    Ok(())
}

async fn revocations_and_purge_see_what_matters(store: SharedStore) -> TestResult {
    assert!(
        store
            .create_session("old", &session(Some(100), 10_000))
            .await?
    );
    assert!(
        store
            .create_session("new", &session(Some(900), 10_000))
            .await?
    );
    assert!(store.create_session("live", &session(None, 10_000)).await?);
    assert!(store.create_session("ended", &session(None, 50)).await?);
    let revoked: HashSet<_> = store.revoked_since(500).await?.into_iter().collect();
    assert_eq!(revoked, HashSet::from([("new".to_string(), 900)]));
    assert!(store.insert_device(b"h1", &device("BCDFGHJK", 60)).await?);
    assert!(
        store
            .insert_device(b"h2", &device("CDFGHJKL", 5_000))
            .await?
    );
    assert_eq!(
        store.purge(100).await?,
        2,
        "the ended session and the expired request"
    );
    assert!(store.session("ended").await?.is_none());
    assert!(store.session("live").await?.is_some());
    assert!(store.device(b"h1").await?.is_none());
    assert!(
        store
            .insert_device(b"h3", &device("BCDFGHJK", 5_000))
            .await?,
        "a purged request frees its user code"
    );
    assert!(store.device(b"h2").await?.is_some());
    Ok(())
}

async fn sessions_are_listed_by_player(store: SharedStore) -> TestResult {
    // Real instants: Redis lets a player's list expire with their last session.
    let now = crate::clock::now_ms();
    let later = now + 3_600_000;
    let bob = SessionRecord {
        player_id: "p2".into(),
        ..session(None, later)
    };
    assert!(store.create_session("a1", &session(None, later)).await?);
    assert!(
        store
            .create_session("a2", &session(Some(now), later))
            .await?
    );
    assert!(store.create_session("a3", &session(None, now + 50)).await?);
    assert!(store.create_session("b1", &bob).await?);
    let ids = |list: Vec<(String, SessionRecord)>| -> HashSet<String> {
        list.into_iter().map(|(sid, _)| sid).collect()
    };
    assert_eq!(
        ids(store.sessions_of("p1").await?),
        HashSet::from(["a1".into(), "a2".into(), "a3".into()]),
        "revoked and expired sessions stay listed until the purge"
    );
    assert_eq!(
        ids(store.sessions_of("p2").await?),
        HashSet::from(["b1".into()])
    );
    assert!(store.sessions_of("p3").await?.is_empty());
    store.purge(now + 100).await?;
    assert_eq!(
        ids(store.sessions_of("p1").await?),
        HashSet::from(["a1".into(), "a2".into()]),
        "a purged session leaves the list"
    );
    Ok(())
}

async fn passkeys_are_listed_added_and_never_all_removed(store: SharedStore) -> TestResult {
    let first = credential("p1")?;
    assert_eq!(
        store.create_player(&player("p1", "Ann"), &first).await?,
        CreatePlayer::Created
    );
    let second = credential("p1")?;
    assert!(store.add_credential(&second).await?);
    assert!(
        !store.add_credential(&second).await?,
        "a credential id is registered once"
    );
    assert!(store.add_credential(&credential("p2")?).await?);
    let ids = |list: Vec<CredentialRecord>| -> HashSet<Vec<u8>> {
        list.into_iter()
            .map(|c| c.passkey.cred_id().to_vec())
            .collect()
    };
    let (a, b) = (
        first.passkey.cred_id().to_vec(),
        second.passkey.cred_id().to_vec(),
    );
    assert_eq!(
        ids(store.credentials_of("p1").await?),
        HashSet::from([a.clone(), b.clone()])
    );
    assert_eq!(
        store.remove_credential("p2", &a, false).await?,
        RemoveCredential::Unknown,
        "another player's passkey"
    );
    assert_eq!(
        store.remove_credential("p1", &a, false).await?,
        RemoveCredential::Removed
    );
    store.put_credential(&first).await?;
    assert!(
        store.credential(&a).await?.is_none(),
        "a late update does not bring a removed passkey back"
    );
    assert_eq!(
        store.remove_credential("p1", &b, false).await?,
        RemoveCredential::Last
    );
    assert_eq!(
        ids(store.credentials_of("p1").await?),
        HashSet::from([b.clone()])
    );
    assert_eq!(
        store.remove_credential("p1", &b, true).await?,
        RemoveCredential::Removed
    );
    assert!(store.credentials_of("p1").await?.is_empty());
    Ok(())
}

async fn recovery_codes_change_only_by_compare_and_set(store: SharedStore) -> TestResult {
    assert_eq!(
        store
            .create_player(&player("p1", "Ann"), &credential("p1")?)
            .await?,
        CreatePlayer::Created
    );
    assert_eq!(store.player_id_by_name("ANN").await?, Some("p1".into()));
    assert_eq!(store.player_id_by_name("bob").await?, None);
    let set = |created_at| RecoveryRecord {
        created_at,
        codes: vec![RecoveryCode {
            salt: "00".into(),
            hash: "11".into(),
            spent_at: None,
        }],
        uses: Vec::new(),
    };
    assert!(store.recovery_codes("p1").await?.is_none());
    assert!(store.replace_recovery_codes("p1", None, &set(1)).await?);
    assert!(
        !store.replace_recovery_codes("p1", None, &set(2)).await?,
        "a first set exists already"
    );
    let first = store.recovery_codes("p1").await?.ok_or("no codes")?;
    assert_eq!(first.record, set(1));
    assert!(
        store
            .replace_recovery_codes("p1", Some(&first.version), &set(3))
            .await?
    );
    assert!(
        !store
            .replace_recovery_codes("p1", Some(&first.version), &set(4))
            .await?,
        "a stale version loses"
    );
    assert_eq!(
        store.recovery_codes("p1").await?.map(|v| v.record),
        Some(set(3))
    );
    store.delete_player("p1").await?;
    assert!(
        store.recovery_codes("p1").await?.is_none(),
        "the codes go with the player"
    );
    Ok(())
}

async fn a_deleted_account_leaves_its_name_taken_for_a_while(store: SharedStore) -> TestResult {
    let now = crate::clock::now_ms();
    let ann = credential("p1")?;
    assert_eq!(
        store.create_player(&player("p1", "Ann"), &ann).await?,
        CreatePlayer::Created
    );
    let (_, codes) = crate::auth::recovery_codes::new_set(now);
    assert!(store.replace_recovery_codes("p1", None, &codes).await?);
    let free_at = now + 3_000;
    store.delete_account("p1", free_at).await?;
    assert_eq!(store.player("p1").await?, None);
    assert!(store.credential(ann.passkey.cred_id()).await?.is_none());
    assert!(store.credentials_of("p1").await?.is_empty());
    assert!(store.recovery_codes("p1").await?.is_none());
    assert_eq!(store.player_id_by_name("ann").await?, None);
    assert!(store.name_taken("ann").await?, "the name cools down first");
    assert_eq!(
        store
            .create_player(&player("p2", "ANN"), &credential("p2")?)
            .await?,
        CreatePlayer::NameTaken
    );
    store.purge(free_at - 1).await?;
    assert!(store.name_taken("ann").await?);
    store.purge(free_at + 1).await?;
    // Redis lets the reservation expire by itself, at its own clock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.name_taken("ann").await? && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        store
            .create_player(&player("p2", "ANN"), &credential("p2")?)
            .await?,
        CreatePlayer::Created,
        "free after the cool-down"
    );
    Ok(())
}

/// Runs every contract test against the store `make` opens.
macro_rules! contract {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            /// The store, and whatever must live as long as it (a Redis).
            async fn store() -> Option<(SharedStore, Box<dyn std::any::Any + Send>)> {
                $make
            }

            #[tokio::test]
            async fn accounts_keep_names_and_credentials_unique() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::accounts_keep_names_and_credentials_unique(store).await
            }

            #[tokio::test]
            async fn sessions_change_only_by_compare_and_set() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::sessions_change_only_by_compare_and_set(store).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn one_of_many_racing_rotations_wins() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::one_of_many_racing_rotations_wins(store).await
            }

            #[tokio::test]
            async fn device_requests_keep_user_codes_unique() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::device_requests_keep_user_codes_unique(store).await
            }

            #[tokio::test]
            async fn stats_add_up_and_rank_best_first() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::stats_add_up_and_rank_best_first(store).await
            }

            #[tokio::test]
            async fn revocations_and_purge_see_what_matters() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::revocations_and_purge_see_what_matters(store).await
            }
            #[tokio::test]
            async fn sessions_are_listed_by_player() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::sessions_are_listed_by_player(store).await
            }
            #[tokio::test]
            async fn a_deleted_account_leaves_its_name_taken_for_a_while() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::a_deleted_account_leaves_its_name_taken_for_a_while(store).await
            }
            #[tokio::test]
            async fn recovery_codes_change_only_by_compare_and_set() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::recovery_codes_change_only_by_compare_and_set(store).await
            }
            #[tokio::test]
            async fn passkeys_are_listed_added_and_never_all_removed() -> TestResult {
                let Some((store, _alive)) = store().await else {
                    return Ok(());
                };
                super::passkeys_are_listed_added_and_never_all_removed(store).await
            }
        }
    };
}

contract!(
    in_memory,
    Some((Arc::new(MemoryStore::new()), Box::new(())))
);
contract!(
    on_sled,
    Some((
        Arc::new(
            sled::Config::new()
                .temporary(true)
                .open()
                .map_err(StoreError::from)
                .and_then(SledStore::unsealed)
                .unwrap_or_else(|e| panic!("cannot open a temporary sled store: {e}"))
        ),
        Box::new(())
    ))
);
contract!(on_redis, on_redis(TestRedis::single()).await);
contract!(on_redis_cluster, on_redis(TestRedis::cluster()).await);

/// A Redis store on a fresh Redis that `started` brought up, if Redis is here.
async fn on_redis(
    started: Result<Option<TestRedis>, Box<dyn std::error::Error + Send + Sync>>,
) -> Option<(SharedStore, Box<dyn std::any::Any + Send>)> {
    let redis = started.unwrap_or_else(|e| panic!("cannot start Redis: {e}"))?;
    let store = RedisStore::connect(&redis.url, redis_store::DurabilityCheck::Required)
        .await
        .unwrap_or_else(|e| panic!("cannot use the test Redis: {e}"));
    Some((Arc::new(store), Box::new(redis)))
}

/// A sled data dir written before the per-player indexes gets them at its
/// first open.
#[tokio::test]
async fn sled_indexes_records_written_before_the_indexes() -> TestResult {
    let db = sled::Config::new().temporary(true).open()?;
    let ann = credential("p1")?;
    db.open_tree("credentials")?
        .insert(ann.passkey.cred_id().as_slice(), encode(&ann)?)?;
    db.open_tree("sessions")?
        .insert("s1", encode(&session(None, u64::MAX))?)?;
    let store = SledStore::unsealed(db)?;
    assert_eq!(store.credentials_of("p1").await?.len(), 1);
    let sessions = store.sessions_of("p1").await?;
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].0, "s1");
    Ok(())
}
