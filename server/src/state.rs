//! What every request handler shares: the configuration, the login service,
//! the game service and the counters. Built once at start-up.

use crate::auth::keys::{IfMissing, KeyError, SigningKey};
use crate::auth::revocation::Revocations;
use crate::auth::service::AuthService;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::storage::redis_store::Durability;
use crate::storage::{RedisStore, SharedStore, SledStore, StoreError};
use std::ops::Deref;
use std::sync::Arc;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data dir is unusable or its store damaged.
    #[error(transparent)]
    Integrity(#[from] crate::data_dir::IntegrityError),
    /// The database failed to open.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The Redis given with `--redis-url` is unusable or not durable.
    #[error(transparent)]
    Redis(#[from] crate::storage::redis_store::RedisStartError),
    /// The signing key failed to load.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The login service could not start.
    #[error(transparent)]
    Auth(#[from] crate::auth::service::OpenError),
}

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The services behind [`AppState`].
pub struct Shared {
    /// Configuration.
    pub config: Config,
    /// Login: device grant, passkeys, tokens, revocation.
    pub auth: AuthService,
    /// Game rooms and connections.
    pub game: crate::game::GameHub,
    /// Counters.
    pub metrics: Metrics,
    /// Kept for housekeeping and shutdown only: services own their storage.
    store: SharedStore,
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
    pub async fn open(config: Config) -> Result<Self, StartError> {
        let (store, key): (SharedStore, _) = match &config.redis_url {
            None => {
                let verified = crate::data_dir::open_for_serving(&config.data_dir)?;
                let key = SigningKey::open(
                    &config.data_dir,
                    verified.if_key_missing(config.accept_new_signing_key),
                )?;
                (
                    Arc::new(SledStore::sealed(verified.db, verified.seal)?),
                    key,
                )
            }
            Some(url) => {
                let durability = if config.redis_allow_volatile {
                    Durability::AllowVolatile
                } else {
                    Durability::Required
                };
                let store = RedisStore::connect(url.expose(), durability).await?;
                // The data dir keeps only the signing key here. Tokens are
                // opaque and live in Redis, so a new key costs at most the
                // access tokens (minutes) signed with the old one.
                crate::data_dir::permissions::private_dir(&config.data_dir)
                    .map_err(crate::data_dir::IntegrityError::from)?;
                (
                    Arc::new(store),
                    SigningKey::open(&config.data_dir, IfMissing::Create)?,
                )
            }
        };
        let revocations = Arc::new(Revocations::new());
        let game = crate::game::GameHub::new(
            config.game_settings(),
            store.clone(),
            Arc::clone(&revocations),
        );
        let now = crate::clock::now_ms();
        let auth = AuthService::open(
            &config.auth_settings(),
            key,
            store.clone(),
            revocations,
            now,
        )
        .await?;
        Ok(Self(Arc::new(Shared {
            config,
            auth,
            game,
            metrics: Metrics::default(),
            store,
        })))
    }

    /// Periodic housekeeping: purge what can no longer matter.
    pub async fn purge(&self, now_ms: u64) {
        self.auth.purge(now_ms).await;
    }

    /// Appends the store's own series (flush times) to a `/metrics` body.
    pub fn render_store_metrics(&self, out: &mut String) {
        self.store.render_metrics(out);
    }

    /// Makes everything durable and closes the store (at shutdown).
    pub async fn close(&self) {
        if let Err(e) = self.store.close().await {
            tracing::error!(error = %e, "final flush failed");
        }
    }
}
