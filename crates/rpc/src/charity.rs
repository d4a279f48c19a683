//! Charity tracking methods: a campaign with its totals, a donation, a disbursement proposal, a
//! paid disbursement, and a donation's trace to the disbursements it funded (first in, first
//! out: see [`formica_types::funded_by`]).

use crate::assets::record;
use crate::backend::Backend;
use crate::error::invalid_params;
use crate::types::codec;
use formica_types::{
    AccountId, Amount, Campaign, CampaignId, CharityOp, Disbursement, DisbursementProposal, Donation, Hash, Height,
    Module, ProposalStatus, Purpose, Span, Symbol, TRACE_DISBURSEMENTS_MAX, campaign_escrow, funded_by, paid_before,
};
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};

/// A campaign as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignView {
    pub charity: AccountId,
    pub id: CampaignId,
    pub purpose: Purpose,
    #[serde(with = "codec::hash")]
    pub purpose_document: Hash,
    pub asset: Symbol,
    #[serde(with = "codec::amount")]
    pub target: Amount,
    pub approvers: Vec<AccountId>,
    pub threshold: u8,
    pub open: bool,
    /// The address that holds the campaign's funds (no key controls it).
    pub escrow: AccountId,
    #[serde(with = "codec::amount")]
    pub donated: Amount,
    #[serde(with = "codec::amount")]
    pub disbursed: Amount,
    /// What the escrow holds: donated minus disbursed.
    #[serde(with = "codec::amount")]
    pub held: Amount,
    pub donations: u64,
    pub disbursements: u64,
    pub proposals: u64,
    pub beneficiaries: u32,
    pub created_at: Height,
    pub updated_at: Height,
    pub height: Height,
}

/// One donation: the donor's receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonationView {
    pub index: u64,
    pub donor: AccountId,
    #[serde(with = "codec::amount")]
    pub amount: Amount,
    /// The campaign's donated total before it.
    #[serde(with = "codec::amount")]
    pub cumulative_start: Amount,
    pub donated_at: Height,
}

/// A disbursement proposal and its approvals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisbursementProposalView {
    pub index: u64,
    pub beneficiary: AccountId,
    #[serde(with = "codec::amount")]
    pub amount: Amount,
    #[serde(with = "codec::hash")]
    pub evidence: Hash,
    pub status: ProposalStatus,
    /// The approvers who have approved.
    pub approved_by: Vec<AccountId>,
    pub threshold: u8,
    /// The disbursement it became, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disbursement: Option<u64>,
    pub proposed_at: Height,
    pub updated_at: Height,
    pub height: Height,
}

/// A paid disbursement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisbursementView {
    pub index: u64,
    pub proposal: u64,
    pub beneficiary: AccountId,
    #[serde(with = "codec::amount")]
    pub amount: Amount,
    #[serde(with = "codec::hash")]
    pub evidence: Hash,
    /// The campaign's disbursed total before it.
    #[serde(with = "codec::amount")]
    pub cumulative_start: Amount,
    pub paid_at: Height,
}

/// Part of a donation paid out in one disbursement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundedView {
    pub disbursement: DisbursementView,
    /// How much of the donation this disbursement used.
    #[serde(with = "codec::amount")]
    pub amount: Amount,
}

/// Where a donation went, first in, first out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonationTraceView {
    pub donation: DonationView,
    /// The disbursements it funded, in order, at most [`TRACE_DISBURSEMENTS_MAX`].
    pub funded: Vec<FundedView>,
    /// The part of the donation not paid out yet (still in the escrow); absent when the answer
    /// was cut at [`TRACE_DISBURSEMENTS_MAX`] disbursements.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "codec::option_amount")]
    pub undisbursed: Option<Amount>,
    pub truncated: bool,
    pub height: Height,
}

/// A charity operation, tagged by `operation`. Campaigns are named by id; the charity is the
/// sender, except in donations and approvals, which name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum CharityOpView {
    Create {
        id: CampaignId,
        purpose: Purpose,
        #[serde(with = "codec::hash")]
        purpose_document: Hash,
        asset: Symbol,
        #[serde(with = "codec::amount")]
        target: Amount,
        approvers: Vec<AccountId>,
        threshold: u8,
    },
    Close {
        campaign: CampaignId,
    },
    RegisterBeneficiary {
        campaign: CampaignId,
        beneficiary: AccountId,
        name: String,
        #[serde(with = "codec::hash")]
        reference: Hash,
    },
    Donate {
        charity: AccountId,
        campaign: CampaignId,
        #[serde(with = "codec::amount")]
        amount: Amount,
    },
    Propose {
        campaign: CampaignId,
        beneficiary: AccountId,
        #[serde(with = "codec::amount")]
        amount: Amount,
        #[serde(with = "codec::hash")]
        evidence: Hash,
    },
    Approve {
        charity: AccountId,
        campaign: CampaignId,
        proposal: u64,
    },
    Cancel {
        campaign: CampaignId,
        proposal: u64,
    },
}

impl From<CharityOp> for CharityOpView {
    fn from(op: CharityOp) -> Self {
        match op {
            CharityOp::Create(terms) => Self::Create {
                id: terms.id,
                purpose: terms.purpose,
                purpose_document: terms.purpose_document,
                asset: terms.asset,
                target: terms.target,
                approvers: terms.approvers,
                threshold: terms.threshold,
            },
            CharityOp::Close { campaign } => Self::Close { campaign },
            CharityOp::RegisterBeneficiary { campaign, beneficiary, name, reference } => {
                Self::RegisterBeneficiary { campaign, beneficiary, name: name.as_str().to_string(), reference }
            }
            CharityOp::Donate { charity, campaign, amount } => Self::Donate { charity, campaign, amount },
            CharityOp::Propose { campaign, beneficiary, amount, evidence } => {
                Self::Propose { campaign, beneficiary, amount, evidence }
            }
            CharityOp::Approve { charity, campaign, proposal } => Self::Approve { charity, campaign, proposal },
            CharityOp::Cancel { campaign, proposal } => Self::Cancel { campaign, proposal },
        }
    }
}

pub(crate) fn parse_campaign(text: &str) -> Result<CampaignId, ErrorObjectOwned> {
    CampaignId::new(text).map_err(|error| invalid_params("campaign id", error))
}

fn campaign_view(campaign: Campaign, height: Height) -> CampaignView {
    let terms = campaign.terms.clone();
    CampaignView {
        charity: campaign.charity,
        id: terms.id,
        purpose: terms.purpose,
        purpose_document: terms.purpose_document,
        asset: terms.asset,
        target: terms.target,
        approvers: terms.approvers,
        threshold: terms.threshold,
        open: campaign.open,
        escrow: campaign_escrow(&campaign.charity, &terms.id),
        donated: campaign.donated,
        disbursed: campaign.disbursed,
        held: campaign.held(),
        donations: campaign.donations,
        disbursements: campaign.disbursements,
        proposals: campaign.proposals,
        beneficiaries: campaign.beneficiaries,
        created_at: campaign.created_at,
        updated_at: campaign.updated_at,
        height,
    }
}

fn donation_view(index: u64, donation: Donation) -> DonationView {
    DonationView {
        index,
        donor: donation.donor,
        amount: donation.amount,
        cumulative_start: donation.cumulative_start,
        donated_at: donation.height,
    }
}

fn disbursement_view(index: u64, paid: Disbursement) -> DisbursementView {
    DisbursementView {
        index,
        proposal: paid.proposal,
        beneficiary: paid.beneficiary,
        amount: paid.amount,
        evidence: paid.evidence,
        cumulative_start: paid.cumulative_start,
        paid_at: paid.height,
    }
}

async fn campaign<B: Backend>(
    backend: &B,
    charity: &AccountId,
    id: &CampaignId,
) -> Result<(Option<Campaign>, Height), ErrorObjectOwned> {
    record::<B, Campaign>(backend, Module::Charity, Campaign::key(charity, id)).await
}

pub(crate) async fn get_campaign<B: Backend>(
    backend: &B,
    charity: AccountId,
    id: CampaignId,
) -> Result<Option<CampaignView>, ErrorObjectOwned> {
    let (campaign, height) = campaign(backend, &charity, &id).await?;
    Ok(campaign.map(|campaign| campaign_view(campaign, height)))
}

pub(crate) async fn get_donation<B: Backend>(
    backend: &B,
    charity: AccountId,
    id: CampaignId,
    index: u64,
) -> Result<Option<DonationView>, ErrorObjectOwned> {
    let (donation, _) = record::<B, Donation>(backend, Module::Charity, Donation::key(&charity, &id, index)).await?;
    Ok(donation.map(|donation| donation_view(index, donation)))
}

pub(crate) async fn get_proposal<B: Backend>(
    backend: &B,
    charity: AccountId,
    id: CampaignId,
    index: u64,
) -> Result<Option<DisbursementProposalView>, ErrorObjectOwned> {
    let (Some(campaign), _) = campaign(backend, &charity, &id).await? else { return Ok(None) };
    let key = DisbursementProposal::key(&charity, &id, index);
    let (proposal, height) = record::<B, DisbursementProposal>(backend, Module::Charity, key).await?;
    Ok(proposal.map(|proposal| {
        let approvers = &campaign.terms.approvers;
        let approved_by =
            (0..approvers.len()).filter(|k| proposal.approvals & (1 << k) != 0).map(|k| approvers[k]).collect();
        DisbursementProposalView {
            index,
            beneficiary: proposal.beneficiary,
            amount: proposal.amount,
            evidence: proposal.evidence,
            status: proposal.status,
            approved_by,
            threshold: campaign.terms.threshold,
            disbursement: proposal.disbursement,
            proposed_at: proposal.proposed_at,
            updated_at: proposal.updated_at,
            height,
        }
    }))
}

pub(crate) async fn get_disbursement<B: Backend>(
    backend: &B,
    charity: AccountId,
    id: CampaignId,
    index: u64,
) -> Result<Option<DisbursementView>, ErrorObjectOwned> {
    let key = Disbursement::key(&charity, &id, index);
    let (paid, _) = record::<B, Disbursement>(backend, Module::Charity, key).await?;
    Ok(paid.map(|paid| disbursement_view(index, paid)))
}

/// Disbursement `index`, which the campaign says exists (records are never deleted).
async fn paid<B: Backend>(
    backend: &B,
    charity: &AccountId,
    id: &CampaignId,
    index: u64,
) -> Result<Disbursement, ErrorObjectOwned> {
    let key = Disbursement::key(charity, id, index);
    let (paid, _) = record::<B, Disbursement>(backend, Module::Charity, key).await?;
    paid.ok_or_else(|| {
        ErrorObjectOwned::from(crate::BackendError::Storage {
            reason: format!("disbursement {index} of campaign {id} is counted but missing"),
        })
    })
}

/// Donation `index` and the disbursements it funded: a binary search for the first
/// disbursement that ends past the donation's start, then a walk while they start before its
/// end, at most [`TRACE_DISBURSEMENTS_MAX`] of them. Donations and disbursements are never
/// changed once written and only appended, so reads made at successive heights agree with the
/// campaign's count read first.
pub(crate) async fn get_trace<B: Backend>(
    backend: &B,
    charity: AccountId,
    id: CampaignId,
    index: u64,
) -> Result<Option<DonationTraceView>, ErrorObjectOwned> {
    let (Some(campaign), height) = campaign(backend, &charity, &id).await? else { return Ok(None) };
    if index >= campaign.donations {
        return Ok(None);
    }
    let key = Donation::key(&charity, &id, index);
    let (Some(donation), _) = record::<B, Donation>(backend, Module::Charity, key).await? else { return Ok(None) };
    let span = Span { start: donation.cumulative_start, amount: donation.amount };
    let (mut low, mut high) = (0u64, campaign.disbursements);
    while low < high {
        let middle = low + (high - low) / 2;
        let paid = paid(backend, &charity, &id, middle).await?;
        if paid_before(&Span { start: paid.cumulative_start, amount: paid.amount }, &span) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    let mut walked = Vec::new();
    let mut next = low;
    while next < campaign.disbursements && walked.len() < TRACE_DISBURSEMENTS_MAX {
        let paid = paid(backend, &charity, &id, next).await?;
        if paid.cumulative_start.get() >= span.end() {
            break;
        }
        walked.push((next, paid));
        next += 1;
    }
    let spans = walked.iter().map(|(j, paid)| (*j, Span { start: paid.cumulative_start, amount: paid.amount }));
    let funded: Vec<FundedView> = funded_by(&span, spans)
        .into_iter()
        .map(|part| {
            let paid = walked.iter().find(|(j, _)| *j == part.disbursement).expect("funded from the walked").1;
            FundedView { disbursement: disbursement_view(part.disbursement, paid), amount: part.amount }
        })
        .collect();
    let used = funded.iter().map(|part| part.amount.get()).sum::<u128>();
    let complete =
        used == donation.amount.get() || next >= campaign.disbursements || walked.len() < TRACE_DISBURSEMENTS_MAX;
    Ok(Some(DonationTraceView {
        donation: donation_view(index, donation),
        funded,
        undisbursed: complete.then(|| Amount(donation.amount.get() - used)),
        truncated: !complete,
        height,
    }))
}
