//! Charity module tests: a campaign takes donations into its escrow with a receipt each; a
//! disbursement is paid only once enough named approvers approve, only to a registered
//! beneficiary and only from what the escrow holds; who may do what, closed campaigns and
//! frozen donors, each refused with its code and without a trace; and, under random histories,
//! the escrow always holding `donated - disbursed`, the asset conserved, and every donation
//! traced first in, first out to the disbursements it funded.

use super::{World, signer};
use crate::modules::{charity::campaign_topic, decode_record, event_topic, record_keys};
use formica_crypto::AccountSigner;
use formica_state::{StateKey, StateValue};
use formica_types::{
    AccountId, Amount, AssetOp, Beneficiary, BeneficiaryName, Campaign, CampaignId, CampaignTerms, CharityOp,
    Disbursement, DisbursementProposal, Donation, FailureCode, Funded, Hash, KeyScheme, Module, Outcome, Payload,
    ProposalStatus, Purpose, Span, Symbol, Transaction, campaign_escrow, funded_by, hash_tagged, paid_before,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn usd() -> Symbol {
    Symbol::new("USDX").expect("valid symbol")
}

fn id() -> CampaignId {
    CampaignId::new("FLOOD-2026").expect("valid id")
}

fn charity(op: CharityOp) -> Payload {
    Payload::Charity(op)
}

fn evidence(n: u8) -> Hash {
    hash_tagged(b"test/delivery-note", &[&[n]])
}

fn terms(approvers: &[&AccountSigner], threshold: u8) -> CampaignTerms {
    CampaignTerms {
        id: id(),
        purpose: Purpose::new("Flood relief: food and shelter").expect("valid"),
        purpose_document: hash_tagged(b"test/purpose", &[]),
        asset: usd(),
        target: Amount(1_000_000),
        approvers: approvers.iter().map(|who| who.account_id()).collect(),
        threshold,
    }
}

/// The parties of a campaign: the charity, two approvers (threshold 2), two donors, a
/// beneficiary, and an outsider.
struct Parties {
    charity: AccountSigner,
    approvers: [AccountSigner; 2],
    donors: [AccountSigner; 2],
    beneficiary: AccountSigner,
    outsider: AccountSigner,
}

impl Parties {
    fn new() -> Self {
        Self {
            charity: signer(KeyScheme::Ed25519, 11_001),
            approvers: [signer(KeyScheme::Sm2, 11_002), signer(KeyScheme::Secp256k1, 11_003)],
            donors: [signer(KeyScheme::Ed25519, 11_004), signer(KeyScheme::Ed25519, 11_005)],
            beneficiary: signer(KeyScheme::Ed25519, 11_006),
            outsider: signer(KeyScheme::Ed25519, 11_007),
        }
    }

    fn everyone(&self) -> Vec<&AccountSigner> {
        let mut all = vec![&self.charity, &self.beneficiary, &self.outsider];
        all.extend(self.approvers.iter());
        all.extend(self.donors.iter());
        all
    }

    fn escrow(&self) -> AccountId {
        campaign_escrow(&self.charity.account_id(), &id())
    }

    fn donate(&self, amount: u128) -> Payload {
        charity(CharityOp::Donate { charity: self.charity.account_id(), campaign: id(), amount: Amount(amount) })
    }

    fn approve(&self, proposal: u64) -> Payload {
        charity(CharityOp::Approve { charity: self.charity.account_id(), campaign: id(), proposal })
    }

    fn propose(&self, amount: u128, n: u8) -> Payload {
        charity(CharityOp::Propose {
            campaign: id(),
            beneficiary: self.beneficiary.account_id(),
            amount: Amount(amount),
            evidence: evidence(n),
        })
    }
}

impl World {
    fn charity_record<R: crate::modules::ModuleRecord>(&self, key: &[u8]) -> Option<R> {
        let keys = record_keys::<R>(Module::Charity, key);
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }

    fn campaign(&self, charity: &AccountId) -> Campaign {
        self.charity_record(&Campaign::key(charity, &id())).expect("registered")
    }

    fn usd(&self, account: &AccountId) -> u128 {
        self.holding(usd(), account).balance.get()
    }

    /// Runs `transaction`, requires it to fail with `code`, and requires that it changed nothing
    /// but its sender's fee and nonce.
    fn charity_refused(&mut self, transaction: Transaction, code: FailureCode) {
        let non_accounts = |world: &World| -> BTreeMap<StateKey, StateValue> {
            world
                .records
                .iter()
                .filter(|(key, _)| !matches!(key, StateKey::Account(_)))
                .map(|(key, value)| (*key, value.clone()))
                .collect()
        };
        let before = non_accounts(self);
        let sender = transaction.body.sender;
        let balance = self.account(&sender).expect("the sender exists").balance.get();
        self.fails(transaction, code);
        assert_eq!(non_accounts(self), before, "a failed operation leaves no trace");
        assert_eq!(self.account(&sender).expect("exists").balance.get(), balance - super::FEE, "only the fee");
    }

    /// The campaign's invariants: the escrow holds `donated - disbursed`, the donations' and
    /// disbursements' cumulative starts are the running sums of their amounts, and the asset's
    /// holdings (escrow included) sum to its supply.
    fn check_campaign(&self, charity: &AccountId, holders: &[AccountId]) {
        let campaign = self.campaign(charity);
        let escrow = campaign_escrow(charity, &id());
        assert_eq!(self.usd(&escrow), campaign.held().get(), "the escrow holds donated - disbursed");
        let mut total = 0u128;
        for index in 0..campaign.donations {
            let donation: Donation = self.charity_record(&Donation::key(charity, &id(), index)).expect("recorded");
            assert_eq!(donation.cumulative_start.get(), total);
            total += donation.amount.get();
        }
        assert_eq!(total, campaign.donated.get());
        let mut total = 0u128;
        for index in 0..campaign.disbursements {
            let paid = self.disbursement(charity, index);
            assert_eq!(paid.cumulative_start.get(), total);
            total += paid.amount.get();
            let proposal = self.proposal(charity, paid.proposal);
            assert_eq!((proposal.status, proposal.disbursement), (ProposalStatus::Paid, Some(index)));
        }
        assert_eq!(total, campaign.disbursed.get());
        let mut all = holders.to_vec();
        all.push(escrow);
        self.check_asset(usd(), &all);
    }

    fn disbursement(&self, charity: &AccountId, index: u64) -> Disbursement {
        self.charity_record(&Disbursement::key(charity, &id(), index)).expect("paid")
    }

    fn proposal(&self, charity: &AccountId, index: u64) -> DisbursementProposal {
        self.charity_record(&DisbursementProposal::key(charity, &id(), index)).expect("proposed")
    }

    /// What donation `index` funded, computed from the records the way the RPC does.
    fn traced(&self, charity: &AccountId, index: u64) -> Vec<Funded> {
        let donation: Donation = self.charity_record(&Donation::key(charity, &id(), index)).expect("recorded");
        let span = Span { start: donation.cumulative_start, amount: donation.amount };
        let campaign = self.campaign(charity);
        let disbursements: Vec<(u64, Span)> = (0..campaign.disbursements)
            .map(|j| {
                let paid = self.disbursement(charity, j);
                (j, Span { start: paid.cumulative_start, amount: paid.amount })
            })
            .collect();
        let first = disbursements.partition_point(|(_, paid)| paid_before(paid, &span));
        funded_by(&span, disbursements[first..].iter().copied().take_while(|(_, paid)| paid.start.get() < span.end()))
    }

    /// A world with the asset defined, `amount` minted to each donor, a campaign by the charity
    /// with both approvers (threshold 2), and the beneficiary registered.
    fn with_campaign(p: &Parties, amount: u128) -> World {
        let everyone = p.everyone();
        let (mut world, issuer) = World::with_issuer(&everyone);
        let asset = Payload::Asset;
        world
            .ok(world.by(&issuer, asset(AssetOp::Define { symbol: usd(), decimals: 2, cap: None, allow_list: false })));
        let reserves = Amount(amount * 2);
        let reference = hash_tagged(b"test/reserve-report", &[]);
        world.ok(world.by(&issuer, asset(AssetOp::Attest { symbol: usd(), reserves, reference })));
        for donor in &p.donors {
            let mint = AssetOp::Mint { symbol: usd(), to: donor.account_id(), amount: Amount(amount) };
            world.ok(world.by(&issuer, asset(mint)));
        }
        let [first, second] = &p.approvers;
        world.ok(world.by(&p.charity, charity(CharityOp::Create(terms(&[first, second], 2)))));
        world.ok(world.by(
            &p.charity,
            charity(CharityOp::RegisterBeneficiary {
                campaign: id(),
                beneficiary: p.beneficiary.account_id(),
                name: BeneficiaryName::new("Riverside Shelter").expect("valid"),
                reference: hash_tagged(b"test/beneficiary-file", &[]),
            }),
        ));
        world
    }

    fn ids(&self, p: &Parties) -> Vec<AccountId> {
        let mut ids: Vec<AccountId> = p.everyone().iter().map(|who| who.account_id()).collect();
        ids.push(self.parameters.genesis_roles[0].0);
        ids
    }
}

#[test]
fn donations_are_held_in_escrow_with_receipts_and_totals() {
    let p = Parties::new();
    let mut world = World::with_campaign(&p, 10_000);
    let charity_id = p.charity.account_id();
    let receipt = world.run(world.by(&p.donors[0], p.donate(300))).expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    let event = &receipt.events[0];
    assert_eq!(event.contract, Module::Charity.address());
    assert_eq!(
        event.topics,
        vec![event_topic("charity.donated"), charity_id.0, campaign_topic(&id()), p.donors[0].account_id().0]
    );
    assert_eq!(&event.data[..8], &0u64.to_be_bytes(), "the receipt names the donation's number");
    world.ok(world.by(&p.donors[1], p.donate(200)));
    world.ok(world.by(&p.donors[0], p.donate(50)));
    let campaign = world.campaign(&charity_id);
    assert_eq!((campaign.donated, campaign.donations, campaign.disbursed), (Amount(550), 3, Amount::ZERO));
    let second: Donation = world.charity_record(&Donation::key(&charity_id, &id(), 1)).expect("recorded");
    assert_eq!(
        (second.donor, second.amount, second.cumulative_start),
        (p.donors[1].account_id(), Amount(200), Amount(300))
    );
    assert_eq!(world.usd(&p.escrow()), 550);
    assert_eq!(world.usd(&p.donors[0].account_id()), 10_000 - 350);
    world.check_campaign(&charity_id, &world.ids(&p));

    // Nothing beyond the donor's holding, nothing zero, no unknown campaign.
    world.charity_refused(world.by(&p.donors[1], p.donate(9_801)), FailureCode::InsufficientBalance);
    world.charity_refused(world.by(&p.donors[1], p.donate(0)), FailureCode::InvalidCampaign);
    world.charity_refused(
        world.by(
            &p.donors[1],
            charity(CharityOp::Donate { charity: p.outsider.account_id(), campaign: id(), amount: Amount(1) }),
        ),
        FailureCode::CampaignMissing,
    );
}

#[test]
fn a_disbursement_is_paid_only_once_the_threshold_of_named_approvers_approves() {
    let p = Parties::new();
    let mut world = World::with_campaign(&p, 10_000);
    let charity_id = p.charity.account_id();
    world.ok(world.by(&p.donors[0], p.donate(1_000)));
    world.ok(world.by(&p.donors[1], p.donate(500)));

    world.charity_refused(world.by(&p.outsider, p.propose(100, 0)), FailureCode::CampaignMissing);
    let receipt = world.run(world.by(&p.charity, p.propose(1_200, 1))).expect("admissible");
    assert_eq!(receipt.events[0].topics[0], event_topic("charity.proposed"));

    // One approval of two: recorded, nothing moves.
    world.ok(world.by(&p.approvers[0], p.approve(0)));
    assert_eq!(world.usd(&p.beneficiary.account_id()), 0, "under-approved: nothing paid");
    assert_eq!(world.usd(&p.escrow()), 1_500);
    assert_eq!(world.proposal(&charity_id, 0).approvals, 0b01);
    assert_eq!(world.campaign(&charity_id).disbursements, 0);

    // The same approver twice, the charity and an outsider are refused.
    world.charity_refused(world.by(&p.approvers[0], p.approve(0)), FailureCode::DisbursementApproved);
    world.charity_refused(world.by(&p.charity, p.approve(0)), FailureCode::NotPermitted);
    world.charity_refused(world.by(&p.outsider, p.approve(0)), FailureCode::NotPermitted);
    world.charity_refused(world.by(&p.approvers[1], p.approve(7)), FailureCode::DisbursementMissing);

    // The second approval reaches the threshold and pays in the same transaction.
    let receipt = world.run(world.by(&p.approvers[1], p.approve(0))).expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    let names: Vec<[u8; 32]> = receipt.events.iter().map(|event| event.topics[0]).collect();
    assert_eq!(names, vec![event_topic("charity.approved"), event_topic("charity.disbursed")]);
    assert_eq!(world.usd(&p.beneficiary.account_id()), 1_200);
    assert_eq!(world.usd(&p.escrow()), 300);
    let paid = world.disbursement(&charity_id, 0);
    assert_eq!(
        (paid.proposal, paid.amount, paid.cumulative_start, paid.evidence),
        (0, Amount(1_200), Amount::ZERO, evidence(1))
    );
    let campaign = world.campaign(&charity_id);
    assert_eq!((campaign.disbursed, campaign.disbursements), (Amount(1_200), 1));
    world.charity_refused(world.by(&p.approvers[0], p.approve(0)), FailureCode::DisbursementState);
    world.charity_refused(
        world.by(&p.charity, charity(CharityOp::Cancel { campaign: id(), proposal: 0 })),
        FailureCode::DisbursementState,
    );

    // First in, first out: donation 0 (1,000) paid 1,000 of it; donation 1 the other 200.
    assert_eq!(world.traced(&charity_id, 0), vec![Funded { disbursement: 0, amount: Amount(1_000) }]);
    assert_eq!(world.traced(&charity_id, 1), vec![Funded { disbursement: 0, amount: Amount(200) }]);
    world.check_campaign(&charity_id, &world.ids(&p));
}

#[test]
fn nothing_leaves_the_escrow_beyond_what_it_holds_or_to_an_unregistered_account() {
    let p = Parties::new();
    let mut world = World::with_campaign(&p, 10_000);
    let charity_id = p.charity.account_id();
    world.ok(world.by(&p.donors[0], p.donate(400)));

    // An unregistered beneficiary cannot be proposed.
    world.charity_refused(
        world.by(
            &p.charity,
            charity(CharityOp::Propose {
                campaign: id(),
                beneficiary: p.outsider.account_id(),
                amount: Amount(10),
                evidence: evidence(0),
            }),
        ),
        FailureCode::BeneficiaryMissing,
    );
    world.charity_refused(world.by(&p.charity, p.propose(0, 0)), FailureCode::InvalidCampaign);

    // More than held: approvals up to the threshold are refused, and the last one is not kept.
    world.ok(world.by(&p.charity, p.propose(500, 0)));
    world.ok(world.by(&p.approvers[0], p.approve(0)));
    world.charity_refused(world.by(&p.approvers[1], p.approve(0)), FailureCode::CampaignFundsShort);
    assert_eq!(world.proposal(&charity_id, 0).approvals, 0b01);
    // Once donations cover it, the same approval pays.
    world.ok(world.by(&p.donors[1], p.donate(100)));
    world.ok(world.by(&p.approvers[1], p.approve(0)));
    assert_eq!(world.usd(&p.beneficiary.account_id()), 500);
    assert_eq!(world.usd(&p.escrow()), 0);

    // A cancelled proposal cannot be approved; only the charity cancels (others name no campaign).
    world.ok(world.by(&p.charity, p.propose(1, 1)));
    world.charity_refused(
        world.by(&p.approvers[0], charity(CharityOp::Cancel { campaign: id(), proposal: 1 })),
        FailureCode::CampaignMissing,
    );
    world.ok(world.by(&p.charity, charity(CharityOp::Cancel { campaign: id(), proposal: 1 })));
    assert_eq!(world.proposal(&charity_id, 1).status, ProposalStatus::Cancelled);
    world.charity_refused(world.by(&p.approvers[0], p.approve(1)), FailureCode::DisbursementState);
    world.check_campaign(&charity_id, &world.ids(&p));
}

#[test]
fn closed_campaigns_refuse_donations_and_frozen_holders_cannot_donate() {
    let p = Parties::new();
    let mut world = World::with_campaign(&p, 10_000);
    let charity_id = p.charity.account_id();
    let issuer = signer(KeyScheme::Ed25519, 7_000);
    world.ok(world.by(&p.donors[0], p.donate(100)));

    // A frozen holding cannot donate; unfrozen it can.
    let freeze =
        |frozen| Payload::Asset(AssetOp::SetHoldingFrozen { symbol: usd(), account: p.donors[1].account_id(), frozen });
    world.ok(world.by(&issuer, freeze(true)));
    world.charity_refused(world.by(&p.donors[1], p.donate(10)), FailureCode::HoldingFrozen);
    world.ok(world.by(&issuer, freeze(false)));
    // A paused asset moves nothing.
    world.ok(world.by(&issuer, Payload::Asset(AssetOp::SetPaused { symbol: usd(), paused: true })));
    world.charity_refused(world.by(&p.donors[1], p.donate(10)), FailureCode::AssetPaused);
    world.ok(world.by(&issuer, Payload::Asset(AssetOp::SetPaused { symbol: usd(), paused: false })));

    // Closed: no donations; what it holds can still be disbursed.
    world.charity_refused(
        world.by(&p.outsider, charity(CharityOp::Close { campaign: id() })),
        FailureCode::CampaignMissing,
    );
    world.ok(world.by(&p.charity, charity(CharityOp::Close { campaign: id() })));
    world.charity_refused(
        world.by(&p.charity, charity(CharityOp::Close { campaign: id() })),
        FailureCode::CampaignClosed,
    );
    world.charity_refused(world.by(&p.donors[1], p.donate(10)), FailureCode::CampaignClosed);
    world.ok(world.by(&p.charity, p.propose(100, 0)));
    world.ok(world.by(&p.approvers[0], p.approve(0)));
    world.ok(world.by(&p.approvers[1], p.approve(0)));
    assert_eq!(world.usd(&p.beneficiary.account_id()), 100);
    world.check_campaign(&charity_id, &world.ids(&p));
}

#[test]
fn campaigns_and_beneficiaries_are_checked_when_registered() {
    let p = Parties::new();
    let mut world = World::with_campaign(&p, 10_000);
    let [first, second] = &p.approvers;
    let create = |terms: CampaignTerms| charity(CharityOp::Create(terms));
    let other = |mut terms: CampaignTerms| {
        terms.id = CampaignId::new("OTHER").expect("valid");
        terms
    };
    world.charity_refused(world.by(&p.charity, create(terms(&[first, second], 2))), FailureCode::CampaignExists);
    world.charity_refused(
        world.by(&p.charity, create(CampaignTerms { asset: Symbol::NATIVE, ..other(terms(&[first], 1)) })),
        FailureCode::InvalidCampaign,
    );
    world.charity_refused(
        world.by(
            &p.charity,
            create(CampaignTerms { asset: Symbol::new("NOPE").expect("valid"), ..other(terms(&[first], 1)) }),
        ),
        FailureCode::AssetMissing,
    );
    world.charity_refused(world.by(&p.charity, create(other(terms(&[first], 2)))), FailureCode::InvalidCampaign);
    world.charity_refused(world.by(&p.charity, create(other(terms(&[first], 0)))), FailureCode::InvalidCampaign);
    world.charity_refused(world.by(&p.charity, create(other(terms(&[], 0)))), FailureCode::InvalidCampaign);
    world.charity_refused(world.by(&p.charity, create(other(terms(&[first, first], 1)))), FailureCode::InvalidCampaign);
    world.charity_refused(
        world.by(&p.charity, create(CampaignTerms { target: Amount::ZERO, ..other(terms(&[first], 1)) })),
        FailureCode::InvalidCampaign,
    );
    let ghost = signer(KeyScheme::Ed25519, 11_099);
    world.charity_refused(world.by(&p.charity, create(other(terms(&[first, &ghost], 1)))), FailureCode::AccountMissing);
    world.ok(world.by(&p.charity, create(other(terms(&[first], 1)))));

    let register = |beneficiary: &AccountSigner| {
        charity(CharityOp::RegisterBeneficiary {
            campaign: id(),
            beneficiary: beneficiary.account_id(),
            name: BeneficiaryName::new("Again").expect("valid"),
            reference: hash_tagged(b"test/beneficiary-file", &[]),
        })
    };
    world.charity_refused(world.by(&p.charity, register(&p.beneficiary)), FailureCode::BeneficiaryExists);
    world.charity_refused(world.by(&p.charity, register(&ghost)), FailureCode::AccountMissing);
    world.charity_refused(world.by(&p.outsider, register(&p.outsider)), FailureCode::CampaignMissing);
    world.ok(world.by(&p.charity, register(&p.outsider)));
    let registered: Beneficiary = world
        .charity_record(&Beneficiary::key(&p.charity.account_id(), &id(), &p.outsider.account_id()))
        .expect("registered");
    assert_eq!(registered.name.as_str(), "Again");
    assert_eq!(world.campaign(&p.charity.account_id()).beneficiaries, 2);
}

#[derive(Clone, Debug)]
enum Step {
    Donate { donor: usize, amount: u128 },
    Propose { amount: u128 },
    Approve { approver: usize, proposal: u64 },
    Cancel { proposal: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0usize..2, 1u128..400).prop_map(|(donor, amount)| Step::Donate { donor, amount }),
        2 => (1u128..500).prop_map(|amount| Step::Propose { amount }),
        4 => (0usize..2, 0u64..8).prop_map(|(approver, proposal)| Step::Approve { approver, proposal }),
        1 => (0u64..8).prop_map(|proposal| Step::Cancel { proposal }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_histories_keep_the_escrow_exact_and_trace_every_donation(steps in prop::collection::vec(step(), 1..40)) {
        let p = Parties::new();
        let mut world = World::with_campaign(&p, 5_000);
        let charity_id = p.charity.account_id();
        for step in steps {
            let transaction = match step {
                Step::Donate { donor, amount } => world.by(&p.donors[donor], p.donate(amount)),
                Step::Propose { amount } => world.by(&p.charity, p.propose(amount, 0)),
                Step::Approve { approver, proposal } => world.by(&p.approvers[approver], p.approve(proposal)),
                Step::Cancel { proposal } => {
                    world.by(&p.charity, charity(CharityOp::Cancel { campaign: id(), proposal }))
                }
            };
            // Steps may fail (a missing proposal, funds short, ...); state must stay consistent.
            world.run(transaction).expect("admissible");
            world.check_campaign(&charity_id, &world.ids(&p));
        }
        let campaign = world.campaign(&charity_id);
        let mut per_disbursement = vec![0u128; campaign.disbursements as usize];
        for index in 0..campaign.donations {
            let donation: Donation = world.charity_record(&Donation::key(&charity_id, &id(), index)).expect("recorded");
            let funded = world.traced(&charity_id, index);
            let sum: u128 = funded.iter().map(|part| part.amount.get()).sum();
            let past = campaign.disbursed.get().saturating_sub(donation.cumulative_start.get());
            prop_assert_eq!(sum, donation.amount.get().min(past), "a donation is used up to what was paid past it");
            for part in funded {
                per_disbursement[part.disbursement as usize] += part.amount.get();
            }
        }
        for (index, covered) in per_disbursement.into_iter().enumerate() {
            prop_assert_eq!(covered, world.disbursement(&charity_id, index as u64).amount.get());
        }
        let beneficiary = world.usd(&p.beneficiary.account_id());
        prop_assert_eq!(beneficiary, campaign.disbursed.get(), "every payment reached the beneficiary");
    }
}
