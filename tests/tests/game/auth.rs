//! Tokens on the socket: refused before the upgrade, closed with 4001 on
//! revocation or expiry, kept open by `reauth`.

use crate::{FLAGS, connect, login};
use std::time::{Duration, Instant};
use whack_shared::Secret;
use whack_shared::oauth::ErrorCode;
use whack_shared::protocol::{ClientMsg, ServerMsg, close};
use whack_tests::ws::{self, WsError};
use whack_tests::{TestServer, oauth};

#[tokio::test]
async fn the_upgrade_needs_a_valid_access_token() -> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let url = server.ws_url();
    assert!(matches!(
        ws::open(&url, None).await,
        Err(WsError::Refused(401))
    ));
    assert!(matches!(
        ws::open(&url, Some("not.a.jwt")).await,
        Err(WsError::Refused(401))
    ));
    let alice = login(&server, "Alice").await?;
    // Change the signature's first character: the last one carries only two
    // significant bits, so swapping it can leave the token unchanged.
    let genuine = alice.tokens.access_token.expose();
    let at = genuine.rfind('.').map_or(0, |dot| dot + 1);
    let swapped = if genuine[at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let forged = format!("{}{swapped}{}", &genuine[..at], &genuine[at + 1..]);
    assert!(matches!(
        ws::open(&url, Some(&forged)).await,
        Err(WsError::Refused(401))
    ));

    // An old client is told why, then closed with 4003.
    let mut a = connect(&server, &alice).await?;
    a.send(&ClientMsg::Hello {
        protocol_version: 99,
    })
    .await?;
    let msg = a.recv().await?;
    assert!(
        matches!(&msg, ServerMsg::Error { code, .. } if code == "version_mismatch"),
        "{msg:?}"
    );
    assert_eq!(a.expect_close(ws::WAIT).await?, close::VERSION_MISMATCH);

    // The right version gets nothing back, and the connection works.
    let mut a = connect(&server, &alice).await?;
    a.send(&ClientMsg::Hello {
        protocol_version: whack_shared::protocol::PROTOCOL_VERSION,
    })
    .await?;
    a.send(&ClientMsg::Ping { t: 12.5 }).await?;
    assert!(matches!(a.recv().await?, ServerMsg::Pong { t, .. } if t == 12.5));
    Ok(())
}

#[tokio::test]
async fn revoking_the_session_closes_its_sockets_within_a_second() -> anyhow::Result<()> {
    let server = TestServer::start_with(FLAGS).await?;
    let alice = login(&server, "Alice").await?;
    let bob = login(&server, "Bob").await?;
    let mut a1 = connect(&server, &alice).await?;
    let mut a2 = connect(&server, &alice).await?;
    let mut b = connect(&server, &bob).await?;

    let status = oauth::revoke(
        &reqwest::Client::new(),
        &server.url(),
        &alice.tokens.refresh_token,
    )
    .await?;
    assert!(status.is_success());
    let revoked = Instant::now();
    assert_eq!(
        a1.expect_close(Duration::from_secs(1)).await?,
        close::TOKEN_EXPIRED
    );
    assert_eq!(
        a2.expect_close(Duration::from_secs(1)).await?,
        close::TOKEN_EXPIRED
    );
    assert!(revoked.elapsed() < Duration::from_secs(1));

    // The same access token cannot open a new socket; Bob's session is untouched.
    assert!(matches!(
        ws::open(&server.ws_url(), Some(alice.tokens.access_token.expose())).await,
        Err(WsError::Refused(401))
    ));
    b.send(&ClientMsg::Ping { t: 1.0 }).await?;
    assert!(matches!(b.recv().await?, ServerMsg::Pong { .. }));

    // Refresh-token reuse revokes Bob's session: his socket closes the same way.
    let http = reqwest::Client::new();
    let first = &bob.tokens.refresh_token;
    let second = oauth::refresh(&http, &server.url(), first)
        .await?
        .map_err(|r| anyhow::anyhow!("refresh refused: {r:?}"))?;
    oauth::refresh(&http, &server.url(), &second.refresh_token)
        .await?
        .map_err(|r| anyhow::anyhow!("refresh refused: {r:?}"))?;
    // An old refresh token comes back: refused as reuse.
    let stolen = oauth::refresh(&http, &server.url(), first)
        .await?
        .expect_err("an old refresh token is refused");
    assert_eq!(stolen.code(), ErrorCode::InvalidGrant, "{stolen:?}");
    assert_eq!(
        b.expect_close(Duration::from_secs(1)).await?,
        close::TOKEN_EXPIRED
    );
    Ok(())
}

#[tokio::test]
async fn expiry_closes_with_4001_unless_the_client_reauths() -> anyhow::Result<()> {
    let mut flags = FLAGS.to_vec();
    flags.extend(["--access-token-ttl-secs", "5"]);
    let server = TestServer::start_with(&flags).await?;
    let alice = login(&server, "Alice").await?;
    let bob = login(&server, "Bob").await?;
    let started = Instant::now();
    let mut lapsing = connect(&server, &alice).await?;
    let mut kept = connect(&server, &alice).await?;

    // Refresh late enough that the new token outlives the old one by seconds.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let fresh = oauth::refresh(
        &reqwest::Client::new(),
        &server.url(),
        &alice.tokens.refresh_token,
    )
    .await?
    .map_err(|r| anyhow::anyhow!("refresh refused: {r:?}"))?;

    // Wrong tokens are refused and change nothing.
    kept.send(&ClientMsg::Reauth {
        access_token: Secret::new("garbage"),
    })
    .await?;
    let msg = kept.recv().await?;
    assert!(
        matches!(&msg, ServerMsg::Error { code, .. } if code == "reauth_failed"),
        "{msg:?}"
    );
    kept.send(&ClientMsg::Reauth {
        access_token: bob.tokens.access_token.clone(),
    })
    .await?;
    let msg = kept.recv().await?;
    assert!(
        matches!(&msg, ServerMsg::Error { code, .. } if code == "reauth_wrong_player"),
        "{msg:?}"
    );

    kept.send(&ClientMsg::Reauth {
        access_token: fresh.access_token.clone(),
    })
    .await?;
    let msg = kept.recv().await?;
    let ServerMsg::ReauthOk { expires_at } = msg else {
        panic!("expected reauth_ok, got {msg:?}");
    };
    let old_exp = crate_claims_exp(alice.tokens.access_token.expose());
    assert!(expires_at >= (old_exp + 2) as f64 * 1000.0);

    assert_eq!(
        lapsing.expect_close(Duration::from_secs(8)).await?,
        close::TOKEN_EXPIRED
    );
    let lapsed = started.elapsed();
    assert!(
        lapsed >= Duration::from_secs(3),
        "closed too early: {lapsed:?}"
    );

    // Past the first token's expiry, the re-authenticated socket still works…
    kept.send(&ClientMsg::Ping { t: 2.0 }).await?;
    assert!(matches!(
        kept.recv_within(Duration::from_millis(900)).await?,
        ServerMsg::Pong { .. }
    ));
    // …until the fresh token expires in turn.
    assert_eq!(
        kept.expect_close(Duration::from_secs(8)).await?,
        close::TOKEN_EXPIRED
    );
    Ok(())
}

fn crate_claims_exp(token: &str) -> u64 {
    jsonwebtoken::dangerous::insecure_decode::<whack_shared::claims::AccessClaims>(token)
        .expect("a JWT")
        .claims
        .exp
}
