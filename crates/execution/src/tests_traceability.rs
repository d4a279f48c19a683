//! Traceability module tests: a milk-powder batch registered with its rules, custody events
//! appended by each allowed party, split into items that lead back to it; every refusal (an
//! unlisted party, an unknown batch, a taken id, a split past its caps or too deep, an item
//! split, rules changed after events, rules naming no account) with its code and without a
//! trace; and, over random histories, events that only ever grow and never change, and
//! children that always lead back to their origin.

use super::{FEE, TIMESTAMP_MS, World, failure, signer};
use crate::modules::{ModuleRecord, decode_record, event_topic, record_keys};
use formica_crypto::{AccountSigner, sign_transaction};
use formica_state::{StateKey, StateValue};
use formica_types::traceability::{
    CHILDREN_PER_BATCH_MAX, EVENTS_PER_BATCH_MAX, SPLIT_CHILDREN_MAX, SPLIT_DEPTH_MAX, batch_key, child_key, event_key,
};
use formica_types::{
    AccountId, Batch, BatchId, BatchKind, BatchTerms, ChildLink, ChildSpec, EventKind, FailureCode, Height, KeyScheme,
    Module, Nonce, Outcome, Payload, Rules, TraceEvent, TraceOp, TraceText, Transaction, hash_tagged,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn id(text: &str) -> BatchId {
    BatchId::new(text).expect("valid id")
}

fn text(value: &str) -> TraceText {
    TraceText::new(value).expect("valid text")
}

fn trace(op: TraceOp) -> Payload {
    Payload::Trace(Box::new(op))
}

/// The parties of the walkthrough, each with its own key.
struct Parties {
    maker: AccountSigner,
    inspector: AccountSigner,
    logistics: AccountSigner,
    customs: AccountSigner,
    retailer: AccountSigner,
    stranger: AccountSigner,
}

impl Parties {
    fn new() -> Self {
        Self {
            maker: signer(KeyScheme::Ed25519, 8_100),
            inspector: signer(KeyScheme::Ed25519, 8_101),
            logistics: signer(KeyScheme::Secp256k1, 8_102),
            customs: signer(KeyScheme::Sm2, 8_103),
            retailer: signer(KeyScheme::Ed25519, 8_104),
            stranger: signer(KeyScheme::Ed25519, 8_105),
        }
    }

    fn all(&self) -> [&AccountSigner; 6] {
        [&self.maker, &self.inspector, &self.logistics, &self.customs, &self.retailer, &self.stranger]
    }

    /// The maker produces, the inspector inspects, the logistics firm ships, customs clears and
    /// the retailer receives.
    fn rules(&self) -> Rules {
        Rules::new(&[
            (EventKind::Produced, vec![self.maker.account_id()]),
            (EventKind::Inspected, vec![self.inspector.account_id()]),
            (EventKind::Shipped, vec![self.logistics.account_id()]),
            (EventKind::CustomsCleared, vec![self.customs.account_id()]),
            (EventKind::Received, vec![self.retailer.account_id()]),
        ])
        .expect("valid rules")
    }

    fn owner(&self) -> AccountId {
        self.maker.account_id()
    }
}

fn terms(batch: &str, rules: Rules) -> BatchTerms {
    BatchTerms {
        id: id(batch),
        product: text("Whole milk powder 900 g"),
        origin: text("Waikato, New Zealand"),
        attributes: hash_tagged(b"test/attributes", &[batch.as_bytes()]),
        documents: hash_tagged(b"test/documents", &[batch.as_bytes()]),
        rules,
    }
}

fn children(prefix: &str, count: usize, kind: BatchKind) -> Vec<ChildSpec> {
    (0..count)
        .map(|number| ChildSpec {
            id: id(&format!("{prefix}{number}")),
            kind,
            attributes: hash_tagged(b"test/child", &[prefix.as_bytes(), &number.to_be_bytes()]),
        })
        .collect()
}

fn append(owner: AccountId, batch: &str, kind: EventKind, location: &str) -> Payload {
    let evidence = hash_tagged(b"test/evidence", &[batch.as_bytes(), location.as_bytes()]);
    trace(TraceOp::Append { owner, id: id(batch), kind, location: text(location), evidence })
}

fn split(owner: AccountId, batch: &str, children: Vec<ChildSpec>) -> Payload {
    trace(TraceOp::Split { owner, id: id(batch), children, rules: None })
}

impl World {
    fn trace_record<R: ModuleRecord>(&self, key: &[u8]) -> Option<R> {
        let keys = record_keys::<R>(Module::Traceability, key);
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }

    fn trace_batch(&self, owner: &AccountId, batch: &str) -> Batch {
        self.trace_record(&batch_key(owner, &id(batch))).expect("a batch")
    }

    fn trace_events(&self, owner: &AccountId, batch: &str) -> Vec<TraceEvent> {
        let count = self.trace_batch(owner, batch).events;
        (0..count).map(|index| self.trace_record(&event_key(owner, &id(batch), index)).expect("an event")).collect()
    }

    /// The batch and its ancestors up to its origin, the origin last.
    fn trace_history(&self, owner: &AccountId, batch: &str) -> Vec<Batch> {
        let mut history = vec![self.trace_batch(owner, batch)];
        while let Some(parent) = history.last().expect("one").parent {
            history.push(self.trace_batch(owner, parent.as_str()));
        }
        history
    }

    fn trace_module_records(&self) -> BTreeMap<StateKey, StateValue> {
        self.records
            .iter()
            .filter(|(key, _)| !matches!(key, StateKey::Account(_)))
            .map(|(key, value)| (*key, value.clone()))
            .collect()
    }

    /// Runs `transaction`, requires it to fail with `code`, and requires that it changed nothing
    /// but its sender's fee and nonce.
    fn trace_refused(&mut self, transaction: Transaction, code: FailureCode) {
        let before = self.trace_module_records();
        let sender = transaction.body.sender;
        let balance = self.account(&sender).expect("the sender exists").balance.get();
        self.fails(transaction, code);
        assert_eq!(self.trace_module_records(), before, "a failed operation leaves no trace");
        assert_eq!(self.account(&sender).expect("exists").balance.get(), balance - FEE, "only the fee");
    }

    /// `payloads` from `sender` in one block, with consecutive nonces.
    fn trace_block(&mut self, sender: &AccountSigner, payloads: Vec<Payload>) -> Vec<formica_types::Receipt> {
        let start = self.account(&sender.account_id()).expect("the sender exists").nonce.get();
        let transactions: Vec<Transaction> = payloads
            .into_iter()
            .enumerate()
            .map(|(offset, payload)| {
                let mut body = self.body(sender, payload);
                body.nonce = Nonce(start + offset as u64);
                sign_transaction(body, &[sender])
            })
            .collect();
        self.block(&transactions).expect("admissible")
    }
}

fn world(parties: &Parties) -> World {
    World::new(&parties.all(), None, false)
}

#[test]
fn a_batch_is_registered_traced_by_each_party_split_into_items_and_an_item_leads_back_to_it() {
    let parties = Parties::new();
    let mut world = world(&parties);
    let owner = parties.owner();
    let receipt = world.run(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-001", parties.rules())))));
    let receipt = receipt.expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    assert_eq!(receipt.events[0].topics, [event_topic("trace.registered"), owner.0, id("MP-001").topic()]);
    assert_eq!(receipt.events[0].contract, Module::Traceability.address());

    let steps = [
        (&parties.maker, EventKind::Produced, "Hamilton plant"),
        (&parties.inspector, EventKind::Inspected, "Hamilton plant QA lab"),
        (&parties.logistics, EventKind::Shipped, "Port of Tauranga"),
        (&parties.customs, EventKind::CustomsCleared, "Tianjin customs"),
    ];
    for (index, (who, kind, location)) in steps.iter().enumerate() {
        let receipt = world.run(world.by(who, append(owner, "MP-001", *kind, location))).expect("admissible");
        assert_eq!(receipt.outcome, Outcome::Success, "{kind}");
        let event = &receipt.events[0];
        assert_eq!(event.topics, [event_topic("trace.appended"), owner.0, id("MP-001").topic(), who.account_id().0]);
        assert_eq!(event.data[..3], [0, index as u8, kind.tag()]);
    }
    let events = world.trace_events(&owner, "MP-001");
    assert_eq!(events.len(), 4);
    for (index, ((who, kind, location), event)) in steps.iter().zip(&events).enumerate() {
        assert_eq!((event.kind, event.actor, event.location), (*kind, who.account_id(), text(location)));
        assert_eq!(event.timestamp_ms, TIMESTAMP_MS, "the block's time, not the sender's");
        assert_eq!(event.height, Height(3 + index as u64), "registered at height 2, after genesis");
        let evidence = hash_tagged(b"test/evidence", &[b"MP-001", location.as_bytes()]);
        assert_eq!(event.evidence, evidence);
    }

    // The batch is split into three cans; the retailer receives one of them.
    let cans = children("MP-001-CAN-", 3, BatchKind::Item);
    let receipt = world.run(world.by(&parties.maker, split(owner, "MP-001", cans.clone()))).expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    assert_eq!(receipt.events[0].data.len(), 3 * 33, "the id and kind of each child");
    let parent = world.trace_batch(&owner, "MP-001");
    assert_eq!((parent.children, parent.events), (3, 4), "a split batch keeps its history");
    for (index, can) in cans.iter().enumerate() {
        let link: ChildLink = world.trace_record(&child_key(&owner, &id("MP-001"), index as u16)).expect("a link");
        assert_eq!(link.child, can.id);
        let item = world.trace_batch(&owner, can.id.as_str());
        assert_eq!((item.kind, item.parent, item.depth), (BatchKind::Item, Some(id("MP-001")), 1));
        assert_eq!((item.product, item.origin, item.documents), (parent.product, parent.origin, parent.documents));
        assert_eq!((item.attributes, item.rules, item.events), (can.attributes, parent.rules, 0));
    }
    world.ok(world.by(&parties.retailer, append(owner, "MP-001-CAN-1", EventKind::Received, "Shanghai store 12")));
    let history = world.trace_history(&owner, "MP-001-CAN-1");
    let ids: Vec<_> = history.iter().map(|batch| batch.id).collect();
    assert_eq!(ids, [id("MP-001-CAN-1"), id("MP-001")], "the item, then its origin");
    assert_eq!(world.trace_events(&owner, "MP-001-CAN-1")[0].actor, parties.retailer.account_id());
    assert!(world.trace_events(&owner, "MP-001-CAN-0").is_empty());
}

#[test]
fn only_the_parties_the_rules_list_append_each_kind() {
    let parties = Parties::new();
    let mut world = world(&parties);
    let owner = parties.owner();
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-002", parties.rules())))));
    // The inspector may inspect, not ship; the logistics firm may not inspect; a stranger nothing.
    for (who, kind) in [
        (&parties.inspector, EventKind::Shipped),
        (&parties.logistics, EventKind::Inspected),
        (&parties.stranger, EventKind::Produced),
        (&parties.retailer, EventKind::CustomsCleared),
        // The owner is no exception: the rules list it for `produced` only.
        (&parties.maker, EventKind::Inspected),
    ] {
        world.trace_refused(world.by(who, append(owner, "MP-002", kind, "anywhere")), FailureCode::EventNotAllowed);
    }
    world.ok(world.by(&parties.inspector, append(owner, "MP-002", EventKind::Inspected, "QA lab")));
    // A party of another batch's rules has no say over this one.
    let narrow = Rules::new(&[(EventKind::Inspected, vec![parties.stranger.account_id()])]).expect("valid");
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-003", narrow)))));
    world.trace_refused(
        world.by(&parties.inspector, append(owner, "MP-003", EventKind::Inspected, "QA lab")),
        FailureCode::EventNotAllowed,
    );
    world.ok(world.by(&parties.stranger, append(owner, "MP-003", EventKind::Inspected, "Independent lab")));
}

#[test]
fn unknown_batches_and_taken_ids_are_refused() {
    let parties = Parties::new();
    let mut world = world(&parties);
    let owner = parties.owner();
    // Nothing is registered yet: appending, splitting and setting rules find no batch.
    world.trace_refused(
        world.by(&parties.maker, append(owner, "MP-004", EventKind::Produced, "plant")),
        FailureCode::BatchMissing,
    );
    world.trace_refused(
        world.by(&parties.maker, split(owner, "MP-004", children("I-", 2, BatchKind::Item))),
        FailureCode::BatchMissing,
    );
    world.trace_refused(
        world.by(&parties.maker, trace(TraceOp::SetRules { id: id("MP-004"), rules: parties.rules() })),
        FailureCode::BatchMissing,
    );
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-004", parties.rules())))));
    world.trace_refused(
        world.by(&parties.maker, trace(TraceOp::Register(terms("MP-004", Rules::default())))),
        FailureCode::BatchExists,
    );
    // Ids are per owner: another owner may use the same id, and its batch is not the maker's.
    world.ok(world.by(&parties.stranger, trace(TraceOp::Register(terms("MP-004", Rules::default())))));
    world.trace_refused(
        world.by(&parties.maker, append(parties.stranger.account_id(), "MP-005", EventKind::Produced, "plant")),
        FailureCode::BatchMissing,
    );
    // A child takes an id in the same namespace: a taken one, the parent's or a repeated one is refused.
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-006", parties.rules())))));
    let mut taken = children("I-", 2, BatchKind::Item);
    taken[1].id = id("MP-006");
    world.trace_refused(world.by(&parties.maker, split(owner, "MP-004", taken)), FailureCode::BatchExists);
    let mut own = children("I-", 2, BatchKind::Item);
    own[0].id = id("MP-004");
    world.trace_refused(world.by(&parties.maker, split(owner, "MP-004", own)), FailureCode::InvalidSplit);
    let mut twice = children("I-", 3, BatchKind::Item);
    twice[2].id = twice[0].id;
    world.trace_refused(world.by(&parties.maker, split(owner, "MP-004", twice)), FailureCode::InvalidSplit);
    world.ok(world.by(&parties.maker, split(owner, "MP-004", children("I-", 2, BatchKind::Item))));
    world.trace_refused(
        world.by(&parties.maker, split(owner, "MP-006", children("I-", 1, BatchKind::Item))),
        FailureCode::BatchExists,
    );
    // An event for a child that was never split off finds no batch.
    world.trace_refused(
        world.by(&parties.retailer, append(owner, "I-7", EventKind::Received, "store")),
        FailureCode::BatchMissing,
    );
}

#[test]
fn splits_are_by_the_owner_or_a_party_and_only_the_owner_gives_new_rules() {
    let parties = Parties::new();
    let mut world = world(&parties);
    let owner = parties.owner();
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-010", parties.rules())))));
    world.trace_refused(
        world.by(&parties.stranger, split(owner, "MP-010", children("C-", 2, BatchKind::Batch))),
        FailureCode::NotPermitted,
    );
    // The logistics firm breaks the pallet into cartons; they keep the pallet's rules.
    world.ok(world.by(&parties.logistics, split(owner, "MP-010", children("C-", 2, BatchKind::Batch))));
    assert_eq!(world.trace_batch(&owner, "C-0").rules, parties.rules());
    assert_eq!(world.trace_batch(&owner, "C-0").owner, owner, "children stay in the owner's namespace");
    let export = Rules::new(&[(EventKind::Received, vec![parties.stranger.account_id()])]).expect("valid");
    let with_rules = |children| trace(TraceOp::Split { owner, id: id("C-0"), children, rules: Some(export) });
    world.trace_refused(
        world.by(&parties.logistics, with_rules(children("K-", 2, BatchKind::Item))),
        FailureCode::NotPermitted,
    );
    world.ok(world.by(&parties.maker, with_rules(children("K-", 2, BatchKind::Item))));
    assert_eq!(world.trace_batch(&owner, "K-1").rules, export);
    assert_eq!(world.trace_batch(&owner, "K-1").depth, 2);
    world.ok(world.by(&parties.stranger, append(owner, "K-1", EventKind::Received, "Export store")));
    world.trace_refused(
        world.by(&parties.retailer, append(owner, "K-1", EventKind::Received, "Shanghai store")),
        FailureCode::EventNotAllowed,
    );
    // An item is never split.
    world.trace_refused(
        world.by(&parties.maker, split(owner, "K-1", children("X-", 1, BatchKind::Item))),
        FailureCode::BatchState,
    );
    // The rules of new children must name accounts.
    let ghost = Rules::new(&[(EventKind::Shipped, vec![AccountId([77; 32])])]).expect("valid");
    let ghost_split = trace(TraceOp::Split {
        owner,
        id: id("C-1"),
        children: children("G-", 1, BatchKind::Item),
        rules: Some(ghost),
    });
    world.trace_refused(world.by(&parties.maker, ghost_split), FailureCode::InvalidRules);
}

#[test]
fn splits_stop_at_the_children_cap_and_the_depth_cap() {
    let parties = Parties::new();
    let mut world = world(&parties);
    let owner = parties.owner();
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-020", parties.rules())))));
    let splits = usize::from(CHILDREN_PER_BATCH_MAX) / SPLIT_CHILDREN_MAX;
    let payloads = (0..splits)
        .map(|round| split(owner, "MP-020", children(&format!("R{round}-"), SPLIT_CHILDREN_MAX, BatchKind::Item)))
        .collect();
    let receipts = world.trace_block(&parties.maker, payloads);
    assert!(receipts.iter().all(|receipt| receipt.outcome == Outcome::Success));
    assert_eq!(world.trace_batch(&owner, "MP-020").children, CHILDREN_PER_BATCH_MAX);
    let last: ChildLink =
        world.trace_record(&child_key(&owner, &id("MP-020"), CHILDREN_PER_BATCH_MAX - 1)).expect("the last link");
    assert_eq!(last.child, id(&format!("R{}-{}", splits - 1, SPLIT_CHILDREN_MAX - 1)));
    world.trace_refused(
        world.by(&parties.maker, split(owner, "MP-020", children("Z-", 1, BatchKind::Item))),
        FailureCode::TooManyChildren,
    );

    // A chain of splits, each one deeper, up to the depth cap.
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("D0", parties.rules())))));
    for depth in 0..SPLIT_DEPTH_MAX {
        let child =
            ChildSpec { id: id(&format!("D{}", depth + 1)), kind: BatchKind::Batch, attributes: [0; 32].into() };
        world.ok(world.by(&parties.maker, split(owner, &format!("D{depth}"), vec![child])));
    }
    let deepest = format!("D{SPLIT_DEPTH_MAX}");
    assert_eq!(world.trace_batch(&owner, &deepest).depth, SPLIT_DEPTH_MAX);
    assert_eq!(world.trace_history(&owner, &deepest).len(), usize::from(SPLIT_DEPTH_MAX) + 1);
    world.trace_refused(
        world.by(&parties.maker, split(owner, &deepest, children("TOO-DEEP-", 1, BatchKind::Item))),
        FailureCode::SplitTooDeep,
    );
}

#[test]
fn a_history_holds_at_most_the_event_cap_and_events_never_change() {
    let parties = Parties::new();
    let mut world = world(&parties);
    let owner = parties.owner();
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-030", parties.rules())))));
    let mut seen = Vec::new();
    for round in 0..4 {
        let payloads = (0..EVENTS_PER_BATCH_MAX / 4)
            .map(|number| append(owner, "MP-030", EventKind::Produced, &format!("line {round}-{number}")))
            .collect();
        let receipts = world.trace_block(&parties.maker, payloads);
        assert!(receipts.iter().all(|receipt| receipt.outcome == Outcome::Success));
        let events = world.trace_events(&owner, "MP-030");
        assert_eq!(events[..seen.len()], seen[..], "earlier events are unchanged");
        seen = events;
    }
    assert_eq!(seen.len(), usize::from(EVENTS_PER_BATCH_MAX));
    world.trace_refused(
        world.by(&parties.maker, append(owner, "MP-030", EventKind::Produced, "one more")),
        FailureCode::HistoryFull,
    );
}

#[test]
fn rules_change_only_by_the_owner_before_any_event_and_name_only_accounts() {
    let parties = Parties::new();
    let mut world = world(&parties);
    let owner = parties.owner();
    let ghost = Rules::new(&[(EventKind::Inspected, vec![AccountId([66; 32])])]).expect("valid");
    world.trace_refused(
        world.by(&parties.maker, trace(TraceOp::Register(terms("MP-040", ghost)))),
        FailureCode::InvalidRules,
    );
    world.ok(world.by(&parties.maker, trace(TraceOp::Register(terms("MP-040", Rules::default())))));
    // With no rules nobody appends, the owner included.
    world.trace_refused(
        world.by(&parties.maker, append(owner, "MP-040", EventKind::Produced, "plant")),
        FailureCode::EventNotAllowed,
    );
    world.trace_refused(
        world.by(&parties.maker, trace(TraceOp::SetRules { id: id("MP-040"), rules: ghost })),
        FailureCode::InvalidRules,
    );
    // Another account's `SetRules` names its own namespace, where there is no such batch.
    world.trace_refused(
        world.by(&parties.inspector, trace(TraceOp::SetRules { id: id("MP-040"), rules: parties.rules() })),
        FailureCode::BatchMissing,
    );
    let receipt = world
        .run(world.by(&parties.maker, trace(TraceOp::SetRules { id: id("MP-040"), rules: parties.rules() })))
        .expect("admissible");
    assert_eq!(receipt.events[0].topics[0], event_topic("trace.rules_set"));
    world.ok(world.by(&parties.maker, append(owner, "MP-040", EventKind::Produced, "plant")));
    world.trace_refused(
        world.by(&parties.maker, trace(TraceOp::SetRules { id: id("MP-040"), rules: Rules::default() })),
        FailureCode::BatchState,
    );
}

/// One step of a random history: who acts (index into the parties), what, on which batch.
#[derive(Clone, Debug)]
enum Step {
    Register { who: usize, batch: u8 },
    Append { who: usize, batch: u8, kind: u8 },
    Split { who: usize, batch: u8, first: u8, count: u8, item: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..6, 0u8..3).prop_map(|(who, batch)| Step::Register { who, batch }),
        (0usize..6, 0u8..24, 0u8..5).prop_map(|(who, batch, kind)| Step::Append { who, batch, kind }),
        (0usize..6, 0u8..24, 0u8..24, 1u8..4, any::<bool>()).prop_map(|(who, batch, first, count, item)| Step::Split {
            who,
            batch,
            first,
            count,
            item
        }),
    ]
}

fn name(batch: u8) -> String {
    format!("B{batch}")
}

impl World {
    /// Every batch of `owner` among `names`: its events are `0..events` (none past them), its
    /// children `0..children` name it as parent one level down, and it leads to an origin.
    fn check_trace(&self, owner: &AccountId, names: impl Iterator<Item = String>) {
        for batch_name in names {
            let Some(batch) = self.trace_record::<Batch>(&batch_key(owner, &id(&batch_name))) else { continue };
            let events = self.trace_events(owner, &batch_name);
            assert_eq!(events.len(), usize::from(batch.events));
            let past = self.trace_record::<TraceEvent>(&event_key(owner, &batch.id, batch.events));
            assert!(past.is_none(), "no event past the count");
            for event in &events {
                assert!(batch.rules.allows(event.kind, &event.actor), "every event was allowed");
            }
            for index in 0..batch.children {
                let link: ChildLink = self.trace_record(&child_key(owner, &batch.id, index)).expect("a link");
                let child = self.trace_batch(owner, link.child.as_str());
                assert_eq!((child.parent, child.depth), (Some(batch.id), batch.depth + 1));
            }
            let history = self.trace_history(owner, &batch_name);
            assert_eq!(history.last().expect("one").depth, 0, "every batch leads to an origin");
            assert!(history.len() <= usize::from(SPLIT_DEPTH_MAX) + 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random registrations, appends and splits by the owner, the listed parties and a
    /// stranger: events only grow and never change, every stored event was allowed, and every
    /// batch's children lead back to it and it to an origin.
    #[test]
    fn random_histories_only_grow_and_lead_to_their_origin(steps in prop::collection::vec(step(), 1..40)) {
        let parties = Parties::new();
        let mut world = world(&parties);
        let owner = parties.owner();
        let all = parties.all();
        let mut seen: BTreeMap<String, Vec<TraceEvent>> = BTreeMap::new();
        for step in steps {
            let (who, payload) = match step {
                Step::Register { who, batch } => {
                    // Registrations by others land in their own namespaces.
                    (who, trace(TraceOp::Register(terms(&name(batch), parties.rules()))))
                }
                Step::Append { who, batch, kind } => {
                    let kind = EventKind::from_tag(kind).expect("a kind");
                    (who, append(owner, &name(batch), kind, "somewhere"))
                }
                Step::Split { who, batch, first, count, item } => {
                    let kind = if item { BatchKind::Item } else { BatchKind::Batch };
                    let children = (first..first.saturating_add(count))
                        .map(|child| ChildSpec { id: id(&name(child)), kind, attributes: [child; 32].into() })
                        .collect();
                    (who, split(owner, &name(batch), children))
                }
            };
            let receipt = world.run(world.by(all[who], payload)).expect("admissible");
            prop_assert!(matches!(failure(&receipt), None | Some(
                FailureCode::BatchExists | FailureCode::BatchMissing | FailureCode::EventNotAllowed
                | FailureCode::NotPermitted | FailureCode::BatchState | FailureCode::InvalidSplit
                | FailureCode::TooManyChildren | FailureCode::SplitTooDeep
            )), "{:?}", receipt.outcome);
            for batch in 0..24 {
                let Some(record) = world.trace_record::<Batch>(&batch_key(&owner, &id(&name(batch)))) else {
                    continue;
                };
                let events = world.trace_events(&owner, &name(batch));
                let before = seen.entry(name(batch)).or_default();
                prop_assert!(events.len() >= before.len() && events[..before.len()] == before[..]);
                prop_assert_eq!(events.len(), usize::from(record.events));
                *before = events;
            }
            world.check_trace(&owner, (0..24).map(name));
        }
    }
}
