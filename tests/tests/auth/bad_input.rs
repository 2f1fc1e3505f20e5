//! Bad input of every kind: a clear 4xx, never a 5xx, and no state changed.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use whack_shared::oauth::ErrorCode;
use whack_tests::passkey::{approve_new_player, login_new_player, post_json, try_lookup};
use whack_tests::{TestServer, oauth};

#[tokio::test]
async fn malformed_oauth_requests_get_clear_errors() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (tokens, _) = login_new_player(&url, "Steady").await?;
    let token_url = format!("{url}/oauth/token");

    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "json body",
            http.post(&token_url)
                .json(&serde_json::json!({"grant_type": "refresh_token"})),
        ),
        (
            "no content type",
            http.post(&token_url).body("grant_type=refresh_token"),
        ),
        (
            "oversized",
            http.post(&token_url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("a=".to_owned() + &"x".repeat(64 * 1024)),
        ),
        (
            // Still sending when the server answers: the answer must arrive anyway.
            "far oversized",
            http.post(&token_url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("a=".to_owned() + &"x".repeat(768 * 1024)),
        ),
        (
            "repeated parameter",
            http.post(&token_url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("grant_type=refresh_token&grant_type=refresh_token"),
        ),
        (
            "binary garbage",
            http.post(&token_url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(vec![0xff, 0xfe, 0x00, 0x26, 0x3d]),
        ),
        (
            "missing refresh_token",
            http.post(&token_url)
                .form(&[("grant_type", "refresh_token")]),
        ),
        (
            "unknown grant",
            http.post(&token_url)
                .form(&[("grant_type", "client_credentials")]),
        ),
        (
            "bogus refresh token",
            http.post(&token_url).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "whr_nope"),
            ]),
        ),
        (
            "revoke without token",
            http.post(format!("{url}/oauth/revoke"))
                .form(&[("token_type_hint", "refresh_token")]),
        ),
        (
            "device auth without client",
            http.post(format!("{url}/oauth/device_authorization"))
                .form(&[("scope", "x")]),
        ),
    ];
    for (name, request) in cases {
        let response = request.send().await?;
        let status = response.status();
        let body = response.text().await?;
        assert!(status.is_client_error(), "{name}: {status} {body}");
        let parsed: whack_shared::oauth::ErrorBody =
            serde_json::from_str(&body).map_err(|e| anyhow::anyhow!("{name}: {body}: {e}"))?;
        assert_ne!(parsed.error, ErrorCode::ServerError, "{name}");
        assert!(
            parsed.error_description.is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }
    // Nothing changed: the real refresh token still rotates normally, once.
    let next = oauth::refresh(&http, &url, &tokens.refresh_token)
        .await?
        .expect("untouched");
    assert!(next.refresh_token.expose().starts_with("whr_"));
    Ok(())
}

#[tokio::test]
async fn bad_page_requests_and_code_guessing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let auth = oauth::device_authorize(&http, &url).await?;

    let (status, body) = post_json(
        &http,
        &url,
        "/device/api/lookup",
        &serde_json::json!({"code": 1}),
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let response = http
        .post(format!("{url}/device/api/lookup"))
        .form(&[("user_code", &auth.user_code)])
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = http
        .post(format!("{url}/device/api/lookup"))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"user_code\": \"".to_owned() + &"B".repeat(40 * 1024) + "\"}")
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = post_json(
        &http,
        &url,
        "/device/api/signin/finish",
        &serde_json::json!({"ceremony_id": "whc_x", "credential": {}}),
    )
    .await?;
    assert_eq!(status, StatusCode::GONE);
    let (status, body) = post_json(
        &http,
        &url,
        "/device/api/decision",
        &serde_json::json!({"user_code": auth.user_code, "decision": "maybe"}),
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Five wrong codes a minute, then 429 — even for the right code.
    for wrong in ["BCDF-GHJK", "AAAA-AAAA", "short", "<script>", "ZZZZ-ZZZZ"] {
        let (status, body) = try_lookup(&http, &url, wrong).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{wrong}: {body}");
        assert!(body.contains("invalid_user_code"));
    }
    let response = http
        .post(format!("{url}/device/api/lookup"))
        .json(&serde_json::json!({"user_code": auth.user_code}))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    let (status, body) = try_lookup(&http, &url, &auth.user_code).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("too_many_attempts"), "{body}");
    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(metrics.contains("whack_rate_limited_total 2"), "{metrics}");

    // The request itself was not harmed: it is still pending for its device.
    let pending = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect_err("pending");
    assert_eq!(pending.code(), ErrorCode::AuthorizationPending);

    // No 5xx anywhere, and unknown paths are JSON 404s with the security headers.
    let response = http.get(format!("{url}/nope")).send().await?;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(!server.logs().contains("internal error"));
    Ok(())
}

#[tokio::test]
async fn the_page_is_served_with_strict_headers() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    for path in [
        "/device",
        "/device?user_code=BCDF-GHJK",
        "/assets/device.js",
        "/assets/device.css",
    ] {
        let response = http.get(format!("{url}{path}")).send().await?;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let h = response.headers();
        let csp = h["content-security-policy"].to_str()?;
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let page = http
        .get(format!("{url}/device"))
        .send()
        .await?
        .text()
        .await?;
    for id in [
        "user-code",
        "continue",
        "signin",
        "display-name",
        "register",
        "approve",
        "deny",
        "status",
    ] {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "#{id} missing from the page"
        );
    }
    assert!(
        !page.contains("<script>") && !page.contains("http://") && !page.contains("https://"),
        "no inline script, no external resources"
    );
    // A separate new player can still be created: nothing above blocked localhost for good.
    let auth = oauth::device_authorize(&http, &url).await?;
    approve_new_player(&url, &auth.user_code, "StillWorks").await?;
    Ok(())
}

#[tokio::test]
async fn device_authorizations_are_limited_per_address() -> anyhow::Result<()> {
    let server = TestServer::start_with(&["--device-authorizations-per-minute", "3"]).await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let mut started = Vec::new();
    for _ in 0..3 {
        started.push(oauth::device_authorize(&http, &url).await?);
    }
    let response = http
        .post(format!("{url}/oauth/device_authorization"))
        .form(&[("client_id", whack_shared::CLIENT_ID)])
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["error"], "too_many_requests", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("try again in")),
        "{body}"
    );

    // Another address is not affected (all of 127/8 is loopback).
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()?;
    oauth::device_authorize(&other, &url).await?;

    // What was started before the limit is untouched.
    for auth in &started {
        let pending = oauth::poll_once(&http, &url, &auth.device_code)
            .await?
            .expect_err("pending");
        assert_eq!(pending.code(), ErrorCode::AuthorizationPending);
    }
    assert!(!server.logs().contains("internal error"));
    Ok(())
}
