//! A real headless Chromium, driven over WebDriver (chromedriver + fantoccini), with a
//! virtual WebAuthn authenticator: how the end-to-end tests use the `/device` page.
//!
//! Chromedriver runs on a free port in its own process group; Chromium gets a fresh
//! profile directory. Call [`Browser::close`] before asserting, so a failed test does
//! not leave a browser behind; dropping a `Browser` still kills the whole group.

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long to wait for the page to reach a state before giving up.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// True when both Chromium and chromedriver are installed.
pub fn available() -> bool {
    Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
}

/// A chromedriver process on a free loopback port; it and its Chromium die on drop.
pub struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    /// Starts chromedriver and waits until it answers `/status`.
    pub async fn start() -> Result<Self> {
        let port = free_port()?;
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group, so Drop can end chromedriver and every Chromium it started.
            .process_group(0)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        driver.wait_ready().await?;
        Ok(driver)
    }

    /// The WebDriver URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn wait_ready(&self) -> Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ready = http
                .get(format!("{}/status", self.url))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not answer on {} within 10 s", self.url);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // Chromium does not die with chromedriver: end the whole process group.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.start_kill();
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A WebDriver extension command, for what fantoccini has no method for (WebAuthn, logs).
#[derive(Debug, Clone)]
pub struct ExtensionCommand {
    method: http::Method,
    /// Path below `session/{id}/`, e.g. `webauthn/authenticator`.
    path: String,
    body: Option<Value>,
}

impl ExtensionCommand {
    /// `POST session/{id}/{path}` with a JSON body.
    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: http::Method::POST,
            path: path.into(),
            body: Some(body),
        }
    }

    /// `GET session/{id}/{path}`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: http::Method::GET,
            path: path.into(),
            body: None,
        }
    }

    /// `DELETE session/{id}/{path}`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self {
            method: http::Method::DELETE,
            path: path.into(),
            body: None,
        }
    }
}

impl WebDriverCompatibleCommand for ExtensionCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// Runs `probe` every 50 ms until it finds what it waits for (`Ok(Ok(_))`),
/// for up to 10 s; then fails with what it last saw (its `Ok(Err(_))`).
pub async fn eventually<T>(mut probe: impl AsyncFnMut() -> Result<Result<T, String>>) -> Result<T> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match probe().await? {
            Ok(found) => return Ok(found),
            Err(seen) if Instant::now() > deadline => bail!("{seen}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Headless Chromium with a fresh profile, driven by its own chromedriver.
pub struct Browser {
    client: Client,
    // Field order matters: the profile is removed after chromedriver (and Chromium) end.
    _driver: ChromeDriver,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> Result<Self> {
        Self::start_sized(None).await
    }

    /// The same with the screen of a phone, `width`×`height` CSS pixels
    /// (a desktop window cannot be narrower than about 500 px).
    pub async fn start_phone(width: u32, height: u32) -> Result<Self> {
        Self::start_sized(Some((width, height))).await
    }

    async fn start_sized(phone: Option<(u32, u32)>) -> Result<Self> {
        let profile = tempfile::Builder::new()
            .prefix("whack-chromium-")
            .tempdir()
            .context("creating a Chromium profile directory")?;
        let driver = ChromeDriver::start().await?;
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1024,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = Capabilities::new();
        let mut options = json!({ "binary": CHROMIUM, "args": args });
        if let Some((width, height)) = phone {
            options["mobileEmulation"] =
                json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1 } });
        }
        caps.insert("goog:chromeOptions".to_owned(), options);
        caps.insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(driver.url())
            .await
            .context("opening a WebDriver session")?;
        Ok(Self {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// The fantoccini client, for anything not wrapped here.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends a WebDriver extension command and returns its `value`.
    pub async fn extension(&self, command: ExtensionCommand) -> Result<Value> {
        let path = command.path.clone();
        self.client
            .issue_cmd(command)
            .await
            .with_context(|| format!("WebDriver command {path}"))
    }

    /// Adds a CTAP2 platform authenticator that holds resident keys and always verifies
    /// the user; returns its id.
    pub async fn add_virtual_authenticator(&self) -> Result<String> {
        self.add_authenticator(json!({})).await
    }

    /// The same, making passkeys that say they are synced (backup eligible and
    /// backed up), like a phone's or a password manager's.
    pub async fn add_synced_authenticator(&self) -> Result<String> {
        self.add_authenticator(json!({
            "defaultBackupEligibility": true,
            "defaultBackupState": true,
        }))
        .await
    }

    async fn add_authenticator(&self, extra: Value) -> Result<String> {
        let mut options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "isUserConsenting": true,
        });
        if let (Some(options), Value::Object(extra)) = (options.as_object_mut(), extra) {
            options.extend(extra);
        }
        let value = self
            .extension(ExtensionCommand::post("webauthn/authenticator", options))
            .await?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("authenticator id is not a string: {value}"))
    }

    /// Detaches a virtual authenticator (its passkeys go with it).
    pub async fn remove_virtual_authenticator(&self, authenticator: &str) -> Result<()> {
        self.extension(ExtensionCommand::delete(format!(
            "webauthn/authenticator/{authenticator}"
        )))
        .await?;
        Ok(())
    }

    /// The credentials a virtual authenticator holds.
    pub async fn authenticator_credentials(&self, authenticator: &str) -> Result<Vec<Value>> {
        let value = self
            .extension(ExtensionCommand::get(format!(
                "webauthn/authenticator/{authenticator}/credentials"
            )))
            .await?;
        match value {
            Value::Array(list) => Ok(list),
            other => bail!("credentials are not a list: {other}"),
        }
    }

    /// The browser console since the last call (Chromium's log extension).
    pub async fn console_log(&self) -> Result<Vec<Value>> {
        match self
            .extension(ExtensionCommand::post(
                "se/log",
                json!({ "type": "browser" }),
            ))
            .await?
        {
            Value::Array(list) => Ok(list),
            other => bail!("log is not a list: {other}"),
        }
    }

    /// Runs `source` in every page from now on, before the page's own scripts
    /// (Chromium's DevTools `Page.addScriptToEvaluateOnNewDocument`).
    pub async fn run_before_page_scripts(&self, source: &str) -> Result<()> {
        self.extension(ExtensionCommand::post(
            "goog/cdp/execute",
            json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": { "source": source },
            }),
        ))
        .await
        .map(drop)
    }

    /// Opens a URL.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Waits until the element with this id is shown.
    pub async fn wait_visible(&self, id: &str) -> Result<()> {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            if let Ok(element) = self.client.find(Locator::Id(id)).await
                && element.is_displayed().await.unwrap_or(false)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "#{id} not shown within {PAGE_TIMEOUT:?}; status: {}",
                    self.status()
                        .await
                        .map(|(s, t)| format!("{s}: {t}"))
                        .unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element with this id once it is shown.
    pub async fn click(&self, id: &str) -> Result<()> {
        self.wait_visible(id).await?;
        self.client
            .find(Locator::Id(id))
            .await?
            .click()
            .await
            .with_context(|| format!("clicking #{id}"))
    }

    /// Replaces the text of the input with this id, typing it like a user.
    pub async fn type_into(&self, id: &str, text: &str) -> Result<()> {
        self.wait_visible(id).await?;
        let input = self.client.find(Locator::Id(id)).await?;
        input.clear().await?;
        input
            .send_keys(text)
            .await
            .with_context(|| format!("typing into #{id}"))
    }

    /// The `#status` element's `data-state` and text.
    pub async fn status(&self) -> Result<(String, String)> {
        let value = self
            .client
            .execute(
                "const s = document.getElementById('status');\
                 return s ? [s.dataset.state || '', s.textContent] : ['', ''];",
                vec![],
            )
            .await?;
        let field = |i: usize| {
            value
                .get(i)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok((field(0), field(1)))
    }

    /// Waits until `#status` has one of the final states (`approved`, `denied`,
    /// `error`) and returns it with the message.
    pub async fn wait_final_status(&self) -> Result<(String, String)> {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let (state, text) = self.status().await?;
            if matches!(state.as_str(), "approved" | "denied" | "error") {
                return Ok((state, text));
            }
            if Instant::now() > deadline {
                bail!("#status did not settle within {PAGE_TIMEOUT:?}; last: {state}: {text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `steps` in this browser, then closes it whatever they returned, so a
    /// failed step never leaves Chromium running. Tests assert afterwards, on what
    /// the steps gathered, so a failed assertion cannot skip the close either.
    pub async fn run<T>(self, steps: impl AsyncFnOnce(&Browser) -> Result<T>) -> Result<T> {
        let outcome = steps(&self).await;
        self.close().await?;
        outcome
    }

    /// Ends the WebDriver session (and Chromium), then chromedriver.
    pub async fn close(self) -> Result<()> {
        let Self {
            client,
            _driver,
            _profile,
        } = self;
        client
            .close()
            .await
            .context("closing the WebDriver session")
    }
}
