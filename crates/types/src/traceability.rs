//! Product traceability: the operations of the traceability module, the records it keeps, and
//! the keys those records are stored under.
//!
//! A manufacturer (the **owner**) registers a product batch under an id unique among its
//! batches: the product, the origin, hashes of the batch's attributes and documents (which stay
//! off the chain), and the **rules**: for each [`EventKind`] (produced, inspected, shipped,
//! customs cleared, received by the retailer), the accounts that may append it. Those parties
//! append custody events (location, evidence hash; the actor, height and block time are the
//! chain's); a batch's events are numbered from 0 and never change or go away. A batch may be
//! split into sub-batches and items: they are batches too ([`BatchKind`]), under the same owner,
//! each naming its parent, so every item leads back to the origin batch.
//!
//! # Records and their keys
//! Every record has a fixed encoded size and is stored as a module record of
//! [`Module::Traceability`](crate::Module::Traceability) under the key bytes these functions
//! give (the state hashes them with its module-record tag and stores the record in 64-byte
//! chunks):
//!
//! | record | key | holds |
//! | --- | --- | --- |
//! | [`Batch`] | [`batch_key`]`(owner, id)` | a batch or item |
//! | [`TraceEvent`] | [`event_key`]`(owner, id, index)` | event `index` of that batch, `0..batch.events` |
//! | [`ChildLink`] | [`child_key`]`(owner, id, index)` | the id of its child `index`, `0..batch.children` |
//!
//! # Walking a history
//! To show where an item came from: read [`Batch`] at `batch_key(owner, id)`, then its events
//! `event_key(owner, id, 0)` up to `events - 1`; if it has a `parent`, do the same for
//! `batch_key(owner, parent)`, and so on until a batch without a parent, the origin batch.
//! Parents have lower [`Batch::depth`]s (the origin's is 0, a child's is its parent's plus one,
//! at most [`SPLIT_DEPTH_MAX`]), so the walk reads at most `SPLIT_DEPTH_MAX + 1` batches and
//! ends. Events are only ever appended and parent links never change, so a batch's first
//! `events` events read at any later height are the same. The children of a batch are found the
//! other way, through its [`ChildLink`]s (for a recall: every item made from a batch).

use crate::primitives::{AccountId, Hash, Height, ParseError};
use bytes::BufMut;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most events one batch records (indexes `0..EVENTS_PER_BATCH_MAX`).
pub const EVENTS_PER_BATCH_MAX: u16 = 256;

/// The most children one split makes.
pub const SPLIT_CHILDREN_MAX: usize = 16;

/// The most children one batch has over all its splits.
pub const CHILDREN_PER_BATCH_MAX: u16 = 256;

/// The most splits between a batch and its origin: an origin batch has depth 0, and a split of
/// a batch at this depth is refused. A history thus holds at most `SPLIT_DEPTH_MAX + 1` batches.
pub const SPLIT_DEPTH_MAX: u8 = 8;

/// The most accounts the rules allow for one event kind.
pub const PARTIES_PER_KIND_MAX: usize = 4;

/// The longest product name, origin or location, in bytes.
pub const TRACE_TEXT_BYTES_MAX: usize = 48;

/// The module key of the batch `id` of `owner`.
pub fn batch_key(owner: &AccountId, id: &BatchId) -> Vec<u8> {
    [&b"trace-batch"[..], &owner.0, &id.encode()].concat()
}

/// The module key of event `index` of the batch `id` of `owner`.
pub fn event_key(owner: &AccountId, id: &BatchId, index: u16) -> Vec<u8> {
    [&b"trace-event"[..], &owner.0, &id.encode(), &index.to_be_bytes()].concat()
}

/// The module key of the link to child `index` of the batch `id` of `owner`.
pub fn child_key(owner: &AccountId, id: &BatchId, index: u16) -> Vec<u8> {
    [&b"trace-child"[..], &owner.0, &id.encode(), &index.to_be_bytes()].concat()
}

/// A batch or item id: 1 to 32 characters of `A`-`Z`, `a`-`z`, `0`-`9`, `.`, `_` and `-`;
/// unique per owner.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BatchId {
    len: u8,
    bytes: [u8; 32],
}

impl BatchId {
    /// The longest id, in bytes.
    pub const BYTES_MAX: usize = 32;

    /// Checks and stores an id.
    pub fn new(id: &str) -> Result<Self, ParseError> {
        if id.is_empty() || id.len() > Self::BYTES_MAX {
            return Err(ParseError::Length { expected: Self::BYTES_MAX, actual: id.len() });
        }
        if !Self::valid(id.as_bytes()) {
            return Err(ParseError::Invalid(format!("batch id {id:?} may hold only A-Z, a-z, 0-9, '.', '_' and '-'")));
        }
        let mut bytes = [0u8; 32];
        bytes[..id.len()].copy_from_slice(id.as_bytes());
        Ok(Self { len: id.len() as u8, bytes })
    }

    fn valid(bytes: &[u8]) -> bool {
        bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked when made or decoded")
    }

    /// The id as an event topic: its bytes, zero-padded to 32.
    pub fn topic(&self) -> [u8; 32] {
        self.bytes
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchId({:?})", self.as_str())
    }
}

impl TryFrom<String> for BatchId {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(&text)
    }
}

impl From<BatchId> for String {
    fn from(id: BatchId) -> Self {
        id.as_str().to_string()
    }
}

impl Write for BatchId {
    fn write(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl FixedSize for BatchId {
    const SIZE: usize = 1 + 32;
}

impl Read for BatchId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let bytes = <[u8; 32]>::read(buf)?;
        let used = usize::from(len);
        if used == 0 || used > Self::BYTES_MAX || bytes[used..].iter().any(|byte| *byte != 0) {
            return Err(CodecError::Invalid("BatchId", "bad length or padding"));
        }
        if !Self::valid(&bytes[..used]) {
            return Err(CodecError::Invalid("BatchId", "bad character"));
        }
        Ok(Self { len, bytes })
    }
}

/// A short human text (a product name, an origin, a location): 1 to [`TRACE_TEXT_BYTES_MAX`]
/// bytes of UTF-8 without control characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TraceText {
    len: u8,
    bytes: [u8; TRACE_TEXT_BYTES_MAX],
}

impl TraceText {
    /// Checks and stores a text.
    pub fn new(text: &str) -> Result<Self, ParseError> {
        if text.is_empty() || text.len() > TRACE_TEXT_BYTES_MAX {
            return Err(ParseError::Length { expected: TRACE_TEXT_BYTES_MAX, actual: text.len() });
        }
        if text.chars().any(char::is_control) {
            return Err(ParseError::Invalid(format!("{text:?} holds control characters")));
        }
        let mut bytes = [0u8; TRACE_TEXT_BYTES_MAX];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Self { len: text.len() as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked when made or decoded")
    }
}

impl fmt::Display for TraceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TraceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceText({:?})", self.as_str())
    }
}

impl TryFrom<String> for TraceText {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(&text)
    }
}

impl From<TraceText> for String {
    fn from(text: TraceText) -> Self {
        text.as_str().to_string()
    }
}

impl Write for TraceText {
    fn write(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl FixedSize for TraceText {
    const SIZE: usize = 1 + TRACE_TEXT_BYTES_MAX;
}

impl Read for TraceText {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let bytes = <[u8; TRACE_TEXT_BYTES_MAX]>::read(buf)?;
        let used = usize::from(len);
        if used == 0 || used > TRACE_TEXT_BYTES_MAX || bytes[used..].iter().any(|byte| *byte != 0) {
            return Err(CodecError::Invalid("TraceText", "bad length or padding"));
        }
        let Ok(text) = std::str::from_utf8(&bytes[..used]) else {
            return Err(CodecError::Invalid("TraceText", "not UTF-8"));
        };
        if text.chars().any(char::is_control) {
            return Err(CodecError::Invalid("TraceText", "a control character"));
        }
        Ok(Self { len, bytes })
    }
}

/// A kind of custody event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Produced,
    Inspected,
    Shipped,
    CustomsCleared,
    /// Received by the retailer.
    Received,
}

impl EventKind {
    /// Every kind, in tag order (the order of the rules' lists).
    pub const ALL: [EventKind; 5] =
        [EventKind::Produced, EventKind::Inspected, EventKind::Shipped, EventKind::CustomsCleared, EventKind::Received];

    /// The kind's tag in encodings and its list's position in [`Rules`].
    pub fn tag(self) -> u8 {
        match self {
            EventKind::Produced => 0,
            EventKind::Inspected => 1,
            EventKind::Shipped => 2,
            EventKind::CustomsCleared => 3,
            EventKind::Received => 4,
        }
    }

    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.get(usize::from(tag)).copied()
    }

    /// The kind's name in the CLI, the RPC and the docs.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Produced => "produced",
            EventKind::Inspected => "inspected",
            EventKind::Shipped => "shipped",
            EventKind::CustomsCleared => "customs_cleared",
            EventKind::Received => "received",
        }
    }

    /// The kind named `name` (as [`EventKind::name`] gives it; `-` may stand for `_`).
    pub fn parse(name: &str) -> Result<Self, ParseError> {
        let name = name.replace('-', "_");
        Self::ALL.into_iter().find(|kind| kind.name() == name).ok_or_else(|| {
            ParseError::Invalid(format!(
                "unknown event kind {name:?} (produced, inspected, shipped, customs_cleared, received)"
            ))
        })
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Write for EventKind {
    fn write(&self, buf: &mut impl BufMut) {
        self.tag().write(buf);
    }
}

impl FixedSize for EventKind {
    const SIZE: usize = 1;
}

impl Read for EventKind {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        Self::from_tag(tag).ok_or(CodecError::InvalidEnum(tag))
    }
}

/// Who may append each kind of event to a batch: up to [`PARTIES_PER_KIND_MAX`] accounts per
/// kind. The owner may append only the kinds that list it, like anyone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rules {
    lists: [PartyList; 5],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PartyList {
    count: u8,
    parties: [AccountId; PARTIES_PER_KIND_MAX],
}

/// The unused slots of a party list.
const NO_ACCOUNT: AccountId = AccountId([0; 32]);

impl Default for PartyList {
    fn default() -> Self {
        Self { count: 0, parties: [NO_ACCOUNT; PARTIES_PER_KIND_MAX] }
    }
}

impl Rules {
    /// Rules from each kind's parties. Refuses a list longer than [`PARTIES_PER_KIND_MAX`], an
    /// account listed twice for one kind, and the all-zero account.
    pub fn new(parties: &[(EventKind, Vec<AccountId>)]) -> Result<Self, ParseError> {
        let mut rules = Rules::default();
        for (kind, accounts) in parties {
            for account in accounts {
                rules.allow(*kind, *account)?;
            }
        }
        Ok(rules)
    }

    /// Adds `account` to the parties that may append `kind`.
    pub fn allow(&mut self, kind: EventKind, account: AccountId) -> Result<(), ParseError> {
        if account == NO_ACCOUNT {
            return Err(ParseError::Invalid("the all-zero account cannot be a party".into()));
        }
        let list = &mut self.lists[usize::from(kind.tag())];
        let count = usize::from(list.count);
        if list.parties[..count].contains(&account) {
            return Err(ParseError::Invalid(format!("{account} is listed twice for {kind}")));
        }
        if count == PARTIES_PER_KIND_MAX {
            return Err(ParseError::Invalid(format!("at most {PARTIES_PER_KIND_MAX} parties may append {kind}")));
        }
        list.parties[count] = account;
        list.count += 1;
        Ok(())
    }

    /// The accounts that may append `kind`.
    pub fn parties(&self, kind: EventKind) -> &[AccountId] {
        let list = &self.lists[usize::from(kind.tag())];
        &list.parties[..usize::from(list.count)]
    }

    /// Whether `account` may append `kind`.
    pub fn allows(&self, kind: EventKind, account: &AccountId) -> bool {
        self.parties(kind).contains(account)
    }

    /// Every account the rules name, each once, in order.
    pub fn accounts(&self) -> Vec<AccountId> {
        let mut accounts: Vec<AccountId> =
            EventKind::ALL.into_iter().flat_map(|kind| self.parties(kind).iter().copied()).collect();
        accounts.sort();
        accounts.dedup();
        accounts
    }
}

impl Write for Rules {
    fn write(&self, buf: &mut impl BufMut) {
        for list in &self.lists {
            list.count.write(buf);
            for party in &list.parties {
                party.write(buf);
            }
        }
    }
}

impl FixedSize for Rules {
    const SIZE: usize = 5 * (1 + PARTIES_PER_KIND_MAX * AccountId::SIZE);
}

impl Read for Rules {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let mut rules = Rules::default();
        for kind in EventKind::ALL {
            let count = usize::from(u8::read(buf)?);
            if count > PARTIES_PER_KIND_MAX {
                return Err(CodecError::Invalid("Rules", "too many parties for a kind"));
            }
            let mut padding = Vec::new();
            for slot in 0..PARTIES_PER_KIND_MAX {
                let party = AccountId::read(buf)?;
                if slot < count {
                    rules.allow(kind, party).map_err(|_| CodecError::Invalid("Rules", "a zero or repeated party"))?;
                } else {
                    padding.push(party);
                }
            }
            if padding.iter().any(|party| *party != NO_ACCOUNT) {
                return Err(CodecError::Invalid("Rules", "a party without its count"));
            }
        }
        Ok(rules)
    }
}

/// What a batch is: a batch (split further as needed) or a single item (never split).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchKind {
    Batch,
    Item,
}

impl BatchKind {
    fn tag(self) -> u8 {
        match self {
            BatchKind::Batch => 0,
            BatchKind::Item => 1,
        }
    }
}

impl fmt::Display for BatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BatchKind::Batch => "batch",
            BatchKind::Item => "item",
        })
    }
}

impl Write for BatchKind {
    fn write(&self, buf: &mut impl BufMut) {
        self.tag().write(buf);
    }
}

impl FixedSize for BatchKind {
    const SIZE: usize = 1;
}

impl Read for BatchKind {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(BatchKind::Batch),
            1 => Ok(BatchKind::Item),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

/// What a manufacturer registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchTerms {
    pub id: BatchId,
    pub product: TraceText,
    pub origin: TraceText,
    /// The hash of the batch's attributes (the attributes stay off the chain).
    pub attributes: Hash,
    /// The hash of the batch's documents (certificates, test reports; off the chain).
    pub documents: Hash,
    pub rules: Rules,
}

impl Write for BatchTerms {
    fn write(&self, buf: &mut impl BufMut) {
        self.id.write(buf);
        self.product.write(buf);
        self.origin.write(buf);
        self.attributes.write(buf);
        self.documents.write(buf);
        self.rules.write(buf);
    }
}

impl FixedSize for BatchTerms {
    const SIZE: usize = BatchId::SIZE + 2 * TraceText::SIZE + 2 * Hash::SIZE + Rules::SIZE;
}

impl Read for BatchTerms {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            id: BatchId::read(buf)?,
            product: TraceText::read(buf)?,
            origin: TraceText::read(buf)?,
            attributes: Hash::read(buf)?,
            documents: Hash::read(buf)?,
            rules: Rules::read(buf)?,
        })
    }
}

/// One new batch or item of a split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildSpec {
    pub id: BatchId,
    pub kind: BatchKind,
    /// The hash of the child's own attributes (a serial number, a packaging).
    pub attributes: Hash,
}

impl Write for ChildSpec {
    fn write(&self, buf: &mut impl BufMut) {
        self.id.write(buf);
        self.kind.write(buf);
        self.attributes.write(buf);
    }
}

impl FixedSize for ChildSpec {
    const SIZE: usize = BatchId::SIZE + BatchKind::SIZE + Hash::SIZE;
}

impl Read for ChildSpec {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { id: BatchId::read(buf)?, kind: BatchKind::read(buf)?, attributes: Hash::read(buf)? })
    }
}

/// An operation of the traceability module (`Payload::Trace`). Batches are named by their
/// owner and id; the owner of a new batch is the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceOp {
    /// The sender (the manufacturer) registers an origin batch.
    Register(BatchTerms),
    /// A party the batch's rules allow appends an event of `kind` as event number `events`.
    Append { owner: AccountId, id: BatchId, kind: EventKind, location: TraceText, evidence: Hash },
    /// The owner, or a party allowed to append any kind of event to the batch, splits it into 1
    /// to [`SPLIT_CHILDREN_MAX`] new batches or items under the owner. They take the batch's
    /// product, origin and documents, and its rules unless `rules` is given (by the owner only).
    Split { owner: AccountId, id: BatchId, children: Vec<ChildSpec>, rules: Option<Rules> },
    /// The owner replaces a batch's rules while it has no events.
    SetRules { id: BatchId, rules: Rules },
}

impl TraceOp {
    const TAG_REGISTER: u8 = 0;
    const TAG_APPEND: u8 = 1;
    const TAG_SPLIT: u8 = 2;
    const TAG_SET_RULES: u8 = 3;

    /// The owner and id of the batch the operation acts on, given the transaction's sender.
    pub fn batch(&self, sender: &AccountId) -> (AccountId, BatchId) {
        match self {
            TraceOp::Register(terms) => (*sender, terms.id),
            TraceOp::Append { owner, id, .. } | TraceOp::Split { owner, id, .. } => (*owner, *id),
            TraceOp::SetRules { id, .. } => (*sender, *id),
        }
    }

    /// A short name for logs and the CLI.
    pub fn kind(&self) -> &'static str {
        match self {
            TraceOp::Register(_) => "trace_register",
            TraceOp::Append { .. } => "trace_append",
            TraceOp::Split { .. } => "trace_split",
            TraceOp::SetRules { .. } => "trace_set_rules",
        }
    }
}

impl Write for TraceOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            TraceOp::Register(terms) => {
                Self::TAG_REGISTER.write(buf);
                terms.write(buf);
            }
            TraceOp::Append { owner, id, kind, location, evidence } => {
                Self::TAG_APPEND.write(buf);
                owner.write(buf);
                id.write(buf);
                kind.write(buf);
                location.write(buf);
                evidence.write(buf);
            }
            TraceOp::Split { owner, id, children, rules } => {
                Self::TAG_SPLIT.write(buf);
                owner.write(buf);
                id.write(buf);
                u8::try_from(children.len()).expect("at most SPLIT_CHILDREN_MAX children").write(buf);
                for child in children {
                    child.write(buf);
                }
                rules.is_some().write(buf);
                if let Some(rules) = rules {
                    rules.write(buf);
                }
            }
            TraceOp::SetRules { id, rules } => {
                Self::TAG_SET_RULES.write(buf);
                id.write(buf);
                rules.write(buf);
            }
        }
    }
}

impl EncodeSize for TraceOp {
    fn encode_size(&self) -> usize {
        const BATCH: usize = AccountId::SIZE + BatchId::SIZE;
        1 + match self {
            TraceOp::Register(_) => BatchTerms::SIZE,
            TraceOp::Append { .. } => BATCH + EventKind::SIZE + TraceText::SIZE + Hash::SIZE,
            TraceOp::Split { children, rules, .. } => {
                BATCH + 1 + children.len() * ChildSpec::SIZE + 1 + rules.map_or(0, |_| Rules::SIZE)
            }
            TraceOp::SetRules { .. } => BatchId::SIZE + Rules::SIZE,
        }
    }
}

impl Read for TraceOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_REGISTER => TraceOp::Register(BatchTerms::read(buf)?),
            Self::TAG_APPEND => TraceOp::Append {
                owner: AccountId::read(buf)?,
                id: BatchId::read(buf)?,
                kind: EventKind::read(buf)?,
                location: TraceText::read(buf)?,
                evidence: Hash::read(buf)?,
            },
            Self::TAG_SPLIT => {
                let owner = AccountId::read(buf)?;
                let id = BatchId::read(buf)?;
                let count = usize::from(u8::read(buf)?);
                if !(1..=SPLIT_CHILDREN_MAX).contains(&count) {
                    return Err(CodecError::Invalid("TraceOp", "a split makes 1 to 16 children"));
                }
                let children = (0..count).map(|_| ChildSpec::read(buf)).collect::<Result<Vec<_>, _>>()?;
                let rules = if bool::read(buf)? { Some(Rules::read(buf)?) } else { None };
                TraceOp::Split { owner, id, children, rules }
            }
            Self::TAG_SET_RULES => TraceOp::SetRules { id: BatchId::read(buf)?, rules: Rules::read(buf)? },
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// A batch or item as the chain keeps it, under [`batch_key`]`(owner, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The manufacturer that registered the origin batch.
    pub owner: AccountId,
    pub id: BatchId,
    pub kind: BatchKind,
    /// The batch it was split from, under the same owner (`None` for an origin batch).
    pub parent: Option<BatchId>,
    /// Splits between it and its origin batch (0 for the origin).
    pub depth: u8,
    pub product: TraceText,
    pub origin: TraceText,
    pub attributes: Hash,
    pub documents: Hash,
    pub rules: Rules,
    /// Its events are numbered from 0 below this.
    pub events: u16,
    /// Its children are numbered from 0 below this.
    pub children: u16,
    pub created_at: Height,
    /// The block time it was created at, milliseconds since the Unix epoch.
    pub created_ms: u64,
}

impl Batch {
    /// The module key this batch is stored under.
    pub fn key(&self) -> Vec<u8> {
        batch_key(&self.owner, &self.id)
    }
}

impl Write for Batch {
    fn write(&self, buf: &mut impl BufMut) {
        self.owner.write(buf);
        self.id.write(buf);
        self.kind.write(buf);
        self.parent.is_some().write(buf);
        match &self.parent {
            Some(parent) => parent.write(buf),
            None => buf.put_slice(&[0u8; BatchId::SIZE]),
        }
        self.depth.write(buf);
        self.product.write(buf);
        self.origin.write(buf);
        self.attributes.write(buf);
        self.documents.write(buf);
        self.rules.write(buf);
        self.events.write(buf);
        self.children.write(buf);
        self.created_at.write(buf);
        self.created_ms.write(buf);
    }
}

impl FixedSize for Batch {
    const SIZE: usize = AccountId::SIZE
        + BatchId::SIZE
        + BatchKind::SIZE
        + 1
        + BatchId::SIZE
        + 1
        + 2 * TraceText::SIZE
        + 2 * Hash::SIZE
        + Rules::SIZE
        + 2 * u16::SIZE
        + Height::SIZE
        + u64::SIZE;
}

impl Read for Batch {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let owner = AccountId::read(buf)?;
        let id = BatchId::read(buf)?;
        let kind = BatchKind::read(buf)?;
        let parent = if bool::read(buf)? {
            Some(BatchId::read(buf)?)
        } else {
            let padding = <[u8; BatchId::SIZE]>::read(buf)?;
            if padding.iter().any(|byte| *byte != 0) {
                return Err(CodecError::Invalid("Batch", "a parent without its flag"));
            }
            None
        };
        let batch = Self {
            owner,
            id,
            kind,
            parent,
            depth: u8::read(buf)?,
            product: TraceText::read(buf)?,
            origin: TraceText::read(buf)?,
            attributes: Hash::read(buf)?,
            documents: Hash::read(buf)?,
            rules: Rules::read(buf)?,
            events: u16::read(buf)?,
            children: u16::read(buf)?,
            created_at: Height::read(buf)?,
            created_ms: u64::read(buf)?,
        };
        if batch.depth > SPLIT_DEPTH_MAX
            || (batch.depth == 0) != batch.parent.is_none()
            || batch.events > EVENTS_PER_BATCH_MAX
            || batch.children > CHILDREN_PER_BATCH_MAX
            || (batch.kind == BatchKind::Item && batch.children > 0)
        {
            return Err(CodecError::Invalid("Batch", "impossible depth, parent or counts"));
        }
        Ok(batch)
    }
}

/// One custody event, under [`event_key`]`(owner, id, index)`: written once, never changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    pub kind: EventKind,
    /// The account that appended it (the transaction's sender).
    pub actor: AccountId,
    /// The block time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    pub height: Height,
    pub location: TraceText,
    /// The hash of the evidence (an inspection report, a bill of lading, a customs declaration).
    pub evidence: Hash,
}

impl Write for TraceEvent {
    fn write(&self, buf: &mut impl BufMut) {
        self.kind.write(buf);
        self.actor.write(buf);
        self.timestamp_ms.write(buf);
        self.height.write(buf);
        self.location.write(buf);
        self.evidence.write(buf);
    }
}

impl FixedSize for TraceEvent {
    const SIZE: usize = EventKind::SIZE + AccountId::SIZE + u64::SIZE + Height::SIZE + TraceText::SIZE + Hash::SIZE;
}

impl Read for TraceEvent {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            kind: EventKind::read(buf)?,
            actor: AccountId::read(buf)?,
            timestamp_ms: u64::read(buf)?,
            height: Height::read(buf)?,
            location: TraceText::read(buf)?,
            evidence: Hash::read(buf)?,
        })
    }
}

/// The link from a batch to one of its children, under [`child_key`]`(owner, id, index)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildLink {
    pub child: BatchId,
}

impl Write for ChildLink {
    fn write(&self, buf: &mut impl BufMut) {
        self.child.write(buf);
    }
}

impl FixedSize for ChildLink {
    const SIZE: usize = BatchId::SIZE;
}

impl Read for ChildLink {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { child: BatchId::read(buf)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Payload, hash_tagged, hash_to_hex};
    use commonware_codec::DecodeExt;
    use proptest::prelude::*;

    fn id(text: &str) -> BatchId {
        BatchId::new(text).expect("valid id")
    }

    fn text(text: &str) -> TraceText {
        TraceText::new(text).expect("valid text")
    }

    fn rules() -> Rules {
        Rules::new(&[
            (EventKind::Produced, vec![AccountId([1; 32])]),
            (EventKind::Inspected, vec![AccountId([2; 32]), AccountId([3; 32])]),
            (EventKind::Received, vec![AccountId([4; 32]); 1]),
        ])
        .expect("valid rules")
    }

    fn terms() -> BatchTerms {
        BatchTerms {
            id: id("MP-2026-001"),
            product: text("Whole milk powder 900 g"),
            origin: text("Waikato, New Zealand"),
            attributes: hash_tagged(b"test/attributes", &[]),
            documents: hash_tagged(b"test/documents", &[]),
            rules: rules(),
        }
    }

    fn batch() -> Batch {
        Batch {
            owner: AccountId([9; 32]),
            id: id("MP-2026-001.A"),
            kind: BatchKind::Batch,
            parent: Some(id("MP-2026-001")),
            depth: 1,
            product: text("Whole milk powder 900 g"),
            origin: text("Waikato, New Zealand"),
            attributes: hash_tagged(b"test/attributes", &[]),
            documents: hash_tagged(b"test/documents", &[]),
            rules: rules(),
            events: 3,
            children: 2,
            created_at: Height(5),
            created_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn ids_and_texts_are_bounded_and_checked() {
        assert!(BatchId::new("").is_err());
        assert!(BatchId::new(&"A".repeat(33)).is_err(), "an oversized id");
        assert!(BatchId::new("MP 1").is_err() && BatchId::new("MP/1").is_err() && BatchId::new("ü").is_err());
        assert_eq!(id(&"a".repeat(32)).as_str().len(), 32);
        assert!(TraceText::new("").is_err());
        assert!(TraceText::new(&"x".repeat(TRACE_TEXT_BYTES_MAX + 1)).is_err(), "an oversized text");
        assert!(TraceText::new("line\nbreak").is_err());
        // 16 three-byte characters are 48 bytes: the limit counts bytes, not characters.
        assert!(TraceText::new(&"奶".repeat(16)).is_ok());
        assert!(TraceText::new(&"奶".repeat(17)).is_err());
        // Undecodable texts and ids: oversized length, bytes past the length, a control character.
        let mut long = text("Port of Tianjin").encode().to_vec();
        long[0] = (TRACE_TEXT_BYTES_MAX + 1) as u8;
        assert!(TraceText::decode(long).is_err());
        let mut padded = text("Port").encode().to_vec();
        padded[10] = b'x';
        assert!(TraceText::decode(padded).is_err());
        let mut control = text("Port").encode().to_vec();
        control[1] = 0x07;
        assert!(TraceText::decode(control).is_err());
        let mut bad_id = id("MP-1").encode().to_vec();
        bad_id[2] = b' ';
        assert!(BatchId::decode(bad_id).is_err());
    }

    #[test]
    fn rules_refuse_long_lists_repeats_and_the_zero_account() {
        let five = (1..=5).map(|byte| AccountId([byte; 32])).collect();
        assert!(Rules::new(&[(EventKind::Shipped, five)]).is_err());
        assert!(Rules::new(&[(EventKind::Shipped, vec![AccountId([1; 32]); 2])]).is_err());
        assert!(Rules::new(&[(EventKind::Shipped, vec![AccountId([0; 32])])]).is_err());
        let rules = rules();
        assert!(rules.allows(EventKind::Inspected, &AccountId([3; 32])));
        assert!(!rules.allows(EventKind::Shipped, &AccountId([3; 32])));
        assert_eq!(rules.accounts().len(), 4);
        // A count above the limit, a repeated party and a party past the count do not decode.
        let encoded = rules.encode().to_vec();
        let mut long = encoded.clone();
        long[0] = 5;
        assert!(Rules::decode(long).is_err());
        let mut repeated = encoded.clone();
        repeated[0] = 2;
        repeated[1 + 32..1 + 64].copy_from_slice(&[1; 32]);
        assert!(Rules::decode(repeated).is_err());
        let mut hidden = encoded;
        hidden[1 + 32] = 7;
        assert!(Rules::decode(hidden).is_err());
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.name()), Ok(kind));
            assert_eq!(EventKind::from_tag(kind.tag()), Some(kind));
        }
        assert_eq!(EventKind::parse("customs-cleared"), Ok(EventKind::CustomsCleared));
        assert!(EventKind::parse("sold").is_err());
    }

    #[test]
    fn records_round_trip_and_impossible_records_are_refused() {
        let batch = batch();
        assert_eq!(batch.encode().len(), Batch::SIZE);
        assert_eq!(Batch::decode(batch.encode()).expect("decodes"), batch);
        let origin = Batch { parent: None, depth: 0, ..batch };
        assert_eq!(Batch::decode(origin.encode()).expect("decodes"), origin);
        for bad in [
            Batch { parent: None, ..batch },
            Batch { depth: 0, ..batch },
            Batch { depth: SPLIT_DEPTH_MAX + 1, ..batch },
            Batch { events: EVENTS_PER_BATCH_MAX + 1, ..batch },
            Batch { children: CHILDREN_PER_BATCH_MAX + 1, ..batch },
            Batch { kind: BatchKind::Item, ..batch },
        ] {
            assert!(Batch::decode(bad.encode()).is_err(), "{bad:?}");
        }
        let mut ghost_parent = origin.encode().to_vec();
        ghost_parent[AccountId::SIZE + BatchId::SIZE + 1 + 1] = 4;
        assert!(Batch::decode(ghost_parent).is_err());
        let event = TraceEvent {
            kind: EventKind::CustomsCleared,
            actor: AccountId([5; 32]),
            timestamp_ms: 1_700_000_000_000,
            height: Height(8),
            location: text("Tianjin customs"),
            evidence: hash_tagged(b"test/declaration", &[]),
        };
        assert_eq!(event.encode().len(), TraceEvent::SIZE);
        assert_eq!(TraceEvent::decode(event.encode()).expect("decodes"), event);
        let mut kind = event.encode().to_vec();
        kind[0] = 5;
        assert!(TraceEvent::decode(kind).is_err());
        let link = ChildLink { child: id("ITEM-7") };
        assert_eq!(ChildLink::decode(link.encode()).expect("decodes"), link);
        // The records stay a handful of 64-byte chunks.
        assert_eq!((Batch::SIZE, TraceEvent::SIZE, ChildLink::SIZE), (928, 130, 33));
    }

    #[test]
    fn keys_are_distinct_per_owner_id_index_and_record() {
        let (one, two) = (AccountId([1; 32]), AccountId([2; 32]));
        let keys = [
            batch_key(&one, &id("A")),
            batch_key(&two, &id("A")),
            batch_key(&one, &id("AB")),
            event_key(&one, &id("A"), 0),
            event_key(&one, &id("A"), 1),
            event_key(&one, &id("AB"), 0),
            child_key(&one, &id("A"), 0),
            child_key(&one, &id("A"), 1),
        ];
        let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        assert_eq!(batch().key(), batch_key(&AccountId([9; 32]), &id("MP-2026-001.A")));
    }

    #[test]
    fn splits_of_no_child_or_too_many_do_not_decode() {
        let child = ChildSpec { id: id("I-1"), kind: BatchKind::Item, attributes: hash_tagged(b"test/item", &[]) };
        for count in [0usize, SPLIT_CHILDREN_MAX + 1] {
            let mut bytes = vec![23u8, 2];
            bytes.extend_from_slice(&[9; 32]);
            bytes.extend_from_slice(&id("MP-1").encode());
            bytes.push(count as u8);
            for _ in 0..count {
                bytes.extend_from_slice(&child.encode());
            }
            bytes.push(0);
            assert!(Payload::decode(bytes).is_err(), "{count} children");
        }
    }

    #[test]
    fn golden_encoding() {
        let child = ChildSpec { id: id("I-1"), kind: BatchKind::Item, attributes: hash_tagged(b"test/item", &[]) };
        let ops = [
            TraceOp::Register(terms()),
            TraceOp::Append {
                owner: AccountId([9; 32]),
                id: id("MP-2026-001"),
                kind: EventKind::Shipped,
                location: text("Port of Tauranga"),
                evidence: hash_tagged(b"test/bill-of-lading", &[]),
            },
            TraceOp::Split { owner: AccountId([9; 32]), id: id("MP-2026-001"), children: vec![child; 2], rules: None },
            TraceOp::SetRules { id: id("MP-2026-001"), rules: rules() },
        ];
        let bytes: Vec<u8> = ops.iter().flat_map(|op| Payload::Trace(Box::new(op.clone())).encode().to_vec()).collect();
        let keys = [batch_key(&AccountId([9; 32]), &id("MP-1")), event_key(&AccountId([9; 32]), &id("MP-1"), 3)];
        assert_eq!(
            hash_to_hex(&hash_tagged(b"test/golden", &[&bytes, &keys[0], &keys[1], &batch().encode()])),
            "0x7fa2236d64a4dcfa2c412c192e037ad74caf6b7f5277dd083978805c77eb627e"
        );
    }

    fn op() -> impl Strategy<Value = TraceOp> {
        let account = any::<[u8; 32]>().prop_map(AccountId);
        let hash = any::<[u8; 32]>().prop_map(|bytes| hash_tagged(b"test/hash", &[&bytes]));
        let batch_id = "[A-Za-z0-9._-]{1,32}".prop_map(|text| id(&text));
        let trace_text = "[ -~]{1,48}".prop_map(|value| text(&value));
        let kind = (0u8..5).prop_map(|tag| EventKind::from_tag(tag).expect("a kind"));
        let child = (batch_id.clone(), any::<bool>(), hash.clone()).prop_map(|(id, item, attributes)| ChildSpec {
            id,
            kind: if item { BatchKind::Item } else { BatchKind::Batch },
            attributes,
        });
        let parties = proptest::collection::btree_set(1u8..=255, 0..=PARTIES_PER_KIND_MAX);
        let rules = (kind.clone(), parties).prop_map(|(kind, bytes)| {
            Rules::new(&[(kind, bytes.into_iter().map(|byte| AccountId([byte; 32])).collect())]).expect("valid")
        });
        (
            0u8..4,
            (account, batch_id, kind, trace_text.clone(), trace_text, hash.clone(), hash),
            (proptest::collection::vec(child, 1..=SPLIT_CHILDREN_MAX), proptest::option::of(rules)),
        )
            .prop_map(|(tag, (owner, id, kind, one, two, first, second), (children, rules))| match tag {
                0 => TraceOp::Register(BatchTerms {
                    id,
                    product: one,
                    origin: two,
                    attributes: first,
                    documents: second,
                    rules: rules.unwrap_or_default(),
                }),
                1 => TraceOp::Append { owner, id, kind, location: one, evidence: first },
                2 => TraceOp::Split { owner, id, children, rules },
                _ => TraceOp::SetRules { id, rules: rules.unwrap_or_default() },
            })
    }

    proptest! {
        #[test]
        fn operations_round_trip(op in op()) {
            let payload = Payload::Trace(Box::new(op));
            let bytes = payload.encode();
            prop_assert_eq!(bytes.len(), payload.encode_size());
            prop_assert_eq!(Payload::decode(bytes).expect("decodes"), payload);
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            let mut tagged = vec![23u8];
            tagged.extend_from_slice(&bytes);
            let _ = Payload::decode(tagged);
            let _ = Batch::decode(bytes.clone());
            let _ = TraceEvent::decode(bytes);
        }
    }
}
