//! Executing whole blocks against the state database's speculative batches.

use crate::transition::{
    ChainParameters, Checkpoint, Rejection, StateOverlay, Unread, apply_genesis, apply_transaction, first_reads,
    second_reads,
};
use commonware_codec::EncodeSize;
use commonware_glue::stateful::db::{DatabaseSet, Unmerkleized as _};
use formica_state::{StateDatabases, StateKey, StateValue};
use formica_types::{ConsensusTimeouts, Header, Height, NodeSet, Receipt, Transaction};
use std::collections::BTreeSet;
use std::future::Future;

/// The speculative batch a block executes on.
pub type Batch<E> = <StateDatabases<E> as DatabaseSet<E>>::Unmerkleized;
/// The batch after execution, with its roots computed.
pub type Merkleized<E> = <StateDatabases<E> as DatabaseSet<E>>::Merkleized;

/// A block that cannot be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    #[error("transaction {index} may not be in a block: {rejection}")]
    Rejected { index: usize, rejection: Rejection },
    #[error("the block carries {count} transactions; the chain allows {limit}")]
    TooManyTransactions { count: usize, limit: usize },
    #[error("state database: {0}")]
    Storage(String),
}

/// Result alias of block execution.
pub type Result<T> = std::result::Result<T, ExecutionError>;

async fn read_records<E>(batch: &Batch<E>, keys: BTreeSet<StateKey>) -> Result<Records>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let hashes: Vec<_> = keys.iter().map(StateKey::hash).collect();
    let references: Vec<_> = hashes.iter().collect();
    let values = batch.get_many(&references).await.map_err(|error| ExecutionError::Storage(error.to_string()))?;
    Ok(keys.into_iter().zip(values).collect())
}

/// Records read from some state, in the order asked.
pub type Records = Vec<(StateKey, Option<StateValue>)>;

/// Runs `run` on an overlay that holds every record it needs, read with `read`.
///
/// First the records the transactions name are read in two rounds ([`first_reads`],
/// [`second_reads`]); `run` then executes. Whenever it reports records it lacked ([`Unread`]),
/// those not read yet are read and `run` is called again. `run` must leave the overlay at a
/// point it can resume from ([`TransactionRun`] keeps the transactions it finished and resumes
/// at the one that lacked records). Each call finds at least one record its transaction could
/// not see before and calls are deterministic, so every validator ends with the same result.
/// Blocks of ordinary transactions finish in one call.
pub async fn run_with_reads<R, F, T>(
    parameters: &ChainParameters,
    height: Height,
    transactions: &[Transaction],
    mut read: R,
    mut run: impl FnMut(&mut StateOverlay) -> std::result::Result<T, Unread>,
) -> Result<(StateOverlay, T)>
where
    R: FnMut(BTreeSet<StateKey>) -> F,
    F: Future<Output = Result<Records>>,
{
    let first = first_reads(parameters, height, transactions);
    let mut overlay = StateOverlay::new(read(first).await?.into_iter().collect());
    let (to_read, absent) = second_reads(&overlay);
    overlay.extend(absent.into_iter().map(|key| (key, None)));
    overlay.extend(read(to_read).await?);
    if height == Height(1) {
        apply_genesis(parameters, &mut overlay);
    }
    loop {
        match run(&mut overlay) {
            Ok(value) => return Ok((overlay, value)),
            Err(Unread(keys)) => {
                assert!(!keys.is_empty(), "a run reports the records it lacked");
                let missing = overlay.missing(keys);
                if !missing.is_empty() {
                    overlay.extend(read(missing).await?);
                }
            }
        }
    }
}

/// How a [`TransactionRun`] treats a transaction that may not be in the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The block is invalid (a verifier executing a proposed or finalized block).
    Strict,
    /// The transaction is left out (a proposer building a block from candidates).
    LeaveOut,
}

/// A block's transactions run in order, resumable after records were found missing.
///
/// The first call runs every transaction, skipping any that lacks records, so one round of
/// reads finds the records of all of them. From the first transaction that lacked records on,
/// everything it ran is undone (later transactions saw a state without its changes), and later
/// calls run the transactions one by one from there: a transaction that lacks records is undone
/// alone, its records read, and the run resumes at it. No transaction is ever run again because
/// another one lacked records, so a block's work is its transactions' work plus their own
/// repeated runs, which contract calls pay for (see `crate::contracts`).
pub struct TransactionRun<'a> {
    parameters: &'a ChainParameters,
    height: Height,
    timestamp_ms: u64,
    candidates: &'a [Transaction],
    admission: Admission,
    /// The chain's limit of transactions per block, as it was before the block.
    limit: Option<usize>,
    /// The next candidate to run.
    next: usize,
    /// Whether the first call (over all candidates) is done.
    scouted: bool,
    budget: Budget,
    /// Candidates included (their indexes) and their receipts.
    included: Vec<usize>,
    receipts: Vec<Receipt>,
    /// Candidates left out (their indexes), with the reason.
    left_out: Vec<(usize, Rejection)>,
}

/// What a finished [`TransactionRun`] ran.
pub struct RunOutcome {
    /// Indexes of the candidates included, in order.
    pub included: Vec<usize>,
    pub receipts: Vec<Receipt>,
    /// Indexes of the candidates left out, with the reason.
    pub left_out: Vec<(usize, Rejection)>,
}

impl<'a> TransactionRun<'a> {
    pub fn new(
        parameters: &'a ChainParameters,
        height: Height,
        timestamp_ms: u64,
        candidates: &'a [Transaction],
        admission: Admission,
    ) -> Self {
        Self {
            parameters,
            height,
            timestamp_ms,
            candidates,
            admission,
            limit: None,
            next: 0,
            scouted: false,
            budget: Budget::default(),
            included: Vec::new(),
            receipts: Vec::new(),
            left_out: Vec::new(),
        }
    }

    /// Runs the candidates not run yet. `Err` names records to read before calling again;
    /// `Ok(Err(_))` is a block that may not be executed (only with [`Admission::Strict`]).
    pub fn resume(&mut self, overlay: &mut StateOverlay) -> std::result::Result<Result<()>, Unread> {
        let limit = match self.limit {
            Some(limit) => limit,
            None => *self.limit.insert(crate::governance::block_transactions(self.parameters, overlay)?),
        };
        if self.admission == Admission::Strict && self.candidates.len() > limit {
            return Ok(Err(ExecutionError::TooManyTransactions { count: self.candidates.len(), limit }));
        }
        let scouting = !self.scouted;
        self.scouted = true;
        let mut unread = BTreeSet::new();
        // Where the first transaction that lacked records started, in a scouting call.
        let mut resume_at: Option<(usize, Checkpoint, Budget, usize, usize)> = None;
        while self.next < self.candidates.len() {
            if self.admission == Admission::LeaveOut && self.receipts.len() == limit {
                break;
            }
            let index = self.next;
            let transaction = &self.candidates[index];
            let checkpoint = overlay.checkpoint();
            let budget = self.budget;
            let applied = self.budget.check(self.parameters, overlay, transaction).and_then(|size| {
                let receipt = apply_transaction(self.parameters, self.height, self.timestamp_ms, overlay, transaction)?;
                self.budget.add(size, transaction);
                Ok(receipt)
            });
            match applied {
                Ok(receipt) => {
                    self.included.push(index);
                    self.receipts.push(receipt);
                }
                Err(Rejection::Unread(Unread(keys))) => {
                    overlay.rollback_to(checkpoint);
                    unread.extend(keys);
                    if !scouting {
                        return Err(Unread(unread));
                    }
                    if resume_at.is_none() {
                        resume_at = Some((index, checkpoint, budget, self.receipts.len(), self.left_out.len()));
                        // From here on the state misses this transaction's changes.
                        overlay.set_speculative(true);
                    }
                }
                Err(rejection) => {
                    // After a skipped transaction, a rejection may be wrong: it is run again.
                    if resume_at.is_none() {
                        if self.admission == Admission::Strict {
                            return Ok(Err(ExecutionError::Rejected { index, rejection }));
                        }
                        self.left_out.push((index, rejection));
                    }
                }
            }
            self.next += 1;
        }
        if let Some((index, checkpoint, budget, receipts, left_out)) = resume_at {
            overlay.set_speculative(false);
            overlay.rollback_to(checkpoint);
            self.next = index;
            self.budget = budget;
            self.included.truncate(receipts);
            self.receipts.truncate(receipts);
            self.left_out.truncate(left_out);
            return Err(Unread(unread));
        }
        Ok(Ok(()))
    }

    /// How many candidates have run to their final result so far.
    pub fn position(&self) -> usize {
        self.next
    }

    /// What the run included and left out (call once `resume` finished).
    pub fn finish(self) -> RunOutcome {
        RunOutcome { included: self.included, receipts: self.receipts, left_out: self.left_out }
    }
}

/// Runs `f`; if it lacks records, undoes what it changed.
fn undo_unread<T>(
    overlay: &mut StateOverlay,
    f: impl FnOnce(&mut StateOverlay) -> std::result::Result<T, Unread>,
) -> std::result::Result<T, Unread> {
    let checkpoint = overlay.checkpoint();
    f(overlay).inspect_err(|_| overlay.rollback_to(checkpoint))
}

async fn write_overlay<E>(mut batch: Batch<E>, overlay: StateOverlay) -> Result<Merkleized<E>>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    for (key, value) in overlay.into_changes() {
        batch = batch.write(key.hash(), value);
    }
    batch.merkleize().await.map_err(|error| ExecutionError::Storage(error.to_string()))
}

/// Whether `height` is the last block of its epoch: the block that states the next epoch's node
/// registry.
pub fn is_epoch_last(parameters: &ChainParameters, height: Height) -> bool {
    (height.get() + 1).is_multiple_of(parameters.epoch_blocks)
}

/// What a block's header states about the epochs: the node registry after it (only in an
/// epoch's last block; empty otherwise) and the consensus timeouts of the epoch after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochFacts {
    pub next_nodes: NodeSet,
    pub epoch_timeouts: ConsensusTimeouts,
}

/// Ends a block: if it is the last of its epoch, the voted consensus timeouts become the next
/// epoch's and the node registry is stated.
pub(crate) fn end_block(
    parameters: &ChainParameters,
    height: Height,
    overlay: &mut StateOverlay,
) -> std::result::Result<EpochFacts, Unread> {
    let next_nodes = if is_epoch_last(parameters, height) {
        crate::governance::end_epoch(overlay)?;
        crate::governance::nodes(overlay)?
    } else {
        NodeSet::default()
    };
    Ok(EpochFacts { next_nodes, epoch_timeouts: crate::governance::state(overlay)?.epoch_timeouts })
}

/// A block executed by a verifier.
pub struct Executed<E>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    pub merkleized: Merkleized<E>,
    pub receipts: Vec<Receipt>,
    /// What the header must state about the epochs.
    pub epoch: EpochFacts,
}

/// Executes a block's transactions at `height` (with the header's `timestamp_ms`) on `batch`. Any
/// inadmissible transaction makes the whole block invalid. Signatures must have been verified
/// before.
pub async fn execute_block<E>(
    parameters: &ChainParameters,
    height: Height,
    timestamp_ms: u64,
    batch: Batch<E>,
    transactions: &[Transaction],
) -> Result<Executed<E>>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let mut run = TransactionRun::new(parameters, height, timestamp_ms, transactions, Admission::Strict);
    let mut executed = None;
    let (overlay, epoch) = run_with_reads(
        parameters,
        height,
        transactions,
        |keys| read_records(&batch, keys),
        |overlay| {
            if executed.is_none() {
                executed = Some(run.resume(overlay)?);
            }
            undo_unread(overlay, |overlay| end_block(parameters, height, overlay))
        },
    )
    .await?;
    executed.expect("the transactions ran")?;
    let receipts = run.finish().receipts;
    Ok(Executed { merkleized: write_overlay(batch, overlay).await?, receipts, epoch })
}

/// Runs a block's transactions on `overlay` with [`Admission::Strict`], calling `read` for every
/// record they lack (a synchronous [`run_with_reads`] loop, for overlays whose records are at
/// hand). Returns the receipts, or why the block may not be executed.
pub fn execute_transactions(
    parameters: &ChainParameters,
    height: Height,
    timestamp_ms: u64,
    overlay: &mut StateOverlay,
    transactions: &[Transaction],
    mut read: impl FnMut(BTreeSet<StateKey>) -> Records,
) -> Result<Vec<Receipt>> {
    let mut run = TransactionRun::new(parameters, height, timestamp_ms, transactions, Admission::Strict);
    loop {
        match run.resume(overlay) {
            Ok(result) => return result.map(|()| run.finish().receipts),
            Err(Unread(keys)) => {
                let missing = overlay.missing(keys);
                overlay.extend(read(missing));
            }
        }
    }
}

/// What the transactions of a block have used of its budgets so far.
#[derive(Clone, Copy, Default)]
struct Budget {
    /// Gas the contract payloads asked for (their limits, not what they used: whether a
    /// transaction fits must be known before it runs).
    gas: u64,
    bytes: usize,
}

impl Budget {
    /// Whether `transaction` fits the block's gas and byte budgets; its encoded size if so.
    fn check(
        &self,
        parameters: &ChainParameters,
        overlay: &StateOverlay,
        transaction: &Transaction,
    ) -> std::result::Result<usize, Rejection> {
        let size = transaction.encode_size();
        // The header, and the transaction count's prefix, come out of the block's bytes.
        let max = parameters.block_bytes_max.saturating_sub(Header::ENCODED_BYTES_MAX + 5);
        if self.bytes + size > max {
            return Err(Rejection::BlockBytesFull { size, used: self.bytes, max });
        }
        if let Some(limit) = transaction.body.payload.gas_limit() {
            let max = crate::contracts::gas_parameters(parameters, overlay)?.block_gas_max;
            if self.gas.saturating_add(limit) > max {
                return Err(Rejection::BlockGasFull { limit, used: self.gas, max });
            }
        }
        Ok(size)
    }

    fn add(&mut self, size: usize, transaction: &Transaction) {
        self.bytes += size;
        self.gas = self.gas.saturating_add(transaction.body.payload.gas_limit().unwrap_or(0));
    }
}

/// What a proposer built: the state after the block, the transactions it kept, their receipts.
pub struct Built<E>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    pub merkleized: Merkleized<E>,
    pub transactions: Vec<Transaction>,
    pub receipts: Vec<Receipt>,
    /// Candidates left out, with the reason.
    pub left_out: Vec<(Transaction, Rejection)>,
    /// What the header must state about the epochs.
    pub epoch: EpochFacts,
}

/// Builds a block at `height` with timestamp `timestamp_ms` from `candidates` (signatures already
/// verified), leaving out any that is not admissible at its turn or does not fit the block's gas
/// and byte budgets, and keeping at most the chain's current block limit.
pub async fn build_block<E>(
    parameters: &ChainParameters,
    height: Height,
    timestamp_ms: u64,
    batch: Batch<E>,
    candidates: Vec<Transaction>,
) -> Result<Built<E>>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let mut run = TransactionRun::new(parameters, height, timestamp_ms, &candidates, Admission::LeaveOut);
    let mut done = false;
    let (overlay, epoch) = run_with_reads(
        parameters,
        height,
        &candidates,
        |keys| read_records(&batch, keys),
        |overlay| {
            if !done {
                run.resume(overlay)?.expect("a proposer leaves out what it may not include");
                done = true;
            }
            undo_unread(overlay, |overlay| end_block(parameters, height, overlay))
        },
    )
    .await?;
    let RunOutcome { included, receipts, left_out } = run.finish();
    let transactions = included.iter().map(|index| candidates[*index].clone()).collect();
    let left_out = left_out.into_iter().map(|(index, rejection)| (candidates[index].clone(), rejection)).collect();
    let merkleized = write_overlay(batch, overlay).await?;
    Ok(Built { merkleized, transactions, receipts, left_out, epoch })
}
