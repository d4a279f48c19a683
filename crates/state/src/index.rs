//! Secondary indexes on `fjall`: finalized blocks by height and hash, transactions by hash,
//! receipts by position, and the finalization certificates of finalized blocks by height.
//!
//! The indexes are derived data. They are written once per finalized block, in one atomic batch,
//! and synced before the block is acknowledged to consensus, so after a crash every acknowledged
//! block is indexed; a block indexed but not acknowledged is written again (same keys, same
//! bytes) when it is replayed. Nothing is pruned: blocks and their certificates are kept for as
//! long as the node runs, which is what lets light clients check old blocks' finality.
//!
//! Certificates are opaque bytes here (their format belongs to consensus). A block may have no
//! certificate of its own (simplex finalizes ancestors through a descendant's certificate); one
//! that reaches the node after its block was indexed is added by [`Indexes::insert_finalization`].

use bytes::Bytes;
use commonware_codec::{Decode, DecodeExt, Encode};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use formica_types::{Block, BlockLimits, Hash, Height, Receipt, Transaction};
use std::path::Path;

/// A failure of the index store. Any of these stops the node: an index in an unknown state must
/// not serve answers.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index storage: {0}")]
    Storage(#[from] fjall::Error),
    #[error("index entry {what} is corrupt: {reason}")]
    Corrupt { what: &'static str, reason: String },
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, IndexError>;

/// Where a transaction sits in the finalized chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionLocation {
    pub height: Height,
    pub index: u32,
}

/// The on-disk indexes of one node.
#[derive(Clone)]
pub struct Indexes {
    database: Database,
    blocks: Keyspace,
    block_heights: Keyspace,
    transactions: Keyspace,
    receipts: Keyspace,
    finalizations: Keyspace,
    limits: BlockLimits,
}

/// The largest stored finalization certificate read back (a larger entry is corrupt): a
/// proposal and one signature per validator of the largest committee, with generous framing.
pub const FINALIZATION_BYTES_MAX: usize = 256 + 72 * formica_types::VALIDATORS_MAX as usize;

fn height_key(height: Height) -> [u8; 8] {
    height.get().to_be_bytes()
}

fn position_key(height: Height, index: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&height.get().to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

fn corrupt(what: &'static str, reason: impl ToString) -> IndexError {
    IndexError::Corrupt { what, reason: reason.to_string() }
}

impl Indexes {
    /// Opens (or creates) the indexes under `path`. `limits` bound the blocks read back.
    pub fn open(path: &Path, limits: BlockLimits) -> Result<Self> {
        let database = Database::builder(path).open()?;
        let blocks = database.keyspace("blocks", KeyspaceCreateOptions::default)?;
        let block_heights = database.keyspace("block_heights", KeyspaceCreateOptions::default)?;
        let transactions = database.keyspace("transactions", KeyspaceCreateOptions::default)?;
        let receipts = database.keyspace("receipts", KeyspaceCreateOptions::default)?;
        let finalizations = database.keyspace("finalizations", KeyspaceCreateOptions::default)?;
        Ok(Self { database, blocks, block_heights, transactions, receipts, finalizations, limits })
    }

    /// Records a finalized block, its receipts and (if the node holds it) the encoded certificate
    /// that finalized it, durably.
    pub fn insert_finalized(&self, block: &Block, receipts: &[Receipt], finalization: Option<&[u8]>) -> Result<()> {
        assert_eq!(block.transactions.len(), receipts.len(), "one receipt per transaction");
        let height = block.header.height;
        let mut batch = self.database.batch().durability(Some(PersistMode::SyncData));
        batch.insert(&self.blocks, height_key(height), block.encode().to_vec());
        if let Some(finalization) = finalization {
            assert!(finalization.len() <= FINALIZATION_BYTES_MAX, "a certificate of at most VALIDATORS_MAX signers");
            batch.insert(&self.finalizations, height_key(height), finalization.to_vec());
        }
        batch.insert(&self.block_heights, block.hash().as_ref().to_vec(), height_key(height).to_vec());
        for (index, (transaction, receipt)) in block.transactions.iter().zip(receipts).enumerate() {
            let index = u32::try_from(index).expect("a block holds fewer than 2^32 transactions");
            batch.insert(
                &self.transactions,
                transaction.hash().as_ref().to_vec(),
                position_key(height, index).to_vec(),
            );
            batch.insert(&self.receipts, position_key(height, index).to_vec(), receipt.encode().to_vec());
        }
        batch.commit()?;
        Ok(())
    }

    /// Records the encoded certificate of the finalized block at `height`, durably (for a
    /// certificate that arrived after its block was indexed).
    pub fn insert_finalization(&self, height: Height, finalization: &[u8]) -> Result<()> {
        assert!(finalization.len() <= FINALIZATION_BYTES_MAX, "a certificate of at most VALIDATORS_MAX signers");
        let mut batch = self.database.batch().durability(Some(PersistMode::SyncData));
        batch.insert(&self.finalizations, height_key(height), finalization.to_vec());
        batch.commit()?;
        Ok(())
    }

    /// The encoded certificate that finalized the block at `height`, if the node holds one.
    pub fn finalization(&self, height: Height) -> Result<Option<Vec<u8>>> {
        let Some(bytes) = self.finalizations.get(height_key(height))? else {
            return Ok(None);
        };
        if bytes.len() > FINALIZATION_BYTES_MAX {
            return Err(corrupt("finalization", format!("{} bytes, at most {FINALIZATION_BYTES_MAX}", bytes.len())));
        }
        Ok(Some(bytes.to_vec()))
    }

    /// The highest indexed height, if any block was indexed.
    pub fn head(&self) -> Result<Option<Height>> {
        let Some(guard) = self.blocks.last_key_value() else {
            return Ok(None);
        };
        let key = guard.key()?;
        let bytes: [u8; 8] = key.as_ref().try_into().map_err(|_| corrupt("block height key", "not 8 bytes"))?;
        Ok(Some(Height(u64::from_be_bytes(bytes))))
    }

    /// A finalized block by height.
    pub fn block_by_height(&self, height: Height) -> Result<Option<Block>> {
        let Some(bytes) = self.blocks.get(height_key(height))? else {
            return Ok(None);
        };
        Block::decode_cfg(Bytes::copy_from_slice(&bytes), &self.limits)
            .map(Some)
            .map_err(|error| corrupt("block", error))
    }

    /// A finalized block by hash.
    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<Block>> {
        let Some(bytes) = self.block_heights.get(hash.as_ref())? else {
            return Ok(None);
        };
        let height: [u8; 8] = bytes.as_ref().try_into().map_err(|_| corrupt("block hash entry", "not 8 bytes"))?;
        self.block_by_height(Height(u64::from_be_bytes(height)))
    }

    /// Where a finalized transaction is.
    pub fn transaction_location(&self, hash: &Hash) -> Result<Option<TransactionLocation>> {
        let Some(bytes) = self.transactions.get(hash.as_ref())? else {
            return Ok(None);
        };
        let key: [u8; 12] = bytes.as_ref().try_into().map_err(|_| corrupt("transaction entry", "not 12 bytes"))?;
        let height = Height(u64::from_be_bytes(key[..8].try_into().expect("8 of 12 bytes")));
        let index = u32::from_be_bytes(key[8..].try_into().expect("4 of 12 bytes"));
        Ok(Some(TransactionLocation { height, index }))
    }

    /// A finalized transaction with its location and receipt.
    pub fn transaction(&self, hash: &Hash) -> Result<Option<(Transaction, TransactionLocation, Receipt)>> {
        let Some(location) = self.transaction_location(hash)? else {
            return Ok(None);
        };
        let block = self.block_by_height(location.height)?.ok_or_else(|| corrupt("transaction", "block missing"))?;
        let transaction = block
            .transactions
            .get(location.index as usize)
            .cloned()
            .ok_or_else(|| corrupt("transaction", "index beyond block"))?;
        let receipt = self.receipt(location)?.ok_or_else(|| corrupt("transaction", "receipt missing"))?;
        Ok(Some((transaction, location, receipt)))
    }

    /// The receipt at a location.
    pub fn receipt(&self, location: TransactionLocation) -> Result<Option<Receipt>> {
        let Some(bytes) = self.receipts.get(position_key(location.height, location.index))? else {
            return Ok(None);
        };
        Receipt::decode(Bytes::copy_from_slice(&bytes)).map(Some).map_err(|error| corrupt("receipt", error))
    }

    /// All receipts of a finalized block, in order.
    pub fn receipts(&self, height: Height) -> Result<Vec<Receipt>> {
        let mut receipts = Vec::new();
        for guard in self.receipts.prefix(height_key(height)) {
            let bytes = guard.value()?;
            receipts.push(Receipt::decode(Bytes::copy_from_slice(&bytes)).map_err(|error| corrupt("receipt", error))?);
        }
        Ok(receipts)
    }

    /// Bytes the indexes use on disk.
    pub fn disk_bytes(&self) -> Result<u64> {
        Ok(self.database.disk_space()?)
    }
}
