//! The client: signs transfers, account creations and asset operations from funded accounts,
//! submits each to a random running validator, re-submits what is not final after a while (to
//! another node), and records which transactions a node acknowledged as final, at which height
//! and index.
//!
//! Assets: the dev account (an issuer) defines [`ASSET`], attests reserves and mints to every
//! sender first; then, among the native transfers, senders transfer the asset to known accounts
//! and the dev account mints more and burns some of its own, so conservation per asset is
//! checked under faults too.
//!
//! Remittances: the dev account also issues [`PAYOUT_ASSET`], keeps it as settlement liquidity
//! and defines the corridor [`CORRIDOR`] (sending wallet: the first user, customer: the second,
//! FX provider: the third). The sending wallet requests remittances; once a request is final the
//! FX provider quotes it, and once the quote is final the customer accepts it, which settles it
//! (or records its rejection) in the block that includes it.
//!
//! Trade: the third user (a supplier) invoices the second (a buyer) in [`ASSET`]; once each
//! step is final the next party acts: the buyer accepts, the supplier offers the invoice to the
//! first user (a financier), who finances it, and the buyer pays it. The buyer also
//! acknowledges payables to the supplier as receivables, which the supplier splits with the
//! financier, and the buyer settles each part once it matures (a few simulated seconds later).

use crate::{
    checker::{ClientLog, Outcome, Submission},
    cluster::Cluster,
};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use formica_types::{
    AccountId, Amount, AssetOp, ChainId, CorridorId, CorridorTerms, FeeShares, FinanceOp, Genesis, GenesisAccount,
    GenesisRole, GenesisValidator, Hash, Height, InvoiceNumber, InvoiceOp, InvoiceTerms, Nonce, Payload, RATE_SCALE,
    ReceivableTerms, RemittanceId, RemittanceOp, Role, Share, Symbol, Transaction, TransactionBody, public_key_to_hex,
    receivable_id, remittance_id,
};
use rand::{RngExt as _, rngs::StdRng};
use std::{
    collections::{BTreeMap, VecDeque},
    time::Duration,
};

/// The simulated chain's id.
pub const CHAIN_ID: ChainId = ChainId(77);
/// Seed of the funded dev account (also the fee collector and a regulator).
pub const DEV_SEED: u64 = 1_000;
/// Seeds of the other funded accounts that send transfers.
pub const USER_SEEDS: [u64; 3] = [1_001, 1_002, 1_003];
const DEV_BALANCE: Amount = Amount(1_000_000_000);
const USER_BALANCE: Amount = Amount(1_000_000);
/// Seeds of accounts the dev account creates start here.
const FRESH_SEED_FIRST: u64 = 100_000;
/// The asset the dev account issues.
pub const ASSET: &str = "SIM";
/// What the dev account attests as reserves, and mints to each sender at the start.
const RESERVES: Amount = Amount(1_000_000_000_000);
const FIRST_MINT: Amount = Amount(1_000_000);

/// The asset remittances pay out in.
pub const PAYOUT_ASSET: &str = "SIMB";
/// The remittance corridor, from [`ASSET`] to [`PAYOUT_ASSET`].
pub const CORRIDOR: &str = "SIM-SIMB";
/// Every asset the client issues.
pub const ASSETS: [&str; 2] = [ASSET, PAYOUT_ASSET];

/// The issued asset's symbol.
pub fn asset() -> Symbol {
    Symbol::new(ASSET).expect("a valid symbol")
}

fn payout_asset() -> Symbol {
    Symbol::new(PAYOUT_ASSET).expect("a valid symbol")
}

fn corridor() -> CorridorId {
    CorridorId::new(CORRIDOR).expect("a valid corridor name")
}

/// What a transaction leads to once it is final: the next step of a remittance, or of a trade.
#[derive(Clone, Debug)]
enum FollowUp {
    Quote(RemittanceId),
    Accept(RemittanceId),
    /// The acceptance itself: counted once final.
    Accepted,
    /// A trade step: what finishing it means, and the rest of the trade's steps (the first is
    /// due once this one is final).
    Trade {
        milestone: Option<Milestone>,
        rest: VecDeque<TradeStep>,
    },
}

/// One step of a trade: `sender` submits `payload`, no sooner than `delay` after the step
/// before it became final.
#[derive(Clone, Debug)]
struct TradeStep {
    sender: usize,
    payload: Payload,
    delay: Duration,
    /// What finishing it means for the report.
    milestone: Option<Milestone>,
}

#[derive(Clone, Copy, Debug)]
enum Milestone {
    InvoicePaid,
    PartSettled,
}

/// The genesis of a simulated chain with these validators.
pub fn genesis(validators: &[PrivateKey]) -> Genesis {
    let dev = PrivateKey::from_seed(DEV_SEED).public_key();
    let mut accounts = vec![GenesisAccount { public_key: public_key_to_hex(&dev), balance: DEV_BALANCE }];
    accounts.extend(USER_SEEDS.iter().map(|seed| GenesisAccount {
        public_key: public_key_to_hex(&PrivateKey::from_seed(*seed).public_key()),
        balance: USER_BALANCE,
    }));
    Genesis {
        chain_id: CHAIN_ID,
        timestamp_ms: 0,
        validators: validators
            .iter()
            .enumerate()
            .map(|(index, key)| GenesisValidator {
                name: format!("org-{index}"),
                public_key: public_key_to_hex(&key.public_key()),
                p2p_address: format!("127.0.0.1:{}", 30_000 + index),
            })
            .collect(),
        accounts,
        fee_per_transaction: Amount(1),
        fee_collector: AccountId::from_public_key(&dev),
        block_transactions_max: 500,
        roles: vec![
            GenesisRole { account: AccountId::from_public_key(&dev), role: Role::Regulator },
            GenesisRole { account: AccountId::from_public_key(&dev), role: Role::Issuer },
        ],
        recovery_delay_min_blocks: Genesis::RECOVERY_DELAY_MIN_BLOCKS_DEFAULT,
        frozen_accounts_receive: true,
        organisations: Vec::new(),
        approval_rule: formica_types::ApprovalRule::TWO_THIRDS,
        proposal_expiry_blocks_max: Genesis::PROPOSAL_EXPIRY_BLOCKS_MAX_DEFAULT,
        account_creation_members_only: false,
        // Short epochs: most seeds cross an epoch boundary (or two) under their faults, while
        // epoch 0, in which the Byzantine actors speak, covers most of the fault phase.
        epoch_blocks: 40,
        consensus_timeouts: Default::default(),
        api_members_only: false,
        gas_price: formica_types::Amount::ZERO,
        tx_gas_max: Genesis::TX_GAS_MAX_DEFAULT,
        block_gas_max: Genesis::BLOCK_GAS_MAX_DEFAULT,
        block_bytes_max: Genesis::BLOCK_BYTES_MAX_DEFAULT,
    }
}

/// The sum of every genesis balance.
pub fn genesis_supply() -> Amount {
    USER_SEEDS.iter().fold(DEV_BALANCE, |total, _| total.checked_add(USER_BALANCE).expect("small numbers"))
}

struct SendingAccount {
    key: PrivateKey,
    id: AccountId,
    next_nonce: u64,
}

struct Pending {
    transaction: Transaction,
    follow_up: Option<FollowUp>,
    /// Index of its entry in the log.
    entry: usize,
    last_sent: Duration,
}

/// The client and what it was told.
pub struct Client {
    senders: Vec<SendingAccount>,
    pending: BTreeMap<usize, Pending>,
    /// Every account that can hold value (for the conservation check).
    pub known_accounts: Vec<AccountId>,
    pub log: ClientLog,
    next_fresh_seed: u64,
    /// Transactions still to submit.
    budget: usize,
    /// Times a transaction was sent again because it was not final yet.
    pub resubmissions: u64,
    /// The sending wallet's next request reference.
    next_reference: u64,
    /// Requested remittances for the FX provider to quote, and quoted ones for the customer to
    /// accept.
    to_quote: Vec<RemittanceId>,
    to_accept: Vec<RemittanceId>,
    /// Acceptances of quoted remittances that became final (each settled or recorded a
    /// rejection).
    pub remittances_accepted: usize,
    /// Trade steps due, per sender: when each is due, the step, and the steps after it.
    trade_steps: BTreeMap<usize, VecDeque<(Duration, TradeStep, VecDeque<TradeStep>)>>,
    next_trade: u64,
    /// Invoice payments and receivable settlements that became final.
    pub invoices_paid: usize,
    pub parts_settled: usize,
}

/// Senders' roles in the corridor (indexes into the senders).
const SENDING_WALLET: usize = 1;
const CUSTOMER: usize = 2;
const FX_PROVIDER: usize = 3;
/// Senders' roles in trades.
const FINANCIER: usize = 1;
const BUYER: usize = 2;
const SUPPLIER: usize = 3;
/// How long after acknowledgement a receivable matures, in simulated time.
const MATURITY_AFTER: Duration = Duration::from_secs(2);

/// How long the client waits for finality before sending a transaction again.
const RESEND_AFTER: Duration = Duration::from_secs(3);

impl Client {
    /// A client that will submit `budget` transactions.
    pub fn new(budget: usize) -> Self {
        let senders: Vec<SendingAccount> = std::iter::once(DEV_SEED)
            .chain(USER_SEEDS)
            .map(|seed| {
                let key = PrivateKey::from_seed(seed);
                SendingAccount { id: AccountId::from_public_key(&key.public_key()), key, next_nonce: 0 }
            })
            .collect();
        Self {
            known_accounts: senders.iter().map(|sender| sender.id).collect(),
            senders,
            pending: BTreeMap::new(),
            log: ClientLog { genesis_supply: genesis_supply(), submissions: Vec::new() },
            next_fresh_seed: FRESH_SEED_FIRST,
            budget,
            resubmissions: 0,
            next_reference: 0,
            to_quote: Vec::new(),
            to_accept: Vec::new(),
            remittances_accepted: 0,
            trade_steps: BTreeMap::new(),
            next_trade: 0,
            invoices_paid: 0,
            parts_settled: 0,
        }
    }

    /// Whether every transaction was submitted and learned final.
    pub fn done(&self) -> bool {
        self.budget == 0 && self.pending.is_empty()
    }

    /// The dev account's first transactions: define the asset, attest reserves, mint to every
    /// sender; then define the payout asset, mint it to itself as settlement liquidity, and
    /// define the corridor.
    fn issuance(&self, nonce: u64) -> Option<Payload> {
        let senders = self.senders.len() as u64;
        let symbol = asset();
        let payout = payout_asset();
        let id = |index: usize| self.senders[index].id;
        Some(match nonce {
            0 => Payload::Asset(AssetOp::Define { symbol, decimals: 2, cap: None, allow_list: false }),
            1 => Payload::Asset(AssetOp::Attest { symbol, reserves: RESERVES, reference: Hash::from([7; 32]) }),
            n if n < 2 + senders => {
                let to = id(usize::try_from(n - 2).ok()?);
                Payload::Asset(AssetOp::Mint { symbol, to, amount: FIRST_MINT })
            }
            n if n == 2 + senders => {
                Payload::Asset(AssetOp::Define { symbol: payout, decimals: 2, cap: None, allow_list: false })
            }
            n if n == 3 + senders => {
                Payload::Asset(AssetOp::Attest { symbol: payout, reserves: RESERVES, reference: Hash::from([8; 32]) })
            }
            n if n == 4 + senders => Payload::Asset(AssetOp::Mint { symbol: payout, to: id(0), amount: RESERVES }),
            n if n == 5 + senders => Payload::Remittance(RemittanceOp::DefineCorridor(CorridorTerms {
                id: corridor(),
                source: symbol,
                destination: payout,
                sending_wallet: id(SENDING_WALLET),
                receiving_wallet: id(0),
                settlement: id(0),
                fx_provider: id(FX_PROVIDER),
                compliance: id(0),
                fee_flat: Amount(1),
                fee_bps: 10,
                fee_shares: FeeShares(vec![(id(SENDING_WALLET), 10_000)]),
                per_transfer_max: Amount(10_000),
                daily_max: Amount(1_000_000_000),
            })),
            _ => return None,
        })
    }

    /// The next step of a remittance `sender` takes part in, if one is due.
    fn remittance_step(&mut self, sender: usize, rng: &mut StdRng) -> Option<(Payload, Option<FollowUp>)> {
        match sender {
            SENDING_WALLET if rng.random_bool(0.3) => {
                let reference = self.next_reference;
                self.next_reference += 1;
                let recipient = self.known_accounts[rng.random_range(0..self.known_accounts.len())];
                let op = RemittanceOp::Request {
                    corridor: corridor(),
                    reference,
                    sender: self.senders[CUSTOMER].id,
                    recipient,
                    amount: Amount(rng.random_range(1..2_000)),
                };
                let id = remittance_id(&self.senders[SENDING_WALLET].id, reference);
                Some((Payload::Remittance(op), Some(FollowUp::Quote(id))))
            }
            FX_PROVIDER if !self.to_quote.is_empty() => {
                let id = self.to_quote.remove(0);
                let op = RemittanceOp::Quote { id, rate: 2 * RATE_SCALE, expires_ms: u64::MAX / 2 };
                Some((Payload::Remittance(op), Some(FollowUp::Accept(id))))
            }
            CUSTOMER if !self.to_accept.is_empty() => {
                let id = self.to_accept.remove(0);
                Some((Payload::Remittance(RemittanceOp::Accept { id }), Some(FollowUp::Accepted)))
            }
            _ => None,
        }
    }

    fn next_transaction(&mut self, sender: usize, now: Duration, rng: &mut StdRng) -> (Transaction, Option<FollowUp>) {
        let nonce = self.senders[sender].next_nonce;
        let issuance = if sender == 0 { self.issuance(nonce) } else { None };
        let mut follow_up = None;
        let payload = if let Some(payload) = issuance {
            payload
        } else if let Some((payload, next)) = self.trade_step(sender, now, rng) {
            follow_up = next;
            payload
        } else if let Some((payload, next)) = self.remittance_step(sender, rng) {
            follow_up = next;
            payload
        } else if sender == 0 && rng.random_bool(0.1) {
            let symbol = asset();
            if rng.random_bool(0.5) {
                Payload::Asset(AssetOp::Burn { symbol, amount: Amount(rng.random_range(1..100)) })
            } else {
                let to = self.known_accounts[rng.random_range(0..self.known_accounts.len())];
                Payload::Asset(AssetOp::Mint { symbol, to, amount: Amount(rng.random_range(1..1_000)) })
            }
        } else if rng.random_bool(0.3) {
            let to = self.other_account(sender, rng);
            Payload::Asset(AssetOp::Transfer { symbol: asset(), to, amount: Amount(rng.random_range(1..500)) })
        } else if sender == 0 && rng.random_bool(0.3) {
            let seed = self.next_fresh_seed;
            self.next_fresh_seed += 1;
            let public_key = PrivateKey::from_seed(seed).public_key();
            self.known_accounts.push(AccountId::from_public_key(&public_key));
            Payload::CreateAccount { public_key: public_key.into(), initial_balance: Amount(1_000) }
        } else {
            let to = self.other_account(sender, rng);
            Payload::Transfer { to, amount: Amount(rng.random_range(1..100)) }
        };
        let account = &mut self.senders[sender];
        let body = TransactionBody {
            chain_id: CHAIN_ID,
            sender: account.id,
            nonce: Nonce(account.next_nonce),
            expiry_height: Height(1_000_000),
            fee_limit: Amount(1),
            payload,
        };
        account.next_nonce += 1;
        (body.sign(&[&account.key]), follow_up)
    }

    /// The next step of a trade `sender` takes part in: a due step, or (sometimes) a new trade.
    fn trade_step(&mut self, sender: usize, now: Duration, rng: &mut StdRng) -> Option<(Payload, Option<FollowUp>)> {
        if let Some(queue) = self.trade_steps.get_mut(&sender)
            && queue.front().is_some_and(|(due, _, _)| *due <= now)
        {
            let (_, step, rest) = queue.pop_front().expect("checked above");
            return Some((step.payload, Some(FollowUp::Trade { milestone: step.milestone, rest })));
        }
        let id = |index: usize| self.senders[index].id;
        let now_ms = u64::try_from(now.as_millis()).expect("simulations last less than 500 million years");
        let amount = Amount(rng.random_range(100..1_000));
        let step = |sender, payload, delay, milestone| TradeStep { sender, payload, delay, milestone };
        match sender {
            SUPPLIER if rng.random_bool(0.1) => {
                self.next_trade += 1;
                let number = InvoiceNumber::new(&format!("INV-{}", self.next_trade)).expect("a valid number");
                let terms = InvoiceTerms {
                    number,
                    buyer: id(BUYER),
                    currency: asset(),
                    amount,
                    tax: Amount(amount.0 / 10),
                    seller_tax_id: Hash::from([3; 32]),
                    buyer_tax_id: Hash::from([2; 32]),
                    due_ms: now_ms + 3_600_000,
                    document: formica_types::hash_tagged(b"formica/sim/invoice", &[&self.next_trade.to_be_bytes()]),
                };
                let seller = id(SUPPLIER);
                let rest = VecDeque::from([
                    step(BUYER, Payload::Invoice(InvoiceOp::Accept { seller, number }), Duration::ZERO, None),
                    step(
                        SUPPLIER,
                        Payload::Invoice(InvoiceOp::Offer {
                            number,
                            financier: id(FINANCIER),
                            advance: Amount(amount.0 * 9 / 10),
                        }),
                        Duration::ZERO,
                        None,
                    ),
                    step(FINANCIER, Payload::Invoice(InvoiceOp::Finance { seller, number }), Duration::ZERO, None),
                    step(
                        BUYER,
                        Payload::Invoice(InvoiceOp::Pay { seller, number }),
                        Duration::ZERO,
                        Some(Milestone::InvoicePaid),
                    ),
                ]);
                Some((Payload::Invoice(InvoiceOp::Issue(terms)), Some(FollowUp::Trade { milestone: None, rest })))
            }
            // Each seed sends a few dozen transactions: start receivables often enough that
            // some mature and settle within one.
            BUYER if rng.random_bool(0.4) => {
                self.next_trade += 1;
                let reference = InvoiceNumber::new(&format!("RCV-{}", self.next_trade)).expect("a valid number");
                let receivable = receivable_id(&id(BUYER), &reference);
                let terms = ReceivableTerms {
                    reference,
                    supplier: id(SUPPLIER),
                    currency: asset(),
                    amount,
                    maturity_ms: now_ms + u64::try_from(MATURITY_AFTER.as_millis()).expect("small"),
                    invoice: None,
                };
                let half = Amount(amount.0 / 2);
                let shares = vec![
                    Share { holder: id(SUPPLIER), amount: half },
                    Share { holder: id(FINANCIER), amount: Amount(amount.0 - half.0) },
                ];
                let settle = |part| Payload::Finance(FinanceOp::Settle { receivable, part });
                let rest = VecDeque::from([
                    step(
                        SUPPLIER,
                        Payload::Finance(FinanceOp::Split { receivable, part: 0, shares }),
                        Duration::ZERO,
                        None,
                    ),
                    step(BUYER, settle(1), MATURITY_AFTER, Some(Milestone::PartSettled)),
                    step(BUYER, settle(2), Duration::ZERO, Some(Milestone::PartSettled)),
                ]);
                Some((Payload::Finance(FinanceOp::Acknowledge(terms)), Some(FollowUp::Trade { milestone: None, rest })))
            }
            _ => None,
        }
    }

    /// A trade step became final: count its milestone, and queue the step after it.
    fn continue_trade(&mut self, milestone: Option<Milestone>, mut rest: VecDeque<TradeStep>, now: Duration) {
        match milestone {
            Some(Milestone::InvoicePaid) => self.invoices_paid += 1,
            Some(Milestone::PartSettled) => self.parts_settled += 1,
            None => {}
        }
        if let Some(next) = rest.pop_front() {
            let due = now + next.delay;
            self.trade_steps.entry(next.sender).or_default().push_back((due, next, rest));
        }
    }

    /// A known account other than the sender's.
    fn other_account(&self, sender: usize, rng: &mut StdRng) -> AccountId {
        loop {
            let candidate = self.known_accounts[rng.random_range(0..self.known_accounts.len())];
            if candidate != self.senders[sender].id {
                return candidate;
            }
        }
    }

    /// One round of the client: learn outcomes, re-send stale transactions, send new ones.
    pub async fn step(&mut self, cluster: &Cluster, now: Duration, rng: &mut StdRng) {
        let up: Vec<usize> = (0..cluster.size()).filter(|index| cluster.is_up(*index)).collect();
        if up.is_empty() {
            return;
        }
        for sender in 0..self.senders.len() {
            let node = up[rng.random_range(0..up.len())];
            let view = cluster.view(node).expect("listed as up");
            if let Some(pending) = self.pending.get_mut(&sender) {
                let hash = pending.transaction.hash();
                let found = view.indexes.transaction(&hash).expect("the indexes read (a real directory)");
                if let Some((_, location, _)) = found {
                    self.log.submissions[pending.entry].outcome =
                        Outcome::Final { height: location.height, index: location.index };
                    let follow_up = pending.follow_up.take();
                    self.pending.remove(&sender);
                    match follow_up {
                        Some(FollowUp::Quote(id)) => self.to_quote.push(id),
                        Some(FollowUp::Accept(id)) => self.to_accept.push(id),
                        Some(FollowUp::Accepted) => self.remittances_accepted += 1,
                        Some(FollowUp::Trade { milestone, rest }) => self.continue_trade(milestone, rest, now),
                        None => {}
                    }
                } else if now.saturating_sub(pending.last_sent) >= RESEND_AFTER {
                    pending.last_sent = now;
                    self.resubmissions += 1;
                    // Refusals (duplicate, nonce already used, node starting) are expected here.
                    let _ = view.mempool.submit(pending.transaction.clone()).await;
                }
                continue;
            }
            if self.budget == 0 {
                continue;
            }
            self.budget -= 1;
            let (transaction, follow_up) = self.next_transaction(sender, now, rng);
            self.log.submissions.push(Submission {
                hash: transaction.hash(),
                sender: transaction.body.sender,
                nonce: transaction.body.nonce,
                outcome: Outcome::Unknown,
            });
            let entry = self.log.submissions.len() - 1;
            // A refusal leaves it pending: it is sent again later, possibly to another node.
            let _ = view.mempool.submit(transaction.clone()).await;
            self.pending.insert(sender, Pending { transaction, follow_up, entry, last_sent: now });
        }
    }
}
