//! The ordered index of each contract's storage keys, so `storage_next` (the SDK's `Map::iter`)
//! works on a state keyed by hashes.
//!
//! The index is a trie over key bytes with one record per node
//! (`StateKey::ContractKeyNode(contract, sha256(path))`, `StateValue::KeyNode`): a 256-bit map of
//! the next bytes that lead to stored keys, and whether the path is itself a stored key. A node
//! exists exactly when some stored key of the contract starts with its path (the root, path `[]`,
//! exists when the contract stores anything).
//!
//! Why a trie of fixed nodes rather than a sorted list or a tree of pages: a node's record is
//! named by its path alone, so creating or removing a key touches only the nodes along that key
//! (at most `len + 1`, all known from the key before anything is read); the executor reads them
//! in one round, and no write ever depends on another read. Walking to the next key is where reads
//! depend on reads (each step down reveals the next byte); it is paid per node.
//!
//! Depth is bounded by the storage key limit (128 bytes), so a walk reads at most 2 x 129 nodes.

use crate::transition::StateOverlay;
use formica_state::{StateKey, StateValue};
use formica_types::AccountId;

/// The record of the node at `path` in `contract`'s index.
pub(crate) fn node_key(contract: &AccountId, path: &[u8]) -> StateKey {
    StateKey::ContractKeyNode(*contract, formica_crypto::sha256(path))
}

/// The records of every node on the way to `key`: the root, then one per byte.
pub(crate) fn path_keys<'a>(contract: &'a AccountId, key: &'a [u8]) -> impl Iterator<Item = StateKey> + 'a {
    (0..=key.len()).map(move |depth| node_key(contract, &key[..depth]))
}

/// One node of the trie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Node {
    children: [u8; 32],
    terminal: bool,
}

impl Node {
    fn has(&self, byte: u8) -> bool {
        self.children[usize::from(byte / 8)] & (1 << (byte % 8)) != 0
    }

    fn set(&mut self, byte: u8, present: bool) {
        let bit = 1 << (byte % 8);
        let slot = &mut self.children[usize::from(byte / 8)];
        if present { *slot |= bit } else { *slot &= !bit }
    }

    fn is_empty(&self) -> bool {
        !self.terminal && self.children == [0; 32]
    }

    /// The smallest child byte, or the smallest above `after`.
    fn next_child(&self, after: Option<u8>) -> Option<u8> {
        let from = after.map_or(0, |byte| u16::from(byte) + 1);
        (from..256).map(|byte| byte as u8).find(|byte| self.has(*byte))
    }

    fn from_value(key: &StateKey, value: Option<&StateValue>) -> Option<Self> {
        match value {
            Some(StateValue::KeyNode { children, terminal }) => Some(Self { children: *children, terminal: *terminal }),
            Some(other) => panic!("{key:?} holds {other:?}"),
            None => None,
        }
    }

    fn into_value(self) -> Option<StateValue> {
        (!self.is_empty()).then_some(StateValue::KeyNode { children: self.children, terminal: self.terminal })
    }
}

fn read(overlay: &StateOverlay, key: &StateKey) -> Option<Node> {
    let value = overlay.value(key).expect("the nodes along a changed key are read before it is written");
    Node::from_value(key, value)
}

fn write(overlay: &mut StateOverlay, key: StateKey, before: Option<Node>, after: Node) {
    if before.unwrap_or_default() != after {
        overlay.set(key, after.into_value());
    }
}

/// Adds `key` (not stored before) to `contract`'s index. Every node of [`path_keys`] must be read.
pub(crate) fn insert(overlay: &mut StateOverlay, contract: &AccountId, key: &[u8]) {
    for depth in 0..=key.len() {
        let record = node_key(contract, &key[..depth]);
        let before = read(overlay, &record);
        let mut node = before.unwrap_or_default();
        match key.get(depth) {
            Some(byte) => node.set(*byte, true),
            None => {
                assert!(!node.terminal, "an inserted key was not stored before");
                node.terminal = true;
            }
        }
        write(overlay, record, before, node);
    }
}

/// Removes `key` (stored before) from `contract`'s index, deleting the nodes left without keys.
/// Every node of [`path_keys`] must be read.
pub(crate) fn remove(overlay: &mut StateOverlay, contract: &AccountId, key: &[u8]) {
    let mut depth = key.len();
    let mut record = node_key(contract, key);
    let before = read(overlay, &record);
    let mut node = before.expect("a stored key has its node");
    assert!(node.terminal, "a removed key was stored");
    node.terminal = false;
    write(overlay, record, before, node);
    // An emptied node goes, and takes its bit in its parent with it.
    while node.is_empty() && depth > 0 {
        depth -= 1;
        record = node_key(contract, &key[..depth]);
        let before = read(overlay, &record);
        node = before.expect("the parent of a node exists");
        node.set(key[depth], false);
        write(overlay, record, before, node);
    }
}

/// What a reader found at a node.
pub(crate) enum Lookup {
    /// The record was not read yet (noted by the reader); the walk stops with a guess.
    Unread,
    Absent,
    Present(Node),
}

/// Reads a node from the overlay for a walk, reporting it as [`Lookup::Unread`] when the overlay
/// lacks it.
pub(crate) fn lookup(overlay: &StateOverlay, key: &StateKey) -> Result<Lookup, crate::transition::Unread> {
    Ok(match Node::from_value(key, overlay.value(key)?) {
        Some(node) => Lookup::Present(node),
        None => Lookup::Absent,
    })
}

/// The first stored key that starts with `prefix` and is greater than `after` (all keys with the
/// prefix when `after` is `None` or below it), in byte order; `None` inside when there is none,
/// and `None` outside when a node was unread (`read` noted it; the answer would be a guess).
pub(crate) fn next_key(read: impl Fn(&[u8]) -> Lookup, prefix: &[u8], after: Option<&[u8]>) -> Option<Option<Vec<u8>>> {
    let after = match after {
        Some(after) if after.starts_with(prefix) => after,
        // Every key with the prefix is below a cursor past it.
        Some(after) if after > prefix => return Some(None),
        _ => return smallest_under(&read, prefix.to_vec()),
    };
    // The nodes up from the cursor are all named by it: read them together, so one pass of the
    // executor notes every one it lacks.
    let nodes: Vec<Lookup> = (prefix.len()..=after.len()).map(|depth| read(&after[..depth])).collect();
    for (offset, lookup) in nodes.iter().enumerate().rev() {
        let depth = prefix.len() + offset;
        let node = match lookup {
            Lookup::Unread => return None,
            Lookup::Absent => continue,
            Lookup::Present(node) => node,
        };
        // Under the cursor's own node every child is greater; above it, only later siblings.
        if let Some(byte) = node.next_child(after.get(depth).copied()) {
            let mut path = after[..depth].to_vec();
            path.push(byte);
            return smallest_under(&read, path);
        }
    }
    Some(None)
}

/// The smallest key at or below `path` (whose node, if any, is reached by a set bit or is the
/// walk's start).
fn smallest_under(read: &impl Fn(&[u8]) -> Lookup, mut path: Vec<u8>) -> Option<Option<Vec<u8>>> {
    let start = path.len();
    loop {
        let node = match read(&path) {
            Lookup::Unread => return None,
            Lookup::Absent if path.len() == start => return Some(None),
            Lookup::Absent => panic!("an index node under a set bit is missing"),
            Lookup::Present(node) => node,
        };
        if node.terminal {
            return Some(Some(path));
        }
        path.push(node.next_child(None).expect("a node without a key below it is deleted"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    const CONTRACT: AccountId = AccountId([1; 32]);

    fn overlay() -> StateOverlay {
        StateOverlay::complete(BTreeMap::new())
    }

    fn keys(overlay: &StateOverlay, prefix: &[u8], after: Option<&[u8]>) -> Vec<Vec<u8>> {
        let read = |path: &[u8]| lookup(overlay, &node_key(&CONTRACT, path)).expect("complete");
        let mut found = Vec::new();
        let mut cursor = after.map(<[u8]>::to_vec);
        while let Some(key) = next_key(read, prefix, cursor.as_deref()).expect("complete") {
            cursor = Some(key.clone());
            found.push(key);
        }
        found
    }

    fn all(keys: &[&[u8]]) -> Vec<Vec<u8>> {
        keys.iter().map(|key| key.to_vec()).collect()
    }

    #[test]
    fn keys_come_back_in_byte_order_within_the_prefix_and_after_the_cursor() {
        let mut overlay = overlay();
        for key in [&b"b"[..], b"ab", b"a", b"", b"abc", b"b\xff", b"a\x00", b"c"] {
            insert(&mut overlay, &CONTRACT, key);
        }
        assert_eq!(keys(&overlay, b"", None), all(&[b"", b"a", b"a\x00", b"ab", b"abc", b"b", b"b\xff", b"c"]));
        assert_eq!(keys(&overlay, b"a", None), all(&[b"a", b"a\x00", b"ab", b"abc"]));
        assert_eq!(keys(&overlay, b"ab", None), all(&[b"ab", b"abc"]));
        assert_eq!(keys(&overlay, b"a", Some(&b"a"[..])), all(&[b"a\x00", b"ab", b"abc"]));
        // A cursor that is not a key, inside and outside the prefix.
        assert_eq!(keys(&overlay, b"a", Some(&b"aa"[..])), all(&[b"ab", b"abc"]));
        assert_eq!(keys(&overlay, b"", Some(&b"abd"[..])), all(&[b"b", b"b\xff", b"c"]));
        assert_eq!(keys(&overlay, b"b", Some(&b"a"[..])), all(&[b"b", b"b\xff"]));
        assert!(keys(&overlay, b"a", Some(&b"b"[..])).is_empty());
        assert!(keys(&overlay, b"d", None).is_empty());
        assert!(keys(&overlay, b"abcd", None).is_empty());
    }

    #[test]
    fn removal_deletes_the_nodes_it_empties_and_nothing_else() {
        let mut overlay = overlay();
        insert(&mut overlay, &CONTRACT, b"abc");
        insert(&mut overlay, &CONTRACT, b"ab");
        insert(&mut overlay, &CONTRACT, b"x");
        remove(&mut overlay, &CONTRACT, b"abc");
        assert_eq!(keys(&overlay, b"", None), all(&[b"ab", b"x"]));
        assert!(read(&overlay, &node_key(&CONTRACT, b"abc")).is_none());
        assert!(read(&overlay, &node_key(&CONTRACT, b"ab")).is_some());
        remove(&mut overlay, &CONTRACT, b"ab");
        remove(&mut overlay, &CONTRACT, b"x");
        assert!(keys(&overlay, b"", None).is_empty());
        let left: Vec<_> =
            overlay.into_changes().into_iter().filter_map(|(key, value)| value.map(|value| (key, value))).collect();
        assert!(left.is_empty(), "an empty index leaves no record: {left:?}");
    }

    #[test]
    fn the_index_matches_a_sorted_set_under_random_inserts_and_removals() {
        // A deterministic sequence of operations over a small alphabet, so keys share prefixes.
        let mut overlay = overlay();
        let mut expected = BTreeSet::new();
        let mut state = 7u64;
        for _ in 0..2_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 60) as usize % 5;
            let key: Vec<u8> = (0..len).map(|i| b"ab\x00\xff"[((state >> (8 * i + 8)) % 4) as usize]).collect();
            if expected.contains(&key) {
                remove(&mut overlay, &CONTRACT, &key);
                expected.remove(&key);
            } else {
                insert(&mut overlay, &CONTRACT, &key);
                expected.insert(key);
            }
            let prefix: Vec<u8> = expected.iter().next().map_or(Vec::new(), |key| key[..key.len().min(1)].to_vec());
            let want: Vec<Vec<u8>> = expected.iter().filter(|key| key.starts_with(&prefix)).cloned().collect();
            assert_eq!(keys(&overlay, &prefix, None), want);
        }
        assert_eq!(keys(&overlay, b"", None), expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_walk_over_unread_nodes_gives_no_answer() {
        let mut full = overlay();
        insert(&mut full, &CONTRACT, b"ab");
        let records: BTreeMap<_, _> =
            full.into_changes().into_iter().filter_map(|(key, value)| Some((key, Some(value?)))).collect();
        let root = node_key(&CONTRACT, b"");
        let partial = StateOverlay::new(records.into_iter().filter(|(key, _)| *key == root).collect());
        let read = |path: &[u8]| lookup(&partial, &node_key(&CONTRACT, path)).unwrap_or(Lookup::Unread);
        assert_eq!(next_key(read, b"", None), None);
    }
}
