//! The charity tracking module: campaigns that take donations into an escrow and pay them out
//! only to registered beneficiaries, with evidence, once the campaign's approvers agree (see
//! [`formica_types::CharityOp`]).
//!
//! # Rules
//! - Any account registers a campaign as its charity, under an id new for that charity: an
//!   existing asset of the assets module (not the native asset: the escrow holds an asset
//!   holding, not an account balance), a target above zero, 1 to [`APPROVERS_MAX`] distinct
//!   existing approvers, and a threshold from 1 to their number. The campaign opens at once.
//! - Only the charity closes its open campaign (it then refuses donations; what it holds can
//!   still be disbursed, so no donation is stranded) and registers beneficiaries: existing
//!   accounts, each once, at most [`BENEFICIARIES_MAX`] per campaign.
//! - Anyone donates to an open campaign an amount above zero: it moves from the donor to the
//!   campaign's escrow ([`formica_types::campaign_escrow`]) under the assets module's rules (a
//!   paused asset, the donor's frozen holding, a short balance or a frozen escrow refuse it).
//!   The donation is recorded under the next number with `cumulative_start`, the campaign's
//!   donated total before it, and a `charity.donated` event is the donor's receipt.
//! - Only the charity proposes a disbursement: an amount above zero to a registered beneficiary
//!   with the hash of its evidence. Only the campaign's approvers approve a pending proposal,
//!   each once. The approval that reaches the threshold pays it in the same transaction: the
//!   amount must not exceed what the escrow holds (`CampaignFundsShort` otherwise; the approval
//!   is then not recorded and may be given again once donations cover it), it moves from the
//!   escrow to the beneficiary under the assets module's rules, and the payment is recorded as
//!   the next disbursement with `cumulative_start`, the disbursed total before it. The charity
//!   may cancel a pending proposal.
//! - Every failure leaves the state as it was (the fee aside); a party that may not act fails
//!   with `NotPermitted`.
//!
//! # Invariants
//! The escrow's holding equals `donated - disbursed` of its campaign, and only this module moves
//! it (no key controls the escrow's address); so the asset's holdings still sum to its supply.
//! Donations' and disbursements' cumulative starts are the running sums of their amounts, which
//! is all the first-in-first-out trace ([`formica_types::funded_by`]) needs.

use super::{Scratch, assets, event_topic, record_keys, run};
use crate::transition::{Halt, StateOverlay, fail};
use formica_state::StateKey;
use formica_types::{
    APPROVERS_MAX, AccountId, Amount, AssetRecord, BENEFICIARIES_MAX, Beneficiary, Campaign, CampaignId, CampaignTerms,
    CharityOp, ContractEvent, Disbursement, DisbursementProposal, Donation, FailureCode, Hash, Height, Holding, Module,
    ProposalStatus, campaign_escrow,
};

const MODULE: Module = Module::Charity;

/// The records a charity operation names (a donation's or payment's asset holdings are found
/// once the campaign is read).
pub(crate) fn reads(sender: &AccountId, op: &CharityOp) -> Vec<StateKey> {
    let (charity, id) = op.campaign(sender);
    let mut reads = record_keys::<Campaign>(MODULE, &Campaign::key(&charity, &id));
    match op {
        CharityOp::Create(terms) => {
            if !terms.asset.is_native() {
                reads.extend(record_keys::<AssetRecord>(Module::Assets, &AssetRecord::key(&terms.asset)));
            }
            reads.extend(terms.approvers.iter().map(|approver| StateKey::Account(*approver)));
        }
        CharityOp::Close { .. } | CharityOp::Donate { .. } => {}
        CharityOp::RegisterBeneficiary { beneficiary, .. } | CharityOp::Propose { beneficiary, .. } => {
            reads.push(StateKey::Account(*beneficiary));
            reads.extend(record_keys::<Beneficiary>(MODULE, &Beneficiary::key(&charity, &id, beneficiary)));
        }
        CharityOp::Approve { proposal, .. } | CharityOp::Cancel { proposal, .. } => {
            reads.extend(record_keys::<DisbursementProposal>(
                MODULE,
                &DisbursementProposal::key(&charity, &id, *proposal),
            ));
        }
    }
    reads
}

/// A campaign's id as an event topic.
pub fn campaign_topic(id: &CampaignId) -> [u8; 32] {
    event_topic(id.as_str())
}

/// Applies a charity operation in a block at `height`.
pub(crate) fn apply(
    height: Height,
    frozen_accounts_receive: bool,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    op: &CharityOp,
) -> Result<Vec<ContractEvent>, Halt> {
    run(overlay, |s| match op {
        CharityOp::Create(terms) => create(s, height, sender, terms),
        CharityOp::Close { campaign: id } => {
            let mut campaign = existing(s, sender, id)?;
            if !campaign.open {
                return fail(FailureCode::CampaignClosed, format!("campaign {id} is closed already"));
            }
            campaign.open = false;
            save(s, height, &mut campaign);
            s.emit(MODULE, "charity.campaign_closed", &[sender.0, campaign_topic(id)], Vec::new());
            Ok(())
        }
        CharityOp::RegisterBeneficiary { campaign: id, beneficiary, name, reference } => {
            let mut campaign = existing(s, sender, id)?;
            if s.account(beneficiary)?.is_none() {
                return fail(FailureCode::AccountMissing, format!("account {beneficiary} does not exist"));
            }
            let key = Beneficiary::key(sender, id, beneficiary);
            if s.record::<Beneficiary>(MODULE, &key)?.is_some() {
                return fail(
                    FailureCode::BeneficiaryExists,
                    format!("{beneficiary} is a beneficiary of campaign {id} already"),
                );
            }
            if campaign.beneficiaries >= BENEFICIARIES_MAX {
                return fail(
                    FailureCode::InvalidCampaign,
                    format!("campaign {id} has {BENEFICIARIES_MAX} beneficiaries, the most it may"),
                );
            }
            let record = Beneficiary { name: *name, reference: *reference, registered_at: height };
            s.put_record(MODULE, &key, Some(&record));
            campaign.beneficiaries += 1;
            save(s, height, &mut campaign);
            let topics = [sender.0, campaign_topic(id), beneficiary.0];
            s.emit(MODULE, "charity.beneficiary_registered", &topics, reference.0.to_vec());
            Ok(())
        }
        CharityOp::Donate { charity, campaign: id, amount } => donate(s, height, sender, charity, id, *amount),
        CharityOp::Propose { campaign: id, beneficiary, amount, evidence } => {
            propose(s, height, sender, id, beneficiary, *amount, evidence)
        }
        CharityOp::Approve { charity, campaign: id, proposal } => {
            approve(s, height, frozen_accounts_receive, sender, charity, id, *proposal)
        }
        CharityOp::Cancel { campaign: id, proposal: index } => {
            let mut campaign = existing(s, sender, id)?;
            let mut proposal = pending(s, sender, id, index)?;
            proposal.status = ProposalStatus::Cancelled;
            proposal.updated_at = height;
            s.put_record(MODULE, &DisbursementProposal::key(sender, id, *index), Some(&proposal));
            save(s, height, &mut campaign);
            s.emit(MODULE, "charity.cancelled", &[sender.0, campaign_topic(id)], index.to_be_bytes().to_vec());
            Ok(())
        }
    })
}

fn create(s: &mut Scratch<'_>, height: Height, sender: &AccountId, terms: &CampaignTerms) -> Result<(), Halt> {
    if terms.asset.is_native() {
        return fail(
            FailureCode::InvalidCampaign,
            "a campaign takes an asset of the assets module, not the native asset",
        );
    }
    if !assets::exists(s, terms.asset)? {
        return fail(FailureCode::AssetMissing, format!("no asset has the symbol {}", terms.asset));
    }
    if terms.target == Amount::ZERO {
        return fail(FailureCode::InvalidCampaign, "the target must be above zero");
    }
    let count = terms.approvers.len();
    if count == 0 || count > APPROVERS_MAX {
        return fail(FailureCode::InvalidCampaign, format!("a campaign names 1 to {APPROVERS_MAX} approvers"));
    }
    if terms.threshold == 0 || usize::from(terms.threshold) > count {
        return fail(FailureCode::InvalidCampaign, format!("the threshold must be 1 to {count}"));
    }
    for (position, approver) in terms.approvers.iter().enumerate() {
        if terms.approvers[..position].contains(approver) {
            return fail(FailureCode::InvalidCampaign, format!("approver {approver} is named twice"));
        }
        if s.account(approver)?.is_none() {
            return fail(FailureCode::AccountMissing, format!("approver {approver} does not exist"));
        }
    }
    let key = Campaign::key(sender, &terms.id);
    if s.record::<Campaign>(MODULE, &key)?.is_some() {
        return fail(FailureCode::CampaignExists, format!("{sender} has a campaign {} already", terms.id));
    }
    let campaign = Campaign {
        charity: *sender,
        terms: terms.clone(),
        open: true,
        donated: Amount::ZERO,
        disbursed: Amount::ZERO,
        donations: 0,
        disbursements: 0,
        proposals: 0,
        beneficiaries: 0,
        created_at: height,
        updated_at: height,
    };
    s.put_record(MODULE, &key, Some(&campaign));
    let topics = [sender.0, campaign_topic(&terms.id), assets::symbol_topic(&terms.asset)];
    s.emit(MODULE, "charity.campaign_created", &topics, terms.target.get().to_be_bytes().to_vec());
    Ok(())
}

fn donate(
    s: &mut Scratch<'_>,
    height: Height,
    donor: &AccountId,
    charity: &AccountId,
    id: &CampaignId,
    amount: Amount,
) -> Result<(), Halt> {
    let mut campaign = existing(s, charity, id)?;
    if !campaign.open {
        return fail(FailureCode::CampaignClosed, format!("campaign {id} is closed"));
    }
    if amount == Amount::ZERO {
        return fail(FailureCode::InvalidCampaign, "a donation must be above zero");
    }
    let symbol = campaign.terms.asset;
    let escrow = campaign_escrow(charity, id);
    s.prefetch(escrow_reads(&campaign, donor))?;
    let donated = campaign
        .donated
        .checked_add(amount)
        .ok_or_else(|| Halt::Fail(FailureCode::BalanceOverflow, "the campaign's total would overflow".into()))?;
    assets::deposit_to_escrow(s, symbol, donor, &escrow, amount)?;
    let index = campaign.donations;
    let donation = Donation { donor: *donor, amount, cumulative_start: campaign.donated, height };
    s.put_record(MODULE, &Donation::key(charity, id, index), Some(&donation));
    campaign.donated = donated;
    campaign.donations = index.checked_add(1).expect("fewer than 2^64 donations");
    save(s, height, &mut campaign);
    let mut data = index.to_be_bytes().to_vec();
    data.extend_from_slice(&amount.get().to_be_bytes());
    data.extend_from_slice(&donation.cumulative_start.get().to_be_bytes());
    s.emit(MODULE, "charity.donated", &[charity.0, campaign_topic(id), donor.0], data);
    Ok(())
}

fn propose(
    s: &mut Scratch<'_>,
    height: Height,
    sender: &AccountId,
    id: &CampaignId,
    beneficiary: &AccountId,
    amount: Amount,
    evidence: &Hash,
) -> Result<(), Halt> {
    let mut campaign = existing(s, sender, id)?;
    if amount == Amount::ZERO {
        return fail(FailureCode::InvalidCampaign, "a disbursement must be above zero");
    }
    if s.record::<Beneficiary>(MODULE, &Beneficiary::key(sender, id, beneficiary))?.is_none() {
        return fail(
            FailureCode::BeneficiaryMissing,
            format!("{beneficiary} is not a registered beneficiary of campaign {id}"),
        );
    }
    let index = campaign.proposals;
    let proposal = DisbursementProposal {
        beneficiary: *beneficiary,
        amount,
        evidence: *evidence,
        status: ProposalStatus::Pending,
        approvals: 0,
        disbursement: None,
        proposed_at: height,
        updated_at: height,
    };
    s.put_record(MODULE, &DisbursementProposal::key(sender, id, index), Some(&proposal));
    campaign.proposals = index.checked_add(1).expect("fewer than 2^64 proposals");
    save(s, height, &mut campaign);
    let mut data = index.to_be_bytes().to_vec();
    data.extend_from_slice(&amount.get().to_be_bytes());
    data.extend_from_slice(evidence.as_ref());
    s.emit(MODULE, "charity.proposed", &[sender.0, campaign_topic(id), beneficiary.0], data);
    Ok(())
}

fn approve(
    s: &mut Scratch<'_>,
    height: Height,
    frozen_accounts_receive: bool,
    approver: &AccountId,
    charity: &AccountId,
    id: &CampaignId,
    index: u64,
) -> Result<(), Halt> {
    let mut campaign = existing(s, charity, id)?;
    let Some(position) = campaign.terms.approver_position(approver) else {
        return fail(FailureCode::NotPermitted, format!("{approver} is not an approver of campaign {id}"));
    };
    let mut proposal = pending(s, charity, id, &index)?;
    let bit = 1u8 << position;
    if proposal.approvals & bit != 0 {
        return fail(
            FailureCode::DisbursementApproved,
            format!("{approver} has approved proposal {index} of campaign {id} already"),
        );
    }
    proposal.approvals |= bit;
    proposal.updated_at = height;
    let approvals = proposal.approval_count();
    let mut data = index.to_be_bytes().to_vec();
    data.push(u8::try_from(approvals).expect("at most APPROVERS_MAX approvals"));
    s.emit(MODULE, "charity.approved", &[charity.0, campaign_topic(id), approver.0], data);
    if approvals >= u32::from(campaign.terms.threshold) {
        pay(s, height, frozen_accounts_receive, &mut campaign, index, &mut proposal)?;
    }
    s.put_record(MODULE, &DisbursementProposal::key(charity, id, index), Some(&proposal));
    save(s, height, &mut campaign);
    Ok(())
}

/// Pays an approved proposal from the escrow and records the disbursement.
fn pay(
    s: &mut Scratch<'_>,
    height: Height,
    frozen_accounts_receive: bool,
    campaign: &mut Campaign,
    index: u64,
    proposal: &mut DisbursementProposal,
) -> Result<(), Halt> {
    let (charity, id) = (campaign.charity, campaign.terms.id);
    let held = campaign.held();
    if proposal.amount > held {
        return fail(
            FailureCode::CampaignFundsShort,
            format!("campaign {id} holds {held}, less than the {} proposal {index} pays", proposal.amount),
        );
    }
    let escrow = campaign_escrow(&charity, &id);
    s.prefetch(escrow_reads(campaign, &proposal.beneficiary))?;
    let symbol = campaign.terms.asset;
    assets::transfer(s, frozen_accounts_receive, symbol, &escrow, &proposal.beneficiary, proposal.amount)?;
    let number = campaign.disbursements;
    let disbursement = Disbursement {
        proposal: index,
        beneficiary: proposal.beneficiary,
        amount: proposal.amount,
        evidence: proposal.evidence,
        cumulative_start: campaign.disbursed,
        height,
    };
    s.put_record(MODULE, &Disbursement::key(&charity, &id, number), Some(&disbursement));
    campaign.disbursed = campaign.disbursed.checked_add(proposal.amount).expect("at most what was donated");
    campaign.disbursements = number.checked_add(1).expect("at most one per proposal");
    proposal.status = ProposalStatus::Paid;
    proposal.disbursement = Some(number);
    let mut data = number.to_be_bytes().to_vec();
    data.extend_from_slice(&index.to_be_bytes());
    data.extend_from_slice(&proposal.amount.get().to_be_bytes());
    data.extend_from_slice(&disbursement.cumulative_start.get().to_be_bytes());
    data.extend_from_slice(proposal.evidence.as_ref());
    s.emit(MODULE, "charity.disbursed", &[charity.0, campaign_topic(&id), proposal.beneficiary.0], data);
    Ok(())
}

/// The records a movement between `account` and the campaign's escrow touches.
fn escrow_reads(campaign: &Campaign, account: &AccountId) -> Vec<StateKey> {
    let symbol = campaign.terms.asset;
    let escrow = campaign_escrow(&campaign.charity, &campaign.terms.id);
    let mut reads = record_keys::<AssetRecord>(Module::Assets, &AssetRecord::key(&symbol));
    reads.extend(record_keys::<Holding>(Module::Assets, &Holding::key(&symbol, account)));
    reads.extend(record_keys::<Holding>(Module::Assets, &Holding::key(&symbol, &escrow)));
    reads.push(StateKey::Account(*account));
    reads
}

fn existing(s: &Scratch<'_>, charity: &AccountId, id: &CampaignId) -> Result<Campaign, Halt> {
    match s.record::<Campaign>(MODULE, &Campaign::key(charity, id))? {
        Some(campaign) => Ok(campaign),
        None => fail(FailureCode::CampaignMissing, format!("{charity} has no campaign {id}")),
    }
}

fn pending(s: &Scratch<'_>, charity: &AccountId, id: &CampaignId, index: &u64) -> Result<DisbursementProposal, Halt> {
    let Some(proposal) = s.record::<DisbursementProposal>(MODULE, &DisbursementProposal::key(charity, id, *index))?
    else {
        return fail(FailureCode::DisbursementMissing, format!("campaign {id} has no proposal {index}"));
    };
    if proposal.status != ProposalStatus::Pending {
        return fail(
            FailureCode::DisbursementState,
            format!("proposal {index} of campaign {id} is {}", proposal.status),
        );
    }
    Ok(proposal)
}

fn save(s: &mut Scratch<'_>, height: Height, campaign: &mut Campaign) {
    campaign.updated_at = height;
    s.put_record(MODULE, &Campaign::key(&campaign.charity, &campaign.terms.id), Some(&*campaign));
}
