//! Login-side quotas and bounded growth against the real server: ceremony
//! spam on one code, sign-ups that are never approved, made-up HTTP methods,
//! refresh loops and the loser of an approval race.

use reqwest::StatusCode;
use std::net::{IpAddr, Ipv4Addr};
use whack_shared::device_page::{Decision, SigninStart};
use whack_tests::TestServer;
use whack_tests::oauth::{self, device_authorize, poll_once};
use whack_tests::passkey::{SoftAuthenticator, decide, login_new_player, post_json};

/// Limits as the README documents them.
mod documented {
    pub const CEREMONY_STARTS: usize = 60;
    pub const WRONG_GUESSES: usize = 5;
}

fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn ceremony_spam_on_one_code_does_not_stop_another_player_signing_in() {
    let server = TestServer::start().await.unwrap();
    let url = server.url();
    let spammer = client_from(1);
    let auth = device_authorize(&spammer, &url).await.unwrap();
    let start = SigninStart {
        user_code: auth.user_code.clone(),
    };
    let mut statuses = std::collections::BTreeMap::new();
    let mut first_ids = Vec::new();
    for _ in 0..2_000 {
        let (status, body) = post_json(&spammer, &url, "/device/api/signin/start", &start)
            .await
            .unwrap();
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
        if status.is_success() && first_ids.len() < 2 {
            let options: serde_json::Value = serde_json::from_str(&body).unwrap();
            first_ids.push(options["ceremony_id"].clone());
        }
    }
    // The first ceremonies were replaced by newer ones on the same code.
    let finish = serde_json::json!({ "ceremony_id": first_ids[0], "credential": {} });
    let (replaced, _) = post_json(&spammer, &url, "/device/api/signin/finish", &finish)
        .await
        .unwrap();

    // Meanwhile a player elsewhere signs up and signs in on their own code.
    let honest = client_from(2);
    let mut key = SoftAuthenticator::new(&url).unwrap();
    let first = device_authorize(&honest, &url).await.unwrap();
    let signed_up = key.register(&honest, &first.user_code, "carol").await;
    let approve = decide(
        &honest,
        &url,
        &first.user_code,
        Decision::Approve,
        signed_up.as_ref().ok().map(|s| &s.approval),
    )
    .await
    .unwrap();
    let second = device_authorize(&honest, &url).await.unwrap();
    let signed_in = key.sign_in(&honest, &second.user_code).await;

    assert_eq!(
        statuses.get(&200).copied(),
        Some(documented::CEREMONY_STARTS),
        "ceremony starts per address per minute: {statuses:?}"
    );
    assert_eq!(
        statuses.get(&429).copied(),
        Some(2_000 - documented::CEREMONY_STARTS)
    );
    assert_eq!(
        replaced,
        StatusCode::GONE,
        "the oldest ceremony was replaced"
    );
    assert!(signed_up.is_ok(), "{signed_up:?}");
    assert!(approve.0.is_success(), "{approve:?}");
    assert!(signed_in.is_ok(), "{signed_in:?}");
}

#[tokio::test]
async fn sign_ups_that_are_never_approved_leave_no_account() {
    let server = TestServer::start().await.unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
    let spam = device_authorize(&http, &url).await.unwrap();
    let mut key = SoftAuthenticator::new(&url).unwrap();
    for i in 0..20 {
        key.register(&http, &spam.user_code, &format!("spam{i}"))
            .await
            .unwrap();
    }
    let (denied, _) = decide(&http, &url, &spam.user_code, Decision::Deny, None)
        .await
        .unwrap();
    assert!(denied.is_success());
    // Every name is still free: none of those sign-ups became an account.
    for i in 0..20 {
        let (tokens, me) = login_new_player(&url, &format!("spam{i}"))
            .await
            .unwrap_or_else(|e| panic!("spam{i} should be free: {e}"));
        assert_eq!(me.name, format!("spam{i}"));
        assert!(!tokens.access_token.expose().is_empty());
    }
    assert_eq!(
        server.counter("whack_registrations_total").await.unwrap(),
        20
    );
}

#[tokio::test]
async fn made_up_methods_do_not_grow_metrics() {
    let server = TestServer::start().await.unwrap();
    let http = reqwest::Client::new();
    let metrics = |http: reqwest::Client, url: String| async move {
        whack_tests::scrape::metrics(&http, &url).await.unwrap()
    };
    // One made-up method first, so its series exists before the baseline.
    let method = |i: usize| reqwest::Method::from_bytes(format!("M{i}X").as_bytes()).unwrap();
    http.request(method(0), format!("{}/p0", server.url()))
        .send()
        .await
        .unwrap();
    // And /metrics itself, whose first scrape adds its own series.
    metrics(http.clone(), server.url()).await;
    let before = metrics(http.clone(), server.url()).await;
    for i in 1..=2_000 {
        http.request(method(i), format!("{}/p{i}", server.url()))
            .send()
            .await
            .unwrap();
    }
    let after = metrics(http.clone(), server.url()).await;
    let series = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').map_or(l, |(name, _)| name).to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(series(&before), series(&after), "new series appeared");
    assert!(
        after.len().abs_diff(before.len()) < 64,
        "/metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
}

#[tokio::test]
async fn a_refresh_loop_is_rate_limited_per_session() {
    let server = TestServer::start_with(&["--refreshes-per-minute", "3"])
        .await
        .unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
    let (tokens, _) = login_new_player(&url, "looper").await.unwrap();
    let mut token = tokens.refresh_token;
    for _ in 0..3 {
        token = oauth::refresh(&http, &url, &token)
            .await
            .unwrap()
            .unwrap()
            .refresh_token;
    }
    let response = http
        .post(format!("{url}/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token.expose()),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response.headers().get("retry-after").cloned();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry_after.is_some(), "429 without Retry-After");
    assert!(body.contains("refreshes too often"), "{body}");
    // The session is intact: the same token still works once the window passes,
    // and a second login's session is not affected at all.
    let (other, _) = login_new_player(&url, "other").await.unwrap();
    let refreshed = oauth::refresh(&http, &url, &other.refresh_token)
        .await
        .unwrap();
    assert!(
        refreshed.is_ok(),
        "the other login was refused: {refreshed:?}"
    );
}

#[tokio::test]
async fn the_loser_of_an_approval_race_hears_why_and_is_not_counted_as_guessing() {
    let server = TestServer::start().await.unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
    let auth = device_authorize(&http, &url).await.unwrap();
    // Two tabs on one code, each signing up; the later sign-up's handle is
    // the one that can approve (one approval per request).
    let mut first_tab = SoftAuthenticator::new(&url).unwrap();
    let first = first_tab
        .register(&http, &auth.user_code, "dave")
        .await
        .unwrap();
    let mut second_tab = SoftAuthenticator::new(&url).unwrap();
    let second = second_tab
        .register(&http, &auth.user_code, "erin")
        .await
        .unwrap();
    let (approved, body) = decide(
        &http,
        &url,
        &auth.user_code,
        Decision::Approve,
        Some(&second.approval),
    )
    .await
    .unwrap();
    assert!(approved.is_success(), "{body}");
    // The first tab now tries, more often than wrong guesses are allowed.
    let mut late = Vec::new();
    for _ in 0..=documented::WRONG_GUESSES {
        late.push(
            decide(
                &http,
                &url,
                &auth.user_code,
                Decision::Approve,
                Some(&first.approval),
            )
            .await
            .unwrap(),
        );
    }
    let tokens = poll_once(&http, &url, &auth.device_code).await.unwrap();
    for (status, body) in &late {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert!(body.contains("already_decided"), "{body}");
    }
    let tokens = tokens.unwrap();
    let (status, me) = oauth::me(&http, &url, tokens.access_token.expose())
        .await
        .unwrap();
    assert!(status.is_success() && me.contains("erin"), "{status}: {me}");
}
