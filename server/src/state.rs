//! Everything a request handler needs, built once at start-up and shared.

use crate::auth::access_token::AccessTokens;
use crate::config::Config;
use crate::auth::device_grant::DeviceGrant;
use crate::durability::Durability;
use crate::auth::keys::{KeyError, SigningKey};
use crate::metrics::Metrics;
use crate::auth::passkeys::{PasskeyError, Passkeys};
use crate::rate_limit::{MAX_WRONG_GUESSES, WindowLimiter};
use crate::auth::refresh::RefreshTokens;
use crate::auth::revocation::Revocations;
use crate::stats::Stats;
use crate::store::{Store, StoreError};
use std::ops::Deref;
use std::sync::Arc;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data dir is unusable or its store damaged.
    #[error(transparent)]
    Integrity(#[from] crate::integrity::IntegrityError),
    /// The database failed to open.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The signing key failed to load.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Passkeys cannot work with this public URL.
    #[error(transparent)]
    Passkeys(#[from] PasskeyError),
}

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The services behind [`AppState`].
pub struct Shared {
    /// Configuration.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// Group-commit flushing.
    pub durability: Durability,
    /// Access tokens.
    pub access: AccessTokens,
    /// Refresh-token rules.
    pub refresh: RefreshTokens<Store>,
    /// The device grant.
    pub devices: DeviceGrant,
    /// Passkey ceremonies.
    pub passkeys: Passkeys,
    /// Wrong user-code guesses per address.
    pub guesses: WindowLimiter,
    /// Device authorizations per address.
    pub device_requests: WindowLimiter,
    /// Passkey ceremony starts per address.
    pub ceremony_starts: WindowLimiter,
    /// Revoked sessions.
    pub revocations: Arc<Revocations>,
    /// Player statistics and leaderboard.
    pub stats: Stats,
    /// Counters.
    pub metrics: Metrics,
    /// Game rooms and connections.
    pub game: crate::game::GameHub,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Opens the data dir (database, signing key) and builds every service.
    /// Must run inside a tokio runtime (the flusher is a task).
    pub fn open(config: Config) -> Result<Self, StartError> {
        let verified = crate::integrity::open_for_serving(&config.data_dir)?;
        let key = SigningKey::open(
            &config.data_dir,
            verified.if_key_missing(config.accept_new_signing_key),
        )?;
        let store = verified.store;
        let revocations = Arc::new(Revocations::new());
        let now = crate::clock::now_ms();
        // Rebuild the revocation list: sessions revoked recently enough that some of
        // their access tokens may still be unexpired.
        let window = config.revocation_window_ms();
        for (sid, at) in store.sessions_revoked_since(now.saturating_sub(window))? {
            revocations.revoke(&sid, at);
        }
        let access = AccessTokens::new(
            key,
            config.issuer(),
            config.access_token_ttl(),
            Arc::clone(&revocations),
        );
        let durability = Durability::start_sealed(store.db().clone(), verified.seal);
        let stats = Stats::open(store.db())?;
        let game = crate::game::GameHub::new(
            config.game_settings(),
            stats.clone(),
            durability.clone(),
            Arc::clone(&revocations),
        );
        let shared = Shared {
            durability,
            game,
            refresh: RefreshTokens::new(store.clone(), config.refreshes_per_minute),
            devices: DeviceGrant::new(store.clone(), config.device_code_ttl().as_millis() as u64),
            passkeys: Passkeys::new(&config.public_url, store.clone())?,
            guesses: WindowLimiter::new(MAX_WRONG_GUESSES),
            device_requests: WindowLimiter::new(
                usize::try_from(config.device_authorizations_per_minute).unwrap_or(usize::MAX),
            ),
            ceremony_starts: WindowLimiter::new(
                usize::try_from(config.ceremonies_per_minute).unwrap_or(usize::MAX),
            ),
            stats,
            metrics: Metrics::default(),
            access,
            revocations,
            store,
            config,
        };
        Ok(Self(Arc::new(shared)))
    }

    /// Periodic housekeeping: purge what can no longer matter.
    pub fn purge(&self, now_ms: u64) {
        let window = self.config.revocation_window_ms();
        let forgotten = self.revocations.purge_before(now_ms.saturating_sub(window));
        self.guesses.purge(now_ms);
        self.device_requests.purge(now_ms);
        self.ceremony_starts.purge(now_ms);
        match self.store.purge(now_ms) {
            Ok(removed) => tracing::debug!(removed, forgotten, "purged expired records"),
            Err(e) => tracing::warn!(error = %e, "purge failed"),
        }
    }
}
