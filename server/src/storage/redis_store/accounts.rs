//! Accounts and passkeys, all under the `{accounts}` tag.

use super::{RedisStore, keys, scripts};
use crate::storage::{
    AccountStore, CreatePlayer, CredentialRecord, PlayerRecord, RecoveryRecord, RemoveCredential,
    StoreError, Version, Versioned, decode, encode,
};
use async_trait::async_trait;

#[async_trait]
impl AccountStore for RedisStore {
    async fn player(&self, id: &str) -> Result<Option<PlayerRecord>, StoreError> {
        let bytes: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(keys::player(id))).await?;
        bytes.map(|b| decode("players", &b)).transpose()
    }

    async fn name_taken(&self, name: &str) -> Result<bool, StoreError> {
        self.run(redis::cmd("EXISTS").arg(keys::name(&name.to_lowercase())))
            .await
    }

    async fn player_id_by_name(&self, name: &str) -> Result<Option<String>, StoreError> {
        let id: Option<String> = self
            .run(redis::cmd("GET").arg(keys::name(&name.to_lowercase())))
            .await?;
        Ok(id.filter(|id| crate::storage::name_free_at(id).is_none()))
    }

    async fn recovery_codes(
        &self,
        player_id: &str,
    ) -> Result<Option<Versioned<RecoveryRecord>>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .run(redis::cmd("GET").arg(keys::recovery_codes(player_id)))
            .await?;
        bytes
            .map(|b| Versioned::decode("recovery_codes", &b))
            .transpose()
    }

    async fn replace_recovery_codes(
        &self,
        player_id: &str,
        expected: Option<&Version>,
        next: &RecoveryRecord,
    ) -> Result<bool, StoreError> {
        let key = keys::recovery_codes(player_id);
        let replaced: i64 = match expected {
            Some(version) => {
                self.script(
                    scripts::COMPARE_AND_SET
                        .key(key)
                        .arg(version.as_bytes())
                        .arg(encode(next)?),
                )
                .await?
            }
            None => {
                self.script(scripts::CREATE_IF_ABSENT.key(key).arg(encode(next)?))
                    .await?
            }
        };
        Ok(replaced == 1)
    }

    async fn create_player(
        &self,
        player: &PlayerRecord,
        credential: &CredentialRecord,
    ) -> Result<CreatePlayer, StoreError> {
        let outcome: String = self
            .script(
                scripts::CREATE_PLAYER
                    .key(keys::name(&player.name.to_lowercase()))
                    .key(keys::credential(credential.passkey.cred_id()))
                    .key(keys::player(&player.id))
                    .key(keys::credentials_of(&player.id))
                    .arg(&player.id)
                    .arg(encode(player)?)
                    .arg(encode(credential)?),
            )
            .await?;
        match outcome.as_str() {
            "ok" => Ok(CreatePlayer::Created),
            "name" => Ok(CreatePlayer::NameTaken),
            "cred" => Ok(CreatePlayer::CredentialExists),
            other => Err(StoreError::Backend(format!(
                "redis: unexpected answer {other:?} to a sign-up"
            ))),
        }
    }

    async fn delete_account(&self, id: &str, name_free_at: u64) -> Result<(), StoreError> {
        self.remove_player(id, Some(name_free_at)).await
    }

    async fn delete_player(&self, id: &str) -> Result<(), StoreError> {
        self.remove_player(id, None).await
    }

    async fn credential(&self, cred_id: &[u8]) -> Result<Option<CredentialRecord>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .run(redis::cmd("GET").arg(keys::credential(cred_id)))
            .await?;
        bytes.map(|b| decode("credentials", &b)).transpose()
    }

    async fn put_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        let _: i64 = self
            .script(
                scripts::PUT_CREDENTIAL
                    .key(keys::credential(credential.passkey.cred_id()))
                    .arg(encode(credential)?),
            )
            .await?;
        Ok(())
    }

    async fn credentials_of(&self, player_id: &str) -> Result<Vec<CredentialRecord>, StoreError> {
        let names: Vec<String> = self
            .run(redis::cmd("SMEMBERS").arg(keys::credentials_of(player_id)))
            .await?;
        let mut owned = Vec::with_capacity(names.len());
        for name in names {
            let bytes: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(&name)).await?;
            // The set is an index: the record decides, and may be gone.
            if let Some(bytes) = bytes {
                let credential: CredentialRecord = decode("credentials", &bytes)?;
                if credential.player_id == player_id {
                    owned.push(credential);
                }
            }
        }
        Ok(owned)
    }

    async fn add_credential(&self, credential: &CredentialRecord) -> Result<bool, StoreError> {
        let added: i64 = self
            .script(
                scripts::ADD_CREDENTIAL
                    .key(keys::credential(credential.passkey.cred_id()))
                    .key(keys::credentials_of(&credential.player_id))
                    .arg(encode(credential)?),
            )
            .await?;
        Ok(added == 1)
    }

    async fn remove_credential(
        &self,
        player_id: &str,
        cred_id: &[u8],
        allow_last: bool,
    ) -> Result<RemoveCredential, StoreError> {
        let outcome: String = self
            .script(
                scripts::REMOVE_CREDENTIAL
                    .key(keys::credential(cred_id))
                    .key(keys::credentials_of(player_id))
                    .arg(if allow_last { "1" } else { "0" }),
            )
            .await?;
        match outcome.as_str() {
            "removed" => Ok(RemoveCredential::Removed),
            "unknown" => Ok(RemoveCredential::Unknown),
            "last" => Ok(RemoveCredential::Last),
            other => Err(StoreError::Backend(format!(
                "redis: unexpected answer {other:?} to a passkey removal"
            ))),
        }
    }
}

impl RedisStore {
    /// Removes a player; their name is freed now or (`Some`) reserved until then.
    async fn remove_player(&self, id: &str, name_free_at: Option<u64>) -> Result<(), StoreError> {
        let Some(player) = self.player(id).await? else {
            return Ok(());
        };
        let mut invocation = scripts::DELETE_PLAYER.key(keys::player(id));
        invocation
            .key(keys::name(&player.name.to_lowercase()))
            .key(keys::credentials_of(id))
            .key(keys::recovery_codes(id))
            .arg(id);
        if let Some(at) = name_free_at {
            invocation.arg(crate::storage::released_name(at)).arg(at);
        }
        let _: i64 = self.script(&invocation).await?;
        Ok(())
    }
}
