//! A player's login sessions as the player sees them: which are live, in what
//! order, and which a new login pushes out. Pure rules over stored records.

use crate::auth::refresh::lifetimes;
use crate::storage::SessionRecord;

/// Live login sessions one player may hold; a login beyond it ends the oldest,
/// so what one account can make the server keep stays bounded.
pub const MAX_LIVE_SESSIONS_PER_PLAYER: usize = 50;

/// Whether a session can still refresh: not revoked, not past its hard end,
/// and its live refresh token not expired.
pub fn is_live(session: &SessionRecord, now_ms: u64) -> bool {
    session.revoked_at.is_none()
        && session.expires_at > now_ms
        && session.chain.as_ref().is_none_or(|c| {
            c.live_issued_at
                .saturating_add(lifetimes(&session.client_id).0)
                > now_ms
        })
}

/// The live ones of `sessions`, newest first.
pub fn live(
    mut sessions: Vec<(String, SessionRecord)>,
    now_ms: u64,
) -> Vec<(String, SessionRecord)> {
    sessions.retain(|(_, s)| is_live(s, now_ms));
    sessions.sort_by(|(a_id, a), (b_id, b)| {
        b.created_at.cmp(&a.created_at).then_with(|| a_id.cmp(b_id))
    });
    sessions
}

/// The sessions to end so that at most `max` stay, oldest first; never `keep`
/// (the login just made). `sessions` is newest first, as [`live`] returns it.
pub fn beyond(sessions: &[(String, SessionRecord)], keep: &str, max: usize) -> Vec<String> {
    let mut out: Vec<String> = sessions
        .iter()
        .filter(|(sid, _)| sid != keep)
        .skip(max.saturating_sub(1))
        .map(|(sid, _)| sid.clone())
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created_at: u64) -> SessionRecord {
        SessionRecord {
            player_id: "p1".into(),
            player_name: "Ann".into(),
            client_id: "cli".into(),
            created_at,
            expires_at: created_at + 1_000_000,
            revoked_at: None,
            revoke_reason: None,
            chain: None,
            started_from: None,
            last_played_at: None,
            passkey_checked_at: None,
        }
    }

    #[test]
    fn only_live_sessions_are_listed_newest_first() {
        let revoked = SessionRecord {
            revoked_at: Some(5),
            ..session(30)
        };
        let listed = live(
            vec![
                ("a".into(), session(10)),
                ("b".into(), revoked),
                ("c".into(), session(20)),
                ("old".into(), session(0)),
            ],
            1_000_005,
        );
        let ids: Vec<&str> = listed.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            ["c", "a"],
            "revoked and expired sessions are not listed"
        );
    }

    #[test]
    fn a_login_over_the_bound_ends_the_oldest_others() {
        let newest_first: Vec<_> = (0..5u64)
            .rev()
            .map(|i| (format!("s{i}"), session(i)))
            .collect();
        assert_eq!(beyond(&newest_first, "s4", 3), ["s0", "s1"]);
        assert_eq!(beyond(&newest_first, "s4", 5), Vec::<String>::new());
        // The new login is kept even when it is not the newest record.
        assert_eq!(beyond(&newest_first, "s0", 2), ["s1", "s2", "s3"]);
    }
}
