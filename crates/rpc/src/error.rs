//! Stable JSON-RPC error codes and the mapping of typed errors onto them.

use crate::backend::{BackendError, SubmitError};
use formica_types::hash_to_hex;
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{Value, json};

/// The error codes of the API. They are part of the interface: clients match on them, so a code
/// never changes meaning. See the table in the crate documentation.
pub mod codes {
    pub const MALFORMED: i32 = -32001;
    pub const OVERSIZED: i32 = -32002;
    pub const WRONG_CHAIN_ID: i32 = -32003;
    pub const BAD_SIGNATURE: i32 = -32004;
    pub const UNAUTHORISED: i32 = -32005;
    pub const NONCE_TOO_LOW: i32 = -32006;
    pub const NONCE_TOO_FAR_AHEAD: i32 = -32007;
    pub const EXPIRED: i32 = -32008;
    pub const INSUFFICIENT_BALANCE: i32 = -32009;
    pub const UNKNOWN_SENDER: i32 = -32010;
    pub const FEE_TOO_LOW: i32 = -32011;
    pub const MEMPOOL_FULL: i32 = -32012;
    pub const DUPLICATE: i32 = -32013;
    pub const SENDER_FROZEN: i32 = -32014;
    /// A contract transaction asks for more gas than the chain's per-transaction limit.
    pub const GAS_LIMIT_TOO_HIGH: i32 = -32015;
    pub const UNAVAILABLE: i32 = -32030;
    /// The chain limits the API to member organisations and the request's token is missing or
    /// not valid (the message says which).
    pub const ACCESS_DENIED: i32 = -32040;
    /// An administrative call without the node's admin secret.
    pub const ADMIN_UNAUTHORISED: i32 = -32041;
    /// The client's address sent more requests than the server's rate limit allows; it may
    /// retry once its allowance refills (the message gives the rate).
    pub const RATE_LIMITED: i32 = -32042;
    /// The JSON-RPC standard code for bad parameters (bad hex, wrong length, ...).
    pub const INVALID_PARAMS: i32 = jsonrpsee::types::error::INVALID_PARAMS_CODE;
}

impl SubmitError {
    /// The stable JSON-RPC code of this refusal.
    pub fn code(&self) -> i32 {
        match self {
            Self::Malformed { .. } => codes::MALFORMED,
            Self::Oversized { .. } => codes::OVERSIZED,
            Self::WrongChainId { .. } => codes::WRONG_CHAIN_ID,
            Self::BadSignature => codes::BAD_SIGNATURE,
            Self::Unauthorised { .. } => codes::UNAUTHORISED,
            Self::NonceTooLow { .. } => codes::NONCE_TOO_LOW,
            Self::NonceTooFarAhead { .. } => codes::NONCE_TOO_FAR_AHEAD,
            Self::Expired { .. } => codes::EXPIRED,
            Self::InsufficientBalance { .. } => codes::INSUFFICIENT_BALANCE,
            Self::UnknownSender { .. } => codes::UNKNOWN_SENDER,
            Self::FeeTooLow { .. } => codes::FEE_TOO_LOW,
            Self::MempoolFull { .. } => codes::MEMPOOL_FULL,
            Self::Duplicate { .. } => codes::DUPLICATE,
            Self::SenderFrozen { .. } => codes::SENDER_FROZEN,
            Self::Unavailable(_) => codes::UNAVAILABLE,
            Self::GasLimitTooHigh { .. } => codes::GAS_LIMIT_TOO_HIGH,
        }
    }

    /// The variant's data as JSON (amounts as decimal strings), for the error object's `data`.
    pub(crate) fn data(&self) -> Option<Value> {
        let data = match self {
            Self::Malformed { reason } => json!({ "reason": reason }),
            Self::Oversized { size, limit } => json!({ "size": size, "limit": limit }),
            Self::WrongChainId { expected, got } => {
                json!({ "expected": expected.get(), "got": got.get() })
            }
            Self::BadSignature => return None,
            Self::Unauthorised { sender, reason } => json!({ "sender": sender.to_hex(), "reason": reason }),
            Self::UnknownSender { sender } | Self::SenderFrozen { sender } => {
                json!({ "sender": sender.to_hex() })
            }
            Self::NonceTooLow { expected, got } => {
                json!({ "expected": expected.get(), "got": got.get() })
            }
            Self::NonceTooFarAhead { expected, got, window } => {
                json!({ "expected": expected.get(), "got": got.get(), "window": window })
            }
            Self::Expired { expiry_height, current_height } => {
                json!({ "expiry_height": expiry_height.get(), "current_height": current_height.get() })
            }
            Self::InsufficientBalance { needed, available } => {
                json!({ "needed": needed.get().to_string(), "available": available.get().to_string() })
            }
            Self::FeeTooLow { fee_limit, minimum } => {
                json!({ "fee_limit": fee_limit.get().to_string(), "minimum": minimum.get().to_string() })
            }
            Self::MempoolFull { capacity } => json!({ "capacity": capacity }),
            Self::Duplicate { hash } => json!({ "hash": hash_to_hex(hash) }),
            Self::Unavailable(_) => return None,
            Self::GasLimitTooHigh { limit, max } => json!({ "limit": limit, "max": max }),
        };
        Some(data)
    }
}

impl From<SubmitError> for ErrorObjectOwned {
    fn from(error: SubmitError) -> Self {
        ErrorObjectOwned::owned(error.code(), error.to_string(), error.data())
    }
}

impl From<BackendError> for ErrorObjectOwned {
    fn from(error: BackendError) -> Self {
        ErrorObjectOwned::owned(codes::UNAVAILABLE, format!("unavailable: {error}"), None::<()>)
    }
}

/// A parameter the caller got wrong (`-32602`), named so the message says which.
pub(crate) fn invalid_params(parameter: &str, reason: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(codes::INVALID_PARAMS, format!("invalid {parameter}: {reason}"), None::<()>)
}
