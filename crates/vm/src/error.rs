//! Why a contract call or deployment failed.

use formica_types::AccountId;

/// A failed call or deployment. Every variant is a decision every validator takes the same way:
/// messages hold no addresses of the host, no timings and no wasmtime backtraces.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum VmError {
    #[error("out of gas")]
    OutOfGas,
    #[error("wasm stack overflow (all gas of the call is charged)")]
    StackOverflow,
    #[error("memory limit of {limit_bytes} bytes exceeded")]
    MemoryLimit { limit_bytes: usize },
    #[error("{0}")]
    Trap(String),
    #[error("contract reverted: {0}")]
    Reverted(String),
    #[error("invalid module: {0}")]
    InvalidModule(String),
    #[error("module of {size} bytes is over the limit of {limit}")]
    CodeTooLarge { size: usize, limit: usize },
    #[error("no contract at {0}")]
    ContractMissing(AccountId),
    #[error("a contract exists at {0} already")]
    ContractExists(AccountId),
    #[error("contract {0} is frozen")]
    ContractFrozen(AccountId),
    #[error("the contract has no entry point {0:?}")]
    MethodMissing(String),
    #[error("contract {0} is already executing (reentrancy is refused)")]
    Reentrancy(AccountId),
    #[error("contract call depth limit of {0} reached")]
    CallDepth(usize),
    #[error("{what} of {size} is over the limit of {limit}")]
    LimitExceeded { what: &'static str, size: usize, limit: usize },
    #[error("balance too low to move {amount}")]
    InsufficientBalance { amount: u128 },
    #[error("balance overflow")]
    BalanceOverflow,
    #[error("contract accessed memory out of bounds in a host call")]
    MemoryAccess,
    #[error("invalid argument to a host call: {0}")]
    InvalidArgument(&'static str),
    /// The chain could not serve a read. Not a contract failure: the caller decides (execution
    /// reads the missing record and runs the transaction again, or stops on a storage fault).
    #[error("state backend: {0}")]
    Backend(#[from] BackendError),
}

impl VmError {
    /// Whether the error comes from the state backend rather than from the contract.
    pub fn is_backend(&self) -> bool {
        matches!(self, VmError::Backend(_))
    }
}

/// The chain's state could not serve a read.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum BackendError {
    /// The record is not among those read for this pass (execution reads it and runs again).
    #[error("record not read: {0}")]
    Unread(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(String),
    /// The chain does not offer this operation (a backend that cannot serve it). A
    /// decision every validator takes the same way: the call fails with this message.
    #[error("not supported by the chain: {0}")]
    Unsupported(String),
}

/// Results of this crate.
pub type Result<T, E = VmError> = std::result::Result<T, E>;
