//! Passkey ceremonies for the browser page: create an account with a new passkey,
//! or sign in with a discoverable one. Ceremony state stays server-side, is
//! single-use, expires, and is bound to one device request; a finished ceremony
//! yields a short-lived single-use approval handle for that request only.

use crate::auth::authenticator_model;
use crate::auth::passkey_list::{self, MAX_PASSKEYS_PER_PLAYER};
use crate::auth::recovery::CodeRef;
use crate::auth::secrets;
use crate::storage::{
    AccountStore, CreatePlayer, CredentialRecord, PlayerRecord, RemoveCredential, StoreError,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::{
    AuthenticatorSelectionCriteria, ResidentKeyRequirement, UserVerificationPolicy,
};
use whack_shared::Secret;
use whack_shared::account_page::PasskeyInfo;
use whack_shared::device_page::SignedIn;

/// How long a ceremony may take, in ms.
pub const CEREMONY_TTL_MS: u64 = 5 * 60 * 1000;
/// How long an approval handle stays valid, in ms.
pub const APPROVAL_TTL_MS: u64 = 2 * 60 * 1000;
/// Live ceremonies per device request; a new one replaces the oldest, so a
/// flood on one code costs nobody else anything.
pub const MAX_CEREMONIES_PER_REQUEST: usize = 4;
/// Live ceremonies per client address (an IPv6 /64 counts as one); a new one
/// replaces the oldest.
pub const MAX_CEREMONIES_PER_ADDRESS: usize = 16;
/// Live ceremonies in all, as a memory bound: reaching it takes 3,125 attacking
/// addresses, and even then a new ceremony replaces the oldest rather than
/// being refused.
pub const MAX_CEREMONIES: usize = 50_000;

/// Why a ceremony failed.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// Unknown, used or expired ceremony id.
    #[error("this sign-in attempt expired or was already used; please try again")]
    UnknownCeremony,
    /// The display name is taken.
    #[error("that name is taken")]
    NameTaken,
    /// The display name is not allowed.
    #[error("{0}")]
    InvalidName(&'static str),
    /// The credential is not registered here.
    #[error("this passkey is not registered here; create an account instead")]
    UnknownCredential,
    /// The authenticator's signature counter went backwards: a sign of a copied
    /// passkey, so trying again cannot help.
    #[error(
        "this passkey's signature counter went backwards, which happens when a passkey \
         has been copied; for your safety it cannot be used here. Sign in with another \
         passkey, or create a new account"
    )]
    CounterWentBack,
    /// WebAuthn verification failed.
    #[error("the passkey response could not be verified")]
    Rejected,
    /// The player holds as many passkeys as allowed.
    #[error("you have 10 passkeys, the most an account may hold; remove one first")]
    TooMany,
    /// The passkey is the player's last way in.
    #[error(
        "this is your only passkey, your only way in: add another passkey or make recovery \
         codes before removing it"
    )]
    LastPasskey,
    /// Somebody else took the display name between sign-up and approval.
    #[error("someone took that name while you were approving; choose another")]
    NameTakenMeanwhile,
    /// The relying-party configuration is unusable.
    #[error("the server's public URL cannot be used for passkeys: {0}")]
    Config(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Kind {
    Register {
        state: PasskeyRegistration,
        player_id: Uuid,
        name: String,
    },
    Signin {
        state: DiscoverableAuthentication,
    },
    /// A sign-in to the account page, bound to no device request.
    AccountSignin {
        state: DiscoverableAuthentication,
    },
    /// Another passkey for a signed-in player.
    Add {
        state: PasskeyRegistration,
        player_id: String,
    },
    /// A new passkey for a player who signed in with a recovery code, on
    /// `/device` (to approve its request) or on the account page.
    Recover {
        state: PasskeyRegistration,
        player: PlayerRecord,
        code: CodeRef,
        on_device_page: bool,
    },
}

struct Ceremony {
    kind: Kind,
    device_hash: Vec<u8>,
    addr: IpAddr,
    started_at: u64,
    expires_at: u64,
}

/// Who an approval handle lets in.
enum Approver {
    /// An existing player, signed in with their passkey.
    Player(PlayerRecord),
    /// A new account with its first passkey, created only if this approval is
    /// used: sign-ups that are never approved leave nothing behind.
    NewAccount(PlayerRecord, Box<CredentialRecord>),
}

impl Approver {
    fn player(&self) -> &PlayerRecord {
        match self {
            Self::Player(p) | Self::NewAccount(p, _) => p,
        }
    }
}

struct Approval {
    handle_hash: [u8; 32],
    approver: Approver,
    expires_at: u64,
}

/// The relying party and its in-flight ceremonies.
pub struct Passkeys {
    webauthn: Webauthn,
    store: Arc<dyn AccountStore>,
    /// Keyed by the hash of the ceremony id, so a memory dump holds nothing usable.
    ceremonies: Mutex<HashMap<[u8; 32], Ceremony>>,
    /// At most one per device request (the newest), keyed by its hash.
    approvals: Mutex<HashMap<Vec<u8>, Approval>>,
}

impl Passkeys {
    /// The relying party for `public_url` (its host is the RP id, it is the origin).
    pub fn new(public_url: &Url, store: Arc<dyn AccountStore>) -> Result<Self, PasskeyError> {
        let rp_id = public_url
            .host_str()
            .ok_or_else(|| PasskeyError::Config("it has no host".into()))?;
        let webauthn = WebauthnBuilder::new(rp_id, public_url)
            .and_then(|b| b.rp_name("Whack").build())
            .map_err(|e| PasskeyError::Config(e.to_string()))?;
        Ok(Self {
            webauthn,
            store,
            ceremonies: Mutex::default(),
            approvals: Mutex::default(),
        })
    }

    fn remember(&self, kind: Kind, device_hash: &[u8], addr: IpAddr, now_ms: u64) -> Secret {
        let addr = crate::rate_limit::bucket(addr);
        let mut map = self.ceremonies.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, c| c.expires_at > now_ms);
        evict_oldest(&mut map, MAX_CEREMONIES_PER_REQUEST, |c| {
            c.device_hash == device_hash
        });
        evict_oldest(&mut map, MAX_CEREMONIES_PER_ADDRESS, |c| c.addr == addr);
        evict_oldest(&mut map, MAX_CEREMONIES, |_| true);
        let id = secrets::generate("whc_");
        let ceremony = Ceremony {
            kind,
            device_hash: device_hash.to_vec(),
            addr,
            started_at: now_ms,
            expires_at: now_ms + CEREMONY_TTL_MS,
        };
        map.insert(secrets::hash(id.expose()), ceremony);
        id
    }

    fn take(&self, ceremony_id: &Secret, now_ms: u64) -> Result<Ceremony, PasskeyError> {
        let mut map = self.ceremonies.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&secrets::hash(ceremony_id.expose()))
            .filter(|c| c.expires_at > now_ms)
            .ok_or(PasskeyError::UnknownCeremony)
    }

    fn approve(&self, approver: Approver, device_hash: Vec<u8>, now_ms: u64) -> SignedIn {
        let handle = secrets::generate("wha_");
        let player = approver.player();
        let signed_in = SignedIn {
            player_id: player.id.clone(),
            name: player.name.clone(),
            approval: handle.clone(),
        };
        let mut map = self.approvals.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, a| a.expires_at > now_ms);
        // One per request: a later ceremony on the same code replaces it.
        map.insert(
            device_hash,
            Approval {
                handle_hash: secrets::hash(handle.expose()),
                approver,
                expires_at: now_ms + APPROVAL_TTL_MS,
            },
        );
        signed_in
    }

    /// Consumes an approval handle for the request `device_hash`; returns the
    /// player and, for a sign-up, the account to create with the approval.
    pub fn take_approval(
        &self,
        handle: &Secret,
        device_hash: &[u8],
        now_ms: u64,
    ) -> Option<ApprovedBy> {
        let mut map = self.approvals.lock().unwrap_or_else(|p| p.into_inner());
        let matches = map.get(device_hash).is_some_and(|a| {
            a.expires_at > now_ms && a.handle_hash == secrets::hash(handle.expose())
        });
        if !matches {
            return None;
        }
        map.remove(device_hash).map(|a| ApprovedBy(a.approver))
    }

    /// Starts creating an account named `name` with a new discoverable passkey.
    pub async fn start_registration(
        &self,
        device_hash: &[u8],
        addr: IpAddr,
        name: &str,
        now_ms: u64,
    ) -> Result<(Secret, serde_json::Value), PasskeyError> {
        whack_shared::player_name::validate(name).map_err(PasskeyError::InvalidName)?;
        if self.store.name_taken(name).await? {
            return Err(PasskeyError::NameTaken);
        }
        let player_id = Uuid::new_v4();
        let (state, json) = self.registration_options(player_id, name, None)?;
        let id = self.remember(
            Kind::Register {
                state,
                player_id,
                name: name.to_owned(),
            },
            device_hash,
            addr,
            now_ms,
        );
        Ok((id, json))
    }

    /// Finishes a sign-up ceremony: the passkey is verified, and the account is
    /// created only when the request is approved with the handle returned.
    pub async fn finish_registration(
        &self,
        ceremony_id: &Secret,
        credential: serde_json::Value,
        now_ms: u64,
    ) -> Result<SignedIn, PasskeyError> {
        let ceremony = self.take(ceremony_id, now_ms)?;
        let Kind::Register {
            state,
            player_id,
            name,
        } = ceremony.kind
        else {
            return Err(PasskeyError::UnknownCeremony);
        };
        let verified = self.verify_registration(&state, credential)?;
        let player = PlayerRecord {
            id: player_id.to_string(),
            name,
            created_at: now_ms,
        };
        if self.store.credential(verified.0.cred_id()).await?.is_some() {
            return Err(PasskeyError::Rejected);
        }
        let record = Self::new_record(player.id.clone(), verified, now_ms);
        Ok(self.approve(
            Approver::NewAccount(player, Box::new(record)),
            ceremony.device_hash,
            now_ms,
        ))
    }

    /// Options for a discoverable passkey of user `handle`, none of `exclude`.
    fn registration_options(
        &self,
        handle: Uuid,
        name: &str,
        exclude: Option<Vec<CredentialID>>,
    ) -> Result<(PasskeyRegistration, serde_json::Value), PasskeyError> {
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(handle, name, name, exclude)
            .map_err(|e| PasskeyError::Config(e.to_string()))?;
        // webauthn-rs asks for `residentKey: discouraged`; usernameless sign-in
        // needs the authenticator to keep the credential.
        options.public_key.authenticator_selection = Some(AuthenticatorSelectionCriteria {
            authenticator_attachment: None,
            resident_key: Some(ResidentKeyRequirement::Required),
            require_resident_key: true,
            user_verification: UserVerificationPolicy::Required,
        });
        let json =
            serde_json::to_value(&options).map_err(|e| PasskeyError::Config(e.to_string()))?;
        Ok((state, json))
    }

    /// Verifies a registration: the passkey, and the AAGUID of its model.
    fn verify_registration(
        &self,
        state: &PasskeyRegistration,
        credential: serde_json::Value,
    ) -> Result<(Passkey, Option<String>), PasskeyError> {
        let credential: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| {
                tracing::info!(error = %e, "malformed passkey registration");
                PasskeyError::Rejected
            })?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&credential, state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration rejected");
                PasskeyError::Rejected
            })?;
        let aaguid = authenticator_model::aaguid(&credential.response.attestation_object);
        Ok((passkey, aaguid))
    }

    /// A new passkey's record, for `player_id`.
    fn new_record(
        player_id: String,
        (passkey, aaguid): (Passkey, Option<String>),
        now_ms: u64,
    ) -> CredentialRecord {
        CredentialRecord {
            player_id,
            passkey,
            created_at: Some(now_ms),
            last_used_at: None,
            name: None,
            aaguid,
        }
    }

    /// Options for one more passkey of `player`, none of those they hold,
    /// while they hold fewer than the most allowed.
    async fn another_passkey_options(
        &self,
        player: &PlayerRecord,
    ) -> Result<(PasskeyRegistration, serde_json::Value), PasskeyError> {
        let owned = self.store.credentials_of(&player.id).await?;
        if owned.len() >= MAX_PASSKEYS_PER_PLAYER {
            return Err(PasskeyError::TooMany);
        }
        // The same user handle as the account's first passkey: sign-ins find
        // the player by it.
        let handle = Uuid::parse_str(&player.id)
            .map_err(|_| PasskeyError::Config("a player id is not a UUID".into()))?;
        let exclude = owned.iter().map(|c| c.passkey.cred_id().clone()).collect();
        self.registration_options(handle, &player.name, Some(exclude))
    }

    /// Starts adding a passkey to `player`'s account, from the account page.
    pub async fn start_adding(
        &self,
        player: &PlayerRecord,
        addr: IpAddr,
        now_ms: u64,
    ) -> Result<(Secret, serde_json::Value), PasskeyError> {
        let (state, json) = self.another_passkey_options(player).await?;
        let kind = Kind::Add {
            state,
            player_id: player.id.clone(),
        };
        let id = self.remember(kind, &account_key(addr), addr, now_ms);
        Ok((id, json))
    }

    /// Finishes adding a passkey to `player_id`'s account; stored durably.
    pub async fn finish_adding(
        &self,
        player_id: &str,
        ceremony_id: &Secret,
        credential: serde_json::Value,
        now_ms: u64,
    ) -> Result<(), PasskeyError> {
        let ceremony = self.take(ceremony_id, now_ms)?;
        let Kind::Add {
            state,
            player_id: owner,
        } = ceremony.kind
        else {
            return Err(PasskeyError::UnknownCeremony);
        };
        if owner != player_id {
            return Err(PasskeyError::UnknownCeremony);
        }
        let verified = self.verify_registration(&state, credential)?;
        let record = Self::new_record(owner, verified, now_ms);
        if !self.store.add_credential(&record).await? {
            return Err(PasskeyError::Rejected);
        }
        tracing::info!(player = %record.player_id, "passkey added");
        Ok(())
    }

    /// Starts registering a new passkey for `player`, who proved a recovery
    /// code while approving the request `device_hash` (`None`: on the account
    /// page).
    pub async fn start_recovery(
        &self,
        player: PlayerRecord,
        code: CodeRef,
        device_hash: Option<&[u8]>,
        addr: IpAddr,
        now_ms: u64,
    ) -> Result<(Secret, serde_json::Value), PasskeyError> {
        let (state, json) = self.another_passkey_options(&player).await?;
        let kind = Kind::Recover {
            state,
            player,
            code,
            on_device_page: device_hash.is_some(),
        };
        let key = device_hash.map_or_else(|| account_key(addr), <[u8]>::to_vec);
        Ok((self.remember(kind, &key, addr, now_ms), json))
    }

    /// Verifies the new passkey of a recovery; nothing is stored yet (the
    /// code is spent first: see `AuthService::recover`).
    pub fn finish_recovery(
        &self,
        ceremony_id: &Secret,
        credential: serde_json::Value,
        on_device_page: bool,
        now_ms: u64,
    ) -> Result<Recovered, PasskeyError> {
        let ceremony = self.take(ceremony_id, now_ms)?;
        let Kind::Recover {
            state,
            player,
            code,
            on_device_page: started_there,
        } = ceremony.kind
        else {
            return Err(PasskeyError::UnknownCeremony);
        };
        if started_there != on_device_page {
            return Err(PasskeyError::UnknownCeremony);
        }
        let verified = self.verify_registration(&state, credential)?;
        Ok(Recovered {
            credential: CredentialRecord {
                last_used_at: Some(now_ms),
                ..Self::new_record(player.id.clone(), verified, now_ms)
            },
            player,
            code,
            device_hash: ceremony.device_hash,
        })
    }

    /// The approval a finished recovery earns: the player signed in, for the
    /// request they recovered on.
    pub fn approve_recovered(&self, recovered: Recovered, now_ms: u64) -> SignedIn {
        self.approve(
            Approver::Player(recovered.player),
            recovered.device_hash,
            now_ms,
        )
    }

    /// The player's passkeys as the account page lists them.
    pub async fn list(&self, player_id: &str) -> Result<Vec<PasskeyInfo>, PasskeyError> {
        Ok(passkey_list::describe(
            self.store.credentials_of(player_id).await?,
        ))
    }

    /// Names one of the player's passkeys.
    pub async fn rename(
        &self,
        player_id: &str,
        cred_id: &[u8],
        typed: &str,
    ) -> Result<(), PasskeyError> {
        let name = passkey_list::valid_name(typed).map_err(PasskeyError::InvalidName)?;
        let Some(record) = self
            .store
            .credential(cred_id)
            .await?
            .filter(|c| c.player_id == player_id)
        else {
            return Err(PasskeyError::UnknownCredential);
        };
        let renamed = CredentialRecord {
            name: Some(name),
            ..record
        };
        Ok(self.store.put_credential(&renamed).await?)
    }

    /// Removes one of the player's passkeys; their last only when
    /// `other_way_in` (recovery codes are left).
    pub async fn remove(
        &self,
        player_id: &str,
        cred_id: &[u8],
        other_way_in: bool,
    ) -> Result<(), PasskeyError> {
        match self
            .store
            .remove_credential(player_id, cred_id, other_way_in)
            .await?
        {
            RemoveCredential::Removed => {
                tracing::info!(player = %player_id, "passkey removed");
                Ok(())
            }
            RemoveCredential::Unknown => Err(PasskeyError::UnknownCredential),
            RemoveCredential::Last => Err(PasskeyError::LastPasskey),
        }
    }

    /// Starts a usernameless sign-in.
    pub fn start_signin(
        &self,
        device_hash: &[u8],
        addr: IpAddr,
        now_ms: u64,
    ) -> Result<(Secret, serde_json::Value), PasskeyError> {
        let (state, json) = self.discoverable_options()?;
        let id = self.remember(Kind::Signin { state }, device_hash, addr, now_ms);
        Ok((id, json))
    }

    /// Starts a usernameless sign-in to the account page.
    pub fn start_account_signin(
        &self,
        addr: IpAddr,
        now_ms: u64,
    ) -> Result<(Secret, serde_json::Value), PasskeyError> {
        let (state, json) = self.discoverable_options()?;
        let id = self.remember(
            Kind::AccountSignin { state },
            &account_key(addr),
            addr,
            now_ms,
        );
        Ok((id, json))
    }

    fn discoverable_options(
        &self,
    ) -> Result<(DiscoverableAuthentication, serde_json::Value), PasskeyError> {
        let (mut options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| PasskeyError::Config(e.to_string()))?;
        // The page runs a plain modal get(): conditional mediation would need an
        // autofill field and waits silently.
        options.mediation = None;
        let json =
            serde_json::to_value(&options).map_err(|e| PasskeyError::Config(e.to_string()))?;
        Ok((state, json))
    }

    /// Finishes a sign-in: identifies the passkey, verifies it, stores its new counter.
    pub async fn finish_signin(
        &self,
        ceremony_id: &Secret,
        credential: serde_json::Value,
        now_ms: u64,
    ) -> Result<SignedIn, PasskeyError> {
        let ceremony = self.take(ceremony_id, now_ms)?;
        let Kind::Signin { state } = ceremony.kind else {
            return Err(PasskeyError::UnknownCeremony);
        };
        let player = self.verify_signin(state, credential, now_ms).await?;
        Ok(self.approve(Approver::Player(player), ceremony.device_hash, now_ms))
    }

    /// Finishes a sign-in to the account page: the player it proves.
    pub async fn finish_account_signin(
        &self,
        ceremony_id: &Secret,
        credential: serde_json::Value,
        now_ms: u64,
    ) -> Result<PlayerRecord, PasskeyError> {
        let ceremony = self.take(ceremony_id, now_ms)?;
        let Kind::AccountSignin { state } = ceremony.kind else {
            return Err(PasskeyError::UnknownCeremony);
        };
        self.verify_signin(state, credential, now_ms).await
    }

    /// Verifies a discoverable assertion and records the passkey's use (its
    /// counter, backup flags and when), durably, before anyone is let in.
    async fn verify_signin(
        &self,
        state: DiscoverableAuthentication,
        credential: serde_json::Value,
        now_ms: u64,
    ) -> Result<PlayerRecord, PasskeyError> {
        let credential: PublicKeyCredential = serde_json::from_value(credential).map_err(|e| {
            tracing::info!(error = %e, "malformed passkey assertion");
            PasskeyError::Rejected
        })?;
        let (user, cred_id) = self
            .webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey sign-in without a usable user handle");
                PasskeyError::Rejected
            })?;
        let Some(mut record) = self.store.credential(cred_id).await? else {
            return Err(PasskeyError::UnknownCredential);
        };
        if record.player_id != user.to_string() {
            tracing::info!(
                "passkey sign-in whose user handle does not match the credential's owner"
            );
            return Err(PasskeyError::Rejected);
        }
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&credential, state, &record.passkey)
            .map_err(|e| match e {
                WebauthnError::CredentialPossibleCompromise => {
                    tracing::warn!(
                        player = %record.player_id,
                        "passkey signature counter went backwards: it may have been copied; sign-in refused"
                    );
                    PasskeyError::CounterWentBack
                }
                e => {
                    tracing::info!(error = %e, "passkey sign-in rejected");
                    PasskeyError::Rejected
                }
            })?;
        record.passkey.update_credential(&result);
        record.last_used_at = Some(now_ms);
        self.store.put_credential(&record).await?;
        self.store
            .player(&record.player_id)
            .await?
            .ok_or(PasskeyError::UnknownCredential)
    }
}

/// A recovery whose new passkey verified: what to spend, store and approve.
pub struct Recovered {
    /// The player.
    pub player: PlayerRecord,
    /// The code they signed in with.
    pub code: CodeRef,
    /// The new passkey, not stored yet.
    pub credential: CredentialRecord,
    device_hash: Vec<u8>,
}

/// A redeemed approval: who approves, and the account to create first if new.
pub struct ApprovedBy(Approver);

impl ApprovedBy {
    /// The approving player's id.
    pub fn player_id(&self) -> &str {
        &self.0.player().id
    }

    /// Creates the account if this approval signed one up; call it where the
    /// approval is recorded, so an account exists only for an approved request.
    pub async fn create_account(&self, store: &dyn AccountStore) -> Result<(), PasskeyError> {
        let Approver::NewAccount(player, credential) = &self.0 else {
            return Ok(());
        };
        match store.create_player(player, credential).await? {
            CreatePlayer::Created => {
                tracing::info!(player = %player.id, "player created");
                Ok(())
            }
            CreatePlayer::NameTaken => Err(PasskeyError::NameTakenMeanwhile),
            CreatePlayer::CredentialExists => Err(PasskeyError::Rejected),
        }
    }

    /// Whether approving creates a new account.
    pub fn is_new_account(&self) -> bool {
        matches!(self.0, Approver::NewAccount(..))
    }
}

/// What account-page ceremonies count against in place of a device request:
/// their address, so the per-request cap is a per-address one and a flood
/// evicts only its own ceremonies.
fn account_key(addr: IpAddr) -> Vec<u8> {
    format!("account {}", crate::rate_limit::bucket(addr)).into_bytes()
}

/// Drops the oldest ceremonies matching `is_counted` until fewer than `max` remain.
fn evict_oldest(
    map: &mut HashMap<[u8; 32], Ceremony>,
    max: usize,
    is_counted: impl Fn(&Ceremony) -> bool,
) {
    // Counted first, so the common case (room to spare) allocates nothing.
    if map.values().filter(|c| is_counted(c)).count() < max {
        return;
    }
    let mut counted: Vec<([u8; 32], u64)> = map
        .iter()
        .filter(|(_, c)| is_counted(c))
        .map(|(k, c)| (*k, c.started_at))
        .collect();
    counted.sort_unstable_by_key(|(_, at)| *at);
    for (key, _) in counted.iter().take(counted.len() + 1 - max) {
        map.remove(key);
    }
}
