//! Recovery codes over the store: making a set (voiding the last), checking a
//! typed code with its guesses limited, and spending it exactly once.

use crate::auth::recovery_codes;
use crate::rate_limit::{MAX_WRONG_GUESSES, Quota, WINDOW_MS};
use crate::storage::{AccountStore, PlayerRecord, StoreError};
use std::net::IpAddr;
use std::sync::Arc;
use whack_shared::Secret;
use whack_shared::account_page::{RecoveryStatus, RecoveryUseInfo};

/// Rounds of compare-and-set before giving up on a record many write at once.
const MAX_ATTEMPTS: usize = 8;

/// Why a recovery sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// Unknown name, or not one of its unspent codes (never said which).
    #[error("that name and recovery code do not match; check both (each code works once)")]
    NoMatch,
    /// Too many wrong codes for this address or account lately.
    #[error("too many wrong recovery codes; try again in {0} s")]
    TooMany(u64),
    /// The code was spent by another sign-in meanwhile.
    #[error("that recovery code was used meanwhile; use another one")]
    Spent,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One code of one set: a set made again meanwhile voids it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRef {
    set: u64,
    index: usize,
}

/// The recovery codes of every player.
pub struct Recovery {
    store: Arc<dyn AccountStore>,
    /// Wrong codes per account, so guesses spread over many addresses still
    /// get nowhere; per address they count with the user-code guesses.
    guesses: Quota,
}

impl Recovery {
    /// Recovery codes in `store`.
    pub fn new(store: Arc<dyn AccountStore>) -> Self {
        Self {
            store,
            guesses: Quota::new("recovery_code_guesses", MAX_WRONG_GUESSES, WINDOW_MS),
        }
    }

    /// The guess quota, to share across nodes.
    pub fn shared(mut self, counts: &Arc<dyn crate::storage::shared_counts::SharedCounts>) -> Self {
        self.guesses = self.guesses.shared(Arc::clone(counts));
        self
    }

    /// A new set of codes for `player_id`, shown once; the old set is void.
    pub async fn new_set(&self, player_id: &str, now_ms: u64) -> Result<Vec<Secret>, StoreError> {
        let (shown, record) = recovery_codes::new_set(now_ms);
        for _ in 0..MAX_ATTEMPTS {
            let current = self.store.recovery_codes(player_id).await?;
            let expected = current.as_ref().map(|c| &c.version);
            if self
                .store
                .replace_recovery_codes(player_id, expected, &record)
                .await?
            {
                tracing::info!(player = %player_id, "recovery codes generated");
                return Ok(shown);
            }
        }
        Err(StoreError::Backend(
            "recovery codes changed too often".into(),
        ))
    }

    /// Where the player's codes stand.
    pub async fn status(&self, player_id: &str) -> Result<RecoveryStatus, StoreError> {
        let Some(current) = self.store.recovery_codes(player_id).await? else {
            return Ok(RecoveryStatus::default());
        };
        let record = current.record;
        Ok(RecoveryStatus {
            left: recovery_codes::left(&record),
            generated_at: Some(record.created_at),
            uses: record
                .uses
                .into_iter()
                .map(|u| RecoveryUseInfo {
                    at: u.at,
                    from: u.from,
                })
                .collect(),
        })
    }

    /// The player `name` and which of their codes `typed` is. A wrong code
    /// counts against the account; the caller counts it against the address.
    pub async fn check(
        &self,
        name: &str,
        typed: &Secret,
        now_ms: u64,
    ) -> Result<(PlayerRecord, CodeRef), RecoveryError> {
        let Some(player_id) = self.store.player_id_by_name(name.trim()).await? else {
            return Err(RecoveryError::NoMatch);
        };
        let guess = self
            .guesses
            .take(&player_id, now_ms)
            .await
            .map_err(RecoveryError::TooMany)?;
        let found = match self.store.recovery_codes(&player_id).await? {
            Some(current) => {
                recovery_codes::find(&current.record, typed.expose()).map(|index| CodeRef {
                    set: current.record.created_at,
                    index,
                })
            }
            None => None,
        };
        let player = self.store.player(&player_id).await?;
        match (found, player) {
            (Some(code), Some(player)) => {
                self.guesses.give_back(guess).await;
                Ok((player, code))
            }
            _ => {
                tracing::info!(player = %player_id, "wrong recovery code");
                Err(RecoveryError::NoMatch)
            }
        }
    }

    /// Spends `code`, once, if its set is still the player's.
    pub async fn spend(
        &self,
        player_id: &str,
        code: CodeRef,
        from: IpAddr,
        now_ms: u64,
    ) -> Result<(), RecoveryError> {
        let from = from.to_string();
        for _ in 0..MAX_ATTEMPTS {
            let Some(current) = self
                .store
                .recovery_codes(player_id)
                .await?
                .filter(|c| c.record.created_at == code.set)
            else {
                return Err(RecoveryError::Spent);
            };
            let Some(next) = recovery_codes::spend(&current.record, code.index, &from, now_ms)
            else {
                return Err(RecoveryError::Spent);
            };
            if self
                .store
                .replace_recovery_codes(player_id, Some(&current.version), &next)
                .await?
            {
                tracing::info!(
                    player = %player_id,
                    from,
                    left = recovery_codes::left(&next),
                    "signed in with a recovery code"
                );
                return Ok(());
            }
        }
        Err(RecoveryError::Spent)
    }

    /// Housekeeping for the guess quota.
    pub fn purge(&self, now_ms: u64) {
        self.guesses.purge(now_ms);
    }
}
