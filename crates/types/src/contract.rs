//! Contracts as the chain sees them: who administers one, its state record, the events it emits,
//! the gas parameters governance sets, and the size limits every decoder enforces.
//!
//! The VM (`formica-vm`) takes its default limits from the constants here, so a transaction that
//! decodes never carries more than the VM accepts.

use crate::governance::OrgId;
use crate::primitives::{AccountId, Amount};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest contract module (bytes) a deployment or upgrade may carry.
pub const CONTRACT_CODE_BYTES_MAX: usize = 256 * 1024;
/// The largest call or constructor input (bytes).
pub const CONTRACT_INPUT_BYTES_MAX: usize = 16 * 1024;
/// The longest entry-point name (bytes).
pub const CONTRACT_METHOD_BYTES_MAX: usize = 64;
/// The most topics of one event.
pub const EVENT_TOPICS_MAX: usize = 4;
/// The most data bytes of one event.
pub const EVENT_DATA_BYTES_MAX: usize = 1024;
/// The most events one transaction may emit (and its receipt hold).
pub const EVENTS_PER_TRANSACTION_MAX: usize = 64;

/// Who may upgrade or freeze a contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum ContractAdmin {
    /// Nobody: the code can never change (regulators may still freeze it).
    None,
    /// One account.
    Account(AccountId),
    /// Any admin of an active member organisation.
    Organisation(OrgId),
    /// The member organisations by vote: only an approved proposal upgrades
    /// (`GovernanceAction::UpgradeContract`) or freezes (`GovernanceAction::SetContractFrozen`)
    /// the contract; no transaction of any account, not even a regulator's, does.
    Governance,
}

impl ContractAdmin {
    const TAG_NONE: u8 = 0;
    const TAG_ACCOUNT: u8 = 1;
    const TAG_ORGANISATION: u8 = 2;
    const TAG_GOVERNANCE: u8 = 3;
    /// The largest encoding (an account admin).
    pub const SIZE_MAX: usize = 1 + AccountId::SIZE;
}

impl fmt::Display for ContractAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContractAdmin::None => f.write_str("none"),
            ContractAdmin::Account(id) => write!(f, "account {id}"),
            ContractAdmin::Organisation(org) => write!(f, "{org}"),
            ContractAdmin::Governance => f.write_str("governance"),
        }
    }
}

impl Write for ContractAdmin {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            ContractAdmin::None => Self::TAG_NONE.write(buf),
            ContractAdmin::Account(id) => {
                Self::TAG_ACCOUNT.write(buf);
                id.write(buf);
            }
            ContractAdmin::Organisation(org) => {
                Self::TAG_ORGANISATION.write(buf);
                org.write(buf);
            }
            ContractAdmin::Governance => Self::TAG_GOVERNANCE.write(buf),
        }
    }
}

impl EncodeSize for ContractAdmin {
    fn encode_size(&self) -> usize {
        1 + match self {
            ContractAdmin::None | ContractAdmin::Governance => 0,
            ContractAdmin::Account(_) => AccountId::SIZE,
            ContractAdmin::Organisation(_) => OrgId::SIZE,
        }
    }
}

impl Read for ContractAdmin {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_NONE => ContractAdmin::None,
            Self::TAG_ACCOUNT => ContractAdmin::Account(AccountId::read(buf)?),
            Self::TAG_ORGANISATION => ContractAdmin::Organisation(OrgId::read(buf)?),
            Self::TAG_GOVERNANCE => ContractAdmin::Governance,
            tag => return Err(CodecError::InvalidEnum(tag)),
        })
    }
}

/// A deployed contract's state record. Its admin is a record of its own (the two do not fit one
/// state value together); its code is stored once per code hash, in chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractRecord {
    /// SHA-256 of the module.
    pub code_hash: [u8; 32],
    /// A frozen contract refuses every call until unfrozen.
    pub frozen: bool,
    /// The native value the contract holds (contracts have no account record).
    pub balance: Amount,
}

impl Write for ContractRecord {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.code_hash);
        self.frozen.write(buf);
        self.balance.write(buf);
    }
}

impl FixedSize for ContractRecord {
    const SIZE: usize = 32 + 1 + Amount::SIZE;
}

impl Read for ContractRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { code_hash: <[u8; 32]>::read(buf)?, frozen: bool::read(buf)?, balance: Amount::read(buf)? })
    }
}

/// The gas parameters governance sets (`SetGasSchedule`): the price of one unit of gas, the most
/// gas one transaction may ask for, and the most gas the transactions of one block may ask for
/// together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GasParameters {
    pub price: Amount,
    pub tx_gas_max: u64,
    pub block_gas_max: u64,
}

impl GasParameters {
    /// Whether the parameters are usable: a transaction may ask for some gas, and a block can hold
    /// the largest transaction.
    pub fn is_valid(&self) -> bool {
        self.tx_gas_max > 0 && self.block_gas_max >= self.tx_gas_max
    }
}

impl Write for GasParameters {
    fn write(&self, buf: &mut impl BufMut) {
        self.price.write(buf);
        self.tx_gas_max.write(buf);
        self.block_gas_max.write(buf);
    }
}

impl FixedSize for GasParameters {
    const SIZE: usize = Amount::SIZE + 8 + 8;
}

impl Read for GasParameters {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { price: Amount::read(buf)?, tx_gas_max: u64::read(buf)?, block_gas_max: u64::read(buf)? })
    }
}

/// An event a contract emitted during a successful transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractEvent {
    pub contract: AccountId,
    /// At most [`EVENT_TOPICS_MAX`].
    pub topics: Vec<[u8; 32]>,
    /// At most [`EVENT_DATA_BYTES_MAX`] bytes.
    pub data: Vec<u8>,
}

impl Write for ContractEvent {
    fn write(&self, buf: &mut impl BufMut) {
        self.contract.write(buf);
        self.topics.write(buf);
        self.data.write(buf);
    }
}

impl EncodeSize for ContractEvent {
    fn encode_size(&self) -> usize {
        self.contract.encode_size() + self.topics.encode_size() + self.data.encode_size()
    }
}

impl Read for ContractEvent {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            contract: AccountId::read(buf)?,
            topics: Vec::<[u8; 32]>::read_cfg(buf, &(RangeCfg::new(0..=EVENT_TOPICS_MAX), ()))?,
            data: Vec::<u8>::read_cfg(buf, &(RangeCfg::new(0..=EVENT_DATA_BYTES_MAX), ()))?,
        })
    }
}

/// Reads a length-prefixed byte string of at most `max` bytes.
pub(crate) fn read_bytes(buf: &mut impl Buf, max: usize) -> Result<Vec<u8>, CodecError> {
    Vec::<u8>::read_cfg(buf, &(RangeCfg::new(0..=max), ()))
}

/// Reads an entry-point name: 1 to [`CONTRACT_METHOD_BYTES_MAX`] bytes of UTF-8.
pub(crate) fn read_method(buf: &mut impl Buf) -> Result<String, CodecError> {
    let bytes = Vec::<u8>::read_cfg(buf, &(RangeCfg::new(1..=CONTRACT_METHOD_BYTES_MAX), ()))?;
    String::from_utf8(bytes).map_err(|_| CodecError::Invalid("Payload", "method name is not UTF-8"))
}
