//! Validator-set changes by vote on the simulated network: a fifth validator joins at an epoch
//! boundary and is needed for quorum; a validator is removed; a key is rotated and the new key
//! is needed for quorum. Blocks keep finalizing throughout.

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Handle, Quota, Runner as _, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize};
use formica_client::FinalityChecker;
use formica_client::finality::epoch_last;
use formica_consensus::engine::{self, Channels, Timeouts};
use formica_consensus::epochs::{Committees, KeyedPeers};
use formica_node::{Chain, ChainHead, ValidatorConfig, validator};
use formica_rpc::types::FinalityView;
use formica_types::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEV_SEED: u64 = 1_000;
const EPOCH_BLOCKS: u64 = 10;

fn genesis(validators: &[PrivateKey]) -> Genesis {
    let dev = PrivateKey::from_seed(DEV_SEED).public_key();
    Genesis {
        chain_id: ChainId(78),
        timestamp_ms: 0,
        validators: validators
            .iter()
            .enumerate()
            .map(|(index, key)| GenesisValidator {
                name: format!("org-{index}"),
                public_key: public_key_to_hex(&key.public_key()),
                p2p_address: format!("127.0.0.1:{}", 30_000 + index),
            })
            .collect(),
        accounts: vec![GenesisAccount { public_key: public_key_to_hex(&dev), balance: Amount(1_000_000_000) }],
        fee_per_transaction: Amount(1),
        fee_collector: AccountId::from_public_key(&dev),
        block_transactions_max: 500,
        roles: vec![],
        recovery_delay_min_blocks: Genesis::RECOVERY_DELAY_MIN_BLOCKS_DEFAULT,
        frozen_accounts_receive: true,
        // One member: its admin's proposal passes at once.
        organisations: vec![GenesisOrganisation {
            name: OrgName::new("org-dev").expect("short name"),
            admins: vec![AccountId::from_public_key(&dev)],
            admin_threshold: 1,
        }],
        approval_rule: ApprovalRule::TWO_THIRDS,
        proposal_expiry_blocks_max: Genesis::PROPOSAL_EXPIRY_BLOCKS_MAX_DEFAULT,
        account_creation_members_only: false,
        epoch_blocks: EPOCH_BLOCKS,
        consensus_timeouts: ConsensusTimeouts::default(),
        api_members_only: false,
        gas_price: formica_types::Amount::ZERO,
        tx_gas_max: Genesis::TX_GAS_MAX_DEFAULT,
        block_gas_max: Genesis::BLOCK_GAS_MAX_DEFAULT,
        block_bytes_max: Genesis::BLOCK_BYTES_MAX_DEFAULT,
    }
}

fn proposal(nonce: u64, action: GovernanceAction) -> Transaction {
    let dev = PrivateKey::from_seed(DEV_SEED);
    TransactionBody {
        chain_id: ChainId(78),
        sender: AccountId::from_public_key(&dev.public_key()),
        nonce: Nonce(nonce),
        expiry_height: Height(100_000),
        fee_limit: Amount(1),
        payload: Payload::Propose { action: Box::new(action), expiry_blocks: 100 },
    }
    .sign(&[&dev])
}

/// What the test keeps of a running node.
struct Running {
    key: PublicKey,
    head: ChainHead,
    committees: Committees,
    mempool: formica_mempool::Mempool<validator::StateReader<deterministic::Context>>,
    indexes: formica_state::Indexes,
    /// The node's RPC backend (what `formica_getFinality` answers from).
    backend: std::sync::Arc<formica_node::backend::NodeBackend<deterministic::Context>>,
    task: Handle<()>,
}

async fn start_node(
    context: &deterministic::Context,
    oracle: &Oracle<PublicKey, deterministic::Context>,
    chain: &Chain,
    key: &PrivateKey,
    name: &str,
    directory: &Path,
) -> Running {
    let control = oracle.control(key.public_key());
    let quota = Quota::per_second(NZU32!(10_000));
    let channel = async |id| control.register(id, quota).await.expect("channel registers");
    let channels = Channels {
        votes: channel(engine::CHANNEL_VOTES).await,
        certificates: channel(engine::CHANNEL_CERTIFICATES).await,
        resolver: channel(engine::CHANNEL_RESOLVER).await,
        backfill: channel(engine::CHANNEL_BACKFILL).await,
        broadcast: channel(engine::CHANNEL_BROADCAST).await,
        state_sync: channel(engine::CHANNEL_STATE_SYNC).await,
    };
    let gossip = channel(engine::CHANNEL_TRANSACTIONS).await;
    let config = ValidatorConfig {
        signer: key.clone(),
        index_directory: directory.join(name),
        partition_prefix: name.to_string(),
        mempool: formica_mempool::Config::default(),
        timeouts: Timeouts::default(),
        mailbox_size: NZUsize!(1_024),
        retained_blocks: 1_000,
        page_cache_mib: NZUsize!(32),
        gossip_queue: 1_024,
        subscriber_buffer: 64,
        faults: formica_consensus::FaultInjection::NONE,
    };
    let manager = oracle.manager();
    let chain = chain.clone();
    let (sender, receiver) = futures::channel::oneshot::channel();
    let task = context.child("node").with_attribute("name", name).spawn(move |context| async move {
        let tracker = KeyedPeers(manager.clone());
        let validator = validator::start(context, chain, config, channels, gossip, manager, control.clone(), tracker)
            .await
            .expect("the node starts");
        let backend =
            std::sync::Arc::new(formica_node::backend::NodeBackend::new(&validator, std::sync::Arc::new(|| 0)));
        let _ = sender.send((
            validator.head.clone(),
            validator.engine.committees.clone(),
            validator.mempool.clone(),
            validator.indexes.clone(),
            backend,
        ));
        // The node lives as long as this task: aborting the task stops it.
        futures::future::pending::<()>().await;
        drop(validator);
    });
    let (head, committees, mempool, indexes, backend) = receiver.await.expect("the node reports its handles");
    Running { key: key.public_key(), head, committees, mempool, indexes, backend, task }
}

/// Waits until every node in `nodes` has finalized `height` (fails after two simulated minutes).
async fn wait_height(context: &deterministic::Context, nodes: &[&Running], height: u64, why: &str) {
    let mut waited = Duration::ZERO;
    while nodes.iter().any(|node| node.head.get().height.get() < height) {
        let heads: Vec<u64> = nodes.iter().map(|node| node.head.get().height.get()).collect();
        assert!(waited < Duration::from_secs(120), "{why}: heights {heads:?} did not reach {height}");
        context.sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
}

/// Submits a proposal and waits until `node` has it final and successful; returns its height.
async fn pass(context: &deterministic::Context, node: &Running, transaction: Transaction) -> u64 {
    node.mempool.submit(transaction.clone()).await.expect("admitted");
    let mut waited = Duration::ZERO;
    loop {
        if let Some((_, location, receipt)) = node.indexes.transaction(&transaction.hash()).expect("index reads") {
            assert!(receipt.succeeded(), "{receipt:?}");
            return location.height.get();
        }
        assert!(waited < Duration::from_secs(60), "proposal not final");
        context.sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
}

/// What `node` serves as the finality proof of `height`, as a client receives it.
async fn finality(node: &Running, height: u64) -> Result<FinalityView, formica_rpc::BackendError> {
    use formica_rpc::Backend as _;
    let finality = node.backend.finality(Height(height)).await?.expect("the block is finalized");
    Ok(FinalityView::new(&finality).expect("a well-formed proof"))
}

/// The first height of the epoch after the one containing `height`.
fn next_epoch_start(height: u64) -> u64 {
    (height / EPOCH_BLOCKS + 1) * EPOCH_BLOCKS
}

#[test]
fn validators_join_leave_and_rotate_by_vote_at_epoch_boundaries() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = directory.path().to_path_buf();
    let runner = deterministic::Runner::timed(Duration::from_secs(900));
    runner.start(|context| async move {
        let genesis_keys: Vec<PrivateKey> = (0..4).map(PrivateKey::from_seed).collect();
        let newcomer = PrivateKey::from_seed(4);
        let rotated = PrivateKey::from_seed(5);
        let chain = Chain::from_genesis(genesis(&genesis_keys)).expect("valid genesis");
        let limits = validator::block_limits(&chain);
        let (network, oracle) = Network::new(
            context.child("network"),
            simulated::Config {
                max_size: engine::max_message_bytes(&limits),
                max_peers_per_set: NZUsize!(16),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(4),
            },
        );
        network.start();
        let link = Link {
            latency: Duration::from_millis(20),
            jitter: Duration::from_millis(5),
            success_rate: commonware_utils::probability!(1.0),
        };
        let everyone: Vec<PrivateKey> = (0..6).map(PrivateKey::from_seed).collect();
        for from in &everyone {
            for to in &everyone {
                if from.public_key() != to.public_key() {
                    oracle.add_link(from.public_key(), to.public_key(), link.clone()).await.expect("link");
                }
            }
        }
        let mut nodes = Vec::new();
        for (index, key) in genesis_keys.iter().enumerate() {
            nodes.push(start_node(&context, &oracle, &chain, key, &format!("node-{index}"), &path).await);
        }
        // The newcomer runs from the start but nobody accepts it until the registry lists it.
        nodes.push(start_node(&context, &oracle, &chain, &newcomer, "node-4", &path).await);
        wait_height(&context, &nodes[..4].iter().collect::<Vec<_>>(), 3, "genesis validators start").await;
        assert_eq!(nodes[4].head.get().height, Height(0), "an unregistered node is not served");

        // 1. Add the fifth validator. It syncs, and from the boundary on it votes: with node 0
        //    stopped, the other three genesis validators are one short of a 5-member quorum.
        let add = GovernanceAction::AddNode {
            org: OrgId(1),
            key: newcomer.public_key(),
            address: NodeAddress("127.0.0.1:30004".parse().expect("address")),
            role: NodeRole::Validator,
        };
        let added_at = pass(&context, &nodes[1], proposal(0, add)).await;
        let joined = next_epoch_start(added_at);
        wait_height(&context, &nodes.iter().collect::<Vec<_>>(), joined + 2, "the newcomer catches up").await;
        for node in &nodes {
            let (epoch, registry) = node.committees.current();
            assert!(epoch.get() >= joined / EPOCH_BLOCKS, "{} is in epoch {epoch}", public_key_to_hex(&node.key));
            assert_eq!(registry.validators().len(), 5);
        }
        nodes[0].task.abort();
        let live: Vec<&Running> = nodes[1..].iter().collect();
        let now = live.iter().map(|node| node.head.get().height.get()).max().expect("nodes");
        wait_height(&context, &live, now + EPOCH_BLOCKS + 2, "four of five (the newcomer among them) finalize").await;

        // 2. Remove the stopped validator: the committee shrinks to four at the next boundary.
        let removed_at =
            pass(&context, live[0], proposal(1, GovernanceAction::RemoveNode { key: genesis_keys[0].public_key() }))
                .await;
        wait_height(&context, &live, next_epoch_start(removed_at) + 2, "blocks after the removal").await;
        for node in &live {
            let validators = node.committees.current().1.validators();
            assert_eq!(validators.len(), 4);
            assert!(!validators.contains(&genesis_keys[0].public_key()));
        }

        // 3. Rotate node 1's key: a node with the new key takes over at the boundary; the old
        //    key is no longer obeyed, and the new one is needed once node 2 stops too.
        let rotate = GovernanceAction::RotateNode { old: genesis_keys[1].public_key(), new: rotated.public_key() };
        let rotated_at = pass(&context, live[0], proposal(2, rotate)).await;
        let successor = start_node(&context, &oracle, &chain, &rotated, "node-5", &path).await;
        let switched = next_epoch_start(rotated_at);
        let mut live: Vec<&Running> = nodes[1..].iter().collect();
        live.push(&successor);
        wait_height(&context, &live, switched + 2, "the successor catches up").await;
        nodes[1].task.abort();
        nodes[2].task.abort();
        let live = [&nodes[3], &nodes[4], &successor];
        let now = live.iter().map(|node| node.head.get().height.get()).max().expect("nodes");
        wait_height(&context, &live, now + EPOCH_BLOCKS + 2, "three of four (the new key among them) finalize").await;
        let validators = successor.committees.current().1.validators();
        assert!(validators.contains(&rotated.public_key()) && !validators.contains(&genesis_keys[1].public_key()));

        // Every surviving node holds the same block at every height.
        let lowest = live.iter().map(|node| node.head.get().height.get()).min().expect("nodes");
        for height in 1..=lowest {
            let hashes: Vec<Hash> = live
                .iter()
                .map(|node| node.indexes.block_by_height(Height(height)).expect("reads").expect("indexed").hash())
                .collect();
            assert!(hashes.iter().all(|hash| *hash == hashes[0]), "same block at height {height}");
        }

        // A light client trusting only the genesis file follows the committee through the join,
        // the removal and the rotation, and finds every block final (node 3 ran throughout).
        let mut checker = FinalityChecker::from_genesis(&genesis(&genesis_keys)).expect("trust anchor");
        for epoch in 0..lowest / EPOCH_BLOCKS {
            let boundary = epoch_last(epoch, EPOCH_BLOCKS).expect("small").get();
            let view = finality(&nodes[3], boundary).await.expect("a boundary is always certified in its epoch");
            checker.learn_next(epoch, &view).expect("the boundary is final under its epoch's committee");
        }
        let latest = checker.committee(lowest / EPOCH_BLOCKS).expect("learned").validators;
        assert!(latest.contains(&rotated.public_key()) && !latest.contains(&genesis_keys[0].public_key()));
        for height in 1..=lowest {
            let view = finality(&nodes[3], height).await.expect("node 3 holds a certificate");
            let header = checker.check(Height(height), &view).expect("final");
            assert_eq!(
                header.digest(),
                nodes[3].indexes.block_by_height(Height(height)).expect("reads").expect("indexed").hash()
            );
        }
        // A node that joined late may lack old certificates, but never serves a proof that fails.
        for height in 1..=lowest {
            if let Ok(view) = finality(&successor, height).await {
                checker.check(Height(height), &view).expect("whatever a node serves verifies");
            }
        }
    });
}
