//! Transactions: the signed body, its payloads, and the limits a decoder enforces.

use crate::assets::AssetOp;
use crate::charity::CharityOp;
use crate::contract::{CONTRACT_CODE_BYTES_MAX, CONTRACT_INPUT_BYTES_MAX, ContractAdmin, read_bytes, read_method};
use crate::finance::FinanceOp;
use crate::governance::GovernanceAction;
use crate::invoices::InvoiceOp;
use crate::keys::{AccountKey, AccountSignature};
use crate::notary::NotaryOp;
use crate::primitives::{AccountId, Amount, ChainId, Hash, Height, Nonce, hash_tagged};
use crate::remittance::RemittanceOp;
use crate::traceability::TraceOp;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Encode, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write};
use commonware_cryptography::{Signer, ed25519};

/// Namespace of every transaction signature (the chain id is inside the signed body).
pub const TRANSACTION_NAMESPACE: &[u8] = b"FORMICA_TX_V1";

/// Hard limits on a transaction, applied while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionLimits {
    /// The most signatures one transaction may carry.
    pub signatures_max: usize,
    /// The most bytes of an encoded transaction.
    pub encoded_bytes_max: usize,
}

impl TransactionLimits {
    /// Room for everything in a transaction but a deployment's code and input: the body's fixed
    /// fields, the other payloads, and sixteen signatures (each under 100 bytes).
    pub const OVERHEAD_BYTES_MAX: usize = 4 * 1024;
    /// The default size limit: a deployment of the largest module with the largest input fits.
    pub const ENCODED_BYTES_MAX: usize = CONTRACT_CODE_BYTES_MAX + CONTRACT_INPUT_BYTES_MAX + Self::OVERHEAD_BYTES_MAX;
}

impl Default for TransactionLimits {
    fn default() -> Self {
        Self { signatures_max: 16, encoded_bytes_max: Self::ENCODED_BYTES_MAX }
    }
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Creates the account derived from `public_key` (its only key, weight 1, threshold 1),
    /// funded with `initial_balance` from the sender.
    CreateAccount { public_key: AccountKey, initial_balance: Amount },
    /// Moves `amount` of the native asset from the sender to `to`.
    Transfer { to: AccountId, amount: Amount },
    /// Adds a signing key to the sender's key set.
    AddKey { key: AccountKey, weight: u16 },
    /// Removes a signing key; refused if the remaining weight could not reach the threshold.
    RemoveKey { key: AccountKey },
    /// Changes a signing key's weight; refused if the total could no longer reach the threshold.
    SetKeyWeight { key: AccountKey, weight: u16 },
    /// Changes the signature weight a transaction needs; refused above the total weight.
    SetThreshold { threshold: u16 },
    /// Sets (or replaces) the recovery key and the delay a recovery must wait.
    SetRecovery { key: AccountKey, delay_blocks: u32 },
    /// Removes the recovery key (and cancels a recovery under way).
    RemoveRecovery,
    /// Signed by the recovery key alone: starts replacing the key set with `new_key`.
    StartRecovery { new_key: AccountKey },
    /// Signed by the current keys: cancels the recovery under way.
    CancelRecovery,
    /// Signed by the recovery key alone, once the delay has passed: `new_key` becomes the only key.
    CompleteRecovery,
    /// A regulator freezes an account: it cannot send until unfrozen.
    Freeze { account: AccountId },
    /// A regulator unfreezes an account.
    Unfreeze { account: AccountId },
    /// An admin of a member organisation proposes `action` (and approves it for its
    /// organisation); it can be approved until `expiry_blocks` after the proposing block.
    Propose { action: Box<GovernanceAction>, expiry_blocks: u32 },
    /// An admin of a member organisation approves a proposal for its organisation.
    Approve { proposal: u64 },
    /// Deploys a contract (the sender needs the deployer role) at the address derived from the
    /// sender and this transaction's nonce, moves `value` to it and runs its constructor with
    /// `input`. `gas_limit` bounds validation, storage and the constructor.
    Deploy { code: Vec<u8>, input: Vec<u8>, admin: ContractAdmin, value: Amount, gas_limit: u64 },
    /// Calls entry point `method` of `contract` with `input`, moving `value` to it first.
    Call { contract: AccountId, method: String, input: Vec<u8>, value: Amount, gas_limit: u64 },
    /// Replaces a contract's code, keeping its storage and balance (the contract's admin only).
    Upgrade { contract: AccountId, code: Vec<u8>, gas_limit: u64 },
    /// Freezes or unfreezes a contract (its admin, or a regulator).
    SetContractFrozen { contract: AccountId, frozen: bool },
    /// An operation of the assets module (see [`AssetOp`]).
    Asset(AssetOp),
    /// An operation of the remittance module (see [`RemittanceOp`]).
    Remittance(RemittanceOp),
    /// An operation of the invoices module (see [`InvoiceOp`]).
    Invoice(InvoiceOp),
    /// An operation of the supply-chain finance module (see [`FinanceOp`]).
    Finance(FinanceOp),
    /// An operation of the charity tracking module (see [`CharityOp`]).
    Charity(CharityOp),
    /// An operation of the product traceability module (see [`TraceOp`]; boxed: its rules make
    /// it the largest payload).
    Trace(Box<TraceOp>),
    /// An operation of the notary module (see [`NotaryOp`]).
    Notary(NotaryOp),
}

impl Payload {
    const TAG_CREATE_ACCOUNT: u8 = 0;
    const TAG_TRANSFER: u8 = 1;
    const TAG_ADD_KEY: u8 = 2;
    const TAG_REMOVE_KEY: u8 = 3;
    const TAG_SET_KEY_WEIGHT: u8 = 4;
    const TAG_SET_THRESHOLD: u8 = 5;
    const TAG_SET_RECOVERY: u8 = 6;
    const TAG_REMOVE_RECOVERY: u8 = 7;
    const TAG_START_RECOVERY: u8 = 8;
    const TAG_CANCEL_RECOVERY: u8 = 9;
    const TAG_COMPLETE_RECOVERY: u8 = 10;
    const TAG_FREEZE: u8 = 11;
    const TAG_UNFREEZE: u8 = 12;
    const TAG_PROPOSE: u8 = 13;
    const TAG_APPROVE: u8 = 14;
    const TAG_DEPLOY: u8 = 15;
    const TAG_CALL: u8 = 16;
    const TAG_UPGRADE: u8 = 17;
    const TAG_SET_CONTRACT_FROZEN: u8 = 18;
    // Tags 19 to 29 belong to the built-in modules.
    const TAG_ASSET: u8 = 19;
    const TAG_REMITTANCE: u8 = 20;
    const TAG_INVOICE: u8 = 21;
    const TAG_FINANCE: u8 = 22;
    const TAG_CHARITY: u8 = 24;
    const TAG_TRACE: u8 = 23;
    const TAG_NOTARY: u8 = 25;

    /// The gas the payload may use, for payloads that run the VM.
    pub fn gas_limit(&self) -> Option<u64> {
        match self {
            Payload::Deploy { gas_limit, .. }
            | Payload::Call { gas_limit, .. }
            | Payload::Upgrade { gas_limit, .. } => Some(*gas_limit),
            _ => None,
        }
    }

    /// Whether the recovery key alone may sign this payload (and it may sign nothing else).
    pub fn is_recovery_action(&self) -> bool {
        matches!(self, Payload::StartRecovery { .. } | Payload::CompleteRecovery)
    }

    /// The native amount the payload moves out of the sender's balance (the fee aside).
    pub fn moved(&self) -> Amount {
        match self {
            Payload::Transfer { amount, .. } => *amount,
            Payload::CreateAccount { initial_balance, .. } => *initial_balance,
            Payload::Deploy { value, .. } | Payload::Call { value, .. } => *value,
            Payload::Upgrade { .. } | Payload::SetContractFrozen { .. } => Amount::ZERO,
            Payload::Asset(AssetOp::Transfer { symbol, amount, .. }) if symbol.is_native() => *amount,
            Payload::Asset(_)
            | Payload::Remittance(_)
            | Payload::Invoice(_)
            | Payload::Finance(_)
            | Payload::Charity(_)
            | Payload::Trace(_)
            | Payload::Notary(_) => Amount::ZERO,
            Payload::AddKey { .. }
            | Payload::RemoveKey { .. }
            | Payload::SetKeyWeight { .. }
            | Payload::SetThreshold { .. }
            | Payload::SetRecovery { .. }
            | Payload::RemoveRecovery
            | Payload::StartRecovery { .. }
            | Payload::CancelRecovery
            | Payload::CompleteRecovery
            | Payload::Freeze { .. }
            | Payload::Unfreeze { .. }
            | Payload::Propose { .. }
            | Payload::Approve { .. } => Amount::ZERO,
        }
    }

    /// A short name for logs, receipts and the CLI.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::CreateAccount { .. } => "create_account",
            Payload::Transfer { .. } => "transfer",
            Payload::AddKey { .. } => "add_key",
            Payload::RemoveKey { .. } => "remove_key",
            Payload::SetKeyWeight { .. } => "set_key_weight",
            Payload::SetThreshold { .. } => "set_threshold",
            Payload::SetRecovery { .. } => "set_recovery",
            Payload::RemoveRecovery => "remove_recovery",
            Payload::StartRecovery { .. } => "start_recovery",
            Payload::CancelRecovery => "cancel_recovery",
            Payload::CompleteRecovery => "complete_recovery",
            Payload::Freeze { .. } => "freeze",
            Payload::Unfreeze { .. } => "unfreeze",
            Payload::Propose { .. } => "propose",
            Payload::Approve { .. } => "approve",
            Payload::Deploy { .. } => "deploy",
            Payload::Call { .. } => "call",
            Payload::Upgrade { .. } => "upgrade",
            Payload::SetContractFrozen { .. } => "set_contract_frozen",
            Payload::Asset(op) => op.kind(),
            Payload::Remittance(op) => op.kind(),
            Payload::Invoice(op) => op.kind(),
            Payload::Finance(op) => op.kind(),
            Payload::Charity(op) => op.kind(),
            Payload::Trace(op) => op.kind(),
            Payload::Notary(op) => op.kind(),
        }
    }
}

impl Write for Payload {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Payload::CreateAccount { public_key, initial_balance } => {
                Self::TAG_CREATE_ACCOUNT.write(buf);
                public_key.write(buf);
                initial_balance.write(buf);
            }
            Payload::Transfer { to, amount } => {
                Self::TAG_TRANSFER.write(buf);
                to.write(buf);
                amount.write(buf);
            }
            Payload::AddKey { key, weight } => {
                Self::TAG_ADD_KEY.write(buf);
                key.write(buf);
                weight.write(buf);
            }
            Payload::RemoveKey { key } => {
                Self::TAG_REMOVE_KEY.write(buf);
                key.write(buf);
            }
            Payload::SetKeyWeight { key, weight } => {
                Self::TAG_SET_KEY_WEIGHT.write(buf);
                key.write(buf);
                weight.write(buf);
            }
            Payload::SetThreshold { threshold } => {
                Self::TAG_SET_THRESHOLD.write(buf);
                threshold.write(buf);
            }
            Payload::SetRecovery { key, delay_blocks } => {
                Self::TAG_SET_RECOVERY.write(buf);
                key.write(buf);
                delay_blocks.write(buf);
            }
            Payload::RemoveRecovery => Self::TAG_REMOVE_RECOVERY.write(buf),
            Payload::StartRecovery { new_key } => {
                Self::TAG_START_RECOVERY.write(buf);
                new_key.write(buf);
            }
            Payload::CancelRecovery => Self::TAG_CANCEL_RECOVERY.write(buf),
            Payload::CompleteRecovery => Self::TAG_COMPLETE_RECOVERY.write(buf),
            Payload::Freeze { account } => {
                Self::TAG_FREEZE.write(buf);
                account.write(buf);
            }
            Payload::Unfreeze { account } => {
                Self::TAG_UNFREEZE.write(buf);
                account.write(buf);
            }
            Payload::Propose { action, expiry_blocks } => {
                Self::TAG_PROPOSE.write(buf);
                action.write(buf);
                expiry_blocks.write(buf);
            }
            Payload::Approve { proposal } => {
                Self::TAG_APPROVE.write(buf);
                proposal.write(buf);
            }
            Payload::Deploy { code, input, admin, value, gas_limit } => {
                Self::TAG_DEPLOY.write(buf);
                code.write(buf);
                input.write(buf);
                admin.write(buf);
                value.write(buf);
                gas_limit.write(buf);
            }
            Payload::Call { contract, method, input, value, gas_limit } => {
                Self::TAG_CALL.write(buf);
                contract.write(buf);
                method.as_bytes().to_vec().write(buf);
                input.write(buf);
                value.write(buf);
                gas_limit.write(buf);
            }
            Payload::Upgrade { contract, code, gas_limit } => {
                Self::TAG_UPGRADE.write(buf);
                contract.write(buf);
                code.write(buf);
                gas_limit.write(buf);
            }
            Payload::SetContractFrozen { contract, frozen } => {
                Self::TAG_SET_CONTRACT_FROZEN.write(buf);
                contract.write(buf);
                frozen.write(buf);
            }
            Payload::Asset(op) => {
                Self::TAG_ASSET.write(buf);
                op.write(buf);
            }
            Payload::Remittance(op) => {
                Self::TAG_REMITTANCE.write(buf);
                op.write(buf);
            }
            Payload::Invoice(op) => {
                Self::TAG_INVOICE.write(buf);
                op.write(buf);
            }
            Payload::Finance(op) => {
                Self::TAG_FINANCE.write(buf);
                op.write(buf);
            }
            Payload::Charity(op) => {
                Self::TAG_CHARITY.write(buf);
                op.write(buf);
            }
            Payload::Trace(op) => {
                Self::TAG_TRACE.write(buf);
                op.write(buf);
            }
            Payload::Notary(op) => {
                Self::TAG_NOTARY.write(buf);
                op.write(buf);
            }
        }
    }
}

impl EncodeSize for Payload {
    fn encode_size(&self) -> usize {
        1 + match self {
            Payload::CreateAccount { .. } => AccountKey::SIZE + Amount::SIZE,
            Payload::Transfer { .. } => AccountId::SIZE + Amount::SIZE,
            Payload::AddKey { .. } | Payload::SetKeyWeight { .. } => AccountKey::SIZE + 2,
            Payload::RemoveKey { .. } | Payload::StartRecovery { .. } => AccountKey::SIZE,
            Payload::SetThreshold { .. } => 2,
            Payload::SetRecovery { .. } => AccountKey::SIZE + 4,
            Payload::RemoveRecovery | Payload::CancelRecovery | Payload::CompleteRecovery => 0,
            Payload::Freeze { .. } | Payload::Unfreeze { .. } => AccountId::SIZE,
            Payload::Propose { action, .. } => action.encode_size() + 4,
            Payload::Approve { .. } => 8,
            Payload::Deploy { code, input, admin, .. } => {
                code.encode_size() + input.encode_size() + admin.encode_size() + Amount::SIZE + 8
            }
            Payload::Call { method, input, .. } => {
                AccountId::SIZE + method.as_bytes().to_vec().encode_size() + input.encode_size() + Amount::SIZE + 8
            }
            Payload::Upgrade { code, .. } => AccountId::SIZE + code.encode_size() + 8,
            Payload::SetContractFrozen { .. } => AccountId::SIZE + 1,
            Payload::Asset(op) => op.encode_size(),
            Payload::Remittance(op) => op.encode_size(),
            Payload::Invoice(op) => op.encode_size(),
            Payload::Finance(op) => op.encode_size(),
            Payload::Charity(op) => op.encode_size(),
            Payload::Trace(op) => op.encode_size(),
            Payload::Notary(op) => op.encode_size(),
        }
    }
}

impl Read for Payload {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_CREATE_ACCOUNT => {
                Payload::CreateAccount { public_key: AccountKey::read(buf)?, initial_balance: Amount::read(buf)? }
            }
            Self::TAG_TRANSFER => Payload::Transfer { to: AccountId::read(buf)?, amount: Amount::read(buf)? },
            Self::TAG_ADD_KEY => Payload::AddKey { key: AccountKey::read(buf)?, weight: u16::read(buf)? },
            Self::TAG_REMOVE_KEY => Payload::RemoveKey { key: AccountKey::read(buf)? },
            Self::TAG_SET_KEY_WEIGHT => Payload::SetKeyWeight { key: AccountKey::read(buf)?, weight: u16::read(buf)? },
            Self::TAG_SET_THRESHOLD => Payload::SetThreshold { threshold: u16::read(buf)? },
            Self::TAG_SET_RECOVERY => {
                Payload::SetRecovery { key: AccountKey::read(buf)?, delay_blocks: u32::read(buf)? }
            }
            Self::TAG_REMOVE_RECOVERY => Payload::RemoveRecovery,
            Self::TAG_START_RECOVERY => Payload::StartRecovery { new_key: AccountKey::read(buf)? },
            Self::TAG_CANCEL_RECOVERY => Payload::CancelRecovery,
            Self::TAG_COMPLETE_RECOVERY => Payload::CompleteRecovery,
            Self::TAG_FREEZE => Payload::Freeze { account: AccountId::read(buf)? },
            Self::TAG_UNFREEZE => Payload::Unfreeze { account: AccountId::read(buf)? },
            Self::TAG_PROPOSE => {
                Payload::Propose { action: Box::new(GovernanceAction::read(buf)?), expiry_blocks: u32::read(buf)? }
            }
            Self::TAG_APPROVE => Payload::Approve { proposal: u64::read(buf)? },
            Self::TAG_DEPLOY => Payload::Deploy {
                code: read_bytes(buf, CONTRACT_CODE_BYTES_MAX)?,
                input: read_bytes(buf, CONTRACT_INPUT_BYTES_MAX)?,
                admin: ContractAdmin::read(buf)?,
                value: Amount::read(buf)?,
                gas_limit: u64::read(buf)?,
            },
            Self::TAG_CALL => Payload::Call {
                contract: AccountId::read(buf)?,
                method: read_method(buf)?,
                input: read_bytes(buf, CONTRACT_INPUT_BYTES_MAX)?,
                value: Amount::read(buf)?,
                gas_limit: u64::read(buf)?,
            },
            Self::TAG_UPGRADE => Payload::Upgrade {
                contract: AccountId::read(buf)?,
                code: read_bytes(buf, CONTRACT_CODE_BYTES_MAX)?,
                gas_limit: u64::read(buf)?,
            },
            Self::TAG_SET_CONTRACT_FROZEN => {
                Payload::SetContractFrozen { contract: AccountId::read(buf)?, frozen: bool::read(buf)? }
            }
            Self::TAG_ASSET => Payload::Asset(AssetOp::read(buf)?),
            Self::TAG_REMITTANCE => Payload::Remittance(RemittanceOp::read(buf)?),
            Self::TAG_INVOICE => Payload::Invoice(InvoiceOp::read(buf)?),
            Self::TAG_FINANCE => Payload::Finance(FinanceOp::read(buf)?),
            Self::TAG_CHARITY => Payload::Charity(CharityOp::read(buf)?),
            Self::TAG_TRACE => Payload::Trace(Box::new(TraceOp::read(buf)?)),
            Self::TAG_NOTARY => Payload::Notary(NotaryOp::read(buf)?),
            tag => return Err(CodecError::InvalidEnum(tag)),
        })
    }
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionBody {
    pub chain_id: ChainId,
    pub sender: AccountId,
    /// Must equal the sender's next nonce when the transaction executes.
    pub nonce: Nonce,
    /// The last height at which the transaction may be included.
    pub expiry_height: Height,
    /// The most the sender agrees to pay in fees.
    pub fee_limit: Amount,
    pub payload: Payload,
}

impl Write for TransactionBody {
    fn write(&self, buf: &mut impl BufMut) {
        self.chain_id.write(buf);
        self.sender.write(buf);
        self.nonce.write(buf);
        self.expiry_height.write(buf);
        self.fee_limit.write(buf);
        self.payload.write(buf);
    }
}

impl EncodeSize for TransactionBody {
    fn encode_size(&self) -> usize {
        self.chain_id.encode_size()
            + self.sender.encode_size()
            + self.nonce.encode_size()
            + self.expiry_height.encode_size()
            + self.fee_limit.encode_size()
            + self.payload.encode_size()
    }
}

impl Read for TransactionBody {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            chain_id: ChainId::read(buf)?,
            sender: AccountId::read(buf)?,
            nonce: Nonce::read(buf)?,
            expiry_height: Height::read(buf)?,
            fee_limit: Amount::read(buf)?,
            payload: Payload::read(buf)?,
        })
    }
}

impl TransactionBody {
    /// Domain tag of transaction hashes.
    pub const HASH_TAG: &'static [u8] = b"formica/tx/v1";

    /// The transaction hash: what clients look a transaction up by.
    pub fn hash(&self) -> Hash {
        hash_tagged(Self::HASH_TAG, &[&self.encode()])
    }

    /// The bytes every scheme signs: the transaction namespace, framed, then the encoded body.
    /// (Ed25519 signatures through commonware frame the namespace the same way.)
    pub fn signing_message(&self) -> Vec<u8> {
        commonware_utils::union_unique(TRANSACTION_NAMESPACE, &self.encode())
    }

    /// Signs the body with ed25519 `keys` (other schemes sign through `formica-crypto`).
    pub fn sign(self, keys: &[&ed25519::PrivateKey]) -> Transaction {
        let message = self.encode();
        let signatures = keys
            .iter()
            .map(|key| TransactionSignature {
                public_key: AccountKey::ed25519(&key.public_key()),
                signature: AccountSignature(
                    key.sign(TRANSACTION_NAMESPACE, &message)
                        .as_ref()
                        .try_into()
                        .expect("ed25519 signatures are 64 bytes"),
                ),
            })
            .collect();
        Transaction { body: self, signatures }
    }
}

/// One signature over a transaction body, with the key that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionSignature {
    pub public_key: AccountKey,
    pub signature: AccountSignature,
}

impl Write for TransactionSignature {
    fn write(&self, buf: &mut impl BufMut) {
        self.public_key.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for TransactionSignature {
    fn encode_size(&self) -> usize {
        self.public_key.encode_size() + self.signature.encode_size()
    }
}

impl Read for TransactionSignature {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { public_key: AccountKey::read(buf)?, signature: AccountSignature::read(buf)? })
    }
}

/// A signed transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub body: TransactionBody,
    pub signatures: Vec<TransactionSignature>,
}

impl Transaction {
    /// The hash of the body (signatures are not part of the identity).
    pub fn hash(&self) -> Hash {
        self.body.hash()
    }
}

impl Write for Transaction {
    fn write(&self, buf: &mut impl BufMut) {
        self.body.write(buf);
        self.signatures.write(buf);
    }
}

impl EncodeSize for Transaction {
    fn encode_size(&self) -> usize {
        self.body.encode_size() + self.signatures.encode_size()
    }
}

impl Read for Transaction {
    type Cfg = TransactionLimits;
    fn read_cfg(buf: &mut impl Buf, limits: &TransactionLimits) -> Result<Self, CodecError> {
        let body = TransactionBody::read(buf)?;
        let signatures = Vec::<TransactionSignature>::read_cfg(buf, &(RangeCfg::new(1..=limits.signatures_max), ()))?;
        Ok(Self { body, signatures })
    }
}
