//! Discovery: the JWKS and RFC 8414 authorization-server metadata.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use whack_shared::oauth::{DEVICE_CODE_GRANT, Jwks, REFRESH_TOKEN_GRANT, ServerMetadata};

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(state): State<AppState>) -> Json<Jwks> {
    Json(state.auth.access.keys().jwks())
}

/// `GET /.well-known/oauth-authorization-server`.
pub async fn metadata(State(state): State<AppState>) -> Json<ServerMetadata> {
    let c = &state.config;
    Json(ServerMetadata {
        issuer: c.issuer(),
        device_authorization_endpoint: c.url("/oauth/device_authorization"),
        token_endpoint: c.url("/oauth/token"),
        revocation_endpoint: c.url("/oauth/revoke"),
        jwks_uri: c.url("/.well-known/jwks.json"),
        grant_types_supported: vec![DEVICE_CODE_GRANT.into(), REFRESH_TOKEN_GRANT.into()],
        token_endpoint_auth_methods_supported: vec!["none".into()],
        revocation_endpoint_auth_methods_supported: vec!["none".into()],
        response_types_supported: vec![],
    })
}
