//! Executing whole blocks against the state database's speculative batches.

use crate::transition::{
    ChainParameters, Rejection, StateOverlay, apply_genesis, apply_transaction, first_reads, second_reads,
};
use commonware_glue::stateful::db::{DatabaseSet, Unmerkleized as _};
use formica_state::{StateDatabases, StateKey, StateValue};
use formica_types::{Height, Receipt, Transaction};
use std::collections::BTreeSet;

/// The speculative batch a block executes on.
pub type Batch<E> = <StateDatabases<E> as DatabaseSet<E>>::Unmerkleized;
/// The batch after execution, with its roots computed.
pub type Merkleized<E> = <StateDatabases<E> as DatabaseSet<E>>::Merkleized;

/// A block that cannot be executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    #[error("transaction {index} may not be in a block: {rejection}")]
    Rejected { index: usize, rejection: Rejection },
    #[error("state database: {0}")]
    Storage(String),
}

/// Result alias of block execution.
pub type Result<T> = std::result::Result<T, ExecutionError>;

async fn read_records<E>(batch: &Batch<E>, keys: &BTreeSet<StateKey>) -> Result<Vec<(StateKey, Option<StateValue>)>>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let hashes: Vec<_> = keys.iter().map(StateKey::hash).collect();
    let references: Vec<_> = hashes.iter().collect();
    let values = batch.get_many(&references).await.map_err(|error| ExecutionError::Storage(error.to_string()))?;
    Ok(keys.iter().copied().zip(values).collect())
}

/// Reads every record the transactions need, in two rounds (see [`first_reads`], [`second_reads`]).
async fn read_overlay<'a, E>(
    parameters: &ChainParameters,
    height: Height,
    batch: &Batch<E>,
    transactions: impl IntoIterator<Item = &'a Transaction>,
) -> Result<StateOverlay>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let first = first_reads(parameters, height, transactions);
    let mut overlay = StateOverlay::new(read_records(batch, &first).await?.into_iter().collect());
    let (to_read, absent) = second_reads(&overlay);
    overlay.extend(absent.into_iter().map(|key| (key, None)));
    overlay.extend(read_records(batch, &to_read).await?);
    Ok(overlay)
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

/// Executes a block's transactions at `height` on `batch`. Any inadmissible transaction makes the
/// whole block invalid. Signatures must have been verified before.
pub async fn execute_block<E>(
    parameters: &ChainParameters,
    height: Height,
    batch: Batch<E>,
    transactions: &[Transaction],
) -> Result<(Merkleized<E>, Vec<Receipt>)>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let mut overlay = read_overlay(parameters, height, &batch, transactions).await?;
    if height == Height(1) {
        apply_genesis(parameters, &mut overlay);
    }
    let mut receipts = Vec::with_capacity(transactions.len());
    for (index, transaction) in transactions.iter().enumerate() {
        let receipt = apply_transaction(parameters, height, &mut overlay, transaction)
            .map_err(|rejection| ExecutionError::Rejected { index, rejection })?;
        receipts.push(receipt);
    }
    Ok((write_overlay(batch, overlay).await?, receipts))
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
}

/// Builds a block at `height` from `candidates` (signatures already verified), leaving out any
/// that is not admissible at its turn, and keeping at most `block_transactions_max`.
pub async fn build_block<E>(
    parameters: &ChainParameters,
    height: Height,
    batch: Batch<E>,
    candidates: Vec<Transaction>,
) -> Result<Built<E>>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let mut overlay = read_overlay(parameters, height, &batch, &candidates).await?;
    if height == Height(1) {
        apply_genesis(parameters, &mut overlay);
    }
    let limit = parameters.block_transactions_max as usize;
    let mut transactions = Vec::new();
    let mut receipts = Vec::new();
    let mut left_out = Vec::new();
    for transaction in candidates {
        if transactions.len() == limit {
            break;
        }
        match apply_transaction(parameters, height, &mut overlay, &transaction) {
            Ok(receipt) => {
                receipts.push(receipt);
                transactions.push(transaction);
            }
            Err(rejection) => left_out.push((transaction, rejection)),
        }
    }
    let merkleized = write_overlay(batch, overlay).await?;
    Ok(Built { merkleized, transactions, receipts, left_out })
}
