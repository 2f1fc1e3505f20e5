//! A whole device login with a soft passkey, then a second login signing in with it.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use whack_shared::api::Me;
use whack_shared::claims::AccessClaims;
use whack_shared::device_page::Decision;
use whack_shared::oauth::{Jwks, ServerMetadata};
use whack_tests::passkey::{SoftAuthenticator, decide, lookup};
use whack_tests::{TestServer, oauth};

#[tokio::test]
async fn soft_passkey_login_issues_tokens_that_verify_against_the_jwks() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();

    let meta: ServerMetadata = http
        .get(format!("{url}/.well-known/oauth-authorization-server"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(meta.issuer, url);
    assert_eq!(meta.token_endpoint, format!("{url}/oauth/token"));

    let auth = oauth::device_authorize(&http, &url).await?;
    assert_eq!(auth.verification_uri, format!("{url}/device"));
    assert_eq!(
        auth.verification_uri_complete,
        format!("{url}/device?user_code={}", auth.user_code)
    );
    assert_eq!((auth.expires_in, auth.interval), (600, 5));
    assert!(auth.device_code.expose().len() >= 43);

    // The page shows who is asking.
    let details = lookup(
        &http,
        &url,
        &auth.user_code.to_lowercase().replace('-', " "),
    )
    .await?;
    assert_eq!(details.user_code, auth.user_code);
    assert_eq!(details.client_id, "whack-cli");
    assert_eq!(details.client_addr, "127.0.0.1");

    let mut key = SoftAuthenticator::new(&url)?;
    let signed_in = key.register(&http, &auth.user_code, "Mole_Master").await?;
    assert_eq!(signed_in.name, "Mole_Master");
    let (status, body) = decide(
        &http,
        &url,
        &auth.user_code,
        Decision::Approve,
        Some(&signed_in.approval),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{body}");

    let tokens = oauth::poll_once(&http, &url, &auth.device_code)
        .await?
        .expect("tokens");
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 900);
    assert!(tokens.refresh_token.expose().starts_with("whr_"));

    // Verify offline, as any other service would: keys from the published JWKS only.
    let jwks: Jwks = http
        .get(format!("{url}/.well-known/jwks.json"))
        .send()
        .await?
        .json()
        .await?;
    let header = jsonwebtoken::decode_header(tokens.access_token.expose())?;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::EdDSA);
    let jwk = jwks
        .keys
        .iter()
        .find(|k| Some(&k.kid) == header.kid.as_ref())
        .expect("kid in JWKS");
    whack_tests::jwt::install();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["whack"]);
    validation.set_issuer(&[&url]);
    let claims = jsonwebtoken::decode::<AccessClaims>(
        tokens.access_token.expose(),
        &DecodingKey::from_ed_components(&jwk.x)?,
        &validation,
    )?
    .claims;
    assert_eq!(claims.sub, signed_in.player_id);
    assert_eq!(claims.name, "Mole_Master");
    assert_eq!(claims.exp - claims.iat, 900);
    assert!(!claims.sid.is_empty() && !claims.jti.is_empty());

    let (status, body) = oauth::me(&http, &url, tokens.access_token.expose()).await?;
    assert_eq!(status, StatusCode::OK);
    let me: Me = serde_json::from_str(&body)?;
    assert_eq!(
        (me.id.as_str(), me.name.as_str(), me.stats.games),
        (signed_in.player_id.as_str(), "Mole_Master", 0)
    );

    // A second device: sign in with the discoverable passkey, no name typed.
    let second = oauth::device_authorize(&http, &url).await?;
    let again = key.sign_in(&http, &second.user_code).await?;
    assert_eq!(again.player_id, signed_in.player_id);
    // Approval handles are single-use and bound to their own request.
    let (status, _) = decide(
        &http,
        &url,
        &second.user_code,
        Decision::Approve,
        Some(&signed_in.approval),
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = decide(
        &http,
        &url,
        &second.user_code,
        Decision::Approve,
        Some(&again.approval),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let second_tokens = oauth::poll_once(&http, &url, &second.device_code)
        .await?
        .expect("tokens");
    assert_ne!(
        crate::claims_of(second_tokens.access_token.expose()).sid,
        claims.sid,
        "a new login session"
    );

    // Secrets never reach the logs.
    let logs = server.logs();
    for secret in [
        tokens.access_token.expose(),
        tokens.refresh_token.expose(),
        auth.device_code.expose(),
        signed_in.approval.expose(),
    ] {
        assert!(
            !logs.contains(secret),
            "a secret leaked into the server log"
        );
    }
    Ok(())
}

#[tokio::test]
async fn names_are_unique_case_insensitively_and_ceremonies_are_single_use() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (_, player) = whack_tests::passkey::login_new_player(&url, "Taken").await?;
    assert_eq!(player.name, "Taken");

    let auth = oauth::device_authorize(&http, &url).await?;
    let mut key = SoftAuthenticator::new(&url)?;
    let err = key
        .register(&http, &auth.user_code, "tAKEN")
        .await
        .expect_err("name is taken");
    assert!(
        err.to_string().contains("409") && err.to_string().contains("name_taken"),
        "{err}"
    );
    let err = key
        .register(&http, &auth.user_code, "no spaces")
        .await
        .expect_err("invalid name");
    assert!(
        err.to_string().contains("400") && err.to_string().contains("invalid_name"),
        "{err}"
    );

    // A replayed sign-in (same ceremony id) is refused. The account exists
    // once its sign-up approved a request.
    let fresh = key.register(&http, &auth.user_code, "Fresh").await?;
    let (status, body) = decide(
        &http,
        &url,
        &auth.user_code,
        Decision::Approve,
        Some(&fresh.approval),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let auth = oauth::device_authorize(&http, &url).await?;
    let finish = key.sign_in_credential(&http, &auth.user_code).await?;
    let (status, _) =
        whack_tests::passkey::post_json(&http, &url, "/device/api/signin/finish", &finish).await?;
    assert_eq!(status, StatusCode::OK);
    let (status, body) =
        whack_tests::passkey::post_json(&http, &url, "/device/api/signin/finish", &finish).await?;
    assert_eq!(status, StatusCode::GONE, "{body}");

    // A tampered assertion (signature bytes flipped) is refused.
    let mut forged = key.sign_in_credential(&http, &auth.user_code).await?;
    let sig = forged.credential["response"]["signature"]
        .as_str()
        .expect("signature")
        .to_owned();
    let flipped = if sig.starts_with('A') {
        sig.replacen('A', "B", 1)
    } else {
        format!("A{}", &sig[1..])
    };
    forged.credential["response"]["signature"] = serde_json::json!(flipped);
    let (status, body) =
        whack_tests::passkey::post_json(&http, &url, "/device/api/signin/finish", &forged).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    Ok(())
}
