//! Command-line arguments of `whack`.

use clap::{Parser, Subcommand};
use whack_client::auth::ServerUrl;
use whack_shared::DEFAULT_SERVER_URL;

/// Whack: multiplayer whack-a-mole in your terminal.
///
/// Without a subcommand, starts the game. Exit codes: 0 ok, 1 failure, 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "whack", version, about, long_about)]
pub struct Cli {
    /// The Whack server to use.
    #[arg(
        long,
        global = true,
        env = "WHACK_SERVER",
        value_name = "URL",
        default_value = DEFAULT_SERVER_URL,
        value_parser = parse_server
    )]
    pub server: ServerUrl,

    /// Keep the refresh token in a plain 0600 file in your config directory instead of
    /// the OS keyring (for machines without a keyring; anyone who can read the file can
    /// play as you).
    #[arg(long, global = true)]
    pub insecure_storage: bool,

    /// Allow a plain http:// server that is not this machine. Your login tokens then
    /// cross the network unencrypted: anyone on the way can read them and play as you.
    /// Without it such a --server is refused before anything is sent (http:// to
    /// localhost, 127.0.0.0/8 or ::1 is always fine).
    #[arg(
        long,
        global = true,
        env = "WHACK_ALLOW_INSECURE_HTTP",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub allow_insecure_http: bool,

    /// What to do; without one, the game starts.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in with a passkey in your browser (device code).
    ///
    /// Already logged in: says as whom and asks before replacing that login (y/N on a
    /// terminal); without a terminal it refuses unless given --switch.
    Login {
        /// Do not open a browser; just print the code, the URL and a QR code.
        #[arg(long)]
        no_browser: bool,
        /// Replace a stored login without asking (sign in as someone else).
        #[arg(long)]
        switch: bool,
    },
    /// Sign out: revoke the session at the server and forget the stored token.
    Logout,
    /// Show the server, who is logged in and where the token is kept.
    Status,
    /// List the places you are signed in (each login is a session), or end them.
    Sessions {
        /// What to do; without one, the list.
        #[command(subcommand)]
        action: Option<SessionsAction>,
    },
    /// Start the game straight in the room with this join code (logs in first if
    /// needed).
    Join {
        /// The room's join code, `XXXX-XXXX` (case, dashes and spaces do not matter).
        #[arg(value_name = "CODE", value_parser = parse_room_code)]
        code: String,
    },
}

/// What `whack sessions` does besides listing.
#[derive(Debug, Subcommand)]
pub enum SessionsAction {
    /// End a session, exactly like logging it out: its games are closed at once.
    Revoke {
        /// The session's id as `whack sessions` shows it (a unique start is enough).
        #[arg(value_name = "ID", required_unless_present = "others")]
        id: Option<String>,
        /// End every session but this terminal's.
        #[arg(long, conflicts_with = "id")]
        others: bool,
    },
}

fn parse_room_code(value: &str) -> Result<String, String> {
    whack_shared::user_code::normalize(value).ok_or_else(|| {
        format!(
            "`{value}` is not a room code: a code is 8 letters like BCDF-GHJK (as the room \
             screen shows it)"
        )
    })
}

fn parse_server(value: &str) -> Result<ServerUrl, String> {
    ServerUrl::parse(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn insecure_http_is_off_unless_asked_for() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(args)
                .map(|cli| cli.allow_insecure_http)
                .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        };
        assert!(!parse(&["whack", "status"]));
        assert!(parse(&["whack", "status", "--allow-insecure-http"]));
        assert!(parse(&["whack", "--allow-insecure-http", "login"]));
    }

    #[test]
    fn revoke_takes_an_id_or_others_but_not_both() {
        let revoke = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Some(Command::Sessions {
                action: Some(SessionsAction::Revoke { id, others }),
            })) => Ok((id, others)),
            Ok(other) => panic!("{args:?}: {other:?}"),
            Err(e) => Err(e.kind()),
        };
        assert_eq!(
            revoke(&["whack", "sessions", "revoke", "3f9a"]),
            Ok((Some("3f9a".into()), false))
        );
        assert_eq!(
            revoke(&["whack", "sessions", "revoke", "--others"]),
            Ok((None, true))
        );
        assert_eq!(
            revoke(&["whack", "sessions", "revoke"]),
            Err(clap::error::ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            revoke(&["whack", "sessions", "revoke", "3f9a", "--others"]),
            Err(clap::error::ErrorKind::ArgumentConflict)
        );
    }
}
