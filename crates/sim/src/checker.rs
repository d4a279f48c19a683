//! The invariant checker every fault test applies: pure functions over what the nodes recorded
//! and what the client was told. It knows nothing about the simulation, so tests that run real
//! processes can feed it the same records read over RPC.

use formica_types::{AccountId, Amount, Hash, Height, Nonce, hash_to_hex};
use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    time::Duration,
};

/// A transaction as a node recorded it inside a finalized block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedTransaction {
    pub hash: Hash,
    pub sender: AccountId,
    pub nonce: Nonce,
}

/// A finalized block as one node recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedBlock {
    pub height: Height,
    pub hash: Hash,
    /// The state root the block's header carries.
    pub state_root: Hash,
    pub transactions: Vec<RecordedTransaction>,
}

/// What a node's own state database held at one finalized height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateSample {
    pub height: Height,
    /// The root of the node's state database after applying the block at `height`.
    pub local_state_root: Hash,
    /// The sum of every balance in the node's state at `height`.
    pub balance_total: Amount,
    /// Per issued asset: what the known accounts hold of it, against its record.
    pub assets: Vec<AssetSample>,
}

/// One issued asset in a [`StateSample`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetSample {
    pub symbol: String,
    /// The sum of every known account's holding.
    pub held: Amount,
    /// The asset record's supply, minted and burned totals.
    pub supply: Amount,
    pub minted: Amount,
    pub burned: Amount,
}

/// One signed vote seen leaving a validator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignedVote {
    /// Index of the signer in the epoch's committee.
    pub signer: u32,
    /// The epoch (each epoch restarts views at zero).
    pub epoch: u64,
    pub view: u64,
    pub kind: VoteKind,
    /// The proposal voted for (`None` for a nullify vote).
    pub payload: Option<Hash>,
}

/// The kind of a consensus vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VoteKind {
    Notarize,
    Nullify,
    Finalize,
}

/// Everything one node recorded.
#[derive(Clone, Debug, Default)]
pub struct NodeLog {
    pub name: String,
    /// Byzantine nodes are not held to the invariants; their records are ignored.
    pub honest: bool,
    /// Finalized blocks, in height order from height 1.
    pub blocks: Vec<RecordedBlock>,
    pub states: Vec<StateSample>,
    /// Finalized height over time (sampled): the liveness record.
    pub heights: Vec<(Duration, Height)>,
}

/// What the client learned about one of its transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A node said it is final at this height and index.
    Final { height: Height, index: u32 },
    /// The client never learned (it stopped waiting or every node it asked was down).
    Unknown,
}

/// One transaction the client submitted (possibly several times, to several nodes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub hash: Hash,
    pub sender: AccountId,
    pub nonce: Nonce,
    pub outcome: Outcome,
}

/// Everything the client knows.
#[derive(Clone, Debug, Default)]
pub struct ClientLog {
    /// The total of every balance at genesis: value is never created or destroyed.
    pub genesis_supply: Amount,
    pub submissions: Vec<Submission>,
}

/// A stretch of time in which at least 2f+1 honest validators were up and connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StableWindow {
    pub start: Duration,
    pub end: Duration,
}

/// The liveness bounds a run promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LivenessBounds {
    /// Within a stable window (after `settle`), some honest node finalizes a block at least
    /// this often.
    pub block_gap_max: Duration,
    /// How long after a stable window opens the gap bound starts to apply (views time out).
    pub settle: Duration,
    /// Every honest node that is up during a stable window reaches the height the network had
    /// when the window opened within this time.
    pub catch_up_max: Duration,
}

/// Records of a whole run, the checker's input.
#[derive(Clone, Debug, Default)]
pub struct Records {
    pub nodes: Vec<NodeLog>,
    pub client: ClientLog,
    pub votes: Vec<SignedVote>,
    /// Signer indexes of the honest validators (only their votes must never conflict).
    pub honest_signers: BTreeSet<u32>,
    pub stable_windows: Vec<StableWindow>,
    /// `None`: liveness is not checked (a run with no stable window at the end).
    pub liveness: Option<LivenessBounds>,
}

/// One broken promise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    Fork { height: Height, first: (String, Hash, Hash), second: (String, Hash, Hash) },
    LocalStateDiverged { node: String, height: Height, local: Hash, expected: Hash },
    Lost { transaction: Hash, node: String, height: Height, index: u32, found: Option<(Height, u32)> },
    NotCaughtUp { node: String, head: Height, needed: Height },
    ExecutedTwice { node: String, sender: AccountId, nonce: Nonce, heights: (Height, Height) },
    NotConserved { node: String, height: Height, total: Amount, supply: Amount },
    AssetNotConserved { node: String, height: Height, asset: AssetSample },
    DoubleSigned { signer: u32, epoch: u64, view: u64, kind: VoteKind, payloads: (Option<Hash>, Option<Hash>) },
    SlowBlocks { from: Duration, to: Duration, gap_max: Duration },
    SlowCatchUp { node: String, window_start: Duration, needed: Height, within: Duration },
    BadRecord { node: String, reason: String },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = |hash: &Hash| hash_to_hex(hash);
        match self {
            Self::Fork { height, first, second } => write!(
                f,
                "fork at height {height}: {} has block {} (state root {}), {} has block {} (state root {})",
                first.0,
                hex(&first.1),
                hex(&first.2),
                second.0,
                hex(&second.1),
                hex(&second.2)
            ),
            Self::LocalStateDiverged { node, height, local, expected } => write!(
                f,
                "{node}'s state at height {height} has root {} but the finalized header says {}",
                hex(local),
                hex(expected)
            ),
            Self::Lost { transaction, node, height, index, found } => write!(
                f,
                "transaction {} was acknowledged final at height {height} index {index} but {node} has it at {found:?}",
                hex(transaction)
            ),
            Self::NotCaughtUp { node, head, needed } => {
                write!(f, "{node} ended at height {head}, below the acknowledged height {needed}")
            }
            Self::ExecutedTwice { node, sender, nonce, heights } => {
                write!(f, "{node} executed ({sender}, nonce {nonce}) twice, at heights {} and {}", heights.0, heights.1)
            }
            Self::NotConserved { node, height, total, supply } => {
                write!(f, "{node} holds {total} in total at height {height}, the genesis supply is {supply}")
            }
            Self::AssetNotConserved { node, height, asset } => write!(
                f,
                "{node} at height {height}: accounts hold {} {}, its supply is {} (minted {}, burned {})",
                asset.held, asset.symbol, asset.supply, asset.minted, asset.burned
            ),
            Self::DoubleSigned { signer, epoch, view, kind, payloads } => {
                write!(
                    f,
                    "validator {signer} signed two different {kind:?} votes in epoch {epoch} view {view}: {payloads:?}"
                )
            }
            Self::SlowBlocks { from, to, gap_max } => {
                write!(f, "no block finalized between {from:?} and {to:?} (bound {gap_max:?}) though 2f+1 were up")
            }
            Self::SlowCatchUp { node, window_start, needed, within } => write!(
                f,
                "{node} did not reach height {needed} within {within:?} of the network healing at {window_start:?}"
            ),
            Self::BadRecord { node, reason } => write!(f, "{node}'s records are malformed: {reason}"),
        }
    }
}

/// Applies every check; an empty result means every promise held.
pub fn check(records: &Records) -> Vec<Violation> {
    let honest: Vec<&NodeLog> = records.nodes.iter().filter(|node| node.honest).collect();
    let mut violations = Vec::new();
    violations.extend(check_records(&honest));
    violations.extend(check_no_fork(&honest));
    violations.extend(check_nothing_lost(&honest, &records.client));
    violations.extend(check_exactly_once(&honest));
    violations.extend(check_conservation(&honest, records.client.genesis_supply));
    violations.extend(check_double_signing(&records.votes, &records.honest_signers));
    if let Some(bounds) = records.liveness {
        violations.extend(check_liveness(&honest, &records.stable_windows, bounds));
    }
    violations
}

/// Blocks must be listed from height 1 without gaps: the other checks rely on it.
fn check_records(nodes: &[&NodeLog]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for node in nodes {
        for (position, block) in node.blocks.iter().enumerate() {
            if block.height != Height(position as u64 + 1) {
                violations.push(Violation::BadRecord {
                    node: node.name.clone(),
                    reason: format!("block {position} of the list has height {}", block.height),
                });
                break;
            }
        }
    }
    violations
}

/// Every honest node that finalized a height holds the same block and state root there, and its
/// own state database agrees with the header.
fn check_no_fork(nodes: &[&NodeLog]) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut first: BTreeMap<Height, (String, Hash, Hash)> = BTreeMap::new();
    for node in nodes {
        for block in &node.blocks {
            let seen = first.entry(block.height).or_insert_with(|| (node.name.clone(), block.hash, block.state_root));
            if (seen.1, seen.2) != (block.hash, block.state_root) {
                violations.push(Violation::Fork {
                    height: block.height,
                    first: seen.clone(),
                    second: (node.name.clone(), block.hash, block.state_root),
                });
            }
        }
    }
    for node in nodes {
        for sample in &node.states {
            let Some((_, _, expected)) = first.get(&sample.height) else {
                violations.push(Violation::BadRecord {
                    node: node.name.clone(),
                    reason: format!("a state sample at height {} that no node finalized", sample.height),
                });
                continue;
            };
            if sample.local_state_root != *expected {
                violations.push(Violation::LocalStateDiverged {
                    node: node.name.clone(),
                    height: sample.height,
                    local: sample.local_state_root,
                    expected: *expected,
                });
            }
        }
    }
    violations
}

/// Every transaction the client was told is final is on every honest node, at the same height
/// and index; every honest node reached the highest acknowledged height.
fn check_nothing_lost(nodes: &[&NodeLog], client: &ClientLog) -> Vec<Violation> {
    let mut violations = Vec::new();
    let needed = client
        .submissions
        .iter()
        .filter_map(|submission| match submission.outcome {
            Outcome::Final { height, .. } => Some(height),
            Outcome::Unknown => None,
        })
        .max();
    for node in nodes {
        let head = Height(node.blocks.len() as u64);
        if let Some(needed) = needed
            && head < needed
        {
            violations.push(Violation::NotCaughtUp { node: node.name.clone(), head, needed });
        }
        let mut location: BTreeMap<Hash, (Height, u32)> = BTreeMap::new();
        for block in &node.blocks {
            for (index, transaction) in block.transactions.iter().enumerate() {
                location.entry(transaction.hash).or_insert((block.height, index as u32));
            }
        }
        for submission in &client.submissions {
            let Outcome::Final { height, index } = submission.outcome else {
                continue;
            };
            if height > head {
                continue;
            }
            let found = location.get(&submission.hash).copied();
            if found != Some((height, index)) {
                violations.push(Violation::Lost {
                    transaction: submission.hash,
                    node: node.name.clone(),
                    height,
                    index,
                    found,
                });
            }
        }
    }
    violations
}

/// No (sender, nonce) executes twice on any honest node (so neither does any transaction,
/// acknowledged or not).
fn check_exactly_once(nodes: &[&NodeLog]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for node in nodes {
        let mut executed: BTreeMap<(AccountId, Nonce), Height> = BTreeMap::new();
        for block in &node.blocks {
            for transaction in &block.transactions {
                if let Some(previous) = executed.insert((transaction.sender, transaction.nonce), block.height) {
                    violations.push(Violation::ExecutedTwice {
                        node: node.name.clone(),
                        sender: transaction.sender,
                        nonce: transaction.nonce,
                        heights: (previous, block.height),
                    });
                }
            }
        }
    }
    violations
}

/// Native value equals the genesis supply, and per issued asset the holdings equal the supply,
/// which equals minted minus burned, at every sampled height.
fn check_conservation(nodes: &[&NodeLog], supply: Amount) -> Vec<Violation> {
    let mut violations = Vec::new();
    for node in nodes {
        for sample in &node.states {
            if sample.balance_total != supply {
                violations.push(Violation::NotConserved {
                    node: node.name.clone(),
                    height: sample.height,
                    total: sample.balance_total,
                    supply,
                });
            }
            for asset in &sample.assets {
                if asset.held != asset.supply || asset.minted.checked_sub(asset.burned) != Some(asset.supply) {
                    violations.push(Violation::AssetNotConserved {
                        node: node.name.clone(),
                        height: sample.height,
                        asset: asset.clone(),
                    });
                }
            }
        }
    }
    violations
}

/// No honest validator signs two different votes of one kind in one view.
fn check_double_signing(votes: &[SignedVote], honest: &BTreeSet<u32>) -> Vec<Violation> {
    let mut first: BTreeMap<(u32, u64, u64, VoteKind), Option<Hash>> = BTreeMap::new();
    let mut violations = Vec::new();
    for vote in votes.iter().filter(|vote| honest.contains(&vote.signer)) {
        let seen = first.entry((vote.signer, vote.epoch, vote.view, vote.kind)).or_insert(vote.payload);
        if *seen != vote.payload {
            violations.push(Violation::DoubleSigned {
                signer: vote.signer,
                epoch: vote.epoch,
                view: vote.view,
                kind: vote.kind,
                payloads: (*seen, vote.payload),
            });
        }
    }
    violations
}

/// The network's finalized height at `time`: the highest any honest node had reached.
fn network_height(nodes: &[&NodeLog], time: Duration) -> Height {
    nodes
        .iter()
        .filter_map(|node| node.heights.iter().take_while(|(at, _)| *at <= time).map(|(_, height)| *height).max())
        .max()
        .unwrap_or(Height(0))
}

/// When the network first reached each height: the earliest sample of it on any node.
pub fn first_reached<'a>(samples: impl IntoIterator<Item = &'a (Duration, Height)>) -> BTreeMap<Height, Duration> {
    let mut first: BTreeMap<Height, Duration> = BTreeMap::new();
    for (at, height) in samples {
        let entry = first.entry(*height).or_insert(*at);
        *entry = (*entry).min(*at);
    }
    first
}

fn check_liveness(nodes: &[&NodeLog], windows: &[StableWindow], bounds: LivenessBounds) -> Vec<Violation> {
    let mut violations = Vec::new();
    let first_reached = first_reached(nodes.iter().flat_map(|node| &node.heights));
    for window in windows {
        let from = window.start + bounds.settle;
        if from >= window.end {
            continue;
        }
        let mut progress: Vec<Duration> =
            first_reached.values().copied().filter(|at| *at > from && *at <= window.end).collect();
        progress.sort();
        let mut previous = from;
        for at in progress.into_iter().chain(std::iter::once(window.end)) {
            if at - previous > bounds.block_gap_max {
                violations.push(Violation::SlowBlocks { from: previous, to: at, gap_max: bounds.block_gap_max });
            }
            previous = at;
        }
        let needed = network_height(nodes, window.start);
        let deadline = window.start + bounds.catch_up_max;
        if deadline > window.end {
            continue;
        }
        for node in nodes {
            let reached = node.heights.iter().any(|(at, height)| *at <= deadline && *height >= needed);
            // A node that was never sampled in the window was down: nothing to require of it.
            let up = node.heights.iter().any(|(at, _)| *at >= window.start && *at <= deadline);
            if up && !reached {
                violations.push(Violation::SlowCatchUp {
                    node: node.name.clone(),
                    window_start: window.start,
                    needed,
                    within: bounds.catch_up_max,
                });
            }
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(byte: u8) -> Hash {
        commonware_cryptography::sha256::Digest([byte; 32])
    }

    fn account(byte: u8) -> AccountId {
        AccountId([byte; 32])
    }

    fn block(height: u64, byte: u8, transactions: Vec<RecordedTransaction>) -> RecordedBlock {
        RecordedBlock { height: Height(height), hash: hash(byte), state_root: hash(byte + 100), transactions }
    }

    fn transfer(byte: u8, nonce: u64) -> RecordedTransaction {
        RecordedTransaction { hash: hash(byte), sender: account(1), nonce: Nonce(nonce) }
    }

    fn node(name: &str, blocks: Vec<RecordedBlock>) -> NodeLog {
        NodeLog { name: name.into(), honest: true, blocks, states: Vec::new(), heights: Vec::new() }
    }

    fn agreeing() -> Records {
        let chain = vec![block(1, 1, vec![transfer(50, 0)]), block(2, 2, vec![transfer(51, 1)])];
        Records {
            nodes: vec![node("a", chain.clone()), node("b", chain)],
            client: ClientLog {
                genesis_supply: Amount(100),
                submissions: vec![Submission {
                    hash: hash(51),
                    sender: account(1),
                    nonce: Nonce(1),
                    outcome: Outcome::Final { height: Height(2), index: 0 },
                }],
            },
            ..Records::default()
        }
    }

    #[test]
    fn agreeing_records_pass() {
        assert_eq!(check(&agreeing()), Vec::new());
    }

    #[test]
    fn a_different_block_is_a_fork() {
        let mut records = agreeing();
        records.nodes[1].blocks[0].hash = hash(9);
        assert!(matches!(check(&records)[..], [Violation::Fork { height: Height(1), .. }]));
    }

    #[test]
    fn a_byzantine_node_is_not_held_to_the_invariants() {
        let mut records = agreeing();
        records.nodes[1].blocks[0].hash = hash(9);
        records.nodes[1].honest = false;
        assert_eq!(check(&records), Vec::new());
    }

    #[test]
    fn an_acknowledged_transaction_missing_or_moved_is_lost() {
        let mut records = agreeing();
        records.nodes[1].blocks[1].transactions.clear();
        assert!(matches!(check(&records)[..], [Violation::Lost { found: None, .. }]));
        let mut records = agreeing();
        records.nodes[0].blocks.pop();
        assert!(matches!(check(&records)[..], [Violation::NotCaughtUp { .. }]));
    }

    #[test]
    fn a_nonce_executed_twice_is_caught() {
        let mut records = agreeing();
        for node in &mut records.nodes {
            node.blocks.push(block(
                3,
                3,
                vec![RecordedTransaction { hash: hash(60), sender: account(1), nonce: Nonce(0) }],
            ));
        }
        assert_eq!(check(&records).len(), 2, "once per node");
    }

    #[test]
    fn value_created_or_a_diverged_state_is_caught() {
        let mut records = agreeing();
        let asset = |held| AssetSample {
            symbol: "SIM".into(),
            held: Amount(held),
            supply: Amount(50),
            minted: Amount(60),
            burned: Amount(10),
        };
        records.nodes[0].states.push(StateSample {
            height: Height(2),
            local_state_root: hash(102),
            balance_total: Amount(100),
            assets: vec![asset(50)],
        });
        assert_eq!(check(&records), Vec::new());
        records.nodes[1].states.push(StateSample {
            height: Height(2),
            local_state_root: hash(7),
            balance_total: Amount(101),
            assets: vec![asset(51)],
        });
        let violations = check(&records);
        assert!(violations.iter().any(|violation| matches!(violation, Violation::NotConserved { .. })));
        assert!(violations.iter().any(|violation| matches!(violation, Violation::AssetNotConserved { .. })));
        assert!(violations.iter().any(|violation| matches!(violation, Violation::LocalStateDiverged { .. })));
    }

    #[test]
    fn an_honest_double_vote_is_caught_a_repeated_one_is_not() {
        let mut records = agreeing();
        let vote = |payload| SignedVote {
            signer: 0,
            epoch: 0,
            view: 5,
            kind: VoteKind::Notarize,
            payload: Some(hash(payload)),
        };
        records.votes = vec![vote(1), vote(1)];
        records.honest_signers = BTreeSet::from([0]);
        assert_eq!(check(&records), Vec::new());
        records.votes.push(vote(2));
        assert!(matches!(check(&records)[..], [Violation::DoubleSigned { signer: 0, view: 5, .. }]));
    }

    #[test]
    fn a_stall_while_the_network_is_whole_is_caught() {
        let mut records = agreeing();
        let seconds = Duration::from_secs;
        records.nodes[0].heights = vec![(seconds(1), Height(1)), (seconds(2), Height(2)), (seconds(20), Height(3))];
        records.nodes[1].heights = records.nodes[0].heights.clone();
        records.stable_windows = vec![StableWindow { start: seconds(0), end: seconds(21) }];
        records.liveness =
            Some(LivenessBounds { block_gap_max: seconds(5), settle: seconds(0), catch_up_max: seconds(10) });
        assert!(matches!(check(&records)[..], [Violation::SlowBlocks { .. }]));
    }
}
