//! Players, their unique names and their passkeys.

use super::{SledStore, get};
use crate::storage::{
    AccountStore, CreatePlayer, CredentialRecord, PlayerRecord, StoreError, decode, encode,
};
use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

#[async_trait]
impl AccountStore for SledStore {
    async fn player(&self, id: &str) -> Result<Option<PlayerRecord>, StoreError> {
        get(&self.players, "players", id.as_bytes())
    }

    async fn name_taken(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .player_names
            .contains_key(name.to_lowercase().as_bytes())?)
    }

    async fn create_player(
        &self,
        player: &PlayerRecord,
        credential: &CredentialRecord,
    ) -> Result<CreatePlayer, StoreError> {
        let name_key = player.name.to_lowercase();
        let cred_id = credential.passkey.cred_id().to_vec();
        let player_bytes = encode(player)?;
        let cred_bytes = encode(credential)?;
        let result = (&self.players, &self.player_names, &self.credentials).transaction(
            |(players, names, creds)| {
                if names.get(name_key.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(CreatePlayer::NameTaken));
                }
                if creds.get(cred_id.as_slice())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(
                        CreatePlayer::CredentialExists,
                    ));
                }
                names.insert(name_key.as_bytes(), player.id.as_bytes())?;
                players.insert(player.id.as_bytes(), player_bytes.as_slice())?;
                creds.insert(cred_id.as_slice(), cred_bytes.as_slice())?;
                Ok(())
            },
        );
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(outcome)) => return Ok(outcome),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        self.durable().await?;
        Ok(CreatePlayer::Created)
    }

    async fn delete_player(&self, id: &str) -> Result<(), StoreError> {
        let Some(player) = get::<PlayerRecord>(&self.players, "players", id.as_bytes())? else {
            return Ok(());
        };
        // Passkeys are keyed by credential id: find the player's by scanning,
        // which only this rare path does.
        let mut owned = Vec::new();
        for entry in self.credentials.iter() {
            let (key, value) = entry?;
            let credential: CredentialRecord = decode("credentials", &value)?;
            if credential.player_id == id {
                owned.push(key);
            }
        }
        let name_key = player.name.to_lowercase();
        let result = (&self.players, &self.player_names, &self.credentials).transaction(
            |(players, names, creds)| {
                players.remove(id.as_bytes())?;
                if names.get(name_key.as_bytes())?.as_deref() == Some(id.as_bytes()) {
                    names.remove(name_key.as_bytes())?;
                }
                for key in &owned {
                    creds.remove(key)?;
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            },
        );
        if let Err(TransactionError::Storage(e)) = result {
            return Err(e.into());
        }
        self.durable().await
    }

    async fn credential(&self, cred_id: &[u8]) -> Result<Option<CredentialRecord>, StoreError> {
        get(&self.credentials, "credentials", cred_id)
    }

    async fn put_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        self.credentials
            .insert(credential.passkey.cred_id().as_slice(), encode(credential)?)?;
        self.durable().await
    }
}
