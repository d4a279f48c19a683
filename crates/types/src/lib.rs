//! The data of a Formica chain and its one canonical byte encoding.
//!
//! This crate owns identifiers ([`AccountId`], [`Hash`](type@Hash)), checked numeric newtypes ([`Amount`],
//! [`Height`], [`Nonce`], [`ChainId`]), [`Transaction`]s, [`Block`]s, [`Receipt`]s, account
//! state, contract records, events and gas parameters ([`ContractRecord`], [`ContractEvent`],
//! [`GasParameters`]), the operations and records of the built-in modules ([`AssetOp`],
//! [`AssetRecord`], [`Holding`], [`InvoiceOp`], [`RemittanceOp`], [`FinanceOp`], [`Receivable`], [`Part`], [`CharityOp`],
//! [`Campaign`], [`Donation`], [`Disbursement`], [`TraceOp`], [`Batch`], [`TraceEvent`] (with their keys in
//! [`traceability`]), [`NotaryOp`], [`Deposit`], [`Certificate`], ...)
//! and the genesis description.
//!
//! # Invariants
//! - Everything hashed, signed, sent or stored is encoded with `commonware-codec`, big-endian and
//!   length-prefixed, and every decoder takes limits ([`TransactionLimits`], [`BlockLimits`]) so a
//!   peer or client cannot make a node allocate without bound. Re-encoding a decoded value gives
//!   back the same bytes (tested).
//! - Every digest is domain-separated by a tag (`formica/<kind>/v1`) and every signature by a
//!   namespace ([`TRANSACTION_NAMESPACE`]); the chain id is inside each signed body, so a
//!   transaction for one chain is never valid on another.
//! - Arithmetic on money and heights is checked; overflow is an error, never a wrap.
//!
//! Changing any encoding here is a format change: the golden-hash tests fail on purpose, and the
//! change needs a migration note.

mod account;
mod assets;
mod block;
mod charity;
mod contract;
mod finance;
mod genesis;
mod governance;
mod invoices;
mod keys;
mod modules;
mod nodes;
mod notary;
mod primitives;
mod receipt;
mod remittance;
pub mod state;
pub mod traceability;
mod transaction;

pub use account::{ACCOUNT_KEYS_MAX, Account, AccountStatus};
pub use assets::{ASSET_DECIMALS_MAX, AssetOp, AssetRecord, Attestation, Holding, Symbol};
pub use block::{
    Block, BlockContext, BlockLimits, CONSENSUS_NAMESPACE_PREFIX, Header, consensus_namespace, merkle_path,
    merkle_root, receipts_root, transactions_root, verify_merkle_path,
};
pub use charity::{
    APPROVERS_MAX, BENEFICIARIES_MAX, Beneficiary, BeneficiaryName, BoundedText, Campaign, CampaignId, CampaignTerms,
    CharityOp, Disbursement, DisbursementProposal, Donation, Funded, ProposalStatus, Purpose, Span,
    TRACE_DISBURSEMENTS_MAX, campaign_escrow, funded_by, paid_before,
};
pub use contract::{
    CONTRACT_CODE_BYTES_MAX, CONTRACT_INPUT_BYTES_MAX, CONTRACT_METHOD_BYTES_MAX, ContractAdmin, ContractEvent,
    ContractRecord, EVENT_DATA_BYTES_MAX, EVENT_TOPICS_MAX, EVENTS_PER_TRANSACTION_MAX, GasParameters,
};
pub use finance::{
    Discount, FinanceOp, Part, PartStatus, RECEIVABLE_PARTS_MAX, Receivable, ReceivableInvoice, ReceivableReference,
    ReceivableTerms, SPLIT_PARTS_MAX, Share, receivable_id,
};
pub use genesis::{Genesis, GenesisAccount, GenesisError, GenesisOrganisation, GenesisRole, GenesisValidator};
pub use governance::{
    ApprovalRule, ConsensusTimeouts, GovernanceAction, GovernanceState, ORG_ADMINS_MAX, OrgId, OrgName, Organisation,
    Proposal,
};
pub use invoices::{InvoiceDocument, InvoiceNumber, InvoiceOp, InvoiceRecord, InvoiceStatus, InvoiceTerms};
pub use keys::{AccountKey, AccountSignature, KeyEntry, KeyScheme, PendingRecovery, RecoveryConfig, Role};
pub use modules::Module;
pub use nodes::{NODES_MAX, Node, NodeAddress, NodeRole, NodeSet, VALIDATORS_MAX};
pub use notary::{
    BatchProof, Certificate, CertificateKind, CertificateTitle, DOCUMENT_LEAF_TAG, Deposit, DepositKind, DepositLabel,
    NOTARY_BATCH_LEAVES_MAX, NOTARY_PATH_MAX, NotaryOp, NotaryText, Revocation, RevocationReason, certificate_id,
    document_leaf,
};
pub use primitives::{
    AccountId, Amount, ChainId, Hash, Height, Nonce, ParseError, PublicKey, Signature, hash_from_hex, hash_tagged,
    hash_to_hex, public_key_from_hex, public_key_to_hex,
};
pub use receipt::{FailureCode, Outcome, RECEIPT_MESSAGE_BYTES_MAX, Receipt};
pub use remittance::{
    BASIS_POINTS, CorridorId, CorridorRecord, CorridorTerms, DAY_MS, DailyUsage, FEE_RECIPIENTS_MAX, FeeShares, Quote,
    RATE_SCALE, RejectReason, RemittanceId, RemittanceOp, RemittanceRecord, RemittanceStatus, SanctionEntry,
    remittance_id,
};
pub use traceability::{
    Batch, BatchId, BatchKind, BatchTerms, ChildLink, ChildSpec, EventKind, Rules, TraceEvent, TraceOp, TraceText,
};
pub use transaction::{
    Payload, TRANSACTION_NAMESPACE, Transaction, TransactionBody, TransactionLimits, TransactionSignature,
};

#[cfg(test)]
mod tests;
