//! Transition tests: multi-key authorisation across schemes, key management that never locks an
//! account, recovery with and without cancellation, freezing, and conservation under random
//! sequences. A small in-memory store stands in for QMDB and is read exactly the way
//! [`crate::block`] reads the database (two rounds, known-absent records), so a wrong read
//! invariant panics here.

use crate::block::{Admission, ExecutionError, TransactionRun, end_block, execute_transactions};
use crate::transition::{ChainParameters, Rejection, StateOverlay, Unread, apply_genesis, first_reads, second_reads};
use formica_crypto::{AccountSigner, AuthorisationError, sign_transaction};
use formica_state::{StateKey, StateValue};
use formica_types::{
    ACCOUNT_KEYS_MAX, Account, AccountId, AccountKey, AccountStatus, Amount, ApprovalRule, ChainId, ConsensusTimeouts,
    FailureCode, GasParameters, GovernanceAction, GovernanceState, Height, KeyScheme, Node, NodeAddress, NodeRole,
    NodeSet, Nonce, OrgId, OrgName, Organisation, Outcome, Payload, Receipt, Role, Transaction, TransactionBody,
};
use proptest::prelude::*;

#[path = "tests_assets.rs"]
mod assets;
#[path = "tests_charity.rs"]
mod charity;
#[path = "tests_contracts.rs"]
mod contracts;
#[path = "tests_finance.rs"]
mod finance;
#[path = "tests_invoices.rs"]
mod invoices;
#[path = "tests_notary.rs"]
mod notary;
#[path = "tests_remittance.rs"]
mod remittance;
#[path = "tests_traceability.rs"]
mod traceability;
use std::collections::BTreeMap;

/// The one genesis validator of every test world.
fn genesis_validator() -> Node {
    use commonware_cryptography::Signer as _;
    Node {
        key: commonware_cryptography::ed25519::PrivateKey::from_seed(900).public_key(),
        org: OrgId::NONE,
        address: NodeAddress("127.0.0.1:30000".parse().expect("address")),
        role: NodeRole::Validator,
    }
}

const GENESIS_BALANCE: u128 = 1_000_000_000_000;
const FEE: u128 = 1;
/// Contract gas costs this much each (plain payloads run no gas, so pay only `FEE`).
const GAS_PRICE: u128 = 1;
/// The timestamp of every test block, unless a test moves the clock (`World::timestamp_ms`).
const TIMESTAMP_MS: u64 = 1_700_000_000_000;

/// A store of state records and the chain above it.
struct World {
    parameters: ChainParameters,
    records: BTreeMap<StateKey, StateValue>,
    height: Height,
    /// Skip the comparison with execution over the whole state (for rules that, by design,
    /// depend on which records were read: discovery runs a contract call pays for).
    unchecked: bool,
    /// How many times the last block's run was resumed (its first call included).
    resumes: usize,
    /// The timestamp of the next block ([`TIMESTAMP_MS`] unless a test moves the clock).
    timestamp_ms: u64,
}

impl World {
    /// A world before its genesis block.
    fn empty(parameters: ChainParameters) -> Self {
        Self {
            parameters,
            records: BTreeMap::new(),
            height: Height(0),
            unchecked: false,
            resumes: 0,
            timestamp_ms: TIMESTAMP_MS,
        }
    }

    /// A chain whose genesis funds `funded` and makes `regulator` a regulator.
    fn new(funded: &[&AccountSigner], regulator: Option<&AccountSigner>, frozen_accounts_receive: bool) -> Self {
        Self::with_members(funded, regulator, frozen_accounts_receive, Vec::new())
    }

    /// As [`World::new`], with member organisations (name, admins, admin threshold).
    fn with_members(
        funded: &[&AccountSigner],
        regulator: Option<&AccountSigner>,
        frozen_accounts_receive: bool,
        organisations: Vec<(&str, Vec<AccountId>, u8)>,
    ) -> Self {
        let collector = AccountSigner::from_seed(KeyScheme::Ed25519, 999_999);
        let mut genesis_accounts: Vec<(AccountKey, Amount)> =
            funded.iter().map(|signer| (signer.public_key(), Amount(GENESIS_BALANCE))).collect();
        genesis_accounts.push((collector.public_key(), Amount::ZERO));
        let parameters = ChainParameters {
            chain_id: ChainId(7),
            fee_per_transaction: Amount(FEE),
            fee_collector: collector.account_id(),
            block_transactions_max: 1000,
            genesis_accounts,
            genesis_roles: regulator.map(|signer| (signer.account_id(), Role::Regulator)).into_iter().collect(),
            recovery_delay_min_blocks: 10,
            frozen_accounts_receive,
            genesis_organisations: organisations
                .into_iter()
                .map(|(name, admins, threshold)| (OrgName::new(name).expect("short name"), admins, threshold))
                .collect(),
            approval_rule: ApprovalRule::TWO_THIRDS,
            proposal_expiry_blocks_max: 1000,
            account_creation_members_only: false,
            genesis_nodes: NodeSet(vec![genesis_validator()]),
            epoch_blocks: 100,
            consensus_timeouts: Default::default(),
            api_members_only: false,
            gas: GasParameters { price: Amount(GAS_PRICE), tx_gas_max: 100_000_000, block_gas_max: 400_000_000 },
            block_bytes_max: 8 * 1024 * 1024,
        };
        let mut world = Self::empty(parameters);
        world.block(&[]).expect("the genesis block applies");
        world
    }

    fn read(&self, keys: impl IntoIterator<Item = StateKey>) -> Vec<(StateKey, Option<StateValue>)> {
        keys.into_iter().map(|key| (key, self.records.get(&key).cloned())).collect()
    }

    /// Runs one block the way `execute_block` does; a rejected transaction leaves the block out
    /// of the chain entirely and is returned as the error.
    fn block(&mut self, transactions: &[Transaction]) -> Result<Vec<Receipt>, Rejection> {
        let height = Height(self.height.get() + 1);
        // What execution over the whole state gives: the executor's reads must not change it.
        let mut full = StateOverlay::complete(self.records.clone());
        if height == Height(1) {
            apply_genesis(&self.parameters, &mut full);
        }
        let expected =
            execute_transactions(&self.parameters, height, self.timestamp_ms, &mut full, transactions, |_| {
                unreachable!("a complete overlay lacks nothing")
            })
            .map_err(|error| error.to_string());
        end_block(&self.parameters, height, &mut full).expect("a complete overlay lacks nothing");
        let expected_changes = full.into_changes();

        let first = first_reads(&self.parameters, height, transactions);
        let mut overlay = StateOverlay::new(self.read(first).into_iter().collect());
        let (to_read, absent) = second_reads(&overlay);
        for key in &absent {
            assert!(!self.records.contains_key(key), "{key:?} was assumed absent but exists");
        }
        overlay.extend(absent.into_iter().map(|key| (key, None)));
        overlay.extend(self.read(to_read));
        // The block executor's loop: run, and read what a run reports it lacked.
        if height == Height(1) {
            apply_genesis(&self.parameters, &mut overlay);
        }
        let mut run = TransactionRun::new(&self.parameters, height, self.timestamp_ms, transactions, Admission::Strict);
        let mut calls = 0;
        let mut position = 0;
        let executed = loop {
            calls += 1;
            assert!(calls < 100_000, "the executor makes progress");
            match run.resume(&mut overlay) {
                Ok(result) => break result,
                Err(Unread(keys)) => {
                    assert!(!keys.is_empty(), "a run names what it lacked");
                    // After the first call, no transaction runs again because a later one lacked
                    // records: the run never moves back.
                    assert!(run.position() >= position, "the run moved back");
                    position = run.position();
                    let missing = overlay.missing(keys);
                    overlay.extend(self.read(missing));
                }
            }
        };
        loop {
            let checkpoint = overlay.checkpoint();
            match end_block(&self.parameters, height, &mut overlay) {
                Ok(_) => break,
                Err(Unread(keys)) => {
                    overlay.rollback_to(checkpoint);
                    for key in &keys {
                        assert!(!overlay.contains(key), "{key:?} reported unread twice");
                    }
                    overlay.extend(self.read(keys));
                }
            }
        }
        self.resumes = calls;
        let receipts = executed.map(|()| run.finish().receipts);
        let outcome = receipts.as_ref().map(Clone::clone).map_err(ToString::to_string);
        if !self.unchecked {
            assert_eq!(outcome, expected, "the same outcome as execution over the whole state");
        }
        let receipts = match receipts {
            Ok(receipts) => receipts,
            Err(ExecutionError::Rejected { rejection, .. }) => return Err(rejection),
            Err(other) => panic!("{other}"),
        };
        let changes = overlay.into_changes();
        if !self.unchecked {
            assert_eq!(changes, expected_changes, "same changes as over the whole state");
        }
        for (key, value) in changes {
            match value {
                Some(value) => self.records.insert(key, value),
                None => self.records.remove(&key),
            };
        }
        self.height = height;
        self.check_invariants();
        Ok(receipts)
    }

    /// Runs one transaction in its own block and returns its receipt.
    fn run(&mut self, transaction: Transaction) -> Result<Receipt, Rejection> {
        self.block(&[transaction]).map(|mut receipts| receipts.remove(0))
    }

    /// Skips `blocks` empty blocks.
    fn advance(&mut self, blocks: u64) {
        for _ in 0..blocks {
            self.block(&[]).expect("an empty block applies");
        }
    }

    fn account(&self, id: &AccountId) -> Option<Account> {
        match self.records.get(&StateKey::Account(*id)) {
            Some(StateValue::Account(account)) => Some(account.clone()),
            _ => None,
        }
    }

    fn organisation(&self, org: OrgId) -> Option<Organisation> {
        match self.records.get(&StateKey::Organisation(org)) {
            Some(StateValue::Organisation(organisation)) => Some(*organisation),
            _ => None,
        }
    }

    fn governance(&self) -> GovernanceState {
        match self.records.get(&StateKey::Governance) {
            Some(StateValue::Governance(state)) => *state,
            other => panic!("governance holds {other:?}"),
        }
    }

    fn keys(&self, id: &AccountId) -> Vec<(AccountKey, u16)> {
        let account = self.account(id).expect("account exists");
        let mut keys = vec![(account.first_key.key, account.first_key.weight)];
        for slot in 1..account.key_count {
            match self.records.get(&StateKey::KeySlot(*id, slot)) {
                Some(StateValue::KeySlot(entry)) => keys.push((entry.key, entry.weight)),
                other => panic!("slot {slot} holds {other:?}"),
            }
        }
        keys
    }

    fn body(&self, sender: &AccountSigner, payload: Payload) -> TransactionBody {
        self.body_for(sender.account_id(), payload)
    }

    fn body_for(&self, sender: AccountId, payload: Payload) -> TransactionBody {
        TransactionBody {
            chain_id: self.parameters.chain_id,
            sender,
            nonce: self.account(&sender).map_or(Nonce::ZERO, |account| account.nonce),
            expiry_height: Height(self.height.get() + 100),
            fee_limit: Amount(FEE),
            payload,
        }
    }

    /// `payload` from `sender`'s own account, signed by `sender` alone.
    fn by(&self, sender: &AccountSigner, payload: Payload) -> Transaction {
        sign_transaction(self.body(sender, payload), &[sender])
    }

    fn total_balance(&self) -> u128 {
        self.records
            .values()
            .filter_map(|value| match value {
                StateValue::Account(account) => Some(account.balance.get()),
                StateValue::Contract(record) => Some(record.balance.get()),
                _ => None,
            })
            .sum()
    }

    /// The invariants the read rounds and authorisation rely on.
    fn check_invariants(&self) {
        for (key, value) in &self.records {
            match (key, value) {
                (StateKey::Account(id), StateValue::Account(account)) => {
                    let keys = self.keys(id);
                    assert_eq!(keys.len(), usize::from(account.key_count));
                    let total: u32 = keys.iter().map(|(_, weight)| u32::from(*weight)).sum();
                    assert!(account.threshold >= 1 && u32::from(account.threshold) <= total, "{id} can sign");
                    assert!(keys.iter().all(|(_, weight)| *weight >= 1));
                    let mut distinct: Vec<_> = keys.iter().map(|(key, _)| *key).collect();
                    distinct.sort();
                    distinct.dedup();
                    assert_eq!(distinct.len(), keys.len(), "{id} holds distinct keys");
                    assert_eq!(account.has_recovery, self.records.contains_key(&StateKey::Recovery(*id)));
                    assert_eq!(account.recovering, self.records.contains_key(&StateKey::PendingRecovery(*id)));
                    assert!(!account.recovering || account.has_recovery);
                }
                (StateKey::KeySlot(id, slot), StateValue::KeySlot(_)) => {
                    let account = self.account(id).expect("slots belong to accounts");
                    assert!(*slot >= 1 && *slot < account.key_count, "slot {slot} of {id} is in use");
                }
                (StateKey::Recovery(id), StateValue::Recovery(_))
                | (StateKey::PendingRecovery(id), StateValue::PendingRecovery(_)) => {
                    assert!(self.account(id).is_some());
                }
                (StateKey::Role(..), StateValue::Role(_)) => {}
                (StateKey::Governance, StateValue::Governance(state)) => {
                    let active = (1..state.next_org.0)
                        .filter(|org| self.organisation(OrgId(*org)).is_some_and(|found| found.active))
                        .count();
                    assert_eq!(active as u32, state.members, "members counts the active organisations");
                }
                (StateKey::Organisation(org), StateValue::Organisation(organisation)) => {
                    assert!(
                        organisation.admin_threshold >= 1 && organisation.admin_threshold <= organisation.admin_count
                    );
                    for slot in 0..8 {
                        let admin = self.records.get(&StateKey::OrgAdmin(*org, slot));
                        assert_eq!(admin.is_some(), slot < organisation.admin_count, "{org} slot {slot}");
                        if let Some(StateValue::OrgAdmin(account)) = admin {
                            assert_eq!(
                                self.records.get(&StateKey::AdminOf(*account)),
                                Some(&StateValue::AdminOf(*org)),
                                "admin-of points back"
                            );
                        }
                    }
                }
                (StateKey::OrgAdmin(..), StateValue::OrgAdmin(_))
                | (StateKey::AdminOf(_), StateValue::AdminOf(_))
                | (StateKey::Proposal(_), StateValue::Proposal(_))
                | (StateKey::ProposalAction(_), StateValue::ProposalAction(_))
                | (StateKey::OrgApprovals(..), StateValue::OrgApprovals { .. })
                | (StateKey::Approved(..), StateValue::Approved(_)) => {}
                (StateKey::Node(slot), StateValue::Node(node)) => {
                    assert!(*slot < self.governance().nodes, "node slots are dense");
                    let key: [u8; 32] = node.key.as_ref().try_into().expect("32 bytes");
                    assert_eq!(self.records.get(&StateKey::NodeSlot(key)), Some(&StateValue::NodeSlot(*slot)));
                }
                (StateKey::NodeSlot(key), StateValue::NodeSlot(slot)) => match self.records.get(&StateKey::Node(*slot))
                {
                    Some(StateValue::Node(node)) => assert_eq!(node.key.as_ref(), key.as_slice(), "slot points back"),
                    other => panic!("node slot {slot} holds {other:?}"),
                },
                (StateKey::Contract(id), StateValue::Contract(record)) => {
                    assert!(self.records.contains_key(&StateKey::CodeLength(record.code_hash)), "{id}'s code exists");
                    assert!(self.records.contains_key(&StateKey::ContractAdmin(*id)), "{id} has an admin record");
                }
                (StateKey::CodeLength(hash), StateValue::CodeLength(length)) => {
                    let chunks = (*length as usize).div_ceil(formica_state::CHUNK_BYTES) as u32;
                    for index in 0..chunks + 1 {
                        let present = self.records.contains_key(&StateKey::Code(*hash, index));
                        assert_eq!(present, index < chunks, "code chunk {index} of {length} bytes");
                    }
                }
                (StateKey::ContractStorage(id, hash, index), StateValue::Chunk(_)) => {
                    let Some(StateValue::Chunk(first)) = self.records.get(&StateKey::ContractStorage(*id, *hash, 0))
                    else {
                        panic!("chunk {index} of a storage value without its first chunk")
                    };
                    let length = usize::from(u16::from_be_bytes([first[0], first[1]]));
                    assert!(usize::from(*index) < (length + 2).div_ceil(formica_state::CHUNK_BYTES), "stale chunk");
                }
                (StateKey::ContractUpgrade(id), StateValue::ApprovedCode(_)) => {
                    assert_eq!(
                        self.records.get(&StateKey::ContractAdmin(*id)),
                        Some(&StateValue::ContractAdmin(formica_types::ContractAdmin::Governance)),
                        "only contracts governance administers have approved upgrades"
                    );
                }
                (StateKey::ContractKeyNode(..), StateValue::KeyNode { .. }) => {}
                (StateKey::ContractAdmin(_), StateValue::ContractAdmin(_))
                | (StateKey::Code(..), StateValue::Chunk(_))
                | (StateKey::GasParameters, StateValue::GasParameters(_))
                | (StateKey::ModuleRecord(..), StateValue::Chunk(_)) => {}
                (key, value) => panic!("{key:?} holds {value:?}"),
            }
        }
        assert_eq!(self.total_balance(), self.parameters.genesis_accounts.iter().map(|(_, b)| b.get()).sum::<u128>());
        self.check_key_indexes();
    }

    /// Every contract's key index lists exactly its stored keys, and no index node lies outside
    /// a contract's trie or is empty.
    fn check_key_indexes(&self) {
        let contracts: Vec<AccountId> = self
            .records
            .keys()
            .filter_map(|key| match key {
                StateKey::Contract(id) => Some(*id),
                _ => None,
            })
            .collect();
        let mut nodes_reached = 0;
        for contract in contracts {
            let mut indexed = 0;
            let mut paths = vec![Vec::new()];
            while let Some(path) = paths.pop() {
                let hash = formica_crypto::sha256(&path);
                let Some(StateValue::KeyNode { children, terminal }) =
                    self.records.get(&StateKey::ContractKeyNode(contract, hash))
                else {
                    assert!(path.is_empty(), "node {path:?} of {contract} under a set bit exists");
                    continue;
                };
                nodes_reached += 1;
                assert!(*terminal || *children != [0; 32], "an empty node is deleted");
                if *terminal {
                    indexed += 1;
                    let first = StateKey::ContractStorage(contract, hash, 0);
                    assert!(self.records.contains_key(&first), "indexed key {path:?} of {contract} is stored");
                }
                for byte in 0..=255u8 {
                    if children[usize::from(byte / 8)] & (1 << (byte % 8)) != 0 {
                        let mut child = path.clone();
                        child.push(byte);
                        paths.push(child);
                    }
                }
            }
            let stored = self
                .records
                .keys()
                .filter(|key| matches!(key, StateKey::ContractStorage(id, _, 0) if *id == contract))
                .count();
            assert_eq!(indexed, stored, "{contract}'s index lists every stored key");
        }
        let nodes = self.records.keys().filter(|key| matches!(key, StateKey::ContractKeyNode(..))).count();
        assert_eq!(nodes, nodes_reached, "every index node belongs to a contract's trie");
    }
}

fn signer(scheme: KeyScheme, seed: u64) -> AccountSigner {
    AccountSigner::from_seed(scheme, seed)
}

fn failure(receipt: &Receipt) -> Option<FailureCode> {
    match &receipt.outcome {
        Outcome::Success => None,
        Outcome::Failure { code, .. } => Some(*code),
    }
}

impl World {
    /// Runs `transaction` and requires it to succeed.
    fn ok(&mut self, transaction: Transaction) {
        let receipt = self.run(transaction).expect("admissible");
        assert_eq!(receipt.outcome, Outcome::Success);
    }

    /// Runs `transaction` and requires it to be included and fail with `code`.
    fn fails(&mut self, transaction: Transaction, code: FailureCode) {
        let receipt = self.run(transaction).expect("admissible");
        assert_eq!(failure(&receipt), Some(code), "{:?}", receipt.outcome);
    }
}

#[test]
fn mixed_scheme_multisig_needs_the_threshold_weight() {
    let owner = signer(KeyScheme::Ed25519, 1);
    let sm = signer(KeyScheme::Sm2, 2);
    let k1 = signer(KeyScheme::Secp256k1, 3);
    let payee = signer(KeyScheme::Secp256k1, 4);
    let mut world = World::new(&[&owner, &payee], None, true);
    let id = owner.account_id();

    world.ok(world.by(&owner, Payload::AddKey { key: sm.public_key(), weight: 2 }));
    world.ok(world.by(&owner, Payload::AddKey { key: k1.public_key(), weight: 2 }));
    world.ok(world.by(&owner, Payload::SetThreshold { threshold: 3 }));
    assert_eq!(world.keys(&id).len(), 3);

    let pay = Payload::Transfer { to: payee.account_id(), amount: Amount(50) };
    let alone = sign_transaction(world.body(&owner, pay.clone()), &[&owner]);
    assert_eq!(
        world.run(alone),
        Err(Rejection::Unauthorised(AuthorisationError::InsufficientWeight { have: 1, need: 3 }))
    );
    let sm_alone = sign_transaction(world.body_for(id, pay.clone()), &[&sm]);
    assert!(matches!(world.run(sm_alone), Err(Rejection::Unauthorised(_))));

    let before = world.account(&payee.account_id()).expect("payee").balance;
    world.ok(sign_transaction(world.body_for(id, pay.clone()), &[&sm, &k1]));
    world.ok(sign_transaction(world.body_for(id, pay), &[&owner, &k1]));
    assert_eq!(world.account(&payee.account_id()).expect("payee").balance, Amount(before.get() + 100));

    // An account created with an SM2 key signs for itself.
    let created = signer(KeyScheme::Sm2, 5);
    let create = Payload::CreateAccount { public_key: created.public_key(), initial_balance: Amount(10) };
    world.ok(sign_transaction(world.body_for(id, create), &[&sm, &k1]));
    world.ok(world.by(&created, Payload::Transfer { to: id, amount: Amount(5) }));
}

#[test]
fn key_management_never_leaves_an_account_that_cannot_sign() {
    let owner = signer(KeyScheme::Ed25519, 1);
    let second = signer(KeyScheme::Secp256k1, 2);
    let mut world = World::new(&[&owner], None, true);
    let id = owner.account_id();

    world.fails(world.by(&owner, Payload::RemoveKey { key: owner.public_key() }), FailureCode::WouldLockAccount);
    world.fails(world.by(&owner, Payload::SetThreshold { threshold: 2 }), FailureCode::InvalidThreshold);
    world.fails(world.by(&owner, Payload::SetThreshold { threshold: 0 }), FailureCode::InvalidThreshold);
    world.fails(world.by(&owner, Payload::AddKey { key: owner.public_key(), weight: 1 }), FailureCode::KeyExists);
    world.fails(
        world.by(&owner, Payload::AddKey { key: second.public_key(), weight: 0 }),
        FailureCode::InvalidThreshold,
    );
    world.fails(world.by(&owner, Payload::RemoveKey { key: second.public_key() }), FailureCode::KeyMissing);

    world.ok(world.by(&owner, Payload::AddKey { key: second.public_key(), weight: 1 }));
    world.ok(world.by(&owner, Payload::SetThreshold { threshold: 2 }));
    let both = |world: &World, payload| sign_transaction(world.body_for(id, payload), &[&owner, &second]);
    world.fails(both(&world, Payload::RemoveKey { key: second.public_key() }), FailureCode::WouldLockAccount);
    world.fails(
        both(&world, Payload::SetKeyWeight { key: owner.public_key(), weight: 0 }),
        FailureCode::InvalidThreshold,
    );
    world.ok(both(&world, Payload::SetKeyWeight { key: second.public_key(), weight: 2 }));
    // Now the secp256k1 key alone reaches the threshold, and the first key can go.
    world.ok(sign_transaction(world.body_for(id, Payload::RemoveKey { key: owner.public_key() }), &[&second]));
    assert_eq!(world.keys(&id), vec![(second.public_key(), 2)]);
    let by_owner = sign_transaction(world.body_for(id, Payload::SetThreshold { threshold: 1 }), &[&owner]);
    assert_eq!(world.run(by_owner), Err(Rejection::Unauthorised(AuthorisationError::UnknownKey)));
    world.ok(sign_transaction(world.body_for(id, Payload::SetThreshold { threshold: 1 }), &[&second]));
}

#[test]
fn the_first_block_reads_no_genesis_account_and_runs_their_transactions() {
    let alice = signer(KeyScheme::Ed25519, 1);
    let bob = signer(KeyScheme::Ed25519, 2);
    let idle = signer(KeyScheme::Secp256k1, 3);
    let helper = signer(KeyScheme::Ed25519, 4);
    let parameters = World::new(&[&alice, &bob, &idle], None, true).parameters;
    let reads = first_reads(&parameters, Height(1), []);
    for (key, _) in &parameters.genesis_accounts {
        let id = key.account_id();
        assert_eq!(reads.contains(&StateKey::Account(id)), id == parameters.fee_collector, "{id} read at height 1");
    }
    // Block 1 carries transactions of genesis accounts, to genesis accounts, and a key change:
    // `World::block` checks that it runs as over the whole (empty) state plus the genesis.
    let mut world = World::empty(parameters);
    let block = [
        world.by(&alice, Payload::Transfer { to: bob.account_id(), amount: Amount(50) }),
        world.by(&bob, Payload::AddKey { key: helper.public_key(), weight: 1 }),
        {
            let mut body = world.body(&bob, Payload::Transfer { to: idle.account_id(), amount: Amount(7) });
            body.nonce = Nonce(1);
            sign_transaction(body, &[&bob])
        },
    ];
    let receipts = world.block(&block).expect("block 1 applies");
    assert!(receipts.iter().all(|receipt| failure(receipt).is_none()), "{receipts:?}");
    assert_eq!(world.account(&idle.account_id()).map(|account| account.balance), Some(Amount(GENESIS_BALANCE + 7)));
    assert_eq!(world.keys(&bob.account_id()).len(), 2);
}

#[test]
fn key_sets_fill_up_and_slots_are_reused() {
    let owner = signer(KeyScheme::Ed25519, 1);
    let mut world = World::new(&[&owner], None, true);
    let id = owner.account_id();
    let extra: Vec<AccountSigner> =
        (0..u64::from(ACCOUNT_KEYS_MAX)).map(|n| signer(KeyScheme::ALL[(n % 3) as usize], 100 + n)).collect();
    for key in &extra[..usize::from(ACCOUNT_KEYS_MAX) - 1] {
        world.ok(world.by(&owner, Payload::AddKey { key: key.public_key(), weight: 1 }));
    }
    assert_eq!(world.keys(&id).len(), usize::from(ACCOUNT_KEYS_MAX));
    let last = extra.last().expect("keys");
    world.fails(world.by(&owner, Payload::AddKey { key: last.public_key(), weight: 1 }), FailureCode::KeySetFull);

    // Removing keys from the middle and the front keeps every remaining key usable.
    for removed in [5usize, 0, 9] {
        world.ok(world.by(&owner, Payload::RemoveKey { key: extra[removed].public_key() }));
    }
    let keys = world.keys(&id);
    assert_eq!(keys.len(), usize::from(ACCOUNT_KEYS_MAX) - 3);
    for (index, key) in extra[..usize::from(ACCOUNT_KEYS_MAX) - 1].iter().enumerate() {
        let held = keys.iter().any(|(k, _)| *k == key.public_key());
        assert_eq!(held, ![5, 0, 9].contains(&index), "key {index}");
        if held {
            world.ok(sign_transaction(world.body_for(id, Payload::SetThreshold { threshold: 1 }), &[key]));
        }
    }
    world.ok(world.by(&owner, Payload::RemoveKey { key: owner.public_key() }));
    assert!(world.keys(&id).iter().all(|(key, _)| *key != owner.public_key()));
}

#[test]
fn recovery_waits_its_delay_and_the_current_keys_can_cancel_it() {
    let owner = signer(KeyScheme::Ed25519, 1);
    let rescue = signer(KeyScheme::Sm2, 2);
    let replacement = signer(KeyScheme::Secp256k1, 3);
    let mut world = World::new(&[&owner], None, true);
    let id = owner.account_id();
    let by_rescue = |world: &World, payload| sign_transaction(world.body_for(id, payload), &[&rescue]);

    // Nothing to recover with yet.
    let start = Payload::StartRecovery { new_key: replacement.public_key() };
    assert_eq!(
        world.run(by_rescue(&world, start.clone())),
        Err(Rejection::Unauthorised(AuthorisationError::RecoveryNeedsRecoveryKey))
    );
    world.fails(
        world.by(&owner, Payload::SetRecovery { key: rescue.public_key(), delay_blocks: 9 }),
        FailureCode::RecoveryDelayTooShort,
    );
    world.fails(
        world.by(&owner, Payload::SetRecovery { key: owner.public_key(), delay_blocks: 20 }),
        FailureCode::KeyExists,
    );
    world.ok(world.by(&owner, Payload::SetRecovery { key: rescue.public_key(), delay_blocks: 20 }));
    assert_eq!(world.account(&id).expect("account").status(), AccountStatus::Normal);

    // The recovery key may only recover, and only alone.
    let steal = Payload::Transfer { to: replacement.account_id(), amount: Amount(1) };
    assert_eq!(
        world.run(by_rescue(&world, steal)),
        Err(Rejection::Unauthorised(AuthorisationError::RecoveryKeyNotAllowed))
    );

    // Started, then cancelled by the owner.
    world.ok(by_rescue(&world, start.clone()));
    assert_eq!(world.account(&id).expect("account").status(), AccountStatus::Recovering);
    world.fails(by_rescue(&world, start.clone()), FailureCode::RecoveryPending);
    world.fails(by_rescue(&world, Payload::CompleteRecovery), FailureCode::RecoveryNotDue);
    world.ok(world.by(&owner, Payload::CancelRecovery));
    assert_eq!(world.account(&id).expect("account").status(), AccountStatus::Normal);
    world.advance(25);
    world.fails(by_rescue(&world, Payload::CompleteRecovery), FailureCode::NoRecoveryPending);

    // Started again and left to run out: the replacement becomes the only key.
    world.ok(by_rescue(&world, start));
    let started = world.height.get();
    world.advance(18);
    world.fails(by_rescue(&world, Payload::CompleteRecovery), FailureCode::RecoveryNotDue);
    assert_eq!(world.height.get(), started + 19);
    world.ok(by_rescue(&world, Payload::CompleteRecovery));
    assert_eq!(world.keys(&id), vec![(replacement.public_key(), 1)]);
    assert_eq!(world.account(&id).expect("account").status(), AccountStatus::Normal);
    let old = world.by(&owner, Payload::SetThreshold { threshold: 1 });
    assert_eq!(world.run(old), Err(Rejection::Unauthorised(AuthorisationError::UnknownKey)));
    world.ok(sign_transaction(world.body_for(id, Payload::Transfer { to: id, amount: Amount(1) }), &[&replacement]));
    // The recovery key stays configured until the new owner removes it.
    world.ok(sign_transaction(world.body_for(id, Payload::RemoveRecovery), &[&replacement]));
    assert!(!world.account(&id).expect("account").has_recovery);
}

#[test]
fn only_regulators_freeze_and_frozen_accounts_cannot_send() {
    let regulator = signer(KeyScheme::Sm2, 1);
    let user = signer(KeyScheme::Ed25519, 2);
    let other = signer(KeyScheme::Secp256k1, 3);
    for receive in [true, false] {
        let mut world = World::new(&[&regulator, &user, &other], Some(&regulator), receive);
        let target = user.account_id();
        world.fails(world.by(&other, Payload::Freeze { account: target }), FailureCode::NotPermitted);
        world.fails(world.by(&regulator, Payload::Unfreeze { account: target }), FailureCode::FreezeUnchanged);
        world.fails(world.by(&regulator, Payload::Freeze { account: AccountId([9; 32]) }), FailureCode::AccountMissing);
        world.ok(world.by(&regulator, Payload::Freeze { account: target }));
        assert_eq!(world.account(&target).expect("account").status(), AccountStatus::Frozen);
        world.fails(world.by(&regulator, Payload::Freeze { account: target }), FailureCode::FreezeUnchanged);

        let nonce = world.account(&target).expect("account").nonce;
        let send = world.by(&user, Payload::Transfer { to: other.account_id(), amount: Amount(1) });
        assert_eq!(world.run(send), Err(Rejection::SenderFrozen(target)));
        assert_eq!(world.account(&target).expect("account").nonce, nonce, "a refused transaction changes nothing");

        let incoming = world.by(&other, Payload::Transfer { to: target, amount: Amount(7) });
        let receipt = world.run(incoming).expect("admissible");
        if receive {
            assert_eq!(receipt.outcome, Outcome::Success);
        } else {
            assert_eq!(failure(&receipt), Some(FailureCode::RecipientFrozen));
        }

        world.ok(world.by(&regulator, Payload::Unfreeze { account: target }));
        world.ok(world.by(&user, Payload::Transfer { to: other.account_id(), amount: Amount(1) }));
    }
}

#[test]
fn invalid_keys_are_refused_with_a_receipt() {
    let owner = signer(KeyScheme::Ed25519, 1);
    let mut world = World::new(&[&owner], None, true);
    // x = 2^256 - 1 is not a field element of the curve.
    let mut bytes = [0xffu8; 33];
    bytes[0] = 2;
    let off_curve = AccountKey::new(KeyScheme::Secp256k1, &bytes).expect("shape");
    world.fails(world.by(&owner, Payload::AddKey { key: off_curve, weight: 1 }), FailureCode::InvalidKey);
    world.fails(
        world.by(&owner, Payload::CreateAccount { public_key: off_curve, initial_balance: Amount(1) }),
        FailureCode::InvalidKey,
    );
    world.fails(world.by(&owner, Payload::SetRecovery { key: off_curve, delay_blocks: 100 }), FailureCode::InvalidKey);
}

/// Four members: bank-a, wallet-b and maker-c with one admin each, logistics-d with two admins
/// of which both must approve.
fn consortium() -> (World, Vec<AccountSigner>) {
    let admins: Vec<AccountSigner> = (0..6u64).map(|n| signer(KeyScheme::ALL[(n % 3) as usize], 300 + n)).collect();
    let references: Vec<&AccountSigner> = admins.iter().collect();
    let ids: Vec<AccountId> = admins.iter().map(AccountSigner::account_id).collect();
    let world = World::with_members(
        &references,
        None,
        true,
        vec![
            ("bank-a", vec![ids[0]], 1),
            ("wallet-b", vec![ids[1]], 1),
            ("maker-c", vec![ids[2]], 1),
            ("logistics-d", vec![ids[3], ids[4]], 2),
        ],
    );
    (world, admins)
}

fn propose(action: GovernanceAction) -> Payload {
    Payload::Propose { action: Box::new(action), expiry_blocks: 50 }
}

#[test]
fn proposals_pass_with_more_than_two_thirds_of_members_and_apply_once() {
    let (mut world, admins) = consortium();
    assert_eq!(world.governance().members, 4);
    let target = AccountId([7; 32]);
    let grant = GovernanceAction::GrantRole { account: target, role: Role::Issuer };
    world.ok(world.by(&admins[0], propose(grant)));
    assert_eq!(world.governance().next_proposal, 1);
    world.ok(world.by(&admins[1], Payload::Approve { proposal: 0 }));
    // One of logistics-d's two admins: the organisation has not approved yet (2 of 4 members).
    world.ok(world.by(&admins[3], Payload::Approve { proposal: 0 }));
    assert!(!world.records.contains_key(&StateKey::Role(target, Role::Issuer)));
    world.fails(world.by(&admins[3], Payload::Approve { proposal: 0 }), FailureCode::AlreadyApproved);
    // Its second admin: logistics-d approves, 3 of 4 > 2/3, the role is granted.
    world.ok(world.by(&admins[4], Payload::Approve { proposal: 0 }));
    assert!(world.records.contains_key(&StateKey::Role(target, Role::Issuer)));
    world.fails(world.by(&admins[2], Payload::Approve { proposal: 0 }), FailureCode::ProposalExecuted);
    // Bad approvals: a non-member, a missing proposal, an expired one.
    world.fails(world.by(&admins[5], Payload::Approve { proposal: 0 }), FailureCode::NotMember);
    world.fails(world.by(&admins[2], Payload::Approve { proposal: 9 }), FailureCode::ProposalMissing);
    let revoke = GovernanceAction::RevokeRole { account: target, role: Role::Issuer };
    world.ok(world.by(&admins[0], Payload::Propose { action: Box::new(revoke.clone()), expiry_blocks: 3 }));
    world.advance(4);
    world.fails(world.by(&admins[1], Payload::Approve { proposal: 1 }), FailureCode::ProposalExpired);
    world.fails(
        world.by(&admins[0], Payload::Propose { action: Box::new(revoke.clone()), expiry_blocks: 0 }),
        FailureCode::InvalidProposal,
    );
    world.fails(
        world.by(&admins[0], Payload::Propose { action: Box::new(revoke.clone()), expiry_blocks: 1001 }),
        FailureCode::InvalidProposal,
    );
    // A proposal that could not apply now is refused before anyone votes, and stores nothing.
    let twice = GovernanceAction::GrantRole { account: target, role: Role::Issuer };
    world.fails(world.by(&admins[0], propose(twice)), FailureCode::RoleUnchanged);
    assert_eq!(world.governance().next_proposal, 2);
    world.fails(world.by(&admins[5], propose(revoke.clone())), FailureCode::NotMember);
}

#[test]
fn a_proposal_and_its_approvals_can_share_a_block() {
    let (mut world, admins) = consortium();
    let newcomer = signer(KeyScheme::Sm2, 900);
    let action = GovernanceAction::AddOrganisation {
        name: OrgName::new("charity-e").expect("short"),
        admin: newcomer.account_id(),
    };
    let block = vec![
        world.by(&admins[0], propose(action)),
        world.by(&admins[1], Payload::Approve { proposal: 0 }),
        world.by(&admins[2], Payload::Approve { proposal: 0 }),
    ];
    let receipts = world.block(&block).expect("admissible");
    assert!(receipts.iter().all(|receipt| receipt.outcome == Outcome::Success), "{receipts:?}");
    let state = world.governance();
    assert_eq!((state.members, state.next_org), (5, OrgId(6)));
    let added = world.organisation(OrgId(5)).expect("admitted");
    assert_eq!((added.name.as_str(), added.admin_count, added.active), ("charity-e", 1, true));
    assert_eq!(world.records.get(&StateKey::AdminOf(newcomer.account_id())), Some(&StateValue::AdminOf(OrgId(5))));
}

#[test]
fn members_are_removed_by_vote_but_never_the_last() {
    let (mut world, admins) = consortium();
    let remove = |org| propose(GovernanceAction::RemoveOrganisation { org: OrgId(org) });
    world.ok(world.by(&admins[0], remove(3)));
    world.ok(world.by(&admins[1], Payload::Approve { proposal: 0 }));
    world.ok(world.by(&admins[2], Payload::Approve { proposal: 0 }));
    assert_eq!(world.governance().members, 3);
    assert!(!world.organisation(OrgId(3)).expect("kept").active);
    // maker-c's admin can no longer act.
    world.fails(world.by(&admins[2], remove(1)), FailureCode::NotMember);
    world.fails(world.by(&admins[0], remove(3)), FailureCode::OrgMissing);

    let (mut alone, solo) = {
        let admin = signer(KeyScheme::Ed25519, 1);
        let world = World::with_members(&[&admin], None, true, vec![("only", vec![admin.account_id()], 1)]);
        (world, admin)
    };
    alone.fails(alone.by(&solo, remove(1)), FailureCode::WouldLoseQuorum);
    assert_eq!(alone.governance().next_proposal, 0, "nothing partial is stored");
}

#[test]
fn admins_are_managed_by_vote_and_an_organisation_keeps_enough_to_approve() {
    let (mut world, admins) = consortium();
    let extra = signer(KeyScheme::Secp256k1, 777);
    world
        .ok(world
            .by(&admins[5], Payload::CreateAccount { public_key: extra.public_key(), initial_balance: Amount(100) }));
    let pass = |world: &mut World, action: GovernanceAction, id: u64| {
        world.ok(world.by(&admins[0], propose(action)));
        world.ok(world.by(&admins[1], Payload::Approve { proposal: id }));
        world.ok(world.by(&admins[2], Payload::Approve { proposal: id }));
    };
    let d = OrgId(4);
    // logistics-d needs both its admins: removing one is refused when proposed.
    world.fails(
        world.by(&admins[0], propose(GovernanceAction::RemoveAdmin { org: d, account: admins[3].account_id() })),
        FailureCode::WouldLoseQuorum,
    );
    world.fails(
        world.by(&admins[0], propose(GovernanceAction::AddAdmin { org: d, account: admins[1].account_id() })),
        FailureCode::AdminExists,
    );
    pass(&mut world, GovernanceAction::AddAdmin { org: d, account: extra.account_id() }, 0);
    assert_eq!(world.organisation(d).expect("member").admin_count, 3);
    pass(&mut world, GovernanceAction::RemoveAdmin { org: d, account: admins[3].account_id() }, 1);
    assert!(!world.records.contains_key(&StateKey::AdminOf(admins[3].account_id())));
    pass(&mut world, GovernanceAction::SetAdminThreshold { org: d, threshold: 1 }, 2);
    assert_eq!(world.organisation(d).expect("member").admin_threshold, 1);
    world.fails(
        world.by(&admins[0], propose(GovernanceAction::SetAdminThreshold { org: d, threshold: 3 })),
        FailureCode::InvalidProposal,
    );
    // The removed admin cannot vote; the added one votes for logistics-d alone now.
    world.ok(world.by(&admins[0], propose(GovernanceAction::SetAccountCreation { members_only: true })));
    world.fails(world.by(&admins[3], Payload::Approve { proposal: 3 }), FailureCode::NotMember);
    world.ok(world.by(&extra, Payload::Approve { proposal: 3 }));
    world.ok(world.by(&admins[1], Payload::Approve { proposal: 3 }));
    assert!(world.governance().account_creation_members_only);
}

#[test]
fn account_creation_can_be_limited_to_members() {
    let (mut world, admins) = consortium();
    let create = |seed| Payload::CreateAccount {
        public_key: signer(KeyScheme::Ed25519, seed).public_key(),
        initial_balance: Amount(1),
    };
    world.ok(world.by(&admins[5], create(1)));
    world.ok(world.by(&admins[0], propose(GovernanceAction::SetAccountCreation { members_only: true })));
    world.ok(world.by(&admins[1], Payload::Approve { proposal: 0 }));
    world.ok(world.by(&admins[2], Payload::Approve { proposal: 0 }));
    world.fails(world.by(&admins[5], create(2)), FailureCode::NotPermitted);
    world.ok(world.by(&admins[0], create(3)));
}

/// One step of a random history: who acts and what they do.
#[derive(Clone, Debug)]
enum Step {
    Transfer { from: usize, to: usize, amount: u64 },
    AddKey { account: usize, key: usize, weight: u16 },
    RemoveKey { account: usize, key: usize },
    Reweight { account: usize, key: usize, weight: u16 },
    Threshold { account: usize, threshold: u16 },
    SetRecovery { account: usize, key: usize },
    StartRecovery { account: usize, key: usize },
    Cancel { account: usize },
    Complete { account: usize },
    Freeze { account: usize, freeze: bool },
    Wait { blocks: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..4usize, 0..4usize, 0..500_000u64).prop_map(|(from, to, amount)| Step::Transfer { from, to, amount }),
        2 => (0..4usize, 0..8usize, 0..4u16).prop_map(|(account, key, weight)| Step::AddKey { account, key, weight }),
        1 => (0..4usize, 0..8usize).prop_map(|(account, key)| Step::RemoveKey { account, key }),
        1 => (0..4usize, 0..8usize, 0..4u16).prop_map(|(account, key, weight)| Step::Reweight { account, key, weight }),
        1 => (0..4usize, 0..6u16).prop_map(|(account, threshold)| Step::Threshold { account, threshold }),
        1 => (0..4usize, 0..8usize).prop_map(|(account, key)| Step::SetRecovery { account, key }),
        1 => (0..4usize, 0..8usize).prop_map(|(account, key)| Step::StartRecovery { account, key }),
        1 => (0..4usize).prop_map(|account| Step::Cancel { account }),
        1 => (0..4usize).prop_map(|account| Step::Complete { account }),
        1 => (0..4usize, any::<bool>()).prop_map(|(account, freeze)| Step::Freeze { account, freeze }),
        1 => (1..15u8).prop_map(|blocks| Step::Wait { blocks }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the history, value is conserved, every account can still sign, and the read
    /// invariants hold (checked after every block by [`World::check_invariants`]). Transactions
    /// are signed by every key that could matter; those the rules refuse are left out of the block.
    #[test]
    fn random_histories_conserve_value_and_keep_accounts_usable(steps in prop::collection::vec(step(), 1..60)) {
        let owners: Vec<AccountSigner> = (0..4u64).map(|n| signer(KeyScheme::ALL[(n % 3) as usize], n)).collect();
        let pool: Vec<AccountSigner> = (0..8u64).map(|n| signer(KeyScheme::ALL[(n % 3) as usize], 50 + n)).collect();
        let regulator = &owners[3];
        let references: Vec<&AccountSigner> = owners.iter().collect();
        let mut world = World::new(&references, Some(regulator), false);
        let ids: Vec<AccountId> = owners.iter().map(AccountSigner::account_id).collect();
        let everyone: Vec<&AccountSigner> = owners.iter().chain(pool.iter()).collect();
        for step in steps {
            let (sender, payload, recovery) = match step {
                Step::Transfer { from, to, amount } => (from, Payload::Transfer { to: ids[to], amount: Amount(u128::from(amount)) }, false),
                Step::AddKey { account, key, weight } => (account, Payload::AddKey { key: pool[key].public_key(), weight }, false),
                Step::RemoveKey { account, key } => (account, Payload::RemoveKey { key: everyone[key % everyone.len()].public_key() }, false),
                Step::Reweight { account, key, weight } => (account, Payload::SetKeyWeight { key: pool[key].public_key(), weight }, false),
                Step::Threshold { account, threshold } => (account, Payload::SetThreshold { threshold }, false),
                Step::SetRecovery { account, key } => (account, Payload::SetRecovery { key: pool[key].public_key(), delay_blocks: 10 }, false),
                Step::StartRecovery { account, key } => (account, Payload::StartRecovery { new_key: pool[(key + 1) % 8].public_key() }, true),
                Step::Cancel { account } => (account, Payload::CancelRecovery, false),
                Step::Complete { account } => (account, Payload::CompleteRecovery, true),
                Step::Freeze { account, freeze } => {
                    let target = ids[account];
                    (3, if freeze { Payload::Freeze { account: target } } else { Payload::Unfreeze { account: target } }, false)
                }
                Step::Wait { blocks } => {
                    world.advance(u64::from(blocks));
                    continue;
                }
            };
            let body = world.body_for(ids[sender], payload);
            if recovery {
                // Try each pool key as the recovery key; at most one is configured.
                for key in &pool {
                    if world.block(&[sign_transaction(body.clone(), &[key])]).is_ok() {
                        break;
                    }
                }
                continue;
            }
            let held = world.keys(&ids[sender]);
            let signers: Vec<&AccountSigner> =
                everyone.iter().copied().filter(|s| held.iter().any(|(key, _)| *key == s.public_key())).collect();
            let transaction = sign_transaction(body, &signers);
            let _ = world.block(&[transaction]);
        }
        prop_assert!(world.height.get() >= 1);
    }
}

#[test]
fn the_fee_changes_by_vote_from_the_next_transaction_on() {
    let (mut world, admins) = consortium();
    world.ok(world.by(&admins[0], propose(GovernanceAction::SetFee { fee: Amount(5) })));
    world.ok(world.by(&admins[1], Payload::Approve { proposal: 0 }));
    let mut passing = world.body(&admins[2], Payload::Approve { proposal: 0 });
    passing.fee_limit = Amount(1);
    let receipt = world.run(sign_transaction(passing, &[&admins[2]])).expect("admissible at the old fee");
    assert_eq!((receipt.outcome, receipt.fee_paid), (Outcome::Success, Amount(1)));
    assert_eq!(world.governance().fee, Amount(5));
    let cheap = world.by(&admins[5], Payload::Transfer { to: admins[0].account_id(), amount: Amount(1) });
    assert_eq!(world.run(cheap), Err(Rejection::FeeLimitTooLow { fee: Amount(5), limit: Amount(1) }));
    let mut paying = world.body(&admins[5], Payload::Transfer { to: admins[0].account_id(), amount: Amount(1) });
    paying.fee_limit = Amount(5);
    let receipt = world.run(sign_transaction(paying, &[&admins[5]])).expect("admissible");
    assert_eq!(receipt.fee_paid, Amount(5));
}

/// One governance step of a random history.
#[derive(Clone, Debug)]
enum GovernanceStep {
    Propose {
        admin: usize,
        action: u8,
        target: usize,
        expiry: u32,
    },
    Approve {
        admin: usize,
        proposal: u64,
    },
    Transfer {
        admin: usize,
        to: usize,
    },
    /// Ends the current block.
    Seal,
}

fn governance_step() -> impl Strategy<Value = GovernanceStep> {
    prop_oneof![
        2 => (0..6usize, 0..8u8, 0..6usize, 1..6u32)
            .prop_map(|(admin, action, target, expiry)| GovernanceStep::Propose { admin, action, target, expiry }),
        4 => (0..6usize, 0..8u64).prop_map(|(admin, proposal)| GovernanceStep::Approve { admin, proposal }),
        1 => (0..6usize, 0..6usize).prop_map(|(admin, to)| GovernanceStep::Transfer { admin, to }),
        2 => Just(GovernanceStep::Seal),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Random proposals and approvals packed into blocks of several transactions: whatever the
    /// packing, execution with the executor's reads (re-running passes that lack records) gives
    /// exactly what execution over the whole state gives, and the registry's invariants hold
    /// ([`World::block`] checks both for every block).
    #[test]
    fn governance_in_shared_blocks_matches_execution_over_the_whole_state(
        steps in prop::collection::vec(governance_step(), 1..40),
    ) {
        let (mut world, admins) = consortium();
        let ids: Vec<AccountId> = admins.iter().map(AccountSigner::account_id).collect();
        let mut pending: Vec<Transaction> = Vec::new();
        let mut used: BTreeMap<AccountId, u64> = BTreeMap::new();
        let seal = |world: &mut World, pending: &mut Vec<Transaction>, used: &mut BTreeMap<AccountId, u64>| {
            let _ = world.block(pending);
            pending.clear();
            used.clear();
        };
        for step in steps {
            let (admin, payload) = match step {
                GovernanceStep::Seal => {
                    seal(&mut world, &mut pending, &mut used);
                    continue;
                }
                GovernanceStep::Transfer { admin, to } => {
                    (admin, Payload::Transfer { to: ids[to], amount: Amount(3) })
                }
                GovernanceStep::Approve { admin, proposal } => (admin, Payload::Approve { proposal }),
                GovernanceStep::Propose { admin, action, target, expiry } => {
                    let org = OrgId(1 + (target % 5) as u32);
                    let action = match action {
                        0 => GovernanceAction::AddOrganisation {
                            name: OrgName::new(&format!("new-{target}")).expect("short"),
                            admin: ids[target],
                        },
                        1 => GovernanceAction::RemoveOrganisation { org },
                        2 => GovernanceAction::AddAdmin { org, account: ids[target] },
                        3 => GovernanceAction::RemoveAdmin { org, account: ids[target] },
                        4 => GovernanceAction::SetAdminThreshold { org, threshold: 1 + (target % 2) as u8 },
                        5 => GovernanceAction::GrantRole { account: ids[target], role: Role::Regulator },
                        6 => GovernanceAction::SetFee { fee: Amount(1) },
                        _ => GovernanceAction::SetAccountCreation { members_only: target % 2 == 0 },
                    };
                    (admin, Payload::Propose { action: Box::new(action), expiry_blocks: expiry })
                }
            };
            let sender = ids[admin];
            let offset = used.entry(sender).or_insert(0);
            let mut body = world.body_for(sender, payload);
            body.nonce = Nonce(body.nonce.get() + *offset);
            *offset += 1;
            pending.push(sign_transaction(body, &[&admins[admin]]));
        }
        seal(&mut world, &mut pending, &mut used);
        prop_assert!(world.governance().members >= 1);
    }
}

impl World {
    /// The node registry, in slot order.
    fn nodes(&self) -> Vec<Node> {
        (0..self.governance().nodes)
            .map(|slot| match self.records.get(&StateKey::Node(slot)) {
                Some(StateValue::Node(node)) => node.clone(),
                other => panic!("node slot {slot} holds {other:?}"),
            })
            .collect()
    }

    /// Proposes `action` and has enough members approve it to pass.
    fn pass(&mut self, admins: &[AccountSigner], action: GovernanceAction) {
        let id = self.governance().next_proposal;
        self.ok(self.by(&admins[0], propose(action)));
        self.ok(self.by(&admins[1], Payload::Approve { proposal: id }));
        self.ok(self.by(&admins[2], Payload::Approve { proposal: id }));
    }
}

fn node_key(seed: u64) -> formica_types::PublicKey {
    use commonware_cryptography::Signer as _;
    commonware_cryptography::ed25519::PrivateKey::from_seed(seed).public_key()
}

fn address(port: u16) -> NodeAddress {
    NodeAddress(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn nodes_are_added_rotated_and_removed_by_vote_and_a_validator_always_remains() {
    let (mut world, admins) = consortium();
    assert_eq!(world.nodes(), vec![genesis_validator()]);
    let add = |seed, org, port, role| GovernanceAction::AddNode {
        org: OrgId(org),
        key: node_key(seed),
        address: address(port),
        role,
    };

    // Bad proposals are refused when proposed: unknown organisation, a key or address in use.
    world.fails(world.by(&admins[0], propose(add(1, 9, 30_001, NodeRole::Validator))), FailureCode::OrgMissing);
    world.fails(world.by(&admins[0], propose(add(900, 1, 30_001, NodeRole::Validator))), FailureCode::NodeExists);
    world.fails(world.by(&admins[0], propose(add(1, 1, 30_000, NodeRole::Validator))), FailureCode::InvalidProposal);
    world.fails(
        world.by(&admins[0], propose(GovernanceAction::RemoveNode { key: node_key(1) })),
        FailureCode::NodeMissing,
    );

    // A proposal is not enough: the registry changes only when the proposal passes.
    world.ok(world.by(&admins[0], propose(add(1, 1, 30_001, NodeRole::Validator))));
    assert_eq!(world.nodes().len(), 1);
    world.ok(world.by(&admins[1], Payload::Approve { proposal: 0 }));
    world.ok(world.by(&admins[2], Payload::Approve { proposal: 0 }));
    world.pass(&admins, add(2, 2, 30_002, NodeRole::Observer));
    let registry = world.nodes();
    assert_eq!(registry.len(), 3);
    assert_eq!(
        (registry[1].key.clone(), registry[1].org, registry[1].role),
        (node_key(1), OrgId(1), NodeRole::Validator)
    );
    assert_eq!(NodeSet(registry.clone()).validators(), vec![genesis_validator().key, node_key(1)]);
    assert_eq!(NodeSet(registry).observers(), vec![node_key(2)]);

    // Rotation keeps the slot, organisation, address and role; the old key is gone.
    world.fails(
        world.by(&admins[0], propose(GovernanceAction::RotateNode { old: node_key(1), new: node_key(2) })),
        FailureCode::NodeExists,
    );
    world.pass(&admins, GovernanceAction::RotateNode { old: node_key(1), new: node_key(3) });
    let registry = world.nodes();
    assert_eq!((registry[1].key.clone(), registry[1].address), (node_key(3), address(30_001)));
    assert!(!world.records.contains_key(&StateKey::NodeSlot(node_key(1).as_ref().try_into().expect("32 bytes"))));

    // Removal moves the last node into the freed slot.
    world.pass(&admins, GovernanceAction::RemoveNode { key: genesis_validator().key });
    let registry = world.nodes();
    assert_eq!(registry.iter().map(|node| node.key.clone()).collect::<Vec<_>>(), vec![node_key(2), node_key(3)]);
    assert!(!world.records.contains_key(&StateKey::Node(2)));
    // The observer can go; the last validator cannot.
    world.pass(&admins, GovernanceAction::RemoveNode { key: node_key(2) });
    world.fails(
        world.by(&admins[0], propose(GovernanceAction::RemoveNode { key: node_key(3) })),
        FailureCode::WouldLoseQuorum,
    );
    assert_eq!(world.nodes().len(), 1);
}

#[test]
fn block_size_timeouts_and_api_access_change_by_vote() {
    let (mut world, admins) = consortium();
    assert_eq!(world.governance().block_transactions, 1000);
    for max in [0, 1001] {
        world.fails(
            world.by(&admins[0], propose(GovernanceAction::SetBlockTransactions { max })),
            FailureCode::InvalidProposal,
        );
    }
    world.pass(&admins, GovernanceAction::SetBlockTransactions { max: 2 });
    assert_eq!(world.governance().block_transactions, 2);
    let transfers: Vec<Transaction> = admins[3..6]
        .iter()
        .map(|admin| world.by(admin, Payload::Transfer { to: admins[0].account_id(), amount: Amount(1) }))
        .collect();
    // Three transactions are one too many: the whole block is invalid.
    let mut full = StateOverlay::complete(world.records.clone());
    let next = Height(world.height.get() + 1);
    let outcome = execute_transactions(&world.parameters, next, TIMESTAMP_MS, &mut full, &transfers, |_| {
        unreachable!("complete")
    });
    assert!(matches!(outcome, Err(ExecutionError::TooManyTransactions { count: 3, limit: 2 })), "got {outcome:?}");
    world.block(&transfers[..2]).expect("two transactions fit");

    // Timeouts: out-of-range values are refused; a passed change waits for the epoch's last block.
    let defaults = ConsensusTimeouts::default();
    // Equal timeouts are refused too: simplex stops its engine on them.
    for (leader_ms, certification_ms) in [(700, 600), (600, 600)] {
        let refused = ConsensusTimeouts { leader_ms, certification_ms };
        world.fails(
            world.by(&admins[0], propose(GovernanceAction::SetConsensusTimeouts { timeouts: refused })),
            FailureCode::InvalidProposal,
        );
    }
    let faster = ConsensusTimeouts { leader_ms: 300, certification_ms: 600 };
    world.pass(&admins, GovernanceAction::SetConsensusTimeouts { timeouts: faster });
    assert_eq!((world.governance().timeouts, world.governance().epoch_timeouts), (faster, defaults));
    let epoch_last = world.parameters.epoch_blocks - 1;
    world.advance(epoch_last - 1 - world.height.get());
    assert_eq!(world.governance().epoch_timeouts, defaults, "unchanged before the epoch's last block");
    world.advance(1);
    assert_eq!(world.height, Height(epoch_last));
    assert_eq!(world.governance().epoch_timeouts, faster, "the next epoch's timeouts");

    // API access is a flag the RPC servers read.
    assert!(!world.governance().api_members_only);
    world.pass(&admins, GovernanceAction::SetApiAccess { members_only: true });
    assert!(world.governance().api_members_only);
}
