//! What a new player meets first: the start line, the `/` page, the name of the
//! client asking on the sign-in page, and names that are too long.

use reqwest::StatusCode;
use whack_tests::TestServer;
use whack_tests::oauth::device_authorize;
use whack_tests::passkey::{SoftAuthenticator, lookup};

/// The text of `path` on the server at `url`.
async fn page(url: &str, path: &str) -> String {
    reqwest::get(format!("{url}{path}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

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
    assert!(
        !page(&url, "/device").await.contains("maxlength=\"24\""),
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

/// Sets every stored passkey's signature counter to `to`, the server stopped.
fn set_stored_counters(server: &TestServer, to: u64) -> anyhow::Result<usize> {
    fn set(value: &mut serde_json::Value, to: u64) -> usize {
        match value {
            serde_json::Value::Object(map) => map
                .iter_mut()
                .map(|(k, v)| match (k.as_str(), v.is_number()) {
                    ("counter", true) => {
                        *v = to.into();
                        1
                    }
                    _ => set(v, to),
                })
                .sum(),
            serde_json::Value::Array(items) => items.iter_mut().map(|v| set(v, to)).sum(),
            _ => 0,
        }
    }
    if let Some(redis) = server.redis() {
        return redis
            .rewrite("whack:{accounts}:cred:*", |bytes| {
                let mut record: serde_json::Value = serde_json::from_slice(bytes).ok()?;
                (set(&mut record, to) > 0).then(|| serde_json::to_vec(&record).ok())?
            })
            .map_err(|e| anyhow::anyhow!("{e}"));
    }
    let db = server.data_dir().join("db");
    let changed = {
        let store = whack_server::storage::sled_store::open_db(&db)?;
        let credentials = store.open_tree("credentials")?;
        let mut changed = 0;
        for entry in credentials.iter() {
            let (key, bytes) = entry?;
            let mut record: serde_json::Value = serde_json::from_slice(&bytes)?;
            changed += set(&mut record, to);
            credentials.insert(key, serde_json::to_vec(&record)?)?;
        }
        store.flush()?;
        changed
    };
    // sled's thread lets go of the file lock a moment after the last handle.
    for _ in 0..100 {
        match std::fs::File::open(db.join("db")).map(|f| f.try_lock()) {
            Ok(Err(std::fs::TryLockError::WouldBlock)) => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            _ => break,
        }
    }
    Ok(changed)
}

#[tokio::test]
async fn a_passkey_whose_counter_went_back_is_told_why_not_to_retry() {
    let mut server = TestServer::start().await.unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
    let mut key = SoftAuthenticator::new(&url).unwrap();
    let first = device_authorize(&http, &url).await.unwrap();
    let signed_up = key
        .register(&http, &first.user_code, "cloned")
        .await
        .unwrap();
    let (status, _) = whack_tests::passkey::decide(
        &http,
        &url,
        &first.user_code,
        whack_shared::device_page::Decision::Approve,
        Some(&signed_up.approval),
    )
    .await
    .unwrap();
    assert!(status.is_success());
    server.terminate().await.unwrap();
    // As if a copy of this passkey had signed in a million times meanwhile.
    let changed = set_stored_counters(&server, 1_000_000).unwrap();
    assert!(changed > 0, "no stored counter found");
    server.restart().await.unwrap();

    let again = device_authorize(&http, &url).await.unwrap();
    let err = key
        .sign_in(&http, &again.user_code)
        .await
        .expect_err("a counter that went backwards is refused");
    let text = err.to_string();
    assert!(
        text.contains("403") && text.contains("passkey_cloned"),
        "{text}"
    );
    assert!(
        text.contains("copied") && !text.contains("try again"),
        "{text}"
    );
    assert!(
        page(&url, "/assets/device.js")
            .await
            .contains("\"passkey_cloned\""),
        "the page has no words for it"
    );
}
