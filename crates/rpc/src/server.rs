//! The JSON-RPC server: configuration, start-up, and the handlers over a [`Backend`].

use crate::access::{AccessDenied, AccessToken, VERDICT_CACHE_MS, now_ms};
use crate::api::FormicaApiServer;
use crate::backend::{Backend, BackendError, FinalizedBlock, SubmitError};
use crate::error::{codes, invalid_params};
use crate::rate_limit::{Buckets, RateLimit, RateLimitLayer};
use crate::transport::Deadlines;
use crate::types::{
    AccountProofView, AccountView, BlockView, FinalityView, GovernanceView, HealthView, OrganisationView, ProposalView,
    ReceiptView, StatusView, SubmitOutcome, TransactionView, codec,
};
use commonware_codec::Decode;
use formica_types::{AccountId, ChainId, Hash, Height, Transaction, TransactionLimits, hash_from_hex, hash_to_hex};
use jsonrpsee::Extensions;
use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
use jsonrpsee::server::middleware::http::ProxyGetRequestLayer;
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    BatchRequestConfig, PendingSubscriptionSink, Server, ServerConfig as TransportConfig, ServerHandle,
    SubscriptionSink,
};
use jsonrpsee::types::ErrorObjectOwned;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// The most transactions one `formica_sendTransactions` call may carry (a longer list is refused
/// whole, with `INVALID_PARAMS`). The request body limit applies as well.
pub const SEND_TRANSACTIONS_MAX: usize = 256;

/// The path of the health check, answered by the `formica_health` method.
pub const HEALTH_PATH: &str = "/health";

/// Limits and address of the RPC server. Every limit is enforced by jsonrpsee before a handler runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free port (see [`RunningServer::local_address`]).
    pub listen_address: SocketAddr,
    /// Larger request bodies are refused with HTTP 413 (or a closed WebSocket frame).
    pub max_request_body_bytes: u32,
    pub max_response_body_bytes: u32,
    /// HTTP and WebSocket connections together.
    pub max_connections: u32,
    pub max_subscriptions_per_connection: u32,
    /// The most calls in one JSON-RPC batch; `0` disables batches.
    pub batch_requests_max: u32,
    /// Limits applied while decoding submitted transactions.
    pub transaction_limits: TransactionLimits,
    /// Requests each client IP address may send: an HTTP request or WebSocket message counts
    /// once, whatever batch it carries. `None` disables the limit.
    pub rate_limit: Option<RateLimit>,
    /// How long a connection may take to deliver a complete request head, counted from when the
    /// server starts waiting for one (a new or idle keep-alive connection); it is closed after.
    pub request_head_timeout: Duration,
    /// How long a request may take from a complete head to its response, the body's arrival
    /// included; answered with HTTP 408 after. WebSocket messages are bounded by size instead.
    pub request_timeout: Duration,
}

/// The default per-client rate: far above what one client of a 2-core node needs (`formica
/// bench` sends batches of 64, so 5,000 requests a second carry 320,000 transactions), low
/// enough that one address cannot take every cheap request the node can answer.
pub const RATE_LIMIT_DEFAULT: RateLimit = RateLimit { per_second: 5_000, burst: 10_000 };

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen_address: SocketAddr::from(([127, 0, 0, 1], 8545)),
            // A deployment of the largest module, as hex, fits.
            max_request_body_bytes: 2 * TransactionLimits::ENCODED_BYTES_MAX as u32 + 64 * 1024,
            // A full block view (10 000 transaction hashes) is about 700 KiB.
            max_response_body_bytes: 8 * 1024 * 1024,
            max_connections: 256,
            max_subscriptions_per_connection: 64,
            batch_requests_max: 64,
            transaction_limits: TransactionLimits::default(),
            rate_limit: Some(RATE_LIMIT_DEFAULT),
            request_head_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}: {source}")]
    Bind { address: SocketAddr, source: std::io::Error },
    #[error("health route: {0}")]
    HealthRoute(String),
    #[error("cannot register the API methods: {0}")]
    Register(String),
    #[error("{0}")]
    Config(String),
}

/// A started server. It runs until [`ServerHandle::stop`] is called or the last clone of the
/// handle is dropped (jsonrpsee's stop channel closes with it): keep one for as long as it serves.
#[derive(Clone, Debug)]
pub struct RunningServer {
    pub handle: ServerHandle,
    /// The bound address (useful with port 0).
    pub local_address: SocketAddr,
}

impl RunningServer {
    /// `http://` URL of the server (the same port serves `ws://`).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.local_address)
    }

    /// `ws://` URL of the server.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.local_address)
    }
}

/// Starts serving the API over HTTP and WebSocket on one port, plus `GET /health` and the
/// public verification pages under `GET /verify/` ([`crate::web`]).
///
/// `GET /health` is jsonrpsee's [`ProxyGetRequestLayer`]: it rewrites the GET into a
/// `formica_health` call and returns the bare result (`{"status":"ok","height":N}`) with status
/// 200, or the error object with status 500 when the backend is unavailable.
///
/// Connections are accepted by this crate's `transport` module (the connection limit, the
/// timeouts, the client's address for the `rate_limit` middleware); jsonrpsee's service does
/// the rest.
pub async fn serve<B: Backend>(backend: Arc<B>, config: ServerConfig) -> Result<RunningServer, ServeError> {
    if config.request_head_timeout.is_zero() || config.request_timeout.is_zero() {
        return Err(ServeError::Config("the rpc request timeouts must be above zero".into()));
    }
    if config.rate_limit.is_some_and(|limit| limit.per_second == 0 || limit.burst == 0) {
        return Err(ServeError::Config("an rpc rate limit needs a rate and a burst above zero".into()));
    }
    let batch = match config.batch_requests_max {
        0 => BatchRequestConfig::Disabled,
        limit => BatchRequestConfig::Limit(limit),
    };
    let transport = TransportConfig::builder()
        .max_request_body_size(config.max_request_body_bytes)
        .max_response_body_size(config.max_response_body_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(batch)
        .build();
    let health = ProxyGetRequestLayer::new([(HEALTH_PATH, "formica_health")])
        .map_err(|error| ServeError::HealthRoute(error.to_string()))?;
    let rate_limit = RateLimitLayer(config.rate_limit.map(|limit| Arc::new(Buckets::new(limit))));
    let services = Server::builder()
        .set_config(transport)
        .set_rpc_middleware(RpcServiceBuilder::new().layer(rate_limit))
        .set_http_middleware(
            tower::ServiceBuilder::new().layer(health).layer(crate::web::PagesLayer).map_request(carry_authorization),
        )
        .to_service_builder();
    let listener = tokio::net::TcpListener::bind(config.listen_address)
        .await
        .map_err(|source| ServeError::Bind { address: config.listen_address, source })?;
    let local_address =
        listener.local_addr().map_err(|source| ServeError::Bind { address: config.listen_address, source })?;
    let methods = rpc_methods(backend, config.transaction_limits);
    let (stop, handle) = jsonrpsee::server::stop_channel();
    let deadlines = Deadlines { head: config.request_head_timeout, request: config.request_timeout };
    let make_service = {
        let stop = stop.clone();
        move || services.clone().build(methods.clone(), stop.clone())
    };
    tokio::spawn(crate::transport::accept_loop(listener, config.max_connections, deadlines, stop, make_service));
    tracing::info!(address = %local_address, "rpc server listening");
    Ok(RunningServer { handle, local_address })
}

/// The API's methods over `backend`, exactly as [`serve`] routes calls to them but without the
/// transport (its body, batch and connection limits): for fuzzing the router with raw requests.
pub fn rpc_methods<B: Backend>(backend: Arc<B>, transaction_limits: TransactionLimits) -> jsonrpsee::Methods {
    Handler { backend, transaction_limits, access: AccessCache::default() }.into_rpc().into()
}

/// The `Authorization` header of an HTTP request or WebSocket handshake, handed to the handlers
/// through the request's extensions.
#[derive(Clone, Debug)]
pub(crate) struct AuthorizationHeader(pub(crate) String);

/// The credential of an `Authorization` header: the text after `Bearer ` (or the whole text).
pub(crate) fn bearer_credential(header: &str) -> &str {
    let header = header.trim();
    header.strip_prefix("Bearer ").unwrap_or(header).trim()
}

pub(crate) fn carry_authorization(mut request: jsonrpsee::server::HttpRequest) -> jsonrpsee::server::HttpRequest {
    let header = request.headers().get("authorization").and_then(|value| value.to_str().ok()).map(str::to_owned);
    if let Some(header) = header {
        request.extensions_mut().insert(AuthorizationHeader(header));
    }
    request
}

/// The access policy and recent verdicts on tokens, each trusted for [`VERDICT_CACHE_MS`].
#[derive(Default)]
struct AccessCache {
    chain_id: OnceLock<ChainId>,
    policy: Mutex<Option<(u64, bool)>>,
    /// Token text to (checked at, expires at) of tokens found valid.
    verdicts: Mutex<BTreeMap<String, (u64, u64)>>,
}

/// Tokens remembered at once; the cache is emptied when it is full.
const VERDICTS_MAX: usize = 4_096;

/// Decodes `0x` hex of a transaction, refusing oversized input before allocating for it.
pub fn decode_transaction_hex(text: &str, limits: &TransactionLimits) -> Result<Transaction, SubmitError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let size = digits.len().div_ceil(2);
    if size > limits.encoded_bytes_max {
        return Err(SubmitError::Oversized { size, limit: limits.encoded_bytes_max });
    }
    let bytes = codec::from_hex(digits).map_err(|error| SubmitError::Malformed { reason: format!("hex: {error}") })?;
    Transaction::decode_cfg(bytes, limits).map_err(|error| SubmitError::Malformed { reason: error.to_string() })
}

fn parse_hash(text: &str) -> Result<Hash, ErrorObjectOwned> {
    hash_from_hex(text).map_err(|error| invalid_params("hash", error))
}

fn parse_account_id(text: &str) -> Result<AccountId, ErrorObjectOwned> {
    AccountId::from_hex(text).map_err(|error| invalid_params("account id", error))
}

/// The handlers: each checks access, parses its parameters, asks the backend, and renders a view.
struct Handler<B> {
    backend: Arc<B>,
    transaction_limits: TransactionLimits,
    access: AccessCache,
}

impl<B: Backend> Handler<B> {
    /// Refuses the call unless the API is open or the request carries a valid member's token.
    async fn authorise(&self, extensions: &Extensions) -> Result<(), ErrorObjectOwned> {
        let now = now_ms();
        let cached = *self.access.policy.lock().expect("policy lock");
        let members_only = match cached {
            Some((checked, members_only)) if now.saturating_sub(checked) < VERDICT_CACHE_MS => members_only,
            _ => {
                let members_only = self.backend.api_members_only().await?;
                *self.access.policy.lock().expect("policy lock") = Some((now, members_only));
                members_only
            }
        };
        if !members_only {
            return Ok(());
        }
        let Some(AuthorizationHeader(text)) = extensions.get::<AuthorizationHeader>() else {
            return Err(denied(AccessDenied::Missing));
        };
        if let Some((checked, expires)) = self.access.verdicts.lock().expect("verdicts lock").get(text)
            && now.saturating_sub(*checked) < VERDICT_CACHE_MS
            && now < *expires
        {
            return Ok(());
        }
        let token = AccessToken::parse(text).map_err(denied)?;
        token.check(self.chain_id().await?, now).map_err(denied)?;
        let details = self.backend.account(token.account).await?;
        let is_key = details.is_some_and(|(details, _)| details.keys.iter().any(|entry| entry.key == token.key));
        if !is_key {
            return Err(denied(AccessDenied::UnknownKey(token.account)));
        }
        if self.backend.member_org(token.account).await?.is_none() {
            return Err(denied(AccessDenied::NotMember(token.account)));
        }
        let mut verdicts = self.access.verdicts.lock().expect("verdicts lock");
        if verdicts.len() >= VERDICTS_MAX {
            verdicts.clear();
        }
        verdicts.insert(text.clone(), (now, token.expires_ms));
        Ok(())
    }

    /// The chain id, asked of the backend once.
    async fn chain_id(&self) -> Result<ChainId, ErrorObjectOwned> {
        if let Some(chain_id) = self.access.chain_id.get() {
            return Ok(*chain_id);
        }
        let chain_id = self.backend.status().await?.chain_id;
        Ok(*self.access.chain_id.get_or_init(|| chain_id))
    }
}

fn denied(reason: AccessDenied) -> ErrorObjectOwned {
    tracing::debug!(%reason, "rpc call refused");
    ErrorObjectOwned::owned(codes::ACCESS_DENIED, reason.to_string(), None::<()>)
}

#[async_trait]
impl<B: Backend> FormicaApiServer for Handler<B> {
    async fn send_transaction(&self, ext: &Extensions, transaction: String) -> RpcResult<String> {
        self.authorise(ext).await?;
        let transaction = decode_transaction_hex(&transaction, &self.transaction_limits)?;
        match self.backend.submit(transaction).await {
            Ok(hash) => Ok(hash_to_hex(&hash)),
            Err(error) => {
                tracing::debug!(code = error.code(), %error, "transaction refused");
                Err(error.into())
            }
        }
    }

    async fn send_transactions(&self, ext: &Extensions, transactions: Vec<String>) -> RpcResult<Vec<SubmitOutcome>> {
        self.authorise(ext).await?;
        if transactions.len() > SEND_TRANSACTIONS_MAX {
            return Err(invalid_params(
                "transactions",
                format!("{} transactions; at most {SEND_TRANSACTIONS_MAX} per call", transactions.len()),
            ));
        }
        let mut outcomes: Vec<Option<SubmitOutcome>> = vec![None; transactions.len()];
        let mut decoded = Vec::with_capacity(transactions.len());
        let mut positions = Vec::with_capacity(transactions.len());
        for (position, text) in transactions.iter().enumerate() {
            match decode_transaction_hex(text, &self.transaction_limits) {
                Ok(transaction) => {
                    decoded.push(transaction);
                    positions.push(position);
                }
                Err(error) => outcomes[position] = Some(SubmitOutcome::refused(&error)),
            }
        }
        let results = self.backend.submit_many(decoded).await;
        for (position, result) in positions.into_iter().zip(results) {
            outcomes[position] = Some(match result {
                Ok(hash) => SubmitOutcome::admitted(&hash),
                Err(error) => {
                    tracing::debug!(code = error.code(), %error, "transaction refused");
                    SubmitOutcome::refused(&error)
                }
            });
        }
        let unanswered = SubmitError::Unavailable(BackendError::Unavailable {
            reason: "the node returned no verdict for this transaction".into(),
        });
        Ok(outcomes.into_iter().map(|outcome| outcome.unwrap_or_else(|| SubmitOutcome::refused(&unanswered))).collect())
    }

    async fn get_transaction(&self, ext: &Extensions, hash: String) -> RpcResult<Option<TransactionView>> {
        self.authorise(ext).await?;
        let hash = parse_hash(&hash)?;
        if let Some(record) = self.backend.transaction(hash).await? {
            return Ok(Some(TransactionView::from(&record)));
        }
        let pending = self.backend.pending_transaction(hash).await?;
        Ok(pending.as_ref().map(TransactionView::pending))
    }

    async fn get_transaction_receipt(&self, ext: &Extensions, hash: String) -> RpcResult<Option<ReceiptView>> {
        self.authorise(ext).await?;
        let hash = parse_hash(&hash)?;
        let record = self.backend.transaction(hash).await?;
        Ok(record.as_ref().map(ReceiptView::from_record))
    }

    async fn get_block_by_height(&self, ext: &Extensions, height: u64) -> RpcResult<Option<BlockView>> {
        self.authorise(ext).await?;
        let block = self.backend.block_by_height(Height(height)).await?;
        Ok(block.as_ref().map(BlockView::from))
    }

    async fn get_block_by_hash(&self, ext: &Extensions, hash: String) -> RpcResult<Option<BlockView>> {
        self.authorise(ext).await?;
        let hash = parse_hash(&hash)?;
        let block = self.backend.block_by_hash(hash).await?;
        Ok(block.as_ref().map(BlockView::from))
    }

    async fn get_account(&self, ext: &Extensions, id: String) -> RpcResult<Option<AccountView>> {
        self.authorise(ext).await?;
        let id = parse_account_id(&id)?;
        let account = self.backend.account(id).await?;
        Ok(account.map(|(account, height)| AccountView::new(id, &account, height)))
    }

    async fn get_account_proof(&self, ext: &Extensions, id: String) -> RpcResult<AccountProofView> {
        self.authorise(ext).await?;
        let id = parse_account_id(&id)?;
        let proof = self.backend.account_proof(id).await?;
        Ok(AccountProofView::from(&proof))
    }

    async fn get_finality(&self, ext: &Extensions, height: u64) -> RpcResult<Option<FinalityView>> {
        self.authorise(ext).await?;
        let Some(finality) = self.backend.finality(Height(height)).await? else {
            return Ok(None);
        };
        match FinalityView::new(&finality) {
            Some(view) if view.height == Height(height) => Ok(Some(view)),
            _ => Err(crate::backend::BackendError::Storage {
                reason: format!("the finality proof of height {height} is malformed"),
            }
            .into()),
        }
    }

    async fn get_governance(&self, ext: &Extensions) -> RpcResult<GovernanceView> {
        self.authorise(ext).await?;
        let (state, rule, height) = self.backend.governance().await?;
        Ok(GovernanceView {
            members: state.members,
            next_org: state.next_org,
            next_proposal: state.next_proposal,
            account_creation_members_only: state.account_creation_members_only,
            fee: state.fee,
            approval_numerator: rule.numerator,
            approval_denominator: rule.denominator,
            block_transactions: state.block_transactions,
            api_members_only: state.api_members_only,
            epoch_timeouts: state.epoch_timeouts,
            timeouts: state.timeouts,
            height,
        })
    }

    async fn get_organisation(&self, ext: &Extensions, id: u32) -> RpcResult<Option<OrganisationView>> {
        self.authorise(ext).await?;
        let found = self.backend.organisation(formica_types::OrgId(id)).await?;
        Ok(found.map(|(organisation, admins, height)| OrganisationView {
            id: formica_types::OrgId(id),
            name: organisation.name,
            active: organisation.active,
            admins,
            admin_threshold: organisation.admin_threshold,
            height,
        }))
    }

    async fn get_proposal(&self, ext: &Extensions, id: u64) -> RpcResult<Option<ProposalView>> {
        self.authorise(ext).await?;
        let found = self.backend.proposal(id).await?;
        Ok(found.map(|(proposal, action, height)| ProposalView {
            id,
            proposer: proposal.proposer,
            action,
            created_at: proposal.created_at,
            expires_at: proposal.expires_at,
            approvals: proposal.approvals,
            status: if proposal.executed {
                "executed"
            } else if height > proposal.expires_at {
                "expired"
            } else {
                "open"
            }
            .into(),
            height,
        }))
    }

    async fn get_gas_parameters(&self, ext: &Extensions) -> RpcResult<crate::contracts::GasView> {
        self.authorise(ext).await?;
        crate::contracts::get_gas(&*self.backend).await
    }

    async fn get_asset(&self, ext: &Extensions, symbol: String) -> RpcResult<Option<crate::assets::AssetView>> {
        self.authorise(ext).await?;
        crate::assets::get_asset(&*self.backend, crate::assets::parse_symbol(&symbol)?).await
    }

    async fn get_asset_balance(
        &self,
        ext: &Extensions,
        symbol: String,
        account: String,
    ) -> RpcResult<crate::assets::HoldingView> {
        self.authorise(ext).await?;
        let symbol = crate::assets::parse_symbol(&symbol)?;
        crate::assets::get_holding(&*self.backend, symbol, parse_account_id(&account)?).await
    }

    async fn get_attestation(
        &self,
        ext: &Extensions,
        symbol: String,
        index: u64,
    ) -> RpcResult<Option<crate::assets::AttestationView>> {
        self.authorise(ext).await?;
        crate::assets::get_attestation(&*self.backend, crate::assets::parse_symbol(&symbol)?, index).await
    }

    async fn get_invoice(
        &self,
        ext: &Extensions,
        seller: String,
        number: String,
    ) -> RpcResult<Option<crate::invoices::InvoiceView>> {
        self.authorise(ext).await?;
        let number = crate::invoices::parse_number(&number)?;
        crate::invoices::get_invoice(&*self.backend, parse_account_id(&seller)?, number).await
    }

    async fn get_invoice_by_document(
        &self,
        ext: &Extensions,
        document: String,
    ) -> RpcResult<Option<crate::invoices::InvoiceView>> {
        self.authorise(ext).await?;
        let document = formica_types::hash_from_hex(&document).map_err(|error| invalid_params("document", error))?;
        crate::invoices::get_invoice_by_document(&*self.backend, document).await
    }

    async fn get_corridor(
        &self,
        ext: &Extensions,
        corridor: String,
    ) -> RpcResult<Option<crate::remittance::CorridorView>> {
        self.authorise(ext).await?;
        crate::remittance::get_corridor(&*self.backend, crate::remittance::parse_corridor(&corridor)?).await
    }

    async fn get_remittance(
        &self,
        ext: &Extensions,
        id: String,
    ) -> RpcResult<Option<crate::remittance::RemittanceView>> {
        self.authorise(ext).await?;
        let id = formica_types::hash_from_hex(&id).map_err(|error| invalid_params("remittance id", error))?;
        crate::remittance::get_remittance(&*self.backend, id).await
    }

    async fn get_sanctioned(
        &self,
        ext: &Extensions,
        corridor: String,
        account: String,
    ) -> RpcResult<Option<crate::remittance::SanctionView>> {
        self.authorise(ext).await?;
        let corridor = crate::remittance::parse_corridor(&corridor)?;
        crate::remittance::get_sanctioned(&*self.backend, corridor, parse_account_id(&account)?).await
    }

    async fn get_receivable(&self, ext: &Extensions, id: String) -> RpcResult<Option<crate::finance::ReceivableView>> {
        self.authorise(ext).await?;
        crate::finance::get_receivable(&*self.backend, crate::finance::parse_id(&id)?).await
    }

    async fn get_receivable_part(
        &self,
        ext: &Extensions,
        id: String,
        number: u16,
    ) -> RpcResult<Option<crate::finance::PartView>> {
        self.authorise(ext).await?;
        crate::finance::get_part(&*self.backend, crate::finance::parse_id(&id)?, number).await
    }

    async fn get_receivable_trace(
        &self,
        ext: &Extensions,
        id: String,
        number: u16,
    ) -> RpcResult<Vec<crate::finance::PartView>> {
        self.authorise(ext).await?;
        crate::finance::get_trace(&*self.backend, crate::finance::parse_id(&id)?, number).await
    }

    async fn get_campaign(
        &self,
        ext: &Extensions,
        charity: String,
        campaign: String,
    ) -> RpcResult<Option<crate::charity::CampaignView>> {
        self.authorise(ext).await?;
        let campaign = crate::charity::parse_campaign(&campaign)?;
        crate::charity::get_campaign(&*self.backend, parse_account_id(&charity)?, campaign).await
    }

    async fn get_donation(
        &self,
        ext: &Extensions,
        charity: String,
        campaign: String,
        index: u64,
    ) -> RpcResult<Option<crate::charity::DonationView>> {
        self.authorise(ext).await?;
        let campaign = crate::charity::parse_campaign(&campaign)?;
        crate::charity::get_donation(&*self.backend, parse_account_id(&charity)?, campaign, index).await
    }

    async fn get_disbursement_proposal(
        &self,
        ext: &Extensions,
        charity: String,
        campaign: String,
        index: u64,
    ) -> RpcResult<Option<crate::charity::DisbursementProposalView>> {
        self.authorise(ext).await?;
        let campaign = crate::charity::parse_campaign(&campaign)?;
        crate::charity::get_proposal(&*self.backend, parse_account_id(&charity)?, campaign, index).await
    }

    async fn get_disbursement(
        &self,
        ext: &Extensions,
        charity: String,
        campaign: String,
        index: u64,
    ) -> RpcResult<Option<crate::charity::DisbursementView>> {
        self.authorise(ext).await?;
        let campaign = crate::charity::parse_campaign(&campaign)?;
        crate::charity::get_disbursement(&*self.backend, parse_account_id(&charity)?, campaign, index).await
    }

    async fn get_donation_trace(
        &self,
        ext: &Extensions,
        charity: String,
        campaign: String,
        index: u64,
    ) -> RpcResult<Option<crate::charity::DonationTraceView>> {
        self.authorise(ext).await?;
        let campaign = crate::charity::parse_campaign(&campaign)?;
        crate::charity::get_trace(&*self.backend, parse_account_id(&charity)?, campaign, index).await
    }

    async fn get_trace_batch(
        &self,
        ext: &Extensions,
        owner: String,
        id: String,
    ) -> RpcResult<Option<crate::traceability::TraceBatchView>> {
        self.authorise(ext).await?;
        let id = crate::traceability::parse_batch_id(&id)?;
        crate::traceability::get_batch(&*self.backend, parse_account_id(&owner)?, id, true).await
    }

    async fn get_trace_history(
        &self,
        ext: &Extensions,
        owner: String,
        id: String,
    ) -> RpcResult<Vec<crate::traceability::TraceBatchView>> {
        self.authorise(ext).await?;
        let id = crate::traceability::parse_batch_id(&id)?;
        crate::traceability::get_history(&*self.backend, parse_account_id(&owner)?, id).await
    }

    async fn get_trace_bundle(
        &self,
        ext: &Extensions,
        owner: String,
        id: String,
        anchor_epoch: u64,
    ) -> RpcResult<formica_verify::RecordBundle> {
        self.authorise(ext).await?;
        let id = crate::traceability::parse_batch_id(&id)?;
        crate::proofs::trace_bundle(&*self.backend, parse_account_id(&owner)?, id, anchor_epoch).await
    }

    async fn get_deposit(&self, ext: &Extensions, hash: String) -> RpcResult<Option<crate::notary::DepositView>> {
        self.authorise(ext).await?;
        crate::notary::get_deposit(&*self.backend, crate::notary::parse_hash(&hash, "hash")?).await
    }

    async fn verify_document(
        &self,
        ext: &Extensions,
        hash: String,
        proof: Option<crate::notary::BatchProofView>,
    ) -> RpcResult<crate::notary::VerificationView> {
        self.authorise(ext).await?;
        crate::notary::verify_document(&*self.backend, crate::notary::parse_hash(&hash, "document hash")?, proof).await
    }

    async fn get_certificate(&self, ext: &Extensions, id: String) -> RpcResult<Option<crate::notary::CertificateView>> {
        self.authorise(ext).await?;
        crate::notary::get_certificate(&*self.backend, crate::notary::parse_hash(&id, "certificate id")?).await
    }

    async fn get_contract(
        &self,
        ext: &Extensions,
        address: String,
    ) -> RpcResult<Option<crate::contracts::ContractView>> {
        self.authorise(ext).await?;
        crate::contracts::get_contract(&*self.backend, parse_account_id(&address)?).await
    }

    async fn query_contract(
        &self,
        ext: &Extensions,
        contract: String,
        method: String,
        input: String,
        caller: Option<String>,
        gas_limit: Option<u64>,
    ) -> RpcResult<crate::contracts::QueryView> {
        self.authorise(ext).await?;
        let caller = caller.as_deref().map(parse_account_id).transpose()?;
        let contract = parse_account_id(&contract)?;
        crate::contracts::query_contract(&*self.backend, contract, method, input, caller, gas_limit).await
    }

    async fn subscribe_events(
        &self,
        pending: PendingSubscriptionSink,
        ext: &Extensions,
        filter: crate::contracts::EventFilter,
    ) -> SubscriptionResult {
        if let Err(error) = self.authorise(ext).await {
            pending.reject(error).await;
            return Ok(());
        }
        crate::contracts::subscribe_events(&*self.backend, pending, filter).await
    }

    async fn status(&self) -> RpcResult<StatusView> {
        let status = self.backend.status().await?;
        Ok(StatusView::from(&status))
    }

    async fn health(&self) -> RpcResult<HealthView> {
        let status = self.backend.status().await?;
        Ok(HealthView { status: "ok".into(), height: status.height })
    }

    async fn subscribe_finalized_blocks(
        &self,
        pending: PendingSubscriptionSink,
        ext: &Extensions,
    ) -> SubscriptionResult {
        if let Err(error) = self.authorise(ext).await {
            pending.reject(error).await;
            return Ok(());
        }
        let mut blocks = self.backend.finalized_blocks();
        let sink = pending.accept().await?;
        while let Some(block) = next_block(&sink, &mut blocks).await? {
            let message = serde_json::value::to_raw_value(&BlockView::from(&block.block))?;
            if sink.send(message).await.is_err() {
                break;
            }
        }
        Ok(())
    }

    async fn subscribe_transaction(
        &self,
        pending: PendingSubscriptionSink,
        ext: &Extensions,
        hash: String,
    ) -> SubscriptionResult {
        if let Err(error) = self.authorise(ext).await {
            pending.reject(error).await;
            return Ok(());
        }
        let hash = match parse_hash(&hash) {
            Ok(hash) => hash,
            Err(error) => {
                pending.reject(error).await;
                return Ok(());
            }
        };
        // Subscribe before looking the transaction up, so a block finalized in between is not missed.
        let mut blocks = self.backend.finalized_blocks();
        let known = match self.backend.transaction(hash).await {
            Ok(known) => known,
            Err(error) => {
                pending.reject(ErrorObjectOwned::from(error)).await;
                return Ok(());
            }
        };
        let sink = pending.accept().await?;
        let receipt = match known {
            Some(record) => Some(ReceiptView::from_record(&record)),
            None => self.await_receipt(&sink, &mut blocks, hash).await?,
        };
        if let Some(receipt) = receipt {
            // The subscriber may have gone; there is nobody left to tell.
            let _ = sink.send(serde_json::value::to_raw_value(&receipt)?).await;
        }
        Ok(())
    }
}

impl<B: Backend> Handler<B> {
    /// Watches finalized blocks for `hash`; `None` if the subscriber left first.
    async fn await_receipt(
        &self,
        sink: &SubscriptionSink,
        blocks: &mut broadcast::Receiver<Arc<FinalizedBlock>>,
        hash: Hash,
    ) -> Result<Option<ReceiptView>, String> {
        loop {
            let received = tokio::select! {
                _ = sink.closed() => return Ok(None),
                received = blocks.recv() => received,
            };
            match received {
                Ok(block) => {
                    if let Some(receipt) = ReceiptView::find_in(&block, &hash) {
                        return Ok(Some(receipt));
                    }
                }
                // Blocks were skipped: the index has whatever they finalized.
                Err(RecvError::Lagged(_)) => {
                    let record = self.backend.transaction(hash).await.map_err(|error| error.to_string())?;
                    if let Some(record) = record {
                        return Ok(Some(ReceiptView::from_record(&record)));
                    }
                }
                Err(RecvError::Closed) => {
                    return Err("the node stopped publishing finalized blocks".into());
                }
            }
        }
    }
}

/// The next finalized block for a subscriber; `None` once the subscriber has left.
async fn next_block(
    sink: &SubscriptionSink,
    blocks: &mut broadcast::Receiver<Arc<FinalizedBlock>>,
) -> Result<Option<Arc<FinalizedBlock>>, String> {
    tokio::select! {
        _ = sink.closed() => Ok(None),
        received = blocks.recv() => match received {
            Ok(block) => Ok(Some(block)),
            Err(RecvError::Lagged(missed)) => Err(format!(
                "subscriber fell {missed} blocks behind; resubscribe and fetch the gap with formica_getBlockByHeight"
            )),
            Err(RecvError::Closed) => Err("the node stopped publishing finalized blocks".into()),
        },
    }
}
