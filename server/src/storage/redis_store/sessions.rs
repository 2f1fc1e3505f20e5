//! Sessions, one `{session:<sid>}` tag each so rotations spread over a cluster,
//! and three indexes under `{sessions}`: expiry (for the purge), revocations
//! and each player's sessions.
//!
//! The record is the truth; the indexes follow it, each a step of its own (a
//! cluster slot apart). A new session's expiry is filed before the session is
//! written, so none is ever missed by the purge; a stale expiry is harmless,
//! because the purge checks the record itself before deleting and re-files
//! what it finds. A revocation is filed only after it happened; a crash in
//! between loses the entry, which matters only for that session's access
//! tokens (minutes) after every node restarted. A player's list drops what
//! has expired whenever it gains a session, and the listing skips ids whose
//! record is gone, so it holds at most the player's unexpired sessions; a
//! session older than the lists joins its player's at its next rotation.

use super::{PURGE_BATCH, RedisStore, keys, scripts};
use crate::storage::{
    RefreshRecord, SessionRecord, SessionStore, StoreError, Version, Versioned, decode, encode,
};
use async_trait::async_trait;

impl RedisStore {
    /// Stores a pre-chain refresh token as it is elsewhere (`migrate`); Redis
    /// drops it when it expires. Returns false for one that has expired already.
    pub(crate) async fn import_legacy_token(
        &self,
        hash: &[u8],
        record: &RefreshRecord,
    ) -> Result<bool, StoreError> {
        if record.expires_at <= crate::clock::now_ms() {
            return Ok(false);
        }
        let _: String = self
            .run(
                redis::cmd("SET")
                    .arg(keys::legacy_token(hash))
                    .arg(encode(record)?)
                    .arg("PXAT")
                    .arg(record.expires_at),
            )
            .await?;
        Ok(true)
    }

    /// Files a session's expiry for the purge and in its player's list, which
    /// itself lives as long as the player's last session.
    async fn file_expiry(&self, sid: &str, session: &SessionRecord) -> Result<(), StoreError> {
        let list = keys::sessions_of(&session.player_id);
        for index in [keys::session_expiry(), list.clone()] {
            let _: i64 = self
                .run(
                    redis::cmd("ZADD")
                        .arg(index)
                        .arg(session.expires_at)
                        .arg(sid),
                )
                .await?;
        }
        // GT moves an expiry later; NX sets the first (GT never does).
        for when in ["GT", "NX"] {
            let _: i64 = self
                .run(
                    redis::cmd("PEXPIREAT")
                        .arg(&list)
                        .arg(session.expires_at)
                        .arg(when),
                )
                .await?;
        }
        Ok(())
    }

    /// Files a session's revocation, if it is revoked.
    async fn file_revocation(&self, sid: &str, session: &SessionRecord) -> Result<(), StoreError> {
        if let Some(at) = session.revoked_at {
            let _: i64 = self
                .run(redis::cmd("ZADD").arg(keys::revocations()).arg(at).arg(sid))
                .await?;
        }
        Ok(())
    }

    /// Deletes expired sessions (at most [`PURGE_BATCH`]); returns how many.
    pub(super) async fn purge_sessions(&self, now_ms: u64) -> Result<usize, StoreError> {
        let due: Vec<String> = self
            .run(
                redis::cmd("ZRANGE")
                    .arg(keys::session_expiry())
                    .arg("-inf")
                    .arg(format!("({now_ms}"))
                    .arg("BYSCORE")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(PURGE_BATCH),
            )
            .await?;
        let mut removed = 0;
        for sid in due {
            let expires_at: i64 = self
                .script(scripts::PURGE_SESSION.key(keys::session(&sid)).arg(now_ms))
                .await?;
            if expires_at >= 0 {
                // Still live (a successor moved its expiry): file it again.
                let _: i64 = self
                    .run(
                        redis::cmd("ZADD")
                            .arg(keys::session_expiry())
                            .arg(expires_at)
                            .arg(&sid),
                    )
                    .await?;
                continue;
            }
            removed += usize::from(expires_at == -2);
            for index in [keys::revocations(), keys::session_expiry()] {
                let _: i64 = self.run(redis::cmd("ZREM").arg(index).arg(&sid)).await?;
            }
        }
        Ok(removed)
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn session(&self, sid: &str) -> Result<Option<Versioned<SessionRecord>>, StoreError> {
        let bytes: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(keys::session(sid))).await?;
        bytes.map(|b| Versioned::decode("sessions", &b)).transpose()
    }

    async fn create_session(&self, sid: &str, session: &SessionRecord) -> Result<bool, StoreError> {
        let _: i64 = self
            .run(
                redis::cmd("ZREMRANGEBYSCORE")
                    .arg(keys::sessions_of(&session.player_id))
                    .arg("-inf")
                    .arg(format!("({}", session.created_at)),
            )
            .await?;
        self.file_expiry(sid, session).await?;
        let created: Option<String> = self
            .run(
                redis::cmd("SET")
                    .arg(keys::session(sid))
                    .arg(encode(session)?)
                    .arg("NX"),
            )
            .await?;
        if created.is_some() {
            self.file_revocation(sid, session).await?;
        }
        Ok(created.is_some())
    }

    async fn sessions_of(
        &self,
        player_id: &str,
    ) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let sids: Vec<String> = self
            .run(
                redis::cmd("ZRANGE")
                    .arg(keys::sessions_of(player_id))
                    .arg(0)
                    .arg(-1),
            )
            .await?;
        let mut out = Vec::with_capacity(sids.len());
        for sid in sids {
            // The list is an index: the record decides, and may be gone.
            if let Some(stored) = self.session(&sid).await?
                && stored.record.player_id == player_id
            {
                out.push((sid, stored.record));
            }
        }
        Ok(out)
    }

    async fn rotate(
        &self,
        sid: &str,
        parent: &Version,
        successor: &SessionRecord,
    ) -> Result<bool, StoreError> {
        let replaced: i64 = self
            .script(
                scripts::COMPARE_AND_SET
                    .key(keys::session(sid))
                    .arg(parent.as_bytes())
                    .arg(encode(successor)?),
            )
            .await?;
        if replaced != 1 {
            return Ok(false);
        }
        // The indexes change only when what they file changed (most rotations
        // keep both), saving the round trips on the hot path. A session from
        // before the player lists (it has no `started_from`) is filed at its
        // next rotation, so it shows up in the list within a refresh.
        let before: Option<SessionRecord> = decode("sessions", parent.as_bytes()).ok();
        if before
            .as_ref()
            .is_none_or(|b| b.expires_at != successor.expires_at || b.started_from.is_none())
        {
            self.file_expiry(sid, successor).await?;
        }
        if before
            .as_ref()
            .is_none_or(|b| b.revoked_at != successor.revoked_at)
        {
            self.file_revocation(sid, successor).await?;
        }
        Ok(true)
    }

    async fn legacy_token(&self, hash: &[u8]) -> Result<Option<RefreshRecord>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .run(redis::cmd("GET").arg(keys::legacy_token(hash)))
            .await?;
        bytes.map(|b| decode("refresh_tokens", &b)).transpose()
    }

    async fn remove_legacy_token(&self, hash: &[u8]) -> Result<(), StoreError> {
        let _: i64 = self
            .run(redis::cmd("DEL").arg(keys::legacy_token(hash)))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::redis_store::DurabilityCheck;
    use crate::storage::redis_store::test_redis::TestRedis;

    type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

    /// A session stored before the player lists existed joins its player's
    /// list at its next rotation.
    #[tokio::test]
    async fn a_session_older_than_the_lists_is_listed_after_a_rotation() -> TestResult {
        let Some(redis) = TestRedis::single()? else {
            return Ok(());
        };
        let store = RedisStore::connect(&redis.url, DurabilityCheck::Required).await?;
        let now = crate::clock::now_ms();
        let session = SessionRecord {
            player_id: "p1".into(),
            player_name: "Ann".into(),
            client_id: "cli".into(),
            created_at: now,
            expires_at: now + 3_600_000,
            revoked_at: None,
            revoke_reason: None,
            chain: None,
            started_from: None,
            last_played_at: None,
            passkey_checked_at: None,
        };
        assert!(store.create_session("s1", &session).await?);
        // What a store from before the lists holds: the session, no list.
        redis.cli(&["DEL", &keys::sessions_of("p1")], None)?;
        assert!(store.sessions_of("p1").await?.is_empty());
        let stored = store.session("s1").await?.ok_or("no session")?;
        let rotated = SessionRecord {
            last_played_at: Some(now),
            ..session
        };
        assert!(store.rotate("s1", &stored.version, &rotated).await?);
        let listed = store.sessions_of("p1").await?;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, "s1");
        Ok(())
    }
}
