//! Running a production node: tokio runtime, authenticated TCP p2p, Prometheus metrics,
//! JSON-RPC.

use crate::Chain;
use crate::backend::{NodeAdmin, NodeBackend, NodeIdentity, PeerCounter};
use crate::config::{ConfigError, NodeConfig};
use crate::failpoint_sender::FailpointSender;
use crate::validator::{self, ValidatorConfig};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _};
use commonware_p2p::authenticated::lookup;
use commonware_runtime::{Metrics as _, Quota, Runner as _, Supervisor as _, tokio as runtime};
use commonware_stream::{cups, sake};
use commonware_utils::{NZU32, NZUsize};
use formica_consensus::engine::{self, Channels, Timeouts};
use formica_consensus::failpoints;
use formica_crypto::{KeyFile, KeyFileError};
use formica_types::{Genesis, GenesisError};
use std::{num::NonZeroUsize, sync::Arc, time::Duration};
use tracing::{error, info};

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("cannot read genesis file {path}: {reason}")]
    GenesisFile { path: String, reason: String },
    #[error("invalid genesis: {0}")]
    Genesis(#[from] GenesisError),
    #[error("invalid log level {0:?}")]
    LogLevel(String),
    #[error("cannot create {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("FORMICA_FAILPOINTS: {0}")]
    Failpoints(#[from] failpoints::FailpointError),
}

/// The environment variable that arms fail points for crash tests
/// ([`formica_consensus::failpoints`]); unset in production.
pub const FAILPOINTS_VARIABLE: &str = "FORMICA_FAILPOINTS";

/// How long one read or write on a peer connection may wait before the connection is dropped
/// and dialled again: three ping intervals.
pub const PEER_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Reads the genesis file named by a node config.
pub fn read_genesis(path: &std::path::Path) -> Result<Genesis, RunError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|error| RunError::GenesisFile { path: shown.clone(), reason: error.to_string() })?;
    serde_json::from_str(&text).map_err(|error| RunError::GenesisFile { path: shown, reason: error.to_string() })
}

/// Counts peers the p2p layer reports as connected, from the runtime's metrics.
fn peer_counter(context: runtime::Context) -> PeerCounter {
    Arc::new(move || {
        context.encode().lines().filter(|line| line.starts_with("network_tracker_directory_connected{")).count() as u32
    })
}

/// How the last line a node prints before it stops on a failure begins: a task failed (any
/// panic stops the whole node, as a half-running validator would serve RPC without following
/// the chain), or a store would not open. Checked data that does not verify after a crash or a
/// disk fault ends up here.
pub const STOPPED_MESSAGE: &str = "formica node: stopped";

/// What an operator can do when the node stopped on its own storage.
fn recovery_hint(data_dir: &std::path::Path) -> String {
    format!(
        "If this follows a crash, a power loss or a disk error, the data directory {} may be \
         damaged; the node stops rather than serve data it cannot trust. To recover, move that \
         directory aside and start the node again: it resynchronises from its peers \
         (docs/reliability.md, \"Damaged storage\").",
        data_dir.display()
    )
}

/// Prints the stop line, with what failed and what an operator can do, after the default
/// panic report. The first panic is the cause: the others follow from it (a task whose actor
/// died), so after each of them the first one's stop line is printed again, and the node's last
/// line always names the cause.
fn install_panic_report(data_dir: std::path::PathBuf) {
    let default = std::panic::take_hook();
    let first = std::sync::OnceLock::new();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let stop = first.get_or_init(|| {
            let what = info
                .payload()
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a task panicked".to_string());
            let place = info.location().map(|location| format!(" at {location}")).unwrap_or_default();
            format!("{STOPPED_MESSAGE} by an internal failure ({what}{place}). {}", recovery_hint(&data_dir))
        });
        eprintln!("{stop}");
    }));
}

/// Runs a node until it receives SIGINT or SIGTERM.
pub fn run(config_path: &std::path::Path) -> Result<(), RunError> {
    let config = NodeConfig::load(config_path)?;
    install_panic_report(config.data_dir.clone());
    let admin = config.admin()?;
    let level: tracing::Level = config.log_level.parse().map_err(|_| RunError::LogLevel(config.log_level.clone()))?;
    let chain = Chain::from_genesis(read_genesis(&config.genesis_file)?)?;
    let (_, key) = KeyFile::read(&config.key_file)?;
    let public_key = key.public_key();
    let storage = config.data_dir.join("consensus");
    let index_directory = config.data_dir.join("indexes");
    for directory in [&storage, &index_directory] {
        std::fs::create_dir_all(directory)
            .map_err(|source| RunError::DataDir { path: directory.display().to_string(), source })?;
    }
    let armed = match std::env::var(FAILPOINTS_VARIABLE) {
        Ok(spec) => failpoints::configure(&spec)?,
        Err(_) => Vec::new(),
    };
    // A peer connection that carries nothing for PEER_IDLE_TIMEOUT is dead (peers ping every 5 s
    // under lookup::Config::local): drop it and dial again. With commonware's default of 60 s, a
    // connection cut by a partition stayed open after the heal while TCP's retransmission
    // backoff (which doubles up to minutes) held back everything queued on it; the real-process
    // fault run (crates/faults) measured 31 s without a block after a 20 s partition healed.
    let runner = runtime::Runner::new(
        runtime::Config::new().with_storage_directory(storage).with_read_write_timeout(PEER_IDLE_TIMEOUT),
    );
    runner.start(|context| async move {
        runtime::telemetry::init(
            context.child("telemetry"),
            runtime::telemetry::Logs { level, json: config.log_json },
            Some(config.metrics_listen),
            None,
        );
        info!(name = %config.name, key = %formica_types::public_key_to_hex(&public_key), "starting node");
        if !armed.is_empty() {
            tracing::warn!(points = ?armed, "fail points armed from {FAILPOINTS_VARIABLE}: this node will crash on purpose");
        }
        if !chain.validators.contains(&public_key) {
            // A node outside the genesis set follows the chain as soon as the registry lists it
            // (peers accept only registered keys) and votes from the epoch after it is made a
            // validator.
            info!("this key is not a genesis validator: the node follows the chain until the registry makes it a validator");
        }
        let limits = validator::block_limits(&chain);
        let handshake = cups::Cups::<_, ChaCha20Poly1305>::new(
            sake::Sake {
                signer: key.clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        );
        let mut namespace = chain.namespace();
        namespace.extend_from_slice(b"_P2P");
        let p2p = lookup::Config::local(
            handshake,
            &namespace,
            config.p2p_listen,
            NonZeroUsize::new(usize::from(formica_types::NODES_MAX)).expect("non-zero"),
            engine::max_message_bytes(&limits),
            NZUsize!(1_024),
        );
        let (mut network, oracle) = lookup::Network::new(context.child("network"), p2p);
        // Peer sets are tracked per epoch by the consensus orchestrator, from the registry.
        // Per-peer rates and bursts. commonware allocates each channel's inbound queue up front
        // with room for a full burst from every possible peer (NODES_MAX), about 0.9 KiB a slot,
        // and the router's queue with room for all of them again: a one-second burst on every
        // channel (gossip at 20,000 a second) took 3 GiB of resident memory per node before
        // anything happened. Bursts are therefore a fraction of a second; the sustained rates
        // are unchanged.
        let consensus_quota = Quota::per_second(NZU32!(1_000)).allow_burst(NZU32!(250));
        let blocks_quota = Quota::per_second(NZU32!(100));
        // Votes pass a fail point for the crash tests (inert unless FORMICA_FAILPOINTS names it).
        let mut channel = |id, quota, point| {
            let (sender, receiver) = network.register(id, quota);
            (FailpointSender::new(sender, point), receiver)
        };
        let channels = Channels {
            votes: channel(engine::CHANNEL_VOTES, consensus_quota, Some(failpoints::SEND_VOTE)),
            certificates: channel(engine::CHANNEL_CERTIFICATES, consensus_quota, None),
            resolver: channel(engine::CHANNEL_RESOLVER, consensus_quota, None),
            backfill: channel(engine::CHANNEL_BACKFILL, blocks_quota, None),
            broadcast: channel(engine::CHANNEL_BROADCAST, blocks_quota, None),
            state_sync: channel(engine::CHANNEL_STATE_SYNC, blocks_quota, None),
        };
        let gossip_quota = Quota::per_second(NZU32!(20_000)).allow_burst(NZU32!(1_000));
        let gossip = channel(engine::CHANNEL_TRANSACTIONS, gossip_quota, None);
        network.start();

        let consensus = &config.consensus;
        let validator_config = ValidatorConfig {
            signer: key,
            index_directory,
            partition_prefix: "formica".into(),
            mempool: formica_mempool::Config {
                transactions_max: config.mempool.transactions_max,
                per_sender_max: config.mempool.per_sender_max,
                nonce_window: config.mempool.nonce_window,
            },
            timeouts: Timeouts {
                retry: Duration::from_millis(consensus.retry_ms),
                skip: Duration::from_millis(consensus.skip_timeout_ms),
                fetch: Duration::from_millis(consensus.fetch_timeout_ms),
            },
            mailbox_size: NZUsize!(4_096),
            retained_blocks: consensus.retained_blocks,
            page_cache_mib: config.storage.page_cache_mib,
            gossip_queue: config.mempool.gossip_queue,
            subscriber_buffer: config.rpc.subscriber_buffer,
            faults: formica_consensus::FaultInjection::NONE,
        };
        let validator = match validator::start(
            context.child("validator"),
            chain,
            validator_config,
            channels,
            gossip,
            oracle.clone(),
            oracle.clone(),
            formica_consensus::epochs::AddressedPeers(oracle),
        )
        .await
        {
            Ok(validator) => validator,
            Err(error) => {
                error!(%error, "cannot open the indexes");
                eprintln!("{STOPPED_MESSAGE}: cannot open the indexes ({error}). {}", recovery_hint(&config.data_dir));
                std::process::exit(1);
            }
        };

        let backend = Arc::new(NodeBackend::new(&validator, peer_counter(context.child("peers"))));
        let admin_server = match &admin {
            Some(admin) => {
                let identity = NodeIdentity {
                    name: config.name.clone(),
                    p2p_listen: config.p2p_listen.to_string(),
                    rpc_listen: config.rpc_listen.to_string(),
                    metrics_listen: config.metrics_listen.to_string(),
                    data_dir: config.data_dir.display().to_string(),
                    mempool_capacity: config.mempool.transactions_max as u64,
                    mempool_per_sender_max: config.mempool.per_sender_max as u64,
                };
                let node_admin = Arc::new(NodeAdmin::new(backend.clone(), identity));
                match formica_rpc::admin::serve_admin(node_admin, admin.clone()).await {
                    Ok(server) => Some(server),
                    Err(error) => {
                        error!(%error, "cannot start the admin RPC server");
                        std::process::exit(1);
                    }
                }
            }
            None => None,
        };
        let rpc = formica_rpc::ServerConfig {
            listen_address: config.rpc_listen,
            max_request_body_bytes: config.rpc.max_request_body_bytes,
            max_response_body_bytes: config.rpc.max_response_body_bytes,
            max_connections: config.rpc.max_connections,
            max_subscriptions_per_connection: config.rpc.max_subscriptions_per_connection,
            batch_requests_max: config.rpc.batch_requests_max,
            transaction_limits: validator.block_limits.transaction,
            rate_limit: config.rpc.rate_limit(),
            request_head_timeout: Duration::from_millis(config.rpc.request_head_timeout_ms),
            request_timeout: Duration::from_millis(config.rpc.request_timeout_ms),
        };
        let server = match formica_rpc::serve(backend, rpc).await {
            Ok(server) => server,
            Err(error) => {
                error!(%error, "cannot start the RPC server");
                std::process::exit(1);
            }
        };
        info!(rpc = %server.http_url(), metrics = %config.metrics_listen, p2p = %config.p2p_listen, "node running");
        wait_for_shutdown().await;
        info!("shutting down");
        let _ = server.handle.stop();
        if let Some(admin_server) = admin_server {
            let _ = admin_server.handle.stop();
        }
    });
    Ok(())
}

async fn wait_for_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("installing a SIGTERM handler works on Unix");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
