//! The real binary's command line: bad flags get a clear usage error (exit 2),
//! and an unusable data dir or key fails start-up with a message, not a panic.

use std::process::Command;

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_whack-server"))
}

#[test]
fn unknown_flags_are_usage_errors() -> Result<(), Box<dyn std::error::Error>> {
    let out = server().arg("--no-such-flag").output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
    Ok(())
}

#[test]
fn bad_listen_and_public_url_are_usage_errors() -> Result<(), Box<dyn std::error::Error>> {
    let out = server().args(["--listen", "not-an-address"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    let out = server().args(["--public-url", "::nope"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

#[test]
fn a_data_dir_that_is_a_file_fails_cleanly() -> Result<(), Box<dyn std::error::Error>> {
    let file = tempfile::NamedTempFile::new()?;
    let out = server()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(file.path())
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data dir"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    Ok(())
}

#[test]
fn a_world_readable_signing_key_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("signing-key.p8"), b"whatever")?;
    std::fs::set_permissions(
        dir.path().join("signing-key.p8"),
        std::fs::Permissions::from_mode(0o644),
    )?;
    let out = server()
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    Ok(())
}
