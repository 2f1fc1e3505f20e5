//! The start-up checks and `check` on real sled databases in temp dirs.

use super::*;
use crate::storage::{PlayerRecord, SessionRecord};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn mode(path: &Path) -> io::Result<u32> {
    Ok(fs::metadata(path)?.permissions().mode() & 0o777)
}

fn data_dir() -> io::Result<(tempfile::TempDir, PathBuf)> {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("data");
    Ok((root, dir))
}

/// A store with one player and one session, as the server leaves it.
/// Waits until no sled in this process holds the database's lock: sled's own
/// thread lets go of it a moment after the last handle is dropped, so a test
/// that reopens at once could find it still taken.
fn released(dir: &Path) {
    let lock = dir.join(DB_DIR).join("db");
    for _ in 0..100 {
        match fs::File::open(&lock).map(|f| f.try_lock()) {
            Ok(Err(fs::TryLockError::WouldBlock)) => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            _ => return,
        }
    }
}

fn served_store(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let verified = open_for_serving(dir)?;
    let player = PlayerRecord {
        id: "p1".into(),
        name: "Ann".into(),
        created_at: 1,
    };
    verified
        .db
        .open_tree("players")?
        .insert("p1", serde_json::to_vec(&player)?)?;
    // From JSON, so the test does not follow every field the record gains.
    let session: SessionRecord = serde_json::from_str(
        r#"{"player_id":"p1","player_name":"Ann","client_id":"whack-cli","created_at":1,"expires_at":18446744073709551615}"#,
    )?;
    verified
        .db
        .open_tree("sessions")?
        .insert("s1", serde_json::to_vec(&session)?)?;
    verified.db.flush()?;
    SigningKey::load_or_create(dir)?;
    drop(verified);
    released(dir);
    Ok(())
}

fn damage(result: Result<impl fmt::Debug, IntegrityError>) -> Result<Damage, String> {
    match result {
        Err(IntegrityError::Damaged { damage, .. }) => Ok(damage),
        other => Err(format!("expected damage, got {other:?}")),
    }
}

#[test]
fn a_first_run_makes_a_private_sealed_data_dir() -> TestResult {
    let (_root, dir) = data_dir()?;
    let verified = open_for_serving(&dir)?;
    assert_eq!(verified.counts.get("players"), 0);
    assert_eq!(verified.if_key_missing(false), IfMissing::Create);
    assert_eq!(seal::read(&dir.join(seal::SEAL_FILE))?, Some(1));
    assert_eq!(mode(&dir)?, 0o700);
    assert_eq!(mode(&dir.join(DB_DIR))?, 0o700);
    assert_eq!(mode(&dir.join(DB_DIR).join(SLED_LOG))?, 0o600);
    assert_eq!(mode(&dir.join(seal::SEAL_FILE))?, 0o600);
    assert!(permissions::loose(&dir, &[])?.is_empty());
    drop(verified);
    // Each start seals past what the database holds.
    drop(open_for_serving(&dir)?);
    assert_eq!(seal::read(&dir.join(seal::SEAL_FILE))?, Some(2));
    Ok(())
}

#[test]
fn an_existing_open_data_dir_is_tightened() -> TestResult {
    let (_root, dir) = data_dir()?;
    fs::create_dir_all(&dir)?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
    drop(open_for_serving(&dir)?);
    fs::set_permissions(
        dir.join(DB_DIR).join("conf"),
        fs::Permissions::from_mode(0o644),
    )?;
    drop(open_for_serving(&dir)?);
    assert_eq!(mode(&dir)?, 0o700);
    assert_eq!(mode(&dir.join(DB_DIR).join("conf"))?, 0o600);
    Ok(())
}

#[test]
fn a_store_from_before_seals_starts_and_gets_one() -> TestResult {
    let (_root, dir) = data_dir()?;
    fs::create_dir_all(&dir)?;
    {
        let db = sled::Config::new().path(dir.join(DB_DIR)).open()?;
        db.open_tree("players")?
            .insert("p1", &br#"{"id":"p1","name":"Ann","created_at":1}"#[..])?;
        db.flush()?;
    }
    released(&dir);
    let verified = open_for_serving(&dir)?;
    assert_eq!(verified.counts.get("players"), 1);
    assert_eq!(verified.if_key_missing(false), IfMissing::Refuse);
    assert_eq!(verified.if_key_missing(true), IfMissing::Replace);
    assert_eq!(seal::read(&dir.join(seal::SEAL_FILE))?, Some(1));
    Ok(())
}

#[test]
fn a_database_behind_its_seal_is_refused_and_named() -> TestResult {
    let (_root, dir) = data_dir()?;
    served_store(&dir)?;
    // As if sled had dropped the log's tail holding writes 2..=9.
    seal::write(&dir.join(seal::SEAL_FILE), 9)?;
    let err = open_for_serving(&dir)
        .err()
        .ok_or("a damaged store opened")?;
    let text = err.to_string();
    assert!(
        text.contains(&dir.join(DB_DIR).display().to_string())
            && text.contains("restore")
            && text.contains("whack-server check"),
        "{text}"
    );
    assert!(matches!(
        damage(Err::<(), _>(err))?,
        Damage::LostWrites {
            sealed: 9,
            stored: 1,
            ..
        }
    ));
    // Refused again: nothing was "repaired" by the refused start.
    assert!(matches!(
        damage(open_for_serving(&dir).map(|v| v.counts))?,
        Damage::LostWrites { .. }
    ));
    assert!(matches!(damage(check(&dir))?, Damage::LostWrites { .. }));
    Ok(())
}

#[test]
fn a_sealed_data_dir_without_its_database_is_refused() -> TestResult {
    let (_root, dir) = data_dir()?;
    served_store(&dir)?;
    fs::remove_dir_all(dir.join(DB_DIR))?;
    assert!(matches!(
        damage(open_for_serving(&dir).map(|v| v.counts))?,
        Damage::NoDatabase { sealed: 1, .. }
    ));
    assert!(!dir.join(DB_DIR).exists(), "no empty database was created");
    Ok(())
}

#[test]
fn an_unreadable_seal_is_refused() -> TestResult {
    let (_root, dir) = data_dir()?;
    served_store(&dir)?;
    fs::write(dir.join(seal::SEAL_FILE), b"\x00\x01garbage")?;
    assert!(matches!(
        damage(open_for_serving(&dir).map(|v| v.counts))?,
        Damage::BadSeal(_)
    ));
    Ok(())
}

#[test]
fn a_record_that_does_not_decode_is_refused() -> TestResult {
    let (_root, dir) = data_dir()?;
    served_store(&dir)?;
    {
        let db = sled::Config::new().path(dir.join(DB_DIR)).open()?;
        db.open_tree("sessions")?
            .insert("s2", &b"{\"player_id\":"[..])?;
        db.flush()?;
    }
    released(&dir);
    let err = open_for_serving(&dir)
        .err()
        .ok_or("a damaged store opened")?;
    assert!(err.to_string().contains("tree sessions"), "{err}");
    assert!(check(&dir).is_err());
    Ok(())
}

#[test]
fn check_reports_a_healthy_store_and_changes_nothing() -> TestResult {
    let (_root, dir) = data_dir()?;
    served_store(&dir)?;
    let report = check(&dir)?;
    assert_eq!(report.counts.get("players"), 1);
    assert_eq!(report.counts.get("sessions"), 1);
    assert_eq!((report.sealed, report.stored), (Some(1), Some(1)));
    assert!(matches!(report.key, KeyState::Present { .. }));
    assert!(report.loose.is_empty(), "{:?}", report.loose);
    let shown = report.to_string();
    assert!(
        shown.contains("healthy") && shown.contains("sessions"),
        "{shown}"
    );
    // Nothing moved: the seal and the sequence are as the server left them,
    // and the snapshot sled wrote while opening is private too.
    let again = check(&dir)?;
    assert_eq!((again.sealed, again.stored), (Some(1), Some(1)));
    assert!(again.loose.is_empty(), "{:?}", again.loose);
    assert!(permissions::loose(&dir, &[])?.is_empty());
    Ok(())
}

#[test]
fn check_refuses_a_missing_key_when_players_hold_tokens() -> TestResult {
    let (_root, dir) = data_dir()?;
    served_store(&dir)?;
    fs::remove_file(dir.join(KEY_FILE))?;
    assert!(matches!(
        check(&dir),
        Err(IntegrityError::Key(KeyError::Missing { .. }))
    ));
    // A store nobody logged in to simply has no key yet.
    let (_root2, fresh) = data_dir()?;
    drop(open_for_serving(&fresh)?);
    assert_eq!(check(&fresh)?.key, KeyState::NotYetCreated);
    Ok(())
}

#[test]
fn check_refuses_a_store_in_use_or_absent() -> TestResult {
    let (_root, dir) = data_dir()?;
    let serving = open_for_serving(&dir)?;
    assert!(matches!(check(&dir), Err(IntegrityError::InUse { .. })));
    assert!(matches!(
        open_for_serving(&dir).map(|v| v.counts),
        Err(IntegrityError::InUse { .. })
    ));
    drop(serving);
    assert!(check(&dir).is_ok());
    let (_root2, absent) = data_dir()?;
    assert!(matches!(
        check(&absent),
        Err(IntegrityError::NoStore { .. })
    ));
    assert!(!absent.exists(), "check created nothing");
    Ok(())
}
