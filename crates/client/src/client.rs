//! [`Client`]: typed calls, transaction building, and waiting for finality.

use crate::error::{ClientError, Result};
use crate::finality::FinalityChecker;
use commonware_codec::{DecodeExt, Encode};
use formica_crypto::{AccountSigner, sign_transaction};
use formica_rpc::FormicaApiClient;
use formica_rpc::assets::{AssetView, AttestationView, HoldingView};
use formica_rpc::charity::{CampaignView, DisbursementProposalView, DisbursementView, DonationTraceView, DonationView};
use formica_rpc::contracts::{ContractView, EventFilter, EventNotification, GasView, QueryView};
use formica_rpc::finance::{PartView, ReceivableView};
use formica_rpc::invoices::InvoiceView;
use formica_rpc::notary::{BatchProofView, CertificateView, DepositView, VerificationView};
use formica_rpc::remittance::{CorridorView, RemittanceView, SanctionView};
use formica_rpc::traceability::TraceBatchView;
use formica_rpc::types::{
    AccountProofView, AccountRecordView, AccountView, BlockView, FinalityView, GovernanceView, OrganisationView,
    ProposalView, ReceiptView, StatusView, TransactionView, codec,
};
use formica_types::{
    AccountId, AccountKey, Amount, BatchId, CampaignId, CorridorId, Hash, Height, InvoiceNumber, Nonce, Payload,
    RemittanceId, Symbol, Transaction, TransactionBody, hash_from_hex, hash_to_hex,
};
use jsonrpsee::core::client::Subscription;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use std::time::Duration;

/// Limits and timing of a [`Client`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long one call may take before it fails with [`ClientError::Transport`].
    pub request_timeout: Duration,
    /// Larger responses are refused.
    pub max_response_bytes: u32,
    /// How many blocks past the finalized height a transaction built here stays valid.
    pub expiry_blocks: u64,
    /// Interval of `getTransactionReceipt` polls when no subscription is possible.
    pub poll_interval: Duration,
    /// An access token (`formica token`) sent as `Authorization: Bearer <token>` on every
    /// request, for chains that limit the API to member organisations.
    pub access_token: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            max_response_bytes: 16 * 1024 * 1024,
            expiry_blocks: 1000,
            poll_interval: Duration::from_millis(100),
            access_token: None,
        }
    }
}

enum Transport {
    Http(HttpClient),
    Ws(WsClient),
}

/// Calls one API method on whichever transport the client holds.
macro_rules! call {
    ($client:expr, $method:ident($($argument:expr),*)) => {
        match &$client.transport {
            Transport::Http(inner) => FormicaApiClient::$method(inner, $($argument),*).await,
            Transport::Ws(inner) => FormicaApiClient::$method(inner, $($argument),*).await,
        }
        .map_err(|error| $client.error(error))
    };
}

/// A connection to one node's JSON-RPC.
///
/// Over `http://` every call is a request; subscriptions (and so the fast path of
/// [`Client::wait_for_receipt`]) open a WebSocket to the same host and port on demand.
/// Over `ws://` everything shares one connection.
pub struct Client {
    url: String,
    ws_url: String,
    transport: Transport,
    config: ClientConfig,
}

impl Client {
    /// Connects with the default [`ClientConfig`].
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, ClientConfig::default()).await
    }

    /// Connects to `url` (`http(s)://` or `ws(s)://`).
    pub async fn connect_with(url: &str, config: ClientConfig) -> Result<Self> {
        let ws_url = websocket_url(url)?;
        let transport = if url.starts_with("ws://") || url.starts_with("wss://") {
            Transport::Ws(connect_ws(url, &config).await?)
        } else {
            let client = HttpClientBuilder::default()
                .set_headers(headers(&config, url)?)
                .request_timeout(config.request_timeout)
                .max_response_size(config.max_response_bytes)
                .build(url)
                .map_err(|error| ClientError::Connect { url: url.to_string(), reason: error.to_string() })?;
            Transport::Http(client)
        };
        Ok(Self { url: url.to_string(), ws_url, transport, config })
    }

    /// The URL this client was connected with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A call's error, naming the node when the call did not reach it.
    fn error(&self, error: jsonrpsee::core::ClientError) -> ClientError {
        match ClientError::from(error) {
            ClientError::Transport { reason } => {
                ClientError::Transport { reason: format!("no answer from {}: {reason}", self.url) }
            }
            other => other,
        }
    }

    pub async fn status(&self) -> Result<StatusView> {
        call!(self, status())
    }

    /// Submits a signed transaction; returns its hash as the node computed it.
    pub async fn submit(&self, transaction: &Transaction) -> Result<Hash> {
        let hex = codec::to_hex(&transaction.encode());
        let answer = call!(self, send_transaction(hex))?;
        hash_from_hex(&answer).map_err(|error| ClientError::InvalidResponse { reason: format!("hash: {error}") })
    }

    /// Submits up to [`formica_rpc::SEND_TRANSACTIONS_MAX`] signed transactions in one call (the
    /// node checks their signatures in one batch). One result per transaction, in order: its
    /// hash, or the node's refusal of it ([`ClientError::Rpc`], as [`Client::submit`] would
    /// return it). The outer error is for the call as a whole.
    pub async fn submit_many(&self, transactions: &[Transaction]) -> Result<Vec<Result<Hash>>> {
        let hex: Vec<String> = transactions.iter().map(|transaction| codec::to_hex(&transaction.encode())).collect();
        let outcomes = call!(self, send_transactions(hex))?;
        if outcomes.len() != transactions.len() {
            return Err(ClientError::InvalidResponse {
                reason: format!("{} outcomes for {} transactions", outcomes.len(), transactions.len()),
            });
        }
        outcomes
            .into_iter()
            .map(|outcome| match (outcome.hash, outcome.error) {
                (Some(hash), None) => Ok(hash_from_hex(&hash)
                    .map_err(|error| ClientError::InvalidResponse { reason: format!("hash: {error}") })),
                (None, Some(refusal)) => {
                    Ok(Err(ClientError::Rpc { code: refusal.code, message: refusal.message, data: refusal.data }))
                }
                _ => Err(ClientError::InvalidResponse {
                    reason: "an outcome with neither or both of hash and error".into(),
                }),
            })
            .collect()
    }

    pub async fn transaction(&self, hash: Hash) -> Result<Option<TransactionView>> {
        call!(self, get_transaction(hash_to_hex(&hash)))
    }

    /// The receipt, once the transaction is final.
    pub async fn receipt(&self, hash: Hash) -> Result<Option<ReceiptView>> {
        call!(self, get_transaction_receipt(hash_to_hex(&hash)))
    }

    pub async fn block_by_height(&self, height: Height) -> Result<Option<BlockView>> {
        call!(self, get_block_by_height(height.get()))
    }

    pub async fn block_by_hash(&self, hash: Hash) -> Result<Option<BlockView>> {
        call!(self, get_block_by_hash(hash_to_hex(&hash)))
    }

    /// The finality proof of the block at `height` as the node serves it (`None` if the node
    /// has no finalized block there). Unchecked: [`Client::verified_header`] checks it.
    pub async fn finality(&self, height: Height) -> Result<Option<FinalityView>> {
        call!(self, get_finality(height.get()))
    }

    /// The account as of the latest finalized block.
    pub async fn account(&self, id: AccountId) -> Result<Option<AccountView>> {
        call!(self, get_account(id.to_hex()))
    }

    /// Governance as of the latest finalized block: members, counters, policies.
    pub async fn governance(&self) -> Result<GovernanceView> {
        call!(self, get_governance())
    }

    /// A member organisation by id.
    pub async fn organisation(&self, id: u32) -> Result<Option<OrganisationView>> {
        call!(self, get_organisation(id))
    }

    /// A governance proposal by id.
    pub async fn proposal(&self, id: u64) -> Result<Option<ProposalView>> {
        call!(self, get_proposal(id))
    }

    /// The gas price and limits in force.
    pub async fn gas_parameters(&self) -> Result<GasView> {
        call!(self, get_gas_parameters())
    }

    /// An asset's definition and totals (`FMC`: the native asset).
    pub async fn asset(&self, symbol: Symbol) -> Result<Option<AssetView>> {
        call!(self, get_asset(symbol.to_string()))
    }

    /// An account's holding of an asset.
    pub async fn asset_balance(&self, symbol: Symbol, account: AccountId) -> Result<HoldingView> {
        call!(self, get_asset_balance(symbol.to_string(), account.to_hex()))
    }

    /// An asset's reserve attestation number `index`.
    pub async fn attestation(&self, symbol: Symbol, index: u64) -> Result<Option<AttestationView>> {
        call!(self, get_attestation(symbol.to_string(), index))
    }

    /// A seller's invoice by number.
    pub async fn invoice(&self, seller: AccountId, number: InvoiceNumber) -> Result<Option<InvoiceView>> {
        call!(self, get_invoice(seller.to_hex(), number.to_string()))
    }

    /// The invoice registered for a document.
    pub async fn invoice_by_document(&self, document: Hash) -> Result<Option<InvoiceView>> {
        call!(self, get_invoice_by_document(hash_to_hex(&document)))
    }

    /// A remittance corridor by name.
    pub async fn corridor(&self, corridor: CorridorId) -> Result<Option<CorridorView>> {
        call!(self, get_corridor(corridor.to_string()))
    }

    /// A remittance by id (see [`formica_types::remittance_id`]).
    pub async fn remittance(&self, id: RemittanceId) -> Result<Option<RemittanceView>> {
        call!(self, get_remittance(hash_to_hex(&id)))
    }

    /// Whether a corridor's compliance account lists `account` as sanctioned (`None`: no such
    /// corridor).
    pub async fn sanctioned(&self, corridor: CorridorId, account: AccountId) -> Result<Option<SanctionView>> {
        call!(self, get_sanctioned(corridor.to_string(), account.to_hex()))
    }

    /// A receivable of the finance module by id.
    pub async fn receivable(&self, id: Hash) -> Result<Option<ReceivableView>> {
        call!(self, get_receivable(hash_to_hex(&id)))
    }

    /// Part `number` of a receivable.
    pub async fn receivable_part(&self, id: Hash, number: u16) -> Result<Option<PartView>> {
        call!(self, get_receivable_part(hash_to_hex(&id), number))
    }

    /// Part `number` of a receivable and its parents back to part 0.
    pub async fn receivable_trace(&self, id: Hash, number: u16) -> Result<Vec<PartView>> {
        call!(self, get_receivable_trace(hash_to_hex(&id), number))
    }

    /// A charity's campaign with its totals.
    pub async fn campaign(&self, charity: AccountId, campaign: CampaignId) -> Result<Option<CampaignView>> {
        call!(self, get_campaign(charity.to_hex(), campaign.to_string()))
    }

    /// Donation `index` of a campaign.
    pub async fn donation(&self, charity: AccountId, campaign: CampaignId, index: u64) -> Result<Option<DonationView>> {
        call!(self, get_donation(charity.to_hex(), campaign.to_string(), index))
    }

    /// Disbursement proposal `index` of a campaign.
    pub async fn disbursement_proposal(
        &self,
        charity: AccountId,
        campaign: CampaignId,
        index: u64,
    ) -> Result<Option<DisbursementProposalView>> {
        call!(self, get_disbursement_proposal(charity.to_hex(), campaign.to_string(), index))
    }

    /// Paid disbursement `index` of a campaign.
    pub async fn disbursement(
        &self,
        charity: AccountId,
        campaign: CampaignId,
        index: u64,
    ) -> Result<Option<DisbursementView>> {
        call!(self, get_disbursement(charity.to_hex(), campaign.to_string(), index))
    }

    /// Donation `index` of a campaign and the disbursements it funded, first in, first out.
    pub async fn donation_trace(
        &self,
        charity: AccountId,
        campaign: CampaignId,
        index: u64,
    ) -> Result<Option<DonationTraceView>> {
        call!(self, get_donation_trace(charity.to_hex(), campaign.to_string(), index))
    }

    /// A batch or item of the traceability module, with its events and children.
    pub async fn trace_batch(&self, owner: AccountId, id: BatchId) -> Result<Option<TraceBatchView>> {
        call!(self, get_trace_batch(owner.to_hex(), id.to_string()))
    }

    /// A batch or item and every batch it was split from, the origin batch last.
    pub async fn trace_history(&self, owner: AccountId, id: BatchId) -> Result<Vec<TraceBatchView>> {
        call!(self, get_trace_history(owner.to_hex(), id.to_string()))
    }

    /// The history of a batch or item proven in one finalized state, linked to the checkpoint
    /// of `anchor_epoch`: check it with `formica_verify::trace::verify` (the node is not trusted).
    pub async fn trace_bundle(
        &self,
        owner: AccountId,
        id: BatchId,
        anchor_epoch: u64,
    ) -> Result<formica_verify::RecordBundle> {
        call!(self, get_trace_bundle(owner.to_hex(), id.to_string(), anchor_epoch))
    }

    /// The notary deposit of a hash (a document's or a batch root's).
    pub async fn deposit(&self, hash: Hash) -> Result<Option<DepositView>> {
        call!(self, get_deposit(hash_to_hex(&hash)))
    }

    /// Whether a document is deposited: on its own, or as a leaf of the batch `proof` names.
    pub async fn verify_document(&self, document: Hash, proof: Option<BatchProofView>) -> Result<VerificationView> {
        call!(self, verify_document(hash_to_hex(&document), proof))
    }

    /// A notary certificate by id.
    pub async fn certificate(&self, id: Hash) -> Result<Option<CertificateView>> {
        call!(self, get_certificate(hash_to_hex(&id)))
    }

    /// A deployed contract.
    pub async fn contract(&self, address: AccountId) -> Result<Option<ContractView>> {
        call!(self, get_contract(address.to_hex()))
    }

    /// Runs `method` of `contract` read-only with the encoded `input`.
    pub async fn query_contract(
        &self,
        contract: AccountId,
        method: &str,
        input: &[u8],
        caller: Option<AccountId>,
        gas_limit: Option<u64>,
    ) -> Result<QueryView> {
        let caller = caller.map(|caller| caller.to_hex());
        call!(self, query_contract(contract.to_hex(), method.to_string(), codec::to_hex(input), caller, gas_limit))
    }

    /// Events of finalized blocks matching `filter` from now on (opens a WebSocket if the client is
    /// on HTTP; keep the returned client alive as long as the subscription).
    pub async fn subscribe_events(
        &self,
        filter: EventFilter,
    ) -> Result<(Subscription<EventNotification>, Option<WsClient>)> {
        match &self.transport {
            Transport::Ws(client) => {
                let subscription = client.subscribe_events(filter).await.map_err(|error| self.error(error))?;
                Ok((subscription, None))
            }
            Transport::Http(_) => {
                let client = connect_ws(&self.ws_url, &self.config).await?;
                let subscription = client.subscribe_events(filter).await.map_err(|error| self.error(error))?;
                Ok((subscription, Some(client)))
            }
        }
    }

    pub async fn account_proof(&self, id: AccountId) -> Result<AccountProofView> {
        call!(self, get_account_proof(id.to_hex()))
    }

    /// The nonce the account's next transaction must carry, from finalized state. A sender with
    /// transactions still pending must count past them itself.
    pub async fn next_nonce(&self, id: AccountId) -> Result<Nonce> {
        match self.account(id).await? {
            Some(account) => Ok(account.nonce),
            None => Err(ClientError::AccountNotFound { account: id }),
        }
    }

    /// Builds and signs a transaction from `sender`'s account, signed by each of `signers` (as
    /// many keys as the account's threshold needs): chain id from `status`, the account's next
    /// nonce, expiry [`ClientConfig::expiry_blocks`] past the finalized height.
    pub async fn build_signed(
        &self,
        sender: AccountId,
        signers: &[&AccountSigner],
        payload: Payload,
        fee_limit: Amount,
    ) -> Result<Transaction> {
        let (status, nonce) = tokio::try_join!(self.status(), self.next_nonce(sender))?;
        let expiry_height =
            status.height.get().checked_add(self.config.expiry_blocks).ok_or(ClientError::ExpiryOverflow)?;
        let body = TransactionBody {
            chain_id: status.chain_id,
            sender,
            nonce,
            expiry_height: Height(expiry_height),
            fee_limit,
            payload,
        };
        Ok(sign_transaction(body, signers))
    }

    /// Builds and signs a transaction from the account `key` created, signed by `key` alone.
    pub async fn build_transaction(
        &self,
        key: &AccountSigner,
        payload: Payload,
        fee_limit: Amount,
    ) -> Result<Transaction> {
        self.build_signed(key.account_id(), &[key], payload, fee_limit).await
    }

    /// Builds, signs and submits a transfer of `amount` to `to`.
    pub async fn transfer(
        &self,
        key: &AccountSigner,
        to: AccountId,
        amount: Amount,
        fee_limit: Amount,
    ) -> Result<Hash> {
        let transaction = self.build_transaction(key, Payload::Transfer { to, amount }, fee_limit).await?;
        self.submit(&transaction).await
    }

    /// Builds, signs and submits the creation of the account of `public_key`.
    pub async fn create_account(
        &self,
        key: &AccountSigner,
        public_key: AccountKey,
        initial_balance: Amount,
        fee_limit: Amount,
    ) -> Result<Hash> {
        let payload = Payload::CreateAccount { public_key, initial_balance };
        let transaction = self.build_transaction(key, payload, fee_limit).await?;
        self.submit(&transaction).await
    }

    /// Waits until the transaction is final and returns its receipt.
    ///
    /// Uses `formica_subscribeTransaction` over WebSocket; if that is not possible, polls
    /// `formica_getTransactionReceipt` every [`ClientConfig::poll_interval`].
    pub async fn wait_for_receipt(&self, hash: Hash, timeout: Duration) -> Result<ReceiptView> {
        let waiting = async {
            if let Some(receipt) = self.receipt_by_subscription(hash).await {
                return Ok(receipt);
            }
            self.poll_receipt(hash).await
        };
        match tokio::time::timeout(timeout, waiting).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout { what: format!("transaction {}", hash_to_hex(&hash)), timeout }),
        }
    }

    /// Every finalized block from now on (opens a WebSocket if the client is on HTTP). The
    /// subscription ends when it is dropped.
    pub async fn subscribe_finalized_blocks(&self) -> Result<(Subscription<BlockView>, Option<WsClient>)> {
        match &self.transport {
            Transport::Ws(client) => {
                let subscription = client.subscribe_finalized_blocks().await.map_err(|error| self.error(error))?;
                Ok((subscription, None))
            }
            Transport::Http(_) => {
                let client = connect_ws(&self.ws_url, &self.config).await?;
                let subscription = client.subscribe_finalized_blocks().await.map_err(|error| self.error(error))?;
                Ok((subscription, Some(client)))
            }
        }
    }

    /// The receipt from a subscription; `None` if no subscription could deliver one.
    async fn receipt_by_subscription(&self, hash: Hash) -> Option<ReceiptView> {
        match &self.transport {
            Transport::Ws(client) => first_receipt(client, hash).await,
            Transport::Http(_) => {
                let client = connect_ws(&self.ws_url, &self.config).await.ok()?;
                first_receipt(&client, hash).await
            }
        }
    }

    async fn poll_receipt(&self, hash: Hash) -> Result<ReceiptView> {
        loop {
            if let Some(receipt) = self.receipt(hash).await? {
                return Ok(receipt);
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }
}

async fn first_receipt(client: &WsClient, hash: Hash) -> Option<ReceiptView> {
    let mut subscription = client.subscribe_transaction(hash_to_hex(&hash)).await.ok()?;
    match subscription.next().await {
        Some(Ok(receipt)) => Some(receipt),
        _ => None,
    }
}

async fn connect_ws(url: &str, config: &ClientConfig) -> Result<WsClient> {
    WsClientBuilder::default()
        .set_headers(headers(config, url)?)
        .request_timeout(config.request_timeout)
        .connection_timeout(config.request_timeout)
        .max_response_size(config.max_response_bytes)
        .build(url)
        .await
        .map_err(|error| ClientError::Connect { url: url.to_string(), reason: error.to_string() })
}

/// The headers every request carries: the access token, if any.
fn headers(config: &ClientConfig, url: &str) -> Result<jsonrpsee::http_client::HeaderMap> {
    let mut headers = jsonrpsee::http_client::HeaderMap::new();
    if let Some(token) = &config.access_token {
        let value = format!("Bearer {}", token.trim()).parse().map_err(|_| ClientError::Connect {
            url: url.to_string(),
            reason: "the access token is not a valid header value".into(),
        })?;
        headers.insert("authorization", value);
    }
    Ok(headers)
}

/// The WebSocket URL of the same server (jsonrpsee serves HTTP and WebSocket on one port).
pub fn websocket_url(url: &str) -> Result<String> {
    for (from, to) in [("http://", "ws://"), ("https://", "wss://"), ("ws://", "ws://"), ("wss://", "wss://")] {
        if let Some(rest) = url.strip_prefix(from) {
            return Ok(format!("{to}{rest}"));
        }
    }
    Err(ClientError::UnsupportedUrl { url: url.to_string() })
}

/// What checking an account proof established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofCheck {
    /// The account value is in the state whose root the block header at the proof's height
    /// commits to, and that header is proven final by a quorum of its epoch's validators.
    Verified,
    /// The account does not exist; unordered state has no exclusion proofs, so absence is unproven.
    AbsentUnproven,
    /// The proof, the state root or the header does not check out.
    Invalid,
}

impl Client {
    /// Fetches an account with its proof and checks it without trusting the node: the Merkle
    /// proof against the state root, that state root against the header of the block at that
    /// height, and that header's finality (its finalization certificate under the committee of
    /// its epoch, learned through `checker`'s chain of trust; see [`crate::finality`]).
    ///
    /// A proof or header that does not check out gives [`ProofCheck::Invalid`]; a finality proof
    /// that does not check out gives [`ClientError::Unverified`] with the reason.
    pub async fn verified_account(
        &self,
        id: AccountId,
        checker: &mut FinalityChecker,
    ) -> Result<(AccountProofView, ProofCheck)> {
        let view = self.account_proof(id).await?;
        let Some(block) = self.block_by_height(view.height).await? else {
            return Ok((view, ProofCheck::Invalid));
        };
        let check = check_account_proof(&view, &block);
        if check == ProofCheck::Invalid {
            return Ok((view, check));
        }
        let header = self.verified_header(checker, view.height).await?;
        if header.digest() != block.hash || header.state_root != view.state_root {
            return Ok((view, ProofCheck::Invalid));
        }
        Ok((view, check))
    }
}

/// Checks an account proof against the block at its height (see [`Client::verified_account`]);
/// the block's finality is not checked here.
pub fn check_account_proof(view: &AccountProofView, block: &BlockView) -> ProofCheck {
    if !crate::verify_block_header(block)
        || block.hash != view.block_hash
        || block.state_root != view.state_root
        || block.height != view.height
    {
        return ProofCheck::Invalid;
    }
    let (Some(shown), Some(record)) = (&view.account, &view.record) else {
        return if view.account.is_none() && view.record.is_none() {
            ProofCheck::AbsentUnproven
        } else {
            ProofCheck::Invalid
        };
    };
    let (Ok(proof), Ok(record)) =
        (hex::decode(view.proof.trim_start_matches("0x")), hex::decode(record.trim_start_matches("0x")))
    else {
        return ProofCheck::Invalid;
    };
    // The proof covers the encoded record; the decoded fields shown must be that record's.
    let Ok(value) = formica_types::Account::decode(record) else {
        return ProofCheck::Invalid;
    };
    if &AccountRecordView::from(&value) != shown {
        return ProofCheck::Invalid;
    }
    if formica_state::verify_account_proof(&view.account_id, &value, &proof, &view.state_root) {
        ProofCheck::Verified
    } else {
        ProofCheck::Invalid
    }
}
