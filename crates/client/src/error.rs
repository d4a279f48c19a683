//! The client's error type: RPC refusals keep their stable code.

use formica_rpc::codes;
use formica_types::AccountId;
use std::time::Duration;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is neither `http(s)://` nor `ws(s)://`.
    #[error("unsupported url {url:?}: expected http://, https://, ws:// or wss://")]
    UnsupportedUrl { url: String },
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The node answered with a JSON-RPC error; `code` is one of [`formica_rpc::codes`].
    #[error("rpc error {code}: {message}")]
    Rpc { code: i32, message: String, data: Option<serde_json::Value> },
    /// The request did not get an answer (connection lost, request timeout, body too large, ...).
    #[error("transport: {reason}")]
    Transport { reason: String },
    /// The node answered with something this client cannot read.
    #[error("invalid response from the node: {reason}")]
    InvalidResponse { reason: String },
    #[error("account {account} does not exist")]
    AccountNotFound { account: AccountId },
    #[error("the finalized height is too close to the maximum to set an expiry")]
    ExpiryOverflow,
    /// What the node served does not prove what it claims (finality, a header, a proof).
    #[error("not verified: {0}")]
    Unverified(#[from] crate::finality::FinalityError),
    #[error("timed out after {} ms waiting for {what}", .timeout.as_millis())]
    Timeout { what: String, timeout: Duration },
}

/// `Result` with a [`ClientError`].
pub type Result<T> = std::result::Result<T, ClientError>;

impl ClientError {
    /// The JSON-RPC error code, if the node refused the call.
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the node refused a transaction for a reason retrying the same bytes cannot fix.
    pub fn is_permanent_refusal(&self) -> bool {
        matches!(
            self.code(),
            Some(
                codes::MALFORMED
                    | codes::OVERSIZED
                    | codes::WRONG_CHAIN_ID
                    | codes::BAD_SIGNATURE
                    | codes::UNAUTHORISED
                    | codes::NONCE_TOO_LOW
                    | codes::EXPIRED
            )
        )
    }
}

impl From<jsonrpsee::core::ClientError> for ClientError {
    fn from(error: jsonrpsee::core::ClientError) -> Self {
        use jsonrpsee::core::ClientError as Inner;
        match error {
            Inner::Call(object) => Self::Rpc {
                code: object.code(),
                message: object.message().to_string(),
                data: object.data().and_then(|raw| serde_json::from_str(raw.get()).ok()),
            },
            Inner::ParseError(error) => Self::InvalidResponse { reason: error.to_string() },
            other => Self::Transport { reason: other.to_string() },
        }
    }
}
