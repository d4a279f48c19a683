//! `formica charity ...`: register campaigns and their beneficiaries, donate, propose, approve
//! and cancel disbursements, and read campaigns, donations, proposals, disbursements and a
//! donation's trace to what it funded (see `docs/modules.md`).

use crate::client::{Signing, Target, parse_account, parse_amount, print_json, submit};
use anyhow::{Context, bail};
use formica_types::{
    AccountId, BeneficiaryName, CampaignId, CampaignTerms, CharityOp, Hash, Payload, Purpose, Symbol, hash_from_hex,
    hash_to_hex,
};

#[derive(Debug, clap::Subcommand)]
pub enum CharityCommand {
    /// Register a campaign (the sender is the charity); it opens for donations at once.
    Create {
        /// Unique per charity: 1 to 32 of A-Z, a-z, 0-9, '-', '_', '/', '.'.
        campaign: String,
        /// The purpose, up to 64 bytes.
        #[arg(long)]
        purpose: String,
        /// The hash of the purpose document (`0x` + 64 hex digits).
        #[arg(long)]
        purpose_document: String,
        /// The asset donations are made in (an asset of the assets module).
        #[arg(long)]
        asset: String,
        /// What the campaign aims to raise, in the asset's smallest unit.
        #[arg(long)]
        target: String,
        /// An account that approves disbursements (1 to 5 of them).
        #[arg(long = "approver", required = true)]
        approvers: Vec<String>,
        /// How many approvers must approve a disbursement.
        #[arg(long)]
        threshold: u8,
        #[command(flatten)]
        signing: Signing,
    },
    /// Close your campaign to donations (what it holds can still be disbursed).
    Close {
        campaign: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Register a beneficiary of your campaign.
    Beneficiary {
        campaign: String,
        account: String,
        /// The beneficiary's name, up to 32 bytes.
        #[arg(long)]
        name: String,
        /// The hash of your file on the beneficiary (its eligibility).
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Donate to an open campaign: the amount moves into its escrow.
    Donate {
        campaign: String,
        #[arg(long)]
        charity: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Propose a disbursement to a registered beneficiary of your campaign.
    Propose {
        campaign: String,
        #[arg(long)]
        beneficiary: String,
        #[arg(long)]
        amount: String,
        /// The hash of the evidence (invoices, delivery confirmations).
        #[arg(long)]
        evidence: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Approve a proposal as one of the campaign's approvers; the approval that reaches the
    /// threshold pays it.
    Approve {
        campaign: String,
        proposal: u64,
        #[arg(long)]
        charity: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Cancel a pending proposal of your campaign.
    Cancel {
        campaign: String,
        proposal: u64,
        #[command(flatten)]
        signing: Signing,
    },
    /// Show a campaign and its totals, or one of its donations, proposals or disbursements.
    Show {
        campaign: String,
        #[arg(long)]
        charity: String,
        #[arg(long, conflicts_with_all = ["proposal", "disbursement"])]
        donation: Option<u64>,
        #[arg(long, conflicts_with = "disbursement")]
        proposal: Option<u64>,
        #[arg(long)]
        disbursement: Option<u64>,
    },
    /// Follow a donation to the disbursements it funded (first in, first out).
    Trace {
        campaign: String,
        donation: u64,
        #[arg(long)]
        charity: String,
    },
}

fn campaign_id(text: &str) -> anyhow::Result<CampaignId> {
    CampaignId::new(text).with_context(|| format!("campaign id {text:?}"))
}

fn hash(text: &str, what: &str) -> anyhow::Result<Hash> {
    hash_from_hex(text).with_context(|| format!("{what} {text:?} (0x + 64 hex digits)"))
}

fn account(text: &str) -> anyhow::Result<AccountId> {
    parse_account(text)
}

pub async fn run(target: &Target, command: CharityCommand) -> anyhow::Result<()> {
    let (op, signing) = match command {
        CharityCommand::Create {
            campaign,
            purpose,
            purpose_document,
            asset,
            target: goal,
            approvers,
            threshold,
            signing,
        } => {
            let terms = CampaignTerms {
                id: campaign_id(&campaign)?,
                purpose: Purpose::new(&purpose).with_context(|| format!("purpose {purpose:?}"))?,
                purpose_document: hash(&purpose_document, "purpose document hash")?,
                asset: Symbol::new(&asset).with_context(|| format!("asset {asset:?}"))?,
                target: parse_amount(&goal, "target")?,
                approvers: approvers.iter().map(|text| account(text)).collect::<anyhow::Result<_>>()?,
                threshold,
            };
            if terms.approvers.len() > formica_types::APPROVERS_MAX {
                bail!("a campaign names at most {} approvers", formica_types::APPROVERS_MAX);
            }
            (CharityOp::Create(terms), signing)
        }
        CharityCommand::Close { campaign, signing } => {
            (CharityOp::Close { campaign: campaign_id(&campaign)? }, signing)
        }
        CharityCommand::Beneficiary { campaign, account: beneficiary, name, reference, signing } => (
            CharityOp::RegisterBeneficiary {
                campaign: campaign_id(&campaign)?,
                beneficiary: account(&beneficiary)?,
                name: BeneficiaryName::new(&name).with_context(|| format!("name {name:?}"))?,
                reference: hash(&reference, "reference hash")?,
            },
            signing,
        ),
        CharityCommand::Donate { campaign, charity, amount, signing } => (
            CharityOp::Donate {
                charity: account(&charity)?,
                campaign: campaign_id(&campaign)?,
                amount: parse_amount(&amount, "amount")?,
            },
            signing,
        ),
        CharityCommand::Propose { campaign, beneficiary, amount, evidence, signing } => (
            CharityOp::Propose {
                campaign: campaign_id(&campaign)?,
                beneficiary: account(&beneficiary)?,
                amount: parse_amount(&amount, "amount")?,
                evidence: hash(&evidence, "evidence hash")?,
            },
            signing,
        ),
        CharityCommand::Approve { campaign, proposal, charity, signing } => {
            (CharityOp::Approve { charity: account(&charity)?, campaign: campaign_id(&campaign)?, proposal }, signing)
        }
        CharityCommand::Cancel { campaign, proposal, signing } => {
            (CharityOp::Cancel { campaign: campaign_id(&campaign)?, proposal }, signing)
        }
        CharityCommand::Show { campaign, charity, donation, proposal, disbursement } => {
            return show(target, account(&charity)?, campaign_id(&campaign)?, donation, proposal, disbursement).await;
        }
        CharityCommand::Trace { campaign, donation, charity } => {
            return trace(target, account(&charity)?, campaign_id(&campaign)?, donation).await;
        }
    };
    submit(target, Payload::Charity(op), signing).await
}

async fn show(
    target: &Target,
    charity: AccountId,
    campaign: CampaignId,
    donation: Option<u64>,
    proposal: Option<u64>,
    disbursement: Option<u64>,
) -> anyhow::Result<()> {
    let client = target.client().await?;
    if let Some(index) = donation {
        let Some(donation) = client.donation(charity, campaign, index).await? else { bail!("no such donation") };
        if target.json {
            return print_json(&donation);
        }
        println!("donation     {} to {campaign} by {}", donation.index, donation.donor);
        println!("amount       {} (donated total before it: {})", donation.amount, donation.cumulative_start);
        println!("at height    {}", donation.donated_at);
        return Ok(());
    }
    if let Some(index) = proposal {
        let Some(proposal) = client.disbursement_proposal(charity, campaign, index).await? else {
            bail!("no such proposal")
        };
        if target.json {
            return print_json(&proposal);
        }
        println!("proposal     {} of {campaign}: {}", proposal.index, proposal.status);
        println!("pays         {} to {}", proposal.amount, proposal.beneficiary);
        println!("evidence     {}", hash_to_hex(&proposal.evidence));
        println!("approvals    {} of {} needed", proposal.approved_by.len(), proposal.threshold);
        for approver in &proposal.approved_by {
            println!("  approved by {approver}");
        }
        if let Some(paid) = proposal.disbursement {
            println!("disbursement {paid}");
        }
        return Ok(());
    }
    if let Some(index) = disbursement {
        let Some(paid) = client.disbursement(charity, campaign, index).await? else { bail!("no such disbursement") };
        if target.json {
            return print_json(&paid);
        }
        println!("disbursement {} of {campaign} (proposal {})", paid.index, paid.proposal);
        println!("paid         {} to {}", paid.amount, paid.beneficiary);
        println!("evidence     {}", hash_to_hex(&paid.evidence));
        println!("disbursed total before it: {}; at height {}", paid.cumulative_start, paid.paid_at);
        return Ok(());
    }
    let Some(view) = client.campaign(charity, campaign).await? else { bail!("no such campaign") };
    if target.json {
        return print_json(&view);
    }
    println!("campaign     {} of {} ({})", view.id, view.charity, if view.open { "open" } else { "closed" });
    println!("purpose      {}", view.purpose);
    println!("target       {} {}", view.target, view.asset);
    println!("donated      {} in {} donations", view.donated, view.donations);
    println!("disbursed    {} in {} disbursements", view.disbursed, view.disbursements);
    println!("held         {} by escrow {}", view.held, view.escrow);
    println!("approvers    {} of {}", view.threshold, view.approvers.len());
    println!("as of height {}", view.height);
    Ok(())
}

async fn trace(target: &Target, charity: AccountId, campaign: CampaignId, index: u64) -> anyhow::Result<()> {
    let client = target.client().await?;
    let Some(trace) = client.donation_trace(charity, campaign, index).await? else { bail!("no such donation") };
    if target.json {
        return print_json(&trace);
    }
    let donation = &trace.donation;
    println!("donation {} of {campaign}: {} by {}", donation.index, donation.amount, donation.donor);
    for part in &trace.funded {
        let paid = &part.disbursement;
        println!(
            "  {} of disbursement {} ({} to {}, evidence {})",
            part.amount,
            paid.index,
            paid.amount,
            paid.beneficiary,
            hash_to_hex(&paid.evidence)
        );
    }
    match trace.undisbursed {
        Some(left) => println!("  {left} not disbursed yet"),
        None => println!("  (cut at {} disbursements)", trace.funded.len()),
    }
    Ok(())
}
