//! A software passkey driving the browser page's JSON calls, as the page's script
//! would: real WebAuthn ceremonies verified by the real server.
//!
//! webauthn-authenticator-rs's soft passkey cannot keep resident keys, so it is
//! shown the options a discoverable-capable authenticator would act on: no
//! `requireResidentKey` when registering, and its own credential id in
//! `allowCredentials` plus the user handle a resident key returns when signing
//! in. The server's side of both ceremonies is unchanged.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use whack_shared::Secret;
use whack_shared::device_page::{
    CeremonyFinish, CeremonyOptions, Decision, DecisionRequest, LookupRequest, RegisterStart,
    RequestDetails, SignedIn, SigninStart,
};
use whack_shared::oauth::TokenResponse;
use whack_shared::protocol::PlayerRef;

/// POSTs JSON to the page API; returns the status and the body text.
pub async fn post_json<T: Serialize>(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    body: &T,
) -> anyhow::Result<(StatusCode, String)> {
    let response = http.post(format!("{url}{path}")).json(body).send().await?;
    Ok((response.status(), response.text().await?))
}

async fn expect_json<R: serde::de::DeserializeOwned, T: Serialize>(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    body: &T,
) -> anyhow::Result<R> {
    let (status, text) = post_json(http, url, path, body).await?;
    anyhow::ensure!(status.is_success(), "{path}: {status}: {text}");
    Ok(serde_json::from_str(&text)?)
}

/// `POST /device/api/lookup`.
pub async fn lookup(
    http: &reqwest::Client,
    url: &str,
    user_code: &str,
) -> anyhow::Result<RequestDetails> {
    expect_json(
        http,
        url,
        "/device/api/lookup",
        &LookupRequest {
            user_code: user_code.into(),
        },
    )
    .await
}

/// `POST /device/api/lookup` expected to fail; returns the status and body.
pub async fn try_lookup(
    http: &reqwest::Client,
    url: &str,
    user_code: &str,
) -> anyhow::Result<(StatusCode, String)> {
    let body = LookupRequest {
        user_code: user_code.into(),
    };
    post_json(http, url, "/device/api/lookup", &body).await
}

/// `POST /device/api/decision`; returns the status and body.
pub async fn decide(
    http: &reqwest::Client,
    url: &str,
    user_code: &str,
    decision: Decision,
    approval: Option<&Secret>,
) -> anyhow::Result<(StatusCode, String)> {
    let body = DecisionRequest {
        user_code: user_code.into(),
        decision,
        approval: approval.cloned(),
    };
    post_json(http, url, "/device/api/decision", &body).await
}

/// A software passkey and the credentials it made.
pub struct SoftAuthenticator {
    key: SoftPasskey,
    origin: Url,
    /// (credential id, user handle) of each registration.
    credentials: Vec<(Vec<u8>, Vec<u8>)>,
}

impl SoftAuthenticator {
    /// A fresh authenticator for the page at `url`.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            key: SoftPasskey::new(true),
            origin: Url::parse(url)?,
            credentials: Vec::new(),
        })
    }

    /// Creates an account named `name` while approving `user_code`.
    pub async fn register(
        &mut self,
        http: &reqwest::Client,
        user_code: &str,
        name: &str,
    ) -> anyhow::Result<SignedIn> {
        let url = self.origin.as_str().trim_end_matches('/').to_owned();
        let start = RegisterStart {
            user_code: user_code.into(),
            display_name: name.into(),
        };
        let CeremonyOptions {
            ceremony_id,
            mut options,
        } = expect_json(http, &url, "/device/api/register/start", &start).await?;
        let user_handle = options["publicKey"]["user"]["id"]
            .as_str()
            .map(|id| URL_SAFE_NO_PAD.decode(id))
            .transpose()?
            .ok_or_else(|| anyhow::anyhow!("options carry no user id"))?;
        anyhow::ensure!(
            options["publicKey"]["authenticatorSelection"]["residentKey"] == "required",
            "the server must ask for a discoverable credential: {options}"
        );
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(false);
        let ccr: CreationChallengeResponse = serde_json::from_value(options)?;
        let credential = self
            .key
            .do_registration(self.origin.clone(), ccr)
            .map_err(|e| anyhow::anyhow!("soft passkey registration: {e:?}"))?;
        self.credentials
            .push((credential.raw_id.to_vec(), user_handle));
        let finish = CeremonyFinish {
            ceremony_id,
            credential: serde_json::to_value(&credential)?,
        };
        expect_json(http, &url, "/device/api/register/finish", &finish).await
    }

    /// Signs in with the most recent credential while approving `user_code`.
    pub async fn sign_in(
        &mut self,
        http: &reqwest::Client,
        user_code: &str,
    ) -> anyhow::Result<SignedIn> {
        let finish = self.sign_in_credential(http, user_code).await?;
        let url = self.origin.as_str().trim_end_matches('/').to_owned();
        expect_json(http, &url, "/device/api/signin/finish", &finish).await
    }

    /// Runs the authenticator's half of a sign-in and returns what the page would
    /// send to `/device/api/signin/finish` (for tests that tamper with it).
    pub async fn sign_in_credential(
        &mut self,
        http: &reqwest::Client,
        user_code: &str,
    ) -> anyhow::Result<CeremonyFinish> {
        let url = self.origin.as_str().trim_end_matches('/').to_owned();
        let (cred_id, user_handle) = self
            .credentials
            .last()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no credential registered yet"))?;
        let start = SigninStart {
            user_code: user_code.into(),
        };
        let CeremonyOptions {
            ceremony_id,
            mut options,
        } = expect_json(http, &url, "/device/api/signin/start", &start).await?;
        anyhow::ensure!(
            options["publicKey"]["allowCredentials"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "a discoverable sign-in names no credentials: {options}"
        );
        options["publicKey"]["allowCredentials"] =
            json!([{ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(&cred_id) }]);
        let rcr: RequestChallengeResponse = serde_json::from_value(options)?;
        let mut credential = self
            .key
            .do_authentication(self.origin.clone(), rcr)
            .map_err(|e| anyhow::anyhow!("soft passkey sign-in: {e:?}"))?;
        credential.response.user_handle = Some(user_handle);
        let mut credential: Value = serde_json::to_value(&credential)?;
        // Browsers name the extension outputs `clientExtensionResults`; send it as they do.
        if let Some(obj) = credential.as_object_mut() {
            let outputs = obj.remove("extensions").unwrap_or_else(|| json!({}));
            obj.insert("clientExtensionResults".into(), outputs);
        }
        Ok(CeremonyFinish {
            ceremony_id,
            credential,
        })
    }
}

/// Looks up `user_code`, creates a player `name` with a new soft passkey and
/// approves the request.
pub async fn approve_new_player(
    url: &str,
    user_code: &str,
    name: &str,
) -> anyhow::Result<PlayerRef> {
    let http = reqwest::Client::new();
    lookup(&http, url, user_code).await?;
    let mut key = SoftAuthenticator::new(url)?;
    let signed_in = key.register(&http, user_code, name).await?;
    let (status, body) = decide(
        &http,
        url,
        user_code,
        Decision::Approve,
        Some(&signed_in.approval),
    )
    .await?;
    anyhow::ensure!(status.is_success(), "approve: {status}: {body}");
    Ok(PlayerRef {
        id: signed_in.player_id,
        name: signed_in.name,
    })
}

/// A whole device login with `key`: a sign-up as `name`, or (`None`) a sign-in
/// with the passkey it registered last; the approval must succeed.
pub async fn login_with(
    key: &mut SoftAuthenticator,
    url: &str,
    name: Option<&str>,
) -> anyhow::Result<TokenResponse> {
    let http = reqwest::Client::new();
    let auth = crate::oauth::device_authorize(&http, url).await?;
    let signed_in = match name {
        Some(name) => key.register(&http, &auth.user_code, name).await?,
        None => key.sign_in(&http, &auth.user_code).await?,
    };
    let (status, body) = decide(
        &http,
        url,
        &auth.user_code,
        Decision::Approve,
        Some(&signed_in.approval),
    )
    .await?;
    anyhow::ensure!(status.is_success(), "approve: {status}: {body}");
    crate::oauth::poll_once(&http, url, &auth.device_code)
        .await?
        .map_err(|r| anyhow::anyhow!("token exchange refused: {r:?}"))
}

/// A whole device login for a new player: authorize, approve with a soft passkey,
/// exchange the device code.
pub async fn login_new_player(url: &str, name: &str) -> anyhow::Result<(TokenResponse, PlayerRef)> {
    let http = reqwest::Client::new();
    let auth = crate::oauth::device_authorize(&http, url).await?;
    let player = approve_new_player(url, &auth.user_code, name).await?;
    let tokens = crate::oauth::poll_once(&http, url, &auth.device_code)
        .await?
        .map_err(|r| anyhow::anyhow!("token exchange refused: {r:?}"))?;
    Ok((tokens, player))
}
