//! What the VM needs from the chain ([`Backend`]), what it gives back ([`Changes`]), and an
//! in-memory backend ([`MemoryState`]) for tests and the local harness.

use crate::error::BackendError;
use formica_types::AccountId;
use std::collections::BTreeMap;

/// SHA-256 of a module's bytes: code is stored once under it.
pub type CodeHash = [u8; 32];

/// A storage entry: key and value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A deployed contract as the VM sees it. Who may upgrade or freeze it is the chain's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContractInfo {
    pub code_hash: CodeHash,
    /// A frozen contract refuses every call until it is unfrozen.
    pub frozen: bool,
}

/// The block a call runs in, and who signed the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// The account that signed the transaction (the first caller).
    pub origin: AccountId,
    pub height: u64,
    pub timestamp_ms: u64,
}

/// One event a contract emitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub contract: AccountId,
    pub topics: Vec<[u8; 32]>,
    pub data: Vec<u8>,
}

/// The committed state a call reads. Reads only: the VM collects writes in its journal and hands
/// them back as [`Changes`], so a failed call never touches the backend.
///
/// `'static` because wasmtime stores own their data; pass the backend in an `Arc`.
pub trait Backend: 'static {
    /// The contract at `address`, if any.
    fn contract(&self, address: &AccountId) -> Result<Option<ContractInfo>, BackendError>;
    /// The module with this hash (read only when the module cache misses).
    fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, BackendError>;
    /// The value under `key` in `contract`'s storage.
    fn storage(&self, contract: &AccountId, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError>;
    /// Whether `contract`'s storage holds `key` (a backend may answer without reading the value).
    fn storage_contains(&self, contract: &AccountId, key: &[u8]) -> Result<bool, BackendError> {
        Ok(self.storage(contract, key)?.is_some())
    }
    /// The first entry of `contract`'s storage whose key starts with `prefix` and is greater than
    /// `after` (or the first with the prefix when `after` is `None`), in byte order of keys.
    fn storage_next(
        &self,
        contract: &AccountId,
        prefix: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Entry>, BackendError>;
    /// The native balance of `account`, or `None` if no such account (or contract) exists.
    fn balance(&self, account: &AccountId) -> Result<Option<u128>, BackendError>;
}

/// What a successful call or deployment changes, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// New or changed values; `None` removes the key.
    pub storage: BTreeMap<(AccountId, Vec<u8>), Option<Vec<u8>>>,
    /// New balances of every account whose balance changed.
    pub balances: BTreeMap<AccountId, u128>,
    /// Contracts deployed (with their code) by this call.
    pub contracts: BTreeMap<AccountId, ContractInfo>,
    pub codes: BTreeMap<CodeHash, Vec<u8>>,
    /// Events in the order they were emitted.
    pub events: Vec<Event>,
}

/// A whole chain state in memory: for unit tests, the local harness and benchmarks.
#[derive(Clone, Debug, Default)]
pub struct MemoryState {
    pub contracts: BTreeMap<AccountId, ContractInfo>,
    pub codes: BTreeMap<CodeHash, Vec<u8>>,
    pub storage: BTreeMap<(AccountId, Vec<u8>), Vec<u8>>,
    pub balances: BTreeMap<AccountId, u128>,
}

impl MemoryState {
    /// Applies the changes of a successful call.
    pub fn apply(&mut self, changes: &Changes) {
        for ((contract, key), value) in &changes.storage {
            match value {
                Some(value) => self.storage.insert((*contract, key.clone()), value.clone()),
                None => self.storage.remove(&(*contract, key.clone())),
            };
        }
        for (account, balance) in &changes.balances {
            self.balances.insert(*account, *balance);
        }
        for (address, info) in &changes.contracts {
            self.contracts.insert(*address, *info);
        }
        for (hash, code) in &changes.codes {
            self.codes.insert(*hash, code.clone());
        }
    }
}

impl Backend for MemoryState {
    fn contract(&self, address: &AccountId) -> Result<Option<ContractInfo>, BackendError> {
        Ok(self.contracts.get(address).copied())
    }

    fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.codes.get(code_hash).cloned())
    }

    fn storage(&self, contract: &AccountId, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.storage.get(&(*contract, key.to_vec())).cloned())
    }

    fn storage_next(
        &self,
        contract: &AccountId,
        prefix: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Entry>, BackendError> {
        let start = lower_bound(prefix, after);
        Ok(self
            .storage
            .range((*contract, start)..)
            .next()
            .filter(|((owner, key), _)| owner == contract && key.starts_with(prefix))
            .map(|((_, key), value)| (key.clone(), value.clone())))
    }

    fn balance(&self, account: &AccountId) -> Result<Option<u128>, BackendError> {
        Ok(self.balances.get(account).copied())
    }
}

/// The nodes of an ordered key index (a trie over key bytes) a walk from `after` to `found`
/// under `prefix` visits: up from `after`'s node to where `found` branches off, then down to
/// `found`'s node; from `prefix`'s node when there is no cursor inside the prefix. It depends only
/// on the keys, so every backend charges the same gas for the same step.
pub fn index_walk_nodes(prefix: &[u8], after: Option<&[u8]>, found: Option<&[u8]>) -> u64 {
    let start = match after {
        Some(after) if after.starts_with(prefix) => after,
        _ => prefix,
    };
    let branch = match found {
        Some(found) => start.iter().zip(found).take_while(|(a, b)| a == b).count().max(prefix.len()),
        None => prefix.len(),
    };
    let up = start.len() - branch;
    let down = found.map_or(0, |found| found.len() - branch);
    (up + down + 1) as u64
}

/// The smallest key that can come next: the prefix itself, or the successor of `after`.
pub(crate) fn lower_bound(prefix: &[u8], after: Option<&[u8]>) -> Vec<u8> {
    match after {
        Some(after) if after >= prefix => {
            let mut next = after.to_vec();
            next.push(0);
            next
        }
        _ => prefix.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::index_walk_nodes;

    #[test]
    fn an_index_walk_counts_the_nodes_up_to_the_branch_and_down_to_the_key() {
        // From the prefix's node down to "abc": "ab", "abc".
        assert_eq!(index_walk_nodes(b"ab", None, Some(b"abc")), 2);
        // From "abc" up to "ab" (where "abd" branches off), down to "abd".
        assert_eq!(index_walk_nodes(b"", Some(b"abc"), Some(b"abd")), 3);
        // From "a\x00\x00" up to the root, down to "b\x01": 3 up, 2 down, the root.
        assert_eq!(index_walk_nodes(b"", Some(b"a\x00\x00"), Some(b"b\x01")), 6);
        // Nothing after the cursor: up to the prefix's node.
        assert_eq!(index_walk_nodes(b"a", Some(b"abc"), None), 3);
        // A cursor outside the prefix walks from the prefix.
        assert_eq!(index_walk_nodes(b"b", Some(b"a"), Some(b"bb")), 2);
        assert_eq!(index_walk_nodes(b"b", Some(b"c"), None), 1);
    }
}
