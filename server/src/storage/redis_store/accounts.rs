//! Accounts and passkeys, all under the `{accounts}` tag.

use super::{RedisStore, keys, scripts};
use crate::storage::{
    AccountStore, CreatePlayer, CredentialRecord, PlayerRecord, StoreError, decode, encode,
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

    async fn delete_player(&self, id: &str) -> Result<(), StoreError> {
        let Some(player) = self.player(id).await? else {
            return Ok(());
        };
        let _: i64 = self
            .script(
                scripts::DELETE_PLAYER
                    .key(keys::player(id))
                    .key(keys::name(&player.name.to_lowercase()))
                    .key(keys::credentials_of(id))
                    .arg(id),
            )
            .await?;
        Ok(())
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
                    .key(keys::credentials_of(&credential.player_id))
                    .arg(encode(credential)?),
            )
            .await?;
        Ok(())
    }
}
