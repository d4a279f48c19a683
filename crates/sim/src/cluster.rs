//! A network of validators on the deterministic runtime and the simulated network: the real
//! validator composition for honest nodes, commonware's Byzantine simplex actors for the others,
//! and the levers faults pull (links, crashes, restarts).

use crate::checker::{SignedVote, VoteKind};
use commonware_codec::{DecodeExt as _, ReadExt as _};
use commonware_consensus::simplex::{
    mocks::{conflicter, nuller},
    types::Vote,
};
use commonware_cryptography::{Sha256, Signer as _, ed25519::PrivateKey};
use commonware_p2p::{
    Manager as _, Recipients,
    simulated::{self, Link, Network, Oracle, SplitOrigin},
    utils::mux::Muxer,
};
use commonware_runtime::{Handle, IoBuf, Quota, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use formica_consensus::{
    FaultInjection, SigningScheme,
    engine::{self, Channels, Timeouts},
};
use formica_mempool::Mempool;
use formica_node::{Chain, ChainHead, StateReader, ValidatorConfig, validator};
use formica_state::Indexes;
use formica_types::{Hash, PublicKey};
use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

/// The runtime every simulated node runs on.
pub type Context = deterministic::Context;

/// Votes seen leaving validators, shared with the taps on their vote channels.
pub type VoteLog = Arc<Mutex<Vec<SignedVote>>>;

/// How a Byzantine validator misbehaves (commonware's simplex mocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Byzantine {
    /// Answers every notarize and finalize vote it sees with two of its own: one for a random
    /// digest and one for the digest it saw (equivocation on every view).
    Conflicter,
    /// Votes to nullify every view and never votes for a block.
    Nuller,
}

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
    Honest {
        running: Option<Box<(NodeView, Handle<()>)>>,
        incarnation: u32,
    },
    Byzantine {
        _task: Handle<()>,
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
    pub votes: VoteLog,
    faults: FaultInjection,
    /// Per validator: the chain it believes in (a broken-build test skews one).
    chains: Vec<Chain>,
}

const QUOTA_PER_SECOND: u32 = 10_000;

/// A tap on a validator's outbound messages: vote-channel messages (an epoch subchannel varint,
/// then the vote) are decoded and recorded, every message goes on to its recipients unchanged.
fn tap(
    votes: Option<VoteLog>,
) -> impl Fn(SplitOrigin, &Recipients<PublicKey>, &IoBuf) -> Option<Recipients<PublicKey>> + Send + Sync + Clone + 'static
{
    move |_, recipients, message| {
        let mut body = message.clone();
        if let Some(votes) = &votes
            && let Ok(epoch) = commonware_codec::varint::UInt::<u64>::read(&mut body)
            && let Ok(vote) = Vote::<SigningScheme, Hash>::decode(body)
        {
            let epoch = epoch.0;
            let record = match &vote {
                Vote::Notarize(notarize) => SignedVote {
                    epoch,
                    signer: notarize.attestation.signer.get(),
                    view: notarize.proposal.round.view().get(),
                    kind: VoteKind::Notarize,
                    payload: Some(notarize.proposal.payload),
                },
                Vote::Nullify(nullify) => SignedVote {
                    epoch,
                    signer: nullify.attestation.signer.get(),
                    view: nullify.round.view().get(),
                    kind: VoteKind::Nullify,
                    payload: None,
                },
                Vote::Finalize(finalize) => SignedVote {
                    epoch,
                    signer: finalize.attestation.signer.get(),
                    view: finalize.proposal.round.view().get(),
                    kind: VoteKind::Finalize,
                    payload: Some(finalize.proposal.payload),
                },
            };
            votes.lock().expect("vote log lock is never poisoned").push(record);
        }
        Some(recipients.clone())
    }
}

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
        oracle.manager().track(0, Set::from_iter_dedup(keys.iter().map(|key| key.public_key())));
        let mut cluster = Self {
            context: context.child("cluster"),
            oracle,
            keys,
            chain,
            directory,
            slots: Vec::new(),
            votes: Arc::new(Mutex::new(Vec::new())),
            faults,
            chains,
        };
        for index in 0..cluster.keys.len() {
            let slot = match byzantine.get(index).copied().flatten() {
                Some(behaviour) => cluster.start_byzantine(index, behaviour).await,
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

    async fn register(
        &self,
        index: usize,
        votes: Option<VoteLog>,
    ) -> Vec<(
        simulated::SplitSender<PublicKey, Context, impl simulated::SplitForwarder<PublicKey>>,
        simulated::Receiver<PublicKey>,
    )> {
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
            let (sender, receiver) = control.register(id, quota).await.expect("the simulated network is running");
            let forwarder = tap(if id == engine::CHANNEL_VOTES { votes.clone() } else { None });
            let (primary, _secondary) = sender.split_with(forwarder);
            channels.push((primary, receiver));
        }
        channels
    }

    async fn start_byzantine(&self, index: usize, behaviour: Byzantine) -> Slot {
        let mut channels = self.register(index, Some(self.votes.clone())).await;
        channels.truncate(1);
        let (sender, receiver) = channels.pop().expect("the vote channel was registered first");
        // Honest nodes frame consensus traffic by epoch; the Byzantine actor speaks in epoch 0
        // only (the simulation's epochs are long enough to cover most of the fault phase).
        let (mux, mut handle) =
            Muxer::new(self.context.child("byzantine_mux").with_attribute("index", index), sender, receiver);
        mux.start();
        let votes = handle.register(0).await.expect("a fresh muxer registers epoch 0");
        let participants = Set::from_iter_dedup(self.keys.iter().map(|key| key.public_key()));
        let scheme = SigningScheme::signer(&self.chain.namespace(), participants, self.keys[index].clone())
            .expect("the key is in the validator set");
        let context = self.context.child("byzantine").with_attribute("index", index);
        let task = match behaviour {
            Byzantine::Conflicter => {
                conflicter::Conflicter::<_, _, Sha256>::new(context, conflicter::Config { scheme }).start(votes)
            }
            Byzantine::Nuller => nuller::Nuller::<_, _, Sha256>::new(context, nuller::Config { scheme }).start(votes),
        };
        Slot::Byzantine { _task: task }
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
        let mut channels = self.register(index, Some(self.votes.clone())).await.into_iter();
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
        let config = ValidatorConfig {
            signer: self.keys[index].clone(),
            index_directory: self.directory.join(format!("validator-{index}")),
            partition_prefix: format!("validator-{index}"),
            mempool: formica_mempool::Config::default(),
            timeouts: Timeouts::default(),
            mailbox_size: NZUsize!(1_024),
            retained_blocks: 1_000,
            gossip_queue: 1_024,
            subscriber_buffer: 64,
            faults: self.faults,
        };
        let chain = self.chains[index].clone();
        let manager = self.oracle.manager();
        let control = self.oracle.control(self.keys[index].public_key());
        let (sender, receiver) = futures::channel::oneshot::channel();
        let task = self
            .context
            .child("validator")
            .with_attribute("index", index)
            .with_attribute("incarnation", incarnation)
            .spawn(move |context| async move {
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
            });
        let view = receiver.await.expect("the validator task sends its handles before anything else");
        self.slots[index] = Slot::Honest { running: Some(Box::new((view, task))), incarnation };
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
