//! Command-line flags and their environment equivalents.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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

    /// Where the sled database and the signing key live.
    #[arg(long, env = "WHACK_DATA_DIR", default_value = "./whack-data")]
    pub data_dir: PathBuf,

    /// OAuth client ids allowed to start a device login (comma-separated).
    #[arg(long = "client-id", env = "WHACK_CLIENT_IDS", value_delimiter = ',',
          default_value = whack_shared::CLIENT_ID)]
    pub client_ids: Vec<String>,

    /// Let `create_room` fix the round's random seed (for tests only).
    #[arg(long, env = "WHACK_ALLOW_SEEDED_ROOMS")]
    pub allow_seeded_rooms: bool,

    /// Device-code lifetime in seconds (shorten only for tests).
    #[arg(long, env = "WHACK_DEVICE_CODE_TTL", default_value_t = whack_shared::oauth::DEVICE_CODE_TTL_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600), hide = true)]
    pub device_code_ttl_secs: u64,

    /// Access-token lifetime in seconds (shorten only for tests).
    #[arg(long, env = "WHACK_ACCESS_TOKEN_TTL", default_value_t = whack_shared::claims::ACCESS_TOKEN_TTL_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600), hide = true)]
    pub access_token_ttl_secs: u64,
}

impl Config {
    /// The issuer: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
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
}
