//! Players, their unique names and their passkeys.

use super::{SledStore, get, owned_key};
use crate::storage::{
    AccountStore, CreatePlayer, CredentialRecord, PlayerRecord, RecoveryRecord, RemoveCredential,
    StoreError, Version, Versioned, encode,
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

    async fn player_id_by_name(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .player_names
            .get(name.to_lowercase().as_bytes())?
            .map(|id| String::from_utf8_lossy(&id).into_owned())
            .filter(|id| crate::storage::name_free_at(id).is_none()))
    }

    async fn recovery_codes(
        &self,
        player_id: &str,
    ) -> Result<Option<Versioned<RecoveryRecord>>, StoreError> {
        self.recovery_codes
            .get(player_id.as_bytes())?
            .map(|b| Versioned::decode("recovery_codes", &b))
            .transpose()
    }

    async fn replace_recovery_codes(
        &self,
        player_id: &str,
        expected: Option<&Version>,
        next: &RecoveryRecord,
    ) -> Result<bool, StoreError> {
        let swapped = self
            .recovery_codes
            .compare_and_swap(
                player_id.as_bytes(),
                expected.map(Version::as_bytes),
                Some(encode(next)?),
            )?
            .is_ok();
        if swapped {
            self.durable().await?;
        }
        Ok(swapped)
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
        let owned = owned_key(&player.id, &cred_id);
        let trees = (
            &self.players,
            &self.player_names,
            &self.credentials,
            &self.player_credentials,
        );
        let result = trees.transaction(|(players, names, creds, index)| {
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
            index.insert(owned.as_slice(), &[])?;
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(outcome)) => return Ok(outcome),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        self.durable().await?;
        Ok(CreatePlayer::Created)
    }

    async fn delete_account(&self, id: &str, name_free_at: u64) -> Result<(), StoreError> {
        self.remove_player(id, Some(name_free_at)).await
    }

    async fn delete_player(&self, id: &str) -> Result<(), StoreError> {
        self.remove_player(id, None).await
    }

    async fn credential(&self, cred_id: &[u8]) -> Result<Option<CredentialRecord>, StoreError> {
        get(&self.credentials, "credentials", cred_id)
    }

    async fn put_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        let bytes = encode(credential)?;
        self.credentials
            .update_and_fetch(credential.passkey.cred_id().as_slice(), |stored| {
                stored.map(|_| bytes.clone())
            })?;
        self.durable().await
    }

    async fn credentials_of(&self, player_id: &str) -> Result<Vec<CredentialRecord>, StoreError> {
        let mut owned = Vec::new();
        for cred_id in self.owned_credential_ids(player_id)? {
            // The index is written with the record; the record decides.
            if let Some(credential) =
                get::<CredentialRecord>(&self.credentials, "credentials", &cred_id)?
                && credential.player_id == player_id
            {
                owned.push(credential);
            }
        }
        Ok(owned)
    }

    async fn add_credential(&self, credential: &CredentialRecord) -> Result<bool, StoreError> {
        let cred_id = credential.passkey.cred_id().to_vec();
        let bytes = encode(credential)?;
        let owned = owned_key(&credential.player_id, &cred_id);
        let result = (&self.credentials, &self.player_credentials).transaction(|(creds, index)| {
            if creds.get(cred_id.as_slice())?.is_some() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            creds.insert(cred_id.as_slice(), bytes.as_slice())?;
            index.insert(owned.as_slice(), &[])?;
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(())) => return Ok(false),
            Err(TransactionError::Storage(e)) => return Err(e.into()),
        }
        self.durable().await?;
        Ok(true)
    }

    async fn remove_credential(
        &self,
        player_id: &str,
        cred_id: &[u8],
        allow_last: bool,
    ) -> Result<RemoveCredential, StoreError> {
        let owned = owned_key(player_id, cred_id);
        {
            let _one_at_a_time = self
                .credential_removal
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if !self.player_credentials.contains_key(&owned)? {
                return Ok(RemoveCredential::Unknown);
            }
            let count = self.owned_credential_ids(player_id)?.len();
            if count <= 1 && !allow_last {
                return Ok(RemoveCredential::Last);
            }
            let result =
                (&self.credentials, &self.player_credentials).transaction(|(creds, index)| {
                    creds.remove(cred_id)?;
                    index.remove(owned.as_slice())?;
                    Ok::<_, ConflictableTransactionError<()>>(())
                });
            if let Err(TransactionError::Storage(e)) = result {
                return Err(e.into());
            }
        }
        self.durable().await?;
        Ok(RemoveCredential::Removed)
    }
}

impl SledStore {
    /// Removes a player; their name is freed now or (`Some`) reserved until then.
    async fn remove_player(&self, id: &str, name_free_at: Option<u64>) -> Result<(), StoreError> {
        let Some(player) = get::<PlayerRecord>(&self.players, "players", id.as_bytes())? else {
            return Ok(());
        };
        let owned = self.owned_credential_ids(id)?;
        let name_key = player.name.to_lowercase();
        let released = name_free_at.map(crate::storage::released_name);
        let trees = (
            &self.players,
            &self.player_names,
            &self.credentials,
            &self.player_credentials,
            &self.recovery_codes,
        );
        let result = trees.transaction(|(players, names, creds, index, recovery)| {
            players.remove(id.as_bytes())?;
            recovery.remove(id.as_bytes())?;
            if names.get(name_key.as_bytes())?.as_deref() == Some(id.as_bytes()) {
                match &released {
                    Some(value) => names.insert(name_key.as_bytes(), value.as_bytes())?,
                    None => names.remove(name_key.as_bytes())?,
                };
            }
            for cred_id in &owned {
                creds.remove(cred_id.as_slice())?;
                index.remove(owned_key(id, cred_id))?;
            }
            Ok::<_, ConflictableTransactionError<()>>(())
        });
        if let Err(TransactionError::Storage(e)) = result {
            return Err(e.into());
        }
        self.durable().await
    }

    /// Frees the names of deleted accounts whose cool-down is over.
    pub(super) fn purge_released_names(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut freed = 0;
        for entry in self.player_names.iter() {
            let (name, value) = entry?;
            let due = std::str::from_utf8(&value)
                .ok()
                .and_then(crate::storage::name_free_at)
                .is_some_and(|at| at < now_ms);
            // Only if it still holds the reservation read (a compare-and-swap).
            if due
                && self
                    .player_names
                    .compare_and_swap(&name, Some(value), None::<&[u8]>)?
                    .is_ok()
            {
                freed += 1;
            }
        }
        Ok(freed)
    }

    /// The credential ids the player's index lists.
    fn owned_credential_ids(&self, player_id: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = owned_key(player_id, b"");
        let mut ids = Vec::new();
        for entry in self.player_credentials.scan_prefix(&prefix) {
            let (key, _) = entry?;
            ids.push(key[prefix.len()..].to_vec());
        }
        Ok(ids)
    }
}
