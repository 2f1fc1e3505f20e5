//! Forged and altered access tokens on `/api/me`: every one is a 401.
//!
//! The test signs its own tokens with the server's real key (read from the data
//! dir) so each case differs from a valid token in exactly one way; a control
//! token made the same way must pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use whack_shared::oauth::Jwks;
use whack_tests::passkey::login_new_player;
use whack_tests::{TestServer, oauth};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    whack_tests::jwt::install();
    jsonwebtoken::encode(header, claims, key).expect("sign")
}

#[tokio::test]
async fn forged_and_altered_tokens_are_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = server.url();
    let http = reqwest::Client::new();
    let (tokens, _) = login_new_player(&url, "Target").await?;
    let genuine = crate::claims_of(tokens.access_token.expose());
    let jwks: Jwks = http
        .get(format!("{url}/.well-known/jwks.json"))
        .send()
        .await?
        .json()
        .await?;
    let kid = jwks.keys[0].kid.clone();
    let real_key = EncodingKey::from_ed_der(&server.signing_key()?);

    let claims = serde_json::to_value(&genuine)?;
    let header = |alg: Algorithm, kid: &str| {
        let mut h = Header::new(alg);
        h.typ = Some("at+jwt".into());
        h.kid = Some(kid.to_owned());
        h
    };
    let with = |changes: Value| {
        let mut c = claims.clone();
        for (k, v) in changes.as_object().cloned().unwrap_or_default() {
            c[k] = v;
        }
        c
    };

    // Control: the same recipe with nothing wrong is accepted.
    let control = sign(
        &header(Algorithm::EdDSA, &kid),
        &with(json!({"iat": now(), "nbf": now(), "exp": now() + 600})),
        &real_key,
    );
    let (status, body) = oauth::me(&http, &url, &control).await?;
    assert_eq!(status, StatusCode::OK, "control token must pass: {body}");

    // A key of the attacker's own: any 32 bytes make an Ed25519 key.
    let seed: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let other_pair = ed25519_dalek::SigningKey::from_bytes(&seed)
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let other_key = EncodingKey::from_ed_der(other_pair.as_bytes());
    let public_x = URL_SAFE_NO_PAD.decode(&jwks.keys[0].x)?;
    let mut no_typ = header(Algorithm::EdDSA, &kid);
    no_typ.typ = None;
    let mut jwt_typ = header(Algorithm::EdDSA, &kid);
    jwt_typ.typ = Some("JWT".into());
    let mut with_jku = header(Algorithm::EdDSA, "attacker");
    with_jku.jku = Some("http://127.0.0.1:9/jwks.json".into());
    let parts: Vec<&str> = tokens.access_token.expose().split('.').collect();

    let cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})),
                b64(&claims)
            ),
        ),
        (
            "HS256 keyed with the public key",
            sign(
                &header(Algorithm::HS256, &kid),
                &claims,
                &EncodingKey::from_secret(&public_x)?,
            ),
        ),
        (
            "HS256 keyed with the JWKS text",
            sign(
                &header(Algorithm::HS256, &kid),
                &claims,
                &EncodingKey::from_secret(serde_json::to_string(&jwks)?.as_bytes())?,
            ),
        ),
        (
            "unknown kid",
            sign(&header(Algorithm::EdDSA, "not-our-key"), &claims, &real_key),
        ),
        (
            "right kid, another key",
            sign(&header(Algorithm::EdDSA, &kid), &claims, &other_key),
        ),
        (
            "jku pointing elsewhere",
            sign(&with_jku, &claims, &other_key),
        ),
        (
            "tampered payload",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(&with(json!({"name": "Admin"}))),
                parts[2]
            ),
        ),
        (
            "expired",
            sign(
                &header(Algorithm::EdDSA, &kid),
                &with(json!({"iat": now() - 1000, "nbf": now() - 1000, "exp": now() - 60})),
                &real_key,
            ),
        ),
        (
            "not yet valid",
            sign(
                &header(Algorithm::EdDSA, &kid),
                &with(json!({"nbf": now() + 600, "exp": now() + 900})),
                &real_key,
            ),
        ),
        (
            "wrong audience",
            sign(
                &header(Algorithm::EdDSA, &kid),
                &with(json!({"aud": "other-service"})),
                &real_key,
            ),
        ),
        (
            "wrong issuer",
            sign(
                &header(Algorithm::EdDSA, &kid),
                &with(json!({"iss": "https://evil.example"})),
                &real_key,
            ),
        ),
        ("missing typ", sign(&no_typ, &claims, &real_key)),
        ("typ JWT", sign(&jwt_typ, &claims, &real_key)),
        (
            "missing exp",
            sign(
                &header(Algorithm::EdDSA, &kid),
                &{
                    let mut c = claims.clone();
                    c.as_object_mut().map(|o| o.remove("exp"));
                    c
                },
                &real_key,
            ),
        ),
        ("garbage", "not.a.jwt".into()),
        ("empty", String::new()),
    ];
    for (name, token) in cases {
        let (status, body) = oauth::me(&http, &url, &token).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert!(
            body.contains("invalid_token") || body.contains("expired"),
            "{name}: {body}"
        );
    }
    // No header at all, or another scheme.
    let response = http.get(format!("{url}/api/me")).send().await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_some());
    let response = http
        .get(format!("{url}/api/me"))
        .basic_auth("a", Some("b"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}
