//! The pool itself: pure bookkeeping, no I/O.

use formica_crypto::KeySet;
use formica_types::{Account, AccountId, Amount, GasParameters, Hash, Height, Nonce, Transaction};
use std::collections::{BTreeMap, VecDeque};

/// Limits of the pool.
#[derive(Clone, Debug)]
pub struct Config {
    /// The most transactions held at once.
    pub transactions_max: usize,
    /// The most transactions held for one sender.
    pub per_sender_max: usize,
    /// How far beyond the sender's next nonce a transaction may be.
    pub nonce_window: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self { transactions_max: 200_000, per_sender_max: 256, nonce_window: 256 }
    }
}

/// Why the pool refuses a transaction. The node maps each to a distinct RPC error code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("transaction is for chain {got}, this chain is {expected}")]
    WrongChainId { expected: u64, got: u64 },
    #[error("a signature is invalid")]
    BadSignature,
    #[error("signer is not authorised for the sender account: {0}")]
    Unauthorised(formica_crypto::AuthorisationError),
    #[error("nonce {got} was already used; the account's next nonce is {expected}")]
    NonceTooLow { expected: Nonce, got: Nonce },
    #[error("nonce {got} is more than {window} beyond the account's next nonce {expected}")]
    NonceTooFarAhead { expected: Nonce, got: Nonce, window: u64 },
    #[error("transaction expired at height {expiry}; the chain is at {height}")]
    Expired { expiry: Height, height: Height },
    #[error("sender balance {available} is below the {needed} this transaction needs")]
    InsufficientBalance { needed: Amount, available: Amount },
    #[error("sender account {0} does not exist")]
    UnknownSender(AccountId),
    #[error("sender account {0} is frozen")]
    SenderFrozen(AccountId),
    #[error("fee limit {limit} is below the fee {fee}")]
    FeeTooLow { fee: Amount, limit: Amount },
    #[error("the pool is full ({capacity} transactions)")]
    Full { capacity: usize },
    #[error("the sender has {capacity} transactions pending already")]
    SenderFull { capacity: usize },
    #[error("a transaction with this sender and nonce is pending already")]
    Duplicate,
    #[error("cannot read the sender's account: {0}")]
    State(String),
    #[error("gas limit {limit} is above the chain's limit of {max} per transaction")]
    GasLimitTooHigh { limit: u64, max: u64 },
}

/// A sender's finalized account and the keys that may sign for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderState {
    pub account: Account,
    pub keys: KeySet,
    /// The fee per transaction in the same finalized state (governance can change it).
    pub fee: Amount,
    /// The gas price and limits in the same finalized state.
    pub gas: GasParameters,
}

/// The pending transactions, per sender ordered by nonce.
#[derive(Debug)]
pub struct Pool {
    config: Config,
    by_sender: BTreeMap<AccountId, BTreeMap<Nonce, Transaction>>,
    by_hash: BTreeMap<Hash, (AccountId, Nonce)>,
    /// Senders in order of first arrival; proposals take from them in turn.
    arrival: VecDeque<AccountId>,
    /// Next nonce per sender as of the latest finalized block this pool saw.
    next_nonce: BTreeMap<AccountId, Nonce>,
    len: usize,
}

/// The most a transaction can take from its sender's balance: fee plus the amount it moves.
pub fn spend(transaction: &Transaction, fee: Amount) -> Option<Amount> {
    let moved = transaction.body.payload.moved();
    fee.checked_add(moved)
}

/// The most a transaction can pay in fees: the flat fee plus its whole gas limit at the price
/// (what execution holds before a contract payload runs); `None` if that overflows.
pub fn fee_with_gas(transaction: &Transaction, fee: Amount, gas: &GasParameters) -> Option<Amount> {
    let gas_limit = u128::from(transaction.body.payload.gas_limit().unwrap_or(0));
    gas.price.get().checked_mul(gas_limit).and_then(|cost| fee.checked_add(Amount(cost)))
}

impl Pool {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            by_sender: BTreeMap::new(),
            by_hash: BTreeMap::new(),
            arrival: VecDeque::new(),
            next_nonce: BTreeMap::new(),
            len: 0,
        }
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a transaction is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Whether exactly `transaction`, signatures included, is pending (its hash covers the body
    /// only, so the pending one is compared whole).
    pub fn holds(&self, transaction: &Transaction) -> bool {
        self.by_sender
            .get(&transaction.body.sender)
            .and_then(|queue| queue.get(&transaction.body.nonce))
            .is_some_and(|pending| pending == transaction)
    }

    /// Checks the state-dependent rules and inserts. Chain id, size and signatures are checked by
    /// the caller; `sender` is the sender's finalized account and key set; `height` the finalized height.
    pub fn insert(
        &mut self,
        transaction: Transaction,
        sender: Option<&SenderState>,
        height: Height,
        fee: Amount,
    ) -> Result<Hash, AdmissionError> {
        let body = &transaction.body;
        let state = sender.ok_or(AdmissionError::UnknownSender(body.sender))?;
        let account = &state.account;
        if account.frozen {
            return Err(AdmissionError::SenderFrozen(body.sender));
        }
        formica_crypto::authorise(&state.keys, &transaction).map_err(AdmissionError::Unauthorised)?;
        if body.nonce < account.nonce {
            return Err(AdmissionError::NonceTooLow { expected: account.nonce, got: body.nonce });
        }
        if body.nonce.get() - account.nonce.get() >= self.config.nonce_window {
            return Err(AdmissionError::NonceTooFarAhead {
                expected: account.nonce,
                got: body.nonce,
                window: self.config.nonce_window,
            });
        }
        let next_height = height.next().expect("heights never reach u64::MAX");
        if body.expiry_height < next_height {
            return Err(AdmissionError::Expired { expiry: body.expiry_height, height });
        }
        if let Some(limit) = body.payload.gas_limit()
            && limit > state.gas.tx_gas_max
        {
            return Err(AdmissionError::GasLimitTooHigh { limit, max: state.gas.tx_gas_max });
        }
        // A contract payload must be able to pay for all the gas it asks for, as in execution.
        let fee = fee_with_gas(&transaction, fee, &state.gas).unwrap_or(Amount(u128::MAX));
        if body.fee_limit < fee {
            return Err(AdmissionError::FeeTooLow { fee, limit: body.fee_limit });
        }
        let needed = spend(&transaction, fee).unwrap_or(Amount(u128::MAX));
        if account.balance < needed {
            return Err(AdmissionError::InsufficientBalance { needed, available: account.balance });
        }
        let hash = transaction.hash();
        let pending = self.by_sender.get(&body.sender);
        if self.by_hash.contains_key(&hash) || pending.is_some_and(|queue| queue.contains_key(&body.nonce)) {
            return Err(AdmissionError::Duplicate);
        }
        if pending.is_some_and(|queue| queue.len() >= self.config.per_sender_max) {
            return Err(AdmissionError::SenderFull { capacity: self.config.per_sender_max });
        }
        if self.len >= self.config.transactions_max {
            return Err(AdmissionError::Full { capacity: self.config.transactions_max });
        }
        let sender_id = body.sender;
        let nonce = body.nonce;
        self.next_nonce.insert(sender_id, account.nonce);
        let queue = self.by_sender.entry(sender_id).or_default();
        if queue.is_empty() {
            self.arrival.push_back(sender_id);
        }
        queue.insert(nonce, transaction);
        self.by_hash.insert(hash, (sender_id, nonce));
        self.len += 1;
        Ok(hash)
    }

    /// Up to `limit` transactions to propose: senders in arrival order, each contributing its run
    /// of consecutive nonces from its next nonce, one transaction per sender per round. A
    /// sender's run starts at `pending`'s nonce for it instead when that is higher: blocks this
    /// pool has not seen finalized include the nonces below it.
    pub fn candidates(&self, limit: usize, pending: &BTreeMap<AccountId, Nonce>) -> Vec<Transaction> {
        let mut runs: Vec<_> = self
            .arrival
            .iter()
            .filter_map(|sender| {
                let queue = self.by_sender.get(sender)?;
                let finalized = self.next_nonce.get(sender).copied().unwrap_or(Nonce::ZERO);
                let start = pending.get(sender).map_or(finalized, |pending| finalized.max(*pending));
                Some((start, queue.range(start..).peekable()))
            })
            .collect();
        let mut selected = Vec::with_capacity(limit.min(self.len));
        while selected.len() < limit {
            let mut progressed = false;
            for (expected, run) in runs.iter_mut() {
                if selected.len() == limit {
                    break;
                }
                let Some((nonce, _)) = run.peek() else {
                    continue;
                };
                if **nonce != *expected {
                    continue;
                }
                let (_, transaction) = run.next().expect("peeked");
                selected.push(transaction.clone());
                *expected = expected.next().expect("nonces never reach u64::MAX");
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        selected
    }

    /// Applies a finalized block: senders' nonces advance, spent and expired transactions leave.
    /// `senders` holds the next nonce of every sender of the block after it.
    pub fn finalized(&mut self, height: Height, senders: &BTreeMap<AccountId, Nonce>) -> usize {
        let mut removed = 0;
        for (sender, next) in senders {
            self.next_nonce.insert(*sender, *next);
            if let Some(queue) = self.by_sender.get_mut(sender) {
                let stale: Vec<Nonce> = queue.range(..*next).map(|(nonce, _)| *nonce).collect();
                for nonce in stale {
                    let transaction = queue.remove(&nonce).expect("listed above");
                    self.by_hash.remove(&transaction.hash());
                    removed += 1;
                }
            }
        }
        let next_height = height.next().expect("heights never reach u64::MAX");
        let expired: Vec<(AccountId, Nonce, Hash)> = self
            .by_sender
            .iter()
            .flat_map(|(sender, queue)| {
                queue
                    .iter()
                    .filter(|(_, transaction)| transaction.body.expiry_height < next_height)
                    .map(|(nonce, transaction)| (*sender, *nonce, transaction.hash()))
            })
            .collect();
        for (sender, nonce, hash) in expired {
            self.by_sender.get_mut(&sender).expect("listed above").remove(&nonce);
            self.by_hash.remove(&hash);
            removed += 1;
        }
        self.by_sender.retain(|sender, queue| {
            let keep = !queue.is_empty();
            if !keep {
                self.next_nonce.remove(sender);
            }
            keep
        });
        let by_sender = &self.by_sender;
        self.arrival.retain(|sender| by_sender.contains_key(sender));
        self.len -= removed;
        removed
    }
}
