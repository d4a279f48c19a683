//! The pure state transition: transactions applied to an in-memory overlay of state records.
//!
//! Execution never reads storage itself. Before a block runs, [`first_reads`] names the records
//! it needs from the transactions alone, and [`second_reads`] the records found through those
//! (the senders' extra key slots and recovery records). Records that by invariant cannot exist
//! are marked absent without a read:
//! - key slot `s` of an account exists exactly when `1 <= s < key_count`;
//! - the recovery record exists exactly when the account's `has_recovery` flag is set, and the
//!   pending-recovery record exactly when `recovering` is set.
//!
//! The genesis accounts are not read before height 1: the state is empty then, and
//! [`apply_genesis`] writes them whole.

use crate::contracts;
use crate::governance;
use crate::modules;
use formica_crypto::{AuthorisationError, Authority, KeySet, authorise, validate_key};
use formica_state::{StateKey, StateValue};
use formica_types::{
    ACCOUNT_KEYS_MAX, Account, AccountId, AccountKey, Amount, ApprovalRule, AssetOp, ChainId, ConsensusTimeouts,
    FailureCode, GasParameters, GovernanceState, Height, KeyEntry, NodeSet, Nonce, OrgId, OrgName, Outcome, Payload,
    PendingRecovery, Receipt, RecoveryConfig, Role, Symbol, Transaction,
};
use std::collections::{BTreeMap, BTreeSet};

/// Chain parameters execution depends on (fixed at genesis for now).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainParameters {
    pub chain_id: ChainId,
    /// The fee each transaction pays to the fee collector at genesis (the governance record
    /// holds the current one).
    pub fee_per_transaction: Amount,
    pub fee_collector: AccountId,
    /// The most transactions a block may carry.
    pub block_transactions_max: u32,
    /// Accounts created when the first block after genesis executes.
    pub genesis_accounts: Vec<(AccountKey, Amount)>,
    /// Roles granted when the first block after genesis executes.
    pub genesis_roles: Vec<(AccountId, Role)>,
    /// The shortest recovery delay an account may set.
    pub recovery_delay_min_blocks: u32,
    /// Whether frozen accounts may receive transfers.
    pub frozen_accounts_receive: bool,
    /// Member organisations at genesis: name, admin accounts, admin threshold.
    pub genesis_organisations: Vec<(OrgName, Vec<AccountId>, u8)>,
    /// How many members must approve a proposal.
    pub approval_rule: ApprovalRule,
    /// The longest a proposal may stay open, in blocks.
    pub proposal_expiry_blocks_max: u32,
    /// The account-creation policy at genesis (governance can change it).
    pub account_creation_members_only: bool,
    /// The node registry at genesis (its validators are epoch 0's committee).
    pub genesis_nodes: NodeSet,
    /// Blocks per consensus epoch.
    pub epoch_blocks: u64,
    /// The consensus timeouts at genesis (governance can change them).
    pub consensus_timeouts: ConsensusTimeouts,
    /// The RPC access policy at genesis (governance can change it).
    pub api_members_only: bool,
    /// The gas price and limits at genesis (governance can change them).
    pub gas: GasParameters,
    /// The most bytes of an encoded block (the proposer stops adding transactions before it).
    pub block_bytes_max: usize,
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
    #[error("sender account {0} is frozen")]
    SenderFrozen(AccountId),
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
    #[error("gas limit {limit} is above the most a transaction may ask for, {max}")]
    GasLimitTooHigh { limit: u64, max: u64 },
    #[error("gas limit {limit} does not fit the block: {used} of {max} asked for already")]
    BlockGasFull { limit: u64, used: u64, max: u64 },
    #[error("the block holds {used} bytes; {size} more would pass the limit of {max}")]
    BlockBytesFull { size: usize, used: usize, max: usize },
    #[error("the most this transaction could cost overflows")]
    FeeOverflow,
    /// Not a property of the transaction: execution needs records that were not read. The
    /// block executor reads them and runs again; this never reaches a caller of
    /// `crate::block`.
    #[error("execution needs records that were not read: {0:?}")]
    Unread(Unread),
}

impl From<Unread> for Rejection {
    fn from(unread: Unread) -> Self {
        Rejection::Unread(unread)
    }
}

/// Records execution needed that were not read before it ran. The block executor reads them
/// and runs the transaction that needed them again (see `crate::block`); nothing is ever guessed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unread(pub BTreeSet<StateKey>);

impl Unread {
    fn one(key: StateKey) -> Self {
        Self(BTreeSet::from([key]))
    }
}

/// A point in an overlay's changes that [`StateOverlay::rollback_to`] returns to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checkpoint(usize);

/// One change, with what it replaced (`None`: the record was not in the overlay at all) and
/// whether it was the record's first change.
#[derive(Clone, Debug)]
struct Undo {
    key: StateKey,
    previous: Option<Option<StateValue>>,
    first: bool,
}

/// What a contract transaction's runs have found out so far in this block (see
/// `crate::contracts`): kept across rollbacks, since it depends only on the transaction, the
/// state before the block and the changes of the transactions before it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Discovery {
    /// Records the transaction's VM runs may see besides those changed in the block: its
    /// declared reads and the records its earlier runs reported missing.
    pub(crate) known: BTreeSet<StateKey>,
    /// Gas its runs that stopped for missing records used, summed.
    pub(crate) gas: u64,
    /// How many runs stopped for missing records.
    pub(crate) runs: u32,
}

/// The state records one block reads, and the ones it changed.
#[derive(Clone, Debug, Default)]
pub struct StateOverlay {
    records: BTreeMap<StateKey, Option<StateValue>>,
    dirty: BTreeSet<StateKey>,
    /// Every change in order, so the overlay can return to any [`Checkpoint`].
    undo: Vec<Undo>,
    /// The overlay holds the whole state: a record it lacks does not exist.
    complete: bool,
    /// Per transaction (by hash): what its contract runs found out.
    discovery: BTreeMap<[u8; 32], Discovery>,
    /// Transactions run now may see a state that misses earlier transactions' changes (the
    /// block executor's first pass, after a transaction that lacked records): what their runs
    /// find is read, but not taken as their discovery.
    speculative: bool,
}

impl StateOverlay {
    /// An overlay over records already read (`None`: the record does not exist).
    pub fn new(records: BTreeMap<StateKey, Option<StateValue>>) -> Self {
        Self { records, ..Self::default() }
    }

    /// An overlay over the whole state (every record not given does not exist). For checking
    /// the executor's reads against execution that never lacks a record.
    pub fn complete(records: BTreeMap<StateKey, StateValue>) -> Self {
        let records = records.into_iter().map(|(key, value)| (key, Some(value))).collect();
        Self { complete: true, ..Self::new(records) }
    }

    /// Whether the overlay holds the whole state.
    pub(crate) fn is_complete(&self) -> bool {
        self.complete
    }

    /// The current point in the changes.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.undo.len())
    }

    /// Undoes every change made since `checkpoint`.
    pub fn rollback_to(&mut self, checkpoint: Checkpoint) {
        while self.undo.len() > checkpoint.0 {
            let Undo { key, previous, first } = self.undo.pop().expect("the log is longer than the checkpoint");
            match previous {
                Some(value) => self.records.insert(key, value),
                None => self.records.remove(&key),
            };
            if first {
                self.dirty.remove(&key);
            }
        }
    }

    /// Undoes every change: the overlay holds what was read, and nothing else.
    pub fn rollback(&mut self) {
        self.rollback_to(Checkpoint(0));
    }

    /// Whether `key` was changed in this block so far.
    pub(crate) fn is_dirty(&self, key: &StateKey) -> bool {
        self.dirty.contains(key)
    }

    /// What the contract runs of the transaction `hash` found out so far.
    pub(crate) fn discovery(&mut self, hash: [u8; 32]) -> &mut Discovery {
        self.discovery.entry(hash).or_default()
    }

    /// Whether transactions run now may see a state missing earlier transactions' changes.
    pub(crate) fn is_speculative(&self) -> bool {
        self.speculative
    }

    pub(crate) fn set_speculative(&mut self, speculative: bool) {
        self.speculative = speculative;
    }

    /// Which of `keys` were not read.
    pub fn missing(&self, keys: impl IntoIterator<Item = StateKey>) -> BTreeSet<StateKey> {
        if self.complete {
            return BTreeSet::new();
        }
        keys.into_iter().filter(|key| !self.records.contains_key(key)).collect()
    }

    /// Fails with every one of `keys` that was not read.
    pub fn require(&self, keys: impl IntoIterator<Item = StateKey>) -> Result<(), Unread> {
        let missing = self.missing(keys);
        if missing.is_empty() { Ok(()) } else { Err(Unread(missing)) }
    }

    /// Adds records read later (see [`second_reads`]); records already present are kept.
    pub fn extend(&mut self, records: impl IntoIterator<Item = (StateKey, Option<StateValue>)>) {
        for (key, value) in records {
            self.records.entry(key).or_insert(value);
        }
    }

    /// Whether the record was read (or written) already.
    pub fn contains(&self, key: &StateKey) -> bool {
        self.records.contains_key(key)
    }

    /// The record under `key` as changed so far (`None`: it does not exist).
    pub fn value(&self, key: &StateKey) -> Result<Option<&StateValue>, Unread> {
        match self.records.get(key) {
            Some(value) => Ok(value.as_ref()),
            None if self.complete => Ok(None),
            None => Err(Unread::one(*key)),
        }
    }

    /// The account, as changed so far.
    pub fn account(&self, id: &AccountId) -> Result<Option<&Account>, Unread> {
        Ok(match self.value(&StateKey::Account(*id))? {
            Some(StateValue::Account(account)) => Some(account),
            Some(other) => panic!("account record of {id} holds {other:?}"),
            None => None,
        })
    }

    pub(crate) fn set(&mut self, key: StateKey, value: Option<StateValue>) {
        let previous = self.records.insert(key, value);
        let first = self.dirty.insert(key);
        self.undo.push(Undo { key, previous, first });
    }

    fn set_account(&mut self, id: AccountId, account: Account) {
        self.set(StateKey::Account(id), Some(StateValue::Account(account)));
    }

    fn key_slot(&self, id: &AccountId, slot: u8) -> Result<KeyEntry, Unread> {
        match self.value(&StateKey::KeySlot(*id, slot))? {
            Some(StateValue::KeySlot(entry)) => Ok(*entry),
            other => panic!("key slot {slot} of {id} below its key count holds {other:?}"),
        }
    }

    fn recovery(&self, id: &AccountId) -> Result<Option<RecoveryConfig>, Unread> {
        Ok(match self.value(&StateKey::Recovery(*id))? {
            Some(StateValue::Recovery(config)) => Some(*config),
            _ => None,
        })
    }

    fn pending_recovery(&self, id: &AccountId) -> Result<Option<PendingRecovery>, Unread> {
        Ok(match self.value(&StateKey::PendingRecovery(*id))? {
            Some(StateValue::PendingRecovery(pending)) => Some(*pending),
            _ => None,
        })
    }

    /// Whether `id` holds `role`.
    pub fn has_role(&self, id: &AccountId, role: Role) -> Result<bool, Unread> {
        Ok(matches!(self.value(&StateKey::Role(*id, role))?, Some(StateValue::Role(_))))
    }

    /// The signing keys of an account, slot order.
    pub fn keys(&self, id: &AccountId, account: &Account) -> Result<Vec<KeyEntry>, Unread> {
        self.require((1..account.key_count).map(|slot| StateKey::KeySlot(*id, slot)))?;
        std::iter::once(Ok(account.first_key))
            .chain((1..account.key_count).map(|slot| self.key_slot(id, slot)))
            .collect()
    }

    /// The key set that authorises an account's transactions.
    pub fn key_set(&self, id: &AccountId) -> Result<Option<KeySet>, Unread> {
        let Some(account) = self.account(id)? else {
            return Ok(None);
        };
        let recovery = if account.has_recovery { self.recovery(id)?.map(|config| config.key) } else { None };
        Ok(Some(KeySet { keys: self.keys(id, account)?, threshold: account.threshold, recovery }))
    }

    /// The changed records, in key order (`None`: deleted).
    pub fn into_changes(self) -> Vec<(StateKey, Option<StateValue>)> {
        let Self { mut records, dirty, .. } = self;
        dirty.into_iter().map(|key| (key, records.remove(&key).expect("a changed record is present"))).collect()
    }

    /// The sum of all balances (of accounts and contracts) held in the overlay (for conservation
    /// checks).
    pub fn total_balance(&self) -> Option<Amount> {
        self.records
            .values()
            .flatten()
            .filter_map(|value| match value {
                StateValue::Account(account) => Some(account.balance),
                StateValue::Contract(record) => Some(record.balance),
                _ => None,
            })
            .try_fold(Amount::ZERO, |total, balance| total.checked_add(balance))
    }
}

/// The records a block needs that are named by its transactions alone.
pub fn first_reads<'a>(
    parameters: &ChainParameters,
    height: Height,
    transactions: impl IntoIterator<Item = &'a Transaction>,
) -> BTreeSet<StateKey> {
    let mut reads =
        BTreeSet::from([StateKey::Account(parameters.fee_collector), StateKey::Governance, StateKey::GasParameters]);
    // The genesis accounts are not read: the state before height 1 is empty, and
    // `apply_genesis` writes them whole (one key, no recovery, so they need no second reads
    // either). Reading them cost a storage lookup and 17 absent records each, which made the
    // first block of a 1e5-account genesis take seconds and gigabytes.
    if height == Height(1) {
        reads.extend(parameters.genesis_roles.iter().map(|(id, role)| StateKey::Role(*id, *role)));
    }
    for transaction in transactions {
        let sender = transaction.body.sender;
        reads.insert(StateKey::Account(sender));
        match &transaction.body.payload {
            Payload::Transfer { to, .. } => {
                reads.insert(StateKey::Account(*to));
            }
            Payload::CreateAccount { public_key, .. } => {
                reads.insert(StateKey::Account(public_key.account_id()));
                reads.extend([StateKey::Governance, StateKey::AdminOf(sender)]);
            }
            Payload::Propose { .. } => {
                reads.extend([StateKey::Governance, StateKey::AdminOf(sender)]);
            }
            Payload::Approve { proposal } => {
                reads.extend([
                    StateKey::Governance,
                    StateKey::AdminOf(sender),
                    StateKey::Proposal(*proposal),
                    StateKey::ProposalAction(*proposal),
                    StateKey::Approved(*proposal, sender),
                ]);
            }
            Payload::Freeze { account } | Payload::Unfreeze { account } => {
                reads.insert(StateKey::Account(*account));
                reads.insert(StateKey::Role(sender, Role::Regulator));
            }
            Payload::Deploy { .. }
            | Payload::Call { .. }
            | Payload::Upgrade { .. }
            | Payload::SetContractFrozen { .. } => {
                reads.extend(contracts::payload_reads(&sender, transaction.body.nonce, &transaction.body.payload));
            }
            Payload::Asset(op) => reads.extend(modules::assets::reads(&sender, op)),
            Payload::Remittance(op) => reads.extend(modules::remittance::reads(&sender, op)),
            Payload::Invoice(op) => reads.extend(modules::invoices::reads(&sender, op)),
            Payload::Finance(op) => reads.extend(modules::finance::reads(&sender, op)),
            Payload::Charity(op) => reads.extend(modules::charity::reads(&sender, op)),
            Payload::Trace(op) => reads.extend(modules::traceability::reads(&sender, op)),
            Payload::Notary(op) => reads.extend(modules::notary::reads(op)),
            Payload::AddKey { .. }
            | Payload::RemoveKey { .. }
            | Payload::SetKeyWeight { .. }
            | Payload::SetThreshold { .. }
            | Payload::SetRecovery { .. }
            | Payload::RemoveRecovery
            | Payload::StartRecovery { .. }
            | Payload::CancelRecovery
            | Payload::CompleteRecovery => {}
        }
    }
    reads
}

/// The records found through the first reads: every account's extra key slots and recovery
/// records. Returns the keys to read from storage, and the records known to be absent.
pub fn second_reads(overlay: &StateOverlay) -> (BTreeSet<StateKey>, Vec<StateKey>) {
    let mut to_read = BTreeSet::new();
    let mut absent = Vec::new();
    for (key, value) in &overlay.records {
        let StateKey::Account(id) = key else { continue };
        let account = match value {
            Some(StateValue::Account(account)) => Some(account),
            _ => None,
        };
        let key_count = account.map_or(0, |account| account.key_count.max(1));
        for slot in 1..ACCOUNT_KEYS_MAX {
            let slot_key = StateKey::KeySlot(*id, slot);
            if slot < key_count {
                to_read.insert(slot_key);
            } else {
                absent.push(slot_key);
            }
        }
        let has_recovery = account.is_some_and(|account| account.has_recovery);
        let recovering = account.is_some_and(|account| account.recovering);
        if has_recovery {
            to_read.insert(StateKey::Recovery(*id));
        } else {
            absent.push(StateKey::Recovery(*id));
        }
        if recovering {
            to_read.insert(StateKey::PendingRecovery(*id));
        } else {
            absent.push(StateKey::PendingRecovery(*id));
        }
    }
    (to_read, absent)
}

/// Creates the genesis accounts, roles and member organisations. Runs once, before the
/// transactions of height 1.
pub fn apply_genesis(parameters: &ChainParameters, overlay: &mut StateOverlay) {
    let mut state = GovernanceState {
        next_proposal: 0,
        next_org: OrgId(1),
        members: 0,
        account_creation_members_only: parameters.account_creation_members_only,
        fee: parameters.fee_per_transaction,
        nodes: 0,
        block_transactions: parameters.block_transactions_max,
        api_members_only: parameters.api_members_only,
        timeouts: parameters.consensus_timeouts,
        epoch_timeouts: parameters.consensus_timeouts,
    };
    for (name, admins, threshold) in &parameters.genesis_organisations {
        governance::admit(overlay, &mut state, *name, admins, *threshold);
    }
    for node in &parameters.genesis_nodes.0 {
        governance::register_node(overlay, &mut state, node.clone());
    }
    overlay.set(StateKey::Governance, Some(StateValue::Governance(state)));
    overlay.set(StateKey::GasParameters, Some(StateValue::GasParameters(parameters.gas)));
    for (key, balance) in &parameters.genesis_accounts {
        overlay.set_account(key.account_id(), Account::new(*key, *balance));
    }
    for (id, role) in &parameters.genesis_roles {
        overlay.set(StateKey::Role(*id, *role), Some(StateValue::Role(Height(1))));
    }
}

/// Checks everything that decides whether a transaction may be in a block at `height`, given
/// the state before it. Signature validity is checked separately, in batches.
pub fn check_admissible(
    parameters: &ChainParameters,
    height: Height,
    overlay: &StateOverlay,
    transaction: &Transaction,
) -> Result<Authority, Rejection> {
    let body = &transaction.body;
    if body.chain_id != parameters.chain_id {
        return Err(Rejection::WrongChainId { expected: parameters.chain_id, got: body.chain_id });
    }
    if body.expiry_height < height {
        return Err(Rejection::Expired { expiry: body.expiry_height, height });
    }
    let sender = overlay.account(&body.sender)?.ok_or(Rejection::UnknownSender(body.sender))?;
    let keys = overlay.key_set(&body.sender)?.expect("the sender exists");
    let gas = contracts::gas_parameters(parameters, overlay)?;
    if let Some(limit) = body.payload.gas_limit()
        && limit > gas.tx_gas_max
    {
        return Err(Rejection::GasLimitTooHigh { limit, max: gas.tx_gas_max });
    }
    check_sender(sender, &keys, fee_max(governance::state(overlay)?.fee, &gas, &body.payload)?, transaction)
}

/// The most a transaction can cost: the flat fee plus its whole gas limit at the gas price.
pub fn fee_max(fee: Amount, gas: &GasParameters, payload: &Payload) -> Result<Amount, Rejection> {
    let gas_limit = u128::from(payload.gas_limit().unwrap_or(0));
    gas.price.get().checked_mul(gas_limit).and_then(|cost| fee.checked_add(Amount(cost))).ok_or(Rejection::FeeOverflow)
}

/// The checks on the sender's own state under the current `fee`, shared by execution and
/// mempool admission.
pub fn check_sender(
    sender: &Account,
    keys: &KeySet,
    fee: Amount,
    transaction: &Transaction,
) -> Result<Authority, Rejection> {
    let body = &transaction.body;
    if sender.frozen {
        return Err(Rejection::SenderFrozen(body.sender));
    }
    if body.nonce != sender.nonce {
        return Err(Rejection::NonceMismatch { expected: sender.nonce, got: body.nonce });
    }
    let authority = authorise(keys, transaction).map_err(Rejection::Unauthorised)?;
    if body.fee_limit < fee {
        return Err(Rejection::FeeLimitTooLow { fee, limit: body.fee_limit });
    }
    if sender.balance < fee {
        return Err(Rejection::CannotPayFee { fee, balance: sender.balance });
    }
    Ok(authority)
}

/// Applies one transaction in a block at `height` with timestamp `timestamp_ms`. On `Err` nothing
/// changed; on `Ok` the fee is paid and the nonce advanced whatever the receipt's outcome. A
/// contract payload pays the flat fee plus the gas it used at the gas price, success or not.
pub fn apply_transaction(
    parameters: &ChainParameters,
    height: Height,
    timestamp_ms: u64,
    overlay: &mut StateOverlay,
    transaction: &Transaction,
) -> Result<Receipt, Rejection> {
    let body = &transaction.body;
    check_admissible(parameters, height, overlay, transaction)?;
    let flat_fee = governance::state(overlay)?.fee;
    let gas = contracts::gas_parameters(parameters, overlay)?;
    // The whole gas limit is held back first, so value the contract moves cannot leave the
    // sender unable to pay for the gas; what is not used is returned below.
    let held = fee_max(flat_fee, &gas, &body.payload).expect("admissible implies the fee fits");
    let mut sender = overlay.account(&body.sender)?.cloned().expect("admissible implies the sender exists");
    sender.nonce = sender.nonce.next().ok_or(Rejection::NonceExhausted)?;
    sender.balance = sender.balance.checked_sub(held).expect("admissible implies the fee is affordable");
    overlay.set_account(body.sender, sender);

    // A payload either applies in full or returns before its first write (reads included, so a
    // record found unread leaves the state as a failed payload would).
    let (outcome, gas_used, events) =
        if body.payload.gas_limit().is_some() || matches!(body.payload, Payload::SetContractFrozen { .. }) {
            let site = contracts::Site {
                parameters,
                height,
                timestamp_ms,
                sender: body.sender,
                nonce: body.nonce,
                transaction: transaction.hash().0,
            };
            let applied = contracts::apply(&site, overlay, &body.payload)?;
            (applied.outcome, applied.gas_used, applied.events)
        } else if let Payload::Asset(op) = &body.payload
            && !op.symbol().is_native()
        {
            match modules::assets::apply(height, overlay, &body.sender, op) {
                Ok(events) => (Outcome::Success, 0, events),
                Err(Halt::Fail(code, message)) => (Outcome::Failure { code, message }, 0, Vec::new()),
                Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            }
        } else if let Payload::Remittance(op) = &body.payload {
            let receive = parameters.frozen_accounts_receive;
            match modules::remittance::apply(height, timestamp_ms, receive, overlay, &body.sender, op) {
                Ok(events) => (Outcome::Success, 0, events),
                Err(Halt::Fail(code, message)) => (Outcome::Failure { code, message }, 0, Vec::new()),
                Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            }
        } else if let Payload::Invoice(op) = &body.payload {
            let receive = parameters.frozen_accounts_receive;
            match modules::invoices::apply(height, timestamp_ms, receive, overlay, &body.sender, op) {
                Ok(events) => (Outcome::Success, 0, events),
                Err(Halt::Fail(code, message)) => (Outcome::Failure { code, message }, 0, Vec::new()),
                Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            }
        } else if let Payload::Finance(op) = &body.payload {
            let receive = parameters.frozen_accounts_receive;
            match modules::finance::apply(height, timestamp_ms, receive, overlay, &body.sender, op) {
                Ok(events) => (Outcome::Success, 0, events),
                Err(Halt::Fail(code, message)) => (Outcome::Failure { code, message }, 0, Vec::new()),
                Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            }
        } else if let Payload::Charity(op) = &body.payload {
            let receive = parameters.frozen_accounts_receive;
            match modules::charity::apply(height, receive, overlay, &body.sender, op) {
                Ok(events) => (Outcome::Success, 0, events),
                Err(Halt::Fail(code, message)) => (Outcome::Failure { code, message }, 0, Vec::new()),
                Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            }
        } else if let Payload::Trace(op) = &body.payload {
            match modules::traceability::apply(height, timestamp_ms, overlay, &body.sender, op) {
                Ok(events) => (Outcome::Success, 0, events),
                Err(Halt::Fail(code, message)) => (Outcome::Failure { code, message }, 0, Vec::new()),
                Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            }
        } else if let Payload::Notary(op) = &body.payload {
            match modules::notary::apply(height, timestamp_ms, overlay, &body.sender, op) {
                Ok(events) => (Outcome::Success, 0, events),
                Err(Halt::Fail(code, message)) => (Outcome::Failure { code, message }, 0, Vec::new()),
                Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            }
        } else {
            match apply_payload(parameters, height, overlay, &body.sender, &body.payload) {
                Ok(()) => (Outcome::Success, 0, Vec::new()),
                Err(Halt::Fail(code, message)) => (Outcome::Failure { code, message }, 0, Vec::new()),
                Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            }
        };
    let gas_fee = gas.price.get().checked_mul(u128::from(gas_used)).expect("gas used is at most the gas limit");
    let fee = flat_fee.checked_add(Amount(gas_fee)).expect("at most the fee held");
    let refund = held.checked_sub(fee).expect("gas used is at most the gas limit");
    let credits = [(body.sender, refund), (parameters.fee_collector, fee)];
    for (account, amount) in credits {
        match credit(overlay, &account, amount) {
            Ok(()) => {}
            Err(Halt::Unread(unread)) => return Err(Rejection::Unread(unread)),
            Err(Halt::Fail(..)) => panic!("balances are bounded by the supply"),
        }
    }
    Ok(Receipt { transaction_hash: transaction.hash(), outcome, fee_paid: fee, gas_used, events })
}

/// Why a payload stopped: a failure its receipt records, or records that were not read.
pub(crate) enum Halt {
    Fail(FailureCode, String),
    Unread(Unread),
}

impl From<Unread> for Halt {
    fn from(unread: Unread) -> Self {
        Halt::Unread(unread)
    }
}

pub(crate) fn fail<T>(code: FailureCode, message: impl Into<String>) -> Result<T, Halt> {
    Err(Halt::Fail(code, message.into()))
}

fn check_key(key: &AccountKey) -> Result<(), Halt> {
    if validate_key(key) { Ok(()) } else { fail(FailureCode::InvalidKey, format!("{key} is not a valid key")) }
}

fn apply_payload(
    parameters: &ChainParameters,
    height: Height,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    payload: &Payload,
) -> Result<(), Halt> {
    match payload {
        Payload::Invoice(_) => panic!("invoice payloads are applied by crate::modules::invoices"),
        Payload::Remittance(_) => panic!("remittance payloads are applied by crate::modules::remittance"),
        Payload::Finance(_) => panic!("finance payloads are applied by crate::modules::finance"),
        Payload::Charity(_) => panic!("charity payloads are applied by crate::modules::charity"),
        Payload::Trace(_) => panic!("traceability payloads are applied by crate::modules::traceability"),
        Payload::Notary(_) => panic!("notary payloads are applied by crate::modules::notary"),
        Payload::Asset(op) => match op {
            // The native asset is one asset among the module's: its transfer is a native one.
            AssetOp::Transfer { symbol, to, amount } if symbol.is_native() => {
                apply_payload(parameters, height, overlay, sender, &Payload::Transfer { to: *to, amount: *amount })
            }
            _ => fail(
                FailureCode::InvalidAsset,
                format!("{} is the native asset: only transfers apply to it", Symbol::NATIVE),
            ),
        },
        Payload::Transfer { to, amount } => {
            let Some(recipient) = overlay.account(to)? else {
                return contracts::transfer_to_contract(overlay, sender, to, *amount);
            };
            if recipient.frozen && !parameters.frozen_accounts_receive && to != sender {
                return fail(FailureCode::RecipientFrozen, format!("account {to} is frozen"));
            }
            // Both new balances are computed before either is written, so a failure leaves no trace.
            let mut from_account = overlay.account(sender)?.cloned().expect("the sender exists");
            from_account.balance = from_account.balance.checked_sub(*amount).ok_or_else(|| {
                Halt::Fail(
                    FailureCode::InsufficientBalance,
                    format!("balance {} is below {amount}", from_account.balance),
                )
            })?;
            if to == sender {
                return Ok(());
            }
            let mut to_account = overlay.account(to)?.cloned().expect("checked above");
            to_account.balance = to_account
                .balance
                .checked_add(*amount)
                .ok_or_else(|| Halt::Fail(FailureCode::BalanceOverflow, format!("balance of {to} would overflow")))?;
            overlay.set_account(*sender, from_account);
            overlay.set_account(*to, to_account);
            Ok(())
        }
        Payload::CreateAccount { public_key, initial_balance } => {
            if !governance::may_create_accounts(overlay, sender)? {
                return fail(FailureCode::NotPermitted, "only admins of member organisations may create accounts");
            }
            check_key(public_key)?;
            let id = public_key.account_id();
            if overlay.account(&id)?.is_some() {
                return fail(FailureCode::AccountExists, format!("account {id} exists already"));
            }
            let mut from_account = overlay.account(sender)?.cloned().expect("the sender exists");
            from_account.balance = from_account.balance.checked_sub(*initial_balance).ok_or_else(|| {
                Halt::Fail(
                    FailureCode::InsufficientBalance,
                    format!("balance {} is below {initial_balance}", from_account.balance),
                )
            })?;
            overlay.set_account(*sender, from_account);
            overlay.set_account(id, Account::new(*public_key, *initial_balance));
            Ok(())
        }
        Payload::AddKey { key, weight } => {
            check_key(key)?;
            if *weight == 0 {
                return fail(FailureCode::InvalidThreshold, "a key's weight must be at least 1");
            }
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            if account.key_count >= ACCOUNT_KEYS_MAX {
                return fail(FailureCode::KeySetFull, format!("an account holds at most {ACCOUNT_KEYS_MAX} keys"));
            }
            if overlay.keys(sender, &account)?.iter().any(|entry| entry.key == *key) {
                return fail(FailureCode::KeyExists, format!("{key} is a key of the account already"));
            }
            if overlay.recovery(sender)?.is_some_and(|config| config.key == *key) {
                return fail(FailureCode::KeyExists, format!("{key} is the account's recovery key"));
            }
            let slot = account.key_count;
            account.key_count += 1;
            overlay.set(
                StateKey::KeySlot(*sender, slot),
                Some(StateValue::KeySlot(KeyEntry { key: *key, weight: *weight })),
            );
            overlay.set_account(*sender, account);
            Ok(())
        }
        Payload::RemoveKey { key } => {
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            let mut keys = overlay.keys(sender, &account)?;
            let Some(index) = keys.iter().position(|entry| entry.key == *key) else {
                return fail(FailureCode::KeyMissing, format!("{key} is not a key of the account"));
            };
            let removed = keys.swap_remove(index);
            let remaining: u32 = keys.iter().map(|entry| u32::from(entry.weight)).sum();
            if remaining < u32::from(account.threshold) {
                return fail(
                    FailureCode::WouldLockAccount,
                    format!(
                        "removing {} leaves weight {remaining}, below the threshold {}",
                        removed.key, account.threshold
                    ),
                );
            }
            // The last key moved into the freed slot; the last slot is deleted.
            let last = account.key_count - 1;
            if index == 0 {
                account.first_key = keys[0];
            } else if usize::from(last) != index {
                let slot = u8::try_from(index).expect("fewer than 256 keys");
                overlay.set(StateKey::KeySlot(*sender, slot), Some(StateValue::KeySlot(keys[index])));
            }
            if last > 0 {
                overlay.set(StateKey::KeySlot(*sender, last), None);
            }
            account.key_count = last;
            overlay.set_account(*sender, account);
            Ok(())
        }
        Payload::SetKeyWeight { key, weight } => {
            if *weight == 0 {
                return fail(FailureCode::InvalidThreshold, "a key's weight must be at least 1");
            }
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            let mut keys = overlay.keys(sender, &account)?;
            let Some(index) = keys.iter().position(|entry| entry.key == *key) else {
                return fail(FailureCode::KeyMissing, format!("{key} is not a key of the account"));
            };
            keys[index].weight = *weight;
            let total: u32 = keys.iter().map(|entry| u32::from(entry.weight)).sum();
            if total < u32::from(account.threshold) {
                return fail(
                    FailureCode::WouldLockAccount,
                    format!("total weight {total} would be below the threshold {}", account.threshold),
                );
            }
            if index == 0 {
                account.first_key = keys[0];
                overlay.set_account(*sender, account);
            } else {
                let slot = u8::try_from(index).expect("fewer than 256 keys");
                overlay.set(StateKey::KeySlot(*sender, slot), Some(StateValue::KeySlot(keys[index])));
            }
            Ok(())
        }
        Payload::SetThreshold { threshold } => {
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            let total: u32 = overlay.keys(sender, &account)?.iter().map(|entry| u32::from(entry.weight)).sum();
            if *threshold == 0 || u32::from(*threshold) > total {
                return fail(
                    FailureCode::InvalidThreshold,
                    format!("the threshold must be between 1 and the total weight {total}"),
                );
            }
            account.threshold = *threshold;
            overlay.set_account(*sender, account);
            Ok(())
        }
        Payload::SetRecovery { key, delay_blocks } => {
            check_key(key)?;
            if *delay_blocks < parameters.recovery_delay_min_blocks {
                return fail(
                    FailureCode::RecoveryDelayTooShort,
                    format!("the recovery delay must be at least {} blocks", parameters.recovery_delay_min_blocks),
                );
            }
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            if overlay.keys(sender, &account)?.iter().any(|entry| entry.key == *key) {
                return fail(FailureCode::KeyExists, format!("{key} is a signing key of the account"));
            }
            // Replacing the recovery key cancels a recovery the old one started.
            account.has_recovery = true;
            account.recovering = false;
            overlay.set(
                StateKey::Recovery(*sender),
                Some(StateValue::Recovery(RecoveryConfig { key: *key, delay_blocks: *delay_blocks })),
            );
            overlay.set(StateKey::PendingRecovery(*sender), None);
            overlay.set_account(*sender, account);
            Ok(())
        }
        Payload::RemoveRecovery => {
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            if !account.has_recovery {
                return fail(FailureCode::NoRecoveryKey, "the account has no recovery key");
            }
            account.has_recovery = false;
            account.recovering = false;
            overlay.set(StateKey::Recovery(*sender), None);
            overlay.set(StateKey::PendingRecovery(*sender), None);
            overlay.set_account(*sender, account);
            Ok(())
        }
        Payload::StartRecovery { new_key } => {
            check_key(new_key)?;
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            let config = overlay.recovery(sender)?.expect("only a recovery key authorises this");
            if account.recovering {
                return fail(FailureCode::RecoveryPending, "a recovery is under way already");
            }
            if *new_key == config.key {
                return fail(FailureCode::InvalidKey, "the new key must differ from the recovery key");
            }
            let completes_at = Height(height.get().saturating_add(u64::from(config.delay_blocks)));
            account.recovering = true;
            overlay.set(
                StateKey::PendingRecovery(*sender),
                Some(StateValue::PendingRecovery(PendingRecovery { new_key: *new_key, completes_at })),
            );
            overlay.set_account(*sender, account);
            Ok(())
        }
        Payload::CancelRecovery => {
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            if !account.recovering {
                return fail(FailureCode::NoRecoveryPending, "no recovery is under way");
            }
            account.recovering = false;
            overlay.set(StateKey::PendingRecovery(*sender), None);
            overlay.set_account(*sender, account);
            Ok(())
        }
        Payload::CompleteRecovery => {
            let mut account = overlay.account(sender)?.cloned().expect("the sender exists");
            let Some(pending) = overlay.pending_recovery(sender)?.filter(|_| account.recovering) else {
                return fail(FailureCode::NoRecoveryPending, "no recovery is under way");
            };
            if height < pending.completes_at {
                return fail(
                    FailureCode::RecoveryNotDue,
                    format!("the recovery completes at height {}, this is {height}", pending.completes_at),
                );
            }
            for slot in 1..account.key_count {
                overlay.set(StateKey::KeySlot(*sender, slot), None);
            }
            account.first_key = KeyEntry { key: pending.new_key, weight: 1 };
            account.key_count = 1;
            account.threshold = 1;
            account.recovering = false;
            overlay.set(StateKey::PendingRecovery(*sender), None);
            overlay.set_account(*sender, account);
            Ok(())
        }
        Payload::Propose { action, expiry_blocks } => {
            governance::propose(parameters, height, overlay, sender, action, *expiry_blocks)
        }
        Payload::Approve { proposal } => governance::approve(parameters, height, overlay, sender, *proposal),
        Payload::Deploy { .. } | Payload::Call { .. } | Payload::Upgrade { .. } | Payload::SetContractFrozen { .. } => {
            panic!("contract payloads are applied by crate::contracts")
        }
        Payload::Freeze { account: target } | Payload::Unfreeze { account: target } => {
            let freeze = matches!(payload, Payload::Freeze { .. });
            if !overlay.has_role(sender, Role::Regulator)? {
                return fail(FailureCode::NotPermitted, format!("{sender} does not hold the regulator role"));
            }
            let Some(account) = overlay.account(target)? else {
                return fail(FailureCode::AccountMissing, format!("account {target} does not exist"));
            };
            if account.frozen == freeze {
                let state = if freeze { "frozen already" } else { "not frozen" };
                return fail(FailureCode::FreezeUnchanged, format!("account {target} is {state}"));
            }
            let mut account = account.clone();
            account.frozen = freeze;
            overlay.set_account(*target, account);
            Ok(())
        }
    }
}

fn credit(overlay: &mut StateOverlay, id: &AccountId, amount: Amount) -> Result<(), Halt> {
    let mut account = overlay.account(id)?.cloned().expect("credited accounts exist");
    account.balance = account
        .balance
        .checked_add(amount)
        .ok_or_else(|| Halt::Fail(FailureCode::BalanceOverflow, format!("balance of {id} would overflow")))?;
    overlay.set_account(*id, account);
    Ok(())
}
