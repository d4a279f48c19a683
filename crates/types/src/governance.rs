//! Member organisations and governance: the registry's records and the actions proposals carry.
//!
//! Every record here is fixed-size so it fits the state's fixed value size (see
//! `formica-state`): an organisation's on-chain name is a short identifier of at most
//! [`OrgName::BYTES_MAX`] bytes; a display name belongs off chain.

use crate::keys::Role;
use crate::nodes::{NodeAddress, NodeRole};
use crate::primitives::{AccountId, Amount, Height, ParseError, PublicKey};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The number of a member organisation, assigned in order of admission (genesis members first,
/// from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(pub u32);

impl OrgId {
    /// No organisation (ids start at 1).
    pub const NONE: OrgId = OrgId(0);
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "org {}", self.0)
    }
}

impl Write for OrgId {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}

impl FixedSize for OrgId {
    const SIZE: usize = 4;
}

impl Read for OrgId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self(u32::read(buf)?))
    }
}

/// An organisation's on-chain name: 1 to 31 bytes of UTF-8 without control characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgName {
    len: u8,
    bytes: [u8; 31],
}

impl OrgName {
    /// The longest name, in bytes.
    pub const BYTES_MAX: usize = 31;

    /// Checks and stores a name.
    pub fn new(name: &str) -> Result<Self, ParseError> {
        if name.is_empty() || name.len() > Self::BYTES_MAX {
            return Err(ParseError::Length { expected: Self::BYTES_MAX, actual: name.len() });
        }
        if name.chars().any(char::is_control) {
            return Err(ParseError::NotHex("an organisation name may not hold control characters".into()));
        }
        let mut bytes = [0u8; 31];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(Self { len: name.len() as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked when made or decoded")
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgName({:?})", self.as_str())
    }
}

impl TryFrom<String> for OrgName {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(&text)
    }
}

impl From<OrgName> for String {
    fn from(name: OrgName) -> Self {
        name.as_str().to_string()
    }
}

impl Write for OrgName {
    fn write(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl FixedSize for OrgName {
    const SIZE: usize = 1 + 31;
}

impl Read for OrgName {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let bytes = <[u8; 31]>::read(buf)?;
        let used = usize::from(len);
        if used == 0 || used > Self::BYTES_MAX || bytes[used..].iter().any(|byte| *byte != 0) {
            return Err(CodecError::Invalid("OrgName", "bad length or padding"));
        }
        let text = std::str::from_utf8(&bytes[..used]).map_err(|_| CodecError::Invalid("OrgName", "not UTF-8"))?;
        if text.chars().any(char::is_control) {
            return Err(CodecError::Invalid("OrgName", "control character"));
        }
        Ok(Self { len, bytes })
    }
}

/// The most admin accounts one organisation may have.
pub const ORG_ADMINS_MAX: u8 = 8;

/// A member organisation. Its admin accounts live in records of their own (slots
/// `0..admin_count`); the organisation approves a proposal when `admin_threshold` of them have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: OrgName,
    pub admin_threshold: u8,
    pub admin_count: u8,
    /// Removed organisations stay in the registry, inactive; their admins can no longer act.
    pub active: bool,
}

impl Write for Organisation {
    fn write(&self, buf: &mut impl BufMut) {
        self.name.write(buf);
        self.admin_threshold.write(buf);
        self.admin_count.write(buf);
        self.active.write(buf);
    }
}

impl FixedSize for Organisation {
    const SIZE: usize = OrgName::SIZE + 3;
}

impl Read for Organisation {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let name = OrgName::read(buf)?;
        let admin_threshold = u8::read(buf)?;
        let admin_count = u8::read(buf)?;
        let active = bool::read(buf)?;
        if admin_count > ORG_ADMINS_MAX || admin_threshold == 0 || admin_threshold > admin_count.max(1) {
            return Err(CodecError::Invalid("Organisation", "admin threshold or count out of range"));
        }
        Ok(Self { name, admin_threshold, admin_count, active })
    }
}

/// The chain-wide governance record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceState {
    /// The id the next proposal gets.
    pub next_proposal: u64,
    /// The id the next admitted organisation gets.
    pub next_org: OrgId,
    /// Active member organisations.
    pub members: u32,
    /// Whether only admins of member organisations may create accounts.
    pub account_creation_members_only: bool,
    /// The fee every transaction pays (set at genesis, changed by vote).
    pub fee: Amount,
    /// Registered nodes (slots `0..nodes` of the node registry, dense).
    pub nodes: u16,
    /// The most transactions a block may carry (at most the genesis hard cap, which also bounds
    /// the block decoder). Changed by vote; applies from the next block.
    pub block_transactions: u32,
    /// Whether reading chain data and submitting transactions over RPC is limited to member
    /// organisations (requests must carry a token signed by an admin of a member).
    pub api_members_only: bool,
    /// The consensus timeouts voted for: they take effect at the next epoch boundary.
    pub timeouts: ConsensusTimeouts,
    /// The consensus timeouts of the current epoch (copied from `timeouts` by each epoch's last
    /// block, so every block of an epoch reads the same value).
    pub epoch_timeouts: ConsensusTimeouts,
}

/// Chain-wide consensus timeouts, in milliseconds. Every validator's engine uses the values in
/// effect for its epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusTimeouts {
    /// How long a validator waits for the leader's proposal before voting to skip the view.
    pub leader_ms: u32,
    /// How long a validator waits for a notarized block to be certified (finalized).
    pub certification_ms: u32,
}

impl ConsensusTimeouts {
    /// The shortest timeout a vote may set.
    pub const MS_MIN: u32 = 50;
    /// The longest timeout a vote may set.
    pub const MS_MAX: u32 = 60_000;

    /// Both within [`Self::MS_MIN`]..=[`Self::MS_MAX`], and the leader timeout below the
    /// certification timeout (simplex requires it: equal values stop its engine).
    pub fn check(&self) -> Result<(), String> {
        let range = Self::MS_MIN..=Self::MS_MAX;
        if !range.contains(&self.leader_ms) || !range.contains(&self.certification_ms) {
            return Err(format!("consensus timeouts must be between {} and {} ms", Self::MS_MIN, Self::MS_MAX));
        }
        if self.leader_ms >= self.certification_ms {
            return Err("the leader timeout must be below the certification timeout".into());
        }
        Ok(())
    }
}

impl Default for ConsensusTimeouts {
    fn default() -> Self {
        Self { leader_ms: 1_000, certification_ms: 2_000 }
    }
}

impl FixedSize for ConsensusTimeouts {
    const SIZE: usize = 8;
}

impl Write for ConsensusTimeouts {
    fn write(&self, buf: &mut impl BufMut) {
        self.leader_ms.write(buf);
        self.certification_ms.write(buf);
    }
}

impl Read for ConsensusTimeouts {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let timeouts = Self { leader_ms: u32::read(buf)?, certification_ms: u32::read(buf)? };
        timeouts.check().map_err(|_| CodecError::Invalid("ConsensusTimeouts", "out of range"))?;
        Ok(timeouts)
    }
}

impl Write for GovernanceState {
    fn write(&self, buf: &mut impl BufMut) {
        self.next_proposal.write(buf);
        self.next_org.write(buf);
        self.members.write(buf);
        self.account_creation_members_only.write(buf);
        self.fee.write(buf);
        self.nodes.write(buf);
        self.block_transactions.write(buf);
        self.api_members_only.write(buf);
        self.timeouts.write(buf);
        self.epoch_timeouts.write(buf);
    }
}

impl FixedSize for GovernanceState {
    const SIZE: usize = 8 + OrgId::SIZE + 4 + 1 + Amount::SIZE + 2 + 4 + 1 + 2 * ConsensusTimeouts::SIZE;
}

impl Read for GovernanceState {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            next_proposal: u64::read(buf)?,
            next_org: OrgId::read(buf)?,
            members: u32::read(buf)?,
            account_creation_members_only: bool::read(buf)?,
            fee: Amount::read(buf)?,
            nodes: u16::read(buf)?,
            block_transactions: u32::read(buf)?,
            api_members_only: bool::read(buf)?,
            timeouts: ConsensusTimeouts::read(buf)?,
            epoch_timeouts: ConsensusTimeouts::read(buf)?,
        })
    }
}

/// What an approved proposal does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GovernanceAction {
    /// Admits an organisation with one admin account (admin threshold 1).
    AddOrganisation { name: OrgName, admin: AccountId },
    /// Removes a member; refused if it is the last one.
    RemoveOrganisation { org: OrgId },
    /// Adds an admin account to a member.
    AddAdmin { org: OrgId, account: AccountId },
    /// Removes an admin account; refused if fewer admins than the threshold would remain.
    RemoveAdmin { org: OrgId, account: AccountId },
    /// Changes how many of a member's admins must approve for the member to approve.
    SetAdminThreshold { org: OrgId, threshold: u8 },
    /// Grants a role to an account.
    GrantRole { account: AccountId, role: Role },
    /// Revokes a role.
    RevokeRole { account: AccountId, role: Role },
    /// Opens account creation to every funded account, or limits it to members' admins.
    SetAccountCreation { members_only: bool },
    /// Changes the fee every transaction pays, from the next transaction on.
    SetFee { fee: Amount },
    /// Registers a node of a member organisation. A validator joins the consensus committee at
    /// the next epoch boundary; an observer may connect to the network at once.
    AddNode {
        org: OrgId,
        #[serde(with = "public_key_hex")]
        key: PublicKey,
        #[serde(with = "address_text")]
        address: NodeAddress,
        #[serde(with = "role_text")]
        role: NodeRole,
    },
    /// Removes a node; a validator leaves the committee at the next epoch boundary. Refused if
    /// no validator would remain.
    RemoveNode {
        #[serde(with = "public_key_hex")]
        key: PublicKey,
    },
    /// Replaces a node's key (same organisation, address and role); from the next epoch
    /// boundary the old key is no longer obeyed.
    RotateNode {
        #[serde(with = "public_key_hex")]
        old: PublicKey,
        #[serde(with = "public_key_hex")]
        new: PublicKey,
    },
    /// Changes how many transactions a block may carry, from the next block on (between 1 and
    /// the genesis `block_transactions_max`, the hard cap).
    SetBlockTransactions { max: u32 },
    /// Changes the consensus timeouts from the next epoch boundary on.
    SetConsensusTimeouts { timeouts: ConsensusTimeouts },
    /// Opens reading and submitting over RPC to everyone, or limits it to member organisations.
    SetApiAccess { members_only: bool },
    /// Sets the price of contract gas and the gas limits of a transaction and of a block, from the
    /// next transaction on. Refused unless `0 < tx_gas_max <= block_gas_max`.
    SetGasSchedule { price: Amount, tx_gas_max: u64, block_gas_max: u64 },
    /// Authorises the upgrade of a contract administered by governance
    /// ([`ContractAdmin::Governance`](crate::ContractAdmin::Governance)) to the module with
    /// SHA-256 `code_hash`. The module is too large for a proposal, so the approval is recorded and
    /// any account then carries the upgrade out with an `Upgrade` transaction carrying exactly
    /// that module (paying its gas); a later approval replaces an earlier one.
    UpgradeContract { contract: AccountId, code_hash: [u8; 32] },
    /// Freezes or unfreezes a contract administered by governance.
    SetContractFrozen { contract: AccountId, frozen: bool },
}

mod public_key_hex {
    use crate::primitives::{PublicKey, public_key_from_hex, public_key_to_hex};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &PublicKey, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&public_key_to_hex(key))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
        let text = String::deserialize(deserializer)?;
        public_key_from_hex(&text).map_err(serde::de::Error::custom)
    }
}

mod address_text {
    use crate::nodes::NodeAddress;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(address: &NodeAddress, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&address.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NodeAddress, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(NodeAddress).map_err(serde::de::Error::custom)
    }
}

mod role_text {
    use crate::nodes::NodeRole;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(role: &NodeRole, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(role.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NodeRole, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl GovernanceAction {
    const TAG_ADD_ORGANISATION: u8 = 0;
    const TAG_REMOVE_ORGANISATION: u8 = 1;
    const TAG_ADD_ADMIN: u8 = 2;
    const TAG_REMOVE_ADMIN: u8 = 3;
    const TAG_SET_ADMIN_THRESHOLD: u8 = 4;
    const TAG_GRANT_ROLE: u8 = 5;
    const TAG_REVOKE_ROLE: u8 = 6;
    const TAG_SET_ACCOUNT_CREATION: u8 = 7;
    const TAG_SET_FEE: u8 = 8;
    const TAG_ADD_NODE: u8 = 9;
    const TAG_REMOVE_NODE: u8 = 10;
    const TAG_ROTATE_NODE: u8 = 11;
    const TAG_SET_BLOCK_TRANSACTIONS: u8 = 12;
    const TAG_SET_CONSENSUS_TIMEOUTS: u8 = 13;
    const TAG_SET_API_ACCESS: u8 = 14;
    const TAG_SET_GAS_SCHEDULE: u8 = 15;
    const TAG_UPGRADE_CONTRACT: u8 = 16;
    const TAG_SET_CONTRACT_FROZEN: u8 = 17;
    /// The largest encoding (an organisation's admission, a contract upgrade).
    pub const SIZE_MAX: usize = 1 + OrgName::SIZE + AccountId::SIZE;
}

impl Write for GovernanceAction {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            GovernanceAction::AddOrganisation { name, admin } => {
                Self::TAG_ADD_ORGANISATION.write(buf);
                name.write(buf);
                admin.write(buf);
            }
            GovernanceAction::RemoveOrganisation { org } => {
                Self::TAG_REMOVE_ORGANISATION.write(buf);
                org.write(buf);
            }
            GovernanceAction::AddAdmin { org, account } => {
                Self::TAG_ADD_ADMIN.write(buf);
                org.write(buf);
                account.write(buf);
            }
            GovernanceAction::RemoveAdmin { org, account } => {
                Self::TAG_REMOVE_ADMIN.write(buf);
                org.write(buf);
                account.write(buf);
            }
            GovernanceAction::SetAdminThreshold { org, threshold } => {
                Self::TAG_SET_ADMIN_THRESHOLD.write(buf);
                org.write(buf);
                threshold.write(buf);
            }
            GovernanceAction::GrantRole { account, role } => {
                Self::TAG_GRANT_ROLE.write(buf);
                account.write(buf);
                role.write(buf);
            }
            GovernanceAction::RevokeRole { account, role } => {
                Self::TAG_REVOKE_ROLE.write(buf);
                account.write(buf);
                role.write(buf);
            }
            GovernanceAction::SetAccountCreation { members_only } => {
                Self::TAG_SET_ACCOUNT_CREATION.write(buf);
                members_only.write(buf);
            }
            GovernanceAction::SetFee { fee } => {
                Self::TAG_SET_FEE.write(buf);
                fee.write(buf);
            }
            GovernanceAction::AddNode { org, key, address, role } => {
                Self::TAG_ADD_NODE.write(buf);
                org.write(buf);
                key.write(buf);
                address.write(buf);
                role.write(buf);
            }
            GovernanceAction::RemoveNode { key } => {
                Self::TAG_REMOVE_NODE.write(buf);
                key.write(buf);
            }
            GovernanceAction::RotateNode { old, new } => {
                Self::TAG_ROTATE_NODE.write(buf);
                old.write(buf);
                new.write(buf);
            }
            GovernanceAction::SetBlockTransactions { max } => {
                Self::TAG_SET_BLOCK_TRANSACTIONS.write(buf);
                max.write(buf);
            }
            GovernanceAction::SetConsensusTimeouts { timeouts } => {
                Self::TAG_SET_CONSENSUS_TIMEOUTS.write(buf);
                timeouts.write(buf);
            }
            GovernanceAction::SetApiAccess { members_only } => {
                Self::TAG_SET_API_ACCESS.write(buf);
                members_only.write(buf);
            }
            GovernanceAction::SetGasSchedule { price, tx_gas_max, block_gas_max } => {
                Self::TAG_SET_GAS_SCHEDULE.write(buf);
                price.write(buf);
                tx_gas_max.write(buf);
                block_gas_max.write(buf);
            }
            GovernanceAction::UpgradeContract { contract, code_hash } => {
                Self::TAG_UPGRADE_CONTRACT.write(buf);
                contract.write(buf);
                code_hash.write(buf);
            }
            GovernanceAction::SetContractFrozen { contract, frozen } => {
                Self::TAG_SET_CONTRACT_FROZEN.write(buf);
                contract.write(buf);
                frozen.write(buf);
            }
        }
    }
}

impl EncodeSize for GovernanceAction {
    fn encode_size(&self) -> usize {
        1 + match self {
            GovernanceAction::AddOrganisation { .. } => OrgName::SIZE + AccountId::SIZE,
            GovernanceAction::RemoveOrganisation { .. } => OrgId::SIZE,
            GovernanceAction::AddAdmin { .. } | GovernanceAction::RemoveAdmin { .. } => OrgId::SIZE + AccountId::SIZE,
            GovernanceAction::SetAdminThreshold { .. } => OrgId::SIZE + 1,
            GovernanceAction::GrantRole { .. } | GovernanceAction::RevokeRole { .. } => AccountId::SIZE + Role::SIZE,
            GovernanceAction::SetAccountCreation { .. } => 1,
            GovernanceAction::SetFee { .. } => Amount::SIZE,
            GovernanceAction::AddNode { .. } => OrgId::SIZE + PublicKey::SIZE + NodeAddress::SIZE + NodeRole::SIZE,
            GovernanceAction::RemoveNode { .. } => PublicKey::SIZE,
            GovernanceAction::RotateNode { .. } => 2 * PublicKey::SIZE,
            GovernanceAction::SetBlockTransactions { .. } => 4,
            GovernanceAction::SetConsensusTimeouts { .. } => ConsensusTimeouts::SIZE,
            GovernanceAction::SetApiAccess { .. } => 1,
            GovernanceAction::SetGasSchedule { .. } => Amount::SIZE + 8 + 8,
            GovernanceAction::UpgradeContract { .. } => AccountId::SIZE + 32,
            GovernanceAction::SetContractFrozen { .. } => AccountId::SIZE + 1,
        }
    }
}

impl Read for GovernanceAction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_ADD_ORGANISATION => {
                GovernanceAction::AddOrganisation { name: OrgName::read(buf)?, admin: AccountId::read(buf)? }
            }
            Self::TAG_REMOVE_ORGANISATION => GovernanceAction::RemoveOrganisation { org: OrgId::read(buf)? },
            Self::TAG_ADD_ADMIN => {
                GovernanceAction::AddAdmin { org: OrgId::read(buf)?, account: AccountId::read(buf)? }
            }
            Self::TAG_REMOVE_ADMIN => {
                GovernanceAction::RemoveAdmin { org: OrgId::read(buf)?, account: AccountId::read(buf)? }
            }
            Self::TAG_SET_ADMIN_THRESHOLD => {
                GovernanceAction::SetAdminThreshold { org: OrgId::read(buf)?, threshold: u8::read(buf)? }
            }
            Self::TAG_GRANT_ROLE => {
                GovernanceAction::GrantRole { account: AccountId::read(buf)?, role: Role::read(buf)? }
            }
            Self::TAG_REVOKE_ROLE => {
                GovernanceAction::RevokeRole { account: AccountId::read(buf)?, role: Role::read(buf)? }
            }
            Self::TAG_SET_ACCOUNT_CREATION => GovernanceAction::SetAccountCreation { members_only: bool::read(buf)? },
            Self::TAG_SET_FEE => GovernanceAction::SetFee { fee: Amount::read(buf)? },
            Self::TAG_ADD_NODE => GovernanceAction::AddNode {
                org: OrgId::read(buf)?,
                key: PublicKey::read(buf)?,
                address: NodeAddress::read(buf)?,
                role: NodeRole::read(buf)?,
            },
            Self::TAG_REMOVE_NODE => GovernanceAction::RemoveNode { key: PublicKey::read(buf)? },
            Self::TAG_ROTATE_NODE => {
                GovernanceAction::RotateNode { old: PublicKey::read(buf)?, new: PublicKey::read(buf)? }
            }
            Self::TAG_SET_BLOCK_TRANSACTIONS => GovernanceAction::SetBlockTransactions { max: u32::read(buf)? },
            Self::TAG_SET_CONSENSUS_TIMEOUTS => {
                GovernanceAction::SetConsensusTimeouts { timeouts: ConsensusTimeouts::read(buf)? }
            }
            Self::TAG_SET_API_ACCESS => GovernanceAction::SetApiAccess { members_only: bool::read(buf)? },
            Self::TAG_SET_GAS_SCHEDULE => GovernanceAction::SetGasSchedule {
                price: Amount::read(buf)?,
                tx_gas_max: u64::read(buf)?,
                block_gas_max: u64::read(buf)?,
            },
            Self::TAG_UPGRADE_CONTRACT => {
                GovernanceAction::UpgradeContract { contract: AccountId::read(buf)?, code_hash: <[u8; 32]>::read(buf)? }
            }
            Self::TAG_SET_CONTRACT_FROZEN => {
                GovernanceAction::SetContractFrozen { contract: AccountId::read(buf)?, frozen: bool::read(buf)? }
            }
            tag => return Err(CodecError::InvalidEnum(tag)),
        })
    }
}

/// A proposal's bookkeeping (its action is a record of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The organisation whose admin proposed it.
    pub proposer: OrgId,
    pub created_at: Height,
    /// The last height at which it can still be approved.
    pub expires_at: Height,
    /// Member organisations that have approved it.
    pub approvals: u32,
    /// Applied (it cannot be approved again).
    pub executed: bool,
}

impl Write for Proposal {
    fn write(&self, buf: &mut impl BufMut) {
        self.proposer.write(buf);
        self.created_at.write(buf);
        self.expires_at.write(buf);
        self.approvals.write(buf);
        self.executed.write(buf);
    }
}

impl FixedSize for Proposal {
    const SIZE: usize = OrgId::SIZE + Height::SIZE + Height::SIZE + 4 + 1;
}

impl Read for Proposal {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            proposer: OrgId::read(buf)?,
            created_at: Height::read(buf)?,
            expires_at: Height::read(buf)?,
            approvals: u32::read(buf)?,
            executed: bool::read(buf)?,
        })
    }
}

/// The approval rule: a proposal passes when more than `numerator / denominator` of the member
/// organisations approve it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    pub numerator: u32,
    pub denominator: u32,
}

impl ApprovalRule {
    /// More than two thirds.
    pub const TWO_THIRDS: Self = Self { numerator: 2, denominator: 3 };

    /// Whether `approvals` of `members` pass.
    pub fn passes(&self, approvals: u32, members: u32) -> bool {
        u64::from(approvals) * u64::from(self.denominator) > u64::from(members) * u64::from(self.numerator)
    }

    /// A usable rule: `0 <= numerator < denominator`.
    pub fn is_valid(&self) -> bool {
        self.denominator > 0 && self.numerator < self.denominator
    }
}

impl Default for ApprovalRule {
    fn default() -> Self {
        Self::TWO_THIRDS
    }
}
