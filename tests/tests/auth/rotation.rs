//! Refresh rotation: one successor chain under concurrency, the lost-response
//! grace, reuse detection revoking the session and its access tokens, revocation.

use reqwest::StatusCode;
use std::collections::HashSet;
use whack_shared::oauth::ErrorCode;
use whack_tests::passkey::login_new_player;
use whack_tests::{TestServer, oauth};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_refreshes_make_one_successor_chain() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (tokens, _) = login_new_player(&url, "Racer").await?;

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (http, url, token) = (http.clone(), url.clone(), tokens.refresh_token.clone());
        tasks.push(tokio::spawn(async move {
            oauth::refresh(&http, &url, &token).await
        }));
    }
    let mut successors = HashSet::new();
    for task in tasks {
        // Every one of them is either the rotation or a prompt retry of it.
        let refreshed = task
            .await??
            .map_err(|r| anyhow::anyhow!("refused: {r:?}"))?;
        successors.insert(refreshed.refresh_token.expose().to_owned());
    }
    assert_eq!(successors.len(), 1, "exactly one successor");
    let successor = whack_shared::Secret::new(successors.into_iter().next().unwrap_or_default());

    // The chain goes on from that successor, and the session is intact.
    let next = oauth::refresh(&http, &url, &successor)
        .await?
        .expect("successor works");
    let (status, _) = oauth::me(&http, &url, next.access_token.expose()).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn a_retry_gets_the_same_successor_and_later_reuse_revokes_everything() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (t0, _) = login_new_player(&url, "Retry").await?;

    let first = oauth::refresh(&http, &url, &t0.refresh_token)
        .await?
        .expect("rotation");
    let retry = oauth::refresh(&http, &url, &t0.refresh_token)
        .await?
        .expect("grace retry");
    assert_eq!(
        retry.refresh_token, first.refresh_token,
        "same successor, no sibling"
    );

    // The successor is used: the parent is now plain reuse.
    let second = oauth::refresh(&http, &url, &first.refresh_token)
        .await?
        .expect("rotation");
    let reuse = oauth::refresh(&http, &url, &t0.refresh_token)
        .await?
        .expect_err("reuse");
    assert_eq!(reuse.code(), ErrorCode::InvalidGrant);

    // The whole session is gone: the newest refresh token and every access token.
    let after = oauth::refresh(&http, &url, &second.refresh_token)
        .await?
        .expect_err("revoked");
    assert_eq!(after.code(), ErrorCode::InvalidGrant);
    for access in [&t0.access_token, &first.access_token, &second.access_token] {
        let (status, _) = oauth::me(&http, &url, access.expose()).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("whack_refresh_reuse_detected_total 1"),
        "{metrics}"
    );
    assert!(server.logs().contains("refresh token reuse detected"));

    // Other players' sessions are untouched.
    let (other, _) = login_new_player(&url, "Bystander").await?;
    let (status, _) = oauth::me(&http, &url, other.access_token.expose()).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn revocation_ends_the_session_at_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (tokens, _) = login_new_player(&url, "Leaver").await?;
    let (status, _) = oauth::me(&http, &url, tokens.access_token.expose()).await?;
    assert_eq!(status, StatusCode::OK);

    assert_eq!(
        oauth::revoke(&http, &url, &tokens.refresh_token).await?,
        StatusCode::OK
    );
    let (status, _) = oauth::me(&http, &url, tokens.access_token.expose()).await?;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "access tokens of a revoked session are refused before expiry"
    );
    let refused = oauth::refresh(&http, &url, &tokens.refresh_token)
        .await?
        .expect_err("revoked");
    assert_eq!(refused.code(), ErrorCode::InvalidGrant);
    // Unknown and repeated revocations are fine (RFC 7009).
    assert_eq!(
        oauth::revoke(&http, &url, &tokens.refresh_token).await?,
        StatusCode::OK
    );
    assert_eq!(
        oauth::revoke(&http, &url, &whack_shared::Secret::new("whr_unknown")).await?,
        StatusCode::OK
    );

    // Revoking by access token ends the login too.
    let (other, _) = login_new_player(&url, "Leaver2").await?;
    assert_eq!(
        oauth::revoke(&http, &url, &other.access_token).await?,
        StatusCode::OK
    );
    let refused = oauth::refresh(&http, &url, &other.refresh_token)
        .await?
        .expect_err("revoked by its access token");
    assert_eq!(refused.code(), ErrorCode::InvalidGrant);
    Ok(())
}
