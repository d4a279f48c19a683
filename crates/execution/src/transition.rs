//! The pure state transition: transactions applied to an in-memory overlay of accounts.

use formica_crypto::{AuthorisationError, authorise};
use formica_types::{
    Account, AccountId, Amount, ChainId, FailureCode, Height, Nonce, Outcome, Payload, PublicKey, Receipt, Transaction,
};
use std::collections::{BTreeMap, BTreeSet};

/// Chain parameters execution depends on (fixed at genesis for now).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainParameters {
    pub chain_id: ChainId,
    /// The fee each transaction pays to the fee collector.
    pub fee_per_transaction: Amount,
    pub fee_collector: AccountId,
    /// The most transactions a block may carry.
    pub block_transactions_max: u32,
    /// Accounts created when the first block after genesis executes.
    pub genesis_accounts: Vec<(PublicKey, Amount)>,
}

/// Why a transaction may not be part of a block at all. A proposer leaves such a transaction out;
/// a block containing one is invalid and validators vote against it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("transaction is for chain {got}, this chain is {expected}")]
    WrongChainId { expected: ChainId, got: ChainId },
    #[error("transaction expired at height {expiry}, block height is {height}")]
    Expired { expiry: Height, height: Height },
    #[error("sender account {0} does not exist")]
    UnknownSender(AccountId),
    #[error("nonce {got} does not match the account's next nonce {expected}")]
    NonceMismatch { expected: Nonce, got: Nonce },
    #[error("signatures do not authorise the sender: {0}")]
    Unauthorised(AuthorisationError),
    #[error("fee limit {limit} is below the fee {fee}")]
    FeeLimitTooLow { fee: Amount, limit: Amount },
    #[error("sender balance {balance} cannot pay the fee {fee}")]
    CannotPayFee { fee: Amount, balance: Amount },
    #[error("nonce space of the sender is exhausted")]
    NonceExhausted,
}

/// Accounts read for one block, and the ones it changed.
#[derive(Clone, Debug, Default)]
pub struct AccountOverlay {
    accounts: BTreeMap<AccountId, Option<Account>>,
    dirty: BTreeSet<AccountId>,
}

impl AccountOverlay {
    /// An overlay over accounts already read (`None`: the account does not exist).
    pub fn new(accounts: BTreeMap<AccountId, Option<Account>>) -> Self {
        Self { accounts, dirty: BTreeSet::new() }
    }

    /// The account, as changed so far. Every account a block touches must have been read first
    /// (see [`touched_accounts`]); reading another is a bug.
    pub fn get(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.get(id).expect("accounts a block touches are read before it executes").as_ref()
    }

    fn set(&mut self, id: AccountId, account: Account) {
        self.accounts.insert(id, Some(account));
        self.dirty.insert(id);
    }

    /// The changed accounts, in id order.
    pub fn into_changes(self) -> Vec<(AccountId, Account)> {
        let Self { mut accounts, dirty } = self;
        dirty
            .into_iter()
            .map(|id| {
                let account = accounts.remove(&id).flatten().expect("a changed account exists");
                (id, account)
            })
            .collect()
    }

    /// The sum of all balances held in the overlay (for conservation checks).
    pub fn total_balance(&self) -> Option<Amount> {
        self.accounts.values().flatten().try_fold(Amount::ZERO, |total, account| total.checked_add(account.balance))
    }
}

/// Every account a block's execution may read or write.
pub fn touched_accounts<'a>(
    parameters: &ChainParameters,
    height: Height,
    transactions: impl IntoIterator<Item = &'a Transaction>,
) -> BTreeSet<AccountId> {
    let mut touched = BTreeSet::from([parameters.fee_collector]);
    if height == Height(1) {
        touched.extend(parameters.genesis_accounts.iter().map(|(key, _)| AccountId::from_public_key(key)));
    }
    for transaction in transactions {
        touched.insert(transaction.body.sender);
        match &transaction.body.payload {
            Payload::Transfer { to, .. } => {
                touched.insert(*to);
            }
            Payload::CreateAccount { public_key, .. } => {
                touched.insert(AccountId::from_public_key(public_key));
            }
        }
    }
    touched
}

/// Creates the genesis accounts. Runs once, before the transactions of height 1.
pub fn apply_genesis(parameters: &ChainParameters, overlay: &mut AccountOverlay) {
    for (public_key, balance) in &parameters.genesis_accounts {
        let id = AccountId::from_public_key(public_key);
        overlay.set(id, Account::new(public_key.clone(), *balance));
    }
}

/// Checks everything that decides whether a transaction may be in a block at `height`, given
/// the state before it. Signature validity is checked separately, in batches.
pub fn check_admissible(
    parameters: &ChainParameters,
    height: Height,
    sender: Option<&Account>,
    transaction: &Transaction,
) -> Result<(), Rejection> {
    let body = &transaction.body;
    if body.chain_id != parameters.chain_id {
        return Err(Rejection::WrongChainId { expected: parameters.chain_id, got: body.chain_id });
    }
    if body.expiry_height < height {
        return Err(Rejection::Expired { expiry: body.expiry_height, height });
    }
    let sender = sender.ok_or(Rejection::UnknownSender(body.sender))?;
    if body.nonce != sender.nonce {
        return Err(Rejection::NonceMismatch { expected: sender.nonce, got: body.nonce });
    }
    authorise(&sender.public_key, transaction).map_err(Rejection::Unauthorised)?;
    let fee = parameters.fee_per_transaction;
    if body.fee_limit < fee {
        return Err(Rejection::FeeLimitTooLow { fee, limit: body.fee_limit });
    }
    if sender.balance < fee {
        return Err(Rejection::CannotPayFee { fee, balance: sender.balance });
    }
    Ok(())
}

/// Applies one transaction. On `Err` nothing changed; on `Ok` the fee is paid and the nonce
/// advanced whatever the receipt's outcome.
pub fn apply_transaction(
    parameters: &ChainParameters,
    height: Height,
    overlay: &mut AccountOverlay,
    transaction: &Transaction,
) -> Result<Receipt, Rejection> {
    let body = &transaction.body;
    check_admissible(parameters, height, overlay.get(&body.sender), transaction)?;
    let fee = parameters.fee_per_transaction;
    let mut sender = overlay.get(&body.sender).cloned().expect("admissible implies the sender exists");
    sender.nonce = sender.nonce.next().ok_or(Rejection::NonceExhausted)?;
    sender.balance = sender.balance.checked_sub(fee).expect("admissible implies the fee is affordable");
    overlay.set(body.sender, sender);
    credit(overlay, &parameters.fee_collector, fee).expect("the fee collector's balance is bounded by the supply");

    let outcome = match apply_payload(overlay, &body.sender, &body.payload) {
        Ok(()) => Outcome::Success,
        Err((code, message)) => Outcome::Failure { code, message },
    };
    Ok(Receipt { transaction_hash: transaction.hash(), outcome, fee_paid: fee })
}

type Failure = (FailureCode, String);

fn apply_payload(overlay: &mut AccountOverlay, sender: &AccountId, payload: &Payload) -> Result<(), Failure> {
    match payload {
        Payload::Transfer { to, amount } => {
            if overlay.get(to).is_none() {
                return Err((FailureCode::RecipientMissing, format!("account {to} does not exist")));
            }
            // Both new balances are computed before either is written, so a failure leaves no trace.
            let mut from_account = overlay.get(sender).cloned().expect("the sender exists");
            from_account.balance = from_account.balance.checked_sub(*amount).ok_or_else(|| {
                (FailureCode::InsufficientBalance, format!("balance {} is below {amount}", from_account.balance))
            })?;
            if to == sender {
                return Ok(());
            }
            let mut to_account = overlay.get(to).cloned().expect("checked above");
            to_account.balance = to_account
                .balance
                .checked_add(*amount)
                .ok_or_else(|| (FailureCode::BalanceOverflow, format!("balance of {to} would overflow")))?;
            overlay.set(*sender, from_account);
            overlay.set(*to, to_account);
            Ok(())
        }
        Payload::CreateAccount { public_key, initial_balance } => {
            let id = AccountId::from_public_key(public_key);
            if overlay.get(&id).is_some() {
                return Err((FailureCode::AccountExists, format!("account {id} exists already")));
            }
            let mut from_account = overlay.get(sender).cloned().expect("the sender exists");
            from_account.balance = from_account.balance.checked_sub(*initial_balance).ok_or_else(|| {
                (
                    FailureCode::InsufficientBalance,
                    format!("balance {} is below {initial_balance}", from_account.balance),
                )
            })?;
            overlay.set(*sender, from_account);
            overlay.set(id, Account::new(public_key.clone(), *initial_balance));
            Ok(())
        }
    }
}

fn credit(overlay: &mut AccountOverlay, id: &AccountId, amount: Amount) -> Result<(), Failure> {
    let mut account = overlay.get(id).cloned().expect("credited accounts exist");
    account.balance = account
        .balance
        .checked_add(amount)
        .ok_or_else(|| (FailureCode::BalanceOverflow, format!("balance of {id} would overflow")))?;
    overlay.set(*id, account);
    Ok(())
}
