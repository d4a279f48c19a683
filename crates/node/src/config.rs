//! The node's config file (TOML). Relative paths are relative to the config file's folder.

use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    num::NonZeroUsize,
    path::{Path, PathBuf},
};

/// A node's configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// A name for logs (usually the organisation).
    pub name: String,
    /// The validator key file (`formica keys new --out`).
    pub key_file: PathBuf,
    /// The genesis file shared by every node of the chain.
    pub genesis_file: PathBuf,
    /// Where consensus data, state and indexes are kept.
    pub data_dir: PathBuf,
    /// Where peers connect (authenticated, encrypted TCP).
    pub p2p_listen: SocketAddr,
    /// JSON-RPC over HTTP and WebSocket, plus `GET /health`.
    pub rpc_listen: SocketAddr,
    /// Prometheus `GET /metrics`.
    pub metrics_listen: SocketAddr,
    /// The administrative JSON-RPC API (`admin_nodeInfo`, `admin_peers`, `admin_mempool`); off
    /// when absent. An address that is not loopback needs `admin_secret_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
    /// A file holding the secret every administrative call must carry as
    /// `Authorization: Bearer <secret>` (at least 16 bytes; surrounding whitespace is ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_secret_file: Option<PathBuf>,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Log as JSON lines.
    #[serde(default)]
    pub log_json: bool,
    #[serde(default)]
    pub consensus: ConsensusSection,
    #[serde(default)]
    pub mempool: MempoolSection,
    #[serde(default)]
    pub rpc: RpcSection,
    #[serde(default)]
    pub storage: StorageSection,
}

fn default_log_level() -> String {
    "info".into()
}

/// This node's storage.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// The page cache every store shares (state, blocks, consensus journals), in MiB; allocated
    /// at start. State reads beyond it go to the operating system page by page, so a validator
    /// whose state outgrows it slows down (docs/performance.md, "Accounts").
    pub page_cache_mib: NonZeroUsize,
}

impl StorageSection {
    /// The page cache a node has unless its config says otherwise.
    pub const PAGE_CACHE_MIB_DEFAULT: usize = 256;
    /// The largest page cache a config may ask for (it is allocated at start).
    pub const PAGE_CACHE_MIB_MAX: usize = 1 << 16;
}

impl Default for StorageSection {
    fn default() -> Self {
        Self { page_cache_mib: NonZeroUsize::new(Self::PAGE_CACHE_MIB_DEFAULT).expect("positive") }
    }
}

/// This node's consensus timing, in milliseconds. The leader and certification timeouts are
/// chain-wide: they are set in the genesis and changed by vote.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusSection {
    pub retry_ms: u64,
    pub skip_timeout_ms: u64,
    pub fetch_timeout_ms: u64,
    /// Finalized blocks kept for peers catching up.
    pub retained_blocks: usize,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        Self { retry_ms: 500, skip_timeout_ms: 5_000, fetch_timeout_ms: 2_000, retained_blocks: 100_000 }
    }
}

/// Mempool limits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolSection {
    pub transactions_max: usize,
    pub per_sender_max: usize,
    pub nonce_window: u64,
    pub gossip_queue: usize,
}

impl Default for MempoolSection {
    fn default() -> Self {
        let pool = formica_mempool::Config::default();
        Self {
            transactions_max: pool.transactions_max,
            per_sender_max: pool.per_sender_max,
            nonce_window: pool.nonce_window,
            gossip_queue: 16_384,
        }
    }
}

/// RPC server limits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RpcSection {
    pub max_request_body_bytes: u32,
    pub max_response_body_bytes: u32,
    pub max_connections: u32,
    pub max_subscriptions_per_connection: u32,
    pub batch_requests_max: u32,
    /// Finalized blocks buffered per subscriber before it is told it fell behind.
    pub subscriber_buffer: usize,
    /// Requests per second each client IP address may send (an HTTP request or WebSocket
    /// message counts once, whatever batch it carries); `0` disables the limit.
    pub rate_limit_per_second: u32,
    /// Requests a client may save up while it sends less than the rate.
    pub rate_limit_burst: u32,
    /// A connection that has not delivered a complete request head this long after the server
    /// started waiting for one (new or idle) is closed.
    pub request_head_timeout_ms: u64,
    /// A request not received (body included) and answered this long after its head gets 408.
    pub request_timeout_ms: u64,
}

impl RpcSection {
    /// The server's per-client rate limit, `None` when disabled.
    pub fn rate_limit(&self) -> Option<formica_rpc::RateLimit> {
        (self.rate_limit_per_second > 0)
            .then_some(formica_rpc::RateLimit { per_second: self.rate_limit_per_second, burst: self.rate_limit_burst })
    }
}

impl Default for RpcSection {
    fn default() -> Self {
        let server = formica_rpc::ServerConfig::default();
        Self {
            max_request_body_bytes: server.max_request_body_bytes,
            max_response_body_bytes: server.max_response_body_bytes,
            max_connections: server.max_connections,
            max_subscriptions_per_connection: server.max_subscriptions_per_connection,
            batch_requests_max: server.batch_requests_max,
            subscriber_buffer: 256,
            rate_limit_per_second: formica_rpc::RATE_LIMIT_DEFAULT.per_second,
            rate_limit_burst: formica_rpc::RATE_LIMIT_DEFAULT.burst,
            request_head_timeout_ms: millis(server.request_head_timeout),
            request_timeout_ms: millis(server.request_timeout),
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).expect("the default timeouts are seconds")
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a valid node config: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl NodeConfig {
    /// Reads a config file and resolves its relative paths against the file's folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        let mut config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse { path: shown, source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for file in [&mut config.key_file, &mut config.genesis_file, &mut config.data_dir] {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        if let Some(file) = config.admin_secret_file.as_mut()
            && file.is_relative()
        {
            *file = base.join(&*file);
        }
        if config.storage.page_cache_mib.get() > StorageSection::PAGE_CACHE_MIB_MAX {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                reason: format!(
                    "storage.page_cache_mib is {}, above the limit of {} MiB",
                    config.storage.page_cache_mib,
                    StorageSection::PAGE_CACHE_MIB_MAX
                ),
            });
        }
        if let Some(admin) = config.admin()? {
            formica_rpc::admin::check_config(&admin)
                .map_err(|reason| ConfigError::Invalid { path: path.display().to_string(), reason })?;
        }
        Ok(config)
    }

    /// The administrative API's config, reading the secret file; `None` when it is off.
    pub fn admin(&self) -> Result<Option<formica_rpc::admin::AdminConfig>, ConfigError> {
        let Some(listen_address) = self.admin_listen else {
            return Ok(None);
        };
        let secret = match &self.admin_secret_file {
            Some(file) => Some(
                std::fs::read_to_string(file)
                    .map_err(|source| ConfigError::Read { path: file.display().to_string(), source })?
                    .trim()
                    .to_string(),
            ),
            None => None,
        };
        Ok(Some(formica_rpc::admin::AdminConfig { listen_address, secret }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(extra: &str) -> Result<NodeConfig, ConfigError> {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("node.toml");
        let text = format!(
            "name = \"n\"\nkey_file = \"key.json\"\ngenesis_file = \"genesis.json\"\ndata_dir = \"data\"\n\
             p2p_listen = \"127.0.0.1:30303\"\nrpc_listen = \"127.0.0.1:8545\"\nmetrics_listen = \"127.0.0.1:9100\"\n{extra}"
        );
        std::fs::write(&path, text).expect("written");
        NodeConfig::load(&path)
    }

    #[test]
    fn the_page_cache_defaults_and_is_bounded() {
        let config = load("").expect("loads");
        assert_eq!(config.storage.page_cache_mib.get(), 256);
        assert_eq!(config.data_dir.file_name(), Some(std::ffi::OsStr::new("data")));
        let config = load("[storage]\npage_cache_mib = 1024\n").expect("loads");
        assert_eq!(config.storage.page_cache_mib.get(), 1024);
        let too_big = load(&format!("[storage]\npage_cache_mib = {}\n", (1 << 16) + 1));
        assert!(matches!(too_big, Err(ConfigError::Invalid { .. })), "{too_big:?}");
        assert!(matches!(load("[storage]\npage_cache_mib = 0\n"), Err(ConfigError::Parse { .. })));
        assert!(matches!(load("[storage]\npage_cash_mib = 64\n"), Err(ConfigError::Parse { .. })));
    }
}
