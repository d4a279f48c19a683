//! What the server needs from a node, and the typed reasons a node refuses a transaction.

use formica_types::state::{StateKey, StateValue};
use formica_types::{
    Account, AccountId, Amount, ApprovalRule, Block, ChainId, ContractAdmin, ContractRecord, FailureCode,
    GasParameters, GovernanceAction, GovernanceState, Hash, Header, Height, KeyEntry, Module, Nonce, OrgId,
    Organisation, PendingRecovery, Proposal, PublicKey, Receipt, RecoveryConfig, Role, Transaction, hash_to_hex,
};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The node behind the API. Every read is of finalized state unless documented otherwise.
pub trait Backend: Send + Sync + 'static {
    /// Admits `transaction` to the mempool (checks size, signatures, nonce window, balance, ...).
    fn submit(&self, transaction: Transaction) -> impl Future<Output = Result<Hash, SubmitError>> + Send;

    /// Admits `transactions` as if each were submitted alone, in order; one result each. Nodes
    /// check their signatures in one batch; the default submits them one by one.
    fn submit_many(
        &self,
        transactions: Vec<Transaction>,
    ) -> impl Future<Output = Vec<Result<Hash, SubmitError>>> + Send {
        async move {
            let mut results = Vec::with_capacity(transactions.len());
            for transaction in transactions {
                results.push(self.submit(transaction).await);
            }
            results
        }
    }

    /// A transaction in a finalized block, with its position and receipt.
    fn transaction(&self, hash: Hash) -> impl Future<Output = Result<Option<TransactionRecord>, BackendError>> + Send;

    /// A transaction waiting in the mempool. Nodes that cannot look into their pool keep the default.
    fn pending_transaction(
        &self,
        _hash: Hash,
    ) -> impl Future<Output = Result<Option<Transaction>, BackendError>> + Send {
        std::future::ready(Ok(None))
    }

    fn block_by_height(&self, height: Height) -> impl Future<Output = Result<Option<Block>, BackendError>> + Send;

    fn block_by_hash(&self, hash: Hash) -> impl Future<Output = Result<Option<Block>, BackendError>> + Send;

    /// The account and its key set as of the latest finalized block, and that block's height.
    fn account(
        &self,
        id: AccountId,
    ) -> impl Future<Output = Result<Option<(AccountDetails, Height)>, BackendError>> + Send;

    /// The account (or its absence) with a proof against the latest finalized state root.
    fn account_proof(&self, id: AccountId) -> impl Future<Output = Result<AccountProof, BackendError>> + Send;

    /// The governance record and approval rule, and the finalized height they are from.
    fn governance(&self) -> impl Future<Output = Result<(GovernanceState, ApprovalRule, Height), BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve governance".into() }))
    }

    /// An organisation with its admin accounts.
    fn organisation(
        &self,
        _id: OrgId,
    ) -> impl Future<Output = Result<Option<(Organisation, Vec<AccountId>, Height)>, BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve governance".into() }))
    }

    /// A proposal with its action.
    fn proposal(
        &self,
        _id: u64,
    ) -> impl Future<Output = Result<Option<(Proposal, GovernanceAction, Height)>, BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve governance".into() }))
    }

    /// Whether the API is limited to member organisations (the chain parameter; before the first
    /// block, the genesis value). Nodes without governance keep the default: open.
    fn api_members_only(&self) -> impl Future<Output = Result<bool, BackendError>> + Send {
        std::future::ready(Ok(false))
    }

    /// The active member organisation `account` is an admin of, if any (for access tokens).
    fn member_org(&self, _account: AccountId) -> impl Future<Output = Result<Option<OrgId>, BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve governance".into() }))
    }

    fn status(&self) -> impl Future<Output = Result<Status, BackendError>> + Send;

    /// The encoded module record of `size` bytes under `key` (the module's own key bytes) as of
    /// the latest finalized block, and that block's height (`None`: no such record).
    fn module_record(
        &self,
        _module: Module,
        _key: Vec<u8>,
        _size: usize,
    ) -> impl Future<Output = Result<(Option<Vec<u8>>, Height), BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve modules".into() }))
    }

    /// Heights per consensus epoch (the genesis `epoch_blocks`).
    fn epoch_blocks(&self) -> impl Future<Output = Result<u64, BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve finality proofs".into() }))
    }

    /// The current values of `keys` (at most [`PROVEN_KEYS_MAX`]), each with a proof against
    /// the state root of one finalized block, all from that same block.
    fn prove_values(&self, _keys: Vec<StateKey>) -> impl Future<Output = Result<ProvenValues, BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve state proofs".into() }))
    }

    /// The supply of the native asset (fixed at genesis), and the latest finalized height.
    fn native_supply(&self) -> impl Future<Output = Result<(Amount, Height), BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve modules".into() }))
    }

    /// A contract as of the latest finalized block (`None`: no contract at the address).
    fn contract(
        &self,
        _address: AccountId,
    ) -> impl Future<Output = Result<Option<ContractDetails>, BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve contracts".into() }))
    }

    /// The gas price and limits in force, and the finalized height they are from.
    fn gas_parameters(&self) -> impl Future<Output = Result<(GasParameters, Height), BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve contracts".into() }))
    }

    /// Runs a contract's entry point read-only against the latest finalized state: nothing it
    /// writes is kept. The gas limit is already capped by the server.
    fn query_contract(&self, _query: ContractQuery) -> impl Future<Output = Result<QueryResult, BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve contracts".into() }))
    }

    /// What proves the finalized block at `height` final ([`Finality`]); `None` if no block at
    /// `height` is finalized yet. At most [`FINALITY_HEADERS_MAX`] headers; a node that holds no
    /// certificate that close returns [`BackendError::Unavailable`].
    fn finality(&self, _height: Height) -> impl Future<Output = Result<Option<Finality>, BackendError>> + Send {
        std::future::ready(Err(BackendError::Unavailable { reason: "this node does not serve finality proofs".into() }))
    }

    /// Finalized blocks as they are committed (with their receipts), for subscriptions. The
    /// channel is bounded; a subscriber that falls behind by more than its capacity is told so.
    fn finalized_blocks(&self) -> broadcast::Receiver<Arc<FinalizedBlock>>;
}

/// The most headers one finality proof links: a block's own certificate is normally stored,
/// and when it is not (simplex finalized it through a descendant) a certified descendant is at
/// most a few blocks away. Defined with the verifier, which refuses longer proofs.
pub use formica_verify::FINALITY_HEADERS_MAX;

/// What proves a finalized block final to a client that trusts only the validator set of its
/// epoch: the block's header, the headers of its descendants up to the first one whose own
/// finalization certificate the node holds, that certificate, and the epoch's committee.
///
/// The client checks that each header's `parent` is the digest of the one before, that the
/// certificate finalizes the last header's digest in the same epoch, and that its signatures
/// carry a quorum of the committee (`formica-client`'s finality module). The committee is shown
/// for convenience only: a client takes it from its own chain of trust, never from here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finality {
    /// At least one, at most [`FINALITY_HEADERS_MAX`], consecutive heights, all in `epoch`.
    pub headers: Vec<Header>,
    /// The encoded simplex finalization certificate of the last header's block.
    pub certificate: Vec<u8>,
    pub epoch: u64,
    /// The validators of `epoch`, as the previous epoch's last block (or the genesis) states them.
    pub validators: Vec<PublicKey>,
}

/// A deployed contract's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractDetails {
    pub record: ContractRecord,
    pub admin: ContractAdmin,
    pub code_bytes: u32,
    pub height: Height,
}

/// A read-only contract call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractQuery {
    /// Whom the contract sees as its caller and origin.
    pub caller: AccountId,
    pub contract: AccountId,
    pub method: String,
    pub input: Vec<u8>,
    pub gas_limit: u64,
}

/// What a query returned: the output, or the failure's code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryResult {
    pub result: Result<Vec<u8>, (FailureCode, String)>,
    pub gas_used: u64,
    /// The finalized height the query read.
    pub height: Height,
}

/// A transaction in a finalized block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRecord {
    pub transaction: Transaction,
    pub block_height: Height,
    pub block_hash: Hash,
    /// Position of the transaction (and of its receipt) in the block.
    pub index: u32,
    pub receipt: Receipt,
}

/// A finalized block and the receipts of its transactions, in block order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalizedBlock {
    pub block: Block,
    pub receipts: Vec<Receipt>,
}

/// An account with every record that belongs to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountDetails {
    pub account: Account,
    /// All signing keys, slot order (the first is `account.first_key`).
    pub keys: Vec<KeyEntry>,
    pub recovery: Option<RecoveryConfig>,
    pub pending_recovery: Option<PendingRecovery>,
    pub roles: Vec<Role>,
}

/// An account (or its absence) and an opaque proof of it against `state_root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountProof {
    pub account_id: AccountId,
    pub account: Option<Account>,
    pub height: Height,
    pub block_hash: Hash,
    pub state_root: Hash,
    /// The proof bytes; their format and verification belong to `formica-state`.
    pub proof: Vec<u8>,
}

/// The most state keys one [`Backend::prove_values`] call proves.
pub const PROVEN_KEYS_MAX: usize = 4_096;

/// Values of state keys, each with a proof against the state root of one finalized block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenValues {
    pub height: Height,
    pub block_hash: Hash,
    pub state_root: Hash,
    /// In the order asked: the value and its encoded proof (see `formica_verify::records`), or
    /// `None` where the key holds nothing (absence has no proof in an unordered state).
    pub values: Vec<Option<(StateValue, Vec<u8>)>>,
}

/// What a node reports about itself and the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub chain_id: ChainId,
    /// The latest finalized height, and that block's hash and state root.
    pub height: Height,
    pub block_hash: Hash,
    pub state_root: Hash,
    pub peers: u32,
    /// The consensus epoch the node is in, and its committee.
    pub epoch: u64,
    pub validators: Vec<PublicKey>,
    pub mempool_size: u64,
    pub node_public_key: PublicKey,
}

/// The node cannot answer now: it is shutting down or its storage failed. Maps to `-32030`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("the node is shutting down")]
    ShuttingDown,
    #[error("storage failure: {reason}")]
    Storage { reason: String },
    #[error("{reason}")]
    Unavailable { reason: String },
}

/// Why a transaction was refused. Each variant has its own stable JSON-RPC code ([`codes`]).
///
/// [`codes`]: crate::codes
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("malformed transaction: {reason}")]
    Malformed { reason: String },
    #[error("transaction is {size} bytes, the limit is {limit}")]
    Oversized { size: usize, limit: usize },
    #[error("wrong chain id: expected {expected}, got {got}")]
    WrongChainId { expected: ChainId, got: ChainId },
    #[error("invalid signature")]
    BadSignature,
    #[error("the signatures do not authorise account {sender}: {reason}")]
    Unauthorised { sender: AccountId, reason: String },
    #[error("sender account {sender} is frozen")]
    SenderFrozen { sender: AccountId },
    #[error("nonce too low (already used): expected at least {expected}, got {got}")]
    NonceTooLow { expected: Nonce, got: Nonce },
    #[error("nonce too far ahead: expected {expected}, got {got}, window is {window}")]
    NonceTooFarAhead { expected: Nonce, got: Nonce, window: u64 },
    #[error("transaction expired at height {expiry_height}, current height is {current_height}")]
    Expired { expiry_height: Height, current_height: Height },
    #[error("insufficient balance: needed {needed}, available {available}")]
    InsufficientBalance { needed: Amount, available: Amount },
    #[error("unknown sender account {sender}")]
    UnknownSender { sender: AccountId },
    #[error("fee limit {fee_limit} is below the minimum fee {minimum}")]
    FeeTooLow { fee_limit: Amount, minimum: Amount },
    #[error("mempool is full ({capacity} transactions)")]
    MempoolFull { capacity: u64 },
    #[error("transaction {} is already pending", hash_to_hex(.hash))]
    Duplicate { hash: Hash },
    #[error("unavailable: {0}")]
    Unavailable(#[from] BackendError),
    #[error("gas limit {limit} is above the chain's limit of {max} per transaction")]
    GasLimitTooHigh { limit: u64, max: u64 },
}
