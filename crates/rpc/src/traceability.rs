//! Product traceability methods: a batch or item with its events and children
//! (`formica_getTraceBatch`), and its history, the batch and every ancestor up to the origin
//! batch, each with its events (`formica_getTraceHistory`).
//!
//! Records are read under the keys [`formica_types::traceability`] defines, as the execution
//! module writes them. Each read answers as of the latest finalized block when it is made, and a
//! batch's events are read after the batch: since events are only appended and parent links
//! never change, the events `0..event_count` of the batch as read are final and the same at
//! every later height, so a view is consistent as of its `height` even if blocks are finalized
//! during the reads.

use crate::assets::record;
use crate::backend::Backend;
use crate::error::invalid_params;
use crate::types::codec;
use formica_types::traceability::{SPLIT_DEPTH_MAX, batch_key, child_key, event_key};
use formica_types::{
    AccountId, Batch, BatchId, BatchKind, ChildLink, EventKind, Hash, Height, Module, Rules, TraceEvent, TraceText,
};
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};

/// Who may append each kind of event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesView {
    pub produced: Vec<AccountId>,
    pub inspected: Vec<AccountId>,
    pub shipped: Vec<AccountId>,
    pub customs_cleared: Vec<AccountId>,
    pub received: Vec<AccountId>,
}

impl From<&Rules> for RulesView {
    fn from(rules: &Rules) -> Self {
        let parties = |kind| rules.parties(kind).to_vec();
        Self {
            produced: parties(EventKind::Produced),
            inspected: parties(EventKind::Inspected),
            shipped: parties(EventKind::Shipped),
            customs_cleared: parties(EventKind::CustomsCleared),
            received: parties(EventKind::Received),
        }
    }
}

/// One custody event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEventView {
    /// Its number in the batch's history, from 0.
    pub index: u16,
    pub kind: EventKind,
    /// The account that appended it.
    pub actor: AccountId,
    /// The time of the block that recorded it, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    pub height: Height,
    pub location: TraceText,
    #[serde(with = "codec::hash")]
    pub evidence: Hash,
}

/// A batch or item as of the latest finalized block, with its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceBatchView {
    /// The manufacturer that registered its origin batch.
    pub owner: AccountId,
    pub id: BatchId,
    pub kind: BatchKind,
    /// The batch it was split from (absent for an origin batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<BatchId>,
    /// Splits between it and its origin batch.
    pub depth: u8,
    pub product: TraceText,
    pub origin: TraceText,
    #[serde(with = "codec::hash")]
    pub attributes: Hash,
    #[serde(with = "codec::hash")]
    pub documents: Hash,
    pub rules: RulesView,
    pub event_count: u16,
    pub child_count: u16,
    pub created_at: Height,
    pub created_ms: u64,
    /// Its events `0..event_count`, in order.
    pub events: Vec<TraceEventView>,
    /// The ids of its children, in the order they were split off (`formica_getTraceBatch` only;
    /// absent in a history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<BatchId>>,
    /// The finalized height the batch record was read at.
    pub height: Height,
}

pub(crate) fn parse_batch_id(text: &str) -> Result<BatchId, ErrorObjectOwned> {
    BatchId::new(text).map_err(|error| invalid_params("batch id", error))
}

/// The batch `id` of `owner` with its events, and with its children's ids if `children`.
pub(crate) async fn get_batch<B: Backend>(
    backend: &B,
    owner: AccountId,
    id: BatchId,
    children: bool,
) -> Result<Option<TraceBatchView>, ErrorObjectOwned> {
    let (batch, height) = record::<B, Batch>(backend, Module::Traceability, batch_key(&owner, &id)).await?;
    let Some(batch) = batch else { return Ok(None) };
    let mut events = Vec::with_capacity(usize::from(batch.events));
    for index in 0..batch.events {
        let (event, _) = record::<B, TraceEvent>(backend, Module::Traceability, event_key(&owner, &id, index)).await?;
        let event = event.ok_or_else(|| missing(format!("event {index} of batch {id}")))?;
        events.push(TraceEventView {
            index,
            kind: event.kind,
            actor: event.actor,
            timestamp_ms: event.timestamp_ms,
            height: event.height,
            location: event.location,
            evidence: event.evidence,
        });
    }
    let children = if children {
        let mut ids = Vec::with_capacity(usize::from(batch.children));
        for index in 0..batch.children {
            let (link, _) =
                record::<B, ChildLink>(backend, Module::Traceability, child_key(&owner, &id, index)).await?;
            ids.push(link.ok_or_else(|| missing(format!("child {index} of batch {id}")))?.child);
        }
        Some(ids)
    } else {
        None
    };
    Ok(Some(TraceBatchView {
        owner,
        id,
        kind: batch.kind,
        parent: batch.parent,
        depth: batch.depth,
        product: batch.product,
        origin: batch.origin,
        attributes: batch.attributes,
        documents: batch.documents,
        rules: (&batch.rules).into(),
        event_count: batch.events,
        child_count: batch.children,
        created_at: batch.created_at,
        created_ms: batch.created_ms,
        events,
        children,
        height,
    }))
}

/// The batch `id` of `owner` and its ancestors, **the batch first and the origin batch last**,
/// each with its events (empty if there is no such batch). A child is at most
/// [`SPLIT_DEPTH_MAX`] splits from its origin, so the walk reads at most that many parents.
pub(crate) async fn get_history<B: Backend>(
    backend: &B,
    owner: AccountId,
    id: BatchId,
) -> Result<Vec<TraceBatchView>, ErrorObjectOwned> {
    let mut history = Vec::new();
    let mut next = Some(id);
    while let Some(id) = next {
        if history.len() > usize::from(SPLIT_DEPTH_MAX) {
            return Err(missing(format!("a history deeper than {SPLIT_DEPTH_MAX} splits")));
        }
        let Some(batch) = get_batch(backend, owner, id, false).await? else {
            if history.is_empty() {
                break;
            }
            return Err(missing(format!("batch {id}, a parent")));
        };
        next = batch.parent;
        history.push(batch);
    }
    Ok(history)
}

/// A record execution guarantees is absent: the store is not what the chain wrote.
fn missing(what: String) -> ErrorObjectOwned {
    ErrorObjectOwned::from(crate::BackendError::Storage { reason: format!("traceability: {what} is missing") })
}
