//! Writes of a call tree, kept apart from the backend until the whole transaction succeeds. Every
//! frame takes a checkpoint on entry; a failed frame rolls back to it, so its writes, transfers
//! and events vanish while its callers' survive.

use crate::backend::{Backend, Changes, CodeHash, ContractInfo, Entry, Event, index_walk_nodes, lower_bound};
use crate::error::{Result, VmError};
use formica_types::AccountId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A position to roll back to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checkpoint {
    undo: usize,
    events: usize,
}

enum Undo {
    Storage { key: (AccountId, Vec<u8>), previous: Option<Option<Vec<u8>>> },
    Balance { account: AccountId, previous: Option<u128> },
    Contract { address: AccountId, previous: Option<ContractInfo> },
    Code { hash: CodeHash },
}

/// The backend plus everything written on top of it.
pub(crate) struct World {
    pub(crate) backend: Arc<dyn Backend>,
    storage: BTreeMap<(AccountId, Vec<u8>), Option<Vec<u8>>>,
    balances: BTreeMap<AccountId, u128>,
    contracts: BTreeMap<AccountId, ContractInfo>,
    codes: BTreeMap<CodeHash, Vec<u8>>,
    events: Vec<Event>,
    undo: Vec<Undo>,
}

impl World {
    pub(crate) fn new(backend: Arc<dyn Backend>) -> Self {
        Self {
            backend,
            storage: BTreeMap::new(),
            balances: BTreeMap::new(),
            contracts: BTreeMap::new(),
            codes: BTreeMap::new(),
            events: Vec::new(),
            undo: Vec::new(),
        }
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint { undo: self.undo.len(), events: self.events.len() }
    }

    pub(crate) fn revert(&mut self, checkpoint: Checkpoint) {
        while self.undo.len() > checkpoint.undo {
            match self.undo.pop().expect("the loop condition says there is an entry") {
                Undo::Storage { key, previous } => restore(&mut self.storage, key, previous),
                Undo::Balance { account, previous } => restore(&mut self.balances, account, previous),
                Undo::Contract { address, previous } => restore(&mut self.contracts, address, previous),
                Undo::Code { hash } => {
                    self.codes.remove(&hash);
                }
            }
        }
        self.events.truncate(checkpoint.events);
    }

    pub(crate) fn into_changes(self) -> Changes {
        Changes {
            storage: self.storage,
            balances: self.balances,
            contracts: self.contracts,
            codes: self.codes,
            events: self.events,
        }
    }

    pub(crate) fn contract(&self, address: &AccountId) -> Result<Option<ContractInfo>> {
        match self.contracts.get(address) {
            Some(info) => Ok(Some(*info)),
            None => Ok(self.backend.contract(address)?),
        }
    }

    pub(crate) fn code(&self, hash: &CodeHash) -> Result<Option<Vec<u8>>> {
        match self.codes.get(hash) {
            Some(code) => Ok(Some(code.clone())),
            None => Ok(self.backend.code(hash)?),
        }
    }

    pub(crate) fn add_contract(&mut self, address: AccountId, info: ContractInfo, code: Option<Vec<u8>>) {
        let previous = self.contracts.insert(address, info);
        self.undo.push(Undo::Contract { address, previous });
        if let Some(code) = code
            && !self.codes.contains_key(&info.code_hash)
        {
            self.codes.insert(info.code_hash, code);
            self.undo.push(Undo::Code { hash: info.code_hash });
        }
    }

    pub(crate) fn storage(&self, contract: &AccountId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.storage.get(&(*contract, key.to_vec())) {
            Some(value) => Ok(value.clone()),
            None => Ok(self.backend.storage(contract, key)?),
        }
    }

    /// Whether `key` is in `contract`'s storage as written so far.
    pub(crate) fn storage_contains(&self, contract: &AccountId, key: &[u8]) -> Result<bool> {
        match self.storage.get(&(*contract, key.to_vec())) {
            Some(value) => Ok(value.is_some()),
            None => Ok(self.backend.storage_contains(contract, key)?),
        }
    }

    pub(crate) fn set_storage(&mut self, contract: AccountId, key: Vec<u8>, value: Option<Vec<u8>>) {
        let key = (contract, key);
        let previous = self.storage.insert(key.clone(), value);
        self.undo.push(Undo::Storage { key, previous });
    }

    /// The next live entry after `after` with `prefix`, merging the overlay (whose removals hide
    /// backend entries) with the backend. Also returns how many backend entries were looked at
    /// and how many index nodes those lookups walk ([`index_walk_nodes`]), which the caller
    /// charges for: removals skipped here were paid for when they were written.
    pub(crate) fn storage_next(
        &self,
        contract: &AccountId,
        prefix: &[u8],
        after: Option<&[u8]>,
    ) -> Result<(Option<Entry>, Walk)> {
        let mut cursor: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        let mut walk = Walk::default();
        loop {
            walk.steps += 1;
            let committed = self.backend.storage_next(contract, prefix, cursor.as_deref())?;
            walk.index_nodes = walk.index_nodes.saturating_add(index_walk_nodes(
                prefix,
                cursor.as_deref(),
                committed.as_ref().map(|(key, _)| key.as_slice()),
            ));
            let start = lower_bound(prefix, cursor.as_deref());
            let written = self
                .storage
                .range((*contract, start)..)
                .next()
                .filter(|((owner, key), _)| owner == contract && key.starts_with(prefix));
            match (committed, written) {
                (None, None) => return Ok((None, walk)),
                (Some(entry), None) => return Ok((Some(entry), walk)),
                (Some(entry), Some(((_, key), _))) if entry.0 < *key => return Ok((Some(entry), walk)),
                (_, Some(((_, key), value))) => match value {
                    Some(value) => return Ok((Some((key.clone(), value.clone())), walk)),
                    None => cursor = Some(key.clone()),
                },
            }
        }
    }

    pub(crate) fn balance(&self, account: &AccountId) -> Result<Option<u128>> {
        match self.balances.get(account) {
            Some(balance) => Ok(Some(*balance)),
            None => Ok(self.backend.balance(account)?),
        }
    }

    fn set_balance(&mut self, account: AccountId, balance: u128) {
        let previous = self.balances.insert(account, balance);
        self.undo.push(Undo::Balance { account, previous });
    }

    /// Gives a newly deployed contract its (empty) account.
    pub(crate) fn open_account(&mut self, account: AccountId) -> Result<()> {
        if self.balance(&account)?.is_none() {
            self.set_balance(account, 0);
        }
        Ok(())
    }

    /// Moves `amount` from `from` to `to`; both must exist.
    pub(crate) fn transfer(&mut self, from: AccountId, to: AccountId, amount: u128) -> Result<()> {
        if amount == 0 {
            return Ok(());
        }
        let from_balance = self.balance(&from)?.ok_or(VmError::InsufficientBalance { amount })?;
        let remaining = from_balance.checked_sub(amount).ok_or(VmError::InsufficientBalance { amount })?;
        self.set_balance(from, remaining);
        let to_balance = self.balance(&to)?.ok_or(VmError::InvalidArgument("the recipient account does not exist"))?;
        let credited = to_balance.checked_add(amount).ok_or(VmError::BalanceOverflow)?;
        self.set_balance(to, credited);
        Ok(())
    }

    pub(crate) fn events_len(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// The work of one `storage_next`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Walk {
    /// Backend lookups (one, plus one per removed key skipped).
    pub(crate) steps: u64,
    /// Index nodes those lookups walk.
    pub(crate) index_nodes: u64,
}

fn restore<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, previous: Option<V>) {
    match previous {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryState;

    fn world_over(entries: &[(&[u8], &[u8])]) -> (World, AccountId) {
        let contract = AccountId([1; 32]);
        let mut state = MemoryState::default();
        for (key, value) in entries {
            state.storage.insert((contract, key.to_vec()), value.to_vec());
        }
        // Another contract's entries must never show up.
        state.storage.insert((AccountId([2; 32]), b"a1".to_vec()), b"other".to_vec());
        (World::new(Arc::new(state)), contract)
    }

    fn walk(world: &World, contract: &AccountId, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut seen = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        while let (Some(entry), _) = world.storage_next(contract, prefix, after.as_deref()).expect("memory reads") {
            after = Some(entry.0.clone());
            seen.push(entry);
        }
        seen
    }

    #[test]
    fn iteration_merges_writes_and_hides_removals_in_key_order() {
        let (mut world, contract) = world_over(&[(b"a1", b"x"), (b"a3", b"y"), (b"a5", b"z"), (b"b1", b"w")]);
        world.set_storage(contract, b"a2".to_vec(), Some(b"new".to_vec()));
        world.set_storage(contract, b"a3".to_vec(), None);
        world.set_storage(contract, b"a5".to_vec(), Some(b"changed".to_vec()));
        let expected: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"a1".to_vec(), b"x".to_vec()),
            (b"a2".to_vec(), b"new".to_vec()),
            (b"a5".to_vec(), b"changed".to_vec()),
        ];
        assert_eq!(walk(&world, &contract, b"a"), expected);
        assert_eq!(walk(&world, &contract, b"").len(), 4);
        assert!(walk(&world, &contract, b"c").is_empty());
    }

    #[test]
    fn a_revert_undoes_writes_balances_and_events_after_the_checkpoint() {
        let (mut world, contract) = world_over(&[(b"k", b"old")]);
        world.set_storage(contract, b"kept".to_vec(), Some(b"1".to_vec()));
        let checkpoint = world.checkpoint();
        world.set_storage(contract, b"k".to_vec(), None);
        world.set_storage(contract, b"kept".to_vec(), Some(b"2".to_vec()));
        world.open_account(contract).expect("memory reads");
        world.emit(Event { contract, topics: Vec::new(), data: Vec::new() });
        world.revert(checkpoint);
        assert_eq!(world.storage(&contract, b"k").expect("memory reads"), Some(b"old".to_vec()));
        assert_eq!(world.storage(&contract, b"kept").expect("memory reads"), Some(b"1".to_vec()));
        assert_eq!(world.balance(&contract).expect("memory reads"), None);
        let changes = world.into_changes();
        assert!(changes.events.is_empty() && changes.balances.is_empty());
        assert_eq!(changes.storage.len(), 1);
    }
}
