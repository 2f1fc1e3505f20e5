//! The `/device` page in a real headless Chromium with a virtual passkey: create an
//! account and approve, sign in again with the discoverable passkey and approve, and
//! deny. The device side is a plain RFC 8628 client polling the real server.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::Locator;
use serde_json::Value;
use whack_shared::oauth::{DeviceAuthorization, ErrorCode, TokenResponse};
use whack_tests::TestServer;
use whack_tests::browser::{self, Browser};
use whack_tests::oauth::{self, Refused};

const PLAYER: &str = "mole_hunter-7";

fn browser_available() -> bool {
    whack_tests::e2e_available(
        "Chromium and chromedriver (apt-get install chromium chromium-driver)",
        browser::available(),
    )
}

/// What the page ended with: `#status`'s `data-state` and message.
type PageOutcome = (String, String);

/// Claims of an access token, decoded without verifying (server tests verify them).
fn claims(token: &TokenResponse) -> Result<Value> {
    let payload = token
        .access_token
        .expose()
        .split('.')
        .nth(1)
        .context("the access token is not a JWT")?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}

/// Console entries Chromium logged as errors (CSP violations, script errors, failed loads).
async fn console_errors(browser: &Browser) -> Vec<Value> {
    match browser.console_log().await {
        Ok(entries) => entries
            .into_iter()
            .filter(|e| e.get("level").and_then(Value::as_str) == Some("SEVERE"))
            .collect(),
        Err(e) => vec![Value::String(format!("could not read the console: {e:#}"))],
    }
}

/// Opens the link the terminal shows, confirms the code, and waits for step 2.
async fn open_request(browser: &Browser, auth: &DeviceAuthorization) -> Result<()> {
    browser.goto(&auth.verification_uri_complete).await?;
    let prefilled = browser
        .client()
        .find(Locator::Id("user-code"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    if prefilled != auth.user_code {
        bail!(
            "#user-code prefilled with {prefilled:?}, expected {:?}",
            auth.user_code
        );
    }
    browser.click("continue").await?;
    browser.wait_visible("signin").await?;
    let shown = browser
        .client()
        .find(Locator::Id("req-code"))
        .await?
        .text()
        .await?;
    if shown != auth.user_code {
        bail!(
            "the page shows code {shown:?}, the device got {:?}",
            auth.user_code
        );
    }
    Ok(())
}

async fn create_account_and_approve(
    browser: &Browser,
    auth: &DeviceAuthorization,
) -> Result<PageOutcome> {
    open_request(browser, auth).await?;
    browser.type_into("display-name", PLAYER).await?;
    browser.click("register").await?;
    browser.click("approve").await?;
    browser.wait_final_status().await
}

async fn sign_in_and_approve(browser: &Browser, auth: &DeviceAuthorization) -> Result<PageOutcome> {
    open_request(browser, auth).await?;
    browser.click("signin").await?;
    browser.click("approve").await?;
    browser.wait_final_status().await
}

/// A code one letter off the real one: certainly not live.
fn wrong_code(code: &str) -> String {
    let first = if code.starts_with('B') { 'C' } else { 'B' };
    format!("{first}{}", &code[1..])
}

/// Types a wrong code by hand, then the right one (lower case, no dash); returns the
/// error the page showed for the wrong one.
async fn type_codes_by_hand(
    browser: &Browser,
    url: &str,
    auth: &DeviceAuthorization,
) -> Result<String> {
    browser.goto(&format!("{url}/device")).await?;
    browser
        .type_into("user-code", &wrong_code(&auth.user_code))
        .await?;
    browser.click("continue").await?;
    browser.wait_visible("code-error").await?;
    let error = browser
        .client()
        .find(Locator::Id("code-error"))
        .await?
        .text()
        .await?;
    if browser
        .client()
        .find(Locator::Id("signin"))
        .await?
        .is_displayed()
        .await?
    {
        bail!("a wrong code got past step 1");
    }
    let typed = auth.user_code.replace('-', "").to_lowercase();
    browser.type_into("user-code", &typed).await?;
    browser.click("continue").await?;
    browser.wait_visible("signin").await?;
    Ok(error)
}

/// Everything the first test observed, gathered before the browser closes.
struct TwoLogins {
    first_page: PageOutcome,
    first_tokens: Result<TokenResponse, Refused>,
    credentials: Vec<Value>,
    second_page: PageOutcome,
    second_tokens: Result<TokenResponse, Refused>,
    console_errors: Vec<Value>,
}

#[tokio::test]
async fn create_an_account_then_sign_in_with_the_discoverable_passkey() -> Result<()> {
    if !browser_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let seen = Browser::start()
        .await?
        .run(async |browser: &Browser| {
            let authenticator = browser.add_virtual_authenticator().await?;

            let auth = oauth::device_authorize(&http, &url).await?;
            if !auth
                .verification_uri_complete
                .starts_with(&format!("{url}/device"))
            {
                bail!(
                    "unexpected verification link {}",
                    auth.verification_uri_complete
                );
            }
            let first_page = create_account_and_approve(browser, &auth).await?;
            let first_tokens = oauth::poll_token(&http, &url, &auth).await?;
            let credentials = browser.authenticator_credentials(&authenticator).await?;

            // A second terminal: the authenticator now holds a discoverable passkey.
            let auth = oauth::device_authorize(&http, &url).await?;
            let second_page = sign_in_and_approve(browser, &auth).await?;
            let second_tokens = oauth::poll_token(&http, &url, &auth).await?;
            let console_errors = console_errors(browser).await;
            Ok(TwoLogins {
                first_page,
                first_tokens,
                credentials,
                second_page,
                second_tokens,
                console_errors,
            })
        })
        .await?;

    assert_eq!(
        seen.first_page.0, "approved",
        "first login: {:?}",
        seen.first_page
    );
    assert!(
        seen.first_page.1.contains("terminal"),
        "{:?}",
        seen.first_page
    );
    let first = seen
        .first_tokens
        .unwrap_or_else(|e| panic!("first device got no tokens: {e:?}"));
    let first_claims = claims(&first)?;
    assert_eq!(first_claims["name"], PLAYER, "{first_claims}");

    assert_eq!(
        seen.credentials.len(),
        1,
        "one passkey: {:?}",
        seen.credentials
    );
    assert_eq!(
        seen.credentials[0]["isResidentCredential"], true,
        "the passkey must be discoverable: {:?}",
        seen.credentials
    );

    assert_eq!(
        seen.second_page.0, "approved",
        "second login: {:?}",
        seen.second_page
    );
    let second = seen
        .second_tokens
        .unwrap_or_else(|e| panic!("second device got no tokens: {e:?}"));
    let second_claims = claims(&second)?;
    assert_eq!(
        second_claims["sub"], first_claims["sub"],
        "same player both times"
    );
    assert_eq!(second_claims["name"], PLAYER);
    assert_ne!(
        second_claims["sid"], first_claims["sid"],
        "two logins, two sessions"
    );

    assert!(
        seen.console_errors.is_empty(),
        "console errors: {:#?}",
        seen.console_errors
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_code_is_explained_and_denying_right_after_the_lookup_refuses_the_device()
-> Result<()> {
    if !browser_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (wrong_code_error, page, tokens, errors) = Browser::start()
        .await?
        .run(async |browser: &Browser| {
            let auth = oauth::device_authorize(&http, &url).await?;
            let wrong_code_error = type_codes_by_hand(browser, &url, &auth).await?;
            // The 404 of the wrong code is in the console on purpose; start counting here.
            browser.console_log().await?;
            browser.click("deny").await?;
            let page = browser.wait_final_status().await?;
            let tokens = oauth::poll_token(&http, &url, &auth).await?;
            Ok::<_, anyhow::Error>((
                wrong_code_error,
                page,
                tokens,
                console_errors(browser).await,
            ))
        })
        .await?;

    assert!(wrong_code_error.contains("unknown"), "{wrong_code_error:?}");
    assert_eq!(page.0, "denied", "{page:?}");
    assert!(page.1.contains("terminal"), "{page:?}");
    match tokens {
        Err(refused) => assert_eq!(refused.code(), ErrorCode::AccessDenied, "{refused:?}"),
        Ok(_) => panic!("a denied device got tokens"),
    }
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    Ok(())
}

/// Browsers without `PublicKeyCredential.parse*OptionsFromJSON` and `toJSON()` (older
/// Safari and Firefox) take the page's own base64url conversion.
#[tokio::test]
async fn the_base64url_fallback_registers_and_signs_in() -> Result<()> {
    if !browser_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (helpers, registered, first, signed_in, second, errors) = Browser::start()
        .await?
        .run(async |browser: &Browser| {
            browser.add_virtual_authenticator().await?;
            browser
                .run_before_page_scripts(
                    "delete PublicKeyCredential.parseCreationOptionsFromJSON;\
                 delete PublicKeyCredential.parseRequestOptionsFromJSON;\
                 delete PublicKeyCredential.prototype.toJSON;",
                )
                .await?;
            let auth = oauth::device_authorize(&http, &url).await?;
            let registered = create_account_and_approve(browser, &auth).await?;
            let helpers = browser
                .client()
                .execute(
                    "return [typeof PublicKeyCredential.parseRequestOptionsFromJSON,\
                         typeof PublicKeyCredential.prototype.toJSON];",
                    vec![],
                )
                .await?;
            let first = oauth::poll_token(&http, &url, &auth).await?;
            let auth = oauth::device_authorize(&http, &url).await?;
            let signed_in = sign_in_and_approve(browser, &auth).await?;
            let second = oauth::poll_token(&http, &url, &auth).await?;
            Ok::<_, anyhow::Error>((
                helpers,
                registered,
                first,
                signed_in,
                second,
                console_errors(browser).await,
            ))
        })
        .await?;

    assert_eq!(
        helpers,
        serde_json::json!(["undefined", "undefined"]),
        "helpers not removed"
    );
    assert_eq!(registered.0, "approved", "{registered:?}");
    assert_eq!(signed_in.0, "approved", "{signed_in:?}");
    let first = first.unwrap_or_else(|e| panic!("no tokens after registering: {e:?}"));
    let second = second.unwrap_or_else(|e| panic!("no tokens after signing in: {e:?}"));
    assert_eq!(claims(&first)?["sub"], claims(&second)?["sub"]);
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    Ok(())
}

#[tokio::test]
async fn on_a_320_px_phone_the_request_warning_and_sign_in_fit_one_screen() -> Result<()> {
    if !browser_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let http = reqwest::Client::new();
    let layout = Browser::start_phone(320, 640)
        .await?
        .run(async |browser: &Browser| {
            let auth = oauth::device_authorize(&http, &server.url()).await?;
            open_request(browser, &auth).await?;
            let layout = browser
                .client()
                .execute(
                    "return [document.getElementById('signin').getBoundingClientRect().bottom,\
                         document.documentElement.scrollWidth];",
                    vec![],
                )
                .await?;
            Ok::<_, anyhow::Error>(layout)
        })
        .await?;
    let bottom = layout[0].as_f64().unwrap_or(f64::MAX);
    let width = layout[1].as_f64().unwrap_or(f64::MAX);
    assert!(
        bottom <= 640.0,
        "#signin ends {bottom} px down on a 640 px screen"
    );
    assert!(
        width <= 320.0,
        "the page is {width} px wide on a 320 px screen"
    );
    Ok(())
}
