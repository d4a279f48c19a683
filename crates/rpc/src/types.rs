//! The JSON shapes of the API ("views").
//!
//! Conventions, so every client reads every field the same way:
//! - amounts, balances and fees are decimal strings (a `u128` does not fit a JSON number);
//! - heights, nonces, views, epochs, indexes and counts are JSON numbers;
//! - hashes, public keys and account ids are `0x`-prefixed lower-case hex.
//!
//! Views deserialize into typed values ([`Hash`](type@Hash), [`Amount`], ...) so Rust clients never parse
//! strings themselves.

use crate::backend::AccountDetails;
use crate::backend::{AccountProof, FINALITY_HEADERS_MAX, Finality, FinalizedBlock, Status, TransactionRecord};
use commonware_codec::Encode;
use formica_types::{
    Account, AccountId, AccountKey, AccountStatus, Amount, AssetOp, Block, ChainId, ConsensusTimeouts, CorridorId,
    FinanceOp, GovernanceAction, Hash, Height, InvoiceNumber, InvoiceOp, KeyEntry, Nonce, OrgId, OrgName, Outcome,
    Payload, PendingRecovery, PublicKey, Receipt, RecoveryConfig, RemittanceOp, Role, Symbol, Transaction,
};
use formica_types::{BatchId, BatchKind, EventKind, TraceOp, TraceText};
use serde::{Deserialize, Serialize};

/// What a transaction does, tagged by `type`. Account keys are `scheme:0xhex` (`ed25519`,
/// `sm2`, `secp256k1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PayloadView {
    Transfer {
        to: AccountId,
        #[serde(with = "codec::amount")]
        amount: Amount,
    },
    CreateAccount {
        public_key: AccountKey,
        #[serde(with = "codec::amount")]
        initial_balance: Amount,
    },
    AddKey {
        key: AccountKey,
        weight: u16,
    },
    RemoveKey {
        key: AccountKey,
    },
    SetKeyWeight {
        key: AccountKey,
        weight: u16,
    },
    SetThreshold {
        threshold: u16,
    },
    SetRecovery {
        key: AccountKey,
        delay_blocks: u32,
    },
    RemoveRecovery,
    StartRecovery {
        new_key: AccountKey,
    },
    CancelRecovery,
    CompleteRecovery,
    Freeze {
        account: AccountId,
    },
    Unfreeze {
        account: AccountId,
    },
    Propose {
        action: Box<GovernanceAction>,
        expiry_blocks: u32,
    },
    Approve {
        proposal: u64,
    },
    /// The module itself is not repeated: its hash and size name it.
    Deploy {
        code_hash: String,
        code_bytes: u32,
        /// `0x` hex of the constructor's input.
        input: String,
        admin: formica_types::ContractAdmin,
        #[serde(with = "codec::amount")]
        value: Amount,
        gas_limit: u64,
    },
    Call {
        contract: AccountId,
        method: String,
        /// `0x` hex.
        input: String,
        #[serde(with = "codec::amount")]
        value: Amount,
        gas_limit: u64,
    },
    Upgrade {
        contract: AccountId,
        code_hash: String,
        code_bytes: u32,
        gas_limit: u64,
    },
    SetContractFrozen {
        contract: AccountId,
        frozen: bool,
    },
    /// An operation of the assets module.
    Asset(AssetOpView),
    /// An operation of the remittance module.
    Remittance(RemittanceOpView),
    /// An operation of the invoices module.
    Invoice(InvoiceOpView),
    /// An operation of the supply-chain finance module.
    Finance(FinanceOpView),
    /// An operation of the charity tracking module.
    Charity(crate::charity::CharityOpView),
    /// An operation of the product traceability module.
    Trace(TraceOpView),
    /// An operation of the notary module.
    Notary(crate::notary::NotaryOpView),
}

/// An asset operation, tagged by `operation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum AssetOpView {
    Define {
        symbol: Symbol,
        decimals: u8,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "codec::option_amount")]
        cap: Option<Amount>,
        allow_list: bool,
    },
    Attest {
        symbol: Symbol,
        #[serde(with = "codec::amount")]
        reserves: Amount,
        #[serde(with = "codec::hash")]
        reference: Hash,
    },
    Mint {
        symbol: Symbol,
        to: AccountId,
        #[serde(with = "codec::amount")]
        amount: Amount,
    },
    Burn {
        symbol: Symbol,
        #[serde(with = "codec::amount")]
        amount: Amount,
    },
    Transfer {
        symbol: Symbol,
        to: AccountId,
        #[serde(with = "codec::amount")]
        amount: Amount,
    },
    SetPaused {
        symbol: Symbol,
        paused: bool,
    },
    SetHoldingFrozen {
        symbol: Symbol,
        account: AccountId,
        frozen: bool,
    },
    SetAllowed {
        symbol: Symbol,
        account: AccountId,
        allowed: bool,
    },
}

impl From<AssetOp> for AssetOpView {
    fn from(op: AssetOp) -> Self {
        match op {
            AssetOp::Define { symbol, decimals, cap, allow_list } => Self::Define { symbol, decimals, cap, allow_list },
            AssetOp::Attest { symbol, reserves, reference } => Self::Attest { symbol, reserves, reference },
            AssetOp::Mint { symbol, to, amount } => Self::Mint { symbol, to, amount },
            AssetOp::Burn { symbol, amount } => Self::Burn { symbol, amount },
            AssetOp::Transfer { symbol, to, amount } => Self::Transfer { symbol, to, amount },
            AssetOp::SetPaused { symbol, paused } => Self::SetPaused { symbol, paused },
            AssetOp::SetHoldingFrozen { symbol, account, frozen } => Self::SetHoldingFrozen { symbol, account, frozen },
            AssetOp::SetAllowed { symbol, account, allowed } => Self::SetAllowed { symbol, account, allowed },
        }
    }
}

/// An invoice operation, tagged by `operation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum InvoiceOpView {
    Issue {
        number: InvoiceNumber,
        buyer: AccountId,
        currency: Symbol,
        #[serde(with = "codec::amount")]
        amount: Amount,
        #[serde(with = "codec::amount")]
        tax: Amount,
        #[serde(with = "codec::hash")]
        seller_tax_id: Hash,
        #[serde(with = "codec::hash")]
        buyer_tax_id: Hash,
        due_ms: u64,
        #[serde(with = "codec::hash")]
        document: Hash,
    },
    Accept {
        seller: AccountId,
        number: InvoiceNumber,
    },
    Offer {
        number: InvoiceNumber,
        financier: AccountId,
        #[serde(with = "codec::amount")]
        advance: Amount,
    },
    Finance {
        seller: AccountId,
        number: InvoiceNumber,
    },
    Pay {
        seller: AccountId,
        number: InvoiceNumber,
    },
    Cancel {
        number: InvoiceNumber,
    },
}

impl From<InvoiceOp> for InvoiceOpView {
    fn from(op: InvoiceOp) -> Self {
        match op {
            InvoiceOp::Issue(terms) => Self::Issue {
                number: terms.number,
                buyer: terms.buyer,
                currency: terms.currency,
                amount: terms.amount,
                tax: terms.tax,
                seller_tax_id: terms.seller_tax_id,
                buyer_tax_id: terms.buyer_tax_id,
                due_ms: terms.due_ms,
                document: terms.document,
            },
            InvoiceOp::Accept { seller, number } => Self::Accept { seller, number },
            InvoiceOp::Offer { number, financier, advance } => Self::Offer { number, financier, advance },
            InvoiceOp::Finance { seller, number } => Self::Finance { seller, number },
            InvoiceOp::Pay { seller, number } => Self::Pay { seller, number },
            InvoiceOp::Cancel { number } => Self::Cancel { number },
        }
    }
}

/// A remittance operation, tagged by `operation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum RemittanceOpView {
    DefineCorridor(crate::remittance::CorridorTermsView),
    SetCorridorActive {
        corridor: CorridorId,
        active: bool,
    },
    SetLimits {
        corridor: CorridorId,
        #[serde(with = "codec::amount")]
        per_transfer_max: Amount,
        #[serde(with = "codec::amount")]
        daily_max: Amount,
    },
    SetSanctioned {
        corridor: CorridorId,
        account: AccountId,
        sanctioned: bool,
    },
    Request {
        corridor: CorridorId,
        reference: u64,
        /// The remittance's id, `0x` hex.
        #[serde(with = "codec::hash")]
        id: Hash,
        sender: AccountId,
        recipient: AccountId,
        #[serde(with = "codec::amount")]
        amount: Amount,
    },
    Quote {
        #[serde(with = "codec::hash")]
        id: Hash,
        /// Destination units per 10^8 source units.
        #[serde(with = "codec::amount")]
        rate: Amount,
        expires_ms: u64,
    },
    Accept {
        #[serde(with = "codec::hash")]
        id: Hash,
    },
    Refund {
        #[serde(with = "codec::hash")]
        id: Hash,
    },
}

impl RemittanceOpView {
    /// The view of `op` sent by `sender` (a request's id depends on its sender).
    fn new(sender: &AccountId, op: RemittanceOp) -> Self {
        match op {
            RemittanceOp::DefineCorridor(terms) => Self::DefineCorridor(terms.into()),
            RemittanceOp::SetCorridorActive { corridor, active } => Self::SetCorridorActive { corridor, active },
            RemittanceOp::SetLimits { corridor, per_transfer_max, daily_max } => {
                Self::SetLimits { corridor, per_transfer_max, daily_max }
            }
            RemittanceOp::SetSanctioned { corridor, account, sanctioned } => {
                Self::SetSanctioned { corridor, account, sanctioned }
            }
            RemittanceOp::Request { corridor, reference, sender: payer, recipient, amount } => Self::Request {
                corridor,
                reference,
                id: formica_types::remittance_id(sender, reference),
                sender: payer,
                recipient,
                amount,
            },
            RemittanceOp::Quote { id, rate, expires_ms } => Self::Quote { id, rate: Amount(rate), expires_ms },
            RemittanceOp::Accept { id } => Self::Accept { id },
            RemittanceOp::Refund { id } => Self::Refund { id },
        }
    }
}

/// A finance operation, tagged by `operation`; receivables are named by id (`0x` hex), except
/// in an acknowledgement, whose id is derived from its sender (the debtor) and its reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum FinanceOpView {
    Acknowledge {
        reference: InvoiceNumber,
        supplier: AccountId,
        currency: Symbol,
        #[serde(with = "codec::amount")]
        amount: Amount,
        maturity_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invoice: Option<InvoiceNumber>,
    },
    Split {
        #[serde(with = "codec::hash")]
        receivable: Hash,
        part: u16,
        shares: Vec<ShareView>,
    },
    Transfer {
        #[serde(with = "codec::hash")]
        receivable: Hash,
        part: u16,
        to: AccountId,
    },
    Offer {
        #[serde(with = "codec::hash")]
        receivable: Hash,
        part: u16,
        bank: AccountId,
        #[serde(with = "codec::amount")]
        price: Amount,
    },
    Finance {
        #[serde(with = "codec::hash")]
        receivable: Hash,
        part: u16,
    },
    Settle {
        #[serde(with = "codec::hash")]
        receivable: Hash,
        part: u16,
    },
}

/// One new part of a split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareView {
    pub holder: AccountId,
    #[serde(with = "codec::amount")]
    pub amount: Amount,
}

impl From<FinanceOp> for FinanceOpView {
    fn from(op: FinanceOp) -> Self {
        match op {
            FinanceOp::Acknowledge(terms) => Self::Acknowledge {
                reference: terms.reference,
                supplier: terms.supplier,
                currency: terms.currency,
                amount: terms.amount,
                maturity_ms: terms.maturity_ms,
                invoice: terms.invoice,
            },
            FinanceOp::Split { receivable, part, shares } => Self::Split {
                receivable,
                part,
                shares: shares
                    .into_iter()
                    .map(|share| ShareView { holder: share.holder, amount: share.amount })
                    .collect(),
            },
            FinanceOp::Transfer { receivable, part, to } => Self::Transfer { receivable, part, to },
            FinanceOp::Offer { receivable, part, bank, price } => Self::Offer { receivable, part, bank, price },
            FinanceOp::Finance { receivable, part } => Self::Finance { receivable, part },
            FinanceOp::Settle { receivable, part } => Self::Settle { receivable, part },
        }
    }
}

/// A traceability operation, tagged by `operation`; batches are named by owner and id (a
/// registration's and a rules change's owner is the sender).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum TraceOpView {
    Register {
        id: BatchId,
        product: TraceText,
        origin: TraceText,
        #[serde(with = "codec::hash")]
        attributes: Hash,
        #[serde(with = "codec::hash")]
        documents: Hash,
        rules: crate::traceability::RulesView,
    },
    Append {
        owner: AccountId,
        id: BatchId,
        kind: EventKind,
        location: TraceText,
        #[serde(with = "codec::hash")]
        evidence: Hash,
    },
    Split {
        owner: AccountId,
        id: BatchId,
        children: Vec<ChildView>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rules: Option<crate::traceability::RulesView>,
    },
    SetRules {
        id: BatchId,
        rules: crate::traceability::RulesView,
    },
}

/// One new batch or item of a split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildView {
    pub id: BatchId,
    pub kind: BatchKind,
    #[serde(with = "codec::hash")]
    pub attributes: Hash,
}

impl From<TraceOp> for TraceOpView {
    fn from(op: TraceOp) -> Self {
        match op {
            TraceOp::Register(terms) => Self::Register {
                id: terms.id,
                product: terms.product,
                origin: terms.origin,
                attributes: terms.attributes,
                documents: terms.documents,
                rules: (&terms.rules).into(),
            },
            TraceOp::Append { owner, id, kind, location, evidence } => {
                Self::Append { owner, id, kind, location, evidence }
            }
            TraceOp::Split { owner, id, children, rules } => Self::Split {
                owner,
                id,
                children: children
                    .into_iter()
                    .map(|child| ChildView { id: child.id, kind: child.kind, attributes: child.attributes })
                    .collect(),
                rules: rules.as_ref().map(Into::into),
            },
            TraceOp::SetRules { id, rules } => Self::SetRules { id, rules: (&rules).into() },
        }
    }
}

/// SHA-256 of a module, `0x` hex, and its size.
fn code_summary(code: &[u8]) -> (String, u32) {
    let size = u32::try_from(code.len()).expect("modules are bounded by the decoder");
    (codec::to_hex(&formica_crypto::sha256(code)), size)
}

impl PayloadView {
    /// The view of `payload` sent by `sender` (a remittance request's id depends on it).
    pub fn new(sender: &AccountId, payload: &Payload) -> Self {
        match payload.clone() {
            Payload::Transfer { to, amount } => Self::Transfer { to, amount },
            Payload::CreateAccount { public_key, initial_balance } => {
                Self::CreateAccount { public_key, initial_balance }
            }
            Payload::AddKey { key, weight } => Self::AddKey { key, weight },
            Payload::RemoveKey { key } => Self::RemoveKey { key },
            Payload::SetKeyWeight { key, weight } => Self::SetKeyWeight { key, weight },
            Payload::SetThreshold { threshold } => Self::SetThreshold { threshold },
            Payload::SetRecovery { key, delay_blocks } => Self::SetRecovery { key, delay_blocks },
            Payload::RemoveRecovery => Self::RemoveRecovery,
            Payload::StartRecovery { new_key } => Self::StartRecovery { new_key },
            Payload::CancelRecovery => Self::CancelRecovery,
            Payload::CompleteRecovery => Self::CompleteRecovery,
            Payload::Freeze { account } => Self::Freeze { account },
            Payload::Unfreeze { account } => Self::Unfreeze { account },
            Payload::Propose { action, expiry_blocks } => Self::Propose { action, expiry_blocks },
            Payload::Approve { proposal } => Self::Approve { proposal },
            Payload::Deploy { code, input, admin, value, gas_limit } => {
                let (code_hash, code_bytes) = code_summary(&code);
                Self::Deploy { code_hash, code_bytes, input: codec::to_hex(&input), admin, value, gas_limit }
            }
            Payload::Call { contract, method, input, value, gas_limit } => {
                Self::Call { contract, method, input: codec::to_hex(&input), value, gas_limit }
            }
            Payload::Upgrade { contract, code, gas_limit } => {
                let (code_hash, code_bytes) = code_summary(&code);
                Self::Upgrade { contract, code_hash, code_bytes, gas_limit }
            }
            Payload::SetContractFrozen { contract, frozen } => Self::SetContractFrozen { contract, frozen },
            Payload::Asset(op) => Self::Asset(op.into()),
            Payload::Remittance(op) => Self::Remittance(RemittanceOpView::new(sender, op)),
            Payload::Invoice(op) => Self::Invoice(op.into()),
            Payload::Finance(op) => Self::Finance(op.into()),
            Payload::Charity(op) => Self::Charity(op.into()),
            Payload::Trace(op) => Self::Trace((*op).into()),
            Payload::Notary(op) => Self::Notary(op.into()),
        }
    }
}

/// What became of one transaction of `formica_sendTransactions`: its hash if the node admitted
/// it, otherwise the error `formica_sendTransaction` would have returned for it (the same code,
/// message and `data`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmitOutcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SubmitRefusal>,
}

/// A refused transaction's JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmitRefusal {
    pub code: i32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl SubmitOutcome {
    pub fn admitted(hash: &formica_types::Hash) -> Self {
        Self { hash: Some(formica_types::hash_to_hex(hash)), error: None }
    }

    pub fn refused(error: &crate::SubmitError) -> Self {
        Self {
            hash: None,
            error: Some(SubmitRefusal { code: error.code(), message: error.to_string(), data: error.data() }),
        }
    }
}

/// A transaction, and where it was finalized if it has been.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionView {
    #[serde(with = "codec::hash")]
    pub hash: Hash,
    pub chain_id: ChainId,
    pub sender: AccountId,
    pub nonce: Nonce,
    pub expiry_height: Height,
    #[serde(with = "codec::amount")]
    pub fee_limit: Amount,
    pub payload: PayloadView,
    /// The account keys that signed it.
    pub signatures: Vec<AccountKey>,
    /// Set once the transaction is in a finalized block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_height: Option<Height>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "codec::optional_hash")]
    pub block_hash: Option<Hash>,
    /// Position in the block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

impl TransactionView {
    /// A transaction not (yet) in a finalized block.
    pub fn pending(transaction: &Transaction) -> Self {
        let body = &transaction.body;
        Self {
            hash: transaction.hash(),
            chain_id: body.chain_id,
            sender: body.sender,
            nonce: body.nonce,
            expiry_height: body.expiry_height,
            fee_limit: body.fee_limit,
            payload: PayloadView::new(&body.sender, &body.payload),
            signatures: transaction.signatures.iter().map(|entry| entry.public_key).collect(),
            block_height: None,
            block_hash: None,
            index: None,
        }
    }

    /// Whether the transaction is in a finalized block.
    pub fn is_final(&self) -> bool {
        self.block_height.is_some()
    }
}

impl From<&TransactionRecord> for TransactionView {
    fn from(record: &TransactionRecord) -> Self {
        Self {
            block_height: Some(record.block_height),
            block_hash: Some(record.block_hash),
            index: Some(record.index),
            ..Self::pending(&record.transaction)
        }
    }
}

/// Whether a finalized transaction took effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    Success,
    Failure,
}

/// The outcome of a finalized transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    #[serde(with = "codec::hash")]
    pub transaction_hash: Hash,
    pub block_height: Height,
    #[serde(with = "codec::hash")]
    pub block_hash: Hash,
    pub index: u32,
    pub status: ReceiptStatus,
    /// A [`formica_types::FailureCode`] when `status` is `failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(with = "codec::amount")]
    pub fee_paid: Amount,
    /// Gas a contract payload used (zero for other payloads).
    #[serde(default)]
    pub gas_used: u64,
    /// Events of a successful contract payload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<crate::contracts::EventView>,
}

impl ReceiptView {
    /// The view of `receipt`, the `index`-th of the block `block_hash` at `block_height`.
    pub fn new(receipt: &Receipt, block_height: Height, block_hash: Hash, index: u32) -> Self {
        let (status, failure_code, failure_message) = match &receipt.outcome {
            Outcome::Success => (ReceiptStatus::Success, None, None),
            Outcome::Failure { code, message } => (ReceiptStatus::Failure, Some(*code as u16), Some(message.clone())),
        };
        Self {
            transaction_hash: receipt.transaction_hash,
            block_height,
            block_hash,
            index,
            status,
            failure_code,
            failure_message,
            fee_paid: receipt.fee_paid,
            gas_used: receipt.gas_used,
            events: receipt.events.iter().map(crate::contracts::EventView::from).collect(),
        }
    }

    /// The receipt of a transaction found in the index.
    pub fn from_record(record: &TransactionRecord) -> Self {
        Self::new(&record.receipt, record.block_height, record.block_hash, record.index)
    }

    /// The receipt of `transaction_hash` if `block` carries it.
    pub fn find_in(block: &FinalizedBlock, transaction_hash: &Hash) -> Option<Self> {
        let index = block.receipts.iter().position(|receipt| &receipt.transaction_hash == transaction_hash)?;
        let index_u32 = u32::try_from(index).expect("a block holds far fewer than 2^32 transactions");
        Some(Self::new(&block.receipts[index], block.block.header.height, block.block.hash(), index_u32))
    }

    /// Whether the transaction took effect.
    pub fn succeeded(&self) -> bool {
        self.status == ReceiptStatus::Success
    }
}

/// A block header, its digest and the hashes of its transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// The block digest: the tagged SHA-256 of `header_hex`'s bytes.
    #[serde(with = "codec::hash")]
    pub hash: Hash,
    #[serde(with = "codec::hash")]
    pub parent: Hash,
    pub height: Height,
    pub view: u64,
    pub epoch: u64,
    #[serde(with = "codec::public_key")]
    pub leader: PublicKey,
    pub timestamp_ms: u64,
    #[serde(with = "codec::hash")]
    pub transactions_root: Hash,
    #[serde(with = "codec::hash")]
    pub state_root: Hash,
    #[serde(with = "codec::hash")]
    pub receipts_root: Hash,
    pub transaction_count: u32,
    #[serde(with = "codec::hashes")]
    pub transactions: Vec<Hash>,
    /// `0x` hex of the canonical header encoding, so clients can recompute `hash`.
    pub header_hex: String,
}

impl From<&Block> for BlockView {
    fn from(block: &Block) -> Self {
        let header = &block.header;
        Self {
            hash: block.hash(),
            parent: header.parent,
            height: header.height,
            view: header.view(),
            epoch: header.context.round.epoch().get(),
            leader: header.context.leader.clone(),
            timestamp_ms: header.timestamp_ms,
            transactions_root: header.transactions_root,
            state_root: header.state_root,
            receipts_root: header.receipts_root,
            transaction_count: u32::try_from(block.transactions.len())
                .expect("a decoded block holds far fewer than 2^32 transactions"),
            transactions: block.transactions.iter().map(Transaction::hash).collect(),
            header_hex: codec::to_hex(&header.encode()),
        }
    }
}

/// An account as of a finalized height: balance, nonce, its whole key set, recovery and roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: AccountId,
    /// The nonce the account's next transaction must carry.
    pub nonce: Nonce,
    #[serde(with = "codec::amount")]
    pub balance: Amount,
    pub status: AccountStatus,
    /// The signing keys and their weights.
    pub keys: Vec<KeyEntry>,
    /// The signature weight a transaction needs.
    pub threshold: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_recovery: Option<PendingRecovery>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// The finalized height this state is from.
    pub height: Height,
}

impl AccountView {
    /// The view of an account (whose id is `id`) at `height`.
    pub fn new(id: AccountId, details: &AccountDetails, height: Height) -> Self {
        let account = &details.account;
        Self {
            id,
            nonce: account.nonce,
            balance: account.balance,
            status: account.status(),
            keys: details.keys.clone(),
            threshold: account.threshold,
            recovery: details.recovery,
            pending_recovery: details.pending_recovery,
            roles: details.roles.clone(),
            height,
        }
    }
}

/// The account record itself, exactly as the state holds it: what an account proof proves.
/// Keys beyond the first live in records of their own and are not covered by the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecordView {
    pub nonce: Nonce,
    #[serde(with = "codec::amount")]
    pub balance: Amount,
    pub status: AccountStatus,
    pub first_key: KeyEntry,
    pub key_count: u8,
    pub threshold: u16,
    pub has_recovery: bool,
}

impl From<&Account> for AccountRecordView {
    fn from(account: &Account) -> Self {
        Self {
            nonce: account.nonce,
            balance: account.balance,
            status: account.status(),
            first_key: account.first_key,
            key_count: account.key_count,
            threshold: account.threshold,
            has_recovery: account.has_recovery,
        }
    }
}

/// An account record (or its absence) with a proof against a finalized state root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProofView {
    pub account_id: AccountId,
    /// The decoded record, for reading.
    pub account: Option<AccountRecordView>,
    /// `0x` hex of the encoded record: what the proof is checked against. A client decodes it
    /// and compares it with `account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    pub height: Height,
    #[serde(with = "codec::hash")]
    pub block_hash: Hash,
    #[serde(with = "codec::hash")]
    pub state_root: Hash,
    /// `0x` hex of the proof bytes; their format belongs to `formica-state`.
    pub proof: String,
}

impl From<&AccountProof> for AccountProofView {
    fn from(proof: &AccountProof) -> Self {
        Self {
            account_id: proof.account_id,
            account: proof.account.as_ref().map(AccountRecordView::from),
            record: proof.account.as_ref().map(|account| codec::to_hex(&account.encode())),
            height: proof.height,
            block_hash: proof.block_hash,
            state_root: proof.state_root,
            proof: codec::to_hex(&proof.proof),
        }
    }
}

/// A member organisation (or a removed one: `active` is false).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationView {
    pub id: OrgId,
    pub name: OrgName,
    pub active: bool,
    pub admins: Vec<AccountId>,
    /// How many admins must approve for the organisation to approve.
    pub admin_threshold: u8,
    pub height: Height,
}

/// A governance proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalView {
    pub id: u64,
    pub proposer: OrgId,
    pub action: GovernanceAction,
    pub created_at: Height,
    pub expires_at: Height,
    /// Member organisations that approved it so far.
    pub approvals: u32,
    /// `open`, `executed` or `expired`.
    pub status: String,
    pub height: Height,
}

/// The governance summary: members, counters, policies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceView {
    /// Active member organisations.
    pub members: u32,
    /// Organisation ids run from 1 to `next_org - 1`.
    pub next_org: OrgId,
    /// Proposal ids run from 0 to `next_proposal - 1`.
    pub next_proposal: u64,
    pub account_creation_members_only: bool,
    /// The fee every transaction pays now.
    #[serde(with = "codec::amount")]
    pub fee: Amount,
    /// A proposal passes when more than `numerator / denominator` of the members approve it.
    pub approval_numerator: u32,
    pub approval_denominator: u32,
    /// The most transactions a block may carry now.
    pub block_transactions: u32,
    /// Whether reading and submitting over RPC is limited to member organisations.
    pub api_members_only: bool,
    /// The consensus timeouts of the current epoch.
    pub epoch_timeouts: ConsensusTimeouts,
    /// The consensus timeouts voted for, in effect from the next epoch boundary.
    pub timeouts: ConsensusTimeouts,
    pub height: Height,
}

/// What a node reports about itself and the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub chain_id: ChainId,
    /// The latest finalized height.
    pub height: Height,
    #[serde(with = "codec::hash")]
    pub block_hash: Hash,
    #[serde(with = "codec::hash")]
    pub state_root: Hash,
    pub peers: u32,
    /// The consensus epoch the node is in; `validators` is its committee.
    #[serde(default)]
    pub epoch: u64,
    #[serde(with = "codec::public_keys")]
    pub validators: Vec<PublicKey>,
    pub mempool_size: u64,
    #[serde(with = "codec::public_key")]
    pub node_public_key: PublicKey,
}

impl From<&Status> for StatusView {
    fn from(status: &Status) -> Self {
        Self {
            chain_id: status.chain_id,
            height: status.height,
            block_hash: status.block_hash,
            state_root: status.state_root,
            peers: status.peers,
            epoch: status.epoch,
            validators: status.validators.clone(),
            mempool_size: status.mempool_size,
            node_public_key: status.node_public_key.clone(),
        }
    }
}

/// What proves a finalized block final (`formica_getFinality`; see [`Finality`]): the headers
/// from the block to the first descendant with its own finalization certificate (usually the
/// block itself), that certificate, and the committee of the epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalityView {
    pub height: Height,
    #[serde(with = "codec::hash")]
    pub block_hash: Hash,
    /// The consensus epoch of the block and of the certificate.
    pub epoch: u64,
    /// The height of the block the certificate is of (`height` unless the block was finalized
    /// through a descendant).
    pub certified_height: Height,
    /// `0x` hex of the encoded simplex finalization certificate (proposal and signatures).
    pub certificate: String,
    /// `0x` hex of the canonical header encodings, from `height` to `certified_height`.
    pub headers: Vec<String>,
    /// The committee of `epoch` as this node knows it; a client checks against its own.
    #[serde(with = "codec::public_keys")]
    pub validators: Vec<PublicKey>,
}

impl formica_verify::ProvesFinality for FinalityView {
    fn block_hash(&self) -> Hash {
        self.block_hash
    }
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn certificate(&self) -> &str {
        &self.certificate
    }
}

impl FinalityView {
    /// The view of a backend's answer; `None` if it breaks the shape [`Finality`] promises.
    pub fn new(finality: &Finality) -> Option<Self> {
        let (first, last) = (finality.headers.first()?, finality.headers.last()?);
        if finality.headers.len() > FINALITY_HEADERS_MAX {
            return None;
        }
        Some(Self {
            height: first.height,
            block_hash: first.digest(),
            epoch: finality.epoch,
            certified_height: last.height,
            certificate: codec::to_hex(&finality.certificate),
            headers: finality.headers.iter().map(|header| codec::to_hex(&header.encode())).collect(),
            validators: finality.validators.clone(),
        })
    }
}

/// The body of `GET /health` (and of `formica_health`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    /// Always `"ok"`: an unhealthy node answers with an error (HTTP 500 on `/health`).
    pub status: String,
    pub height: Height,
}

/// Serde adapters between typed values and the JSON conventions above.
pub mod codec {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// `0x` hex of `bytes`.
    pub fn to_hex(bytes: &[u8]) -> String {
        format!("0x{}", hex::encode(bytes))
    }

    /// Bytes from hex, with or without `0x`.
    pub fn from_hex(text: &str) -> Result<Vec<u8>, hex::FromHexError> {
        hex::decode(text.strip_prefix("0x").unwrap_or(text))
    }

    /// [`formica_types::Amount`] as a decimal string.
    pub mod amount {
        use super::*;
        use formica_types::Amount;

        pub fn serialize<S: Serializer>(amount: &Amount, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(&amount.get())
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
            let text = String::deserialize(deserializer)?;
            text.parse::<u128>().map(Amount).map_err(|error| D::Error::custom(format!("amount {text:?}: {error}")))
        }
    }

    /// `Option<Amount>` as a decimal string or null.
    pub mod option_amount {
        use super::*;
        use formica_types::Amount;

        pub fn serialize<S: Serializer>(amount: &Option<Amount>, serializer: S) -> Result<S::Ok, S::Error> {
            match amount {
                Some(amount) => serializer.collect_str(&amount.get()),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Amount>, D::Error> {
            let text = Option::<String>::deserialize(deserializer)?;
            text.map(|text| {
                text.parse::<u128>().map(Amount).map_err(|error| D::Error::custom(format!("amount {text:?}: {error}")))
            })
            .transpose()
        }
    }

    /// [`formica_types::Hash`] as `0x` hex.
    pub mod hash {
        use super::*;
        use formica_types::{Hash, hash_from_hex, hash_to_hex};

        pub fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&hash_to_hex(hash))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
            let text = String::deserialize(deserializer)?;
            hash_from_hex(&text).map_err(|error| D::Error::custom(format!("hash {text:?}: {error}")))
        }
    }

    /// `Option<Hash>` as `0x` hex or null.
    pub mod optional_hash {
        use super::*;
        use formica_types::Hash;

        pub fn serialize<S: Serializer>(hash: &Option<Hash>, serializer: S) -> Result<S::Ok, S::Error> {
            match hash {
                Some(hash) => super::hash::serialize(hash, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Hash>, D::Error> {
            let text = Option::<String>::deserialize(deserializer)?;
            text.map(|text| {
                formica_types::hash_from_hex(&text).map_err(|error| D::Error::custom(format!("hash {text:?}: {error}")))
            })
            .transpose()
        }
    }

    /// `Vec<Hash>` as a list of `0x` hex.
    pub mod hashes {
        use super::*;
        use formica_types::{Hash, hash_from_hex, hash_to_hex};

        pub fn serialize<S: Serializer>(hashes: &[Hash], serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(hashes.iter().map(hash_to_hex))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Hash>, D::Error> {
            let texts = Vec::<String>::deserialize(deserializer)?;
            texts
                .iter()
                .map(|text| hash_from_hex(text).map_err(|error| D::Error::custom(format!("hash {text:?}: {error}"))))
                .collect()
        }
    }

    /// [`formica_types::PublicKey`] as `0x` hex.
    pub mod public_key {
        use super::*;
        use formica_types::{PublicKey, public_key_from_hex, public_key_to_hex};

        pub fn serialize<S: Serializer>(key: &PublicKey, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&public_key_to_hex(key))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
            let text = String::deserialize(deserializer)?;
            public_key_from_hex(&text).map_err(|error| D::Error::custom(format!("public key {text:?}: {error}")))
        }
    }

    /// `Vec<PublicKey>` as a list of `0x` hex.
    pub mod public_keys {
        use super::*;
        use formica_types::{PublicKey, public_key_from_hex, public_key_to_hex};

        pub fn serialize<S: Serializer>(keys: &[PublicKey], serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(keys.iter().map(public_key_to_hex))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<PublicKey>, D::Error> {
            let texts = Vec::<String>::deserialize(deserializer)?;
            texts
                .iter()
                .map(|text| {
                    public_key_from_hex(text).map_err(|error| D::Error::custom(format!("public key {text:?}: {error}")))
                })
                .collect()
        }
    }
}
