//! The client: signs transfers, account creations and asset operations from funded accounts,
//! submits each to a random running validator, re-submits what is not final after a while (to
//! another node), and records which transactions a node acknowledged as final, at which height
//! and index.
//!
//! Assets: the dev account (an issuer) defines [`ASSET`], attests reserves and mints to every
//! sender first; then, among the native transfers, senders transfer the asset to known accounts
//! and the dev account mints more and burns some of its own, so conservation per asset is
//! checked under faults too.

use crate::{
    checker::{ClientLog, Outcome, Submission},
    cluster::Cluster,
};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use formica_types::{
    AccountId, Amount, AssetOp, ChainId, Genesis, GenesisAccount, GenesisRole, GenesisValidator, Hash, Height, Nonce,
    Payload, Role, Symbol, Transaction, TransactionBody, public_key_to_hex,
};
use rand::{RngExt as _, rngs::StdRng};
use std::{collections::BTreeMap, time::Duration};

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

/// The issued asset's symbol.
pub fn asset() -> Symbol {
    Symbol::new(ASSET).expect("a valid symbol")
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
}

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
        }
    }

    /// Whether every transaction was submitted and learned final.
    pub fn done(&self) -> bool {
        self.budget == 0 && self.pending.is_empty()
    }

    /// The dev account's first transactions: define the asset, attest reserves, mint to every
    /// sender.
    fn issuance(&self, nonce: u64) -> Option<Payload> {
        let symbol = asset();
        let op = match nonce {
            0 => AssetOp::Define { symbol, decimals: 2, cap: None, allow_list: false },
            1 => AssetOp::Attest { symbol, reserves: RESERVES, reference: Hash::from([7; 32]) },
            n => {
                let to = self.senders.get(usize::try_from(n - 2).ok()?)?.id;
                AssetOp::Mint { symbol, to, amount: FIRST_MINT }
            }
        };
        Some(Payload::Asset(op))
    }

    fn next_transaction(&mut self, sender: usize, rng: &mut StdRng) -> Transaction {
        let nonce = self.senders[sender].next_nonce;
        let issuance = if sender == 0 { self.issuance(nonce) } else { None };
        let payload = if let Some(payload) = issuance {
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
        body.sign(&[&account.key])
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
                    self.pending.remove(&sender);
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
            let transaction = self.next_transaction(sender, rng);
            self.log.submissions.push(Submission {
                hash: transaction.hash(),
                sender: transaction.body.sender,
                nonce: transaction.body.nonce,
                outcome: Outcome::Unknown,
            });
            let entry = self.log.submissions.len() - 1;
            // A refusal leaves it pending: it is sent again later, possibly to another node.
            let _ = view.mempool.submit(transaction.clone()).await;
            self.pending.insert(sender, Pending { transaction, entry, last_sent: now });
        }
    }
}
