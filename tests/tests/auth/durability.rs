//! `kill -9` right after an acknowledged rotation loses nothing.

use reqwest::StatusCode;
use whack_shared::oauth::ErrorCode;
use whack_tests::passkey::login_new_player;
use whack_tests::{TestServer, oauth};

#[tokio::test]
async fn an_acknowledged_rotation_survives_kill_9() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (t0, player) = login_new_player(&url, "Durable").await?;

    let rotated = oauth::refresh(&http, &url, &t0.refresh_token)
        .await?
        .expect("rotation");
    server.kill9();
    server.restart().await?;

    // The successor works; the player and the signing key came back too.
    let next = oauth::refresh(&http, &url, &rotated.refresh_token)
        .await?
        .expect("successor survives");
    let (status, body) = oauth::me(&http, &url, next.access_token.expose()).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&player.id));
    let (status, _) = oauth::me(&http, &url, rotated.access_token.expose()).await?;
    assert_eq!(
        status,
        StatusCode::OK,
        "access tokens issued before the crash still verify"
    );

    // The original counts as reused, revoking the session, and that survives a crash as well.
    let reuse = oauth::refresh(&http, &url, &t0.refresh_token)
        .await?
        .expect_err("reuse");
    assert_eq!(reuse.code(), ErrorCode::InvalidGrant);
    server.kill9();
    server.restart().await?;
    let (status, _) = oauth::me(&http, &url, next.access_token.expose()).await?;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the revocation list is rebuilt at start-up"
    );
    let refused = oauth::refresh(&http, &url, &next.refresh_token)
        .await?
        .expect_err("the session stays revoked");
    assert_eq!(refused.code(), ErrorCode::InvalidGrant);
    Ok(())
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly() -> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    let status = server.terminate().await?;
    assert!(status.success(), "exit status {status}");
    assert!(server.logs().contains("shut down cleanly"));
    Ok(())
}
