//! The API trait. jsonrpsee's macro turns it into [`FormicaApiServer`] (implemented by the
//! server over a [`Backend`](crate::Backend)) and [`FormicaApiClient`] (implemented for every
//! jsonrpsee HTTP and WebSocket client), so both sides share one definition of every wire name.

use crate::assets::{AssetView, AttestationView, HoldingView};
use crate::charity::{CampaignView, DisbursementProposalView, DisbursementView, DonationTraceView, DonationView};
use crate::contracts::{ContractView, EventFilter, EventNotification, GasView, QueryView};
use crate::finance::{PartView, ReceivableView};
use crate::invoices::InvoiceView;
use crate::notary::{BatchProofView, CertificateView, DepositView, VerificationView};
use crate::remittance::{CorridorView, RemittanceView, SanctionView};
use crate::traceability::TraceBatchView;
use crate::types::{
    AccountProofView, AccountView, BlockView, FinalityView, GovernanceView, HealthView, OrganisationView, ProposalView,
    ReceiptView, StatusView, SubmitOutcome, TransactionView,
};
use formica_verify::RecordBundle;
use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;

/// Wire names are `formica_<name>`, e.g. `formica_sendTransaction`. Methods marked
/// `with_extensions` are subject to the chain's access policy ([`crate::access`]); `status` and
/// `health` are always open.
#[rpc(server, client, namespace = "formica")]
pub trait FormicaApi {
    /// Submits `0x` hex of a canonically encoded [`formica_types::Transaction`]; returns its hash.
    #[method(name = "sendTransaction", with_extensions)]
    async fn send_transaction(&self, transaction: String) -> RpcResult<String>;

    /// Submits up to [`crate::SEND_TRANSACTIONS_MAX`] transactions (each as for
    /// `sendTransaction`) in one call; their signatures are checked together in one batch, which
    /// costs a node about a third of checking them one by one. One outcome per transaction, in
    /// order: its hash, or the error `sendTransaction` would have returned for it. Each is
    /// decided as if submitted alone in that order.
    #[method(name = "sendTransactions", with_extensions)]
    async fn send_transactions(&self, transactions: Vec<String>) -> RpcResult<Vec<SubmitOutcome>>;

    /// A finalized or pending transaction by hash (`null` if the node knows neither).
    #[method(name = "getTransaction", with_extensions)]
    async fn get_transaction(&self, hash: String) -> RpcResult<Option<TransactionView>>;

    /// The receipt of a finalized transaction (`null` until it is final).
    #[method(name = "getTransactionReceipt", with_extensions)]
    async fn get_transaction_receipt(&self, hash: String) -> RpcResult<Option<ReceiptView>>;

    #[method(name = "getBlockByHeight", with_extensions)]
    async fn get_block_by_height(&self, height: u64) -> RpcResult<Option<BlockView>>;

    #[method(name = "getBlockByHash", with_extensions)]
    async fn get_block_by_hash(&self, hash: String) -> RpcResult<Option<BlockView>>;

    /// An account as of the latest finalized block.
    #[method(name = "getAccount", with_extensions)]
    async fn get_account(&self, id: String) -> RpcResult<Option<AccountView>>;

    /// An account (or its absence) with a proof against the latest finalized state root.
    #[method(name = "getAccountProof", with_extensions)]
    async fn get_account_proof(&self, id: String) -> RpcResult<AccountProofView>;

    /// What proves the finalized block at `height` final: its finalization certificate (or a
    /// descendant's, with the headers linking them) and its epoch's committee (`null` if no block
    /// at `height` is finalized yet).
    #[method(name = "getFinality", with_extensions)]
    async fn get_finality(&self, height: u64) -> RpcResult<Option<FinalityView>>;

    /// Governance as of the latest finalized block: members, counters, policies.
    #[method(name = "getGovernance", with_extensions)]
    async fn get_governance(&self) -> RpcResult<GovernanceView>;

    /// A member organisation by id (`null` if no organisation ever had it).
    #[method(name = "getOrganisation", with_extensions)]
    async fn get_organisation(&self, id: u32) -> RpcResult<Option<OrganisationView>>;

    /// A governance proposal by id (`null` if there is none).
    #[method(name = "getProposal", with_extensions)]
    async fn get_proposal(&self, id: u64) -> RpcResult<Option<ProposalView>>;

    /// The gas price and the gas limits of a transaction and of a block.
    #[method(name = "getGasParameters", with_extensions)]
    async fn get_gas_parameters(&self) -> RpcResult<GasView>;

    /// A deployed contract (`null` if there is none at the address).
    #[method(name = "getContract", with_extensions)]
    async fn get_contract(&self, address: String) -> RpcResult<Option<ContractView>>;

    /// Runs `method` of `contract` with `0x` hex `input` read-only against the latest finalized
    /// state, as `caller` (the zero address if absent), with at most `gas_limit` gas (capped).
    #[method(name = "queryContract", with_extensions)]
    async fn query_contract(
        &self,
        contract: String,
        method: String,
        input: String,
        caller: Option<String>,
        gas_limit: Option<u64>,
    ) -> RpcResult<QueryView>;

    /// An asset's definition and totals by symbol (`null` if there is none); `FMC` is the
    /// native asset.
    #[method(name = "getAsset", with_extensions)]
    async fn get_asset(&self, symbol: String) -> RpcResult<Option<AssetView>>;

    /// An account's holding of an asset (a zero balance if it holds none).
    #[method(name = "getAssetBalance", with_extensions)]
    async fn get_asset_balance(&self, symbol: String, account: String) -> RpcResult<HoldingView>;

    /// An asset's reserve attestation number `index` (from 0; `null` if there is none).
    #[method(name = "getAttestation", with_extensions)]
    async fn get_attestation(&self, symbol: String, index: u64) -> RpcResult<Option<AttestationView>>;

    /// A seller's invoice by number (`null` if there is none).
    #[method(name = "getInvoice", with_extensions)]
    async fn get_invoice(&self, seller: String, number: String) -> RpcResult<Option<InvoiceView>>;

    /// The invoice registered for a document, by the document's hash (`null` if none is).
    #[method(name = "getInvoiceByDocument", with_extensions)]
    async fn get_invoice_by_document(&self, document: String) -> RpcResult<Option<InvoiceView>>;

    /// A remittance corridor by name, e.g. `HKD-PHP` (`null` if there is none).
    #[method(name = "getCorridor", with_extensions)]
    async fn get_corridor(&self, corridor: String) -> RpcResult<Option<CorridorView>>;

    /// A remittance by id, `0x` hex: its status, quote and the reason of a rejection (`null` if
    /// there is none).
    #[method(name = "getRemittance", with_extensions)]
    async fn get_remittance(&self, id: String) -> RpcResult<Option<RemittanceView>>;

    /// Whether the corridor's compliance account lists `account` as sanctioned (`null` if the
    /// corridor does not exist).
    #[method(name = "getSanctioned", with_extensions)]
    async fn get_sanctioned(&self, corridor: String, account: String) -> RpcResult<Option<SanctionView>>;

    /// A receivable of the finance module by id (`0x` hex; `null` if there is none).
    #[method(name = "getReceivable", with_extensions)]
    async fn get_receivable(&self, id: String) -> RpcResult<Option<ReceivableView>>;

    /// Part `number` of a receivable (`null` if there is none).
    #[method(name = "getReceivablePart", with_extensions)]
    async fn get_receivable_part(&self, id: String, number: u16) -> RpcResult<Option<PartView>>;

    /// Part `number` of a receivable and its parents back to part 0, the acknowledged payable
    /// (empty if there is no such part).
    #[method(name = "getReceivableTrace", with_extensions)]
    async fn get_receivable_trace(&self, id: String, number: u16) -> RpcResult<Vec<PartView>>;

    /// A charity's campaign with its totals (`null` if there is none).
    #[method(name = "getCampaign", with_extensions)]
    async fn get_campaign(&self, charity: String, campaign: String) -> RpcResult<Option<CampaignView>>;

    /// Donation `index` of a campaign: the donor's receipt (`null` if there is none).
    #[method(name = "getDonation", with_extensions)]
    async fn get_donation(&self, charity: String, campaign: String, index: u64) -> RpcResult<Option<DonationView>>;

    /// Disbursement proposal `index` of a campaign and who has approved it (`null` if there is
    /// none).
    #[method(name = "getDisbursementProposal", with_extensions)]
    async fn get_disbursement_proposal(
        &self,
        charity: String,
        campaign: String,
        index: u64,
    ) -> RpcResult<Option<DisbursementProposalView>>;

    /// Paid disbursement `index` of a campaign (`null` if there is none).
    #[method(name = "getDisbursement", with_extensions)]
    async fn get_disbursement(
        &self,
        charity: String,
        campaign: String,
        index: u64,
    ) -> RpcResult<Option<DisbursementView>>;

    /// Donation `index` of a campaign and the disbursements it funded, first in, first out
    /// (`null` if there is no such donation).
    #[method(name = "getDonationTrace", with_extensions)]
    async fn get_donation_trace(
        &self,
        charity: String,
        campaign: String,
        index: u64,
    ) -> RpcResult<Option<DonationTraceView>>;

    /// A batch or item of the traceability module by owner (account id) and batch id, with its
    /// events and its children's ids (`null` if there is none).
    #[method(name = "getTraceBatch", with_extensions)]
    async fn get_trace_batch(&self, owner: String, id: String) -> RpcResult<Option<TraceBatchView>>;

    /// A batch or item and every batch it was split from, each with its events: the batch
    /// first, its origin batch last (empty if there is no such batch).
    #[method(name = "getTraceHistory", with_extensions)]
    async fn get_trace_history(&self, owner: String, id: String) -> RpcResult<Vec<TraceBatchView>>;

    /// The history of a batch or item (it, its events, and every batch it was split from with
    /// theirs), proven in one finalized state, with the finality proofs that link it to the
    /// checkpoint of `anchor_epoch`: what a verifier that trusts only that checkpoint checks
    /// (`formica_verify::trace`; the verification page and `formica verify trace`).
    #[method(name = "getTraceBundle", with_extensions)]
    async fn get_trace_bundle(&self, owner: String, id: String, anchor_epoch: u64) -> RpcResult<RecordBundle>;

    /// The notary deposit of a hash, `0x` hex: a document's or a batch root's (`null` if none).
    #[method(name = "getDeposit", with_extensions)]
    async fn get_deposit(&self, hash: String) -> RpcResult<Option<DepositView>>;

    /// Whether a document (by its hash) is deposited: on its own, or, given `proof`, as a leaf of
    /// the deposited batch it names (the path is checked against the batch root). Says who
    /// deposited it and when, or that it is not deposited, revoked, or not proven by the proof.
    #[method(name = "verifyDocument", with_extensions)]
    async fn verify_document(&self, hash: String, proof: Option<BatchProofView>) -> RpcResult<VerificationView>;

    /// A notary certificate by id (`null` if there is none).
    #[method(name = "getCertificate", with_extensions)]
    async fn get_certificate(&self, id: String) -> RpcResult<Option<CertificateView>>;

    #[method(name = "status")]
    async fn status(&self) -> RpcResult<StatusView>;

    /// Liveness and the finalized height; also served as `GET /health`.
    #[method(name = "health")]
    async fn health(&self) -> RpcResult<HealthView>;

    /// Every finalized block from now on, in order. Notifications are `formica_finalizedBlock`.
    #[subscription(
        name = "subscribeFinalizedBlocks" => "finalizedBlock",
        unsubscribe = "unsubscribeFinalizedBlocks",
        item = BlockView,
        with_extensions
    )]
    async fn subscribe_finalized_blocks(&self) -> SubscriptionResult;

    /// One receipt when the transaction is final (at once if it already is), then the
    /// subscription closes. Notifications are `formica_transactionReceipt`.
    #[subscription(
        name = "subscribeTransaction" => "transactionReceipt",
        unsubscribe = "unsubscribeTransaction",
        item = ReceiptView,
        with_extensions
    )]
    async fn subscribe_transaction(&self, hash: String) -> SubscriptionResult;

    /// Every event of finalized blocks from now on that matches `filter` (contract, and topics by
    /// position). Notifications are `formica_contractEvent`.
    #[subscription(
        name = "subscribeEvents" => "contractEvent",
        unsubscribe = "unsubscribeEvents",
        item = EventNotification,
        with_extensions
    )]
    async fn subscribe_events(&self, filter: EventFilter) -> SubscriptionResult;
}
