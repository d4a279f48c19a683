//! Blocks and headers.
//!
//! A block's digest is the tagged SHA-256 of its encoded header. The header commits to the
//! consensus context it was proposed in (round, leader, parent view and digest), so the same
//! transactions proposed in another round are another block.

use crate::governance::ConsensusTimeouts;
use crate::nodes::NodeSet;
use crate::primitives::{AccountId, ChainId, Hash, Height, Nonce, PublicKey, hash_tagged};
use crate::receipt::Receipt;
use crate::transaction::{Transaction, TransactionLimits};
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use commonware_consensus::{
    Block as ConsensusBlock, CertifiableBlock, Heightable, simplex::types::Context, types::Height as ConsensusHeight,
};
use commonware_cryptography::{Digestible, Sha256};
use commonware_storage::bmt;
use commonware_utils::range::NonEmptyRange;

/// The consensus context a block was proposed in.
pub type BlockContext = Context<Hash, PublicKey>;

/// Hard limits on a block, applied while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    /// The most transactions one block may carry.
    pub transactions_max: usize,
    /// Limits on each transaction.
    pub transaction: TransactionLimits,
    /// The most bytes of the encoded block. A transaction may be as large as a contract
    /// deployment, so the count times the transaction limit would be far too much for one message.
    pub bytes_max: usize,
}

impl Default for BlockLimits {
    fn default() -> Self {
        Self { transactions_max: 10_000, transaction: TransactionLimits::default(), bytes_max: 8 * 1024 * 1024 }
    }
}

impl BlockLimits {
    /// The largest encoded block these limits admit.
    pub fn encoded_bytes_max(&self) -> usize {
        let counted = Header::ENCODED_BYTES_MAX + 5 + self.transactions_max * self.transaction.encoded_bytes_max;
        counted.min(self.bytes_max)
    }
}

/// The start of the namespace validators sign consensus messages under; the chain id follows.
pub const CONSENSUS_NAMESPACE_PREFIX: &[u8] = b"FORMICA_CONSENSUS_V1_";

/// The namespace of a chain's consensus votes and certificates (the prefix, then the chain id
/// big-endian): votes of one chain are worthless on another. Light clients verify finalization
/// certificates under it.
pub fn consensus_namespace(chain_id: ChainId) -> Vec<u8> {
    let mut namespace = CONSENSUS_NAMESPACE_PREFIX.to_vec();
    namespace.extend_from_slice(&chain_id.get().to_be_bytes());
    namespace
}

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The consensus round, leader and parent this block was proposed for.
    pub context: BlockContext,
    /// The parent block's digest (equal to `context.parent.1`; genesis names itself).
    pub parent: Hash,
    pub height: Height,
    /// Milliseconds since the Unix epoch as seen by the leader: strictly after the parent's and
    /// no more than the allowed drift ahead of each verifier's clock.
    pub timestamp_ms: u64,
    /// Binary Merkle root over the transaction hashes, in block order.
    pub transactions_root: Hash,
    /// Canonical root of the authenticated state after executing this block: account proofs
    /// verify against it.
    pub state_root: Hash,
    /// Root of the state database's operation log after this block, and the operation range
    /// still needed to rebuild it: the target a node syncing state from peers verifies against.
    pub state_ops_root: Hash,
    pub state_range: NonEmptyRange<u64>,
    /// Binary Merkle root over the receipt hashes, in block order.
    pub receipts_root: Hash,
    /// In an epoch's last block, the node registry after executing it: its validators are the
    /// next epoch's committee. Empty in every other block.
    pub next_nodes: NodeSet,
    /// The consensus timeouts of the epoch after this block (in an epoch's last block: the next
    /// epoch's, which governance may have changed; otherwise the current epoch's).
    pub epoch_timeouts: ConsensusTimeouts,
}

impl Header {
    /// Domain tag of block digests.
    pub const HASH_TAG: &'static [u8] = b"formica/block/v1";
    /// A generous upper bound on an encoded header (an epoch's last block carries the node set).
    pub const ENCODED_BYTES_MAX: usize = 512 + NodeSet::ENCODED_BYTES_MAX;

    /// The block digest.
    pub fn digest(&self) -> Hash {
        hash_tagged(Self::HASH_TAG, &[&self.encode()])
    }

    /// The view this block was proposed in.
    pub fn view(&self) -> u64 {
        self.context.round.view().get()
    }
}

impl Write for Header {
    fn write(&self, buf: &mut impl BufMut) {
        self.context.write(buf);
        self.parent.write(buf);
        self.height.write(buf);
        self.timestamp_ms.write(buf);
        self.transactions_root.write(buf);
        self.state_root.write(buf);
        self.state_ops_root.write(buf);
        self.state_range.write(buf);
        self.receipts_root.write(buf);
        self.next_nodes.write(buf);
        self.epoch_timeouts.write(buf);
    }
}

impl EncodeSize for Header {
    fn encode_size(&self) -> usize {
        self.context.encode_size()
            + self.parent.encode_size()
            + self.height.encode_size()
            + self.timestamp_ms.encode_size()
            + self.transactions_root.encode_size()
            + self.state_root.encode_size()
            + self.state_ops_root.encode_size()
            + self.state_range.encode_size()
            + self.receipts_root.encode_size()
            + self.next_nodes.encode_size()
            + self.epoch_timeouts.encode_size()
    }
}

impl Read for Header {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            context: BlockContext::read(buf)?,
            parent: Hash::read(buf)?,
            height: Height::read(buf)?,
            timestamp_ms: u64::read(buf)?,
            transactions_root: Hash::read(buf)?,
            state_root: Hash::read(buf)?,
            state_ops_root: Hash::read(buf)?,
            state_range: NonEmptyRange::<u64>::read(buf)?,
            receipts_root: Hash::read(buf)?,
            next_nodes: NodeSet::read(buf)?,
            epoch_timeouts: ConsensusTimeouts::read(buf)?,
        })
    }
}

/// A block: a header and its transactions. The digest is computed once, at construction.
#[derive(Clone, Debug)]
pub struct Block {
    pub header: Header,
    pub transactions: Vec<Transaction>,
    digest: Hash,
}

impl PartialEq for Block {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.transactions == other.transactions
    }
}

impl Eq for Block {}

impl Block {
    /// Assembles a block and computes its digest.
    pub fn new(header: Header, transactions: Vec<Transaction>) -> Self {
        let digest = header.digest();
        Self { header, transactions, digest }
    }

    /// The block digest (the hash of its header).
    pub fn hash(&self) -> Hash {
        self.digest
    }

    /// Records, for each sender in the block, the nonce after its last transaction here,
    /// keeping a higher one already in `next` (the mempool drops what a finalized block used;
    /// a proposer skips what its unfinalized ancestors use).
    pub fn next_nonces(&self, next: &mut std::collections::BTreeMap<AccountId, Nonce>) {
        for transaction in &self.transactions {
            let after = transaction.body.nonce.next().expect("nonces never reach u64::MAX");
            let entry = next.entry(transaction.body.sender).or_insert(after);
            *entry = (*entry).max(after);
        }
    }

    /// Whether the header's transaction root matches the transactions carried.
    pub fn transactions_root_matches(&self) -> bool {
        transactions_root(&self.transactions) == self.header.transactions_root
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.header.write(buf);
        self.transactions.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.header.encode_size() + self.transactions.encode_size()
    }
}

impl Read for Block {
    type Cfg = BlockLimits;
    fn read_cfg(buf: &mut impl Buf, limits: &BlockLimits) -> Result<Self, CodecError> {
        let header = Header::read(buf)?;
        let transactions =
            Vec::<Transaction>::read_cfg(buf, &(RangeCfg::new(0..=limits.transactions_max), limits.transaction))?;
        let block = Self::new(header, transactions);
        // Each transaction is bounded while it decodes; the block as a whole only here.
        if block.encode_size() > limits.encoded_bytes_max() {
            return Err(CodecError::Invalid("Block", "larger than the block size limit"));
        }
        Ok(block)
    }
}

impl Digestible for Block {
    type Digest = Hash;
    fn digest(&self) -> Hash {
        self.digest
    }
}

impl Heightable for Block {
    fn height(&self) -> ConsensusHeight {
        ConsensusHeight::new(self.header.height.get())
    }
}

impl ConsensusBlock for Block {
    fn parent(&self) -> Hash {
        self.header.parent
    }
}

impl CertifiableBlock for Block {
    type Context = BlockContext;
    fn context(&self) -> BlockContext {
        self.header.context.clone()
    }
}

/// Merkle root over leaf digests (the empty list has the all-zero root by the tree's definition).
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    let mut builder = bmt::Builder::<Sha256>::new(leaves.len());
    for leaf in leaves {
        builder.add(leaf);
    }
    builder.build().root()
}

/// The Merkle path of leaf `index` to [`merkle_root`]`(leaves)`: the sibling digests from the leaf
/// level up, leaving out the levels where the node is the unpaired last one (it is hashed with
/// itself). At most `ceil(log2(leaves.len()))` digests.
///
/// # Panics
/// If `index` is not below `leaves.len()` (a caller's bug: it names the leaf it holds).
pub fn merkle_path(leaves: &[Hash], index: u32) -> Vec<Hash> {
    assert!((index as usize) < leaves.len(), "leaf {index} of {} leaves", leaves.len());
    let mut builder = bmt::Builder::<Sha256>::new(leaves.len());
    for leaf in leaves {
        builder.add(leaf);
    }
    builder.build().proof(index).expect("the index is below the leaf count").siblings
}

/// Whether `path` proves `leaf` at `index` in a tree of `leaves_count` leaves with root `root`
/// (as [`merkle_root`] computes it; the root commits to the leaf count).
pub fn verify_merkle_path(leaf: &Hash, index: u32, leaves_count: u32, path: &[Hash], root: &Hash) -> bool {
    // The tree is 32 levels at most: a longer path cannot verify, and is not hashed.
    if path.len() > bmt::MAX_LEVELS {
        return false;
    }
    let proof = bmt::Proof { leaf_count: leaves_count, siblings: path.to_vec() };
    proof.verify_element_inclusion::<Sha256>(leaf, index, root).is_ok()
}

/// The transactions root of a block body.
pub fn transactions_root(transactions: &[Transaction]) -> Hash {
    let leaves: Vec<Hash> = transactions.iter().map(Transaction::hash).collect();
    merkle_root(&leaves)
}

/// The receipts root of a block's execution.
pub fn receipts_root(receipts: &[Receipt]) -> Hash {
    let leaves: Vec<Hash> = receipts.iter().map(Receipt::hash).collect();
    merkle_root(&leaves)
}

#[cfg(test)]
mod merkle_path_tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(count: usize, seed: u8) -> Vec<Hash> {
        (0..count).map(|n| hash_tagged(b"test/leaf", &[&[seed], &(n as u64).to_be_bytes()])).collect()
    }

    /// Every leaf of every small tree, odd sizes and powers of two included.
    #[test]
    fn every_path_of_small_trees_verifies_against_the_root() {
        for count in 1..=40usize {
            let leaves = leaves(count, 1);
            let root = merkle_root(&leaves);
            let depth = usize::BITS - (count - 1).leading_zeros();
            for index in 0..count as u32 {
                let path = merkle_path(&leaves, index);
                assert!(path.len() <= depth as usize, "{count} leaves: path of {}", path.len());
                assert!(verify_merkle_path(&leaves[index as usize], index, count as u32, &path, &root));
            }
        }
    }

    proptest! {
        #[test]
        fn paths_verify_and_anything_wrong_fails(
            count in 1usize..600,
            pick in any::<u32>(),
            other in any::<u32>(),
            seed in any::<u8>(),
            flip in any::<usize>(),
        ) {
            let leaves = leaves(count, seed);
            let root = merkle_root(&leaves);
            let index = pick % count as u32;
            let leaf = leaves[index as usize];
            let path = merkle_path(&leaves, index);
            prop_assert!(verify_merkle_path(&leaf, index, count as u32, &path, &root));
            // Another leaf, another index, another count, another root.
            let wrong_leaf = hash_tagged(b"test/not-a-leaf", &[&[seed]]);
            prop_assert!(!verify_merkle_path(&wrong_leaf, index, count as u32, &path, &root));
            let other_index = other % count as u32;
            if leaves[other_index as usize] != leaf {
                prop_assert!(!verify_merkle_path(&leaf, other_index, count as u32, &path, &root));
            }
            prop_assert!(!verify_merkle_path(&leaf, index, count as u32 + 1, &path, &root));
            prop_assert!(!verify_merkle_path(&leaf, count as u32, count as u32, &path, &root));
            prop_assert!(!verify_merkle_path(&leaf, index, count as u32, &path, &merkle_root(&leaves[..count - 1])));
            // A changed, missing or extra sibling.
            if !path.is_empty() {
                let mut changed = path.clone();
                let at = flip % changed.len();
                changed[at] = hash_tagged(b"test/changed", &[changed[at].as_ref()]);
                prop_assert!(!verify_merkle_path(&leaf, index, count as u32, &changed, &root));
                prop_assert!(!verify_merkle_path(&leaf, index, count as u32, &path[1..], &root));
            }
            let mut longer = path.clone();
            longer.push(leaf);
            prop_assert!(!verify_merkle_path(&leaf, index, count as u32, &longer, &root));
        }
    }

    #[test]
    fn a_tree_of_the_batch_limit_needs_at_most_twenty_siblings() {
        let count = 1usize << 20;
        let leaves: Vec<Hash> = (0..count as u64).map(|n| hash_tagged(b"test/leaf", &[&n.to_be_bytes()])).collect();
        let root = merkle_root(&leaves);
        for index in [0u32, 1, (count / 2) as u32, count as u32 - 1] {
            let path = merkle_path(&leaves, index);
            assert_eq!(path.len(), 20);
            assert!(verify_merkle_path(&leaves[index as usize], index, count as u32, &path, &root));
        }
    }
}

#[cfg(test)]
mod namespace_tests {
    use super::*;

    /// Frozen: validators sign under it and light clients verify under it.
    #[test]
    fn the_consensus_namespace_is_the_prefix_and_the_big_endian_chain_id() {
        let mut expected = b"FORMICA_CONSENSUS_V1_".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(consensus_namespace(ChainId(258)), expected);
        assert_ne!(consensus_namespace(ChainId(1)), consensus_namespace(ChainId(2)));
    }
}
