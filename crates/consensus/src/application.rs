//! Formica's block logic as a `commonware-glue` stateful application: build, verify, execute and
//! observe blocks on speculative QMDB batches.

use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_cryptography::{Digest as _, Signer as _, ed25519};
use commonware_glue::stateful::{
    Application, Finality, Input, Proposed,
    db::{DatabaseSet, Merkleized as _},
};
use commonware_runtime::{
    Clock, Spawner,
    telemetry::metrics::{Registered, raw::Counter},
};
use commonware_storage::{mmr::Location, qmdb::sync::Target};
use commonware_utils::range::NonEmptyRange;
use formica_execution::{ChainParameters, Merkleized};
use formica_state::StateDatabases;
use formica_types::{
    AccountId, Block, BlockContext, Hash, Header, Height, Nonce, Receipt, Transaction, receipts_root, transactions_root,
};
use futures::StreamExt;
use rand_core::Rng;
use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, UNIX_EPOCH},
};
use tracing::{debug, info, warn};

/// How far ahead of a validator's clock a block timestamp may be before it refuses the block.
pub const TIMESTAMP_DRIFT_MAX: Duration = Duration::from_secs(5);

/// How long a leader with an empty pool waits for transactions before proposing an empty block.
/// An idle chain then makes about two blocks a second instead of as many as the network allows;
/// under load blocks are proposed at once. Must stay well below the leader timeout.
pub const EMPTY_BLOCK_WAIT: Duration = Duration::from_millis(500);

/// How long a leader aims to spend building a block. Every other validator spends about as long
/// verifying it, on a critical path bounded by the leader and certification timeouts; a block
/// sized only by the genesis limit can outgrow them when the machine is loaded, every view then
/// times out, and the chain stalls with a full pool. The proposer sizes its blocks from the
/// time per transaction of its recent builds ([`Pace`]).
pub const BUILD_BUDGET: Duration = Duration::from_millis(250);

/// The fewest candidates a proposer takes when the genesis limit allows more, however slow its
/// recent builds were.
pub const PACED_TRANSACTIONS_MIN: usize = 500;

/// A proposer's recent build time per transaction (a moving average), which caps how many
/// candidates it takes. Local and advisory: it changes what this validator proposes, never
/// what any validator accepts.
#[derive(Clone, Default)]
pub struct Pace(Arc<std::sync::atomic::AtomicU64>);

impl Pace {
    /// Builds of fewer transactions than this say little about the time per transaction.
    const SAMPLE_MIN: usize = 100;

    /// Records a build of `transactions` that took `elapsed`.
    pub fn record(&self, transactions: usize, elapsed: Duration) {
        if transactions < Self::SAMPLE_MIN {
            return;
        }
        let per_transaction = u64::try_from(elapsed.as_nanos() / transactions as u128).unwrap_or(u64::MAX).max(1);
        let previous = self.0.load(std::sync::atomic::Ordering::Relaxed);
        let average = if previous == 0 {
            per_transaction
        } else {
            previous.saturating_mul(3).saturating_add(per_transaction) / 4
        };
        self.0.store(average, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many candidates to take, given the genesis limit `limit`.
    pub fn limit(&self, limit: usize) -> usize {
        let per_transaction = self.0.load(std::sync::atomic::Ordering::Relaxed);
        if per_transaction == 0 {
            return limit;
        }
        let paced = usize::try_from(BUILD_BUDGET.as_nanos() as u64 / per_transaction).unwrap_or(usize::MAX);
        paced.max(PACED_TRANSACTIONS_MIN).min(limit)
    }
}

/// How often a leader waiting for transactions looks at the pool again.
const EMPTY_POOL_POLL: Duration = Duration::from_millis(10);

/// The most not-yet-finalized ancestors a proposer reads to skip what they already include.
/// Normally one to three blocks separate a proposal from the pool's finalized height; beyond
/// this many, older inclusions are left to block building to drop.
pub const PENDING_ANCESTORS_MAX: usize = 32;

/// Where a proposer gets transactions from (the mempool).
pub trait TransactionSource: Clone + Send + Sync + 'static {
    /// Up to `limit` transactions to propose, in the order to include them. Their signatures
    /// were verified at admission. `pending` holds, per sender, the next nonce after the blocks
    /// between the source's finalized height and the proposal's parent: a sender's transactions
    /// below it are in those blocks already and are skipped.
    fn candidates(
        &self,
        limit: usize,
        pending: &BTreeMap<AccountId, Nonce>,
    ) -> impl Future<Output = Vec<Transaction>> + Send;

    /// The height of the last finalized block the source has removed from its pool.
    fn finalized_height(&self) -> Height;

    /// For each of `transactions`, whether the source holds exactly it, signatures included,
    /// having verified its signatures when it admitted it. A block's verification checks only
    /// the others: a signature's validity does not depend on state, so checking the same bytes
    /// twice cannot change the verdict.
    fn admitted(&self, transactions: &[Transaction]) -> Vec<bool>;
}

/// The quorum certificate that finalized a block: the finalize votes of at least two thirds of
/// its epoch's committee on the block's digest, under the chain's consensus namespace.
pub type FinalizationCertificate = commonware_consensus::simplex::types::Finalization<SigningScheme, Hash>;

/// Told about every finalized block, in height order, once its state is applied. Must make
/// whatever it records durable before returning: the block is acknowledged right after.
pub trait FinalizedObserver: Clone + Send + Sync + 'static {
    /// `finalization` is the block's own finalization certificate when this node holds one. A
    /// block finalized only through a descendant's certificate (simplex finalizes ancestors
    /// implicitly), or backfilled without its certificate, comes with `None`.
    fn finalized(
        &self,
        block: Arc<Block>,
        receipts: Arc<Vec<Receipt>>,
        finalization: Option<FinalizationCertificate>,
    ) -> impl Future<Output = ()> + Send;
}

/// Where the application finds finalization certificates: marshal's archive.
pub type CertificateSource = commonware_consensus::marshal::core::Mailbox<SigningScheme, crate::engine::Variant>;

/// The genesis block of a chain with the given parameters and validator set.
///
/// It commits to the chain through its `transactions_root`, which is the hash of the chain
/// parameters and validators: nodes with different genesis files never agree on a block.
pub fn genesis_block<E>(genesis_commitment: Hash, timeouts: formica_types::ConsensusTimeouts) -> Block
where
    E: commonware_storage::Context + Spawner,
{
    let target = <StateDatabases<E> as DatabaseSet<E>>::initial_sync_targets();
    let range =
        NonEmptyRange::new(*target.range.start()..*target.range.end()).expect("the initial state range is non-empty");
    let header = Header {
        context: BlockContext {
            round: commonware_consensus::types::Round::new(
                commonware_consensus::types::Epoch::zero(),
                commonware_consensus::types::View::zero(),
            ),
            leader: genesis_leader(),
            parent: (commonware_consensus::types::View::zero(), Hash::EMPTY),
        },
        parent: Hash::EMPTY,
        height: Height(0),
        timestamp_ms: 0,
        transactions_root: genesis_commitment,
        // The empty state: its canonical root equals nothing a proof can use, so the ops root stands in.
        state_root: target.root,
        state_ops_root: target.root,
        state_range: range,
        receipts_root: Hash::EMPTY,
        next_nodes: formica_types::NodeSet::default(),
        epoch_timeouts: timeouts,
    };
    Block::new(header, Vec::new())
}

/// The genesis block names a fixed, well-known leader: no validator proposed it.
fn genesis_leader() -> formica_types::PublicKey {
    ed25519::PrivateKey::from_seed(0).public_key()
}

/// Receipts computed while blocks were built or verified, kept until the block is finalized or
/// abandoned (bounded: entries at or below the finalized height are dropped).
type ReceiptCache = Arc<Mutex<BTreeMap<(Height, Hash), Arc<Vec<Receipt>>>>>;

/// Deliberate bugs, for testing the tests: the simulation's broken-build check installs one and
/// requires its invariant checker to fail. Production always runs [`FaultInjection::NONE`]; the
/// node's config file has no way to set a fault.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultInjection {
    /// Vote for, and apply, blocks without comparing their receipts root and state root with
    /// this node's re-execution: the "skipped vote check" a broken build could ship.
    pub skip_state_root_check: bool,
    /// Propose blocks whose header carries a state root other than the one execution gives:
    /// the Byzantine proposer of well-formed, invalid blocks the simulation runs. Every honest
    /// node must refuse such a block (and count it in `…_blocks_refused_total`).
    pub propose_wrong_state_root: bool,
}

impl FaultInjection {
    /// No fault: the only setting production uses.
    pub const NONE: Self = Self { skip_state_root_check: false, propose_wrong_state_root: false };
}

/// Formica's application: one instance per validator; clones share the receipt cache.
#[derive(Clone)]
pub struct FormicaApplication<M, O> {
    parameters: Arc<ChainParameters>,
    genesis: Block,
    observer: O,
    receipts: ReceiptCache,
    faults: FaultInjection,
    boundaries: Option<crate::epochs::BoundarySender>,
    certificates: Option<CertificateSource>,
    /// The pool whose admitted transactions need no second signature check.
    admitted: Option<M>,
    pace: Pace,
    /// Blocks this node refused to vote for or apply (see [`Self::with_refusals`]).
    refused: Option<Registered<Counter>>,
}

impl<M, O> FormicaApplication<M, O> {
    /// An application for a chain with these parameters and genesis block.
    pub fn new(parameters: Arc<ChainParameters>, genesis: Block, observer: O) -> Self {
        Self {
            parameters,
            genesis,
            observer,
            receipts: Arc::new(Mutex::new(BTreeMap::new())),
            faults: FaultInjection::NONE,
            boundaries: None,
            certificates: None,
            admitted: None,
            pace: Pace::default(),
            refused: None,
        }
    }

    /// The same application, counting every block it refuses (a proposal that fails the
    /// header, signature, execution or root checks) in `refused`. Honest validators never
    /// propose one, so a counter that moves names a faulty or Byzantine proposer (the refusal's
    /// reason and proposer are logged).
    pub fn with_refusals(mut self, refused: Registered<Counter>) -> Self {
        self.refused = Some(refused);
        self
    }

    /// The same application, skipping the signature check of a candidate block's transactions
    /// that `pool` admitted byte for byte (see [`TransactionSource::admitted`]).
    pub fn with_admitted(mut self, pool: M) -> Self {
        self.admitted = Some(pool);
        self
    }

    /// The same application, telling `boundaries` about every finalized last block of an epoch
    /// and waiting until the next epoch runs before the block counts as processed.
    pub fn with_boundaries(mut self, boundaries: crate::epochs::BoundarySender) -> Self {
        self.boundaries = Some(boundaries);
        self
    }

    /// The same application, handing the observer each finalized block's certificate from
    /// marshal's archive (without this, the observer gets none).
    pub fn with_certificates(mut self, certificates: CertificateSource) -> Self {
        self.certificates = Some(certificates);
        self
    }

    /// The certificate marshal holds for `block`, if it finalizes exactly this block.
    async fn certificate(&self, block: &Block) -> Option<FinalizationCertificate> {
        let marshal = self.certificates.as_ref()?;
        let height = commonware_consensus::types::Height::new(block.header.height.get());
        let finalization = marshal.get_finalization(height).await?;
        if finalization.proposal.payload != block.hash() {
            // Marshal stores certificates by height next to the block it finalized, so this
            // would be a bug there; recording a certificate of another block would be worse.
            warn!(height = %block.header.height, "the stored finalization is of another block; not recording it");
            return None;
        }
        Some(finalization)
    }

    /// The same application with deliberate bugs (tests of the tests only).
    pub fn with_faults(mut self, faults: FaultInjection) -> Self {
        self.faults = faults;
        self
    }

    fn remember_receipts(&self, block: &Block, receipts: Vec<Receipt>) {
        let mut cache = self.receipts.lock().expect("receipt cache lock is never poisoned");
        cache.insert((block.header.height, block.hash()), Arc::new(receipts));
    }

    fn take_receipts(&self, block: &Block) -> Option<Arc<Vec<Receipt>>> {
        let mut cache = self.receipts.lock().expect("receipt cache lock is never poisoned");
        let receipts = cache.remove(&(block.header.height, block.hash()));
        // Anything else at or below a finalized height is on an abandoned branch now.
        cache.retain(|(height, _), _| *height > block.header.height);
        receipts
    }
}

fn state_range<E>(merkleized: &Merkleized<E>) -> NonEmptyRange<u64>
where
    E: commonware_storage::Context + Spawner,
{
    let start = *merkleized.sync_boundary();
    let end = *merkleized.bounds().tip.size;
    NonEmptyRange::new(start..end).expect("a merkleized state always holds at least its commit")
}

fn now_ms<E: Clock>(context: &E) -> u64 {
    let elapsed = context.current().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// Why a candidate block is refused (logged; the vote is simply withheld).
#[derive(Debug, thiserror::Error)]
enum Invalid {
    #[error("height {got} does not follow parent height {parent}")]
    Height { parent: Height, got: Height },
    #[error("parent digest does not match the ancestry")]
    Parent,
    #[error("block carries {count} transactions, the limit is {limit}")]
    TooManyTransactions { count: usize, limit: u32 },
    #[error("transactions root does not match the transactions")]
    TransactionsRoot,
    #[error("timestamp {timestamp} is not after the parent's {parent}")]
    TimestampNotMonotonic { parent: u64, timestamp: u64 },
    #[error("timestamp {timestamp} is more than the allowed drift ahead of the local clock {now}")]
    TimestampAhead { now: u64, timestamp: u64 },
    #[error("transaction {index} has an invalid signature")]
    Signature { index: usize },
    #[error("execution: {0}")]
    Execution(String),
    #[error("receipts root does not match execution")]
    ReceiptsRoot,
    #[error("state root does not match execution")]
    StateRoot,
    #[error("the next epoch's node registry does not match execution")]
    NextNodes,
    #[error("the epoch's consensus timeouts do not match execution")]
    EpochTimeouts,
}

fn check_header(parent: &Block, block: &Block, limit: u32) -> Result<(), Invalid> {
    let expected = parent.header.height.next().expect("heights never reach u64::MAX");
    if block.header.height != expected {
        return Err(Invalid::Height { parent: parent.header.height, got: block.header.height });
    }
    if block.header.parent != parent.hash() || block.header.context.parent.1 != parent.hash() {
        return Err(Invalid::Parent);
    }
    if block.transactions.len() > limit as usize {
        return Err(Invalid::TooManyTransactions { count: block.transactions.len(), limit });
    }
    if !block.transactions_root_matches() {
        return Err(Invalid::TransactionsRoot);
    }
    if block.header.timestamp_ms <= parent.header.timestamp_ms {
        return Err(Invalid::TimestampNotMonotonic {
            parent: parent.header.timestamp_ms,
            timestamp: block.header.timestamp_ms,
        });
    }
    Ok(())
}

/// The consensus signing scheme of validators: ed25519 with attributable certificates.
pub type SigningScheme = commonware_consensus::simplex::scheme::ed25519::Scheme;

impl<E, M, O> Application<E> for FormicaApplication<M, O>
where
    E: commonware_storage::Context + Spawner + Clock + Rng + rand_core::CryptoRng,
    M: TransactionSource,
    O: FinalizedObserver,
{
    type SigningScheme = SigningScheme;
    type Context = BlockContext;
    type Block = Block;
    type Databases = StateDatabases<E>;
    type Captured = Arc<Vec<Receipt>>;
    type Provider = M;
    type Input = ();

    fn sync_targets(block: &Block) -> <StateDatabases<E> as DatabaseSet<E>>::SyncTargets {
        let range = &block.header.state_range;
        let range = NonEmptyRange::new(Location::new(range.start())..Location::new(range.end()))
            .expect("a block's state range is non-empty");
        Target::new(block.header.state_ops_root, range)
    }

    async fn genesis(&mut self) -> Block {
        self.genesis.clone()
    }

    async fn propose(
        &mut self,
        context: (E, BlockContext),
        mut ancestry: impl Ancestry<Block>,
        batches: <StateDatabases<E> as DatabaseSet<E>>::Unmerkleized,
        input: Input<(), M>,
    ) -> Option<Proposed<Self, E>> {
        let (runtime, consensus_context) = context;
        let parent = ancestry.next().await?.inner().clone();
        let height = parent.header.height.next().expect("heights never reach u64::MAX");
        let limit = self.pace.limit(self.parameters.block_transactions_max as usize);
        // Consensus runs ahead of finalization: the parent, and often its parent, are not yet
        // finalized, so the pool still holds their transactions. Skipping them here keeps a
        // full pool from handing the proposer only what its ancestors already carry (a nearly
        // empty block every other view under load).
        let finalized = input.provider.finalized_height();
        let mut pending = BTreeMap::new();
        let mut ancestor = Some(parent.clone());
        let mut read = 0;
        while let Some(block) = ancestor.take()
            && block.header.height > finalized
            && read < PENDING_ANCESTORS_MAX
        {
            block.next_nonces(&mut pending);
            read += 1;
            ancestor = ancestry.next().await.map(|block| block.inner().clone());
        }
        let mut candidates = input.provider.candidates(limit, &pending).await;
        let mut waited = Duration::ZERO;
        while candidates.is_empty() && waited < EMPTY_BLOCK_WAIT {
            runtime.sleep(EMPTY_POOL_POLL).await;
            waited += EMPTY_POOL_POLL;
            candidates = input.provider.candidates(limit, &pending).await;
        }
        // Chosen before building: contracts read the block's timestamp.
        let timestamp_ms = now_ms(&runtime).max(parent.header.timestamp_ms + 1);
        let started = runtime.current();
        let offered = candidates.len();
        let built = match formica_execution::build_block::<E>(
            &self.parameters,
            height,
            timestamp_ms,
            batches,
            candidates,
        )
        .await
        {
            Ok(built) => built,
            Err(error) => panic!("state database failed while building block {height}: {error}"),
        };
        self.pace.record(offered, runtime.current().duration_since(started).unwrap_or_default());
        if !built.left_out.is_empty() {
            debug!(height = %height, left_out = built.left_out.len(), "candidates left out of the block");
        }
        let header = Header {
            context: consensus_context,
            parent: parent.hash(),
            height,
            timestamp_ms,
            transactions_root: transactions_root(&built.transactions),
            state_root: if self.faults.propose_wrong_state_root {
                wrong_root(built.merkleized.root())
            } else {
                built.merkleized.root()
            },
            state_ops_root: built.merkleized.ops_root(),
            state_range: state_range::<E>(&built.merkleized),
            receipts_root: receipts_root(&built.receipts),
            next_nodes: built.epoch.next_nodes,
            epoch_timeouts: built.epoch.epoch_timeouts,
        };
        let block = Block::new(header, built.transactions);
        debug!(height = %height, transactions = block.transactions.len(), "proposed block");
        self.remember_receipts(&block, built.receipts);
        Some(Proposed { block, merkleized: built.merkleized })
    }

    async fn process(
        &mut self,
        context: (E, BlockContext),
        ancestry: impl Ancestry<Block>,
        batches: <StateDatabases<E> as DatabaseSet<E>>::Unmerkleized,
        finality: Finality,
    ) -> Option<Merkleized<E>> {
        let (mut runtime, _) = context;
        let block = ancestry.peek()?.inner().clone();
        let mut walk = ancestry.clone();
        walk.next().await?;
        let parent = walk.next().await?.inner().clone();
        match self.verify(&mut runtime, &parent, &block, batches, finality).await {
            Ok((merkleized, receipts)) => {
                self.remember_receipts(&block, receipts);
                Some(merkleized)
            }
            Err(invalid) => {
                if let Some(refused) = &self.refused {
                    refused.inc();
                }
                warn!(height = %block.header.height, block = %formica_types::hash_to_hex(&block.hash()), reason = %invalid, "refusing block");
                None
            }
        }
    }

    async fn capture(
        &mut self,
        _context: (E, BlockContext),
        block: &Block,
        _batches: &Merkleized<E>,
        readers: <StateDatabases<E> as DatabaseSet<E>>::Readers,
    ) -> Arc<Vec<Receipt>> {
        crate::failpoints::reach(crate::failpoints::BEFORE_STATE);
        if let Some(receipts) = self.take_receipts(block) {
            return receipts;
        }
        // Not built or verified in this process (a restart replays it): derive the receipts from
        // the state before the block, which is what the databases hold during capture.
        let height = block.header.height;
        let guard = readers.read().await;
        let guard = &guard;
        let read = |keys: std::collections::BTreeSet<formica_state::StateKey>| async move {
            let mut records = Vec::with_capacity(keys.len());
            for key in keys {
                let value = guard.get(&key.hash()).await.expect("reading finalized state must not fail");
                records.push((key, value));
            }
            Ok(records)
        };
        let mut run = formica_execution::TransactionRun::new(
            &self.parameters,
            height,
            block.header.timestamp_ms,
            &block.transactions,
            formica_execution::Admission::Strict,
        );
        let (_, executed) =
            formica_execution::run_with_reads(&self.parameters, height, &block.transactions, read, |overlay| {
                run.resume(overlay)
            })
            .await
            .expect("reading finalized state must not fail");
        executed.expect("a finalized block's transactions are admissible");
        let receipts = run.finish().receipts;
        Arc::new(receipts)
    }

    async fn finalized(
        &mut self,
        _context: (E, BlockContext),
        block: &Block,
        captured: Arc<Vec<Receipt>>,
        _readers: <StateDatabases<E> as DatabaseSet<E>>::Readers,
    ) {
        crate::failpoints::reach(crate::failpoints::AFTER_STATE);
        info!(height = %block.header.height, transactions = block.transactions.len(), "block finalized");
        let certificate = self.certificate(block).await;
        let block = Arc::new(block.clone());
        self.observer.finalized(block.clone(), captured, certificate).await;
        if formica_execution::is_epoch_last(&self.parameters, block.header.height)
            && let Some(boundaries) = &self.boundaries
        {
            boundaries.enter_next(block).await;
        }
    }
}

impl<M: TransactionSource, O> FormicaApplication<M, O> {
    async fn verify<E>(
        &self,
        runtime: &mut E,
        parent: &Block,
        block: &Block,
        batches: <StateDatabases<E> as DatabaseSet<E>>::Unmerkleized,
        finality: Finality,
    ) -> Result<(Merkleized<E>, Vec<Receipt>), Invalid>
    where
        E: commonware_storage::Context + Spawner + Clock + rand_core::CryptoRng,
    {
        check_header(parent, block, self.parameters.block_transactions_max)?;
        if finality == Finality::Candidate {
            let now = now_ms(runtime);
            let drift = TIMESTAMP_DRIFT_MAX.as_millis() as u64;
            if block.header.timestamp_ms > now.saturating_add(drift) {
                return Err(Invalid::TimestampAhead { now, timestamp: block.header.timestamp_ms });
            }
            let admitted = match &self.admitted {
                Some(pool) => pool.admitted(&block.transactions),
                None => vec![false; block.transactions.len()],
            };
            let (indexes, references): (Vec<usize>, Vec<&Transaction>) = block
                .transactions
                .iter()
                .enumerate()
                .zip(&admitted)
                .filter(|(_, admitted)| !**admitted)
                .map(|(entry, _)| entry)
                .unzip();
            let valid = formica_crypto::verify_batch(runtime, &references);
            if let Some(position) = valid.iter().position(|ok| !ok) {
                return Err(Invalid::Signature { index: indexes[position] });
            }
        }
        let executed = formica_execution::execute_block::<E>(
            &self.parameters,
            block.header.height,
            block.header.timestamp_ms,
            batches,
            &block.transactions,
        )
        .await
        .map_err(|error| Invalid::Execution(error.to_string()))?;
        let (merkleized, receipts) = (executed.merkleized, executed.receipts);
        if self.faults.skip_state_root_check {
            return Ok((merkleized, receipts));
        }
        if executed.epoch.next_nodes != block.header.next_nodes {
            return Err(Invalid::NextNodes);
        }
        if executed.epoch.epoch_timeouts != block.header.epoch_timeouts {
            return Err(Invalid::EpochTimeouts);
        }
        if receipts_root(&receipts) != block.header.receipts_root {
            return Err(Invalid::ReceiptsRoot);
        }
        if merkleized.root() != block.header.state_root {
            return Err(Invalid::StateRoot);
        }
        Ok((merkleized, receipts))
    }
}

/// A root that differs from `root` in one bit (the Byzantine proposer's, see [`FaultInjection`]).
fn wrong_root(root: Hash) -> Hash {
    let mut bytes: [u8; 32] = root.as_ref().try_into().expect("a sha256 digest is 32 bytes");
    bytes[0] ^= 1;
    Hash::from(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_caps_blocks_to_the_build_budget_and_ignores_small_samples() {
        let pace = Pace::default();
        assert_eq!(pace.limit(10_000), 10_000, "no build yet: the genesis limit");
        pace.record(50, Duration::from_secs(5));
        assert_eq!(pace.limit(10_000), 10_000, "50 transactions are too few to measure");
        // 50 µs a transaction: 250 ms hold 5,000.
        pace.record(1_000, Duration::from_millis(50));
        assert_eq!(pace.limit(10_000), 5_000);
        assert_eq!(pace.limit(2_000), 2_000, "never above the genesis limit");
        // A loaded machine: 1 ms a transaction moves the average a quarter of the way, then on.
        pace.record(1_000, Duration::from_secs(1));
        assert_eq!(pace.limit(10_000), 250_000_000 / 287_500);
        for _ in 0..20 {
            pace.record(1_000, Duration::from_secs(1));
        }
        assert_eq!(pace.limit(10_000), PACED_TRANSACTIONS_MIN, "never below the floor");
    }
}
