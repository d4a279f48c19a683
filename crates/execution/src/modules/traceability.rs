//! The product traceability module: product batches registered by their manufacturer, custody
//! events appended by the parties each batch's rules allow, and splits into sub-batches and
//! items that keep the link to their origin (see [`formica_types::TraceOp`], and
//! [`formica_types::traceability`] for the records, their keys and how to walk a history).
//!
//! # Rules
//! - Any account registers a batch as its owner, under an id new among its batches (batches and
//!   items share one namespace per owner). The rules name, for each event kind, up to four
//!   existing accounts; the owner may append a kind only if the rules list it too.
//! - Only a party listed for an event's kind appends it (`EventNotAllowed` otherwise). The event
//!   takes the next number; its actor, height and time are the transaction's sender and block.
//!   At most [`EVENTS_PER_BATCH_MAX`] events per batch (`HistoryFull`). No operation changes or
//!   removes an event.
//! - The owner, or any party the batch's rules list for some kind (the parties that handle the
//!   goods, e.g. a logistics firm breaking a pallet into cartons), splits a batch into 1 to
//!   [`SPLIT_CHILDREN_MAX`] children with new ids under the owner: each names the batch as its
//!   parent and takes its product, origin and documents, and its rules unless the split gives
//!   new ones, which only the owner may do. An item is never split (`BatchState`); a batch has
//!   at most [`CHILDREN_PER_BATCH_MAX`] children (`TooManyChildren`); children are at most
//!   [`SPLIT_DEPTH_MAX`] splits from their origin (`SplitTooDeep`), which bounds every walk to
//!   the origin. A split batch stays open: it may get more events and more splits.
//! - The owner replaces a batch's rules only while it has no events (`BatchState`).
//! - Every failure leaves the state as it was (the fee aside).
//!
//! # Invariants
//! A batch's events are exactly `0..events` and never change once written; its children are
//! exactly the [`ChildLink`]s `0..children`, each a batch naming it as parent with a depth one
//! more than its own; every batch but an origin has a parent (tested over random histories).

use super::{Scratch, record_keys, run};
use crate::transition::{Halt, StateOverlay, fail};
use formica_state::StateKey;
use formica_types::traceability::{
    CHILDREN_PER_BATCH_MAX, EVENTS_PER_BATCH_MAX, SPLIT_CHILDREN_MAX, SPLIT_DEPTH_MAX, batch_key, child_key, event_key,
};
use formica_types::{
    AccountId, Batch, BatchId, BatchKind, BatchTerms, ChildLink, ChildSpec, ContractEvent, EventKind, FailureCode,
    Hash, Height, Module, Rules, TraceEvent, TraceOp, TraceText,
};

const MODULE: Module = Module::Traceability;

/// The records a traceability operation names (an appended event's and a split's child links
/// are found once the batch is read).
pub(crate) fn reads(sender: &AccountId, op: &TraceOp) -> Vec<StateKey> {
    let (owner, id) = op.batch(sender);
    let mut reads = record_keys::<Batch>(MODULE, &batch_key(&owner, &id));
    let rules = match op {
        TraceOp::Register(terms) => Some(&terms.rules),
        TraceOp::Append { .. } => None,
        TraceOp::Split { children, rules, .. } => {
            for child in children {
                reads.extend(record_keys::<Batch>(MODULE, &batch_key(&owner, &child.id)));
            }
            rules.as_ref()
        }
        TraceOp::SetRules { rules, .. } => Some(rules),
    };
    if let Some(rules) = rules {
        reads.extend(rules.accounts().into_iter().map(StateKey::Account));
    }
    reads
}

/// The block an operation runs in.
#[derive(Clone, Copy)]
struct Now {
    height: Height,
    timestamp_ms: u64,
}

/// Applies a traceability operation in a block at `height` with timestamp `timestamp_ms`.
pub(crate) fn apply(
    height: Height,
    timestamp_ms: u64,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    op: &TraceOp,
) -> Result<Vec<ContractEvent>, Halt> {
    let now = Now { height, timestamp_ms };
    run(overlay, |s| match op {
        TraceOp::Register(terms) => register(s, now, sender, terms),
        TraceOp::Append { owner, id, kind, location, evidence } => {
            append(s, now, sender, owner, id, *kind, location, evidence)
        }
        TraceOp::Split { owner, id, children, rules } => split(s, now, sender, owner, id, children, rules.as_ref()),
        TraceOp::SetRules { id, rules } => {
            let mut batch = existing(s, sender, id)?;
            if batch.events > 0 {
                return fail(
                    FailureCode::BatchState,
                    format!("batch {id} has {} events: its rules are fixed", batch.events),
                );
            }
            check_rules(s, rules)?;
            batch.rules = *rules;
            s.put_record(MODULE, &batch.key(), Some(&batch));
            s.emit(MODULE, "trace.rules_set", &[sender.0, id.topic()], Vec::new());
            Ok(())
        }
    })
}

fn register(s: &mut Scratch<'_>, now: Now, sender: &AccountId, terms: &BatchTerms) -> Result<(), Halt> {
    if s.record::<Batch>(MODULE, &batch_key(sender, &terms.id))?.is_some() {
        return fail(FailureCode::BatchExists, format!("{sender} has a batch {} already", terms.id));
    }
    check_rules(s, &terms.rules)?;
    let batch = Batch {
        owner: *sender,
        id: terms.id,
        kind: BatchKind::Batch,
        parent: None,
        depth: 0,
        product: terms.product,
        origin: terms.origin,
        attributes: terms.attributes,
        documents: terms.documents,
        rules: terms.rules,
        events: 0,
        children: 0,
        created_at: now.height,
        created_ms: now.timestamp_ms,
    };
    s.put_record(MODULE, &batch.key(), Some(&batch));
    let data = [terms.attributes.as_ref(), terms.documents.as_ref()].concat();
    s.emit(MODULE, "trace.registered", &[sender.0, terms.id.topic()], data);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn append(
    s: &mut Scratch<'_>,
    now: Now,
    sender: &AccountId,
    owner: &AccountId,
    id: &BatchId,
    kind: EventKind,
    location: &TraceText,
    evidence: &Hash,
) -> Result<(), Halt> {
    let mut batch = existing(s, owner, id)?;
    if !batch.rules.allows(kind, sender) {
        return fail(
            FailureCode::EventNotAllowed,
            format!("the rules of batch {id} do not let {sender} append {kind}"),
        );
    }
    if batch.events >= EVENTS_PER_BATCH_MAX {
        return fail(
            FailureCode::HistoryFull,
            format!("batch {id} holds {EVENTS_PER_BATCH_MAX} events, the most it may"),
        );
    }
    let index = batch.events;
    let key = event_key(owner, id, index);
    // Reading the slot makes the transaction name the chunks it writes.
    assert!(s.record::<TraceEvent>(MODULE, &key)?.is_none(), "events are numbered below the batch's count");
    let event = TraceEvent {
        kind,
        actor: *sender,
        timestamp_ms: now.timestamp_ms,
        height: now.height,
        location: *location,
        evidence: *evidence,
    };
    s.put_record(MODULE, &key, Some(&event));
    batch.events = index + 1;
    s.put_record(MODULE, &batch.key(), Some(&batch));
    let mut data = index.to_be_bytes().to_vec();
    data.push(kind.tag());
    data.extend_from_slice(evidence.as_ref());
    s.emit(MODULE, "trace.appended", &[owner.0, id.topic(), sender.0], data);
    Ok(())
}

fn split(
    s: &mut Scratch<'_>,
    now: Now,
    sender: &AccountId,
    owner: &AccountId,
    id: &BatchId,
    children: &[ChildSpec],
    rules: Option<&Rules>,
) -> Result<(), Halt> {
    let mut parent = existing(s, owner, id)?;
    let handler = EventKind::ALL.into_iter().any(|kind| parent.rules.allows(kind, sender));
    if sender != owner && !handler {
        return fail(FailureCode::NotPermitted, format!("only the owner or a party of batch {id}'s rules splits it"));
    }
    if rules.is_some() && sender != owner {
        return fail(FailureCode::NotPermitted, format!("only the owner, {owner}, gives children new rules"));
    }
    if parent.kind == BatchKind::Item {
        return fail(FailureCode::BatchState, format!("{id} is an item: items are not split"));
    }
    if !(1..=SPLIT_CHILDREN_MAX).contains(&children.len()) {
        return fail(FailureCode::InvalidSplit, format!("a split makes 1 to {SPLIT_CHILDREN_MAX} children"));
    }
    for (number, child) in children.iter().enumerate() {
        if child.id == *id || children[..number].iter().any(|earlier| earlier.id == child.id) {
            return fail(FailureCode::InvalidSplit, format!("child id {} is given twice", child.id));
        }
    }
    if parent.depth >= SPLIT_DEPTH_MAX {
        return fail(
            FailureCode::SplitTooDeep,
            format!("batch {id} is {} splits from its origin, the most allowed", parent.depth),
        );
    }
    let count = u16::try_from(children.len()).expect("at most SPLIT_CHILDREN_MAX");
    let first = parent.children;
    let total = first.checked_add(count).filter(|total| *total <= CHILDREN_PER_BATCH_MAX).ok_or_else(|| {
        Halt::Fail(
            FailureCode::TooManyChildren,
            format!("batch {id} has {first} children; it may have at most {CHILDREN_PER_BATCH_MAX}"),
        )
    })?;
    for child in children {
        if s.record::<Batch>(MODULE, &batch_key(owner, &child.id))?.is_some() {
            return fail(FailureCode::BatchExists, format!("{owner} has a batch {} already", child.id));
        }
    }
    if let Some(rules) = rules {
        check_rules(s, rules)?;
    }
    s.prefetch((first..total).flat_map(|index| record_keys::<ChildLink>(MODULE, &child_key(owner, id, index))))?;
    let mut data = Vec::with_capacity(children.len() * (32 + 1));
    for (index, child) in (first..total).zip(children) {
        let batch = Batch {
            owner: *owner,
            id: child.id,
            kind: child.kind,
            parent: Some(*id),
            depth: parent.depth + 1,
            product: parent.product,
            origin: parent.origin,
            attributes: child.attributes,
            documents: parent.documents,
            rules: rules.copied().unwrap_or(parent.rules),
            events: 0,
            children: 0,
            created_at: now.height,
            created_ms: now.timestamp_ms,
        };
        s.put_record(MODULE, &batch.key(), Some(&batch));
        s.put_record(MODULE, &child_key(owner, id, index), Some(&ChildLink { child: child.id }));
        data.extend_from_slice(&child.id.topic());
        data.push(u8::from(child.kind == BatchKind::Item));
    }
    parent.children = total;
    s.put_record(MODULE, &parent.key(), Some(&parent));
    s.emit(MODULE, "trace.split", &[owner.0, id.topic(), sender.0], data);
    Ok(())
}

fn existing(s: &Scratch<'_>, owner: &AccountId, id: &BatchId) -> Result<Batch, Halt> {
    match s.record::<Batch>(MODULE, &batch_key(owner, id))? {
        Some(batch) => Ok(batch),
        None => fail(FailureCode::BatchMissing, format!("{owner} has no batch {id}")),
    }
}

/// Requires every party the rules name to be an existing account.
fn check_rules(s: &Scratch<'_>, rules: &Rules) -> Result<(), Halt> {
    for account in rules.accounts() {
        if s.account(&account)?.is_none() {
            return fail(FailureCode::InvalidRules, format!("the rules name {account}, which is not an account"));
        }
    }
    Ok(())
}
