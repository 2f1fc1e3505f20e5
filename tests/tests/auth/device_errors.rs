//! Every device-grant error, as RFC 8628 §3.5 and RFC 6749 §5.2 name them.

use reqwest::StatusCode;
use std::time::Duration;
use whack_shared::device_page::Decision;
use whack_shared::oauth::{DEVICE_CODE_GRANT, ErrorCode};
use whack_shared::{CLIENT_ID, Secret};
use whack_tests::passkey::{approve_new_player, decide, try_lookup};
use whack_tests::{TestServer, oauth};

#[tokio::test]
async fn pending_then_slow_down_growing_by_five_seconds() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let auth = oauth::device_authorize(&http, &url).await?;

    let first = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect_err("pending");
    assert_eq!(
        (first.status, first.code()),
        (StatusCode::BAD_REQUEST, ErrorCode::AuthorizationPending)
    );

    let fast = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect_err("slow_down");
    assert_eq!(fast.code(), ErrorCode::SlowDown);
    assert!(
        fast.body
            .error_description
            .as_deref()
            .unwrap_or("")
            .contains("10 s"),
        "{fast:?}"
    );

    // Polling again at once is still inside the grown 10 s interval, so it grows
    // again. How long each interval is honoured (6 s is too soon after the first
    // slow_down, 15 s later is fine again) is the device grant's unit test
    // `polling_walks_through_every_state`, on a simulated clock: sleeping through
    // it here only made this suite 21 s slower.
    let still_fast = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect_err("slow_down");
    assert_eq!(still_fast.code(), ErrorCode::SlowDown);
    assert!(
        still_fast
            .body
            .error_description
            .as_deref()
            .unwrap_or("")
            .contains("15 s"),
        "{still_fast:?}"
    );
    Ok(())
}

#[tokio::test]
async fn denied_requests_get_access_denied() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let auth = oauth::device_authorize(&http, &url).await?;
    let (status, body) = decide(&http, &url, &auth.user_code, Decision::Deny, None).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let denied = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect_err("denied");
    assert_eq!(denied.code(), ErrorCode::AccessDenied);
    // A decided request cannot be approved afterwards, and the page hears why.
    let (status, body) = decide(&http, &url, &auth.user_code, Decision::Approve, None).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("already_decided"), "{body}");
    Ok(())
}

#[tokio::test]
async fn expired_codes_get_expired_token() -> anyhow::Result<()> {
    let server = TestServer::start_with(&["--device-code-ttl-secs", "2"]).await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let auth = oauth::device_authorize(&http, &url).await?;
    assert_eq!(auth.expires_in, 2);
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let expired = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect_err("expired");
    assert_eq!(expired.code(), ErrorCode::ExpiredToken);
    // The page no longer accepts the code either: to it, the code is unknown.
    let (status, body) = try_lookup(&http, &url, &auth.user_code).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("invalid_user_code"), "{body}");
    Ok(())
}

#[tokio::test]
async fn a_device_code_is_exchanged_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let auth = oauth::device_authorize(&http, &url).await?;
    approve_new_player(&url, &auth.user_code, "Once").await?;
    oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect("tokens");
    let again = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect_err("used");
    assert_eq!(again.code(), ErrorCode::InvalidGrant);
    Ok(())
}

#[tokio::test]
async fn unknown_codes_clients_and_grants() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();

    let unknown = oauth::poll_once(&http, &url, &Secret::new("whd_not-a-real-code"))
        .await?
        .expect_err("unknown");
    assert_eq!(unknown.code(), ErrorCode::InvalidGrant);

    let auth = oauth::device_authorize(&http, &url).await?;
    let params = [
        ("grant_type", DEVICE_CODE_GRANT),
        ("device_code", auth.device_code.expose()),
        ("client_id", "someone-else"),
    ];
    let foreign = oauth::token_request(&http, &url, &params)
        .await?
        .expect_err("unknown client");
    assert_eq!(
        (foreign.status, foreign.code()),
        (StatusCode::UNAUTHORIZED, ErrorCode::InvalidClient)
    );

    let response = http
        .post(format!("{url}/oauth/device_authorization"))
        .form(&[("client_id", "rogue")])
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let params = [("grant_type", "password"), ("client_id", CLIENT_ID)];
    let grant = oauth::token_request(&http, &url, &params)
        .await?
        .expect_err("unsupported");
    assert_eq!(grant.code(), ErrorCode::UnsupportedGrantType);

    let params = [("client_id", CLIENT_ID)];
    let missing = oauth::token_request(&http, &url, &params)
        .await?
        .expect_err("missing grant");
    assert_eq!(missing.code(), ErrorCode::InvalidRequest);

    // The unrelated, still pending request was not disturbed by any of that.
    let pending = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect_err("pending");
    assert_eq!(pending.code(), ErrorCode::AuthorizationPending);
    Ok(())
}
