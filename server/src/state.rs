//! What every request handler shares: the configuration, the login service,
//! the game service and the counters. Built once at start-up.

use crate::auth::key_set::{self, KeySet, KeySetError};
use crate::auth::keys::{KeyError, SigningKey};
use crate::auth::revocation::Revocations;
use crate::auth::revocation_feed::{self, FeedHealth};
use crate::auth::service::AuthService;
use crate::config::Config;
use crate::game::runtime::cluster::Cluster;
use crate::metrics::Metrics;
use crate::storage::redis_store::DurabilityCheck;
use crate::storage::shared_counts::SharedCounts;
use crate::storage::{
    RedisStore, RevocationFeed, RoomDirectory, SharedStore, SledStore, StoreError,
};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

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
    /// The shared signing keys could not be used.
    #[error(transparent)]
    KeySet(#[from] KeySetError),
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
    /// Whether the revocation feed is being followed (nodes on a shared store).
    feed_health: Option<Arc<FeedHealth>>,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// How often a node on a shared store looks for a rotated key set.
pub const KEY_SET_POLL: Duration = Duration::from_secs(5);

/// Keeps the node's key set the one in the shared store (another node or
/// `whack-server keys rotate` may change it), for as long as the server lives.
async fn follow_keys(store: Arc<RedisStore>, state: std::sync::Weak<Shared>) {
    let mut every = tokio::time::interval(KEY_SET_POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        match key_set::reload(store.as_ref(), crate::clock::now_ms()).await {
            Ok(Some(keys)) if keys.kids() != state.auth.access.keys().kids() => {
                tracing::info!(
                    signing = keys.signing().kid(),
                    published = keys.kids().len(),
                    "the signing keys changed"
                );
                state.auth.access.replace_keys(keys);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot reload the signing keys; keeping the ones in use")
            }
        }
    }
}

impl AppState {
    /// Opens the store (the data dir's sled database and signing key, or the
    /// Redis of `--redis-url` with its shared keys and revocation feed) and
    /// builds every service. Must run inside a tokio runtime (it spawns tasks).
    pub async fn open(config: Config) -> Result<Self, StartError> {
        let now = crate::clock::now_ms();
        let (store, keys, shared): (SharedStore, _, Option<Arc<RedisStore>>) = match &config
            .redis_url
        {
            None => {
                let verified = crate::data_dir::open_for_serving(&config.data_dir)?;
                let key = SigningKey::open(
                    &config.data_dir,
                    verified.if_key_missing(config.accept_new_signing_key),
                )?;
                let store = SledStore::sealed(verified.db, verified.seal)?;
                (Arc::new(store), KeySet::single(key), None)
            }
            Some(url) => {
                let durability = DurabilityCheck::allowing_volatile(config.redis_allow_volatile);
                // Every node signs with the keys in Redis, so each verifies
                // the others' tokens; the data dir is not used.
                let store = Arc::new(RedisStore::connect(url.expose(), durability).await?);
                let keys = key_set::open_shared(store.as_ref(), now).await?;
                (store.clone(), keys, Some(store))
            }
        };
        let revocations = Arc::new(Revocations::new());
        let counts = shared.as_ref().map(|redis| {
            let counts: Arc<dyn SharedCounts> = redis.clone();
            counts
        });
        let cluster = shared.as_ref().zip(counts.as_ref()).map(|(redis, counts)| {
            let directory: Arc<dyn RoomDirectory> = redis.clone();
            Cluster::new(directory, Arc::clone(counts), config.node_url())
        });
        let game = crate::game::GameHub::new(
            config.game_settings(),
            Arc::new(crate::storage::players_only::PlayersOnly(store.clone())),
            Arc::clone(&revocations),
            cluster,
        );
        // Where this node starts following the feed: taken before the
        // revocations are read back, so none falls between the two.
        let feed_start = match &shared {
            Some(redis) => Some(redis.feed_head().await?),
            None => None,
        };
        let mut auth = AuthService::open(
            &config.auth_settings(),
            keys,
            store.clone(),
            Arc::clone(&revocations),
            now,
        )
        .await?;
        if let Some(counts) = &counts {
            auth = auth.with_shared_counts(counts);
        }
        let feed_health = shared.as_ref().map(|_| Arc::new(FeedHealth::new()));
        if let (Some(redis), Some(start), Some(health)) = (&shared, feed_start, &feed_health) {
            let feed: Arc<dyn RevocationFeed> = redis.clone();
            auth = auth.with_feed(Arc::clone(&feed));
            tokio::spawn(revocation_feed::follow(
                feed,
                store.clone(),
                revocations,
                Arc::clone(health),
                start,
                auth.revocation_window_ms(),
            ));
        }
        let state = Arc::new(Shared {
            config,
            auth,
            game,
            metrics: Metrics::default(),
            store,
            feed_health,
        });
        if let Some(redis) = shared {
            tokio::spawn(follow_keys(redis, Arc::downgrade(&state)));
        }
        Ok(Self(state))
    }

    /// `Err` with the reason while this node cannot vouch that it knows every
    /// revocation (it cannot read the shared feed): refreshes and new game
    /// sockets wait until it can.
    pub fn revocations_current(&self) -> Result<(), &'static str> {
        match &self.feed_health {
            Some(health) if !health.ok() => {
                Err("this node cannot read the revocation feed from the shared store")
            }
            _ => Ok(()),
        }
    }

    /// Periodic housekeeping: purge what can no longer matter.
    pub async fn purge(&self, now_ms: u64) {
        self.auth.purge(now_ms).await;
    }

    /// Appends the store's own series (flush times) to a `/metrics` body.
    pub fn render_store_metrics(&self, out: &mut String) {
        self.store.render_metrics(out);
        if let Some(feed) = &self.feed_health {
            feed.render_metrics(out);
        }
    }

    /// Makes everything durable and closes the store (at shutdown).
    pub async fn close(&self) {
        if let Err(e) = self.store.close().await {
            tracing::error!(error = %e, "final flush failed");
        }
    }
}
