//! Executing whole blocks against the state database's speculative batches.

use crate::transition::{
    ChainParameters, Rejection, StateOverlay, Unread, apply_genesis, apply_transaction, first_reads, second_reads,
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
/// [`second_reads`]); `run` then executes. Whenever it reports records it was not given
/// ([`Unread`]), they are read, the overlay is rolled back to what was read, and `run` starts
/// again. Each pass reads at least one new record and passes are deterministic, so every
/// validator ends with the same result. Blocks of ordinary transactions finish in one pass;
/// governance transactions, whose records depend on records, take a few.
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
    loop {
        if height == Height(1) {
            apply_genesis(parameters, &mut overlay);
        }
        match run(&mut overlay) {
            Ok(value) => return Ok((overlay, value)),
            Err(Unread(keys)) => {
                overlay.rollback();
                assert!(
                    !keys.is_empty() && overlay.missing(keys.iter().copied()) == keys,
                    "a pass reports only records it was not given"
                );
                overlay.extend(read(keys).await?);
            }
        }
    }
}

/// Adds a transaction's unread records to those of the pass; `true` if it had some.
fn note_unread(rejection: &Rejection, pass: &mut BTreeSet<StateKey>) -> bool {
    match rejection {
        Rejection::Unread(Unread(keys)) => {
            pass.extend(keys.iter().copied());
            true
        }
        _ => false,
    }
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
    let (overlay, (receipts, epoch)) = run_with_reads(
        parameters,
        height,
        transactions,
        |keys| read_records(&batch, keys),
        |overlay| {
            let receipts = execute_transactions(parameters, height, timestamp_ms, overlay, transactions)?;
            Ok((receipts, end_block(parameters, height, overlay)?))
        },
    )
    .await?;
    let receipts = receipts?;
    Ok(Executed { merkleized: write_overlay(batch, overlay).await?, receipts, epoch })
}

/// One pass over a block's transactions. A transaction that needs unread records is skipped and
/// the pass goes on, so one pass finds the unread records of every transaction (the results of
/// such a pass are thrown away; a skipped transaction left the overlay as a failed payload
/// would, or untouched).
pub fn execute_transactions(
    parameters: &ChainParameters,
    height: Height,
    timestamp_ms: u64,
    overlay: &mut StateOverlay,
    transactions: &[Transaction],
) -> std::result::Result<Result<Vec<Receipt>>, Unread> {
    let limit = crate::governance::block_transactions(parameters, overlay)?;
    if transactions.len() > limit {
        return Ok(Err(ExecutionError::TooManyTransactions { count: transactions.len(), limit }));
    }
    let mut unread = BTreeSet::new();
    let mut receipts = Vec::with_capacity(transactions.len());
    let mut rejected = None;
    let mut budget = Budget::default();
    for (index, transaction) in transactions.iter().enumerate() {
        let applied = budget.check(parameters, overlay, transaction).and_then(|size| {
            let receipt = apply_transaction(parameters, height, timestamp_ms, overlay, transaction)?;
            budget.add(size, transaction);
            Ok(receipt)
        });
        match applied {
            Ok(receipt) => receipts.push(receipt),
            Err(rejection) => {
                if !note_unread(&rejection, &mut unread) && rejected.is_none() {
                    rejected = Some(ExecutionError::Rejected { index, rejection });
                }
            }
        }
    }
    if !unread.is_empty() {
        return Err(Unread(unread));
    }
    Ok(match rejected {
        Some(error) => Err(error),
        None => Ok(receipts),
    })
}

/// What the transactions of a block have used of its budgets so far.
#[derive(Default)]
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
    let (overlay, (transactions, receipts, left_out, epoch)) = run_with_reads(
        parameters,
        height,
        &candidates,
        |keys| read_records(&batch, keys),
        |overlay| {
            let limit = crate::governance::block_transactions(parameters, overlay)?;
            let mut unread = BTreeSet::new();
            let mut transactions = Vec::new();
            let mut receipts = Vec::new();
            let mut left_out = Vec::new();
            let mut budget = Budget::default();
            for transaction in &candidates {
                if transactions.len() == limit {
                    break;
                }
                let applied = budget.check(parameters, overlay, transaction).and_then(|size| {
                    let receipt = apply_transaction(parameters, height, timestamp_ms, overlay, transaction)?;
                    budget.add(size, transaction);
                    Ok(receipt)
                });
                match applied {
                    Ok(receipt) => {
                        receipts.push(receipt);
                        transactions.push(transaction.clone());
                    }
                    Err(rejection) => {
                        if !note_unread(&rejection, &mut unread) {
                            left_out.push((transaction.clone(), rejection));
                        }
                    }
                }
            }
            if !unread.is_empty() {
                return Err(Unread(unread));
            }
            Ok((transactions, receipts, left_out, end_block(parameters, height, overlay)?))
        },
    )
    .await?;
    let merkleized = write_overlay(batch, overlay).await?;
    Ok(Built { merkleized, transactions, receipts, left_out, epoch })
}
