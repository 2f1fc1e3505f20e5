//! `whack sessions`: the player's signed-in devices, and ending them.

use crate::commands::time_fmt;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use whack_client::auth::{Http, ServerUrl, Storage, TokenManager, api};
use whack_shared::api::SessionInfo;

/// Characters of a session id shown, and enough to name it in `revoke`.
const SHORT_ID: usize = 8;

/// Lists the live login sessions of the logged-in player.
pub async fn list(server: &ServerUrl, insecure_storage: bool) -> anyhow::Result<ExitCode> {
    let manager = manager(server, insecure_storage).await?;
    let sessions = match api::sessions(&manager).await {
        Ok(list) => list.sessions,
        Err(e) => return Ok(failed(&e)),
    };
    let now = SystemTime::now();
    println!(
        "Signed in to {} in {} place{}:",
        server.origin(),
        sessions.len(),
        if sessions.len() == 1 { "" } else { "s" }
    );
    for session in &sessions {
        println!();
        print!("{}", describe(session, now));
    }
    println!();
    println!("End one with `whack sessions revoke ID`, every other with `--others`.");
    Ok(ExitCode::SUCCESS)
}

/// Ends the session named by `id` (a unique prefix of it is enough).
pub async fn revoke(
    server: &ServerUrl,
    insecure_storage: bool,
    id: &str,
) -> anyhow::Result<ExitCode> {
    let manager = manager(server, insecure_storage).await?;
    let sessions = match api::sessions(&manager).await {
        Ok(list) => list.sessions,
        Err(e) => return Ok(failed(&e)),
    };
    let session = match pick(&sessions, id) {
        Ok(session) => session,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match api::end_session(&manager, &session.id).await {
        Ok(true) => {
            println!(
                "Ended session {} ({}): it is signed out and its games are closed.",
                short(&session.id),
                session.client
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(false) => {
            eprintln!("error: session {} has ended already", short(&session.id));
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Ok(failed(&e)),
    }
}

/// Ends every session of the player but this terminal's.
pub async fn revoke_others(server: &ServerUrl, insecure_storage: bool) -> anyhow::Result<ExitCode> {
    let manager = manager(server, insecure_storage).await?;
    match api::end_other_sessions(&manager).await {
        Ok(ended) => {
            let n = ended.ended;
            println!(
                "Ended {n} other session{}; this terminal stays signed in.",
                if n == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(failed(&e)),
    }
}

async fn manager(server: &ServerUrl, insecure_storage: bool) -> anyhow::Result<TokenManager> {
    let storage = Storage::open(server, insecure_storage).await?;
    Ok(TokenManager::new(server.clone(), storage, Http::new()?))
}

fn failed(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

/// Why `revoke ID` names no session it can end.
#[derive(Debug, PartialEq, Eq)]
enum NoPick {
    Unknown(String),
    Ambiguous(String, usize),
    Current,
}

impl std::fmt::Display for NoPick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown(id) => write!(
                f,
                "no live session starts with `{id}`; `whack sessions` lists them"
            ),
            Self::Ambiguous(id, n) => write!(
                f,
                "{n} sessions start with `{id}`; give more of the id (`whack sessions` lists them)"
            ),
            Self::Current => write!(
                f,
                "that is this terminal's own session; sign it out with `whack logout`"
            ),
        }
    }
}

/// The one session whose id starts with `wanted` (case does not matter), unless
/// it is this terminal's.
fn pick<'a>(sessions: &'a [SessionInfo], wanted: &str) -> Result<&'a SessionInfo, NoPick> {
    let wanted_lower = wanted.trim().to_ascii_lowercase();
    let mut matching = sessions.iter().filter(|s| {
        !wanted_lower.is_empty() && s.id.to_ascii_lowercase().starts_with(&wanted_lower)
    });
    let (first, more) = (matching.next(), matching.count());
    match first {
        None => Err(NoPick::Unknown(wanted.to_owned())),
        Some(_) if more > 0 => Err(NoPick::Ambiguous(wanted.to_owned(), more + 1)),
        Some(session) if session.current => Err(NoPick::Current),
        Some(session) => Ok(session),
    }
}

fn short(id: &str) -> &str {
    id.get(..SHORT_ID).unwrap_or(id)
}

/// A session as lines of text, each ending in a newline.
fn describe(session: &SessionInfo, now: SystemTime) -> String {
    let marker = if session.current { "*" } else { " " };
    let this = if session.current {
        "  (this terminal)"
    } else {
        ""
    };
    let from = session
        .started_from
        .as_deref()
        .map(|addr| format!(" from {addr}"))
        .unwrap_or_default();
    let when = |ms: Option<u64>| ms.map_or_else(|| "never".to_owned(), |ms| ago(ms, now));
    format!(
        "{marker} {id:<width$}  {client}{this}\n    \
         started      {started}{from}\n    \
         last refresh {refresh}\n    \
         last game    {game}\n",
        id = short(&session.id),
        width = SHORT_ID,
        client = session.client,
        started = time_fmt::utc(instant(session.started_at)),
        refresh = when(session.last_refresh_at),
        game = when(session.last_played_at),
    )
}

fn instant(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// `5m 3s ago`, or the time itself when it is not in the past (clocks differ).
fn ago(ms: u64, now: SystemTime) -> String {
    let at = instant(ms);
    match now.duration_since(at) {
        Ok(past) => format!("{} ago", time_fmt::span(past)),
        Err(_) => time_fmt::utc(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, current: bool) -> SessionInfo {
        SessionInfo {
            id: id.into(),
            client: "Whack terminal".into(),
            client_id: "whack-cli".into(),
            started_at: 1_795_902_612_000,
            started_from: Some("192.0.2.7".into()),
            last_refresh_at: Some(1_795_902_672_000),
            last_played_at: None,
            expires_at: 1_803_678_612_000,
            current,
        }
    }

    #[test]
    fn a_unique_prefix_names_a_session() {
        let all = [
            session("3f9a2b1c00", true),
            session("3f1122aa00", false),
            session("a0b1c2d3e4", false),
        ];
        assert_eq!(pick(&all, "A0B").map(|s| s.id.as_str()), Ok("a0b1c2d3e4"));
        assert_eq!(pick(&all, "3f11").map(|s| s.id.as_str()), Ok("3f1122aa00"));
        assert_eq!(pick(&all, "3f"), Err(NoPick::Ambiguous("3f".into(), 2)));
        assert_eq!(pick(&all, "ff"), Err(NoPick::Unknown("ff".into())));
        assert_eq!(pick(&all, " "), Err(NoPick::Unknown(" ".into())));
        assert_eq!(pick(&all, "3f9a"), Err(NoPick::Current));
    }

    #[test]
    fn describes_where_and_when() {
        let now = instant(1_795_902_972_000);
        let text = describe(&session("3f9a2b1c00112233", true), now);
        assert_eq!(
            text,
            "* 3f9a2b1c  Whack terminal  (this terminal)\n    \
             started      2026-11-28 21:50:12 UTC from 192.0.2.7\n    \
             last refresh 5m 0s ago\n    \
             last game    never\n"
        );
    }
}
