//! Receipts: the outcome of each transaction in a finalized block.

use crate::contract::{ContractEvent, EVENTS_PER_TRANSACTION_MAX};
use crate::primitives::{Amount, Hash, hash_tagged};
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};

/// The longest failure message a receipt stores.
pub const RECEIPT_MESSAGE_BYTES_MAX: usize = 256;

/// Why a transaction that was validly included in a block did not take effect.
///
/// The fee is still charged and the nonce still advances. Codes are stable: clients match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum FailureCode {
    /// The sender could not cover the amount moved.
    InsufficientBalance = 1,
    /// The account a transfer targets does not exist.
    RecipientMissing = 2,
    /// The account to create exists already.
    AccountExists = 3,
    /// A balance would exceed the largest representable amount.
    BalanceOverflow = 4,
    /// A key is not a valid point of its scheme, or may not be used where it was given.
    InvalidKey = 5,
    /// The account holds the most keys it may.
    KeySetFull = 6,
    /// The key is in the account's key set already (or is its recovery key).
    KeyExists = 7,
    /// The key is not in the account's key set.
    KeyMissing = 8,
    /// The change would leave the account's keys unable to reach the threshold.
    WouldLockAccount = 9,
    /// A threshold or weight of zero, or a threshold above the total weight.
    InvalidThreshold = 10,
    /// The recovery delay is below the chain's minimum.
    RecoveryDelayTooShort = 11,
    /// The account has no recovery key.
    NoRecoveryKey = 12,
    /// A recovery is under way already.
    RecoveryPending = 13,
    /// No recovery is under way.
    NoRecoveryPending = 14,
    /// The recovery's delay has not passed yet.
    RecoveryNotDue = 15,
    /// The sender lacks the role the action needs.
    NotPermitted = 16,
    /// The recipient is frozen and the chain does not let frozen accounts receive.
    RecipientFrozen = 17,
    /// The account is frozen already (freeze) or not frozen (unfreeze).
    FreezeUnchanged = 18,
    /// The account an action targets does not exist.
    AccountMissing = 19,
    /// The sender is not an admin of an active member organisation.
    NotMember = 20,
    /// This admin has approved this proposal already.
    AlreadyApproved = 21,
    /// No proposal has this id.
    ProposalMissing = 22,
    /// The proposal expired before it was approved.
    ProposalExpired = 23,
    /// The proposal was applied already.
    ProposalExecuted = 24,
    /// The change would leave governance without members or an organisation without enough
    /// admins to approve anything.
    WouldLoseQuorum = 25,
    /// No active member organisation has this id.
    OrgMissing = 26,
    /// The account is an admin of a member already.
    AdminExists = 27,
    /// The account is not an admin of that organisation.
    AdminMissing = 28,
    /// The organisation has the most admins it may.
    AdminSetFull = 29,
    /// The account holds the role already (grant) or does not hold it (revoke).
    RoleUnchanged = 30,
    /// The proposal is malformed (expiry out of range, an invalid threshold, ...).
    InvalidProposal = 31,
    /// A node with this key is registered already.
    NodeExists = 32,
    /// No registered node has this key.
    NodeMissing = 33,
    /// The node registry, or the validator set, is full.
    NodeSetFull = 34,
    // 35 to 39 are reserved for the parameter records.
    /// The contract reverted, trapped or broke a limit of the VM; the message says which.
    ContractFailed = 40,
    /// The contract ran out of gas (the whole gas limit is charged).
    OutOfGas = 41,
    /// No contract at the address, or it has no such entry point.
    ContractMissing = 42,
    /// The module of a deployment or upgrade is not a valid contract.
    InvalidContract = 43,
    /// The contract is frozen.
    ContractFrozen = 44,
    /// A frozen contract was frozen again, or an unfrozen one unfrozen.
    ContractFreezeUnchanged = 45,
    // 46 to 59 are reserved for contracts.
    /// An asset with this symbol exists already.
    AssetExists = 60,
    /// No asset has this symbol.
    AssetMissing = 61,
    /// The asset is paused: no mint, burn or transfer.
    AssetPaused = 62,
    /// The account's holding of the asset is frozen.
    HoldingFrozen = 63,
    /// The asset needs allow-listing and the recipient is not allowed.
    NotAllowListed = 64,
    /// Minting would take the supply past the attested reserves.
    ReservesExceeded = 65,
    /// Minting would take the supply past the asset's cap.
    CapExceeded = 66,
    /// The asset definition or operation is not valid (decimals, a cap below the supply, an
    /// operation the native asset does not support).
    InvalidAsset = 67,
    // 68 and 69 are reserved for assets.
    /// The seller has issued an invoice with this number already, or the document is registered.
    InvoiceExists = 70,
    /// The seller has no invoice with this number.
    InvoiceMissing = 71,
    /// The invoice's status does not allow the operation (or it is due and cannot be financed).
    InvoiceState = 72,
    /// The invoice's terms or offer are not valid (zero total, self-invoicing, a due date in the
    /// past, an advance above the total).
    InvalidInvoice = 73,
    // 74 to 79 are reserved for invoices.
    /// A corridor with this name exists already.
    CorridorExists = 80,
    /// No corridor has this name.
    CorridorMissing = 81,
    /// The corridor is closed: no request, quote or acceptance.
    CorridorInactive = 82,
    /// The sending wallet has requested a remittance under this reference already.
    RemittanceExists = 83,
    /// No remittance has this id.
    RemittanceMissing = 84,
    /// The remittance's status does not allow the operation (a transition out of order).
    RemittanceState = 85,
    /// The remittance's quote has expired: the FX provider may quote again.
    QuoteExpired = 86,
    /// The corridor's terms or limits are not valid (unknown assets or participants, fee shares
    /// that do not sum to the whole, zero limits, ...).
    InvalidCorridor = 87,
    /// The request or quote is not valid (a zero amount or rate, an expiry in the past, an
    /// amount that overflows).
    InvalidRemittance = 88,
    /// The account is on the sanctions list already (listing) or is not on it (delisting).
    SanctionUnchanged = 89,
    /// The debtor has acknowledged a receivable with this reference already, or the invoice
    /// backs a receivable already.
    ReceivableExists = 90,
    /// No receivable has this id, or it has no part with this number.
    ReceivableMissing = 91,
    /// The part's status or the receivable's maturity does not allow the operation (a closed,
    /// settled or financed part; before or after maturity).
    PartState = 92,
    /// The receivable's terms, a split or an offer are not valid (a zero amount, a maturity in
    /// the past, self-dealing, a price above the part's amount, too many parts).
    InvalidReceivable = 93,
    /// A split's amounts do not sum to exactly the part's amount: nobody splits more (or less)
    /// than they hold.
    SplitUnbalanced = 94,
    // 95 to 99 are reserved for finance.
    /// The owner has a batch or item with this id already.
    BatchExists = 100,
    /// The owner has no batch or item with this id.
    BatchMissing = 101,
    /// The batch's rules do not allow the sender to append this kind of event.
    EventNotAllowed = 102,
    /// The batch holds the most events it may.
    HistoryFull = 103,
    /// A split would put its children more splits from their origin than allowed.
    SplitTooDeep = 104,
    /// The batch has the most children it may.
    TooManyChildren = 105,
    /// The batch's state does not allow the operation (an item split, rules set after events).
    BatchState = 106,
    /// A split is not valid (a child id given twice, or the parent's own id).
    InvalidSplit = 107,
    /// The rules name a party that is not an account.
    InvalidRules = 108,
    // 109 is reserved for traceability.
    /// The charity has registered a campaign with this id already.
    CampaignExists = 110,
    /// The charity has no campaign with this id.
    CampaignMissing = 111,
    /// The campaign is closed: it takes no donations.
    CampaignClosed = 112,
    /// The campaign's terms or the operation's amounts are not valid (the native asset, an
    /// unknown asset, no approvers or repeated ones, a threshold out of range, a zero amount,
    /// the most beneficiaries registered already).
    InvalidCampaign = 113,
    /// The account is registered as a beneficiary of the campaign already.
    BeneficiaryExists = 114,
    /// The account is not a registered beneficiary of the campaign.
    BeneficiaryMissing = 115,
    /// The campaign has no disbursement proposal with this number.
    DisbursementMissing = 116,
    /// The proposal was paid or cancelled already.
    DisbursementState = 117,
    /// The campaign's escrow holds less than the disbursement: nothing leaves a campaign that
    /// was not donated to it.
    CampaignFundsShort = 118,
    /// This approver has approved this proposal already.
    DisbursementApproved = 119,
    /// The hash is deposited already (a document or a batch root): the first deposit wins.
    DepositExists = 120,
    /// No deposit has this hash (for a batch leaf: no deposit has the batch's root).
    DepositMissing = 121,
    /// The holder holds a certificate of this kind for this document already.
    CertificateExists = 122,
    /// No certificate has this id.
    CertificateMissing = 123,
    /// The batch proof does not place the document in the deposited batch (a wrong path or
    /// index, or the root is not a batch deposit).
    NotaryProofInvalid = 124,
    /// The deposit or certificate is revoked (revoking it again, or certifying a revoked deposit).
    NotaryRevoked = 125,
    /// The operation's values are not valid (a batch of no or too many leaves, an empty title or
    /// reason, a batch root certified as a document).
    InvalidNotary = 126,
    // 127 to 129 are reserved for the notary.
}

impl FailureCode {
    /// Decodes a stored code.
    pub fn from_u16(code: u16) -> Option<Self> {
        Some(match code {
            1 => Self::InsufficientBalance,
            2 => Self::RecipientMissing,
            3 => Self::AccountExists,
            4 => Self::BalanceOverflow,
            5 => Self::InvalidKey,
            6 => Self::KeySetFull,
            7 => Self::KeyExists,
            8 => Self::KeyMissing,
            9 => Self::WouldLockAccount,
            10 => Self::InvalidThreshold,
            11 => Self::RecoveryDelayTooShort,
            12 => Self::NoRecoveryKey,
            13 => Self::RecoveryPending,
            14 => Self::NoRecoveryPending,
            15 => Self::RecoveryNotDue,
            16 => Self::NotPermitted,
            17 => Self::RecipientFrozen,
            18 => Self::FreezeUnchanged,
            19 => Self::AccountMissing,
            20 => Self::NotMember,
            21 => Self::AlreadyApproved,
            22 => Self::ProposalMissing,
            23 => Self::ProposalExpired,
            24 => Self::ProposalExecuted,
            25 => Self::WouldLoseQuorum,
            26 => Self::OrgMissing,
            27 => Self::AdminExists,
            28 => Self::AdminMissing,
            29 => Self::AdminSetFull,
            30 => Self::RoleUnchanged,
            31 => Self::InvalidProposal,
            32 => Self::NodeExists,
            33 => Self::NodeMissing,
            34 => Self::NodeSetFull,
            40 => Self::ContractFailed,
            41 => Self::OutOfGas,
            42 => Self::ContractMissing,
            43 => Self::InvalidContract,
            44 => Self::ContractFrozen,
            45 => Self::ContractFreezeUnchanged,
            60 => Self::AssetExists,
            61 => Self::AssetMissing,
            62 => Self::AssetPaused,
            63 => Self::HoldingFrozen,
            64 => Self::NotAllowListed,
            65 => Self::ReservesExceeded,
            66 => Self::CapExceeded,
            67 => Self::InvalidAsset,
            70 => Self::InvoiceExists,
            71 => Self::InvoiceMissing,
            72 => Self::InvoiceState,
            73 => Self::InvalidInvoice,
            80 => Self::CorridorExists,
            81 => Self::CorridorMissing,
            82 => Self::CorridorInactive,
            83 => Self::RemittanceExists,
            84 => Self::RemittanceMissing,
            85 => Self::RemittanceState,
            86 => Self::QuoteExpired,
            87 => Self::InvalidCorridor,
            88 => Self::InvalidRemittance,
            89 => Self::SanctionUnchanged,
            90 => Self::ReceivableExists,
            91 => Self::ReceivableMissing,
            92 => Self::PartState,
            93 => Self::InvalidReceivable,
            94 => Self::SplitUnbalanced,
            100 => Self::BatchExists,
            101 => Self::BatchMissing,
            102 => Self::EventNotAllowed,
            103 => Self::HistoryFull,
            104 => Self::SplitTooDeep,
            105 => Self::TooManyChildren,
            106 => Self::BatchState,
            107 => Self::InvalidSplit,
            108 => Self::InvalidRules,
            110 => Self::CampaignExists,
            111 => Self::CampaignMissing,
            112 => Self::CampaignClosed,
            113 => Self::InvalidCampaign,
            114 => Self::BeneficiaryExists,
            115 => Self::BeneficiaryMissing,
            116 => Self::DisbursementMissing,
            117 => Self::DisbursementState,
            118 => Self::CampaignFundsShort,
            119 => Self::DisbursementApproved,
            120 => Self::DepositExists,
            121 => Self::DepositMissing,
            122 => Self::CertificateExists,
            123 => Self::CertificateMissing,
            124 => Self::NotaryProofInvalid,
            125 => Self::NotaryRevoked,
            126 => Self::InvalidNotary,
            _ => return None,
        })
    }
}

/// The outcome of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure { code: FailureCode, message: String },
}

/// What executing one transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub transaction_hash: Hash,
    pub outcome: Outcome,
    /// Everything the sender paid: the flat fee plus gas used times the gas price.
    pub fee_paid: Amount,
    /// Gas the contract payload used (zero for payloads that run no contract).
    pub gas_used: u64,
    /// Events of a successful contract payload, in emission order.
    pub events: Vec<ContractEvent>,
}

impl Receipt {
    /// Domain tag of receipt leaves in the receipts root (v2: gas used and events).
    pub const HASH_TAG: &'static [u8] = b"formica/receipt/v2";

    /// A receipt of a payload that ran no contract.
    pub fn plain(transaction_hash: Hash, outcome: Outcome, fee_paid: Amount) -> Self {
        Self { transaction_hash, outcome, fee_paid, gas_used: 0, events: Vec::new() }
    }

    /// The receipt's leaf in the block's receipts tree.
    pub fn hash(&self) -> Hash {
        hash_tagged(Self::HASH_TAG, &[&self.encode()])
    }

    /// Whether the transaction took effect.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Success)
    }
}

impl Write for Receipt {
    fn write(&self, buf: &mut impl BufMut) {
        self.transaction_hash.write(buf);
        match &self.outcome {
            Outcome::Success => 0u16.write(buf),
            Outcome::Failure { code, message } => {
                (*code as u16).write(buf);
                message.as_bytes().to_vec().write(buf);
            }
        }
        self.fee_paid.write(buf);
        self.gas_used.write(buf);
        self.events.write(buf);
    }
}

impl EncodeSize for Receipt {
    fn encode_size(&self) -> usize {
        self.transaction_hash.encode_size()
            + 2
            + match &self.outcome {
                Outcome::Success => 0,
                Outcome::Failure { message, .. } => message.as_bytes().to_vec().encode_size(),
            }
            + self.fee_paid.encode_size()
            + 8
            + self.events.encode_size()
    }
}

impl Read for Receipt {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let transaction_hash = Hash::read(buf)?;
        let outcome = match u16::read(buf)? {
            0 => Outcome::Success,
            raw => {
                let code = FailureCode::from_u16(raw).ok_or(CodecError::Invalid("Receipt", "unknown failure code"))?;
                let bytes = Vec::<u8>::read_cfg(buf, &(RangeCfg::new(0..=RECEIPT_MESSAGE_BYTES_MAX), ()))?;
                let message =
                    String::from_utf8(bytes).map_err(|_| CodecError::Invalid("Receipt", "message is not UTF-8"))?;
                Outcome::Failure { code, message }
            }
        };
        let fee_paid = Amount::read(buf)?;
        let gas_used = u64::read(buf)?;
        let events = Vec::<ContractEvent>::read_cfg(buf, &(RangeCfg::new(0..=EVENTS_PER_TRANSACTION_MAX), ()))?;
        Ok(Self { transaction_hash, outcome, fee_paid, gas_used, events })
    }
}
