//! The `/account` page in a real headless Chromium with a virtual passkey: a fresh
//! passkey sign-in, the signed-in devices (this browser marked), ending a terminal's
//! session while its game socket is open (closed with 4001 within 1 s), and the
//! browser session's cookie: `HttpOnly`, `SameSite=Strict`, invisible to page
//! script, refused cross-site, rotated on every request, and an old one coming
//! back ends the session.

use anyhow::{Context, Result, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::Locator;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::Value;
use std::time::{Duration, Instant};
use whack_shared::oauth::TokenResponse;
use whack_tests::browser::{self, Browser, eventually};
use whack_tests::{TestServer, oauth, ws};

const PLAYER: &str = "account_ava";
const COOKIE_NAME: &str = "whack_account";

fn browser_available() -> bool {
    whack_tests::e2e_available(
        "Chromium and chromedriver (apt-get install chromium chromium-driver)",
        browser::available(),
    )
}

/// A claim of an access token, decoded without verifying (server tests verify).
fn claim(token: &TokenResponse, name: &str) -> Result<String> {
    let payload = token
        .access_token
        .expose()
        .split('.')
        .nth(1)
        .context("the access token is not a JWT")?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    claims[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {name} claim"))
}

/// A terminal's device login, approved on `/device` by a new player whose passkey
/// the browser's virtual authenticator keeps.
async fn terminal_signs_up(browser: &Browser, url: &str) -> Result<TokenResponse> {
    let http = reqwest::Client::new();
    let auth = oauth::device_authorize(&http, url).await?;
    browser.goto(&auth.verification_uri_complete).await?;
    browser.click("continue").await?;
    browser.type_into("display-name", PLAYER).await?;
    browser.click("register").await?;
    browser.click("approve").await?;
    let (state, text) = browser.wait_final_status().await?;
    ensure!(state == "approved", "{state}: {text}");
    oauth::poll_token(&http, url, &auth)
        .await?
        .map_err(|r| anyhow::anyhow!("{r:?}"))
}

/// The rows of `#session-list` (id, current, whole text), once it has `n`.
async fn sessions_shown(browser: &Browser, n: usize) -> Result<Vec<(String, bool, String)>> {
    eventually(async || {
        let rows: Vec<(String, bool, String)> = serde_json::from_value(
            browser
                .client()
                .execute(
                    "return [...document.querySelectorAll('#session-list > li')]\
                     .map(li => [li.dataset.sessionId, li.dataset.current === 'true', li.textContent]);",
                    vec![],
                )
                .await?,
        )?;
        Ok(if rows.len() == n {
            Ok(rows)
        } else {
            Err(format!("#session-list shows {rows:?}, not {n} sessions"))
        })
    })
    .await
}

/// What the test saw in the browser.
struct Seen {
    listed: Vec<(String, bool, String)>,
    cookie_http_only: Option<bool>,
    cookie_same_site: Option<String>,
    script_sees: String,
    closed_with: Result<u16, String>,
    closed_after: Duration,
    after_end: Vec<(String, bool, String)>,
    cookie: String,
    terminal_sid: String,
}

#[tokio::test]
async fn account_page_lists_and_ends_sessions_behind_a_strict_rotating_cookie() -> Result<()> {
    if !browser_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let url = server.url();
    let seen = Browser::start()
        .await?
        .run(async |browser: &Browser| {
            browser.add_virtual_authenticator().await?;
            let terminal = terminal_signs_up(browser, &url).await?;
            let terminal_sid = claim(&terminal, "sid")?;
            let mut game = ws::connect(&ws::play_url(&url), terminal.access_token.expose()).await?;

            browser.goto(&format!("{url}/account")).await?;
            browser.click("account-signin").await?;
            browser.wait_visible("session-list").await?;
            let listed = sessions_shown(browser, 2).await?;

            let cookies = browser.client().get_all_cookies().await?;
            let cookie = cookies
                .iter()
                .find(|c| c.name() == COOKIE_NAME)
                .context("no account cookie")?;
            let script_sees = browser
                .client()
                .execute("return document.cookie;", vec![])
                .await?
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let (cookie_http_only, cookie_same_site) = (
                cookie.http_only(),
                cookie.same_site().map(|s| s.to_string()),
            );

            let end = format!("#session-list li[data-session-id='{terminal_sid}'] button");
            let button = browser.client().find(Locator::Css(&end)).await?;
            button.click().await?;
            let clicked = Instant::now();
            let closed_with = game
                .expect_close(Duration::from_secs(1))
                .await
                .map_err(|e| e.to_string());
            let closed_after = clicked.elapsed();
            let after_end = sessions_shown(browser, 1).await?;
            // The browser's cookie now, after the page's last rotation.
            let cookie = browser
                .client()
                .get_all_cookies()
                .await?
                .into_iter()
                .find(|c| c.name() == COOKIE_NAME)
                .map(|c| c.value().to_owned())
                .context("the account cookie went away")?;
            Ok(Seen {
                listed,
                cookie_http_only,
                cookie_same_site,
                script_sees,
                closed_with,
                closed_after,
                after_end,
                cookie,
                terminal_sid,
            })
        })
        .await?;

    let current: Vec<_> = seen.listed.iter().filter(|(_, c, _)| *c).collect();
    ensure!(
        current.len() == 1
            && current[0].0 != seen.terminal_sid
            && current[0].2.contains("this browser"),
        "exactly this browser is marked: {:?}",
        seen.listed
    );
    ensure!(
        seen.listed
            .iter()
            .any(|(id, _, text)| *id == seen.terminal_sid
                && text.contains("Whack for the terminal")
                && text.contains("127.0.0.1")),
        "the terminal's session, its client and address: {:?}",
        seen.listed
    );
    ensure!(
        seen.cookie_http_only == Some(true),
        "the cookie is not HttpOnly"
    );
    ensure!(
        seen.cookie_same_site.as_deref() == Some("Strict"),
        "SameSite is {:?}",
        seen.cookie_same_site
    );
    ensure!(
        !seen.script_sees.contains(COOKIE_NAME),
        "page script can read the cookie: {:?}",
        seen.script_sees
    );
    ensure!(
        seen.closed_with == Ok(4001),
        "the terminal's game: {:?} after {:?}",
        seen.closed_with,
        seen.closed_after
    );
    println!(
        "FIGURE end on /account -> game socket closed: {:.0} ms",
        seen.closed_after.as_secs_f64() * 1000.0
    );
    ensure!(
        seen.after_end.len() == 1 && seen.after_end[0].1,
        "after ending the terminal only this browser is left: {:?}",
        seen.after_end
    );

    // The cookie from outside the browser, as a thief who copied it would use it.
    let http = reqwest::Client::new();
    let with = |cookie: &str| format!("{COOKIE_NAME}={cookie}");
    for origin in [Some("http://evil.example"), None] {
        let mut request = http
            .post(format!("{url}/account/api/sessions/end-others"))
            .header(COOKIE, with(&seen.cookie));
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        let status = request.send().await?.status();
        ensure!(
            status == StatusCode::FORBIDDEN,
            "a cross-site POST (Origin {origin:?}) got {status}"
        );
    }
    let overview = async |cookie: &str| -> Result<(StatusCode, Option<String>)> {
        let response = http
            .get(format!("{url}/account/api/overview"))
            .header(COOKIE, with(cookie))
            .send()
            .await?;
        let next = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{COOKIE_NAME}=")))
            .and_then(|v| v.split(';').next())
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        Ok((response.status(), next))
    };
    let (status, first) = overview(&seen.cookie).await?;
    ensure!(status == StatusCode::OK, "{status}");
    let first = first.context("no rotated cookie")?;
    ensure!(first != seen.cookie, "the cookie was not rotated");
    let (status, second) = overview(&first).await?;
    ensure!(status == StatusCode::OK, "{status}");
    let second = second.context("no rotated cookie")?;
    let (status, _) = overview(&seen.cookie).await?;
    ensure!(
        status == StatusCode::UNAUTHORIZED,
        "an old cookie after rotation got {status}"
    );
    let (status, _) = overview(&second).await?;
    ensure!(
        status == StatusCode::UNAUTHORIZED,
        "the reused cookie's session still works: {status}"
    );
    ensure!(
        server.logs().contains("refresh token reuse detected"),
        "the reuse was not logged"
    );
    Ok(())
}

/// The rows of `#passkey-list` (id, name, whole text), once it has `n`.
async fn passkeys_shown(browser: &Browser, n: usize) -> Result<Vec<(String, String, String)>> {
    eventually(async || {
        let rows: Vec<(String, String, String)> = serde_json::from_value(
            browser
                .client()
                .execute(
                    "return [...document.querySelectorAll('#passkey-list > li')].map(li => {\
                       const name = li.querySelector('[data-role=name]');\
                       return [li.dataset.passkeyId || '',\
                               name && name.firstChild ? name.firstChild.textContent : '',\
                               li.textContent];\
                     });",
                    vec![],
                )
                .await?,
        )?;
        Ok(
            if rows.len() == n && rows.iter().all(|(id, _, _)| !id.is_empty()) {
                Ok(rows)
            } else {
                Err(format!("#passkey-list shows {rows:?}, not {n} passkeys"))
            },
        )
    })
    .await
}

/// `#status` once the action a click started is over.
async fn settled(browser: &Browser) -> Result<(String, String)> {
    eventually(async || {
        let (state, text) = browser.status().await?;
        Ok(if state == "busy" {
            Err(format!("#status still busy: {text}"))
        } else {
            Ok((state, text))
        })
    })
    .await
}

async fn click_css(browser: &Browser, css: &str) -> Result<()> {
    browser
        .client()
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no {css}"))?
        .click()
        .await?;
    Ok(())
}

/// What the passkey test saw.
struct PasskeysSeen {
    first: Vec<(String, String, String)>,
    last_refused: (String, String),
    added: Vec<(String, String, String)>,
    after_signin: Vec<(String, String, String)>,
    renamed: Vec<(String, String, String)>,
    removed: Vec<(String, String, String)>,
    last_refused_again: (String, String),
}

#[tokio::test]
async fn passkeys_are_added_renamed_and_removed_but_never_the_last() -> Result<()> {
    if !browser_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let url = server.url();
    let seen = Browser::start()
        .await?
        .run(async |browser: &Browser| {
            let phone = browser.add_virtual_authenticator().await?;
            terminal_signs_up(browser, &url).await?;
            browser.goto(&format!("{url}/account")).await?;
            browser.click("account-signin").await?;
            let first = passkeys_shown(browser, 1).await?;
            let remove = |id: &str| {
                format!("#passkey-list li[data-passkey-id='{id}'] button[data-action='remove']")
            };
            click_css(browser, &remove(&first[0].0)).await?;
            let last_refused = settled(browser).await?;

            // The phone is away; a synced authenticator (a password manager) joins.
            browser.remove_virtual_authenticator(&phone).await?;
            browser.add_synced_authenticator().await?;
            browser.click("add-passkey").await?;
            let added = passkeys_shown(browser, 2).await?;

            // Only the new passkey is here to sign in with.
            browser.click("account-signout").await?;
            browser.click("account-signin").await?;
            let after_signin = passkeys_shown(browser, 2).await?;

            let new_id = added
                .iter()
                .find(|(id, _, _)| *id != first[0].0)
                .map(|(id, _, _)| id.clone())
                .context("no new passkey")?;
            click_css(
                browser,
                &format!(
                    "#passkey-list li[data-passkey-id='{new_id}'] button[data-action='rename']"
                ),
            )
            .await?;
            browser
                .type_into(&format!("rename-{new_id}"), "Laptop key")
                .await?;
            click_css(browser, "#passkey-list .rename-form button[type='submit']").await?;
            let renamed = eventually(async || {
                let rows = passkeys_shown(browser, 2).await?;
                Ok(if rows.iter().any(|(_, name, _)| name == "Laptop key") {
                    Ok(rows)
                } else {
                    Err(format!("not renamed: {rows:?}"))
                })
            })
            .await?;

            click_css(browser, &remove(&first[0].0)).await?;
            let removed = passkeys_shown(browser, 1).await?;
            click_css(browser, &remove(&new_id)).await?;
            let last_refused_again = settled(browser).await?;
            Ok(PasskeysSeen {
                first,
                last_refused,
                added,
                after_signin,
                renamed,
                removed,
                last_refused_again,
            })
        })
        .await?;

    ensure!(seen.first[0].1 == "Passkey 1", "{:?}", seen.first);
    for refused in [&seen.last_refused, &seen.last_refused_again] {
        ensure!(
            refused.0 == "notice" && refused.1.contains("only passkey"),
            "removing the last passkey: {refused:?}"
        );
    }
    let new = seen
        .added
        .iter()
        .find(|(id, _, _)| *id != seen.first[0].0)
        .context("no new passkey")?;
    ensure!(
        new.1 == "Passkey 2" && new.2.contains("synced") && new.2.contains("Last used never"),
        "the added passkey: {:?}",
        seen.added
    );
    let signed_in_with = seen
        .after_signin
        .iter()
        .find(|(id, _, _)| *id == new.0)
        .context("the new passkey is gone")?;
    ensure!(
        !signed_in_with.2.contains("Last used never"),
        "signing in with it is recorded: {:?}",
        seen.after_signin
    );
    ensure!(
        seen.renamed
            .iter()
            .any(|(id, name, _)| *id == new.0 && name == "Laptop key"),
        "renamed: {:?}",
        seen.renamed
    );
    ensure!(
        seen.removed.len() == 1 && seen.removed[0].0 == new.0,
        "removing the phone's passkey left {:?}",
        seen.removed
    );
    Ok(())
}

/// The texts of the elements `css` matches, once there are `n`.
async fn texts(browser: &Browser, css: &str, n: usize) -> Result<Vec<String>> {
    eventually(async || {
        let found: Vec<String> = serde_json::from_value(
            browser
                .client()
                .execute(
                    "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);",
                    vec![Value::String(css.to_owned())],
                )
                .await?,
        )?;
        Ok(if found.len() == n {
            Ok(found)
        } else {
            Err(format!("{css} matched {found:?}, not {n}"))
        })
    })
    .await
}

async fn text_of(browser: &Browser, id: &str) -> Result<String> {
    Ok(browser.client().find(Locator::Id(id)).await?.text().await?)
}

/// Makes a fresh set of recovery codes on `/account` (signing in first).
async fn make_recovery_codes(browser: &Browser, url: &str) -> Result<Vec<String>> {
    browser.goto(&format!("{url}/account")).await?;
    browser.click("account-signin").await?;
    browser.wait_visible("passkey-list").await?;
    browser.click("new-recovery-codes").await?;
    texts(browser, "#recovery-codes > li", 10).await
}

/// On `/device` for a new terminal: "Lost your passkey?" with `code`. Returns
/// the device request, and the field error if the page showed one.
async fn recover_with(
    browser: &Browser,
    url: &str,
    code: &str,
) -> Result<(whack_shared::oauth::DeviceAuthorization, Option<String>)> {
    let http = reqwest::Client::new();
    let auth = oauth::device_authorize(&http, url).await?;
    browser.goto(&auth.verification_uri_complete).await?;
    browser.click("continue").await?;
    browser.click("lost-passkey").await?;
    browser.type_into("recovery-name", PLAYER).await?;
    browser.type_into("recovery-code", code).await?;
    browser.click("recover").await?;
    let refused = eventually(async || {
        if browser
            .client()
            .find(Locator::Id("approve"))
            .await?
            .is_displayed()
            .await?
        {
            return Ok(Ok(None));
        }
        let error = browser.client().find(Locator::Id("recovery-error")).await?;
        if error.is_displayed().await? {
            return Ok(Ok(Some(error.text().await?)));
        }
        Ok(Err(format!(
            "neither approved nor refused: {:?}",
            browser.status().await?
        )))
    })
    .await?;
    Ok((auth, refused))
}

/// What the recovery test saw.
struct RecoverySeen {
    codes: Vec<String>,
    state_after_making: String,
    approved: (String, String),
    tokens: Result<TokenResponse, String>,
    spent_again: Option<String>,
    state_after_use: String,
    uses: Vec<String>,
    passkeys_after: Vec<(String, String, String)>,
    new_codes: Vec<String>,
    old_code_after_new_set: Option<String>,
    passkeys_after_account_recovery: Vec<(String, String, String)>,
    state_after_account_recovery: String,
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_a_new_set_voids_the_old() -> Result<()> {
    if !browser_available() {
        return Ok(());
    }
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let seen = Browser::start()
        .await?
        .run(async |browser: &Browser| {
            let phone = browser.add_virtual_authenticator().await?;
            terminal_signs_up(browser, &url).await?;
            let codes = make_recovery_codes(browser, &url).await?;
            let state_after_making = text_of(browser, "recovery-state").await?;

            // The phone is lost; a new laptop signs the terminal in with a code.
            browser.click("account-signout").await?;
            browser.wait_visible("account-signin").await?;
            browser.remove_virtual_authenticator(&phone).await?;
            let laptop = browser.add_virtual_authenticator().await?;
            let (auth, refused) = recover_with(browser, &url, &codes[0]).await?;
            if let Some(refused) = refused {
                bail!("the first use of a code was refused: {refused}");
            }
            browser.click("approve").await?;
            let approved = browser.wait_final_status().await?;
            let tokens = oauth::poll_token(&http, &url, &auth)
                .await?
                .map_err(|r| format!("{r:?}"));

            let (_, spent_again) = recover_with(browser, &url, &codes[0]).await?;

            // The laptop's new passkey signs in to the account page.
            browser.goto(&format!("{url}/account")).await?;
            browser.click("account-signin").await?;
            let passkeys_after = passkeys_shown(browser, 2).await?;
            let state_after_use = text_of(browser, "recovery-state").await?;
            let uses = texts(browser, "#recovery-uses > li", 1).await?;
            browser.click("new-recovery-codes").await?;
            let new_codes = texts(browser, "#recovery-codes > li", 10).await?;
            let (_, old_code_after_new_set) = recover_with(browser, &url, &codes[1]).await?;

            // The laptop goes too: the account page itself takes a code.
            browser.goto(&format!("{url}/account")).await?;
            browser.click("account-signout").await?;
            browser.wait_visible("account-signin").await?;
            browser.remove_virtual_authenticator(&laptop).await?;
            browser.add_virtual_authenticator().await?;
            browser.click("lost-passkey").await?;
            browser.type_into("recovery-name", PLAYER).await?;
            browser.type_into("recovery-code", &new_codes[0]).await?;
            browser.click("recover").await?;
            let passkeys_after_account_recovery = passkeys_shown(browser, 3).await?;
            let state_after_account_recovery = text_of(browser, "recovery-state").await?;
            Ok(RecoverySeen {
                passkeys_after_account_recovery,
                state_after_account_recovery,
                codes,
                state_after_making,
                approved,
                tokens,
                spent_again,
                state_after_use,
                uses,
                passkeys_after,
                new_codes,
                old_code_after_new_set,
            })
        })
        .await?;

    ensure!(
        seen.codes
            .iter()
            .all(|c| c.len() == 19 && c.matches('-').count() == 3),
        "codes look like xxxx-xxxx-xxxx-xxxx: {:?}",
        seen.codes
    );
    ensure!(
        seen.state_after_making.contains("10 codes left"),
        "{}",
        seen.state_after_making
    );
    ensure!(seen.approved.0 == "approved", "{:?}", seen.approved);
    let tokens = seen
        .tokens
        .map_err(|e| anyhow::anyhow!("the recovered terminal got no tokens: {e}"))?;
    let (status, me) = oauth::me(&http, &url, tokens.access_token.expose()).await?;
    ensure!(
        status == StatusCode::OK && me.contains(PLAYER),
        "{status}: {me}"
    );
    ensure!(
        seen.spent_again
            .as_deref()
            .is_some_and(|e| e.contains("match")),
        "a spent code again: {:?}",
        seen.spent_again
    );
    ensure!(
        seen.state_after_use.contains("9 codes left"),
        "{}",
        seen.state_after_use
    );
    ensure!(
        seen.uses[0].contains("127.0.0.1"),
        "the use is shown: {:?}",
        seen.uses
    );
    ensure!(
        seen.passkeys_after.len() == 2,
        "the new passkey joined the old: {:?}",
        seen.passkeys_after
    );
    ensure!(
        seen.new_codes.iter().all(|c| !seen.codes.contains(c)),
        "a new set is new"
    );
    ensure!(
        seen.old_code_after_new_set
            .as_deref()
            .is_some_and(|e| e.contains("match")),
        "an old code after a new set: {:?}",
        seen.old_code_after_new_set
    );
    ensure!(
        server.logs().contains("signed in with a recovery code"),
        "the use was not logged"
    );
    ensure!(
        seen.passkeys_after_account_recovery.len() == 3
            && seen.state_after_account_recovery.contains("9 codes left"),
        "a code on /account: {:?} {}",
        seen.passkeys_after_account_recovery,
        seen.state_after_account_recovery
    );
    Ok(())
}

async fn leaderboard_names(http: &reqwest::Client, url: &str) -> Result<Vec<String>> {
    let board: whack_shared::api::Leaderboard = http
        .get(format!("{url}/api/leaderboard"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(board.entries.into_iter().map(|e| e.name).collect())
}

/// What the deletion test saw.
struct DeletionSeen {
    board_before: Vec<String>,
    closed_with: Result<u16, String>,
    closed_after: Duration,
    deleted: (String, String),
    signed_out_view: bool,
    name_again: String,
    terminal: TokenResponse,
}

#[tokio::test]
async fn deleting_the_account_leaves_no_trace_and_keeps_the_name_a_while() -> Result<()> {
    use whack_server::storage::{AccountStore, SessionStore, SledStore, StatsStore, Store};
    use whack_shared::protocol::{ClientMsg, ServerMsg};
    if !browser_available() {
        return Ok(());
    }
    let mut server = TestServer::start_with(&["--countdown-ms", "300"]).await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let seen = Browser::start()
        .await?
        .run(async |browser: &Browser| {
            browser.add_virtual_authenticator().await?;
            let terminal = terminal_signs_up(browser, &url).await?;
            let mut game = ws::connect(&ws::play_url(&url), terminal.access_token.expose()).await?;
            // A round of the shortest length, so the player is on the leaderboard.
            game.send(&ClientMsg::CreateRoom {
                name: Some("Solo".into()),
                private: true,
                round_secs: Some(15),
                seed: None,
            })
            .await?;
            game.wait_for(ws::WAIT, |m| matches!(m, ServerMsg::RoomState { .. }))
                .await?;
            game.send(&ClientMsg::StartGame).await?;
            game.wait_for(Duration::from_secs(40), |m| {
                matches!(m, ServerMsg::GameOver { .. })
            })
            .await?;
            let board_before = leaderboard_names(&http, &url).await?;

            make_recovery_codes(browser, &url).await?;
            browser.type_into("delete-name", PLAYER).await?;
            browser.click("delete-account").await?;
            let clicked = Instant::now();
            let closed_with = game
                .expect_close(Duration::from_secs(2))
                .await
                .map_err(|e| e.to_string());
            let closed_after = clicked.elapsed();
            let deleted = settled(browser).await?;
            let signed_out_view = browser
                .client()
                .find(Locator::Id("account-signin"))
                .await?
                .is_displayed()
                .await?;

            // Someone else at once, under the same name.
            let auth = oauth::device_authorize(&http, &url).await?;
            browser.goto(&auth.verification_uri_complete).await?;
            browser.click("continue").await?;
            browser.type_into("display-name", PLAYER).await?;
            browser.click("register").await?;
            browser.wait_visible("name-error").await?;
            let name_again = text_of(browser, "name-error").await?;
            Ok(DeletionSeen {
                board_before,
                closed_with,
                closed_after,
                deleted,
                signed_out_view,
                name_again,
                terminal,
            })
        })
        .await?;

    ensure!(
        seen.board_before.iter().any(|n| n == PLAYER),
        "the round put the player on the leaderboard: {:?}",
        seen.board_before
    );
    ensure!(
        seen.deleted.0 == "success" && seen.deleted.1.contains("deleted") && seen.signed_out_view,
        "{:?}",
        seen.deleted
    );
    ensure!(
        seen.closed_with == Ok(4001),
        "the terminal's game: {:?} after {:?}",
        seen.closed_with,
        seen.closed_after
    );
    ensure!(
        !leaderboard_names(&http, &url)
            .await?
            .iter()
            .any(|n| n == PLAYER),
        "still on the leaderboard"
    );
    ensure!(
        oauth::refresh(&http, &url, &seen.terminal.refresh_token)
            .await?
            .is_err(),
        "the terminal still refreshes"
    );
    ensure!(
        seen.name_again.to_lowercase().contains("taken"),
        "the name is free at once: {:?}",
        seen.name_again
    );
    ensure!(
        server.logs().contains("account deleted"),
        "the deletion was not logged"
    );

    // Every trace, through the store's own API.
    let player_id = claim(&seen.terminal, "sub")?;
    server.terminate().await?;
    let store = SledStore::open(&server.data_dir().join("db"))?;
    ensure!(store.player(&player_id).await?.is_none(), "the player");
    ensure!(
        store.credentials_of(&player_id).await?.is_empty(),
        "passkeys"
    );
    ensure!(
        store.recovery_codes(&player_id).await?.is_none(),
        "recovery codes"
    );
    ensure!(store.player_stats(&player_id).await?.games == 0, "stats");
    ensure!(
        !store
            .leaderboard(100)
            .await?
            .iter()
            .any(|e| e.player_id == player_id),
        "the leaderboard"
    );
    ensure!(
        store.player_id_by_name(PLAYER).await?.is_none(),
        "the name's owner"
    );
    let now = whack_server::clock::now_ms();
    let sessions = store.sessions_of(&player_id).await?;
    ensure!(
        sessions
            .iter()
            .all(|(_, s)| s.revoked_at.is_some() && s.expires_at <= now + 20 * 60 * 1000),
        "sessions are revoked and go with the next purges: {sessions:?}"
    );
    store.purge(now + 20 * 60 * 1000).await?;
    ensure!(
        store.sessions_of(&player_id).await?.is_empty(),
        "the purge takes the sessions"
    );
    Ok(())
}
