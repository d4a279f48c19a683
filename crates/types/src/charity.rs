//! Charity tracking: the operations of the charity module, the records it keeps, and the
//! first-in-first-out tracing of donations to the disbursements they funded.
//!
//! A charity registers a campaign: a purpose, an asset, a target, and the approvers (up to
//! [`APPROVERS_MAX`]) of whom `threshold` must approve each disbursement. Donations move the
//! asset from the donor into the campaign's escrow ([`campaign_escrow`], an address no key
//! controls); disbursements move it out to a registered beneficiary, with the hash of their
//! evidence, once enough approvers have approved. Nothing else moves the escrow's funds.
//!
//! # Tracing (first in, first out)
//! Donations are numbered in the order they arrive and each records `cumulative_start`, the
//! campaign's donated total before it: donation `i` covers the range `[cum_i, cum_i + amount_i)`
//! of everything ever donated. Paid disbursements are numbered likewise, and disbursement `j`
//! covers `[D_j, D_j + amount_j)` of everything ever disbursed. Money leaves in the order it
//! came in, so donation `i` funded exactly the disbursements whose range overlaps its own, each
//! by the size of the overlap ([`funded_by`]). Two numbers per record are all the storage this
//! takes, and a trace is a binary search over the disbursements (their ranges are sorted and
//! adjacent) followed by a walk over the few that overlap.

use crate::assets::Symbol;
use crate::invoices::InvoiceNumber;
use crate::primitives::{AccountId, Amount, Hash, Height, ParseError, hash_tagged};
use bytes::BufMut;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most approvers a campaign names.
pub const APPROVERS_MAX: usize = 5;

/// The most beneficiaries one campaign registers.
pub const BENEFICIARIES_MAX: u32 = 1_000;

/// The most disbursements one trace answer lists (a donation larger than the disbursements
/// after it may have funded more; the answer then says it was cut).
pub const TRACE_DISBURSEMENTS_MAX: usize = 64;

/// A campaign's id: unique per charity, in the alphabet of invoice numbers (1 to 32 of
/// `A`-`Z`, `a`-`z`, `0`-`9`, `-`, `_`, `/`, `.`).
pub type CampaignId = InvoiceNumber;

/// The address that holds a campaign's funds: a tagged hash of the charity and the campaign id,
/// which no key and no deployment can produce, so only the charity module moves its holdings.
pub fn campaign_escrow(charity: &AccountId, campaign: &CampaignId) -> AccountId {
    AccountId(hash_tagged(b"formica/charity-escrow/v1", &[&charity.0, campaign.as_str().as_bytes()]).0)
}

/// UTF-8 text of 1 to `N` bytes (`N` at most 255) without control characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BoundedText<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

/// A campaign's purpose, in up to 64 bytes (its full statement is the purpose document).
pub type Purpose = BoundedText<64>;

/// A beneficiary's name, in up to 32 bytes.
pub type BeneficiaryName = BoundedText<32>;

impl<const N: usize> BoundedText<N> {
    /// The longest text, in bytes.
    pub const BYTES_MAX: usize = N;

    /// Checks and stores a text.
    pub fn new(text: &str) -> Result<Self, ParseError> {
        if text.is_empty() || text.len() > N {
            return Err(ParseError::Length { expected: N, actual: text.len() });
        }
        if text.chars().any(char::is_control) {
            return Err(ParseError::Invalid(format!("{text:?} holds control characters")));
        }
        let mut bytes = [0u8; N];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Self { len: u8::try_from(text.len()).expect("N is at most 255"), bytes })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked when made or decoded")
    }
}

impl<const N: usize> fmt::Display for BoundedText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for BoundedText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl<const N: usize> Serialize for BoundedText<N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de, const N: usize> Deserialize<'de> for BoundedText<N> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

impl<const N: usize> Write for BoundedText<N> {
    fn write(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl<const N: usize> FixedSize for BoundedText<N> {
    const SIZE: usize = 1 + N;
}

impl<const N: usize> Read for BoundedText<N> {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let bytes = <[u8; N]>::read(buf)?;
        let used = usize::from(len);
        if used == 0 || used > N || bytes[used..].iter().any(|byte| *byte != 0) {
            return Err(CodecError::Invalid("BoundedText", "bad length or padding"));
        }
        match std::str::from_utf8(&bytes[..used]) {
            Ok(text) if !text.chars().any(char::is_control) => Ok(Self { len, bytes }),
            _ => Err(CodecError::Invalid("BoundedText", "not UTF-8 text without control characters")),
        }
    }
}

/// What a charity states when it registers a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignTerms {
    pub id: CampaignId,
    pub purpose: Purpose,
    /// The hash of the campaign's purpose document (its full statement and its rules for
    /// beneficiaries; the document stays off the chain).
    pub purpose_document: Hash,
    /// The asset donations are made in: an asset of the assets module (not the native one).
    pub asset: Symbol,
    /// What the campaign aims to raise (donations past it are accepted).
    pub target: Amount,
    /// The accounts that approve disbursements: 1 to [`APPROVERS_MAX`], distinct.
    pub approvers: Vec<AccountId>,
    /// How many approvers must approve a disbursement: 1 to the number of approvers.
    pub threshold: u8,
}

impl CampaignTerms {
    /// The position of `account` among the approvers.
    pub fn approver_position(&self, account: &AccountId) -> Option<usize> {
        self.approvers.iter().position(|approver| approver == account)
    }
}

impl Write for CampaignTerms {
    fn write(&self, buf: &mut impl BufMut) {
        self.id.write(buf);
        self.purpose.write(buf);
        self.purpose_document.write(buf);
        self.asset.write(buf);
        self.target.write(buf);
        u8::try_from(self.approvers.len()).expect("at most APPROVERS_MAX approvers").write(buf);
        for slot in 0..APPROVERS_MAX {
            self.approvers.get(slot).copied().unwrap_or(AccountId([0; 32])).write(buf);
        }
        self.threshold.write(buf);
    }
}

impl FixedSize for CampaignTerms {
    const SIZE: usize = CampaignId::SIZE
        + Purpose::SIZE
        + Hash::SIZE
        + Symbol::SIZE
        + Amount::SIZE
        + 1
        + APPROVERS_MAX * AccountId::SIZE
        + 1;
}

impl Read for CampaignTerms {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let id = CampaignId::read(buf)?;
        let purpose = Purpose::read(buf)?;
        let purpose_document = Hash::read(buf)?;
        let asset = Symbol::read(buf)?;
        let target = Amount::read(buf)?;
        let count = usize::from(u8::read(buf)?);
        if count > APPROVERS_MAX {
            return Err(CodecError::Invalid("CampaignTerms", "more than APPROVERS_MAX approvers"));
        }
        let mut approvers = Vec::with_capacity(count);
        for slot in 0..APPROVERS_MAX {
            let approver = AccountId::read(buf)?;
            if slot < count {
                approvers.push(approver);
            } else if approver != AccountId([0; 32]) {
                return Err(CodecError::Invalid("CampaignTerms", "an approver past the count"));
            }
        }
        let threshold = u8::read(buf)?;
        Ok(Self { id, purpose, purpose_document, asset, target, approvers, threshold })
    }
}

/// An operation of the charity module (`Payload::Charity`). Campaigns are named by their
/// charity and id; the charity's own operations name only the id (the sender is the charity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CharityOp {
    /// The sender (the charity) registers a campaign, open for donations.
    Create(CampaignTerms),
    /// The charity closes its campaign to donations (disbursements of what it holds go on).
    Close { campaign: CampaignId },
    /// The charity registers a beneficiary of its campaign.
    RegisterBeneficiary { campaign: CampaignId, beneficiary: AccountId, name: BeneficiaryName, reference: Hash },
    /// The sender donates `amount` of the campaign's asset to an open campaign.
    Donate { charity: AccountId, campaign: CampaignId, amount: Amount },
    /// The charity proposes paying `amount` to a registered beneficiary, with the hash of the
    /// evidence (invoices, delivery confirmations) that justifies it.
    Propose { campaign: CampaignId, beneficiary: AccountId, amount: Amount, evidence: Hash },
    /// A named approver approves a pending proposal; the approval that reaches the threshold
    /// pays it.
    Approve { charity: AccountId, campaign: CampaignId, proposal: u64 },
    /// The charity cancels a pending proposal.
    Cancel { campaign: CampaignId, proposal: u64 },
}

impl CharityOp {
    const TAG_CREATE: u8 = 0;
    const TAG_CLOSE: u8 = 1;
    const TAG_REGISTER_BENEFICIARY: u8 = 2;
    const TAG_DONATE: u8 = 3;
    const TAG_PROPOSE: u8 = 4;
    const TAG_APPROVE: u8 = 5;
    const TAG_CANCEL: u8 = 6;

    /// The campaign's charity and id, given the transaction's sender.
    pub fn campaign(&self, sender: &AccountId) -> (AccountId, CampaignId) {
        match self {
            CharityOp::Create(terms) => (*sender, terms.id),
            CharityOp::Close { campaign }
            | CharityOp::RegisterBeneficiary { campaign, .. }
            | CharityOp::Propose { campaign, .. }
            | CharityOp::Cancel { campaign, .. } => (*sender, *campaign),
            CharityOp::Donate { charity, campaign, .. } | CharityOp::Approve { charity, campaign, .. } => {
                (*charity, *campaign)
            }
        }
    }

    /// A short name for logs and the CLI.
    pub fn kind(&self) -> &'static str {
        match self {
            CharityOp::Create(_) => "campaign_create",
            CharityOp::Close { .. } => "campaign_close",
            CharityOp::RegisterBeneficiary { .. } => "campaign_beneficiary",
            CharityOp::Donate { .. } => "campaign_donate",
            CharityOp::Propose { .. } => "disbursement_propose",
            CharityOp::Approve { .. } => "disbursement_approve",
            CharityOp::Cancel { .. } => "disbursement_cancel",
        }
    }
}

impl Write for CharityOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            CharityOp::Create(terms) => {
                Self::TAG_CREATE.write(buf);
                terms.write(buf);
            }
            CharityOp::Close { campaign } => {
                Self::TAG_CLOSE.write(buf);
                campaign.write(buf);
            }
            CharityOp::RegisterBeneficiary { campaign, beneficiary, name, reference } => {
                Self::TAG_REGISTER_BENEFICIARY.write(buf);
                campaign.write(buf);
                beneficiary.write(buf);
                name.write(buf);
                reference.write(buf);
            }
            CharityOp::Donate { charity, campaign, amount } => {
                Self::TAG_DONATE.write(buf);
                charity.write(buf);
                campaign.write(buf);
                amount.write(buf);
            }
            CharityOp::Propose { campaign, beneficiary, amount, evidence } => {
                Self::TAG_PROPOSE.write(buf);
                campaign.write(buf);
                beneficiary.write(buf);
                amount.write(buf);
                evidence.write(buf);
            }
            CharityOp::Approve { charity, campaign, proposal } => {
                Self::TAG_APPROVE.write(buf);
                charity.write(buf);
                campaign.write(buf);
                proposal.write(buf);
            }
            CharityOp::Cancel { campaign, proposal } => {
                Self::TAG_CANCEL.write(buf);
                campaign.write(buf);
                proposal.write(buf);
            }
        }
    }
}

impl EncodeSize for CharityOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            CharityOp::Create(_) => CampaignTerms::SIZE,
            CharityOp::Close { .. } => CampaignId::SIZE,
            CharityOp::RegisterBeneficiary { .. } => {
                CampaignId::SIZE + AccountId::SIZE + BeneficiaryName::SIZE + Hash::SIZE
            }
            CharityOp::Donate { .. } => AccountId::SIZE + CampaignId::SIZE + Amount::SIZE,
            CharityOp::Propose { .. } => CampaignId::SIZE + AccountId::SIZE + Amount::SIZE + Hash::SIZE,
            CharityOp::Approve { .. } => AccountId::SIZE + CampaignId::SIZE + u64::SIZE,
            CharityOp::Cancel { .. } => CampaignId::SIZE + u64::SIZE,
        }
    }
}

impl Read for CharityOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_CREATE => CharityOp::Create(CampaignTerms::read(buf)?),
            Self::TAG_CLOSE => CharityOp::Close { campaign: CampaignId::read(buf)? },
            Self::TAG_REGISTER_BENEFICIARY => CharityOp::RegisterBeneficiary {
                campaign: CampaignId::read(buf)?,
                beneficiary: AccountId::read(buf)?,
                name: BeneficiaryName::read(buf)?,
                reference: Hash::read(buf)?,
            },
            Self::TAG_DONATE => CharityOp::Donate {
                charity: AccountId::read(buf)?,
                campaign: CampaignId::read(buf)?,
                amount: Amount::read(buf)?,
            },
            Self::TAG_PROPOSE => CharityOp::Propose {
                campaign: CampaignId::read(buf)?,
                beneficiary: AccountId::read(buf)?,
                amount: Amount::read(buf)?,
                evidence: Hash::read(buf)?,
            },
            Self::TAG_APPROVE => CharityOp::Approve {
                charity: AccountId::read(buf)?,
                campaign: CampaignId::read(buf)?,
                proposal: u64::read(buf)?,
            },
            Self::TAG_CANCEL => CharityOp::Cancel { campaign: CampaignId::read(buf)?, proposal: u64::read(buf)? },
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

fn campaign_part(charity: &AccountId, campaign: &CampaignId) -> Vec<u8> {
    [&charity.0[..], &campaign.encode()].concat()
}

/// A campaign as the chain keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign {
    pub charity: AccountId,
    pub terms: CampaignTerms,
    /// Whether it takes donations.
    pub open: bool,
    /// Everything ever donated, and everything paid out; the escrow holds the difference.
    pub donated: Amount,
    pub disbursed: Amount,
    /// Donations and paid disbursements are numbered from 0 below these.
    pub donations: u64,
    pub disbursements: u64,
    /// Proposals are numbered from 0 below this.
    pub proposals: u64,
    pub beneficiaries: u32,
    pub created_at: Height,
    pub updated_at: Height,
}

impl Campaign {
    /// The module key of a campaign.
    pub fn key(charity: &AccountId, campaign: &CampaignId) -> Vec<u8> {
        [&b"campaign"[..], &campaign_part(charity, campaign)].concat()
    }

    /// What the escrow holds: donated minus disbursed.
    pub fn held(&self) -> Amount {
        self.donated.checked_sub(self.disbursed).expect("nothing is disbursed that was not donated")
    }
}

impl Write for Campaign {
    fn write(&self, buf: &mut impl BufMut) {
        self.charity.write(buf);
        self.terms.write(buf);
        self.open.write(buf);
        self.donated.write(buf);
        self.disbursed.write(buf);
        self.donations.write(buf);
        self.disbursements.write(buf);
        self.proposals.write(buf);
        self.beneficiaries.write(buf);
        self.created_at.write(buf);
        self.updated_at.write(buf);
    }
}

impl FixedSize for Campaign {
    const SIZE: usize =
        AccountId::SIZE + CampaignTerms::SIZE + 1 + 2 * Amount::SIZE + 3 * u64::SIZE + u32::SIZE + 2 * Height::SIZE;
}

impl Read for Campaign {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let campaign = Self {
            charity: AccountId::read(buf)?,
            terms: CampaignTerms::read(buf)?,
            open: bool::read(buf)?,
            donated: Amount::read(buf)?,
            disbursed: Amount::read(buf)?,
            donations: u64::read(buf)?,
            disbursements: u64::read(buf)?,
            proposals: u64::read(buf)?,
            beneficiaries: u32::read(buf)?,
            created_at: Height::read(buf)?,
            updated_at: Height::read(buf)?,
        };
        if campaign.disbursed > campaign.donated || campaign.disbursements > campaign.proposals {
            return Err(CodecError::Invalid("Campaign", "more disbursed than donated"));
        }
        Ok(campaign)
    }
}

/// A registered beneficiary of a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beneficiary {
    pub name: BeneficiaryName,
    /// The hash of the charity's file on the beneficiary (its eligibility under the campaign's
    /// rules; the file stays off the chain).
    pub reference: Hash,
    pub registered_at: Height,
}

impl Beneficiary {
    /// The module key of a campaign's beneficiary.
    pub fn key(charity: &AccountId, campaign: &CampaignId, beneficiary: &AccountId) -> Vec<u8> {
        [&b"campaign-beneficiary"[..], &campaign_part(charity, campaign), &beneficiary.0].concat()
    }
}

impl Write for Beneficiary {
    fn write(&self, buf: &mut impl BufMut) {
        self.name.write(buf);
        self.reference.write(buf);
        self.registered_at.write(buf);
    }
}

impl FixedSize for Beneficiary {
    const SIZE: usize = BeneficiaryName::SIZE + Hash::SIZE + Height::SIZE;
}

impl Read for Beneficiary {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { name: BeneficiaryName::read(buf)?, reference: Hash::read(buf)?, registered_at: Height::read(buf)? })
    }
}

/// One donation: the donor's receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Donation {
    pub donor: AccountId,
    pub amount: Amount,
    /// The campaign's donated total before this donation: it covers
    /// `[cumulative_start, cumulative_start + amount)` of everything donated.
    pub cumulative_start: Amount,
    pub height: Height,
}

impl Donation {
    /// The module key of donation `index` of a campaign.
    pub fn key(charity: &AccountId, campaign: &CampaignId, index: u64) -> Vec<u8> {
        [&b"donation"[..], &campaign_part(charity, campaign), &index.to_be_bytes()].concat()
    }
}

impl Write for Donation {
    fn write(&self, buf: &mut impl BufMut) {
        self.donor.write(buf);
        self.amount.write(buf);
        self.cumulative_start.write(buf);
        self.height.write(buf);
    }
}

impl FixedSize for Donation {
    const SIZE: usize = AccountId::SIZE + 2 * Amount::SIZE + Height::SIZE;
}

impl Read for Donation {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            donor: AccountId::read(buf)?,
            amount: Amount::read(buf)?,
            cumulative_start: Amount::read(buf)?,
            height: Height::read(buf)?,
        })
    }
}

/// Where a disbursement proposal stands. Legal transitions: pending → paid (the approval that
/// reaches the threshold); pending → cancelled (the charity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Pending,
    Paid,
    Cancelled,
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Paid => "paid",
            ProposalStatus::Cancelled => "cancelled",
        })
    }
}

/// A proposed disbursement and its approvals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisbursementProposal {
    pub beneficiary: AccountId,
    pub amount: Amount,
    pub evidence: Hash,
    pub status: ProposalStatus,
    /// Bit `k` is set once the campaign's approver `k` has approved.
    pub approvals: u8,
    /// The disbursement it became, once paid.
    pub disbursement: Option<u64>,
    pub proposed_at: Height,
    pub updated_at: Height,
}

impl DisbursementProposal {
    /// The module key of proposal `index` of a campaign.
    pub fn key(charity: &AccountId, campaign: &CampaignId, index: u64) -> Vec<u8> {
        [&b"disbursement-proposal"[..], &campaign_part(charity, campaign), &index.to_be_bytes()].concat()
    }

    /// How many approvers have approved.
    pub fn approval_count(&self) -> u32 {
        self.approvals.count_ones()
    }
}

impl Write for DisbursementProposal {
    fn write(&self, buf: &mut impl BufMut) {
        self.beneficiary.write(buf);
        self.amount.write(buf);
        self.evidence.write(buf);
        let status: u8 = match self.status {
            ProposalStatus::Pending => 0,
            ProposalStatus::Paid => 1,
            ProposalStatus::Cancelled => 2,
        };
        status.write(buf);
        self.approvals.write(buf);
        self.disbursement.is_some().write(buf);
        self.disbursement.unwrap_or(0).write(buf);
        self.proposed_at.write(buf);
        self.updated_at.write(buf);
    }
}

impl FixedSize for DisbursementProposal {
    const SIZE: usize = AccountId::SIZE + Amount::SIZE + Hash::SIZE + 1 + 1 + 1 + u64::SIZE + 2 * Height::SIZE;
}

impl Read for DisbursementProposal {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let beneficiary = AccountId::read(buf)?;
        let amount = Amount::read(buf)?;
        let evidence = Hash::read(buf)?;
        let status = match u8::read(buf)? {
            0 => ProposalStatus::Pending,
            1 => ProposalStatus::Paid,
            2 => ProposalStatus::Cancelled,
            other => return Err(CodecError::InvalidEnum(other)),
        };
        let approvals = u8::read(buf)?;
        if approvals >> APPROVERS_MAX != 0 {
            return Err(CodecError::Invalid("DisbursementProposal", "an approval past the approvers"));
        }
        let paid = bool::read(buf)?;
        let disbursement = u64::read(buf)?;
        if paid != (status == ProposalStatus::Paid) || (!paid && disbursement != 0) {
            return Err(CodecError::Invalid("DisbursementProposal", "a disbursement without paid status"));
        }
        Ok(Self {
            beneficiary,
            amount,
            evidence,
            status,
            approvals,
            disbursement: paid.then_some(disbursement),
            proposed_at: Height::read(buf)?,
            updated_at: Height::read(buf)?,
        })
    }
}

/// A paid disbursement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disbursement {
    /// The proposal it paid.
    pub proposal: u64,
    pub beneficiary: AccountId,
    pub amount: Amount,
    pub evidence: Hash,
    /// The campaign's disbursed total before this one: it covers
    /// `[cumulative_start, cumulative_start + amount)` of everything disbursed.
    pub cumulative_start: Amount,
    pub height: Height,
}

impl Disbursement {
    /// The module key of disbursement `index` of a campaign.
    pub fn key(charity: &AccountId, campaign: &CampaignId, index: u64) -> Vec<u8> {
        [&b"disbursement"[..], &campaign_part(charity, campaign), &index.to_be_bytes()].concat()
    }
}

impl Write for Disbursement {
    fn write(&self, buf: &mut impl BufMut) {
        self.proposal.write(buf);
        self.beneficiary.write(buf);
        self.amount.write(buf);
        self.evidence.write(buf);
        self.cumulative_start.write(buf);
        self.height.write(buf);
    }
}

impl FixedSize for Disbursement {
    const SIZE: usize = u64::SIZE + AccountId::SIZE + Amount::SIZE + Hash::SIZE + Amount::SIZE + Height::SIZE;
}

impl Read for Disbursement {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            proposal: u64::read(buf)?,
            beneficiary: AccountId::read(buf)?,
            amount: Amount::read(buf)?,
            evidence: Hash::read(buf)?,
            cumulative_start: Amount::read(buf)?,
            height: Height::read(buf)?,
        })
    }
}

/// A range `[start, start + amount)` of a campaign's cumulative donations or disbursements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: Amount,
    pub amount: Amount,
}

impl Span {
    /// Where the range ends (exclusive), saturating: a campaign's totals are checked sums, so
    /// a recorded range never reaches the limit.
    pub fn end(&self) -> u128 {
        self.start.get().saturating_add(self.amount.get())
    }

    /// How much of this range lies in `other` too.
    pub fn overlap(&self, other: &Span) -> Amount {
        let start = self.start.get().max(other.start.get());
        let end = self.end().min(other.end());
        Amount(end.saturating_sub(start))
    }
}

/// Part of a donation paid out in one disbursement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Funded {
    pub disbursement: u64,
    pub amount: Amount,
}

/// Whether a disbursement's range ends at or before `donation` starts, so it was paid from
/// earlier donations only. Over a campaign's disbursements in order this is true, then false:
/// the predicate of the binary search for the first disbursement a donation may have funded.
pub fn paid_before(disbursement: &Span, donation: &Span) -> bool {
    disbursement.end() <= donation.start.get()
}

/// What `donation` funded, first in, first out, among `disbursements` (numbered, in order):
/// every one whose range overlaps the donation's, by the overlap. The amounts sum to the part of
/// the donation that was paid out, `min(amount, max(0, disbursed - start))` when every
/// disbursement from the first that ends past the donation's start is given.
pub fn funded_by(donation: &Span, disbursements: impl IntoIterator<Item = (u64, Span)>) -> Vec<Funded> {
    disbursements
        .into_iter()
        .filter_map(|(index, span)| {
            let amount = donation.overlap(&span);
            (amount > Amount::ZERO).then_some(Funded { disbursement: index, amount })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::DecodeExt;
    use proptest::prelude::*;

    fn spans(amounts: &[u128]) -> Vec<Span> {
        let mut total = 0u128;
        amounts
            .iter()
            .map(|amount| {
                let span = Span { start: Amount(total), amount: Amount(*amount) };
                total += amount;
                span
            })
            .collect()
    }

    #[test]
    fn a_donation_funds_the_disbursements_that_overlap_it() {
        // Donations 100, 50, 200; disbursements 120, 30, 150.
        let donations = spans(&[100, 50, 200]);
        let disbursements: Vec<(u64, Span)> =
            spans(&[120, 30, 150]).into_iter().zip(0..).map(|(s, i)| (i, s)).collect();
        let funded = |i: usize| funded_by(&donations[i], disbursements.iter().copied());
        assert_eq!(funded(0), vec![Funded { disbursement: 0, amount: Amount(100) }]);
        assert_eq!(
            funded(1),
            vec![Funded { disbursement: 0, amount: Amount(20) }, Funded { disbursement: 1, amount: Amount(30) }]
        );
        assert_eq!(funded(2), vec![Funded { disbursement: 2, amount: Amount(150) }]);
        assert!(paid_before(&disbursements[1].1, &donations[2]));
        assert!(!paid_before(&disbursements[0].1, &donations[1]));
    }

    fn id() -> CampaignId {
        CampaignId::new("FLOOD-2026").expect("valid")
    }

    fn terms(approvers: usize) -> CampaignTerms {
        CampaignTerms {
            id: id(),
            purpose: Purpose::new("Flood relief: food and shelter").expect("valid"),
            purpose_document: hash_tagged(b"test/purpose", &[]),
            asset: Symbol::new("HKD").expect("valid"),
            target: Amount(1_000_000),
            approvers: (0..approvers).map(|n| AccountId([n as u8 + 1; 32])).collect(),
            threshold: 2,
        }
    }

    fn charity_op() -> impl Strategy<Value = CharityOp> {
        (0u8..7, any::<[u8; 32]>(), any::<u128>(), any::<u64>(), 0..=APPROVERS_MAX).prop_map(
            |(tag, bytes, amount, index, approvers)| {
                let account = AccountId(bytes);
                let hash = hash_tagged(b"test/evidence", &[&bytes]);
                match tag {
                    0 => CharityOp::Create(terms(approvers)),
                    1 => CharityOp::Close { campaign: id() },
                    2 => CharityOp::RegisterBeneficiary {
                        campaign: id(),
                        beneficiary: account,
                        name: BeneficiaryName::new("Shelter Co-op Ltd").expect("valid"),
                        reference: hash,
                    },
                    3 => CharityOp::Donate { charity: account, campaign: id(), amount: Amount(amount) },
                    4 => CharityOp::Propose {
                        campaign: id(),
                        beneficiary: account,
                        amount: Amount(amount),
                        evidence: hash,
                    },
                    5 => CharityOp::Approve { charity: account, campaign: id(), proposal: index },
                    _ => CharityOp::Cancel { campaign: id(), proposal: index },
                }
            },
        )
    }

    #[test]
    fn texts_are_bounded_and_checked() {
        assert!(Purpose::new("").is_err());
        assert!(Purpose::new(&"x".repeat(65)).is_err());
        assert!(Purpose::new(&"x".repeat(64)).is_ok());
        assert!(BeneficiaryName::new("tab\there").is_err());
        assert_eq!(BeneficiaryName::new("Café Ünïcode").expect("valid").as_str(), "Café Ünïcode");
        let mut bytes = BeneficiaryName::new("ab").expect("valid").encode().to_vec();
        bytes[3] = b'x';
        assert!(BeneficiaryName::decode(bytes.clone()).is_err(), "bytes past the length are refused");
    }

    #[test]
    fn records_round_trip_at_their_fixed_size() {
        let campaign = Campaign {
            charity: AccountId([9; 32]),
            terms: terms(3),
            open: true,
            donated: Amount(500),
            disbursed: Amount(200),
            donations: 4,
            disbursements: 1,
            proposals: 2,
            beneficiaries: 1,
            created_at: Height(3),
            updated_at: Height(8),
        };
        let bytes = campaign.encode();
        assert_eq!(bytes.len(), Campaign::SIZE);
        assert_eq!(Campaign::decode(bytes).expect("decodes"), campaign);
        let proposal = DisbursementProposal {
            beneficiary: AccountId([5; 32]),
            amount: Amount(200),
            evidence: hash_tagged(b"test/evidence", &[]),
            status: ProposalStatus::Paid,
            approvals: 0b101,
            disbursement: Some(0),
            proposed_at: Height(5),
            updated_at: Height(6),
        };
        let bytes = proposal.encode();
        assert_eq!(bytes.len(), DisbursementProposal::SIZE);
        assert_eq!(DisbursementProposal::decode(bytes).expect("decodes"), proposal);
        let unpaid = DisbursementProposal { status: ProposalStatus::Pending, ..proposal };
        assert!(DisbursementProposal::decode(unpaid.encode()).is_err(), "a disbursement number needs paid status");
        let overspent = Campaign { disbursed: Amount(501), ..campaign };
        assert!(Campaign::decode(overspent.encode()).is_err());
    }

    #[test]
    fn golden_encoding() {
        let escrow = campaign_escrow(&AccountId([9; 32]), &id());
        assert_eq!(escrow.to_hex(), "0xd7dce1f1008e85078ab78120861117443f2313895f5ed2cea76d7f1d0577ea0a");
        let ops = [
            CharityOp::Create(terms(2)),
            CharityOp::Donate { charity: AccountId([9; 32]), campaign: id(), amount: Amount(250) },
            CharityOp::Approve { charity: AccountId([9; 32]), campaign: id(), proposal: 1 },
        ];
        let bytes: Vec<u8> = ops.iter().flat_map(|op| op.encode().to_vec()).collect();
        assert_eq!(
            crate::hash_to_hex(&hash_tagged(b"test/golden", &[&bytes])),
            "0x75f536617a310d667a564107d44d93f1edeeb7d86388efbd04d875408024b345"
        );
    }

    proptest! {
        #[test]
        fn operations_round_trip(op in charity_op()) {
            let payload = crate::Payload::Charity(op);
            let bytes = payload.encode();
            prop_assert_eq!(bytes.len(), payload.encode_size());
            prop_assert_eq!(crate::Payload::decode(bytes).expect("decodes"), payload);
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let mut tagged = vec![24u8];
            tagged.extend_from_slice(&bytes);
            let _ = crate::Payload::decode(tagged);
            let _ = Campaign::decode(bytes.clone());
            let _ = DisbursementProposal::decode(bytes.clone());
        }

        #[test]
        fn allocations_sum_to_what_was_paid_out_of_each_donation(
            donated in proptest::collection::vec(1u128..1_000, 1..30),
            fractions in proptest::collection::vec(1u128..1_000, 0..30),
        ) {
            let donations = spans(&donated);
            let total: u128 = donated.iter().sum();
            // Disbursements never exceed what was donated.
            let mut paid = Vec::new();
            let mut left = total;
            for amount in fractions {
                let amount = amount.min(left);
                if amount == 0 { break; }
                paid.push(amount);
                left -= amount;
            }
            let disbursed: u128 = paid.iter().sum();
            let disbursements: Vec<(u64, Span)> = spans(&paid).into_iter().zip(0..).map(|(s, i)| (i, s)).collect();
            let mut per_disbursement = vec![0u128; disbursements.len()];
            for donation in &donations {
                // The binary search the RPC does, then the walk: the same answer as over all.
                let first = disbursements.partition_point(|(_, span)| paid_before(span, donation));
                let walked: Vec<(u64, Span)> = disbursements[first..]
                    .iter()
                    .copied()
                    .take_while(|(_, span)| span.start.get() < donation.end())
                    .collect();
                let funded = funded_by(donation, walked);
                prop_assert_eq!(&funded, &funded_by(donation, disbursements.iter().copied()));
                let sum: u128 = funded.iter().map(|f| f.amount.get()).sum();
                let past = disbursed.saturating_sub(donation.start.get());
                prop_assert_eq!(sum, donation.amount.get().min(past));
                for f in &funded {
                    per_disbursement[f.disbursement as usize] += f.amount.get();
                }
                // FIFO: a donation is touched only once every earlier one is used up.
                if sum > 0 {
                    prop_assert!(donation.start.get() < disbursed);
                }
            }
            // Every disbursement is covered exactly by the donations that funded it.
            for ((_, span), covered) in disbursements.iter().zip(per_disbursement) {
                prop_assert_eq!(covered, span.amount.get());
            }
        }
    }
}
