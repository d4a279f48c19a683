//! Epochs: one simplex instance per epoch, each with the committee the previous epoch's last
//! block named.
//!
//! The chain is cut into epochs of `epoch_blocks` heights. The last block of an epoch carries
//! the node registry after it ([`Header::next_nodes`](formica_types::Header)); every validator
//! re-executes the block and refuses it if the registry differs from its own. Once that block is
//! finalized and applied, the [`Orchestrator`] on every node:
//!
//! 1. installs the next epoch's signing scheme in [`Committees`] (marshal verifies finalization
//!    certificates of that epoch with it; a node outside the committee gets a verify-only one),
//! 2. hands the p2p layer the new peer sets (validators primary, observers secondary),
//! 3. starts the next epoch's simplex engine from the boundary block, on the epoch's own
//!    subchannel of the vote, certificate and resolver channels, with the consensus timeouts
//!    the boundary block states ([`Header::epoch_timeouts`](formica_types::Header), a chain
//!    parameter changed by vote),
//! 4. stops the previous epoch's engine: a removed or rotated-out key is no longer obeyed.
//!
//! Only then is the boundary block acknowledged, so a crash at any point replays the transition.
//! On restart the epoch is recovered from marshal's processed height and the committee and
//! timeouts from the stored boundary block (marshal keeps at least an epoch of blocks for this).
//!
//! Entering epoch `e` removes epoch `e - 2`'s simplex journal (its own storage partition), so a
//! node keeps at most two epochs of consensus journals.
//!
//! A node behind by a whole epoch learns it from votes and certificates of later epochs (the
//! muxers pass them to a backup channel): it asks their sender for the finalization of its
//! current epoch's last block, which marshal then fetches and delivers.

use crate::application::SigningScheme;
use commonware_consensus::{
    CertifiableAutomaton, Relay, Reporter,
    marshal::core::Mailbox as MarshalMailbox,
    simplex::{
        self, Floor, Plan,
        config::{ForwardPolicy, SkipPolicy},
        elector::RoundRobin,
        types::{Activity, Attributable as _, Context},
    },
    types::{Epoch, Epocher as _, FixedEpocher, Height as ConsensusHeight, ViewDelta},
};
use commonware_cryptography::{
    Sha256,
    certificate::{Provider, Scheme as _, Scoped},
    ed25519,
};
use commonware_macros::select;
use commonware_p2p::{
    Address, AddressableManager, AddressableTrackedPeers, Blocker, Manager, Receiver, Sender, TrackedPeers,
    utils::mux::{Builder as _, Muxer},
};
use commonware_parallel::Sequential;
use commonware_runtime::telemetry::metrics::{Registered, raw::Counter};
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_utils::{NZDuration, ordered::Map, ordered::Set, vec::NonEmptyVec};
use formica_types::{Block, ConsensusTimeouts, Hash, NodeRole, NodeSet, PublicKey};
use futures::{
    StreamExt,
    channel::{mpsc, oneshot},
};
use std::{
    collections::BTreeMap,
    num::NonZeroUsize,
    sync::{Arc, RwLock},
    time::Duration,
};
use tracing::{debug, info, warn};

/// How many past epochs' schemes [`Committees`] keeps for verifying their certificates.
const EPOCHS_KEPT: u64 = 8;

/// The signing scheme of each epoch this node knows, and the node registry of the current one.
/// Clones share the same maps.
#[derive(Clone)]
pub struct Committees {
    namespace: Arc<Vec<u8>>,
    signer: ed25519::PrivateKey,
    schemes: Arc<RwLock<BTreeMap<Epoch, Arc<SigningScheme>>>>,
    current: Arc<RwLock<(Epoch, NodeSet)>>,
}

impl std::fmt::Debug for Committees {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committees").field("current", &self.current()).finish()
    }
}

impl Committees {
    /// Knows nothing until [`Committees::install`]; `genesis` is reported as epoch 0's registry
    /// until then.
    pub fn new(namespace: Vec<u8>, signer: ed25519::PrivateKey, genesis: NodeSet) -> Self {
        Self {
            namespace: Arc::new(namespace),
            signer,
            schemes: Arc::new(RwLock::new(BTreeMap::new())),
            current: Arc::new(RwLock::new((Epoch::zero(), genesis))),
        }
    }

    /// Makes `nodes`' validators the committee of `epoch` and `epoch` the current one; returns
    /// the scheme (signing if this node is a member, verify-only otherwise).
    pub fn install(&self, epoch: Epoch, nodes: &NodeSet) -> Arc<SigningScheme> {
        let participants = Set::from_iter_dedup(nodes.validators());
        let scheme = Arc::new(
            SigningScheme::signer(&self.namespace, participants.clone(), self.signer.clone())
                .unwrap_or_else(|| SigningScheme::verifier(&self.namespace, participants)),
        );
        let mut schemes = self.schemes.write().expect("committee lock is never poisoned");
        schemes.insert(epoch, scheme.clone());
        while let Some((&oldest, _)) = schemes.first_key_value() {
            if oldest.get().saturating_add(EPOCHS_KEPT) > epoch.get() {
                break;
            }
            schemes.remove(&oldest);
        }
        *self.current.write().expect("committee lock is never poisoned") = (epoch, nodes.clone());
        scheme
    }

    /// The current epoch and its node registry.
    pub fn current(&self) -> (Epoch, NodeSet) {
        self.current.read().expect("committee lock is never poisoned").clone()
    }
}

impl Provider for Committees {
    type Scope = Epoch;
    type Scheme = SigningScheme;

    fn scoped(&self, epoch: Epoch) -> Option<Scoped<SigningScheme>> {
        let schemes = self.schemes.read().expect("committee lock is never poisoned");
        schemes.get(&epoch).cloned().map(Scoped::scheme)
    }
}

/// Tells the p2p layer whom to connect to in an epoch.
pub trait PeerTracker: Clone + Send + Sync + 'static {
    fn track(&mut self, epoch: Epoch, nodes: &NodeSet);
}

/// A [`PeerTracker`] for p2p layers that dial peers by address (production).
#[derive(Clone)]
pub struct AddressedPeers<M>(pub M);

impl<M> PeerTracker for AddressedPeers<M>
where
    M: AddressableManager<PublicKey = PublicKey> + Sync,
{
    fn track(&mut self, epoch: Epoch, nodes: &NodeSet) {
        let addresses = |role: NodeRole| -> Map<PublicKey, Address> {
            let entries: Vec<(PublicKey, Address)> = nodes
                .0
                .iter()
                .filter(|node| node.role == role)
                .map(|node| (node.key.clone(), Address::from(node.address.socket_addr())))
                .collect();
            entries.try_into().expect("registry keys are unique")
        };
        let peers = AddressableTrackedPeers::new(addresses(NodeRole::Validator), addresses(NodeRole::Observer));
        let _ = self.0.track(epoch.get(), peers);
    }
}

/// A [`PeerTracker`] for p2p layers that know peers by key only (the simulated network).
#[derive(Clone)]
pub struct KeyedPeers<M>(pub M);

impl<M> PeerTracker for KeyedPeers<M>
where
    M: Manager<PublicKey = PublicKey> + Sync,
{
    fn track(&mut self, epoch: Epoch, nodes: &NodeSet) {
        let peers =
            TrackedPeers::new(Set::from_iter_dedup(nodes.validators()), Set::from_iter_dedup(nodes.observers()));
        let _ = self.0.track(epoch.get(), peers);
    }
}

/// A finalized, applied block that ends an epoch, and the acknowledgement the application waits
/// for before it lets marshal forget the block.
pub struct Boundary {
    pub block: Arc<Block>,
    pub entered: oneshot::Sender<()>,
}

/// Where the application sends epoch boundaries.
#[derive(Clone)]
pub struct BoundarySender(mpsc::Sender<Boundary>);

impl BoundarySender {
    /// A channel for boundaries.
    pub fn channel() -> (Self, mpsc::Receiver<Boundary>) {
        let (sender, receiver) = mpsc::channel(4);
        (Self(sender), receiver)
    }

    /// Hands over a boundary block and waits until the next epoch's engine runs. Returns at once
    /// if the orchestrator stopped (the node is shutting down).
    pub async fn enter_next(&self, block: Arc<Block>) {
        use futures::SinkExt as _;
        let (entered, done) = oneshot::channel();
        if self.0.clone().send(Boundary { block, entered }).await.is_err() {
            return;
        }
        let _ = done.await;
    }
}

/// Simplex settings shared by every epoch.
#[derive(Clone)]
pub struct SimplexSettings {
    pub mailbox_size: NonZeroUsize,
    pub io_buffer: NonZeroUsize,
    pub page_cache: CacheRef,
    /// The node's timeouts; the leader and certification timeouts are replaced by the chain's
    /// for each epoch.
    pub timeouts: crate::engine::Timeouts,
}

/// Everything the orchestrator needs.
pub struct OrchestratorConfig<A, B, T> {
    pub committees: Committees,
    pub marshal: MarshalMailbox<SigningScheme, crate::engine::Variant>,
    /// The consensus-facing application (marshal's deferred wrapper).
    pub application: A,
    pub blocker: B,
    pub peers: T,
    pub epocher: FixedEpocher,
    pub genesis_digest: Hash,
    pub genesis_nodes: NodeSet,
    /// The genesis consensus timeouts (epoch 0's).
    pub genesis_timeouts: ConsensusTimeouts,
    pub simplex: SimplexSettings,
    pub partition_prefix: String,
    pub boundaries: mpsc::Receiver<Boundary>,
}

/// What an epoch's engine starts from: the previous epoch's last block (or genesis) as its floor,
/// the registry and the consensus timeouts that block states.
struct EpochStart {
    epoch: Epoch,
    floor: Floor<SigningScheme, Hash>,
    nodes: NodeSet,
    timeouts: ConsensusTimeouts,
}

struct ActiveEpoch {
    epoch: Epoch,
    handle: Handle<()>,
}

impl Drop for ActiveEpoch {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Runs the simplex engine of the current epoch and moves to the next at each boundary.
pub struct Orchestrator<E, A, B, T> {
    context: E,
    config: OrchestratorConfig<A, B, T>,
    evidence: Registered<Counter>,
}

/// Passes simplex's activity on to the application, and counts and logs evidence that a
/// validator signed conflicting votes: two notarize or two finalize votes for different blocks
/// in one view, or a nullify and a finalize vote in one view. Honest validators never do, even
/// across crashes (simplex journals each vote before sending it), so the counter
/// (`…_byzantine_evidence_total`) staying at zero is what the crash tests check.
#[derive(Clone)]
struct EvidenceReporter<A> {
    inner: A,
    evidence: Registered<Counter>,
    epoch: Epoch,
}

impl<A: Reporter<Activity = Activity<SigningScheme, Hash>>> Reporter for EvidenceReporter<A> {
    type Activity = Activity<SigningScheme, Hash>;

    fn report(&mut self, activity: Self::Activity) -> commonware_actor::Feedback {
        let evidence = match &activity {
            Activity::ConflictingNotarize(proof) => Some(("conflicting notarize votes", proof.signer())),
            Activity::ConflictingFinalize(proof) => Some(("conflicting finalize votes", proof.signer())),
            Activity::NullifyFinalize(proof) => Some(("a nullify and a finalize vote", proof.signer())),
            _ => None,
        };
        if let Some((kind, signer)) = evidence {
            self.evidence.inc();
            warn!(epoch = %self.epoch, ?signer, kind, "a validator signed conflicting votes in one view");
        }
        self.inner.report(activity)
    }
}

impl<E, A, B, T> Orchestrator<E, A, B, T>
where
    E: Spawner + Metrics + Clock + Storage + rand_core::CryptoRng + rand_core::Rng,
    A: CertifiableAutomaton<Context = Context<Hash, PublicKey>, Digest = Hash>
        + Relay<Digest = Hash, PublicKey = PublicKey, Plan = Plan<PublicKey>>
        + Reporter<Activity = Activity<SigningScheme, Hash>>,
    B: Blocker<PublicKey = PublicKey>,
    T: PeerTracker,
{
    pub fn new(context: E, config: OrchestratorConfig<A, B, T>) -> Self {
        let evidence = context.register(
            "byzantine_evidence",
            "Votes seen from a validator that conflict with another of its votes in the same view",
            Counter::default(),
        );
        Self { context, config, evidence }
    }

    /// Starts the orchestrator on the three consensus channels, which it multiplexes by epoch.
    /// The handle ends when the node stops.
    pub fn start<S, R>(self, votes: (S, R), certificates: (S, R), resolver: (S, R)) -> Handle<()>
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        let context = self.context.child("orchestrator");
        context.spawn(move |_| self.run(votes, certificates, resolver))
    }

    async fn run<S, R>(mut self, votes: (S, R), certificates: (S, R), resolver: (S, R))
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        let (mux, mut vote_handle, mut vote_backup) =
            Muxer::builder(self.context.child("vote_mux"), votes.0, votes.1).with_backup().build();
        mux.start();
        let (mux, mut certificate_handle, mut certificate_backup) =
            Muxer::builder(self.context.child("certificate_mux"), certificates.0, certificates.1).with_backup().build();
        mux.start();
        let (mux, mut resolver_handle) = Muxer::new(self.context.child("resolver_mux"), resolver.0, resolver.1);
        mux.start();

        let Some(start) = self.resume().await else {
            warn!("the boundary block of the current epoch is not stored; consensus cannot start");
            return;
        };
        let mut active = match self.enter(start, &mut vote_handle, &mut certificate_handle, &mut resolver_handle).await
        {
            Some(active) => active,
            None => return,
        };
        loop {
            select! {
                backup = vote_backup.recv() => {
                    let Some((their_epoch, (from, _))) = backup else { break };
                    self.behind(active.epoch, their_epoch, from);
                },
                backup = certificate_backup.recv() => {
                    let Some((their_epoch, (from, _))) = backup else { break };
                    self.behind(active.epoch, their_epoch, from);
                },
                boundary = self.config.boundaries.next() => {
                    let Some(Boundary { block, entered }) = boundary else { break };
                    let last = self.config.epocher.last(active.epoch).expect("every epoch has a last height");
                    let height = ConsensusHeight::new(block.header.height.get());
                    if height < last {
                        // Redelivered after a restart that had already entered the next epoch.
                        let _ = entered.send(());
                        continue;
                    }
                    assert_eq!(height, last, "the application skipped the last block of epoch {}", active.epoch);
                    let start = EpochStart {
                        epoch: active.epoch.next(),
                        floor: Floor::Genesis(block.hash()),
                        nodes: block.header.next_nodes.clone(),
                        timeouts: block.header.epoch_timeouts,
                    };
                    let Some(next_active) = self
                        .enter(start, &mut vote_handle, &mut certificate_handle, &mut resolver_handle)
                        .await
                    else {
                        break;
                    };
                    // Dropping the previous epoch's handle stops its engine.
                    active = next_active;
                    let _ = entered.send(());
                },
                result = &mut active.handle => {
                    match result {
                        Ok(()) => debug!(epoch = %active.epoch, "simplex engine stopped"),
                        Err(error) => warn!(epoch = %active.epoch, %error, "simplex engine ended"),
                    }
                    break;
                },
            }
        }
    }

    /// The epoch to start in, its floor, registry and timeouts, from what marshal has processed.
    async fn resume(&mut self) -> Option<EpochStart> {
        let epocher = &self.config.epocher;
        let epoch = match self.config.marshal.get_processed().await {
            None => Epoch::zero(),
            Some(processed) => {
                let height = processed.height();
                let info = epocher.containing(height).expect("every height has an epoch");
                if info.last() == height { info.epoch().next() } else { info.epoch() }
            }
        };
        let Some(previous) = epoch.previous() else {
            return Some(EpochStart {
                epoch,
                floor: Floor::Genesis(self.config.genesis_digest),
                nodes: self.config.genesis_nodes.clone(),
                timeouts: self.config.genesis_timeouts,
            });
        };
        let height = epocher.last(previous).expect("every epoch has a last height");
        let boundary = self.config.marshal.get_block(height).await?;
        let boundary = boundary.inner();
        Some(EpochStart {
            epoch,
            floor: Floor::Genesis(boundary.hash()),
            nodes: boundary.header.next_nodes.clone(),
            timeouts: boundary.header.epoch_timeouts,
        })
    }

    async fn enter<S: Sender<PublicKey = PublicKey>>(
        &mut self,
        start: EpochStart,
        votes: &mut commonware_p2p::utils::mux::MuxHandle<S>,
        certificates: &mut commonware_p2p::utils::mux::MuxHandle<S>,
        resolver: &mut commonware_p2p::utils::mux::MuxHandle<S>,
    ) -> Option<ActiveEpoch> {
        let EpochStart { epoch, floor, nodes, timeouts: chain_timeouts } = start;
        let nodes = &nodes;
        let scheme = self.config.committees.install(epoch, nodes);
        self.config.peers.track(epoch, nodes);
        let leader_timeout = Duration::from_millis(u64::from(chain_timeouts.leader_ms));
        let certification_timeout = Duration::from_millis(u64::from(chain_timeouts.certification_ms));
        let settings = &self.config.simplex;
        let engine = simplex::Engine::new(
            self.context.child("simplex").with_attribute("epoch", epoch),
            simplex::Config {
                scheme: scheme.as_ref().clone(),
                elector: RoundRobin::<Sha256>::default(),
                blocker: self.config.blocker.clone(),
                automaton: self.config.application.clone(),
                relay: self.config.application.clone(),
                reporter: EvidenceReporter {
                    inner: self.config.application.clone(),
                    evidence: self.evidence.clone(),
                    epoch,
                },
                strategy: Sequential,
                partition: format!("{}-simplex-{epoch}", self.config.partition_prefix),
                mailbox_size: settings.mailbox_size,
                epoch,
                floor,
                replay_buffer: settings.io_buffer,
                write_buffer: settings.io_buffer,
                page_cache: settings.page_cache.clone(),
                leader_timeout,
                certification_timeout,
                timeout_retry: settings.timeouts.retry,
                view_retention: ViewDelta::new(256),
                skip: SkipPolicy::Enabled {
                    timeout: skip_timeout(settings.timeouts.skip, settings.timeouts.retry, chain_timeouts),
                    budget: simplex::SkipBudget::Participants,
                },
                fetch_timeout: NZDuration!(settings.timeouts.fetch),
                fetch_retry_delay: std::time::Duration::from_millis(500),
                forward: ForwardPolicy::Disabled,
                track_historical_votes: false,
            },
        );
        let vote = votes.register(epoch.get()).await.ok()?;
        let certificate = certificates.register(epoch.get()).await.ok()?;
        let resolve = resolver.register(epoch.get()).await.ok()?;
        let handle = engine.start(vote, certificate, resolve);
        // The journal of the epoch before the previous one guards votes nobody will cast again:
        // that epoch ended and its engine stopped an epoch ago (the previous epoch's may still be
        // winding down, so it is kept until the next boundary).
        if let Some(old) = epoch.get().checked_sub(2) {
            let partition = format!("{}-simplex-{old}", self.config.partition_prefix);
            match self.context.remove(&partition, None).await {
                Ok(()) => debug!(%partition, "removed an old epoch's consensus journal"),
                Err(error) => debug!(%partition, %error, "no old consensus journal to remove"),
            }
        }
        let validators = nodes.validators().len();
        let member = scheme.me().is_some();
        info!(
            %epoch,
            validators,
            member,
            leader_timeout_ms = chain_timeouts.leader_ms,
            certification_timeout_ms = chain_timeouts.certification_ms,
            "entered epoch"
        );
        Some(ActiveEpoch { epoch, handle })
    }

    /// A peer sent consensus traffic of `their_epoch`: if it is ahead, ask it for the
    /// finalization of this epoch's last block.
    fn behind(&self, ours: Epoch, their_epoch: u64, from: PublicKey) {
        if their_epoch <= ours.get() {
            return;
        }
        let last = self.config.epocher.last(ours).expect("every epoch has a last height");
        debug!(%ours, their_epoch, %last, "a peer is in a later epoch; fetching this epoch's last block");
        self.config.marshal.hint_finalized(last, NonEmptyVec::new(from));
    }
}

/// The skip timeout simplex gets: the node's configured one, raised above the chain's
/// certification timeout and the retry interval when it does not exceed them. Simplex stops its
/// engine otherwise, and the certification timeout is chain-wide (genesis, then votes): a vote
/// that lengthened it past a node's skip timeout would stop that node at the next epoch.
fn skip_timeout(configured: Duration, retry: Duration, chain: ConsensusTimeouts) -> Duration {
    let leader = Duration::from_millis(u64::from(chain.leader_ms));
    let certification = Duration::from_millis(u64::from(chain.certification_ms));
    configured.max(certification + leader).max(retry + leader)
}

#[cfg(test)]
mod skip_tests {
    use super::*;

    #[test]
    fn the_skip_timeout_stays_above_every_chain_timeout() {
        let retry = Duration::from_millis(500);
        let configured = Duration::from_secs(5);
        let default = ConsensusTimeouts::default();
        assert_eq!(skip_timeout(configured, retry, default), configured, "the node's own when it is long enough");
        for (leader_ms, certification_ms) in [(30_000, 60_000), (4_000, 5_000), (50, 51), (59_999, 60_000)] {
            let chain = ConsensusTimeouts { leader_ms, certification_ms };
            chain.check().expect("valid chain timeouts");
            let skip = skip_timeout(configured, retry, chain);
            assert!(skip > Duration::from_millis(u64::from(certification_ms)), "{chain:?}: {skip:?}");
            assert!(skip > retry);
        }
        assert!(skip_timeout(Duration::from_millis(100), Duration::from_secs(1), default) > Duration::from_secs(1));
    }
}
