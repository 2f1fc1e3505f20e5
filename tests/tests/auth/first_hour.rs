//! What a new player meets first: the start line, the `/` page, the name of the
//! client asking on the sign-in page, and names that are too long.

use reqwest::StatusCode;
use whack_tests::TestServer;
use whack_tests::oauth::device_authorize;
use whack_tests::passkey::{SoftAuthenticator, lookup};

#[tokio::test]
async fn the_start_line_and_the_home_page_say_how_to_connect() {
    let server = TestServer::start().await.unwrap();
    let url = server.url();
    let logs = server.logs();
    let first = logs
        .lines()
        .find(|l| l.starts_with("Whack is running"))
        .unwrap_or_default();
    assert_eq!(first, format!("Whack is running: open {url}"), "{logs}");
    assert!(
        logs.contains(&format!("Players connect with: whack --server {url}")),
        "{logs}"
    );

    let response = reqwest::get(format!("{url}/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let page = response.text().await.unwrap();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{headers:?}"
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert!(page.contains(&format!("whack --server {url}")), "{page}");
    assert!(page.contains("href=\"/device\""), "{page}");
    assert!(!page.contains("{{"), "an unfilled placeholder: {page}");
}

#[tokio::test]
async fn the_sign_in_page_names_the_client_and_refuses_long_names() {
    let server = TestServer::start().await.unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
    let auth = device_authorize(&http, &url).await.unwrap();
    let details = lookup(&http, &url, &auth.user_code).await.unwrap();
    assert_eq!(details.client_id, whack_shared::CLIENT_ID);
    assert_eq!(details.client_name, "Whack for the terminal");

    let mut key = SoftAuthenticator::new(&url).unwrap();
    let long = "a".repeat(25);
    let err = key
        .register(&http, &auth.user_code, &long)
        .await
        .expect_err("25 characters are refused, not cut");
    assert!(err.to_string().contains("400"), "{err}");
    assert!(err.to_string().contains("invalid_name"), "{err}");
    let page = reqwest::get(format!("{url}/device"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("maxlength=\"24\""),
        "the name field must not cut a long name silently"
    );
}

#[tokio::test]
async fn operators_can_name_their_clients() {
    let server = TestServer::start_with(&["--client-id", "whack-cli,arcade=Arcade cabinet"])
        .await
        .unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{url}/oauth/device_authorization"))
        .form(&[("client_id", "arcade")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let auth: whack_shared::oauth::DeviceAuthorization = response.json().await.unwrap();
    let details = lookup(&http, &url, &auth.user_code).await.unwrap();
    assert_eq!(details.client_name, "Arcade cabinet");
}
