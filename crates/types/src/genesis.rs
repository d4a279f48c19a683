//! The genesis description: chain id, validators, funded accounts and chain parameters.
//!
//! Operators exchange this file (JSON). Every node of a chain must hold the same one; the
//! genesis block commits to it through the state root of the accounts it funds and the
//! validator set it names.

use crate::contract::GasParameters;
use crate::governance::{ApprovalRule, ConsensusTimeouts, ORG_ADMINS_MAX, OrgId, OrgName};
use crate::keys::{AccountKey, Role};
use crate::nodes::{Node, NodeAddress, NodeRole, NodeSet, VALIDATORS_MAX};
use crate::primitives::{AccountId, Amount, ChainId, PublicKey, public_key_from_hex, public_key_to_hex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One validator as its organisation hands it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    /// A human name (the organisation).
    pub name: String,
    /// The validator's ed25519 public key, `0x` hex.
    pub public_key: String,
    /// Where peers reach its p2p port (`host:port`).
    pub p2p_address: String,
}

/// An account funded at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    /// The account's key: `scheme:0xhex` (`ed25519`, `sm2`, `secp256k1`), or bare hex for ed25519.
    pub public_key: String,
    pub balance: Amount,
}

/// A role granted at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisRole {
    pub account: AccountId,
    pub role: Role,
}

/// A member organisation at genesis. Members are numbered from 1 in the order given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisOrganisation {
    /// A short on-chain name (1 to 31 bytes).
    pub name: OrgName,
    /// The accounts that act for the organisation in governance (1 to 8).
    pub admins: Vec<AccountId>,
    /// How many admins must approve for the organisation to approve.
    #[serde(default = "default_one")]
    pub admin_threshold: u8,
}

fn default_one() -> u8 {
    1
}

fn default_proposal_expiry_blocks_max() -> u32 {
    Genesis::PROPOSAL_EXPIRY_BLOCKS_MAX_DEFAULT
}

fn default_recovery_delay_min_blocks() -> u32 {
    Genesis::RECOVERY_DELAY_MIN_BLOCKS_DEFAULT
}

fn default_true() -> bool {
    true
}

/// The genesis of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: ChainId,
    /// Milliseconds since the Unix epoch: the genesis block's timestamp.
    pub timestamp_ms: u64,
    pub validators: Vec<GenesisValidator>,
    pub accounts: Vec<GenesisAccount>,
    /// The fee every transaction pays, in the native asset's smallest unit.
    pub fee_per_transaction: Amount,
    /// The account that receives fees (must be one of `accounts`).
    pub fee_collector: AccountId,
    /// The most transactions a block may carry.
    pub block_transactions_max: u32,
    /// Roles held from genesis on (for example the regulators who may freeze accounts).
    #[serde(default)]
    pub roles: Vec<GenesisRole>,
    /// The shortest recovery delay an account may configure, in blocks.
    #[serde(default = "default_recovery_delay_min_blocks")]
    pub recovery_delay_min_blocks: u32,
    /// Whether a frozen account may still receive transfers.
    #[serde(default = "default_true")]
    pub frozen_accounts_receive: bool,
    /// The member organisations that govern the chain.
    #[serde(default)]
    pub organisations: Vec<GenesisOrganisation>,
    /// How many members must approve a proposal (default: more than two thirds).
    #[serde(default)]
    pub approval_rule: ApprovalRule,
    /// The longest a proposal may stay open, in blocks.
    #[serde(default = "default_proposal_expiry_blocks_max")]
    pub proposal_expiry_blocks_max: u32,
    /// Whether only admins of member organisations may create accounts (otherwise any funded
    /// account may). Governance can change it.
    #[serde(default)]
    pub account_creation_members_only: bool,
    /// Blocks per consensus epoch. Validator-set changes take effect at epoch boundaries.
    #[serde(default = "default_epoch_blocks")]
    pub epoch_blocks: u64,
    /// The consensus timeouts of the first epoch (governance can change them).
    #[serde(default)]
    pub consensus_timeouts: ConsensusTimeouts,
    /// Whether reading and submitting over RPC is limited to member organisations from genesis
    /// on (governance can change it).
    #[serde(default)]
    pub api_members_only: bool,
    /// The price of one unit of contract gas (governance can change it; zero: contracts pay only
    /// the flat fee).
    #[serde(default)]
    pub gas_price: Amount,
    /// The most gas one transaction may ask for (governance can change it).
    #[serde(default = "default_tx_gas_max")]
    pub tx_gas_max: u64,
    /// The most gas the transactions of one block may ask for together (governance can change it).
    #[serde(default = "default_block_gas_max")]
    pub block_gas_max: u64,
    /// The most bytes of a block's encoding (headers and transactions).
    #[serde(default = "default_block_bytes_max")]
    pub block_bytes_max: u32,
}

fn default_tx_gas_max() -> u64 {
    Genesis::TX_GAS_MAX_DEFAULT
}

fn default_block_gas_max() -> u64 {
    Genesis::BLOCK_GAS_MAX_DEFAULT
}

fn default_block_bytes_max() -> u32 {
    Genesis::BLOCK_BYTES_MAX_DEFAULT
}

fn default_epoch_blocks() -> u64 {
    Genesis::EPOCH_BLOCKS_DEFAULT
}

/// A genesis file that cannot start a chain.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GenesisError {
    #[error("genesis names no validators")]
    NoValidators,
    #[error("validator {name}: {reason}")]
    Validator { name: String, reason: String },
    #[error("validator key {0} appears twice")]
    DuplicateValidator(String),
    #[error("account {public_key}: {reason}")]
    Account { public_key: String, reason: String },
    #[error("account {0} is funded twice")]
    DuplicateAccount(String),
    #[error("the fee collector {0} is not a genesis account")]
    FeeCollectorMissing(AccountId),
    #[error("total genesis supply overflows")]
    SupplyOverflow,
    #[error("block_transactions_max must be between 1 and {max}")]
    BlockTransactionsMax { max: u32 },
    #[error("role {role} is granted to {account} twice")]
    DuplicateRole { account: AccountId, role: Role },
    #[error("organisation {name}: {reason}")]
    Organisation { name: String, reason: String },
    #[error("the approval rule must satisfy 0 <= numerator < denominator")]
    ApprovalRule,
    #[error("at most {max} validators")]
    TooManyValidators { max: u16 },
    #[error("epoch_blocks must be between {min} and {max}")]
    EpochBlocks { min: u64, max: u64 },
    #[error("consensus_timeouts: {0}")]
    ConsensusTimeouts(String),
    #[error("gas limits must satisfy 0 < tx_gas_max <= block_gas_max")]
    GasLimits,
    #[error("block_bytes_max must be between {min} and {max}")]
    BlockBytesMax { min: u32, max: u32 },
}

impl Genesis {
    /// The largest `block_transactions_max` a genesis may set.
    pub const BLOCK_TRANSACTIONS_MAX: u32 = 50_000;
    /// The default shortest recovery delay: about a minute of blocks at light load.
    pub const RECOVERY_DELAY_MIN_BLOCKS_DEFAULT: u32 = 100;
    /// The default longest proposal lifetime: about a day of blocks at two a second.
    pub const PROPOSAL_EXPIRY_BLOCKS_MAX_DEFAULT: u32 = 172_800;
    /// The default epoch length: about eight minutes of blocks at two a second.
    pub const EPOCH_BLOCKS_DEFAULT: u64 = 1_000;
    /// The shortest epoch a genesis may set.
    pub const EPOCH_BLOCKS_MIN: u64 = 10;
    /// The longest epoch a genesis may set.
    pub const EPOCH_BLOCKS_MAX: u64 = 1_000_000;
    /// Default gas per transaction: about 0.1 s of contract work (a deployment of the largest
    /// module costs ~26 million).
    pub const TX_GAS_MAX_DEFAULT: u64 = 100_000_000;
    /// Default gas per block: about a second of contract work.
    pub const BLOCK_GAS_MAX_DEFAULT: u64 = 1_000_000_000;
    /// Default block size: 8 MiB (tens of thousands of transfers, or about thirty of the largest
    /// deployments).
    pub const BLOCK_BYTES_MAX_DEFAULT: u32 = 8 * 1024 * 1024;
    /// The smallest block size a genesis may set: one largest transaction must fit.
    pub const BLOCK_BYTES_MIN: u32 = 512 * 1024;
    /// The largest block size a genesis may set (a block is one p2p message).
    pub const BLOCK_BYTES_MAX: u32 = 64 * 1024 * 1024;

    /// Checks the genesis and returns the validators' keys in the order given.
    pub fn validate(&self) -> Result<Vec<PublicKey>, GenesisError> {
        if self.validators.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        if self.validators.len() > usize::from(VALIDATORS_MAX) {
            return Err(GenesisError::TooManyValidators { max: VALIDATORS_MAX });
        }
        if !(Self::EPOCH_BLOCKS_MIN..=Self::EPOCH_BLOCKS_MAX).contains(&self.epoch_blocks) {
            return Err(GenesisError::EpochBlocks { min: Self::EPOCH_BLOCKS_MIN, max: Self::EPOCH_BLOCKS_MAX });
        }
        self.consensus_timeouts.check().map_err(GenesisError::ConsensusTimeouts)?;
        if self.block_transactions_max == 0 || self.block_transactions_max > Self::BLOCK_TRANSACTIONS_MAX {
            return Err(GenesisError::BlockTransactionsMax { max: Self::BLOCK_TRANSACTIONS_MAX });
        }
        if !(Self::BLOCK_BYTES_MIN..=Self::BLOCK_BYTES_MAX).contains(&self.block_bytes_max) {
            return Err(GenesisError::BlockBytesMax { min: Self::BLOCK_BYTES_MIN, max: Self::BLOCK_BYTES_MAX });
        }
        if !self.gas_parameters().is_valid() {
            return Err(GenesisError::GasLimits);
        }
        let mut seen = BTreeSet::new();
        let mut keys = Vec::with_capacity(self.validators.len());
        for validator in &self.validators {
            let key = public_key_from_hex(&validator.public_key)
                .map_err(|error| GenesisError::Validator { name: validator.name.clone(), reason: error.to_string() })?;
            if validator.p2p_address.parse::<std::net::SocketAddr>().is_err() {
                return Err(GenesisError::Validator {
                    name: validator.name.clone(),
                    reason: format!("p2p_address {:?} is not host:port", validator.p2p_address),
                });
            }
            if !seen.insert(key.clone()) {
                return Err(GenesisError::DuplicateValidator(validator.public_key.clone()));
            }
            keys.push(key);
        }
        let accounts = self.funded_accounts()?;
        if !accounts.iter().any(|(key, _)| key.account_id() == self.fee_collector) {
            return Err(GenesisError::FeeCollectorMissing(self.fee_collector));
        }
        let mut roles = BTreeSet::new();
        for grant in &self.roles {
            if !roles.insert((grant.account, grant.role)) {
                return Err(GenesisError::DuplicateRole { account: grant.account, role: grant.role });
            }
        }
        if !self.approval_rule.is_valid() {
            return Err(GenesisError::ApprovalRule);
        }
        let mut names = BTreeSet::new();
        let mut admins = BTreeSet::new();
        for organisation in &self.organisations {
            let fail = |reason: &str| GenesisError::Organisation {
                name: organisation.name.to_string(),
                reason: reason.to_string(),
            };
            if !names.insert(organisation.name) {
                return Err(fail("the name is used twice"));
            }
            let count = organisation.admins.len();
            if count == 0 || count > usize::from(ORG_ADMINS_MAX) {
                return Err(fail(&format!("needs 1 to {ORG_ADMINS_MAX} admins")));
            }
            if organisation.admin_threshold == 0 || usize::from(organisation.admin_threshold) > count {
                return Err(fail("admin_threshold must be between 1 and the number of admins"));
            }
            for admin in &organisation.admins {
                if !admins.insert(*admin) {
                    return Err(fail(&format!("account {admin} is an admin of another organisation already")));
                }
            }
        }
        Ok(keys)
    }

    /// The funded accounts, parsed, in the order given.
    pub fn funded_accounts(&self) -> Result<Vec<(AccountKey, Amount)>, GenesisError> {
        let mut seen = BTreeSet::new();
        let mut supply = Amount::ZERO;
        let mut accounts = Vec::with_capacity(self.accounts.len());
        for account in &self.accounts {
            let key = AccountKey::parse(&account.public_key).map_err(|error| GenesisError::Account {
                public_key: account.public_key.clone(),
                reason: error.to_string(),
            })?;
            if !seen.insert(key.account_id()) {
                return Err(GenesisError::DuplicateAccount(account.public_key.clone()));
            }
            supply = supply.checked_add(account.balance).ok_or(GenesisError::SupplyOverflow)?;
            accounts.push((key, account.balance));
        }
        Ok(accounts)
    }

    /// The total native supply created at genesis.
    pub fn total_supply(&self) -> Result<Amount, GenesisError> {
        self.funded_accounts()?
            .iter()
            .try_fold(Amount::ZERO, |total, (_, balance)| total.checked_add(*balance))
            .ok_or(GenesisError::SupplyOverflow)
    }

    /// The node registry at genesis: every genesis validator, run by the genesis organisation of
    /// the same name if there is one. Call after [`Genesis::validate`].
    pub fn nodes(&self) -> NodeSet {
        NodeSet(
            self.validators
                .iter()
                .map(|validator| {
                    let org = self
                        .organisations
                        .iter()
                        .position(|organisation| organisation.name.as_str() == validator.name)
                        .map_or(OrgId::NONE, |index| OrgId(index as u32 + 1));
                    Node {
                        key: public_key_from_hex(&validator.public_key).expect("validated genesis"),
                        org,
                        address: NodeAddress(validator.p2p_address.parse().expect("validated genesis")),
                        role: NodeRole::Validator,
                    }
                })
                .collect(),
        )
    }

    /// The gas parameters at genesis.
    pub fn gas_parameters(&self) -> GasParameters {
        GasParameters { price: self.gas_price, tx_gas_max: self.tx_gas_max, block_gas_max: self.block_gas_max }
    }

    /// Renders a validator key for the genesis file.
    pub fn key_to_hex(key: &PublicKey) -> String {
        public_key_to_hex(key)
    }
}
