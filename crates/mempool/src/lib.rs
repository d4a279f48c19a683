//! The mempool: admission of transactions from clients and peers, per-sender ordering, bounded
//! pools, and gossip to the other validators.
//!
//! # Admission
//! A transaction is admitted when: its chain id matches; every signature verifies; its signer set
//! carries the weight the sender's key set requires (or is the recovery key alone, for a recovery
//! action); the sender is not frozen; its nonce is at least the sender's next nonce and within
//! [`Config::nonce_window`] of it; it has not expired; its fee limit covers the fee; the sender's
//! balance covers the fee plus what it moves; no transaction with the same sender and nonce is
//! pending; and the pool has room (per sender and in total). Every refusal is a distinct
//! [`AdmissionError`]. Size limits are enforced by the decoder before a transaction gets here.
//!
//! State checks read the latest *finalized* state; a transaction admitted here can still be
//! left out of a block (another with its nonce won), which is why proposers re-check everything.
//!
//! # Signature checks, once per validator
//! Signatures are checked in batches wherever transactions arrive together: peers' gossip
//! ([`run_gossip`]) and, with [`Mempool::with_signature_checks`], clients' submissions: the
//! first to find nobody checking checks its own and every one waiting in one batch, then hands
//! the role to the next waiting (no task of its own, no hand-off for a lone submission); a
//! client's bulk submission ([`Mempool::submit_many`], `formica_sendTransactions`) is one batch
//! per [`SIGNATURE_BATCH_MAX`] transactions. When a
//! block is verified, transactions the pool holds byte for byte ([`Mempool::admitted`]) are not
//! checked again.
//!
//! # Proposals
//! [`Mempool::candidates`] takes each sender's consecutive nonces from its finalized next nonce,
//! or from a higher one the proposer passes for blocks not yet finalized here (consensus runs
//! ahead of finalization, and those blocks' transactions are still pending).
//!
//! # Gossip
//! A transaction admitted from a client is sent once to every validator on
//! [`GOSSIP_CHANNEL`]. A peer whose message does not decode, or carries a bad signature, is
//! blocked; other refusals (a duplicate, a nonce already used) are normal races and ignored.
//! Gossip is best effort: if its queue is full the transaction stays in the local pool and is
//! proposed when this validator leads.
//!
//! # What survives a restart
//! Nothing: the pool is memory only. Clients resubmit what did not become final.

mod combine;
mod state;

pub use state::{AdmissionError, Config, Pool, SenderState, spend};

use bytes::Bytes;
use commonware_codec::{Decode, Encode};
use commonware_p2p::{Blocker, Receiver, Recipients, Sender};
use formica_types::{AccountId, Amount, Block, ChainId, Hash, Height, Nonce, Transaction, TransactionLimits};
use futures::{StreamExt, channel::mpsc};
use rand_core::CryptoRng;
use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};
use tracing::{debug, warn};

/// The p2p channel transactions are gossiped on.
pub const GOSSIP_CHANNEL: u64 = 6;

/// Reads finalized accounts, with their key sets, for admission.
pub trait AccountReader: Clone + Send + Sync + 'static {
    fn account(&self, id: AccountId) -> impl Future<Output = Result<Option<SenderState>, String>> + Send;
}

/// The shared handle of a node's mempool.
#[derive(Clone)]
pub struct Mempool<A> {
    pool: Arc<Mutex<Pool>>,
    reader: A,
    chain_id: ChainId,
    fee: Amount,
    limits: TransactionLimits,
    head: Arc<AtomicU64>,
    gossip: mpsc::Sender<Bytes>,
    /// Batched signature checks of clients' transactions, when enabled.
    checks: Option<Arc<combine::SignatureChecks>>,
}

/// The receiving end of the gossip queue: hand it to [`run_gossip`].
pub struct GossipQueue(mpsc::Receiver<Bytes>);

/// The most clients' transactions whose signatures are checked in one batch.
pub const SIGNATURE_BATCH_MAX: usize = 256;

impl<A: AccountReader> Mempool<A> {
    /// A mempool for a chain; `gossip_queue` bounds transactions waiting to be sent to peers.
    pub fn new(
        config: Config,
        reader: A,
        chain_id: ChainId,
        fee: Amount,
        limits: TransactionLimits,
        gossip_queue: usize,
    ) -> (Self, GossipQueue) {
        let (gossip, queue) = mpsc::channel(gossip_queue);
        let mempool = Self {
            pool: Arc::new(Mutex::new(Pool::new(config))),
            reader,
            chain_id,
            fee,
            limits,
            head: Arc::new(AtomicU64::new(0)),
            gossip,
            checks: None,
        };
        (mempool, GossipQueue(queue))
    }

    /// The same mempool, checking clients' signatures in batches: a submission that arrives
    /// while a batch is being checked waits and joins the next one (`formica_crypto::verify_batch`
    /// accepts exactly what one-by-one checks accept, for about a third of the cost per
    /// signature); one that arrives alone is checked at once. `seed` seeds the batch verifier's
    /// randomness. Without this, each submission is checked on its own.
    pub fn with_signature_checks(mut self, seed: u64) -> Self {
        self.checks = Some(Arc::new(combine::SignatureChecks::new(seed)));
        self
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().expect("the pool lock is never poisoned: no code panics while holding it")
    }

    /// The latest finalized height the pool has seen.
    pub fn head(&self) -> Height {
        Height(self.head.load(Ordering::Acquire))
    }

    /// Records that the chain is finalized up to `height` (expiry is checked against it).
    pub fn advance_head(&self, height: Height) {
        self.head.fetch_max(height.get(), Ordering::AcqRel);
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.pool().len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Admits a transaction from a client and queues it for gossip.
    pub async fn submit(&self, transaction: Transaction) -> Result<Hash, AdmissionError> {
        let bytes = transaction.encode();
        let hash = self.admit(transaction).await?;
        if self.gossip.clone().try_send(bytes).is_err() {
            debug!(transaction = %formica_types::hash_to_hex(&hash), "gossip queue full; kept locally only");
        }
        Ok(hash)
    }

    /// Admits a client's transactions submitted together (at most [`SIGNATURE_BATCH_MAX`] are
    /// checked per signature batch), queueing each admitted one for gossip. One result per
    /// transaction, in order; each is decided exactly as [`Mempool::submit`] would decide it
    /// alone, in that order (a later transaction of the same sender sees the earlier ones).
    pub async fn submit_many(&self, transactions: Vec<Transaction>) -> Vec<Result<Hash, AdmissionError>> {
        let mut results = Vec::with_capacity(transactions.len());
        let mut transactions = transactions.into_iter().peekable();
        while transactions.peek().is_some() {
            let chunk: Vec<Transaction> = transactions.by_ref().take(SIGNATURE_BATCH_MAX).collect();
            let checked = match &self.checks {
                Some(checks) => self.precheck(&chunk, |candidates| checks.check_many(candidates)),
                None => self.precheck(&chunk, |candidates| {
                    candidates.iter().map(|transaction| formica_crypto::verify_individually(transaction)).collect()
                }),
            };
            for (transaction, checked) in chunk.into_iter().zip(checked) {
                let result = match checked {
                    Ok(()) => {
                        let bytes = transaction.encode();
                        let admitted = self.admit_verified(transaction).await;
                        if admitted.is_ok() && self.gossip.clone().try_send(bytes).is_err() {
                            debug!("gossip queue full; a bulk-submitted transaction is kept locally only");
                        }
                        admitted
                    }
                    Err(refusal) => Err(refusal),
                };
                results.push(result);
            }
        }
        results
    }

    /// The chain id and signature checks of `transactions`: `verify` gets those with the right
    /// chain id and returns one verdict for each.
    fn precheck(
        &self,
        transactions: &[Transaction],
        verify: impl FnOnce(&[&Transaction]) -> Vec<bool>,
    ) -> Vec<Result<(), AdmissionError>> {
        let chain: Vec<Result<(), AdmissionError>> =
            transactions.iter().map(|transaction| self.check_chain(transaction)).collect();
        let to_verify: Vec<&Transaction> = transactions
            .iter()
            .zip(&chain)
            .filter(|(_, chain)| chain.is_ok())
            .map(|(transaction, _)| transaction)
            .collect();
        let mut verified = verify(&to_verify).into_iter();
        chain
            .into_iter()
            .map(|chain| match chain {
                Err(refusal) => Err(refusal),
                Ok(()) if verified.next().expect("one verdict per transaction verified") => Ok(()),
                Ok(()) => Err(AdmissionError::BadSignature),
            })
            .collect()
    }

    fn check_chain(&self, transaction: &Transaction) -> Result<(), AdmissionError> {
        if transaction.body.chain_id != self.chain_id {
            return Err(AdmissionError::WrongChainId {
                expected: self.chain_id.get(),
                got: transaction.body.chain_id.get(),
            });
        }
        Ok(())
    }

    async fn admit(&self, transaction: Transaction) -> Result<Hash, AdmissionError> {
        self.check_chain(&transaction)?;
        let (valid, transaction) = match &self.checks {
            Some(checks) => checks
                .check(transaction)
                .await
                .map_err(|_| AdmissionError::State("the signature check was abandoned".into()))?,
            None => (formica_crypto::verify_individually(&transaction), transaction),
        };
        if !valid {
            return Err(AdmissionError::BadSignature);
        }
        self.admit_verified(transaction).await
    }

    /// Admits transactions from peers: the signatures of all of them are checked in one batch
    /// (`formica_crypto::verify_batch` accepts exactly what one-by-one checks accept, at a
    /// fraction of the cost per signature). One result per transaction, in order.
    pub async fn admit_batch<R: CryptoRng>(
        &self,
        rng: &mut R,
        transactions: Vec<Transaction>,
    ) -> Vec<Result<Hash, AdmissionError>> {
        let checked = self.precheck(&transactions, |candidates| formica_crypto::verify_batch(rng, candidates));
        let mut results = Vec::with_capacity(transactions.len());
        for (transaction, checked) in transactions.into_iter().zip(checked) {
            results.push(match checked {
                Ok(()) => self.admit_verified(transaction).await,
                Err(refusal) => Err(refusal),
            });
        }
        results
    }

    /// The state-dependent checks and the insertion, for a transaction whose chain id and
    /// signatures were checked.
    async fn admit_verified(&self, transaction: Transaction) -> Result<Hash, AdmissionError> {
        let sender = self.reader.account(transaction.body.sender).await.map_err(AdmissionError::State)?;
        let head = self.head();
        // The fee of the same finalized state (governance may have changed the genesis fee).
        let fee = sender.as_ref().map_or(self.fee, |state| state.fee);
        self.pool().insert(transaction, sender.as_ref(), head, fee)
    }

    /// Up to `limit` transactions to propose, skipping each sender's nonces below `pending`
    /// (what blocks not yet finalized here already carry).
    pub fn candidates(&self, limit: usize, pending: &BTreeMap<AccountId, Nonce>) -> Vec<Transaction> {
        self.pool().candidates(limit, pending)
    }

    /// For each of `transactions`, whether the pool holds exactly it, signatures included (so
    /// its signatures were verified on admission).
    pub fn admitted(&self, transactions: &[Transaction]) -> Vec<bool> {
        let pool = self.pool();
        transactions.iter().map(|transaction| pool.holds(transaction)).collect()
    }

    /// Removes what a finalized block spent (and whatever expired).
    pub fn finalized(&self, block: &Block) {
        let mut senders: BTreeMap<AccountId, Nonce> = BTreeMap::new();
        block.next_nonces(&mut senders);
        self.advance_head(block.header.height);
        let removed = self.pool().finalized(block.header.height, &senders);
        debug!(height = %block.header.height, removed, "mempool pruned");
    }
}

/// Why a peer's gossip message is not a transaction; either way the peer is blocked.
#[derive(Debug, thiserror::Error)]
pub enum GossipError {
    #[error("oversized transaction: {bytes} bytes, the limit is {limit}")]
    Oversized { bytes: usize, limit: usize },
    #[error("undecodable transaction: {0}")]
    Undecodable(#[from] commonware_codec::Error),
}

/// Decodes one message of [`GOSSIP_CHANNEL`] as a peer sent it: the size is checked before
/// anything is decoded, and decoding applies `limits`.
pub fn decode_gossip(message: Bytes, limits: &TransactionLimits) -> Result<Transaction, GossipError> {
    if message.len() > limits.encoded_bytes_max {
        return Err(GossipError::Oversized { bytes: message.len(), limit: limits.encoded_bytes_max });
    }
    Ok(Transaction::decode_cfg(message, limits)?)
}

/// The most gossiped transactions whose signatures are verified in one batch: as many as are
/// waiting when one arrives, up to this.
pub const GOSSIP_BATCH_MAX: usize = 256;

/// Runs transaction gossip until the channel closes: sends queued local transactions to every
/// peer, admits peers' transactions (verifying the signatures of those waiting together in one
/// batch, with randomness from `rng`), and blocks peers that send garbage.
pub async fn run_gossip<A, S, R, B, G>(
    mempool: Mempool<A>,
    queue: GossipQueue,
    mut sender: S,
    mut receiver: R,
    mut blocker: B,
    mut rng: G,
) where
    A: AccountReader,
    S: Sender,
    R: Receiver<PublicKey = S::PublicKey>,
    B: Blocker<PublicKey = S::PublicKey>,
    G: CryptoRng,
{
    let GossipQueue(mut queue) = queue;
    let limits = mempool.limits;
    loop {
        let first = futures::select! {
            outgoing = queue.next() => {
                let Some(bytes) = outgoing else { return };
                sender.send(Recipients::All, bytes, false);
                continue;
            }
            incoming = receiver.recv().fuse() => incoming,
        };
        let Ok(first) = first else { return };
        let mut messages = vec![first];
        // Whatever else is already waiting joins the batch; nothing waits for more to arrive.
        while messages.len() < GOSSIP_BATCH_MAX {
            match receiver.recv().now_or_never() {
                Some(Ok(message)) => messages.push(message),
                Some(Err(_)) | None => break,
            }
        }
        let mut peers = Vec::with_capacity(messages.len());
        let mut transactions = Vec::with_capacity(messages.len());
        for (peer, message) in messages {
            match decode_gossip(Bytes::from(message), &limits) {
                Ok(transaction) => {
                    peers.push(peer);
                    transactions.push(transaction);
                }
                Err(error) => {
                    warn!(peer = %peer, %error, "blocking peer");
                    blocker.block(peer);
                }
            }
        }
        let results = mempool.admit_batch(&mut rng, transactions).await;
        for (peer, result) in peers.into_iter().zip(results) {
            match result {
                Ok(_) => {}
                Err(AdmissionError::BadSignature | AdmissionError::WrongChainId { .. }) => {
                    warn!(peer = %peer, "blocking peer: invalid transaction");
                    blocker.block(peer);
                }
                Err(refusal) => debug!(peer = %peer, %refusal, "gossiped transaction refused"),
            }
        }
    }
}

use futures::FutureExt as _;

#[cfg(test)]
mod tests;
