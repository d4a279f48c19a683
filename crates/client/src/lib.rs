//! The Rust SDK of Formica: talk to a node through its JSON-RPC API.
//!
//! Accounts sign with keys of any scheme Formica supports ([`AccountSigner`]: Ed25519, SM2,
//! secp256k1); a multi-key account signs with as many of its keys as its threshold needs
//! ([`Client::build_signed`]).
//! This crate owns the client side of the API: connecting ([`Client::connect`] to `http://` or
//! `ws://`; the node serves both on one port), typed queries returning the views of
//! [`formica_rpc::types`], building and signing transactions (chain id from `status`, the
//! account's finalized nonce, an expiry past the finalized height), submitting them, and waiting
//! for finality ([`Client::wait_for_receipt`]: a WebSocket subscription, or polling when that is
//! not possible). It also checks what a node says where it can without trusting it:
//! [`verify_block_header`] recomputes a block's digest from its encoded header, and
//! [`finality`] checks that a block was finalized by a quorum of its epoch's validators
//! ([`check_finality`]), following validator-set changes from a trust anchor (the genesis file or
//! a checkpoint) across epochs ([`FinalityChecker`], [`Client::verified_header`]).
//! [`Client::verified_account`] checks an account's Merkle proof against a header proven final
//! that way, so its verdict depends on nothing the node says.
//!
//! Errors are [`ClientError`]; a refusal by the node keeps its stable JSON-RPC code
//! ([`ClientError::code`], compared with [`formica_rpc::codes`]). Every call is bounded by
//! [`ClientConfig::request_timeout`] and responses by [`ClientConfig::max_response_bytes`].
//! The client keeps no state between calls apart from its connection.

mod client;
mod error;
pub mod finality;

pub use client::{Client, ClientConfig, ProofCheck, check_account_proof, websocket_url};
pub use error::{ClientError, Result};
pub use finality::{Committee, FinalityChecker, FinalityError, check_finality};
pub use formica_crypto::{AccountSigner, KeyFile};
pub use formica_rpc::codes;
pub use formica_rpc::types;

use commonware_codec::DecodeExt;
use formica_rpc::types::BlockView;
use formica_types::Header;
use formica_types::KeyScheme;

/// Whether `view`'s `header_hex` decodes to a header whose digest is `view.hash` and whose
/// fields are the ones the view shows. A `true` proves the view is internally consistent, not
/// that the block is finalized (that needs the validators' certificate).
pub fn verify_block_header(view: &BlockView) -> bool {
    let Ok(bytes) = types::codec::from_hex(&view.header_hex) else {
        return false;
    };
    if bytes.len() > Header::ENCODED_BYTES_MAX {
        return false;
    }
    let Ok(header) = Header::decode(bytes) else {
        return false;
    };
    header.digest() == view.hash
        && header.parent == view.parent
        && header.height == view.height
        && header.view() == view.view
        && header.context.round.epoch().get() == view.epoch
        && header.context.leader == view.leader
        && header.timestamp_ms == view.timestamp_ms
        && header.transactions_root == view.transactions_root
        && header.state_root == view.state_root
        && header.receipts_root == view.receipts_root
        && usize::try_from(view.transaction_count).is_ok_and(|count| count == view.transactions.len())
        && formica_types::merkle_root(&view.transactions) == header.transactions_root
}

/// A fresh account key of `scheme` from the operating system's random source, and its key file.
pub fn generate_key(scheme: KeyScheme) -> (KeyFile, AccountSigner) {
    let signer = AccountSigner::generate(scheme, &mut rand::rng());
    (KeyFile::from_signer(&signer), signer)
}
