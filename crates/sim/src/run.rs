//! One seed, start to finish: draw the plan, start the cluster, drive faults and the client,
//! heal, collect every node's records and check them.

use crate::{
    checker::{
        self, AssetSample, LivenessBounds, NodeLog, RecordedBlock, RecordedTransaction, Records, SignedVote,
        StableWindow, StateSample, Violation, VoteKind,
    },
    cluster::{Byzantine, Cluster, Context, NodeView, healthy_link},
    plan::{Event, Partition, Plan, PowerLoss, Profile},
    workload::{self, Client},
};
use commonware_consensus::{
    simplex::elector::{Config, Elector, RoundRobin},
    types::{Epoch, Round, View},
};
use commonware_cryptography::{Hasher as _, Sha256, Signer as _, ed25519::PrivateKey};
use commonware_p2p::simulated::Link;
use commonware_runtime::{
    Clock as _, Metrics as _, Runner as _,
    deterministic::{self, FaultConfig as StorageFaults, PartialWriteMode, WriteConfig},
};
use commonware_utils::ordered::Set;
use formica_consensus::{FaultInjection, SigningScheme};
use formica_execution::ChainParameters;
use formica_node::Chain;
use formica_state::{StateKey, StateValue};
use formica_types::{AccountId, Amount, AssetRecord, Hash, Height, Holding};
use rand::{SeedableRng as _, rngs::StdRng};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::{Duration, SystemTime},
};

/// How a seed is run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub profile: Profile,
    /// The broken build: validators skip the state-root check and one validator's execution is
    /// skewed (it credits value at genesis that the others do not). The checker must fail.
    pub broken: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { profile: Profile::QUICK, broken: false }
    }
}

/// What one seed did and found.
#[derive(Clone, Debug)]
pub struct SeedReport {
    pub seed: u64,
    pub plan: Plan,
    pub violations: Vec<Violation>,
    /// Digest of every node's finalized blocks, the client's log and every vote seen.
    pub trace_digest: String,
    /// The deterministic runtime's audit of every task poll and event.
    pub auditor: String,
    pub simulated: Duration,
    /// Scheduled fault events plus Byzantine validators.
    pub faults_injected: usize,
    pub transactions_submitted: usize,
    pub transactions_final: usize,
    /// Blocks finalized (the highest height any honest node reached).
    pub blocks: u64,
    /// (validator, view, vote kind) in which a Byzantine validator was seen signing two votes.
    pub byzantine_double_votes: usize,
    /// Per Byzantine validator, in index order: what it is and what its equivocation came to.
    pub equivocations: Vec<(Byzantine, Equivocations)>,
    /// Blocks finalized by twin copies, each checked against the honest nodes' chain.
    pub twin_blocks_checked: u64,
    /// The sum of every honest node's `byzantine_evidence` counter (the metric operators alert
    /// on) at the end: conflicting votes simplex verified and reported.
    pub evidence_counted: u64,
    /// The sum of every honest node's `blocks_refused` counter at the end: proposals (or
    /// finalized blocks) that failed its checks. Only an invalid proposer should move it.
    pub blocks_refused: u64,
    /// State samples (of honest and Byzantine nodes) in which the issued asset was held, each
    /// checked for conservation per asset.
    pub asset_samples: usize,
    /// Remittance acceptances the client saw final.
    pub remittances_accepted: usize,
    /// Invoice payments and receivable part settlements the client saw final.
    pub invoices_paid: usize,
    pub parts_settled: usize,
}

/// What one Byzantine validator's equivocation came to, counted in (epoch, view, vote kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Equivocations {
    /// Two different votes of one kind seen leaving it.
    pub sent: usize,
    /// Two different votes of one kind from it seen reaching honest nodes (the same node or two
    /// different ones): the equivocation was delivered, not only signed.
    pub delivered: usize,
    /// Of the delivered ones, two different notarize votes in a view it led: two proposals.
    pub proposals_delivered: usize,
}

impl std::ops::AddAssign for Equivocations {
    fn add_assign(&mut self, other: Self) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.proposals_delivered += other.proposals_delivered;
    }
}

/// Signer, epoch, view and kind of a vote.
type VoteSlot = (u32, u64, u64, VoteKind);

/// Every (signer, epoch, view, kind) in which `votes` hold two different payloads.
fn conflicts(votes: &[SignedVote]) -> BTreeSet<VoteSlot> {
    let mut first: BTreeMap<VoteSlot, Option<Hash>> = BTreeMap::new();
    let mut conflicting = BTreeSet::new();
    for vote in votes {
        let slot = (vote.signer, vote.epoch, vote.view, vote.kind);
        if *first.entry(slot).or_insert(vote.payload) != vote.payload {
            conflicting.insert(slot);
        }
    }
    conflicting
}

/// The equivocations of each Byzantine validator: conflicts among the votes that left it and
/// among the votes of it that reached honest nodes. A proposal is the leader's notarize vote;
/// leaders rotate as every node's simplex elects them (round robin over the committee, which
/// the simulation never changes).
fn equivocations(
    cluster: &Cluster,
    plan: &Plan,
    sent: &[SignedVote],
    delivered: &[SignedVote],
) -> Vec<(Byzantine, Equivocations)> {
    let participants = Set::from_iter_dedup(cluster.keys.iter().map(|key| key.public_key()));
    let elector = <RoundRobin<Sha256> as Config<SigningScheme>>::build(RoundRobin::default(), &participants);
    let leads = |(signer, epoch, view, _): &VoteSlot| {
        let round = Round::new(Epoch::new(*epoch), View::new(*view));
        Elector::<SigningScheme>::elect(&elector, round, ()).get() == *signer
    };
    let (sent, delivered) = (conflicts(sent), conflicts(delivered));
    plan.byzantine
        .iter()
        .enumerate()
        .filter_map(|(index, behaviour)| {
            let signer = cluster.signer_index(index);
            let of = |slot: &&VoteSlot| slot.0 == signer;
            let equivocations = Equivocations {
                sent: sent.iter().filter(of).count(),
                delivered: delivered.iter().filter(of).count(),
                proposals_delivered: delivered
                    .iter()
                    .filter(of)
                    .filter(|slot| slot.3 == VoteKind::Notarize && leads(slot))
                    .count(),
            };
            behaviour.map(|behaviour| (behaviour, equivocations))
        })
        .collect()
}

impl SeedReport {
    /// A failure message naming the seed and how to reproduce it.
    pub fn failure(&self) -> Option<String> {
        if self.violations.is_empty() {
            return None;
        }
        let list: Vec<String> = self.violations.iter().take(10).map(|violation| format!("  - {violation}")).collect();
        Some(format!(
            "seed {} broke {} invariant(s) (plan: {} validators, byzantine {:?}, {} events):\n{}\nreproduce: \
             FORMICA_SIM_SEED={} cargo nextest run -p formica-sim --run-ignored all replay_seed",
            self.seed,
            self.violations.len(),
            self.plan.validators,
            self.plan.byzantine,
            self.plan.events.len(),
            list.join("\n"),
            self.seed
        ))
    }
}

/// The liveness the simulation promises (see docs/reliability.md).
pub const LIVENESS: LivenessBounds = LivenessBounds {
    block_gap_max: Duration::from_secs(5),
    settle: Duration::from_secs(5),
    catch_up_max: Duration::from_secs(12),
};

/// What the metrics of a twin's copies are named by (see `Cluster::spawn_node`).
const TWIN_METRICS: &str = "cluster_twin_";

const TICK: Duration = Duration::from_millis(200);
const SAMPLE_EVERY_TICKS: u64 = 25;

/// The sum of every honest node's `byzantine_evidence_total` sample in a Prometheus text
/// encoding. The Byzantine mocks run no orchestrator; twin copies (and the invalid proposer,
/// named like one) do, under their own name.
fn evidence_counted(metrics: &str) -> u64 {
    honest_counter(metrics, "byzantine_evidence_total")
}

/// The sum of every honest node's samples of the counter `name` in a Prometheus text encoding.
fn honest_counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#') && line.contains(name))
        .filter(|line| !line.contains(TWIN_METRICS))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Runs one seed on a fresh deterministic runtime (and a fresh temporary directory for the
/// indexes). Panics inside the run (a node's assertion) propagate with the seed named.
///
/// A seed whose plan has a [`PowerLoss`] runs on two runtimes: at the outage the first stops,
/// its storage drops (or tears, per the plan) every write not yet synced, and a second runtime
/// resumes from that storage, with the same clock, scheduler and audit, and restarts every
/// validator after the outage. The fjall indexes live on the real filesystem and keep
/// everything (they are synced before a block is acknowledged, see docs/reliability.md).
pub fn run_seed(seed: u64, options: Options) -> SeedReport {
    let plan = Plan::draw(seed, options.profile);
    let directory = tempfile::tempdir().expect("a temporary directory can be created");
    let path = directory.path().to_path_buf();
    let mut config =
        deterministic::Config::new().with_seed(seed).with_timeout(Some(plan.end_at + Duration::from_secs(300)));
    if let Some(loss) = plan.power_loss {
        config = config.with_storage_fault_config(unsynced_writes(loss));
    }
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let (first_plan, first_path) = (plan.clone(), path.clone());
        let (phase, checkpoint) = deterministic::Runner::new(config)
            .start_and_recover(|context| async move { drive(context, first_plan, first_path, options, None).await });
        match phase {
            Phase::Finished(report) => *report,
            Phase::PowerLost(carry) => {
                let resumed = deterministic::Runner::from(checkpoint)
                    .start(|context| async move { drive(context, plan, path, options, Some(carry)).await });
                match resumed {
                    Phase::Finished(report) => *report,
                    Phase::PowerLost(_) => unreachable!("a plan has at most one power loss"),
                }
            }
        }
    }));
    match run {
        Ok(report) => report,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_default();
            panic!(
                "seed {seed} panicked: {message}\nreproduce: FORMICA_SIM_SEED={seed} cargo nextest run -p formica-sim \
                 --run-ignored all replay_seed"
            )
        }
    }
}

/// The storage faults of a power loss: no write fails while the runtime runs, and at the crash
/// each unsynced write keeps each of its bytes with the plan's chance (as a prefix, or
/// scattered).
fn unsynced_writes(loss: PowerLoss) -> StorageFaults {
    let mode = if loss.scattered { PartialWriteMode::Subset } else { PartialWriteMode::Prefix };
    StorageFaults::default().write(WriteConfig {
        failure_rate: commonware_utils::probability!(0.0),
        retention_rate: commonware_utils::Probability::new(u64::from(loss.retained_percent), 100)
            .expect("a percentage is a probability"),
        mode,
    })
}

fn link(latency: Duration, jitter: Duration, delivered_percent: u8) -> Link {
    Link {
        latency,
        jitter,
        success_rate: commonware_utils::Probability::new(u64::from(delivered_percent), 100)
            .expect("a percentage is a probability"),
    }
}

async fn apply(cluster: &mut Cluster, event: &Event) {
    let all: Vec<usize> = (0..cluster.size()).collect();
    match event {
        Event::DegradeLinks(profile) => {
            cluster.connect_all(&link(profile.latency, profile.jitter, profile.delivered_percent)).await;
        }
        Event::RepairLinks => cluster.connect_all(&healthy_link()).await,
        Event::Partition(partition) => {
            cluster.connect_all(&healthy_link()).await;
            match partition {
                Partition::Halves(first, second) => cluster.set_links(first, second, None).await,
                Partition::Isolate(index) => cluster.set_links(&[*index], &all, None).await,
                Partition::Ring => {
                    cluster.set_links(&all, &all, None).await;
                    let size = cluster.size();
                    for index in 0..size {
                        cluster.set_links(&[index], &[(index + 1) % size], Some(&healthy_link())).await;
                    }
                }
            }
        }
        Event::Crash(index) => cluster.crash(*index),
        Event::Restart(index) => cluster.restart(*index).await,
        Event::CrashAll => {
            for index in all {
                cluster.crash(index);
            }
        }
        Event::RestartAll => {
            for index in all {
                cluster.restart(index).await;
            }
        }
    }
}

/// Reads one fixed-size module record of the assets module through a database read guard.
macro_rules! module_record {
    ($guard:expr, $type:ty, $key:expr) => {{
        let size = <$type as commonware_codec::FixedSize>::SIZE;
        let keys = formica_state::module_record_keys(formica_types::Module::Assets, &$key, size);
        let mut values = Vec::with_capacity(keys.len());
        for key in &keys {
            values.push($guard.get(&key.hash()).await.expect("simulated storage reads"));
        }
        let chunks: Vec<Option<&StateValue>> = values.iter().map(Option::as_ref).collect();
        formica_state::module_record_bytes(&chunks, size)
            .expect("module records are whole")
            .map(|bytes| <$type as commonware_codec::DecodeExt<()>>::decode(bytes).expect("module records decode"))
    }};
}

/// Reads a node's state root and the total of every known balance in one consistent view, and
/// the finalized height whose header carries that root. `require`: if the root matches no
/// recent header after retrying, record it anyway against the head (the checker flags it).
async fn sample_state(
    context: &Context,
    view: &NodeView,
    accounts: &[AccountId],
    require: bool,
) -> Option<StateSample> {
    const ATTEMPTS: usize = 40;
    let databases = view.state.databases()?;
    for attempt in 0..ATTEMPTS {
        let guard = databases.read().await;
        let root = guard.root();
        let mut total = Amount::ZERO;
        for id in accounts {
            let value = guard.get(&StateKey::Account(*id).hash()).await.expect("simulated storage reads");
            if let Some(StateValue::Account(account)) = value {
                total = total.checked_add(account.balance).expect("balances fit in an Amount");
            }
        }
        // The issued assets: each record, and every known account's holding.
        let mut assets = Vec::new();
        for name in workload::ASSETS {
            let symbol = formica_types::Symbol::new(name).expect("a valid symbol");
            let record: Option<AssetRecord> = module_record!(guard, AssetRecord, AssetRecord::key(&symbol));
            let Some(record) = record else { continue };
            let mut held = Amount::ZERO;
            for id in accounts {
                let holding: Option<Holding> = module_record!(guard, Holding, Holding::key(&symbol, id));
                if let Some(holding) = holding {
                    held = held.checked_add(holding.balance).expect("holdings fit in an Amount");
                }
            }
            assets.push(AssetSample {
                symbol: name.to_string(),
                held,
                supply: record.supply,
                minted: record.minted,
                burned: record.burned,
            });
        }
        drop(guard);
        if let Some(head) = view.head.by_state_root(&root) {
            // Before block 1 the state is empty: genesis accounts are created by block 1.
            if head.height == Height(0) {
                return None;
            }
            return Some(StateSample { height: head.height, local_state_root: root, balance_total: total, assets });
        }
        if !require {
            return None;
        }
        if attempt + 1 == ATTEMPTS && view.head.get().height > Height(0) {
            let height = view.head.get().height;
            return Some(StateSample { height, local_state_root: root, balance_total: total, assets });
        }
        context.sleep(Duration::from_millis(50)).await;
    }
    None
}

fn read_blocks(view: &NodeView) -> Vec<RecordedBlock> {
    let head = view.indexes.head().expect("the indexes read").unwrap_or(Height(0));
    (1..=head.get())
        .map(|height| {
            let block = view
                .indexes
                .block_by_height(Height(height))
                .expect("the indexes read")
                .expect("every height up to the indexed head is indexed");
            RecordedBlock {
                height: block.header.height,
                hash: block.hash(),
                state_root: block.header.state_root,
                transactions: block
                    .transactions
                    .iter()
                    .map(|transaction| RecordedTransaction {
                        hash: transaction.hash(),
                        sender: transaction.body.sender,
                        nonce: transaction.body.nonce,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The chain validator `victim` runs in the broken build: the dev account holds more at
/// genesis than everyone else believes.
fn skewed(chain: &Chain) -> Chain {
    let mut parameters: ChainParameters = (*chain.parameters).clone();
    let first = parameters.genesis_accounts.first_mut().expect("genesis funds the dev account");
    first.1 = first.1.checked_add(Amount(1_000)).expect("small numbers");
    Chain { parameters: Arc::new(parameters), ..chain.clone() }
}

/// What the driver carries from a runtime that lost power to the one resuming it: plain data
/// only (every runtime handle dies with its runtime).
struct Carry {
    client: Client,
    rng: StdRng,
    heights: Vec<Vec<(Duration, Height)>>,
    samples: Vec<Vec<StateSample>>,
    /// When the seed started, on the clock both runtimes share.
    start: SystemTime,
    next_event: usize,
    next_split: usize,
    healed: bool,
    tick: u64,
    votes: Vec<SignedVote>,
    delivered: Vec<SignedVote>,
    /// The honest nodes' `byzantine_evidence` and `blocks_refused` counters before the power
    /// loss.
    evidence_counted: u64,
    blocks_refused: u64,
}

/// How a runtime's part of a seed ended.
enum Phase {
    Finished(Box<SeedReport>),
    /// The plan's power loss: the runtime must stop here and drop unsynced writes.
    PowerLost(Box<Carry>),
}

/// Drives a seed on one runtime: from the start, or (`carried`) from a power loss, first
/// waiting out the outage and putting the links back as the plan had them.
async fn drive(
    context: Context,
    plan: Plan,
    directory: std::path::PathBuf,
    options: Options,
    carried: Option<Box<Carry>>,
) -> Phase {
    let keys: Vec<PrivateKey> = (0..plan.validators as u64).map(PrivateKey::from_seed).collect();
    let chain = Chain::from_genesis(workload::genesis(&keys)).expect("the simulated genesis is valid");
    let mut chains = vec![chain.clone(); plan.validators];
    let mut faults = FaultInjection::NONE;
    if options.broken {
        faults.skip_state_root_check = true;
        let victim = plan.byzantine.iter().position(Option::is_none).expect("most validators are honest");
        chains[victim] = skewed(&chain);
    }
    if let Some(carry) = &carried {
        let restart_at = plan.events[carry.next_event..]
            .iter()
            .find(|(_, event)| *event == Event::RestartAll)
            .map(|(at, _)| *at)
            .expect("a planned outage ends with a restart");
        let now = context.current().duration_since(carry.start).expect("simulated time moves forward");
        context.sleep(restart_at.saturating_sub(now)).await;
    }
    let mut cluster = Cluster::start(&context, keys, chains, &plan.byzantine, directory, faults).await;
    cluster.connect_all(&healthy_link()).await;
    let size = cluster.size();
    let mut carry = match carried {
        Some(carry) => {
            // The votes seen before the outage come first, as they happened.
            cluster.votes.lock().expect("vote log lock is never poisoned").splice(0..0, carry.votes.iter().cloned());
            cluster
                .delivered
                .lock()
                .expect("vote log lock is never poisoned")
                .splice(0..0, carry.delivered.iter().cloned());
            for (_, event) in &plan.events[..carry.next_event] {
                if matches!(event, Event::DegradeLinks(_) | Event::Partition(_) | Event::RepairLinks) {
                    apply(&mut cluster, event).await;
                }
            }
            if let Some(split) = carry.next_split.checked_sub(1) {
                cluster.set_twin_sides(&plan.twin_sides[split].1);
            }
            carry
        }
        None => Box::new(Carry {
            client: Client::new(plan.transactions),
            rng: StdRng::seed_from_u64(plan.seed ^ 0x00c1_1e47),
            heights: vec![Vec::new(); size],
            samples: vec![Vec::new(); size],
            start: context.current(),
            next_event: 0,
            next_split: 0,
            healed: false,
            tick: 0,
            votes: Vec::new(),
            delivered: Vec::new(),
            evidence_counted: 0,
            blocks_refused: 0,
        }),
    };
    let start = carry.start;
    let elapsed = || context.current().duration_since(start).expect("simulated time moves forward");
    loop {
        let now = elapsed();
        if now >= plan.end_at {
            break;
        }
        while let Some((at, event)) = plan.events.get(carry.next_event)
            && *at <= now
        {
            carry.next_event += 1;
            if *event == Event::CrashAll && plan.power_loss.is_some() {
                carry.votes = std::mem::take(&mut *cluster.votes.lock().expect("vote log lock is never poisoned"));
                carry.delivered =
                    std::mem::take(&mut *cluster.delivered.lock().expect("vote log lock is never poisoned"));
                let metrics = context.encode();
                carry.evidence_counted += evidence_counted(&metrics);
                carry.blocks_refused += honest_counter(&metrics, "blocks_refused_total");
                return Phase::PowerLost(carry);
            }
            apply(&mut cluster, event).await;
        }
        while let Some((at, sides)) = plan.twin_sides.get(carry.next_split)
            && *at <= now
        {
            cluster.set_twin_sides(sides);
            carry.next_split += 1;
        }
        if !carry.healed && now >= plan.heal_at {
            carry.healed = true;
            cluster.connect_all(&healthy_link()).await;
            for index in 0..size {
                if cluster.is_honest(index) && !cluster.is_up(index) {
                    cluster.restart(index).await;
                }
            }
        }
        if now >= Duration::from_secs(1) {
            carry.client.step(&cluster, now, &mut carry.rng).await;
        }
        for (index, series) in carry.heights.iter_mut().enumerate() {
            if let Some(view) = cluster.view(index) {
                series.push((now, view.head.get().height));
            }
        }
        if carry.tick.is_multiple_of(SAMPLE_EVERY_TICKS) {
            for (index, node_samples) in carry.samples.iter_mut().enumerate() {
                if let Some(view) = cluster.view(index)
                    && let Some(sample) = sample_state(&context, view, &carry.client.known_accounts, false).await
                {
                    node_samples.push(sample);
                }
            }
        }
        carry.tick += 1;
        context.sleep(TICK).await;
    }
    let Carry {
        client,
        mut heights,
        mut samples,
        evidence_counted: evidence_before,
        blocks_refused: refused_before,
        ..
    } = *carry;

    let mut nodes = Vec::new();
    for index in 0..size {
        let mut log =
            NodeLog { name: format!("validator-{index}"), honest: cluster.is_honest(index), ..NodeLog::default() };
        if let Some(view) = cluster.view(index) {
            if let Some(sample) = sample_state(&context, view, &client.known_accounts, true).await {
                samples[index].push(sample);
            }
            log.blocks = read_blocks(view);
        }
        log.states = std::mem::take(&mut samples[index]);
        log.heights = std::mem::take(&mut heights[index]);
        nodes.push(log);
    }
    let votes = cluster.votes.lock().expect("vote log lock is never poisoned").clone();
    let honest_signers: BTreeSet<u32> =
        (0..size).filter(|index| cluster.is_honest(*index)).map(|index| cluster.signer_index(index)).collect();
    let first_fault = plan.events.first().map_or(plan.heal_at, |(at, _)| *at);
    let records = Records {
        nodes,
        client: client.log.clone(),
        votes,
        honest_signers: honest_signers.clone(),
        stable_windows: vec![
            StableWindow { start: Duration::ZERO, end: first_fault },
            StableWindow { start: plan.heal_at, end: plan.end_at },
        ],
        liveness: Some(LIVENESS),
    };
    let mut violations = checker::check(&records);
    let (twin_violations, twin_blocks) = check_twin_copies(&cluster, &records);
    violations.extend(twin_violations);
    let delivered = cluster.delivered.lock().expect("vote log lock is never poisoned").clone();
    let equivocations = equivocations(&cluster, &plan, &records.votes, &delivered);
    let metrics = context.encode();
    let evidence_counted = evidence_before + evidence_counted(&metrics);
    let blocks_refused = refused_before + honest_counter(&metrics, "blocks_refused_total");
    Phase::Finished(Box::new(SeedReport {
        seed: plan.seed,
        trace_digest: trace_digest(&records),
        auditor: context.auditor().state(),
        simulated: elapsed(),
        faults_injected: plan.events.len() + plan.byzantine.iter().filter(|b| b.is_some()).count(),
        transactions_submitted: client.log.submissions.len(),
        transactions_final: client
            .log
            .submissions
            .iter()
            .filter(|submission| matches!(submission.outcome, checker::Outcome::Final { .. }))
            .count(),
        blocks: records.nodes.iter().map(|node| node.blocks.len() as u64).max().unwrap_or(0),
        byzantine_double_votes: equivocations.iter().map(|(_, equivocations)| equivocations.sent).sum(),
        equivocations,
        twin_blocks_checked: twin_blocks,
        evidence_counted,
        blocks_refused,
        asset_samples: records
            .nodes
            .iter()
            .flat_map(|node| &node.states)
            .filter(|sample| sample.assets.iter().any(|asset| asset.held > Amount::ZERO))
            .count(),
        remittances_accepted: client.remittances_accepted,
        invoices_paid: client.invoices_paid,
        parts_settled: client.parts_settled,
        violations,
        plan,
    }))
}

/// Each copy of a twin runs honest code: alone, it must agree with the honest nodes on every
/// block it finalized and execute nothing twice (a copy that finalized another block would hold
/// a certificate 2f+1 signed). Nothing else is asked of it: it may lag behind on its side.
/// Returns the violations and the number of blocks of twin copies checked.
fn check_twin_copies(cluster: &Cluster, records: &Records) -> (Vec<Violation>, u64) {
    let mut nodes: Vec<NodeLog> = records
        .nodes
        .iter()
        .filter(|node| node.honest)
        .map(|node| NodeLog {
            name: node.name.clone(),
            honest: true,
            blocks: node.blocks.clone(),
            ..NodeLog::default()
        })
        .collect();
    for index in 0..cluster.size() {
        for (copy, view) in cluster.twin_copies(index).iter().enumerate() {
            let name = format!("validator-{index}-twin-{copy}");
            nodes.push(NodeLog { name, honest: true, blocks: read_blocks(view), ..NodeLog::default() });
        }
    }
    let twin = |name: &str| name.contains("-twin-");
    let blocks = nodes.iter().filter(|node| twin(&node.name)).map(|node| node.blocks.len() as u64).sum();
    let violations = checker::check(&Records { nodes, ..Records::default() })
        .into_iter()
        .filter(|violation| match violation {
            Violation::Fork { first, second, .. } => twin(&first.0) || twin(&second.0),
            Violation::ExecutedTwice { node, .. } | Violation::BadRecord { node, .. } => twin(node),
            _ => false,
        })
        .collect();
    (violations, blocks)
}

fn trace_digest(records: &Records) -> String {
    let mut bytes: Vec<u8> = Vec::new();
    for node in &records.nodes {
        bytes.extend_from_slice(node.name.as_bytes());
        for block in &node.blocks {
            bytes.extend_from_slice(&block.height.get().to_be_bytes());
            bytes.extend_from_slice(block.hash.as_ref());
            bytes.extend_from_slice(block.state_root.as_ref());
        }
        for (at, height) in &node.heights {
            bytes.extend_from_slice(&(at.as_millis() as u64).to_be_bytes());
            bytes.extend_from_slice(&height.get().to_be_bytes());
        }
    }
    for submission in &records.client.submissions {
        bytes.extend_from_slice(submission.hash.as_ref());
        bytes.extend_from_slice(format!("{:?}", submission.outcome).as_bytes());
    }
    for vote in &records.votes {
        bytes.extend_from_slice(format!("{vote:?}").as_bytes());
    }
    hex::encode(Sha256::hash(&[&bytes]))
}
