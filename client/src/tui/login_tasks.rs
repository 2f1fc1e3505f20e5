//! The login tasks: look for a stored login, or run the device-code flow and report
//! each step as a [`LoginEvent`].

use crate::auth::device_flow::{self, LoginError};
use crate::auth::{TokenManager, browser};
use crate::tui::action::{Action, LoginEvent};
use crate::tui::run::now_ms;
use tokio::sync::mpsc;

fn report(tx: &mpsc::UnboundedSender<Action>, event: LoginEvent) {
    let _ = tx.send(Action::Login(event));
}

/// A stored login goes straight to the lobby (the connection refreshes it or
/// reports it dead); without one, a new device login starts.
pub async fn check_then_login(tokens: TokenManager, tx: mpsc::UnboundedSender<Action>) {
    match tokens.is_logged_in().await {
        Ok(true) => report(&tx, LoginEvent::AlreadyLoggedIn),
        Ok(false) => device_login(tokens, tx).await,
        Err(e) => report(&tx, LoginEvent::Failed(e.to_string())),
    }
}

/// Asks for a code, shows it, polls until approved, denied or expired.
pub async fn device_login(tokens: TokenManager, tx: mpsc::UnboundedSender<Action>) {
    let server = tokens.server().clone();
    let authorization = match device_flow::start(tokens.http(), &server).await {
        Ok(a) => a,
        Err(e) => return report(&tx, failure(e)),
    };
    report(
        &tx,
        LoginEvent::Code {
            user_code: authorization.user_code.clone(),
            verification_uri: authorization.verification_uri.clone(),
            verification_uri_complete: authorization.verification_uri_complete.clone(),
            expires_at: now_ms() + authorization.expires_in as f64 * 1000.0,
        },
    );
    match device_flow::poll(tokens.http(), &server, &authorization).await {
        Ok(grant) => match tokens.adopt(grant).await {
            Ok(()) => report(&tx, LoginEvent::Approved),
            Err(e) => report(
                &tx,
                LoginEvent::Failed(format!("could not store the login: {e}")),
            ),
        },
        Err(e) => report(&tx, failure(e)),
    }
}

fn failure(e: LoginError) -> LoginEvent {
    match e {
        LoginError::Denied => LoginEvent::Denied,
        LoginError::Expired => LoginEvent::Expired,
        LoginError::ServerDown(e) => LoginEvent::ServerDown(e.to_string()),
        other => LoginEvent::Failed(other.to_string()),
    }
}

/// Opens the page when there is a display; says whether it worked.
pub fn open_browser(url: &str) -> bool {
    browser::display_available() && browser::open(url).is_ok()
}
