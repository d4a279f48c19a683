//! Contract payloads (deploy, call, upgrade, freeze) run through `formica-vm` against the block's
//! overlay, and the chunked state records contracts live in.
//!
//! The VM reads through `OverlayBackend`: the overlay is moved into it for the call and moved
//! back afterwards (no copy). A record the run may not see (not read yet, or not known to this
//! transaction: see `run_metered`) is answered as absent and noted; after the call, noted records
//! turn the transaction into [`Unread`], so the block executor reads them and runs the
//! transaction again (the answers given in this run are thrown away with it). Guessing "absent"
//! instead of stopping lets one run discover every record a call reads before its path depends
//! on one. Runs that stopped for missing records are paid for out of the transaction's gas
//! limit, so dependent reads cannot make a block's work outgrow its gas budget.
//!
//! Every record a call writes is checked for before the first write (chunk 0 of each storage
//! value, to know how many old chunks to delete; the code length of each new module; the account
//! or contract of each changed balance), so a transaction either writes everything or nothing.

use crate::contracts_admin::{AdminAction, approved_upgrade, refuse_admin_action};
use crate::key_index::{self, Lookup};
use crate::transition::{ChainParameters, Halt, StateOverlay, Unread};
use formica_state::{CHUNK_BYTES, StateKey, StateValue};
use formica_types::{
    AccountId, Amount, ContractAdmin, ContractEvent, ContractRecord, FailureCode, GasParameters, Height, Nonce,
    Outcome, Payload, RECEIPT_MESSAGE_BYTES_MAX, Role,
};
use formica_vm::{Backend, BackendError, Changes, CodeHash, ContractInfo, Deploy, Entry, GasSchedule, Limits, Vm};
pub use formica_vm::{Call, Context, Outcome as VmOutcome, VmError};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};

/// The VM of this process: one engine and one compiled-module cache shared by every block a node
/// executes (and every node of a simulation). The cache never changes a result, only how long
/// it takes, so sharing it keeps execution deterministic.
pub fn vm() -> &'static Vm {
    static VM: OnceLock<Vm> = OnceLock::new();
    VM.get_or_init(|| Vm::new(Limits::default(), GasSchedule::default()))
}

/// The address a deployment in a transaction from `deployer` with `nonce` creates.
pub fn contract_address(deployer: &AccountId, nonce: Nonce) -> AccountId {
    formica_vm::testing::contract_address(deployer, nonce.get())
}

/// The gas parameters in force (the genesis ones until the record is written).
pub fn gas_parameters(parameters: &ChainParameters, overlay: &StateOverlay) -> Result<GasParameters, Unread> {
    Ok(match overlay.value(&StateKey::GasParameters)? {
        Some(StateValue::GasParameters(gas)) => *gas,
        Some(other) => panic!("the gas parameters record holds {other:?}"),
        None => parameters.gas,
    })
}

/// The write `SetGasSchedule` makes, after its check.
pub(crate) fn plan_gas_schedule(
    price: Amount,
    tx_gas_max: u64,
    block_gas_max: u64,
) -> Result<Vec<(StateKey, Option<StateValue>)>, Halt> {
    let gas = GasParameters { price, tx_gas_max, block_gas_max };
    if !gas.is_valid() {
        return crate::transition::fail(
            FailureCode::InvalidProposal,
            "gas limits must satisfy 0 < tx_gas_max <= block_gas_max",
        );
    }
    Ok(vec![(StateKey::GasParameters, Some(StateValue::GasParameters(gas)))])
}

/// The records a contract payload names directly (the rest are found while it runs).
pub(crate) fn payload_reads(sender: &AccountId, nonce: Nonce, payload: &Payload) -> Vec<StateKey> {
    match payload {
        Payload::Deploy { admin, .. } => {
            let address = contract_address(sender, nonce);
            let mut reads =
                vec![StateKey::Role(*sender, Role::Deployer), StateKey::Account(address), StateKey::Contract(address)];
            if let ContractAdmin::Organisation(org) = admin {
                reads.push(StateKey::Organisation(*org));
            }
            reads
        }
        Payload::Call { contract, .. } => vec![StateKey::Contract(*contract)],
        Payload::Upgrade { contract, .. } | Payload::SetContractFrozen { contract, .. } => vec![
            StateKey::Contract(*contract),
            StateKey::ContractAdmin(*contract),
            StateKey::AdminOf(*sender),
            StateKey::Role(*sender, Role::Regulator),
            StateKey::ContractUpgrade(*contract),
        ],
        _ => Vec::new(),
    }
}

/// What a contract payload did.
pub(crate) struct Applied {
    pub(crate) outcome: Outcome,
    pub(crate) gas_used: u64,
    pub(crate) events: Vec<ContractEvent>,
}

impl Applied {
    pub(crate) fn failed(code: FailureCode, message: impl Into<String>, gas_used: u64) -> Self {
        Self { outcome: Outcome::Failure { code, message: bounded(message.into()) }, gas_used, events: Vec::new() }
    }
}

/// Where and when a payload runs.
pub(crate) struct Site<'a> {
    pub(crate) parameters: &'a ChainParameters,
    pub(crate) height: Height,
    pub(crate) timestamp_ms: u64,
    pub(crate) sender: AccountId,
    pub(crate) nonce: Nonce,
    /// The transaction's hash: what its runs found out is kept under it.
    pub(crate) transaction: [u8; 32],
}

/// Applies a contract payload. Nothing is written unless it succeeds; the caller charges the gas.
pub(crate) fn apply(site: &Site<'_>, overlay: &mut StateOverlay, payload: &Payload) -> Result<Applied, Unread> {
    let context = Context { origin: site.sender, height: site.height.get(), timestamp_ms: site.timestamp_ms };
    match payload {
        Payload::Deploy { code, input, admin, value, gas_limit } => {
            if !overlay.has_role(&site.sender, Role::Deployer)? {
                return Ok(Applied::failed(
                    FailureCode::NotPermitted,
                    format!("{} does not hold the deployer role", site.sender),
                    0,
                ));
            }
            if let ContractAdmin::Organisation(org) = admin
                && !matches!(overlay.value(&StateKey::Organisation(*org))?, Some(StateValue::Organisation(o)) if o.active)
            {
                return Ok(Applied::failed(FailureCode::OrgMissing, format!("{org} is not a member"), 0));
            }
            let address = contract_address(&site.sender, site.nonce);
            let deploy = Deploy {
                deployer: site.sender,
                address,
                code: code.clone(),
                input: input.clone(),
                value: value.get(),
                gas_limit: *gas_limit,
            };
            let outcome =
                match run_metered(site, overlay, payload, *gas_limit, |backend| vm().deploy(backend, context, deploy))?
                {
                    Ok(outcome) => outcome,
                    Err(failed) => return Ok(failed),
                };
            let applied = finish(site, overlay, outcome)?;
            if matches!(applied.outcome, Outcome::Success) {
                overlay.set(StateKey::ContractAdmin(address), Some(StateValue::ContractAdmin(*admin)));
            }
            Ok(applied)
        }
        Payload::Call { contract, method, input, value, gas_limit } => {
            let call = Call {
                caller: site.sender,
                contract: *contract,
                method: method.clone(),
                input: input.clone(),
                value: value.get(),
                gas_limit: *gas_limit,
            };
            match run_metered(site, overlay, payload, *gas_limit, |backend| vm().call(backend, context, call))? {
                Ok(outcome) => finish(site, overlay, outcome),
                Err(failed) => Ok(failed),
            }
        }
        Payload::Upgrade { contract, code, gas_limit } => {
            if let Some(refusal) = refuse_admin_action(overlay, &site.sender, contract, AdminAction::Upgrade(code))? {
                return Ok(refusal);
            }
            let governed = approved_upgrade(overlay, contract)?.is_some();
            let code = code.clone();
            let outcome = match run_metered(site, overlay, payload, *gas_limit, |backend| {
                vm().upgrade(backend, *contract, code, *gas_limit)
            })? {
                Ok(outcome) => outcome,
                Err(failed) => return Ok(failed),
            };
            let applied = finish(site, overlay, outcome)?;
            if governed && matches!(applied.outcome, Outcome::Success) {
                // An approval allows one upgrade.
                overlay.set(StateKey::ContractUpgrade(*contract), None);
            }
            Ok(applied)
        }
        Payload::SetContractFrozen { contract, frozen } => {
            if let Some(refusal) = refuse_admin_action(overlay, &site.sender, contract, AdminAction::Freeze)? {
                return Ok(refusal);
            }
            let mut record = contract_record(overlay, contract)?.expect("checked by refuse_admin_action");
            if record.frozen == *frozen {
                let state = if *frozen { "frozen already" } else { "not frozen" };
                return Ok(Applied::failed(
                    FailureCode::ContractFreezeUnchanged,
                    format!("contract {contract} is {state}"),
                    0,
                ));
            }
            record.frozen = *frozen;
            overlay.set(StateKey::Contract(*contract), Some(StateValue::Contract(record)));
            Ok(Applied { outcome: Outcome::Success, gas_used: 0, events: Vec::new() })
        }
        other => panic!("{} is not a contract payload", other.kind()),
    }
}

/// A native `Transfer` to an address without an account: credits the contract there, unless it
/// is frozen (a frozen contract takes no value, by call or by transfer). No contract code runs.
/// The contract record is read only now, so transfers between accounts never read one.
pub(crate) fn transfer_to_contract(
    overlay: &mut StateOverlay,
    sender: &AccountId,
    to: &AccountId,
    amount: Amount,
) -> Result<(), Halt> {
    let Some(mut record) = contract_record(overlay, to)? else {
        return crate::transition::fail(FailureCode::RecipientMissing, format!("account {to} does not exist"));
    };
    if record.frozen {
        return crate::transition::fail(FailureCode::RecipientFrozen, format!("contract {to} is frozen"));
    }
    // Both new balances are computed before either is written, so a failure leaves no trace.
    let mut from = overlay.account(sender)?.cloned().expect("the sender exists");
    let Some(left) = from.balance.checked_sub(amount) else {
        return crate::transition::fail(
            FailureCode::InsufficientBalance,
            format!("balance {} is below {amount}", from.balance),
        );
    };
    let Some(credited) = record.balance.checked_add(amount) else {
        return crate::transition::fail(
            FailureCode::BalanceOverflow,
            format!("balance of contract {to} would overflow"),
        );
    };
    from.balance = left;
    record.balance = credited;
    overlay.set(StateKey::Account(*sender), Some(StateValue::Account(from)));
    overlay.set(StateKey::Contract(*to), Some(StateValue::Contract(record)));
    Ok(())
}

/// Runs the VM with the overlay as its backend (every record the overlay holds is visible), and
/// takes the overlay back.
fn run(
    overlay: &mut StateOverlay,
    call: impl FnOnce(Arc<dyn Backend>) -> formica_vm::Outcome,
) -> Result<formica_vm::Outcome, Unread> {
    let (outcome, missing) = run_seeing(overlay, None, call);
    if missing.is_empty() { Ok(outcome) } else { Err(Unread(missing)) }
}

/// Runs the VM seeing only `visible` records (and those changed in the block), or every record
/// the overlay holds (`None`); returns the outcome and the records found missing.
fn run_seeing(
    overlay: &mut StateOverlay,
    visible: Option<BTreeSet<StateKey>>,
    call: impl FnOnce(Arc<dyn Backend>) -> formica_vm::Outcome,
) -> (formica_vm::Outcome, BTreeSet<StateKey>) {
    let backend = Arc::new(OverlayBackend { overlay: std::mem::take(overlay), visible, missing: Mutex::default() });
    let outcome = call(backend.clone());
    let backend = Arc::into_inner(backend).expect("the VM keeps no reference to the backend after a call");
    *overlay = backend.overlay;
    (outcome, backend.missing.into_inner().expect("the missing-records lock is never poisoned"))
}

/// Whether a record is part of contract code (content-addressed, and read by the VM only when
/// its module cache misses, so whether a run needs it differs between validators).
fn is_code(key: &StateKey) -> bool {
    matches!(key, StateKey::CodeLength(_) | StateKey::Code(..))
}

/// Runs the VM for the contract payload of `site`'s transaction, paying for the runs that
/// stop for missing records.
///
/// A run sees the records the block changed so far and the records the transaction is known to
/// read: its declared reads, and whatever its earlier runs (on the right state) reported
/// missing; anything else is answered as absent and reported. The runs a transaction needs thus
/// depend only on the transaction, the state before the block and the changes before it, never
/// on what other transactions happened to read, so proposer and verifiers agree on them. The
/// gas of each run that stopped for missing records is summed; once the sum reaches the
/// transaction's gas limit the payload fails with `OutOfGas` and is charged its whole limit. A
/// transaction's repeated runs therefore cost at most about twice its gas limit, and a block's
/// work stays within a small multiple of its gas budget. Runs that stopped for missing code
/// are free and teach nothing (whether code is read depends on a validator's module cache).
fn run_metered(
    site: &Site<'_>,
    overlay: &mut StateOverlay,
    payload: &Payload,
    gas_limit: u64,
    call: impl FnOnce(Arc<dyn Backend>) -> formica_vm::Outcome,
) -> Result<Result<formica_vm::Outcome, Applied>, Unread> {
    if overlay.is_complete() {
        return run(overlay, call).map(Ok);
    }
    let speculative = overlay.is_speculative();
    let discovery = overlay.discovery(site.transaction);
    if discovery.gas >= gas_limit {
        let message = format!(
            "the call's {} runs that stopped for records not read yet used {} gas, its whole limit \
             (state read in long dependent chains costs a run per link)",
            discovery.runs, discovery.gas
        );
        return Ok(Err(Applied::failed(FailureCode::OutOfGas, message, gas_limit)));
    }
    if discovery.known.is_empty() {
        discovery.known.extend(payload_reads(&site.sender, site.nonce, payload));
    }
    // A speculative run only finds records to read together; it sees everything read.
    let visible = (!speculative).then(|| discovery.known.clone());
    let (outcome, missing) = run_seeing(overlay, visible, call);
    if missing.is_empty() {
        return Ok(Ok(outcome));
    }
    if !speculative && !missing.iter().any(is_code) {
        let discovery = overlay.discovery(site.transaction);
        discovery.known.extend(missing.iter().copied());
        discovery.gas = discovery.gas.saturating_add(outcome.gas_used);
        discovery.runs += 1;
    }
    Err(Unread(missing))
}

/// Applies a VM outcome: the changes of a success, or the failure with its gas.
fn finish(site: &Site<'_>, overlay: &mut StateOverlay, outcome: formica_vm::Outcome) -> Result<Applied, Unread> {
    let gas_used = outcome.gas_used;
    match outcome.result {
        Err(error) => {
            let code = failure_code(&error);
            Ok(Applied::failed(code, error.to_string(), gas_used))
        }
        Ok(_) => {
            if let Err(message) = apply_changes(site, overlay, &outcome.changes)? {
                return Ok(Applied::failed(FailureCode::ContractFailed, message, gas_used));
            }
            let events = outcome
                .changes
                .events
                .into_iter()
                .map(|event| ContractEvent { contract: event.contract, topics: event.topics, data: event.data })
                .collect();
            Ok(Applied { outcome: Outcome::Success, gas_used, events })
        }
    }
}

/// The receipt code of a VM failure.
pub fn failure_code(error: &VmError) -> FailureCode {
    match error {
        VmError::OutOfGas | VmError::StackOverflow => FailureCode::OutOfGas,
        VmError::ContractMissing(_) | VmError::MethodMissing(_) => FailureCode::ContractMissing,
        VmError::InvalidModule(_) | VmError::CodeTooLarge { .. } => FailureCode::InvalidContract,
        VmError::ContractFrozen(_) => FailureCode::ContractFrozen,
        VmError::ContractExists(_) => FailureCode::AccountExists,
        _ => FailureCode::ContractFailed,
    }
}

/// A receipt message within [`RECEIPT_MESSAGE_BYTES_MAX`], cut at a character boundary.
fn bounded(mut message: String) -> String {
    if message.len() > RECEIPT_MESSAGE_BYTES_MAX {
        let mut end = RECEIPT_MESSAGE_BYTES_MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

/// Writes a successful call's changes. Every record needed is checked for first, so an
/// [`Unread`] leaves the overlay untouched; a change the chain refuses (value to a frozen account
/// that may not receive) is returned as `Ok(Err(message))`, also before any write.
fn apply_changes(site: &Site<'_>, overlay: &mut StateOverlay, changes: &Changes) -> Result<Result<(), String>, Unread> {
    let mut needed = BTreeSet::new();
    for (contract, key) in changes.storage.keys() {
        needed.insert(StateKey::ContractStorage(*contract, storage_key_hash(key), 0));
    }
    for hash in changes.codes.keys() {
        needed.insert(StateKey::CodeLength(*hash));
    }
    for account in changes.balances.keys() {
        // An existing account needs no contract record; anything else may be a contract.
        if !matches!(overlay.value(&StateKey::Account(*account)), Ok(Some(_))) {
            needed.extend([StateKey::Account(*account), StateKey::Contract(*account)]);
        }
    }
    needed.extend(changes.contracts.keys().map(|address| StateKey::Contract(*address)));
    overlay.require(needed)?;
    // A key created or removed changes the contract's key index, along the key's path.
    let mut index_changes = Vec::new();
    for ((contract, key), value) in &changes.storage {
        let stored = overlay.value(&StateKey::ContractStorage(*contract, storage_key_hash(key), 0))?.is_some();
        if stored != value.is_some() {
            index_changes.push((contract, key.as_slice(), value.is_some()));
        }
    }
    overlay.require(index_changes.iter().flat_map(|(contract, key, _)| key_index::path_keys(contract, key)))?;
    for (account, balance) in &changes.balances {
        if let Some(holder) = overlay.account(account)?
            && holder.frozen
            && !site.parameters.frozen_accounts_receive
            && *account != site.sender
            && *balance > holder.balance.get()
        {
            return Ok(Err(format!("account {account} is frozen and may not receive value")));
        }
    }

    for ((contract, key), value) in &changes.storage {
        write_storage(overlay, contract, key, value.as_deref());
    }
    for (contract, key, created) in index_changes {
        if created {
            key_index::insert(overlay, contract, key);
        } else {
            key_index::remove(overlay, contract, key);
        }
    }
    for (hash, code) in &changes.codes {
        if overlay.value(&StateKey::CodeLength(*hash))?.is_none() {
            write_code(overlay, hash, code);
        }
    }
    for (address, info) in &changes.contracts {
        let balance = contract_record(overlay, address)?.map_or(Amount::ZERO, |record| record.balance);
        let record = ContractRecord { code_hash: info.code_hash, frozen: info.frozen, balance };
        overlay.set(StateKey::Contract(*address), Some(StateValue::Contract(record)));
    }
    for (account, balance) in &changes.balances {
        if let Some(holder) = overlay.account(account)? {
            let mut holder = holder.clone();
            holder.balance = Amount(*balance);
            overlay.set(StateKey::Account(*account), Some(StateValue::Account(holder)));
        } else {
            let mut record = contract_record(overlay, account)?
                .expect("the VM moves value only between existing accounts and contracts");
            record.balance = Amount(*balance);
            overlay.set(StateKey::Contract(*account), Some(StateValue::Contract(record)));
        }
    }
    Ok(Ok(()))
}

/// The contract at `address`, as changed so far.
pub fn contract_record(overlay: &StateOverlay, address: &AccountId) -> Result<Option<ContractRecord>, Unread> {
    Ok(match overlay.value(&StateKey::Contract(*address))? {
        Some(StateValue::Contract(record)) => Some(*record),
        Some(other) => panic!("the contract record of {address} holds {other:?}"),
        None => None,
    })
}

/// The hash a storage key's records are named by.
pub fn storage_key_hash(key: &[u8]) -> [u8; 32] {
    formica_crypto::sha256(key)
}

/// Chunks a value of `len` bytes takes (the first holds its length).
fn storage_chunks(len: usize) -> u16 {
    u16::try_from((len + 2).div_ceil(CHUNK_BYTES)).expect("storage values are at most a few KiB")
}

fn chunk(overlay: &StateOverlay, key: &StateKey) -> Result<Option<[u8; CHUNK_BYTES]>, Unread> {
    Ok(match overlay.value(key)? {
        Some(StateValue::Chunk(bytes)) => Some(*bytes),
        Some(other) => panic!("{key:?} holds {other:?}"),
        None => None,
    })
}

fn write_storage(overlay: &mut StateOverlay, contract: &AccountId, key: &[u8], value: Option<&[u8]>) {
    let hash = storage_key_hash(key);
    let old_chunks = match chunk(overlay, &StateKey::ContractStorage(*contract, hash, 0)) {
        Ok(Some(first)) => storage_chunks(usize::from(u16::from_be_bytes([first[0], first[1]]))),
        Ok(None) => 0,
        Err(_) => panic!("chunk 0 of every written key was required before writing"),
    };
    let new_chunks = match value {
        None => 0,
        Some(value) => {
            let mut bytes = Vec::with_capacity(value.len() + 2);
            bytes.extend_from_slice(&u16::try_from(value.len()).expect("values are at most 4 KiB").to_be_bytes());
            bytes.extend_from_slice(value);
            for (index, piece) in bytes.chunks(CHUNK_BYTES).enumerate() {
                let mut chunk = [0u8; CHUNK_BYTES];
                chunk[..piece.len()].copy_from_slice(piece);
                let index = u16::try_from(index).expect("a value has few chunks");
                overlay.set(StateKey::ContractStorage(*contract, hash, index), Some(StateValue::Chunk(chunk)));
            }
            storage_chunks(value.len())
        }
    };
    for index in new_chunks..old_chunks {
        overlay.set(StateKey::ContractStorage(*contract, hash, index), None);
    }
}

fn write_code(overlay: &mut StateOverlay, hash: &CodeHash, code: &[u8]) {
    let length = u32::try_from(code.len()).expect("modules are at most 256 KiB");
    overlay.set(StateKey::CodeLength(*hash), Some(StateValue::CodeLength(length)));
    for (index, piece) in code.chunks(CHUNK_BYTES).enumerate() {
        let mut chunk = [0u8; CHUNK_BYTES];
        chunk[..piece.len()].copy_from_slice(piece);
        let index = u32::try_from(index).expect("a module has few chunks");
        overlay.set(StateKey::Code(*hash, index), Some(StateValue::Chunk(chunk)));
    }
}

/// The VM's view of the overlay. Records the overlay lacks, or that the run may not see, are
/// answered as absent and noted.
pub(crate) struct OverlayBackend {
    pub(crate) overlay: StateOverlay,
    /// The records the run may see besides code and records changed in the block (`None`:
    /// every record the overlay holds).
    pub(crate) visible: Option<BTreeSet<StateKey>>,
    pub(crate) missing: Mutex<BTreeSet<StateKey>>,
}

impl OverlayBackend {
    /// The record as the run may see it, or `Unread` (noting it) when it may not.
    fn lookup(&self, key: &StateKey) -> Result<Option<&StateValue>, Unread> {
        if let Some(visible) = &self.visible
            && !is_code(key)
            && !visible.contains(key)
            && !self.overlay.is_dirty(key)
        {
            self.missing.lock().expect("the missing-records lock is never poisoned").insert(*key);
            return Err(Unread::default());
        }
        self.overlay.value(key).inspect_err(|Unread(keys)| {
            self.missing.lock().expect("the missing-records lock is never poisoned").extend(keys.iter().copied());
        })
    }

    /// The record, or `None` (noting it) when it was not read or may not be seen.
    fn value(&self, key: StateKey) -> Option<&StateValue> {
        self.lookup(&key).unwrap_or(None)
    }

    fn chunks(&self, keys: impl Iterator<Item = StateKey>) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        let mut complete = true;
        for key in keys {
            match self.value(key) {
                Some(StateValue::Chunk(chunk)) => bytes.extend_from_slice(chunk),
                Some(other) => panic!("{key:?} holds {other:?}"),
                None => complete = false,
            }
        }
        complete.then_some(bytes)
    }
}

impl Backend for OverlayBackend {
    fn contract(&self, address: &AccountId) -> Result<Option<ContractInfo>, BackendError> {
        Ok(match self.value(StateKey::Contract(*address)) {
            Some(StateValue::Contract(record)) => {
                Some(ContractInfo { code_hash: record.code_hash, frozen: record.frozen })
            }
            Some(other) => panic!("the contract record of {address} holds {other:?}"),
            None => None,
        })
    }

    fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, BackendError> {
        let length = match self.value(StateKey::CodeLength(*code_hash)) {
            Some(StateValue::CodeLength(length)) => *length as usize,
            Some(other) => panic!("a code length record holds {other:?}"),
            None => return Ok(None),
        };
        let chunks = u32::try_from(length.div_ceil(CHUNK_BYTES)).expect("modules are at most 256 KiB");
        Ok(self.chunks((0..chunks).map(|index| StateKey::Code(*code_hash, index))).map(|mut code| {
            code.truncate(length);
            code
        }))
    }

    fn storage(&self, contract: &AccountId, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let hash = storage_key_hash(key);
        let first = match self.value(StateKey::ContractStorage(*contract, hash, 0)) {
            Some(StateValue::Chunk(chunk)) => *chunk,
            Some(other) => panic!("a storage chunk holds {other:?}"),
            None => return Ok(None),
        };
        let length = usize::from(u16::from_be_bytes([first[0], first[1]]));
        let rest = (1..storage_chunks(length)).map(|index| StateKey::ContractStorage(*contract, hash, index));
        Ok(self.chunks(rest).map(|tail| {
            let mut value: Vec<u8> = first[2..].iter().chain(&tail).copied().collect();
            value.truncate(length);
            value
        }))
    }

    fn storage_contains(&self, contract: &AccountId, key: &[u8]) -> Result<bool, BackendError> {
        Ok(self.value(StateKey::ContractStorage(*contract, storage_key_hash(key), 0)).is_some())
    }

    fn storage_next(
        &self,
        contract: &AccountId,
        prefix: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Entry>, BackendError> {
        let read = |path: &[u8]| {
            let key = key_index::node_key(contract, path);
            match self.lookup(&key) {
                Ok(_) => key_index::lookup(&self.overlay, &key).expect("the node was read"),
                Err(_) => Lookup::Unread,
            }
        };
        // An unread node ends the walk with a guess ("no more entries"): the pass is thrown away.
        let Some(Some(key)) = key_index::next_key(read, prefix, after) else { return Ok(None) };
        let first = StateKey::ContractStorage(*contract, storage_key_hash(&key), 0);
        Ok(match self.storage(contract, &key)? {
            Some(value) => Some((key, value)),
            None => {
                assert!(!matches!(self.overlay.value(&first), Ok(None)), "the index names a key without a value");
                None
            }
        })
    }

    fn balance(&self, account: &AccountId) -> Result<Option<u128>, BackendError> {
        let account_record = self.value(StateKey::Account(*account)).cloned();
        let contract_record = self.value(StateKey::Contract(*account)).cloned();
        Ok(match (account_record, contract_record) {
            (Some(StateValue::Account(account)), _) => Some(account.balance.get()),
            (_, Some(StateValue::Contract(record))) => Some(record.balance.get()),
            _ => None,
        })
    }
}

/// Runs `method` of `contract` read-only against state read with `read` (finalized state, for
/// the RPC's `contract_query`): nothing is written, the result and the gas it used are returned.
pub async fn query<R, F, E>(mut read: R, context: Context, call: Call) -> Result<formica_vm::Outcome, E>
where
    R: FnMut(BTreeSet<StateKey>) -> F,
    F: std::future::Future<Output = Result<Vec<(StateKey, Option<StateValue>)>, E>>,
{
    let mut overlay = StateOverlay::new(Default::default());
    loop {
        let call = call.clone();
        match run(&mut overlay, |backend| vm().call(backend, context, call)) {
            Ok(outcome) => return Ok(outcome),
            Err(Unread(keys)) => overlay.extend(read(keys).await?),
        }
    }
}
