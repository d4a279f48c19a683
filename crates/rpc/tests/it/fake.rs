//! An in-memory node for tests: a real (if simple) mempool and ledger behind the `Backend` trait.
//!
//! Submissions are checked the way a node would (chain id, signatures, authorisation, nonce window,
//! balance, fee, expiry, duplicates, capacity); `finalize` turns the pool into a block, applies
//! it, stores receipts and publishes the block on the broadcast channel.
//!
//! Every block is "finalized" by a genuine simplex certificate of its epoch's committee (four
//! well-known keys per epoch, [`committee_keys`]); an epoch's last block names the next committee.
//!
//! Shared by the formica-rpc and formica-client tests (the client includes it by path).

#![allow(dead_code)]

use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::{Signer, ed25519::PrivateKey};
use commonware_utils::range::NonEmptyRange;
use formica_rpc::{
    AccountDetails, AccountProof, Backend, BackendError, Finality, FinalizedBlock, Status, SubmitError,
    TransactionRecord,
};
use formica_types::{
    Account, AccountId, AccountKey, Amount, Block, BlockContext, ChainId, FailureCode, Hash, Header, Height, Nonce,
    Outcome, Payload, Receipt, Transaction, TransactionBody, hash_tagged, receipts_root, transactions_root,
};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

pub const CHAIN_ID: ChainId = ChainId(77);
pub const MINIMUM_FEE: Amount = Amount(1);
pub const NONCE_WINDOW: u64 = 16;

pub fn key(seed: u64) -> PrivateKey {
    PrivateKey::from_seed(seed)
}

pub fn account_of(key: &PrivateKey) -> AccountId {
    AccountId::from_public_key(&key.public_key())
}

/// A transaction body on [`CHAIN_ID`] from `key(seed)`'s account, expiring at height 100 with a
/// fee limit of 10.
pub fn body(seed: u64, nonce: u64, payload: Payload) -> TransactionBody {
    TransactionBody {
        chain_id: CHAIN_ID,
        sender: account_of(&key(seed)),
        nonce: Nonce(nonce),
        expiry_height: Height(100),
        fee_limit: Amount(10),
        payload,
    }
}

#[derive(Default)]
struct Ledger {
    accounts: Vec<(AccountId, Account)>,
    pending: Vec<Transaction>,
    blocks: Vec<Block>,
    records: Vec<TransactionRecord>,
    shutting_down: bool,
}

impl Ledger {
    fn account(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.iter().find(|(candidate, _)| candidate == id).map(|(_, account)| account)
    }

    fn account_mut(&mut self, id: &AccountId) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|(candidate, _)| candidate == id).map(|(_, account)| account)
    }

    fn height(&self) -> Height {
        self.blocks.last().map(|block| block.header.height).unwrap_or(Height(0))
    }

    fn check(&self, transaction: &Transaction, capacity: usize) -> Result<(), SubmitError> {
        let body = &transaction.body;
        if body.chain_id != CHAIN_ID {
            return Err(SubmitError::WrongChainId { expected: CHAIN_ID, got: body.chain_id });
        }
        if !formica_crypto::verify_individually(transaction) {
            return Err(SubmitError::BadSignature);
        }
        let account = self.account(&body.sender).ok_or(SubmitError::UnknownSender { sender: body.sender })?;
        formica_crypto::authorise(&formica_crypto::KeySet::single(account.first_key.key), transaction)
            .map_err(|error| SubmitError::Unauthorised { sender: body.sender, reason: error.to_string() })?;
        if self.pending.iter().any(|pending| pending.hash() == transaction.hash()) {
            return Err(SubmitError::Duplicate { hash: transaction.hash() });
        }
        let queued = self.pending.iter().filter(|pending| pending.body.sender == body.sender).count() as u64;
        let expected = Nonce(account.nonce.get() + queued);
        if body.nonce < expected {
            return Err(SubmitError::NonceTooLow { expected, got: body.nonce });
        }
        if body.nonce.get() >= expected.get() + NONCE_WINDOW {
            return Err(SubmitError::NonceTooFarAhead { expected, got: body.nonce, window: NONCE_WINDOW });
        }
        if body.expiry_height <= self.height() {
            return Err(SubmitError::Expired { expiry_height: body.expiry_height, current_height: self.height() });
        }
        if body.fee_limit < MINIMUM_FEE {
            return Err(SubmitError::FeeTooLow { fee_limit: body.fee_limit, minimum: MINIMUM_FEE });
        }
        let moved = body.payload.moved();
        let needed = moved.checked_add(body.fee_limit).ok_or(SubmitError::Malformed { reason: "overflow".into() })?;
        if needed > account.balance {
            return Err(SubmitError::InsufficientBalance { needed, available: account.balance });
        }
        if self.pending.len() >= capacity {
            return Err(SubmitError::MempoolFull { capacity: capacity as u64 });
        }
        Ok(())
    }

    fn execute(&mut self, transaction: &Transaction) -> Receipt {
        let body = &transaction.body;
        let sender = self.account_mut(&body.sender).expect("admitted senders exist");
        sender.nonce = sender.nonce.next().expect("test nonces are small");
        sender.balance = sender.balance.checked_sub(MINIMUM_FEE).expect("admission checked the fee");
        let outcome = match &body.payload {
            Payload::Transfer { to, amount } => self.transfer(body.sender, *to, *amount),
            Payload::CreateAccount { public_key, initial_balance } => {
                let id = public_key.account_id();
                if self.account(&id).is_some() {
                    Outcome::Failure { code: FailureCode::AccountExists, message: "account exists".into() }
                } else {
                    let sender = self.account_mut(&body.sender).expect("exists");
                    sender.balance = sender.balance.checked_sub(*initial_balance).expect("admission checked it");
                    self.accounts.push((id, Account::new(*public_key, *initial_balance)));
                    Outcome::Success
                }
            }
            other => Outcome::Failure {
                code: FailureCode::NotPermitted,
                message: format!("the test node does not run {}", other.kind()),
            },
        };
        Receipt::plain(transaction.hash(), outcome, MINIMUM_FEE)
    }

    fn transfer(&mut self, from: AccountId, to: AccountId, amount: Amount) -> Outcome {
        if self.account(&to).is_none() {
            return Outcome::Failure { code: FailureCode::RecipientMissing, message: "no such recipient".into() };
        }
        let sender = self.account_mut(&from).expect("exists");
        sender.balance = sender.balance.checked_sub(amount).expect("admission checked the balance");
        let recipient = self.account_mut(&to).expect("exists");
        recipient.balance = recipient.balance.checked_add(amount).expect("test balances are small");
        Outcome::Success
    }
}

/// The signing keys of epoch `epoch`'s committee.
pub fn committee_keys(epoch: u64) -> Vec<PrivateKey> {
    (0..4).map(|index| key(2_000 + 10 * epoch + index)).collect()
}

/// The validators of epoch `epoch`.
pub fn committee(epoch: u64) -> Vec<formica_types::PublicKey> {
    committee_keys(epoch).iter().map(|key| key.public_key()).collect()
}

fn node_set(epoch: u64) -> formica_types::NodeSet {
    formica_types::NodeSet(
        committee(epoch)
            .into_iter()
            .map(|key| formica_types::Node {
                key,
                org: formica_types::OrgId(1),
                address: formica_types::NodeAddress("127.0.0.1:1".parse().expect("address")),
                role: formica_types::NodeRole::Validator,
            })
            .collect(),
    )
}

/// The encoding of a finalization of `header` by the first three of the four keys of `signers`.
pub fn certify(header: &Header, signers: &[PrivateKey]) -> Vec<u8> {
    use commonware_codec::Encode;
    use commonware_consensus::simplex::scheme::ed25519::Scheme;
    use commonware_consensus::simplex::types::{Finalization, Finalize, Proposal};
    let namespace = formica_types::consensus_namespace(CHAIN_ID);
    let participants = commonware_utils::ordered::Set::from_iter_dedup(signers.iter().map(|key| key.public_key()));
    let proposal = Proposal::new(header.context.round, header.context.parent.0, header.digest());
    let votes: Vec<Finalize<Scheme, Hash>> = signers[..3]
        .iter()
        .map(|signer| {
            let scheme = Scheme::signer(&namespace, participants.clone(), signer.clone()).expect("a member");
            Finalize::sign(&scheme, proposal.clone()).expect("signs")
        })
        .collect();
    let scheme = Scheme::verifier(&namespace, participants);
    let strategy = commonware_parallel::Sequential;
    Finalization::from_finalizes(&scheme, commonware_utils::non_empty![@votes.iter()], &strategy)
        .expect("a quorum assembles")
        .encode()
        .to_vec()
}

/// Module records by module tag and module key, encoded.
type ModuleRecords = std::collections::BTreeMap<(u8, Vec<u8>), Vec<u8>>;

pub struct FakeNode {
    ledger: Mutex<Ledger>,
    /// Heights per epoch.
    epoch_blocks: u64,
    /// Sign finality proofs with the next epoch's committee instead of the block's own (a lying node).
    forged_finality: Mutex<bool>,
    blocks: broadcast::Sender<Arc<FinalizedBlock>>,
    capacity: usize,
    node_key: PrivateKey,
    /// The API access policy, and the accounts that are admins of a member organisation.
    access: Mutex<(bool, Vec<AccountId>)>,
    /// Module records by module tag and module key, encoded.
    module_records: Mutex<ModuleRecords>,
}

impl FakeNode {
    /// A node whose genesis funds the accounts of `funded` seeds with `balance` each.
    pub fn new(funded: &[u64], balance: u128, capacity: usize) -> Arc<Self> {
        Self::with_epochs(funded, balance, capacity, 1_000_000)
    }

    /// Like [`FakeNode::new`], with a new committee every `epoch_blocks` heights.
    pub fn with_epochs(funded: &[u64], balance: u128, capacity: usize, epoch_blocks: u64) -> Arc<Self> {
        let mut ledger = Ledger::default();
        for seed in funded {
            let key = key(*seed);
            ledger
                .accounts
                .push((account_of(&key), Account::new(AccountKey::ed25519(&key.public_key()), Amount(balance))));
        }
        let genesis = build_block(Height(0), hash_tagged(b"test", &[b"genesis"]), Vec::new(), &[]);
        ledger.blocks.push(genesis);
        let (blocks, _) = broadcast::channel(16);
        Arc::new(Self {
            ledger: Mutex::new(ledger),
            epoch_blocks,
            forged_finality: Mutex::new(false),
            blocks,
            capacity,
            node_key: key(1000),
            access: Mutex::new((false, Vec::new())),
            module_records: Mutex::new(std::collections::BTreeMap::new()),
        })
    }

    /// Stores a module record as the execution module would.
    pub fn put_module_record(&self, module: formica_types::Module, key: Vec<u8>, bytes: Vec<u8>) {
        self.module_records.lock().expect("not poisoned").insert((module.tag(), key), bytes);
    }

    /// Limits the API to the admins in `members` (or opens it when `members_only` is false).
    pub fn set_access(&self, members_only: bool, members: Vec<AccountId>) {
        *self.access.lock().expect("not poisoned") = (members_only, members);
    }

    pub fn pending_count(&self) -> usize {
        self.ledger.lock().expect("not poisoned").pending.len()
    }

    /// Makes the node serve finality proofs signed by the wrong committee.
    pub fn set_forged_finality(&self, forged: bool) {
        *self.forged_finality.lock().expect("not poisoned") = forged;
    }

    pub fn set_shutting_down(&self) {
        self.ledger.lock().expect("not poisoned").shutting_down = true;
    }

    /// Moves every pending transaction into a new finalized block and publishes it.
    pub fn finalize(&self) -> Arc<FinalizedBlock> {
        let finalized = {
            let mut ledger = self.ledger.lock().expect("not poisoned");
            let transactions = std::mem::take(&mut ledger.pending);
            let receipts: Vec<Receipt> = transactions.iter().map(|transaction| ledger.execute(transaction)).collect();
            let parent = ledger.blocks.last().expect("genesis exists").hash();
            let height = ledger.height().next().expect("small");
            let block = build_block_in(height, parent, transactions, &receipts, self.epoch_blocks);
            for (index, (transaction, receipt)) in block.transactions.iter().zip(&receipts).enumerate() {
                ledger.records.push(TransactionRecord {
                    transaction: transaction.clone(),
                    block_height: height,
                    block_hash: block.hash(),
                    index: index as u32,
                    receipt: receipt.clone(),
                });
            }
            ledger.blocks.push(block.clone());
            Arc::new(FinalizedBlock { block, receipts })
        };
        // No subscriber is not an error.
        let _ = self.blocks.send(finalized.clone());
        finalized
    }

    fn available(&self) -> Result<std::sync::MutexGuard<'_, Ledger>, BackendError> {
        let ledger = self.ledger.lock().expect("not poisoned");
        if ledger.shutting_down { Err(BackendError::ShuttingDown) } else { Ok(ledger) }
    }
}

pub fn build_block(height: Height, parent: Hash, transactions: Vec<Transaction>, receipts: &[Receipt]) -> Block {
    build_block_in(height, parent, transactions, receipts, u64::MAX)
}

/// A block at `height` of a chain with `epoch_blocks` heights per epoch.
fn build_block_in(
    height: Height,
    parent: Hash,
    transactions: Vec<Transaction>,
    receipts: &[Receipt],
    epoch_blocks: u64,
) -> Block {
    let epoch = height.get() / epoch_blocks;
    let last = (height.get() + 1).is_multiple_of(epoch_blocks);
    let header = Header {
        context: BlockContext {
            round: Round::new(Epoch::new(epoch), View::new(height.get() + 1)),
            leader: key(1000).public_key(),
            parent: (View::new(height.get()), parent),
        },
        parent,
        height,
        timestamp_ms: 1_700_000_000_000 + height.get(),
        transactions_root: transactions_root(&transactions),
        state_root: hash_tagged(b"test-state", &[&height.get().to_be_bytes()]),
        state_ops_root: hash_tagged(b"test-ops", &[&height.get().to_be_bytes()]),
        state_range: NonEmptyRange::new(0..height.get() + 1).expect("non-empty"),
        receipts_root: receipts_root(receipts),
        next_nodes: if last { node_set(epoch + 1) } else { formica_types::NodeSet::default() },
        epoch_timeouts: Default::default(),
    };
    Block::new(header, transactions)
}

impl Backend for FakeNode {
    async fn module_record(
        &self,
        module: formica_types::Module,
        key: Vec<u8>,
        size: usize,
    ) -> Result<(Option<Vec<u8>>, Height), BackendError> {
        let height = self.available()?.height();
        let record = self.module_records.lock().expect("not poisoned").get(&(module.tag(), key)).cloned();
        assert!(record.as_ref().is_none_or(|bytes| bytes.len() == size), "a record of its kind's size");
        Ok((record, height))
    }

    async fn submit(&self, transaction: Transaction) -> Result<Hash, SubmitError> {
        let mut ledger = self.available()?;
        ledger.check(&transaction, self.capacity)?;
        let hash = transaction.hash();
        ledger.pending.push(transaction);
        Ok(hash)
    }

    async fn transaction(&self, hash: Hash) -> Result<Option<TransactionRecord>, BackendError> {
        let ledger = self.available()?;
        Ok(ledger.records.iter().find(|record| record.transaction.hash() == hash).cloned())
    }

    async fn pending_transaction(&self, hash: Hash) -> Result<Option<Transaction>, BackendError> {
        let ledger = self.available()?;
        Ok(ledger.pending.iter().find(|transaction| transaction.hash() == hash).cloned())
    }

    async fn block_by_height(&self, height: Height) -> Result<Option<Block>, BackendError> {
        let ledger = self.available()?;
        Ok(ledger.blocks.iter().find(|block| block.header.height == height).cloned())
    }

    async fn block_by_hash(&self, hash: Hash) -> Result<Option<Block>, BackendError> {
        let ledger = self.available()?;
        Ok(ledger.blocks.iter().find(|block| block.hash() == hash).cloned())
    }

    async fn account(&self, id: AccountId) -> Result<Option<(AccountDetails, Height)>, BackendError> {
        let ledger = self.available()?;
        Ok(ledger.account(&id).map(|account| {
            let details = AccountDetails {
                account: account.clone(),
                keys: vec![account.first_key],
                recovery: None,
                pending_recovery: None,
                roles: Vec::new(),
            };
            (details, ledger.height())
        }))
    }

    async fn account_proof(&self, id: AccountId) -> Result<AccountProof, BackendError> {
        let ledger = self.available()?;
        let tip = ledger.blocks.last().expect("genesis exists");
        Ok(AccountProof {
            account_id: id,
            account: ledger.account(&id).cloned(),
            height: tip.header.height,
            block_hash: tip.hash(),
            state_root: tip.header.state_root,
            proof: vec![0xde, 0xad, 0xbe, 0xef],
        })
    }

    async fn api_members_only(&self) -> Result<bool, BackendError> {
        Ok(self.access.lock().expect("not poisoned").0)
    }

    async fn member_org(&self, account: AccountId) -> Result<Option<formica_types::OrgId>, BackendError> {
        let access = self.access.lock().expect("not poisoned");
        Ok(access.1.iter().position(|member| *member == account).map(|index| formica_types::OrgId(index as u32 + 1)))
    }

    async fn status(&self) -> Result<Status, BackendError> {
        let ledger = self.available()?;
        let tip = ledger.blocks.last().expect("genesis exists");
        Ok(Status {
            chain_id: CHAIN_ID,
            height: tip.header.height,
            block_hash: tip.hash(),
            state_root: tip.header.state_root,
            peers: 3,
            epoch: 0,
            validators: vec![self.node_key.public_key()],
            mempool_size: ledger.pending.len() as u64,
            node_public_key: self.node_key.public_key(),
        })
    }

    async fn finality(&self, height: Height) -> Result<Option<Finality>, BackendError> {
        let ledger = self.available()?;
        let Some(block) = ledger.blocks.iter().find(|block| block.header.height == height) else {
            return Ok(None);
        };
        let epoch = height.get() / self.epoch_blocks;
        let signers = match *self.forged_finality.lock().expect("not poisoned") {
            true => committee_keys(epoch + 1),
            false => committee_keys(epoch),
        };
        Ok(Some(Finality {
            headers: vec![block.header.clone()],
            certificate: certify(&block.header, &signers),
            epoch,
            validators: committee(epoch),
        }))
    }

    fn finalized_blocks(&self) -> broadcast::Receiver<Arc<FinalizedBlock>> {
        self.blocks.subscribe()
    }
}
