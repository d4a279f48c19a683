//! Executing whole blocks against the state database's speculative batches.

use crate::transition::{
    AccountOverlay, ChainParameters, Rejection, apply_genesis, apply_transaction, touched_accounts,
};
use commonware_glue::stateful::db::{DatabaseSet, Unmerkleized as _};
use formica_state::{StateDatabases, StateValue, account_key};
use formica_types::{Account, AccountId, Height, Receipt, Transaction};
use std::collections::{BTreeMap, BTreeSet};

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

async fn read_overlay<E>(batch: &Batch<E>, ids: &BTreeSet<AccountId>) -> Result<AccountOverlay>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let keys: Vec<_> = ids.iter().map(account_key).collect();
    let key_references: Vec<_> = keys.iter().collect();
    let values = batch.get_many(&key_references).await.map_err(|error| ExecutionError::Storage(error.to_string()))?;
    let accounts: BTreeMap<AccountId, Option<Account>> =
        ids.iter().copied().zip(values.into_iter().map(|value| value.and_then(StateValue::into_account))).collect();
    Ok(AccountOverlay::new(accounts))
}

async fn write_overlay<E>(mut batch: Batch<E>, overlay: AccountOverlay) -> Result<Merkleized<E>>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    for (id, account) in overlay.into_changes() {
        batch = batch.write(account_key(&id), Some(StateValue::Account(account)));
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
    let touched = touched_accounts(parameters, height, transactions);
    let mut overlay = read_overlay(&batch, &touched).await?;
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
    let touched = touched_accounts(parameters, height, &candidates);
    let mut overlay = read_overlay(&batch, &touched).await?;
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
