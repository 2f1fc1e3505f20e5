//! `whack login`: the device grant in the terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tokio::time::Instant;
use whack_client::auth::device_flow::{self, LoginError};
use whack_client::auth::{
    AuthError, Http, ServerUrl, Storage, StorageKind, TokenManager, api, browser, paths,
};
use whack_client::block_art::big_text;
use whack_client::block_art::qr::QrMatrix;
use whack_shared::oauth::DeviceAuthorization;

/// Runs the login; the keyring is checked before any code is requested. When a
/// login is already stored, says whose and goes on only if asked to `switch` (or,
/// on a terminal, when the player answers yes).
pub async fn run(
    server: &ServerUrl,
    insecure_storage: bool,
    no_browser: bool,
    switch: bool,
) -> anyhow::Result<ExitCode> {
    let storage = Storage::open(server, insecure_storage).await?;
    if let StorageKind::InsecureFile { path } = storage.kind() {
        eprintln!(
            "warning: --insecure-storage: the refresh token will be kept UNENCRYPTED in {} \
             (mode 0600: only your user can read it, but so can anything running as you, \
             and your backups). Prefer the OS keyring.",
            paths::display(path)
        );
    }
    storage.check_writable().await?;
    let http = Http::new()?;
    let manager = TokenManager::new(server.clone(), storage, http.clone());
    if !switch
        && manager.storage().load().await?.is_some()
        && let Some(code) = already_logged_in(&manager).await?
    {
        return Ok(code);
    }
    // Read after the check above, which may have rotated (or cleared) the token.
    let previous = manager.storage().load().await?;

    let flow = async {
        let authorization = device_flow::start(&http, server).await?;
        show(&authorization);
        if !no_browser && browser::display_available() {
            match browser::open(&authorization.verification_uri_complete) {
                Ok(()) => println!("Opened your browser."),
                Err(e) => eprintln!("warning: could not open a browser ({e}); open the URL above."),
            }
        }
        println!("Waiting for approval… (Ctrl-C to cancel)");
        device_flow::poll(&http, server, &authorization).await
    };
    let tokens = tokio::select! {
        result = flow => result,
        _ = tokio::signal::ctrl_c() => Err(LoginError::Cancelled),
    };
    let tokens = match tokens {
        Ok(tokens) => tokens,
        Err(LoginError::Cancelled) => {
            eprintln!("\nLogin cancelled; nothing was stored.");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let received = Instant::now();
    manager.adopt(tokens).await?;
    tracing::debug!(
        store_ms = received.elapsed().as_secs_f64() * 1000.0,
        "refresh token stored"
    );
    if let Some(previous) = previous
        && let Err(e) = manager.revoke(&previous).await
    {
        tracing::warn!("could not revoke the replaced login: {e}");
    }
    match api::me(&manager).await {
        Ok(me) => println!("Logged in to {} as {}.", server.origin(), me.name),
        Err(e) => println!(
            "Logged in to {} (could not fetch your player: {e}).",
            server.origin()
        ),
    }
    println!("Refresh token kept in: {}", manager.storage().describe());
    Ok(ExitCode::SUCCESS)
}

/// A login is stored: says whose, then decides whether to replace it. `None` goes on
/// with a new login (the player said yes, or the stored one turned out to be dead);
/// `Some` is the exit code to stop with.
async fn already_logged_in(manager: &TokenManager) -> anyhow::Result<Option<ExitCode>> {
    let origin = manager.server().origin();
    let who = match api::me(manager).await {
        Ok(me) => format!("as {}", me.name),
        // The server ended that login (the token is cleared): just log in.
        Err(AuthError::LoggedOut { .. } | AuthError::NotLoggedIn { .. }) => return Ok(None),
        // The new login could not reach the server either.
        Err(AuthError::Http(e)) => {
            eprintln!("error: {e}");
            return Ok(Some(ExitCode::FAILURE));
        }
        Err(e) => format!("(could not check as whom: {e})"),
    };
    println!("Already logged in to {origin} {who}.");
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        eprintln!(
            "error: not replacing that login without asking. To sign in as someone else, run \
             `whack login --switch` (or `whack logout` first)."
        );
        return Ok(Some(ExitCode::FAILURE));
    }
    print!("Sign in as someone else instead? [y/N] ");
    std::io::stdout().flush()?;
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await??;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(None)
    } else {
        println!("Kept the current login.");
        Ok(Some(ExitCode::SUCCESS))
    }
}

/// Prints the URL, the code (plain and large) and a QR code of the complete URL.
fn show(authorization: &DeviceAuthorization) {
    let minutes = authorization.expires_in.div_ceil(60);
    println!();
    println!("To sign in, open this page in a browser:");
    println!();
    println!("    {}", authorization.verification_uri);
    println!();
    println!("and enter (or confirm) this code:");
    println!();
    println!("    Code: {}", authorization.user_code);
    println!();
    if let Some(rows) = big_text::full_rows(&authorization.user_code) {
        for row in rows {
            println!("    {row}");
        }
        println!();
    }
    println!("Or open {}", authorization.verification_uri_complete);
    match QrMatrix::new(&authorization.verification_uri_complete) {
        Ok(matrix) => {
            println!("or scan this with your phone:");
            let colour = std::io::stdout().is_terminal();
            for line in matrix.half_block_lines(colour) {
                if colour {
                    // Black on white whatever the terminal's theme, so scanners read it.
                    println!("    \x1b[30;107m{line}\x1b[0m");
                } else {
                    println!("    {line}");
                }
            }
        }
        Err(e) => tracing::debug!("{e}"),
    }
    println!();
    println!("The code expires in {minutes} minutes. Only approve a sign-in you started yourself.");
}
