//! The key layout of the authenticated state and the values stored under it.
//!
//! It lives here rather than in `formica-state` so that verifiers without a database (the
//! light client, the browser verifier in `formica-verify`) can name keys and decode values.
//!
//! Every record kind has its own tagged-hash key ([`StateKey::hash`]), so kinds never collide.
//! Values are fixed-size ([`StateValue::SIZE`]): a tag, the record, and zero padding up to the
//! largest record (an account). Contract code and storage values are longer, so they are stored
//! in chunks of [`CHUNK_BYTES`] ([`StateKey::Code`], [`StateKey::ContractStorage`]).

use crate::{
    Account, AccountId, ContractAdmin, ContractRecord, GasParameters, GovernanceAction, GovernanceState, Hash, Height,
    KeyEntry, Module, Node, OrgId, Organisation, PendingRecovery, Proposal, RecoveryConfig, Role, hash_tagged,
};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};

// Every record fits the fixed value size (the account record is the largest).
const _: () = assert!(GovernanceAction::SIZE_MAX <= Account::SIZE);
const _: () = assert!(Organisation::SIZE <= Account::SIZE && Proposal::SIZE <= Account::SIZE);
const _: () = assert!(Node::SIZE <= Account::SIZE && GovernanceState::SIZE <= Account::SIZE);
const _: () = assert!(ContractRecord::SIZE <= Account::SIZE && GasParameters::SIZE <= Account::SIZE);
const _: () = assert!(ContractAdmin::SIZE_MAX <= Account::SIZE && CHUNK_BYTES <= Account::SIZE);

/// Bytes of contract code or storage one chunk record holds.
pub const CHUNK_BYTES: usize = 64;

/// Domain tag of account keys in the state.
const ACCOUNT_KEY_TAG: &[u8] = b"formica/state/account/v1";
const KEY_SLOT_TAG: &[u8] = b"formica/state/key-slot/v1";
const RECOVERY_TAG: &[u8] = b"formica/state/recovery/v1";
const PENDING_RECOVERY_TAG: &[u8] = b"formica/state/pending-recovery/v1";
const ROLE_TAG: &[u8] = b"formica/state/role/v1";
const GOVERNANCE_TAG: &[u8] = b"formica/state/governance/v1";
const ORGANISATION_TAG: &[u8] = b"formica/state/organisation/v1";
const ORG_ADMIN_TAG: &[u8] = b"formica/state/org-admin/v1";
const ADMIN_OF_TAG: &[u8] = b"formica/state/admin-of/v1";
const PROPOSAL_TAG: &[u8] = b"formica/state/proposal/v1";
const PROPOSAL_ACTION_TAG: &[u8] = b"formica/state/proposal-action/v1";
const ORG_APPROVALS_TAG: &[u8] = b"formica/state/org-approvals/v1";
const APPROVED_TAG: &[u8] = b"formica/state/approved/v1";
const NODE_TAG: &[u8] = b"formica/state/node/v1";
const NODE_SLOT_TAG: &[u8] = b"formica/state/node-slot/v1";
const CONTRACT_TAG: &[u8] = b"formica/state/contract/v1";
const CONTRACT_ADMIN_TAG: &[u8] = b"formica/state/contract-admin/v1";
const CODE_LENGTH_TAG: &[u8] = b"formica/state/code-length/v1";
const CODE_TAG: &[u8] = b"formica/state/code/v1";
const CONTRACT_STORAGE_TAG: &[u8] = b"formica/state/contract-storage/v1";
const GAS_PARAMETERS_TAG: &[u8] = b"formica/state/gas-parameters/v1";
const MODULE_RECORD_TAG: &[u8] = b"formica/state/module-record/v1";
const MODULE_KEY_TAG: &[u8] = b"formica/state/module-key/v1";
const CONTRACT_UPGRADE_TAG: &[u8] = b"formica/state/contract-upgrade/v1";
const CONTRACT_KEY_NODE_TAG: &[u8] = b"formica/state/contract-key-node/v1";

/// The state key of an account: a tagged hash of its id.
pub fn account_key(id: &AccountId) -> Hash {
    hash_tagged(ACCOUNT_KEY_TAG, &[&id.0])
}

/// Names one record of the state. Ordered, so execution visits records deterministically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKey {
    /// The account record (nonce, balance, first key, flags).
    Account(AccountId),
    /// Signing key number `slot` (1 and up; slot 0 is inside the account record).
    KeySlot(AccountId, u8),
    /// The account's recovery key and delay.
    Recovery(AccountId),
    /// A recovery under way.
    PendingRecovery(AccountId),
    /// A role the account holds.
    Role(AccountId, Role),
    /// The chain-wide governance record (proposal and organisation counters, members).
    Governance,
    /// A member organisation.
    Organisation(OrgId),
    /// Admin number `slot` of an organisation (slots `0..admin_count`, dense).
    OrgAdmin(OrgId, u8),
    /// The organisation an account is an admin of.
    AdminOf(AccountId),
    /// A proposal's bookkeeping.
    Proposal(u64),
    /// What a proposal does.
    ProposalAction(u64),
    /// How many of an organisation's admins approved a proposal.
    OrgApprovals(u64, OrgId),
    /// That an admin account approved a proposal.
    Approved(u64, AccountId),
    /// Node number `slot` of the node registry (slots `0..nodes`, dense).
    Node(u16),
    /// The registry slot of the node with this public key.
    NodeSlot([u8; 32]),
    /// A deployed contract (code hash, frozen flag, balance).
    Contract(AccountId),
    /// Who may upgrade or freeze a contract.
    ContractAdmin(AccountId),
    /// The length of the module with this code hash (present exactly when its chunks are).
    CodeLength([u8; 32]),
    /// Chunk `n` of the module with this code hash (chunks `0..ceil(len / CHUNK_BYTES)`).
    Code([u8; 32], u32),
    /// Chunk `n` of the value under a contract storage key (by the key's SHA-256). Chunk 0 starts
    /// with the value's length (`u16`, big-endian); a value of `len` bytes takes
    /// `ceil((len + 2) / CHUNK_BYTES)` chunks.
    ContractStorage(AccountId, [u8; 32], u16),
    /// The gas price and the gas limits of a transaction and of a block.
    GasParameters,
    /// Chunk `n` of a built-in module's record, named by a tagged hash of the record's key (which
    /// the module builds; see `formica-execution`'s `modules`). Each kind of module record has a
    /// fixed encoded size, so its chunk count is known without reading it; values are
    /// [`StateValue::Chunk`]s, the last zero-padded.
    ModuleRecord(Module, [u8; 32], u16),
    /// The code hash governance approved as the next version of a contract it administers
    /// ([`StateValue::ApprovedCode`]); deleted by the upgrade that uses it.
    ContractUpgrade(AccountId),
    /// A node of a contract's storage-key trie ([`StateValue::KeyNode`]), named by the SHA-256 of
    /// its path: the key bytes from the root to it (the empty path is the root). A node exists
    /// exactly when some stored key starts with its path.
    ContractKeyNode(AccountId, [u8; 32]),
}

impl StateKey {
    /// The 32-byte key the record is stored under.
    pub fn hash(&self) -> Hash {
        match self {
            StateKey::Account(id) => account_key(id),
            StateKey::KeySlot(id, slot) => hash_tagged(KEY_SLOT_TAG, &[&id.0, &[*slot]]),
            StateKey::Recovery(id) => hash_tagged(RECOVERY_TAG, &[&id.0]),
            StateKey::PendingRecovery(id) => hash_tagged(PENDING_RECOVERY_TAG, &[&id.0]),
            StateKey::Role(id, role) => hash_tagged(ROLE_TAG, &[&id.0, &[role.tag()]]),
            StateKey::Governance => hash_tagged(GOVERNANCE_TAG, &[]),
            StateKey::Organisation(org) => hash_tagged(ORGANISATION_TAG, &[&org.0.to_be_bytes()]),
            StateKey::OrgAdmin(org, slot) => hash_tagged(ORG_ADMIN_TAG, &[&org.0.to_be_bytes(), &[*slot]]),
            StateKey::AdminOf(id) => hash_tagged(ADMIN_OF_TAG, &[&id.0]),
            StateKey::Proposal(id) => hash_tagged(PROPOSAL_TAG, &[&id.to_be_bytes()]),
            StateKey::ProposalAction(id) => hash_tagged(PROPOSAL_ACTION_TAG, &[&id.to_be_bytes()]),
            StateKey::OrgApprovals(id, org) => {
                hash_tagged(ORG_APPROVALS_TAG, &[&id.to_be_bytes(), &org.0.to_be_bytes()])
            }
            StateKey::Approved(id, account) => hash_tagged(APPROVED_TAG, &[&id.to_be_bytes(), &account.0]),
            StateKey::Node(slot) => hash_tagged(NODE_TAG, &[&slot.to_be_bytes()]),
            StateKey::NodeSlot(key) => hash_tagged(NODE_SLOT_TAG, &[key]),
            StateKey::Contract(id) => hash_tagged(CONTRACT_TAG, &[&id.0]),
            StateKey::ContractAdmin(id) => hash_tagged(CONTRACT_ADMIN_TAG, &[&id.0]),
            StateKey::CodeLength(code_hash) => hash_tagged(CODE_LENGTH_TAG, &[code_hash]),
            StateKey::Code(code_hash, chunk) => hash_tagged(CODE_TAG, &[code_hash, &chunk.to_be_bytes()]),
            StateKey::ContractStorage(id, key_hash, chunk) => {
                hash_tagged(CONTRACT_STORAGE_TAG, &[&id.0, key_hash, &chunk.to_be_bytes()])
            }
            StateKey::GasParameters => hash_tagged(GAS_PARAMETERS_TAG, &[]),
            StateKey::ModuleRecord(module, key_hash, chunk) => {
                hash_tagged(MODULE_RECORD_TAG, &[&[module.tag()], key_hash, &chunk.to_be_bytes()])
            }
            StateKey::ContractUpgrade(id) => hash_tagged(CONTRACT_UPGRADE_TAG, &[&id.0]),
            StateKey::ContractKeyNode(id, path_hash) => hash_tagged(CONTRACT_KEY_NODE_TAG, &[&id.0, path_hash]),
        }
    }
}

/// A value in the authenticated state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateValue {
    Account(Account),
    KeySlot(KeyEntry),
    Recovery(RecoveryConfig),
    PendingRecovery(PendingRecovery),
    /// A role grant, with the height it was granted at.
    Role(Height),
    Governance(GovernanceState),
    Organisation(Organisation),
    OrgAdmin(AccountId),
    AdminOf(OrgId),
    Proposal(Proposal),
    ProposalAction(GovernanceAction),
    /// How many of an organisation's admins approved a proposal, and whether the organisation's
    /// approval has been counted.
    OrgApprovals {
        admins: u8,
        counted: bool,
    },
    /// An admin's approval, with the height it was given at.
    Approved(Height),
    /// A registered node.
    Node(Node),
    /// Where a node's record is.
    NodeSlot(u16),
    // Tags 15 to 19 are reserved for the parameter records.
    Contract(ContractRecord),
    ContractAdmin(ContractAdmin),
    /// A module's length in bytes.
    CodeLength(u32),
    /// A chunk of code or of a storage value (the last chunk is zero-padded).
    Chunk([u8; CHUNK_BYTES]),
    GasParameters(GasParameters),
    // Tags 30 to 39 are the contracts' second range.
    /// A module's SHA-256 that an approved proposal allows as a contract's next code.
    ApprovedCode([u8; 32]),
    /// A node of a contract's storage-key trie: which next bytes lead to stored keys (bit `b % 8`
    /// of byte `b / 8` for byte `b`), and whether its path is itself a stored key.
    KeyNode {
        children: [u8; 32],
        terminal: bool,
    },
}

impl StateValue {
    const TAG_ACCOUNT: u8 = 0;
    const TAG_KEY_SLOT: u8 = 1;
    const TAG_RECOVERY: u8 = 2;
    const TAG_PENDING_RECOVERY: u8 = 3;
    const TAG_ROLE: u8 = 4;
    const TAG_GOVERNANCE: u8 = 5;
    const TAG_ORGANISATION: u8 = 6;
    const TAG_ORG_ADMIN: u8 = 7;
    const TAG_ADMIN_OF: u8 = 8;
    const TAG_PROPOSAL: u8 = 9;
    const TAG_PROPOSAL_ACTION: u8 = 10;
    const TAG_ORG_APPROVALS: u8 = 11;
    const TAG_APPROVED: u8 = 12;
    const TAG_NODE: u8 = 13;
    const TAG_NODE_SLOT: u8 = 14;
    const TAG_CONTRACT: u8 = 20;
    const TAG_CONTRACT_ADMIN: u8 = 21;
    const TAG_CODE_LENGTH: u8 = 22;
    const TAG_CHUNK: u8 = 23;
    const TAG_GAS_PARAMETERS: u8 = 24;
    const TAG_APPROVED_CODE: u8 = 30;
    const TAG_KEY_NODE: u8 = 31;
    /// The largest record; every value is padded to it.
    const BODY: usize = Account::SIZE;

    /// The account this value holds, if it is one.
    pub fn into_account(self) -> Option<Account> {
        match self {
            StateValue::Account(account) => Some(account),
            _ => None,
        }
    }

    fn body_size(&self) -> usize {
        match self {
            StateValue::Account(_) => Account::SIZE,
            StateValue::KeySlot(_) => KeyEntry::SIZE,
            StateValue::Recovery(_) => RecoveryConfig::SIZE,
            StateValue::PendingRecovery(_) => PendingRecovery::SIZE,
            StateValue::Role(_) | StateValue::Approved(_) => Height::SIZE,
            StateValue::Governance(_) => GovernanceState::SIZE,
            StateValue::Organisation(_) => Organisation::SIZE,
            StateValue::OrgAdmin(_) => AccountId::SIZE,
            StateValue::AdminOf(_) => OrgId::SIZE,
            StateValue::Proposal(_) => Proposal::SIZE,
            StateValue::ProposalAction(action) => action.encode_size(),
            StateValue::OrgApprovals { .. } => 2,
            StateValue::Node(_) => Node::SIZE,
            StateValue::NodeSlot(_) => 2,
            StateValue::Contract(_) => ContractRecord::SIZE,
            StateValue::ContractAdmin(admin) => admin.encode_size(),
            StateValue::CodeLength(_) => 4,
            StateValue::Chunk(_) => CHUNK_BYTES,
            StateValue::GasParameters(_) => GasParameters::SIZE,
            StateValue::ApprovedCode(_) => 32,
            StateValue::KeyNode { .. } => 33,
        }
    }
}

impl Write for StateValue {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            StateValue::Account(account) => {
                Self::TAG_ACCOUNT.write(buf);
                account.write(buf);
            }
            StateValue::KeySlot(entry) => {
                Self::TAG_KEY_SLOT.write(buf);
                entry.write(buf);
            }
            StateValue::Recovery(config) => {
                Self::TAG_RECOVERY.write(buf);
                config.write(buf);
            }
            StateValue::PendingRecovery(pending) => {
                Self::TAG_PENDING_RECOVERY.write(buf);
                pending.write(buf);
            }
            StateValue::Role(height) => {
                Self::TAG_ROLE.write(buf);
                height.write(buf);
            }
            StateValue::Governance(state) => {
                Self::TAG_GOVERNANCE.write(buf);
                state.write(buf);
            }
            StateValue::Organisation(organisation) => {
                Self::TAG_ORGANISATION.write(buf);
                organisation.write(buf);
            }
            StateValue::OrgAdmin(account) => {
                Self::TAG_ORG_ADMIN.write(buf);
                account.write(buf);
            }
            StateValue::AdminOf(org) => {
                Self::TAG_ADMIN_OF.write(buf);
                org.write(buf);
            }
            StateValue::Proposal(proposal) => {
                Self::TAG_PROPOSAL.write(buf);
                proposal.write(buf);
            }
            StateValue::ProposalAction(action) => {
                Self::TAG_PROPOSAL_ACTION.write(buf);
                action.write(buf);
            }
            StateValue::OrgApprovals { admins, counted } => {
                Self::TAG_ORG_APPROVALS.write(buf);
                admins.write(buf);
                counted.write(buf);
            }
            StateValue::Approved(height) => {
                Self::TAG_APPROVED.write(buf);
                height.write(buf);
            }
            StateValue::Node(node) => {
                Self::TAG_NODE.write(buf);
                node.write(buf);
            }
            StateValue::NodeSlot(slot) => {
                Self::TAG_NODE_SLOT.write(buf);
                slot.write(buf);
            }
            StateValue::Contract(record) => {
                Self::TAG_CONTRACT.write(buf);
                record.write(buf);
            }
            StateValue::ContractAdmin(admin) => {
                Self::TAG_CONTRACT_ADMIN.write(buf);
                admin.write(buf);
            }
            StateValue::CodeLength(length) => {
                Self::TAG_CODE_LENGTH.write(buf);
                length.write(buf);
            }
            StateValue::Chunk(chunk) => {
                Self::TAG_CHUNK.write(buf);
                buf.put_slice(chunk);
            }
            StateValue::GasParameters(parameters) => {
                Self::TAG_GAS_PARAMETERS.write(buf);
                parameters.write(buf);
            }
            StateValue::ApprovedCode(code_hash) => {
                Self::TAG_APPROVED_CODE.write(buf);
                buf.put_slice(code_hash);
            }
            StateValue::KeyNode { children, terminal } => {
                Self::TAG_KEY_NODE.write(buf);
                buf.put_slice(children);
                terminal.write(buf);
            }
        }
        buf.put_bytes(0, Self::BODY - self.body_size());
    }
}

impl FixedSize for StateValue {
    const SIZE: usize = 1 + Self::BODY;
}

impl Read for StateValue {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let value = match u8::read(buf)? {
            Self::TAG_ACCOUNT => StateValue::Account(Account::read(buf)?),
            Self::TAG_KEY_SLOT => StateValue::KeySlot(KeyEntry::read(buf)?),
            Self::TAG_RECOVERY => StateValue::Recovery(RecoveryConfig::read(buf)?),
            Self::TAG_PENDING_RECOVERY => StateValue::PendingRecovery(PendingRecovery::read(buf)?),
            Self::TAG_ROLE => StateValue::Role(Height::read(buf)?),
            Self::TAG_GOVERNANCE => StateValue::Governance(GovernanceState::read(buf)?),
            Self::TAG_ORGANISATION => StateValue::Organisation(Organisation::read(buf)?),
            Self::TAG_ORG_ADMIN => StateValue::OrgAdmin(AccountId::read(buf)?),
            Self::TAG_ADMIN_OF => StateValue::AdminOf(OrgId::read(buf)?),
            Self::TAG_PROPOSAL => StateValue::Proposal(Proposal::read(buf)?),
            Self::TAG_PROPOSAL_ACTION => StateValue::ProposalAction(GovernanceAction::read(buf)?),
            Self::TAG_ORG_APPROVALS => StateValue::OrgApprovals { admins: u8::read(buf)?, counted: bool::read(buf)? },
            Self::TAG_APPROVED => StateValue::Approved(Height::read(buf)?),
            Self::TAG_NODE => StateValue::Node(Node::read(buf)?),
            Self::TAG_NODE_SLOT => StateValue::NodeSlot(u16::read(buf)?),
            Self::TAG_CONTRACT => StateValue::Contract(ContractRecord::read(buf)?),
            Self::TAG_CONTRACT_ADMIN => StateValue::ContractAdmin(ContractAdmin::read(buf)?),
            Self::TAG_CODE_LENGTH => StateValue::CodeLength(u32::read(buf)?),
            Self::TAG_CHUNK => StateValue::Chunk(<[u8; CHUNK_BYTES]>::read(buf)?),
            Self::TAG_GAS_PARAMETERS => StateValue::GasParameters(GasParameters::read(buf)?),
            Self::TAG_APPROVED_CODE => StateValue::ApprovedCode(<[u8; 32]>::read(buf)?),
            Self::TAG_KEY_NODE => StateValue::KeyNode { children: <[u8; 32]>::read(buf)?, terminal: bool::read(buf)? },
            tag => return Err(CodecError::InvalidEnum(tag)),
        };
        let padding = Self::BODY - value.body_size();
        if buf.remaining() < padding {
            return Err(CodecError::EndOfBuffer);
        }
        for _ in 0..padding {
            if buf.get_u8() != 0 {
                return Err(CodecError::Invalid("StateValue", "padding is not zero"));
            }
        }
        Ok(value)
    }
}

/// The state keys holding a module record of `size` encoded bytes under `key` (the module's own
/// key bytes; they are hashed), in chunk order.
pub fn module_record_keys(module: Module, key: &[u8], size: usize) -> Vec<StateKey> {
    let key_hash = hash_tagged(MODULE_KEY_TAG, &[key]).0;
    let chunks = u16::try_from(size.div_ceil(CHUNK_BYTES)).expect("module records are at most a few KiB");
    (0..chunks).map(|chunk| StateKey::ModuleRecord(module, key_hash, chunk)).collect()
}

/// The encoded record of `size` bytes held in `chunks` (as read for [`module_record_keys`]):
/// `Ok(None)` when the record does not exist, an error when the chunks are inconsistent (some
/// present, some not, or not chunks at all).
pub fn module_record_bytes(chunks: &[Option<&StateValue>], size: usize) -> Result<Option<Vec<u8>>, String> {
    if chunks.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(chunks.len() * CHUNK_BYTES);
    for (index, chunk) in chunks.iter().enumerate() {
        match chunk {
            Some(StateValue::Chunk(chunk)) => bytes.extend_from_slice(chunk),
            other => return Err(format!("chunk {index} of a module record holds {other:?}")),
        }
    }
    if bytes.len() < size || bytes[size..].iter().any(|byte| *byte != 0) {
        return Err(format!("a module record of {size} bytes is not padded with zeros"));
    }
    bytes.truncate(size);
    Ok(Some(bytes))
}

/// The chunk values that store an encoded record, in chunk order (the last zero-padded).
pub fn module_record_chunks(bytes: &[u8]) -> Vec<StateValue> {
    bytes
        .chunks(CHUNK_BYTES)
        .map(|piece| {
            let mut chunk = [0u8; CHUNK_BYTES];
            chunk[..piece.len()].copy_from_slice(piece);
            StateValue::Chunk(chunk)
        })
        .collect()
}
