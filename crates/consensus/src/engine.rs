//! Wiring of one validator's consensus actors: simplex, marshal (with its block broadcast and
//! backfill resolver), the stateful executor, and the state-sync resolver.
//!
//! The engine is generic over the runtime (tokio in production, deterministic in simulation) and
//! over the p2p layer (authenticated TCP in production, the simulated network in tests): callers
//! pass registered channels, a peer provider and a blocker.

use crate::application::{FaultInjection, FinalizedObserver, FormicaApplication, SigningScheme, TransactionSource};
use crate::epochs::{BoundarySender, Committees, Orchestrator, OrchestratorConfig, PeerTracker, SimplexSettings};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{
        self,
        core::{Actor as MarshalActor, Mailbox as MarshalMailbox},
        resolver::p2p as marshal_resolver,
        standard::{Deferred, Standard},
    },
    simplex,
    types::{FixedEpocher, ViewDelta},
};
use commonware_cryptography::{Digested, Signer as _, certificate::Verifier as _, ed25519};
use commonware_glue::stateful::{
    self, PruneConfig, Stateful, SyncPlan,
    db::{SyncEngineConfig, p2p as state_resolver},
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef, telemetry::metrics::raw::Counter,
};
use commonware_storage::{archive::prunable, mmr, translator::TwoCap};
use commonware_utils::{NZDuration, NZU64, NZUsize};
use formica_execution::ChainParameters;
use formica_state::{StateDb, state_config};
use formica_types::{Block, BlockLimits, PublicKey};
use std::{num::NonZeroUsize, sync::Arc, time::Duration};

/// p2p channel of simplex votes.
pub const CHANNEL_VOTES: u64 = 0;
/// p2p channel of simplex certificates.
pub const CHANNEL_CERTIFICATES: u64 = 1;
/// p2p channel of simplex's resolver (missing certificates).
pub const CHANNEL_RESOLVER: u64 = 2;
/// p2p channel of marshal's backfill of missing blocks.
pub const CHANNEL_BACKFILL: u64 = 3;
/// p2p channel of block broadcast.
pub const CHANNEL_BROADCAST: u64 = 4;
/// p2p channel of state sync (serving state to peers that sync from a recent block).
pub const CHANNEL_STATE_SYNC: u64 = 5;
/// p2p channel of transaction gossip (owned by the mempool, listed here so ids never clash).
pub const CHANNEL_TRANSACTIONS: u64 = 6;

/// The marshal variant: whole blocks, consensus orders their digests.
pub type Variant = Standard<Block>;

/// The stateful actor's mailbox: read access to the state for RPC, and the application handle.
pub type StatefulMailbox<E, M, O> = stateful::Mailbox<E, FormicaApplication<M, O>>;

/// A node's own consensus timing. The leader and certification timeouts are chain parameters
/// ([`formica_types::ConsensusTimeouts`], set at genesis and by vote), read for each epoch.
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// How often to rebroadcast votes when a view is stuck.
    pub retry: Duration,
    /// After how long an inactive leader is skipped outright.
    pub skip: Duration,
    /// How long to wait for a peer to answer a fetch.
    pub fetch: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { retry: Duration::from_millis(500), skip: Duration::from_secs(5), fetch: Duration::from_secs(2) }
    }
}

/// What a validator's engine needs.
pub struct Config<M, O> {
    /// Consensus signature namespace (includes the chain id).
    pub namespace: Vec<u8>,
    pub signer: ed25519::PrivateKey,
    pub parameters: Arc<ChainParameters>,
    pub genesis: Block,
    pub block_limits: BlockLimits,
    /// Prefix of every storage partition of this validator.
    pub partition_prefix: String,
    pub source: M,
    pub observer: O,
    pub timeouts: Timeouts,
    /// Bound of every actor mailbox.
    pub mailbox_size: NonZeroUsize,
    /// Finalized blocks kept by marshal for peers that backfill (older ones are pruned).
    pub retained_blocks: usize,
    /// The page cache every store shares (state, blocks, consensus journals), in MiB. Reads of
    /// a state larger than it go to the operating system page by page: at 1e6 accounts a
    /// 512 MiB cache made state reads 12 times faster than 32 MiB (`formica bench state`).
    pub page_cache_mib: NonZeroUsize,
    /// Deliberate bugs for tests of the tests; [`FaultInjection::NONE`] everywhere else.
    pub faults: FaultInjection,
}

/// Registered p2p channels for the engine.
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub backfill: (S, R),
    pub broadcast: (S, R),
    pub state_sync: (S, R),
}

/// A running engine.
pub struct Engine<E, M, O>
where
    E: commonware_storage::Context + Spawner + Clock + rand_core::Rng + rand_core::CryptoRng,
    M: TransactionSource,
    O: FinalizedObserver,
{
    /// Handle of the epoch orchestrator: it ends when consensus stops.
    pub handle: Handle<()>,
    pub stateful: StatefulMailbox<E, M, O>,
    pub marshal: MarshalMailbox<SigningScheme, Variant>,
    /// The current epoch and its committee.
    pub committees: Committees,
}

const IO_BUFFER: NonZeroUsize = NZUsize!(1 << 20);

fn archive_config<C>(prefix: &str, name: &str, page_cache: CacheRef, codec_config: C) -> prunable::Config<TwoCap, C> {
    prunable::Config {
        translator: TwoCap,
        metadata_partition: format!("{prefix}-{name}-metadata"),
        key_partition: format!("{prefix}-{name}-key"),
        key_page_cache: page_cache,
        value_partition: format!("{prefix}-{name}-value"),
        compression: None,
        codec_config,
        items_per_section: NZU64!(4_096),
        key_write_buffer: IO_BUFFER,
        value_write_buffer: IO_BUFFER,
        replay_buffer: IO_BUFFER,
    }
}

/// The most bytes one p2p message of the engine may carry.
///
/// Sized for the largest committee any epoch may have, plus the epoch subchannel prefix.
pub fn max_message_bytes(block_limits: &BlockLimits) -> u32 {
    let participants = u32::from(formica_types::VALIDATORS_MAX);
    let consensus = simplex::max_payload_size::<SigningScheme, formica_types::Hash>(participants) + 10;
    // A block plus framing; state sync batches are far smaller.
    let block = block_limits.encoded_bytes_max() + 1024;
    let state = state_resolver::max_payload_size::<mmr::Family, formica_types::Hash>(
        NZU64!(1_024),
        <commonware_storage::qmdb::any::unordered::fixed::Operation<
            mmr::Family,
            formica_types::Hash,
            formica_state::StateValue,
        > as commonware_codec::FixedSize>::SIZE,
    );
    commonware_p2p::max_message_size(&[consensus, block, state])
}

/// Starts a validator's engine.
pub async fn start<E, M, O, S, R, P, B, T>(
    context: E,
    config: Config<M, O>,
    channels: Channels<S, R>,
    peers: P,
    blocker: B,
    tracker: T,
) -> Engine<E, M, O>
where
    E: commonware_storage::Context + Spawner + Clock + Storage + Metrics + rand_core::Rng + rand_core::CryptoRng,
    M: TransactionSource,
    O: FinalizedObserver,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
    T: PeerTracker,
{
    let prefix = config.partition_prefix.clone();
    let public_key = config.signer.public_key();
    let parameters = config.parameters.clone();
    let committees = Committees::new(config.namespace.clone(), config.signer.clone(), parameters.genesis_nodes.clone());
    let epocher = FixedEpocher::new(NZU64!(parameters.epoch_blocks.max(1)));
    let page_cache = formica_state::page_cache(config.page_cache_mib);
    let genesis = config.genesis.clone();

    let resolver = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: public_key.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size: config.mailbox_size,
            fetch_timeout: NZDuration!(config.timeouts.fetch),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );
    let (broadcast, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: public_key.clone(),
            mailbox_size: config.mailbox_size,
            deque_size: 16,
            priority: false,
            codec_config: config.block_limits,
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    broadcast.start(channels.broadcast);

    let finalizations = prunable::Archive::init(
        context.child("finalizations_by_height"),
        // Stored certificates come from committees of any size (up to the largest allowed).
        archive_config(
            &prefix,
            "finalizations",
            page_cache.clone(),
            SigningScheme::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .unwrap_or_else(|error| panic!("cannot open the finalizations archive: {error}"));
    let blocks = prunable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&prefix, "blocks", page_cache.clone(), config.block_limits),
    )
    .await
    .unwrap_or_else(|error| panic!("cannot open the blocks archive: {error}"));

    // State sync from peers is never requested (no floor is set): a node always replays blocks.
    let plan = SyncPlan::<E, SigningScheme, Variant>::init(context.child("sync_plan"), format!("{prefix}-")).await;
    let genesis_digest = genesis.hash();
    let (marshal_actor, marshal_mailbox, floor) = MarshalActor::<_, Variant, _, _, _, _, _>::init(
        context.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider: committees.clone(),
            epocher: epocher.clone(),
            start: plan.marshal_start(Digested::precomputed(genesis.clone(), genesis_digest)),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size: config.mailbox_size,
            view_retention: ViewDelta::new(256),
            prunable_items_per_section: NZU64!(4_096),
            page_cache: page_cache.clone(),
            replay_buffer: IO_BUFFER,
            key_write_buffer: IO_BUFFER,
            value_write_buffer: IO_BUFFER,
            block_codec_config: config.block_limits,
            max_repair: NZUsize!(64),
            max_pending_acks: NZUsize!(4),
            strategy: Sequential,
        },
    )
    .await;

    let (state_resolver_actor, state_resolver_mailbox) =
        state_resolver::Actor::<_, PublicKey, _, _, mmr::Family, StateDb<E>>::new(
            context.child("state_resolver"),
            state_resolver::Config {
                peer_provider: peers.clone(),
                blocker: blocker.clone(),
                database: None,
                mailbox_size: config.mailbox_size,
                me: Some(public_key.clone()),
                fetch_timeout: NZDuration!(config.timeouts.fetch),
                fetch_retry_delay: Duration::from_millis(100),
                max_serve_ops: NZU64!(1_024),
                priority_requests: false,
                priority_responses: false,
            },
        );
    state_resolver_actor.start(channels.state_sync);

    let (boundary_sender, boundaries) = BoundarySender::channel();
    let application = FormicaApplication::new(config.parameters.clone(), genesis.clone(), config.observer)
        .with_faults(config.faults)
        .with_boundaries(boundary_sender)
        .with_certificates(marshal_mailbox.clone())
        .with_admitted(config.source.clone())
        .with_refusals(context.register(
            "blocks_refused",
            "Proposed or finalized blocks this validator refused (header, signature, execution or root checks)",
            Counter::default(),
        ));
    // The orchestrator restarts from the stored boundary block of the current epoch, so marshal
    // keeps at least an epoch of blocks whatever the operator configured.
    let epoch_blocks = usize::try_from(parameters.epoch_blocks).unwrap_or(usize::MAX);
    let retained_blocks = config.retained_blocks.max(epoch_blocks.saturating_add(8));
    let (stateful_actor, stateful_mailbox) = Stateful::new(
        context.child("stateful"),
        stateful::Config {
            application,
            db_config: state_config(&prefix, page_cache.clone()),
            provider: config.source,
            marshal: (marshal_mailbox.clone(), floor),
            mailbox_size: config.mailbox_size,
            plan,
            resolvers: state_resolver_mailbox,
            sync_config: SyncEngineConfig {
                fetch_batch_size: NZU64!(1_024),
                apply_batch_size: NZU64!(1_024),
                max_outstanding_requests: NZUsize!(8),
            },
            prune_config: Some(PruneConfig {
                maintenance_interval: NZUsize!(64),
                retained_marshal_blocks: retained_blocks,
                retained_qmdb_blocks: 0,
            }),
            strategy: Sequential,
        },
    );

    let deferred =
        Deferred::new(context.child("deferred"), stateful_mailbox.clone(), marshal_mailbox.clone(), epocher.clone());
    marshal_actor.start(stateful_mailbox.clone(), buffer, resolver);
    stateful_actor.start();

    let orchestrator = Orchestrator::new(
        context.child("epochs"),
        OrchestratorConfig {
            committees: committees.clone(),
            marshal: marshal_mailbox.clone(),
            application: deferred,
            blocker,
            peers: tracker,
            epocher,
            genesis_digest,
            genesis_nodes: parameters.genesis_nodes.clone(),
            genesis_timeouts: parameters.consensus_timeouts,
            simplex: SimplexSettings {
                mailbox_size: config.mailbox_size,
                io_buffer: IO_BUFFER,
                page_cache,
                timeouts: config.timeouts.clone(),
            },
            partition_prefix: prefix,
            boundaries,
        },
    );
    let handle = orchestrator.start(channels.votes, channels.certificates, channels.resolver);
    Engine { handle, stateful: stateful_mailbox, marshal: marshal_mailbox, committees }
}
