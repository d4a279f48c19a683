//! Formica's JSON-RPC 2.0 API over HTTP and WebSocket (one port serves both).
//!
//! This crate owns the wire interface between nodes and everything outside them: the API trait
//! (`FormicaApi`, from which jsonrpsee generates both [`FormicaApiServer`] and the typed
//! [`FormicaApiClient`]), the JSON views ([`types`]), the error codes ([`codes`]), and the
//! server ([`serve`]) over a [`Backend`] that the node implements. It holds no state of its own:
//! nothing here survives a restart, and every answer comes from the backend.
//!
//! # Methods
//! `formica_sendTransaction`, `formica_sendTransactions` (up to [`SEND_TRANSACTIONS_MAX`] in one
//! call, their signatures checked in one batch; one [`types::SubmitOutcome`] each),
//! `formica_getTransaction`, `formica_getTransactionReceipt`,
//! `formica_getBlockByHeight`, `formica_getBlockByHash`, `formica_getAccount`,
//! `formica_getAccountProof`, `formica_getFinality` (a block's finalization certificate, the
//! headers linking the block to it, and the epoch's committee: [`Finality`]), `formica_status`,
//! `formica_health`; subscriptions (WebSocket only)
//! `formica_subscribeFinalizedBlocks` / `formica_unsubscribeFinalizedBlocks` (notifications
//! `formica_finalizedBlock`) and `formica_subscribeTransaction` / `formica_unsubscribeTransaction`
//! (one `formica_transactionReceipt` notification when the transaction is final).
//! Contracts ([`contracts`]): `formica_getGasParameters`, `formica_getContract`, `formica_queryContract` (read-only, gas capped
//! at [`contracts::QUERY_GAS_MAX`], input at most 16 KiB) and the subscription
//! `formica_subscribeEvents` / `formica_unsubscribeEvents` (notifications `formica_contractEvent`,
//! filtered by contract and topics). Receipts carry `gas_used` and their events.
//! Assets ([`assets`]): `formica_getAsset`, `formica_getAssetBalance`, `formica_getAttestation`
//! (the native asset `FMC` answers from the account records). Invoices ([`invoices`]):
//! `formica_getInvoice`, `formica_getInvoiceByDocument`. Remittance ([`remittance`]):
//! `formica_getCorridor`, `formica_getRemittance`, `formica_getSanctioned`. Supply-chain finance
//! ([`finance`]): `formica_getReceivable`, `formica_getReceivablePart`, `formica_getReceivableTrace`.
//! Charity tracking ([`charity`]): `formica_getCampaign`, `formica_getDonation`,
//! `formica_getDisbursementProposal`, `formica_getDisbursement`, `formica_getDonationTrace`.
//! Product traceability ([`traceability`]): `formica_getTraceBatch`, `formica_getTraceHistory`.
//! Notary ([`notary`]): `formica_getDeposit`, `formica_verifyDocument`, `formica_getCertificate`.
//! `GET /health` answers `{"status":"ok","height":N}` with HTTP 200 (500 when unavailable).
//!
//! # JSON conventions
//! Amounts, balances and fees are decimal strings; heights, nonces and counts are numbers;
//! hashes, keys and account ids are `0x` hex.
//!
//! # Error codes
//! Stable: clients match on them. Refusals of `formica_sendTransaction` ([`SubmitError`]) carry
//! their variant's fields in the error object's `data`; `formica_sendTransactions` returns the
//! same error object for each refused transaction inside its outcome.
//!
//! | code | meaning |
//! | --- | --- |
//! | -32001 | malformed transaction (bad hex or encoding) |
//! | -32002 | transaction larger than the limit |
//! | -32003 | wrong chain id |
//! | -32004 | invalid signature |
//! | -32005 | signatures do not authorise the sender (unknown key, weight below the threshold, recovery-key misuse) |
//! | -32006 | nonce too low (already used, replay) |
//! | -32007 | nonce too far ahead of the account's |
//! | -32008 | expired (expiry height passed) |
//! | -32009 | insufficient balance for amount plus fee limit |
//! | -32010 | unknown sender account |
//! | -32011 | fee limit below the minimum fee |
//! | -32012 | mempool full |
//! | -32013 | duplicate (already pending) |
//! | -32014 | sender account is frozen |
//! | -32030 | node unavailable (shutting down, storage failure) |
//! | -32040 | access denied: the chain limits the API to member organisations and the token is missing or invalid ([`access`]) |
//! | -32041 | administrative call without the node's admin secret ([`admin`]) |
//! | -32042 | rate limited: this client address sent more requests than [`ServerConfig::rate_limit`] allows |
//! | -32602 | invalid parameters (bad hex, wrong length) |
//!
//! # Limits
//! Request and response bodies, connections (TCP connections, WebSockets included), subscriptions
//! per connection, batch length, requests per second per client address, and the time a client
//! may take to send a request are bounded by [`ServerConfig`]; a body larger than the limit is
//! refused from its `Content-Length` before it is read; submitted transactions are size-checked
//! before they are decoded.

pub mod access;
pub mod admin;
mod api;
pub mod assets;
mod backend;
pub mod charity;
pub mod contracts;
mod error;
pub mod finance;
pub mod invoices;
pub mod notary;
mod proofs;
mod rate_limit;
pub mod remittance;
mod server;
pub mod traceability;
mod transport;
pub mod types;
pub mod web;

pub use api::{FormicaApiClient, FormicaApiServer};
pub use backend::{
    AccountDetails, AccountProof, Backend, BackendError, ContractDetails, ContractQuery, FINALITY_HEADERS_MAX,
    Finality, FinalizedBlock, PROVEN_KEYS_MAX, ProvenValues, QueryResult, Status, SubmitError, TransactionRecord,
};
pub use error::codes;
pub use rate_limit::RateLimit;
pub use server::{
    HEALTH_PATH, RATE_LIMIT_DEFAULT, RunningServer, SEND_TRANSACTIONS_MAX, ServeError, ServerConfig,
    decode_transaction_hex, rpc_methods, serve,
};
