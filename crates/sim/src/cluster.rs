//! A network of validators on the deterministic runtime and the simulated network: the real
//! validator composition for honest nodes, commonware's Byzantine simplex actors for the others,
//! and the levers faults pull (links, crashes, restarts).

use crate::{
    plan::TwinSide,
    wire::{self, TwinRoutes},
};
use commonware_consensus::{
    simplex::{
        elector::RoundRobin,
        mocks::{conflicter, equivocator, nuller, relay::Relay},
    },
    types::Epoch,
};
use commonware_cryptography::{Sha256, Signer as _, ed25519::PrivateKey};
use commonware_p2p::{
    Manager as _,
    simulated::{self, Link, Network, Oracle, SplitForwarder},
    utils::mux::Muxer,
};
use commonware_runtime::{Handle, Quota, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use formica_consensus::{
    FaultInjection, SigningScheme,
    engine::{self, Channels, Timeouts},
};
use formica_mempool::Mempool;
use formica_node::{Chain, ChainHead, StateReader, ValidatorConfig, validator};
use formica_state::Indexes;
use formica_types::PublicKey;
use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

pub use crate::wire::VoteLog;

/// The runtime every simulated node runs on.
pub type Context = deterministic::Context;

/// How a Byzantine validator misbehaves: commonware's simplex mocks, or twins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Byzantine {
    /// Answers every notarize and finalize vote it sees with two of its own: one for a random
    /// digest and one for the digest it saw (equivocation on every view).
    Conflicter,
    /// Answers every notarize vote it sees with a nullify vote for its view and a finalize vote
    /// for its proposal (a nullify and a finalize in one view); never notarizes.
    Nuller,
    /// An equivocating proposer: after a notarization or finalization of the view before one it
    /// leads, it signs a notarize vote (its proposal) for one made-up payload and sends it to
    /// one validator, and one for another payload to all the others; it casts no other vote.
    /// Its payloads are random digests, never Formica blocks, so honest nodes cannot fetch or
    /// verify them and the view times out.
    Equivocator,
    /// Two copies of the real node run with this validator's key, each with its own storage,
    /// each reaching only the validators on its side of a split the plan redraws
    /// ([`TwinSide`]). Each copy behaves honestly, so the key proposes two different valid
    /// blocks when it leads and signs conflicting votes; validators on both sides see both.
    Twins,
    /// The real node, with one fault: every block it proposes carries a state root other than
    /// the one its transactions give (well formed, signed, and invalid). Honest nodes must
    /// refuse each (their `blocks_refused` counter moves) and the view times out; otherwise it
    /// follows the chain honestly, in every epoch, and must agree with it on every block.
    InvalidProposer,
}

/// The copy number the invalid proposer's one node runs as: it is named and its metrics are
/// labelled like a twin's copy, so it is never read as an honest node.
const INVALID_PROPOSER_COPY: usize = 0;

/// The handles of a running honest validator the harness reads from.
#[derive(Clone)]
pub struct NodeView {
    pub mempool: Mempool<StateReader<Context>>,
    pub indexes: Indexes,
    pub head: ChainHead,
    pub state: StateReader<Context>,
}

enum Slot {
    /// Boxed: a running node's handles are far larger than the other variant.
    Honest { running: Option<Box<(NodeView, Handle<()>)>>, incarnation: u32 },
    Byzantine {
        _tasks: Vec<Handle<()>>,
        /// The copies of a twin (empty for a mock).
        copies: Vec<NodeView>,
    },
}

/// The network and its validators.
pub struct Cluster {
    context: Context,
    oracle: Oracle<PublicKey, Context>,
    pub keys: Vec<PrivateKey>,
    pub chain: Chain,
    directory: PathBuf,
    slots: Vec<Slot>,
    /// Every vote seen leaving a validator (honest, mock or twin copy).
    pub votes: VoteLog,
    /// Every vote from a Byzantine validator seen reaching an honest one.
    pub delivered: VoteLog,
    /// The keys of the Byzantine validators (the senders `delivered` records).
    byzantine_keys: Arc<Vec<PublicKey>>,
    twin_routes: TwinRoutes,
    faults: FaultInjection,
    /// Per validator: the chain it believes in (a broken-build test skews one).
    chains: Vec<Chain>,
}

const QUOTA_PER_SECOND: u32 = 10_000;

/// The channels of one validator, in the order [`Cluster::register`] registers them.
type Registered = Vec<(simulated::Sender<PublicKey, Context>, simulated::Receiver<PublicKey>)>;

/// The channels a node runs on, once their senders are wrapped by a forwarder.
type NodeChannels<F> = Vec<(simulated::SplitSender<PublicKey, Context, F>, simulated::Receiver<PublicKey>)>;

impl Cluster {
    /// Starts the network and every validator: `byzantine[i]` replaces validator `i`'s engine
    /// with a Byzantine actor. `chains[i]` is the chain validator `i` runs (normally all equal).
    pub async fn start(
        context: &Context,
        keys: Vec<PrivateKey>,
        chains: Vec<Chain>,
        byzantine: &[Option<Byzantine>],
        directory: PathBuf,
        faults: FaultInjection,
    ) -> Self {
        let chain = chains[0].clone();
        let limits = validator::block_limits(&chain);
        let (network, oracle) = Network::new(
            context.child("network"),
            simulated::Config {
                max_size: engine::max_message_bytes(&limits),
                max_peers_per_set: NZUsize!(16),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
        );
        network.start();
        let public_keys: Vec<PublicKey> = keys.iter().map(|key| key.public_key()).collect();
        oracle.manager().track(0, Set::from_iter_dedup(public_keys.iter().cloned()));
        let byzantine_keys = (0..keys.len())
            .filter(|index| byzantine.get(*index).copied().flatten().is_some())
            .map(|index| public_keys[index].clone())
            .collect();
        let mut cluster = Self {
            context: context.child("cluster"),
            oracle,
            keys,
            chain,
            directory,
            slots: Vec::new(),
            votes: Arc::new(Mutex::new(Vec::new())),
            delivered: Arc::new(Mutex::new(Vec::new())),
            byzantine_keys: Arc::new(byzantine_keys),
            twin_routes: TwinRoutes::new(public_keys),
            faults,
            chains,
        };
        for index in 0..cluster.keys.len() {
            let slot = match byzantine.get(index).copied().flatten() {
                Some(Byzantine::Twins) => cluster.start_twins(index).await,
                Some(Byzantine::InvalidProposer) => cluster.start_invalid_proposer(index).await,
                Some(behaviour) => cluster.start_mock(index, behaviour).await,
                None => Slot::Honest { running: None, incarnation: 0 },
            };
            cluster.slots.push(slot);
            if matches!(cluster.slots[index], Slot::Honest { .. }) {
                cluster.restart(index).await;
            }
        }
        cluster
    }

    /// Number of validators.
    pub fn size(&self) -> usize {
        self.keys.len()
    }

    /// The index of validator `index`'s key in the consensus participant set (which is ordered
    /// by public key, not by the genesis file): the signer index its votes carry.
    pub fn signer_index(&self, index: usize) -> u32 {
        let participants = Set::from_iter_dedup(self.keys.iter().map(|key| key.public_key()));
        let key = self.keys[index].public_key();
        let position = participants.iter().position(|participant| *participant == key);
        position.expect("every validator is a participant") as u32
    }

    /// Whether validator `index` runs the real node.
    pub fn is_honest(&self, index: usize) -> bool {
        matches!(self.slots[index], Slot::Honest { .. })
    }

    /// The handles of validator `index` if it is honest and running.
    pub fn view(&self, index: usize) -> Option<&NodeView> {
        match &self.slots[index] {
            Slot::Honest { running: Some(running), .. } => Some(&running.0),
            _ => None,
        }
    }

    /// The handles of both copies of validator `index` if it is a twin.
    pub fn twin_copies(&self, index: usize) -> &[NodeView] {
        match &self.slots[index] {
            Slot::Byzantine { copies, .. } => copies,
            Slot::Honest { .. } => &[],
        }
    }

    /// Which copy of every twin each validator reaches from now on.
    pub fn set_twin_sides(&self, sides: &[TwinSide]) {
        self.twin_routes.set(sides);
    }

    /// Registers every channel of validator `index` (a registration replaces the one before).
    async fn register(&self, index: usize) -> Registered {
        let control = self.oracle.control(self.keys[index].public_key());
        let quota = Quota::per_second(NZU32!(QUOTA_PER_SECOND));
        let mut channels = Vec::new();
        for id in [
            engine::CHANNEL_VOTES,
            engine::CHANNEL_CERTIFICATES,
            engine::CHANNEL_RESOLVER,
            engine::CHANNEL_BACKFILL,
            engine::CHANNEL_BROADCAST,
            engine::CHANNEL_STATE_SYNC,
            engine::CHANNEL_TRANSACTIONS,
        ] {
            channels.push(control.register(id, quota).await.expect("the simulated network is running"));
        }
        channels
    }

    /// Validator `index`'s channels with its outbound votes tapped and, for an honest one in a
    /// network with Byzantine validators, its inbound votes from them too.
    async fn register_tapped(&self, index: usize, honest: bool) -> NodeChannels<impl SplitForwarder<PublicKey>> {
        let mut channels = Vec::new();
        for (position, (sender, receiver)) in self.register(index).await.into_iter().enumerate() {
            let votes = position == 0;
            let (sender, _secondary) = sender.split_with(wire::tap(votes.then(|| self.votes.clone())));
            let receiver = if votes && honest && !self.byzantine_keys.is_empty() {
                let context = self.context.child("delivered_tap").with_attribute("index", index);
                let router = wire::delivered_tap(self.byzantine_keys.clone(), self.delivered.clone());
                receiver.split_with(context, router).0
            } else {
                receiver
            };
            channels.push((sender, receiver));
        }
        channels
    }

    /// The epoch-0 subchannel of a consensus channel (honest nodes frame consensus traffic by
    /// epoch; the mocks speak in epoch 0 only, which covers most of the fault phase).
    async fn epoch_zero(
        &self,
        index: usize,
        (sender, receiver): (
            simulated::SplitSender<PublicKey, Context, impl SplitForwarder<PublicKey>>,
            simulated::Receiver<PublicKey>,
        ),
    ) -> (impl commonware_p2p::Sender<PublicKey = PublicKey>, impl commonware_p2p::Receiver<PublicKey = PublicKey>)
    {
        let (mux, mut handle) =
            Muxer::new(self.context.child("byzantine_mux").with_attribute("index", index), sender, receiver);
        mux.start();
        handle.register(0).await.expect("a fresh muxer registers epoch 0")
    }

    async fn start_mock(&self, index: usize, behaviour: Byzantine) -> Slot {
        let mut channels = self.register_tapped(index, false).await.into_iter();
        let votes = channels.next().expect("the vote channel is registered first");
        let certificates = channels.next().expect("the certificate channel is registered second");
        let votes = self.epoch_zero(index, votes).await;
        let participants = Set::from_iter_dedup(self.keys.iter().map(|key| key.public_key()));
        let scheme = SigningScheme::signer(&self.chain.namespace(), participants, self.keys[index].clone())
            .expect("the key is in the validator set");
        let context = self.context.child("byzantine").with_attribute("index", index);
        let task = match behaviour {
            Byzantine::Conflicter => {
                conflicter::Conflicter::<_, _, Sha256>::new(context, conflicter::Config { scheme }).start(votes)
            }
            Byzantine::Nuller => nuller::Nuller::<_, _, Sha256>::new(context, nuller::Config { scheme }).start(votes),
            Byzantine::Equivocator => {
                let certificates = self.epoch_zero(index, certificates).await;
                // The mock hands its made-up payloads to a relay for mock applications; no
                // Formica node listens to it, so honest nodes only ever see the digests.
                let config = equivocator::Config {
                    scheme,
                    elector: RoundRobin::<Sha256>::default(),
                    epoch: Epoch::zero(),
                    relay: Arc::new(Relay::new()),
                };
                equivocator::Equivocator::<_, _, _, Sha256>::new(context, config).start(votes, certificates)
            }
            Byzantine::Twins | Byzantine::InvalidProposer => {
                unreachable!("twins and the invalid proposer run the real node")
            }
        };
        Slot::Byzantine { _tasks: vec![task], copies: Vec::new() }
    }

    /// Starts both copies of twin `index`: one registration of the key's channels, each sender
    /// and receiver split in two by the twin routes, each copy a real node with its own storage.
    async fn start_twins(&self, index: usize) -> Slot {
        let me = self.keys[index].public_key();
        let (mut first, mut second) = (Vec::new(), Vec::new());
        for (position, (sender, receiver)) in self.register(index).await.into_iter().enumerate() {
            let votes = (position == 0).then(|| self.votes.clone());
            let forwarder = wire::twin_forwarder(me.clone(), votes, self.twin_routes.clone());
            let (sender_first, sender_second) = sender.split_with(forwarder);
            let context = self.context.child("twin_router").with_attribute("index", index);
            let (receiver_first, receiver_second) =
                receiver.split_with(context, wire::twin_router(self.twin_routes.clone()));
            first.push((sender_first, receiver_first));
            second.push((sender_second, receiver_second));
        }
        let mut tasks = Vec::new();
        let mut copies = Vec::new();
        for (copy, channels) in [first, second].into_iter().enumerate() {
            let (view, task) = self.spawn_node(index, Some(copy), 1, self.faults, channels).await;
            tasks.push(task);
            copies.push(view);
        }
        Slot::Byzantine { _tasks: tasks, copies }
    }

    /// Starts the invalid proposer `index`: the real node, proposing blocks with a wrong state
    /// root. Its handles are kept as its one "copy" so its blocks are checked like a twin's.
    async fn start_invalid_proposer(&self, index: usize) -> Slot {
        let channels = self.register_tapped(index, false).await;
        let faults = FaultInjection { propose_wrong_state_root: true, ..self.faults };
        let (view, task) = self.spawn_node(index, Some(INVALID_PROPOSER_COPY), 1, faults, channels).await;
        Slot::Byzantine { _tasks: vec![task], copies: vec![view] }
    }

    /// Crashes validator `index`: every task of it stops at once, as if the process were killed.
    /// What it had written to storage stays (a process crash, not a power loss).
    pub fn crash(&mut self, index: usize) {
        if let Slot::Honest { running, .. } = &mut self.slots[index]
            && let Some(running) = running.take()
        {
            running.1.abort();
        }
    }

    /// Whether validator `index` is honest and running.
    pub fn is_up(&self, index: usize) -> bool {
        self.view(index).is_some()
    }

    /// Starts (or restarts) honest validator `index` from whatever its storage holds.
    pub async fn restart(&mut self, index: usize) {
        let Slot::Honest { running: None, incarnation } = &self.slots[index] else {
            return;
        };
        let incarnation = *incarnation + 1;
        let channels = self.register_tapped(index, true).await;
        let (view, task) = self.spawn_node(index, None, incarnation, self.faults, channels).await;
        self.slots[index] = Slot::Honest { running: Some(Box::new((view, task))), incarnation };
    }

    /// Starts the real node of validator `index` (`copy`: which copy of a twin) on `channels`
    /// and waits for its handles. Its storage (runtime partitions and index directory) is its
    /// own: a twin's copies share nothing but the key.
    async fn spawn_node<F: SplitForwarder<PublicKey>>(
        &self,
        index: usize,
        copy: Option<usize>,
        incarnation: u32,
        faults: FaultInjection,
        channels: NodeChannels<F>,
    ) -> (NodeView, Handle<()>) {
        let mut channels = channels.into_iter();
        let mut next = || channels.next().expect("every channel was registered");
        let engine_channels = Channels {
            votes: next(),
            certificates: next(),
            resolver: next(),
            backfill: next(),
            broadcast: next(),
            state_sync: next(),
        };
        let gossip = next();
        let name = match copy {
            None => format!("validator-{index}"),
            Some(copy) => format!("validator-{index}-twin-{copy}"),
        };
        let config = ValidatorConfig {
            signer: self.keys[index].clone(),
            index_directory: self.directory.join(&name),
            partition_prefix: name,
            mempool: formica_mempool::Config::default(),
            timeouts: Timeouts::default(),
            mailbox_size: NZUsize!(1_024),
            retained_blocks: 1_000,
            page_cache_mib: NZUsize!(32),
            gossip_queue: 1_024,
            subscriber_buffer: 64,
            faults,
        };
        let chain = self.chains[index].clone();
        let manager = self.oracle.manager();
        let control = self.oracle.control(self.keys[index].public_key());
        let (sender, receiver) = futures::channel::oneshot::channel();
        // Twins are named apart so their metrics are not read as an honest node's.
        let context = match copy {
            None => self.context.child("validator"),
            Some(copy) => self.context.child("twin").with_attribute("copy", copy),
        };
        let task = context.with_attribute("index", index).with_attribute("incarnation", incarnation).spawn(
            move |context| async move {
                let tracker = formica_consensus::epochs::KeyedPeers(manager.clone());
                let validator =
                    validator::start(context, chain, config, engine_channels, gossip, manager, control, tracker)
                        .await
                        .expect("the validator's indexes open");
                let view = NodeView {
                    mempool: validator.mempool.clone(),
                    indexes: validator.indexes.clone(),
                    head: validator.head.clone(),
                    state: validator.state.clone(),
                };
                // The harness may have stopped waiting (it never does before the run ends).
                let _ = sender.send(view);
                // The validator lives as long as this task: aborting the task crashes it.
                futures::future::pending::<()>().await;
                drop(validator);
            },
        );
        let view = receiver.await.expect("the validator task sends its handles before anything else");
        (view, task)
    }

    /// Sets the link from every validator in `from` to every validator in `to` (both ways);
    /// `None` cuts them.
    pub async fn set_links(&self, from: &[usize], to: &[usize], link: Option<&Link>) {
        for &a in from {
            for &b in to {
                if a == b {
                    continue;
                }
                for (sender, receiver) in [(a, b), (b, a)] {
                    let (sender, receiver) = (self.keys[sender].public_key(), self.keys[receiver].public_key());
                    match link {
                        Some(link) => {
                            // The simulated network refuses to replace a link: remove it first
                            // (a missing link is not an error here).
                            let _ = self.oracle.remove_link(sender.clone(), receiver.clone()).await;
                            self.oracle.add_link(sender, receiver, link.clone()).await.expect("link is valid");
                        }
                        // Cutting a link that is already cut is not an error here.
                        None => {
                            let _ = self.oracle.remove_link(sender, receiver).await;
                        }
                    }
                }
            }
        }
    }

    /// Every validator linked to every other with `link`.
    pub async fn connect_all(&self, link: &Link) {
        let all: Vec<usize> = (0..self.size()).collect();
        self.set_links(&all, &all, Some(link)).await;
    }
}

/// A healthy link: a LAN-like latency with a little jitter, nothing lost.
pub fn healthy_link() -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: commonware_utils::probability!(1.0),
    }
}
