//! Command-line flags and their environment equivalents.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The command line: no subcommand serves (with [`Config`]'s flags); the
/// subcommands are tools: offline on a data dir, or on a shared Redis.
#[derive(Debug, Parser)]
#[command(
    name = "whack-server",
    version,
    about = "Whack game and login server",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// A tool to run instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Serving flags.
    #[command(flatten)]
    pub serve: Config,
}

/// `whack-server` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a data dir offline (seal, every record, the signing key) and print
    /// what it holds; exits non-zero when it is damaged. Stop the server first.
    Check(DataDirArgs),
    /// Copy a stopped server's data dir (sled) into Redis: accounts, passkeys,
    /// logins and stats, and its signing key, so its players carry on there.
    Migrate(MigrateArgs),
    /// Manage the token-signing keys of a Redis that several nodes share.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// Flags of `whack-server migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The data dir to copy from (the server must be stopped).
    #[arg(long, env = "WHACK_DATA_DIR", default_value = "./whack-data")]
    pub data_dir: PathBuf,
    /// The Redis (or Redis Cluster) to copy into, e.g. `redis://127.0.0.1:6379`.
    #[arg(long)]
    pub to: RedisUrl,
    /// Copy although the target already holds Whack data (records it has are
    /// kept as they are).
    #[arg(long)]
    pub into_non_empty: bool,
    /// Accept a Redis that can lose writes (as the server's flag).
    #[arg(long, env = "WHACK_REDIS_ALLOW_VOLATILE")]
    pub redis_allow_volatile: bool,
}

/// `whack-server keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key: every node signs with it within seconds, and the
    /// previous key stays published until the tokens it signed have expired.
    Rotate(RotateArgs),
}

/// Flags of `whack-server keys rotate`.
#[derive(Debug, Clone, Args)]
pub struct RotateArgs {
    /// The Redis (or Redis Cluster) the nodes share.
    #[arg(long, env = "WHACK_REDIS_URL")]
    pub redis_url: RedisUrl,
    /// Accept a Redis that can lose writes (as the server's flag).
    #[arg(long, env = "WHACK_REDIS_ALLOW_VOLATILE")]
    pub redis_allow_volatile: bool,
    /// The nodes' access-token lifetime, if not the default: the previous key
    /// stays published this long (plus the time nodes take to notice).
    #[arg(long, env = "WHACK_ACCESS_TOKEN_TTL", default_value_t = whack_shared::claims::ACCESS_TOKEN_TTL_SECS)]
    pub access_token_ttl_secs: u64,
}

/// The data dir an offline tool works on.
#[derive(Debug, Clone, Args)]
pub struct DataDirArgs {
    /// The data dir (as given to the server).
    #[arg(long, env = "WHACK_DATA_DIR", default_value = "./whack-data")]
    pub data_dir: PathBuf,
}

/// A Redis URL; its `Debug` form leaves out the credentials it may hold.
#[derive(Clone)]
pub struct RedisUrl(String);

impl std::str::FromStr for RedisUrl {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisUrl(..)")
    }
}

impl RedisUrl {
    /// The URL, for the one place that connects with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `whack-server` configuration.
#[derive(Debug, Clone, Parser)]
#[command(name = "whack-server", version, about = "Whack game and login server")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "WHACK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// URL players' browsers use to reach this server: the token issuer and the
    /// WebAuthn origin (its host is the relying-party id).
    #[arg(long, env = "WHACK_PUBLIC_URL", default_value = whack_shared::DEFAULT_SERVER_URL)]
    pub public_url: url::Url,

    /// This node's own base URL, where players are sent to play the rooms it
    /// holds when several nodes share one Redis (default: --public-url). Give
    /// each node its own, reachable by players, on the public URL's host or
    /// one of its subdomains (clients follow no other).
    #[arg(long, env = "WHACK_NODE_URL")]
    pub node_url: Option<url::Url>,

    /// Where the sled database and the signing key live.
    #[arg(long, env = "WHACK_DATA_DIR", default_value = "./whack-data")]
    pub data_dir: PathBuf,

    /// Keep every shared record (accounts, passkeys, sessions, device
    /// requests, stats) in this Redis or Redis Cluster instead of the data
    /// dir's sled database, e.g. `redis://127.0.0.1:6379`. It must run with
    /// `appendonly yes` and `appendfsync always`.
    #[arg(long, env = "WHACK_REDIS_URL")]
    pub redis_url: Option<RedisUrl>,

    /// Accept a Redis without `appendonly yes` and `appendfsync always`, with a
    /// warning: writes it acknowledged can be lost in a crash (development only).
    #[arg(long, env = "WHACK_REDIS_ALLOW_VOLATILE")]
    pub redis_allow_volatile: bool,

    /// OAuth clients allowed to start a device login (comma-separated), each
    /// `id` or `id=Name shown on the sign-in page`.
    #[arg(long = "client-id", env = "WHACK_CLIENT_IDS", value_delimiter = ',',
          default_value = whack_shared::CLIENT_ID)]
    pub client_ids: Vec<String>,

    /// Start although the signing key is missing while players hold tokens it
    /// signed: a new key is made, their access tokens stop verifying (their
    /// refresh tokens still work, so nobody is logged out).
    #[arg(long, env = "WHACK_ACCEPT_NEW_SIGNING_KEY")]
    pub accept_new_signing_key: bool,

    /// Let `create_room` fix the round's random seed (for tests only).
    #[arg(long, env = "WHACK_ALLOW_SEEDED_ROOMS")]
    pub allow_seeded_rooms: bool,

    /// Game sockets (`/play`) one player may hold open; one more is closed with
    /// 4008 `too_many_connections`.
    #[arg(long, env = "WHACK_SOCKETS_PER_PLAYER",
          default_value_t = crate::game::settings::DEFAULT_SOCKETS_PER_PLAYER,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub sockets_per_player: u32,

    /// Game sockets one player may open per second (more get 429).
    #[arg(long, env = "WHACK_PLAYER_CONNECTS_PER_SECOND",
          default_value_t = crate::game::settings::DEFAULT_PLAYER_CONNECTS_PER_SEC,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub player_connects_per_second: u32,

    /// Game sockets one client address may open per second (more get 429);
    /// raise it when many players share one address.
    #[arg(long, env = "WHACK_ADDRESS_CONNECTS_PER_SECOND",
          default_value_t = crate::game::settings::DEFAULT_ADDRESS_CONNECTS_PER_SEC,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub address_connects_per_second: u32,

    /// Wrong room join codes allowed per minute, per player and per client
    /// address; past it every join by code is refused (`too_many_guesses`).
    #[arg(long, env = "WHACK_JOIN_CODE_GUESSES_PER_MINUTE",
          default_value_t = crate::game::settings::DEFAULT_JOIN_CODE_GUESSES_PER_MIN,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub join_code_guesses_per_minute: u32,

    /// Rooms open at once on this server (more get `too_many_rooms`).
    #[arg(long, env = "WHACK_MAX_ROOMS",
          default_value_t = crate::game::settings::DEFAULT_MAX_ROOMS,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_rooms: u32,

    /// Logins one client address may start per minute (more get 429); raise it
    /// when many players share one address.
    #[arg(long, env = "WHACK_DEVICE_AUTHORIZATIONS_PER_MINUTE",
          default_value_t = crate::rate_limit::DEFAULT_DEVICE_AUTHORIZATIONS,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub device_authorizations_per_minute: u32,

    /// Passkey ceremonies one client address may start per minute (more get
    /// 429); raise it when many players share one address.
    #[arg(long, env = "WHACK_CEREMONIES_PER_MINUTE",
          default_value_t = crate::rate_limit::DEFAULT_CEREMONY_STARTS,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub ceremonies_per_minute: u32,

    /// Refresh-token rotations one login session may make per minute (a client
    /// refreshes every 15 minutes; more get 429 with `Retry-After`).
    #[arg(long, env = "WHACK_REFRESHES_PER_MINUTE",
          default_value_t = crate::auth::refresh::DEFAULT_REFRESHES_PER_MINUTE,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub refreshes_per_minute: u32,

    /// Open connections in all, WebSockets included (lowered to fit the
    /// open-files limit).
    #[arg(long, env = "WHACK_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_connections: u64,

    /// Open connections per client address (an IPv6 /64 counts as one); raise
    /// it when many players share one address.
    #[arg(long, env = "WHACK_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_connections_per_address: u64,

    /// Seconds a client has to send a request's headers, from connecting or
    /// from the previous response (so idle keep-alive connections end too).
    #[arg(long, env = "WHACK_HEADER_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,

    /// Device-code lifetime in seconds (shorten only for tests).
    #[arg(long, env = "WHACK_DEVICE_CODE_TTL", default_value_t = whack_shared::oauth::DEVICE_CODE_TTL_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600), hide = true)]
    pub device_code_ttl_secs: u64,

    /// Access-token lifetime in seconds (shorten only for tests).
    #[arg(long, env = "WHACK_ACCESS_TOKEN_TTL", default_value_t = whack_shared::claims::ACCESS_TOKEN_TTL_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600), hide = true)]
    pub access_token_ttl_secs: u64,

    /// Game countdown before moles pop, in ms (shorten only for tests).
    #[arg(long, env = "WHACK_COUNTDOWN_MS", default_value_t = crate::game::DEFAULT_COUNTDOWN_MS,
          value_parser = clap::value_parser!(u32).range(0..=10_000), hide = true)]
    pub countdown_ms: u32,

    /// A quick-match room with 2+ players starts this long after the second joins, in ms.
    #[arg(long, env = "WHACK_QUICK_FILL_MS", default_value_t = 3000, hide = true)]
    pub quick_fill_ms: u64,

    /// A quick-match room with one player starts after this wait, in ms.
    #[arg(
        long,
        env = "WHACK_QUICK_SOLO_MS",
        default_value_t = 10_000,
        hide = true
    )]
    pub quick_solo_ms: u64,

    /// How long a dropped player keeps their seat, in seconds (shorten only for tests).
    #[arg(long, env = "WHACK_RECONNECT_GRACE_SECS", default_value_t = whack_shared::protocol::RECONNECT_GRACE_SECS, hide = true)]
    pub reconnect_grace_secs: u64,

    /// Heartbeat ping interval on game connections, in seconds.
    #[arg(long, env = "WHACK_WS_HEARTBEAT_SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600), hide = true)]
    pub ws_heartbeat_secs: u64,

    /// Game connections silent this long (no frame, no pong) are closed, in seconds.
    #[arg(long, env = "WHACK_WS_IDLE_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600), hide = true)]
    pub ws_idle_secs: u64,
}

impl Config {
    /// The game side's settings.
    pub fn game_settings(&self) -> crate::game::GameSettings {
        crate::game::GameSettings {
            allow_seeded_rooms: self.allow_seeded_rooms,
            countdown_ms: self.countdown_ms,
            quick_fill: Duration::from_millis(self.quick_fill_ms),
            quick_solo: Duration::from_millis(self.quick_solo_ms),
            reconnect_grace: Duration::from_secs(self.reconnect_grace_secs),
            heartbeat: Duration::from_secs(self.ws_heartbeat_secs),
            idle_timeout: Duration::from_secs(self.ws_idle_secs),
            sockets_per_player: self.sockets_per_player,
            player_connects_per_sec: self.player_connects_per_second,
            address_connects_per_sec: self.address_connects_per_second,
            join_code_guesses_per_min: self.join_code_guesses_per_minute,
            max_rooms: self.max_rooms,
        }
    }

    /// What clients may hold open.
    pub fn connection_limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            max_total: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            max_per_address: usize::try_from(self.max_connections_per_address)
                .unwrap_or(usize::MAX),
            header_timeout: Duration::from_secs(self.header_timeout_secs),
        }
    }

    /// The display name of an allowed OAuth client, or `None` if it is unknown.
    pub fn client_name(&self, client_id: &str) -> Option<&str> {
        self.client_ids.iter().find_map(|entry| {
            let (id, name) = entry.split_once('=').unwrap_or((entry, ""));
            let id = id.trim();
            (id == client_id).then(|| match name.trim() {
                "" if id == whack_shared::CLIENT_ID => "Whack for the terminal",
                "" => id,
                name => name,
            })
        })
    }

    /// The issuer: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    /// This node's base URL, without a trailing slash.
    pub fn node_url(&self) -> String {
        self.node_url
            .as_ref()
            .unwrap_or(&self.public_url)
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    /// How long a device code lives.
    pub fn device_code_ttl(&self) -> Duration {
        Duration::from_secs(self.device_code_ttl_secs)
    }

    /// How long an access token lives.
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    /// The login side's settings.
    pub fn auth_settings(&self) -> crate::auth::service::AuthSettings {
        crate::auth::service::AuthSettings {
            public_url: self.public_url.clone(),
            access_token_ttl: self.access_token_ttl(),
            device_code_ttl: self.device_code_ttl(),
            device_authorizations_per_minute: self.device_authorizations_per_minute,
            ceremonies_per_minute: self.ceremonies_per_minute,
            refreshes_per_minute: self.refreshes_per_minute,
        }
    }
}
