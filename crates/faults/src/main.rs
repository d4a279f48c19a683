//! `formica-faults`: Formica validators as real processes on a real (virtual) network, with
//! real faults, held to the same invariant checker as the deterministic simulation.
//!
//! # What a run does
//! 1. Makes one network namespace per validator, joined by a bridge (`net`), and a devnet
//!    folder whose validators listen on their namespace's address (`cluster`). Validators that
//!    may be given a full disk keep their data on a size-limited tmpfs.
//! 2. Starts every validator, funds one account per sender, and starts the load (`load`):
//!    senders in a closed loop, each re-sending through another validator when one does not
//!    answer, recording what a node told them was final.
//! 3. Injects the profile's faults one after another ([`Fault`]): packet loss and partitions
//!    with `nft` rules on the receiving side, `kill -9` and restart, `SIGSTOP`/`SIGCONT`, a disk
//!    filled to the last byte, a restart with the wall clock skewed (`faketime`).
//! 4. Heals everything, waits until every validator is at the same head, reads every node's
//!    blocks, a state sample and its conflicting-vote counter (`record`), and runs
//!    [`formica_sim::check`]: no fork, nothing lost, exactly once, conservation, liveness while
//!    2f+1 were up and connected.
//! 5. Writes a JSON report and exits non-zero on any violation.
//!
//! Needs root (namespaces, nft, mount). `scripts/faults/run.sh` installs `nftables` and
//! `faketime`, builds this and the node, and runs a profile: `short` in CI, `soak` by hand.

mod cluster;
mod load;
mod net;
mod record;

use anyhow::Context as _;
use clap::Parser;
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use formica_crypto::KeyFile;
use formica_sim::checker::{ClientLog, LivenessBounds, Outcome, Records, StableWindow};
use formica_types::{AccountId, AccountKey, Amount, Hash, Nonce};
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Runs Formica validators in network namespaces under injected faults and checks every promise")]
struct Args {
    /// `short` (CI: 4 validators, about 10,000 transfers, a few minutes) or `soak` (7
    /// validators, 60 minutes, a fault every 30 s drawn from the seed).
    #[arg(long, default_value = "short")]
    profile: String,
    /// The `formica` binary the validators run.
    #[arg(long)]
    formica: PathBuf,
    /// Where the run's devnet folder and logs go (kept after the run).
    #[arg(long)]
    dir: PathBuf,
    /// Where the JSON report is written.
    #[arg(long)]
    report: PathBuf,
    /// Seed of the soak profile's fault schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Length of the soak profile's load, in minutes.
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// Exit 0 with a message when this machine cannot make namespaces (not root, no nft).
    #[arg(long)]
    skip_if_unavailable: bool,
}

/// One injected fault. Each lasts a while and is then undone.
#[derive(Clone, Debug, Serialize)]
enum Fault {
    /// Every validator drops this share of what it receives from the others.
    Loss { percent: u8 },
    /// `kill -9`, then a restart when the fault ends.
    Kill { node: usize },
    /// `SIGSTOP`, then `SIGCONT`.
    Pause { node: usize },
    /// The validators are cut into groups that cannot reach each other.
    Partition { groups: Vec<Vec<usize>> },
    /// The node's file system is filled to the last byte; at the end the ballast is removed and
    /// the node restarted if it stopped.
    DiskFull { node: usize },
    /// The node is restarted with its wall clock this far off; at the end it is restarted with
    /// the right time.
    ClockSkew { node: usize, seconds: i64 },
}

impl Fault {
    /// Whether fewer than 2f+1 validators are up and connected while it lasts.
    fn breaks_quorum(&self, validators: usize) -> bool {
        let quorum = validators - (validators - 1) / 3;
        match self {
            Self::Partition { groups } => groups.iter().all(|group| group.len() < quorum),
            _ => false,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
struct Step {
    at: Duration,
    lasts: Duration,
    fault: Fault,
}

/// A run's shape.
struct Profile {
    name: &'static str,
    validators: usize,
    senders: usize,
    transactions: u64,
    warm_up: Duration,
    /// The load stops this long after it started (faults all end before).
    load_for: Duration,
    steps: Vec<Step>,
    small_disks: Vec<usize>,
    disk_bytes: u64,
}

impl Profile {
    fn short() -> Self {
        let step =
            |at: u64, lasts: u64, fault| Step { at: Duration::from_secs(at), lasts: Duration::from_secs(lasts), fault };
        Self {
            name: "short",
            validators: 4,
            senders: 48,
            transactions: 10_000,
            warm_up: Duration::from_secs(15),
            load_for: Duration::from_secs(200),
            steps: vec![
                step(15, 25, Fault::Loss { percent: 10 }),
                step(45, 15, Fault::Kill { node: 1 }),
                step(70, 20, Fault::Partition { groups: vec![vec![0, 1], vec![2, 3]] }),
                step(100, 15, Fault::Pause { node: 2 }),
                step(125, 25, Fault::DiskFull { node: 3 }),
                step(160, 25, Fault::ClockSkew { node: 0, seconds: 30 }),
            ],
            small_disks: vec![3],
            disk_bytes: 512 << 20,
        }
    }

    /// 7 validators for `minutes` (60 by default), one fault drawn from `seed` every 30 s, each
    /// over within 25 s.
    fn soak(seed: u64, minutes: u64) -> Self {
        let seconds = minutes.max(1) * 60;
        let validators = 7;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut steps = Vec::new();
        let mut at = 30;
        while at + 30 <= seconds {
            let node = rng.random_range(0..validators);
            let fault = match rng.random_range(0..6) {
                0 => Fault::Loss { percent: rng.random_range(5..=20) },
                1 => Fault::Kill { node },
                2 => Fault::Pause { node },
                3 => {
                    let mut order: Vec<usize> = (0..validators).collect();
                    for index in (1..order.len()).rev() {
                        order.swap(index, rng.random_range(0..=index));
                    }
                    let cut = if rng.random_bool(0.5) { 1 } else { 3 };
                    Fault::Partition { groups: vec![order[..cut].to_vec(), order[cut..].to_vec()] }
                }
                4 => Fault::DiskFull { node },
                _ => Fault::ClockSkew { node, seconds: if rng.random_bool(0.5) { 30 } else { -30 } },
            };
            steps.push(Step {
                at: Duration::from_secs(at),
                lasts: Duration::from_secs(rng.random_range(10..=25)),
                fault,
            });
            at += 30;
        }
        Self {
            name: "soak",
            validators,
            senders: 32,
            transactions: u64::MAX,
            warm_up: Duration::from_secs(30),
            load_for: Duration::from_secs(seconds),
            steps,
            small_disks: (0..validators).collect(),
            disk_bytes: 2 << 30,
        }
    }
}

/// What happened to one fault, for the report.
#[derive(Debug, Serialize)]
struct Injected {
    step: Step,
    /// For a full disk: whether the node stopped, and its stop line.
    outcome: String,
}

#[derive(Debug, Serialize)]
struct Report {
    profile: String,
    seed: u64,
    validators: usize,
    seconds: u64,
    faults: Vec<Injected>,
    transactions_submitted: usize,
    transactions_final: usize,
    transactions_unknown: usize,
    transactions_failed: Vec<String>,
    blocks_checked_per_node: Vec<usize>,
    conflicting_votes_seen: Vec<u64>,
    disk_bytes_per_node: Vec<u64>,
    /// The longest time no validator finalized a new height, and when it began (seconds
    /// from the start of the load), faults included.
    longest_block_gap: (f64, f64),
    violations: Vec<String>,
}

/// The longest stretch in which no node reached a new height, as (seconds, starting at).
fn longest_gap(heights: &[Vec<(Duration, formica_types::Height)>]) -> (f64, f64) {
    let first = formica_sim::checker::first_reached(heights.iter().flatten());
    let times: Vec<Duration> = first.values().copied().collect();
    let mut longest = (0.0, 0.0);
    for pair in times.windows(2) {
        let gap = pair[1].saturating_sub(pair[0]).as_secs_f64();
        if gap > longest.0 {
            longest = (gap, pair[0].as_secs_f64());
        }
    }
    longest
}

/// Stop lines from the node's log that were not there before.
fn new_stop_line(cluster: &cluster::Cluster, node: usize, before: usize) -> Option<String> {
    cluster.stop_lines(node).get(before).cloned()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Err(reason) = net::Network::available() {
        if args.skip_if_unavailable {
            println!("formica-faults: SKIPPED, this machine cannot run it: {reason}");
            return Ok(());
        }
        anyhow::bail!("this machine cannot run the fault profiles: {reason}");
    }
    let profile = match args.profile.as_str() {
        "short" => Profile::short(),
        "soak" => Profile::soak(args.seed, args.minutes),
        other => anyhow::bail!("unknown profile {other:?}: short or soak"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let report = runtime.block_on(run(&args, profile))?;
    std::fs::write(&args.report, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", args.report.display()))?;
    println!(
        "formica-faults: {} profile, {} validators, {} s, {} faults, {} transfers submitted, {} final, {} unknown, {} blocks checked per node",
        report.profile,
        report.validators,
        report.seconds,
        report.faults.len(),
        report.transactions_submitted,
        report.transactions_final,
        report.transactions_unknown,
        report.blocks_checked_per_node.iter().min().copied().unwrap_or(0)
    );
    println!("formica-faults: report in {}", args.report.display());
    if report.violations.is_empty() {
        println!("formica-faults: every promise held");
        Ok(())
    } else {
        for violation in &report.violations {
            eprintln!("formica-faults: VIOLATION: {violation}");
        }
        anyhow::bail!("{} promises broken (node logs in {})", report.violations.len(), args.dir.display())
    }
}

async fn run(args: &Args, profile: Profile) -> anyhow::Result<Report> {
    let n = profile.validators;
    let _ = std::fs::remove_dir_all(&args.dir);
    std::fs::create_dir_all(&args.dir)?;
    let network = net::Network::create(n)?;
    let mut cluster =
        cluster::Cluster::create(&args.formica, &args.dir.join("devnet"), n, &profile.small_disks, profile.disk_bytes)?;
    for index in 0..n {
        cluster.start(index, 0)?;
    }
    let urls: Vec<String> = (0..n).map(|index| cluster.rpc(index)).collect();
    let clients = load::clients(&urls).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let chain = loop {
        if let Ok(status) = clients[0].status().await
            && status.height.get() >= 1
        {
            break status.chain_id;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the validators did not start in 120 s (logs in {})",
            args.dir.display()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let fee = Amount(cluster.genesis.fee_per_transaction.0.max(1));
    let (_, dev) = KeyFile::read(&cluster.dir.join("dev-key.json"))?;
    let senders: Vec<PrivateKey> =
        (0..profile.senders as u64).map(|seed| PrivateKey::from_seed(77_000 + seed)).collect();
    let journal = load::Journal::default();
    load::fund(&clients, chain, fee, &dev, &senders, &journal).await.context("funding the senders")?;
    println!("formica-faults: {n} validators up, {} senders funded", senders.len());

    // The load and the height sampler.
    let start = Instant::now();
    let stop_load = Arc::new(AtomicBool::new(false));
    let stop_sampler = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(load::sample_heights(
        load::clients(&urls).await?,
        start,
        Duration::from_millis(500),
        stop_sampler.clone(),
    ));
    let quota = profile.transactions.div_ceil(profile.senders as u64);
    let dev_account = AccountId::from_public_key(&dev.public_key());
    let transfers = load::Transfers {
        chain,
        fee,
        recipient: dev_account,
        quota,
        stop: stop_load.clone(),
        journal: journal.clone(),
    };
    let mut tasks = Vec::new();
    for (index, key) in senders.iter().enumerate() {
        tasks.push(tokio::spawn(load::sender(load::clients(&urls).await?, key.clone(), index, transfers.clone())));
    }

    // The faults, one after another.
    let mut injected = Vec::new();
    let mut unexpected = Vec::new();
    let mut windows = Vec::new();
    let mut window_start = Duration::ZERO;
    for step in &profile.steps {
        tokio::time::sleep((start + profile.warm_up.max(step.at)).saturating_duration_since(Instant::now())).await;
        let began = start.elapsed();
        println!("formica-faults: {:>5.0} s  {:?} for {} s", began.as_secs_f64(), step.fault, step.lasts.as_secs());
        if step.fault.breaks_quorum(n) {
            windows.push(StableWindow { start: window_start, end: began });
        }
        let (outcome, stops) = inject(&network, &mut cluster, step).await?;
        for stop in &stops {
            println!("formica-faults: VIOLATION (reported at the end too): {stop}");
        }
        unexpected.extend(stops);
        if step.fault.breaks_quorum(n) {
            window_start = start.elapsed();
        }
        injected.push(Injected { step: step.clone(), outcome });
    }
    tokio::time::sleep((start + profile.load_for).saturating_duration_since(Instant::now())).await;
    stop_load.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    println!("formica-faults: {:>5.0} s  load stopped; every fault undone", start.elapsed().as_secs_f64());

    // Every validator must reach the height the network had when the load stopped.
    let mut target = 0;
    for client in &clients {
        if let Ok(status) = client.status().await {
            target = target.max(status.height.get());
        }
    }
    let converge = Instant::now() + Duration::from_secs(180);
    loop {
        let mut heights = Vec::new();
        for client in &clients {
            heights.push(client.status().await.map(|status| status.height.get()).unwrap_or(0));
        }
        if heights.iter().all(|height| *height >= target) {
            break;
        }
        if Instant::now() > converge {
            // The checker reports the node that stayed behind (liveness, nothing lost).
            println!("formica-faults: not every validator reached height {target} in 180 s: {heights:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let end = start.elapsed();
    windows.push(StableWindow { start: window_start, end });
    stop_sampler.store(true, Ordering::Relaxed);
    let heights = sampler.await?;
    let longest_block_gap = longest_gap(&heights);

    // Read every node's records and check them.
    let submissions = journal.submissions.lock().expect("journal lock").clone();
    let known: BTreeMap<Hash, (AccountId, Nonce)> =
        submissions.iter().map(|submission| (submission.hash, (submission.sender, submission.nonce))).collect();
    let mut accounts = Vec::new();
    for account in &cluster.genesis.accounts {
        let key = AccountKey::parse(&account.public_key).map_err(|error| anyhow::anyhow!("genesis key: {error:?}"))?;
        accounts.push(key.account_id());
    }
    accounts.push(cluster.genesis.fee_collector);
    accounts.extend(senders.iter().map(|key| AccountId::from_public_key(&key.public_key())));
    accounts.sort();
    accounts.dedup();
    let mut nodes = Vec::new();
    let mut violations = unexpected;
    let mut blocks_checked = Vec::new();
    let mut evidence = Vec::new();
    for (index, client) in clients.iter().enumerate() {
        let name = format!("validator {index}");
        // The state first: the blocks are then read up to a head at or above its height.
        let state =
            record::state_sample(client, &accounts).await.with_context(|| format!("sampling {name}'s state"))?;
        let (_, blocks) = record::blocks(client, &known).await.with_context(|| format!("reading {name}'s blocks"))?;
        blocks_checked.push(blocks.len());
        nodes.push(record::node_log(name.clone(), blocks, Some(state), heights[index].clone()));
        match record::byzantine_evidence(&cluster.metrics_address(index)) {
            Ok(count) => {
                if count > 0 {
                    violations.push(format!("{name} saw {count} conflicting votes"));
                }
                evidence.push(count);
            }
            Err(error) => violations.push(format!("{name}'s conflicting-vote counter: {error}")),
        }
    }
    let genesis_supply = cluster.genesis.accounts.iter().map(|account| account.balance.0).sum();
    let records = Records {
        nodes,
        client: ClientLog { genesis_supply: Amount(genesis_supply), submissions: submissions.clone() },
        votes: Vec::new(),
        honest_signers: Default::default(),
        stable_windows: windows,
        liveness: Some(LivenessBounds {
            block_gap_max: Duration::from_secs(10),
            settle: Duration::from_secs(15),
            catch_up_max: Duration::from_secs(60),
        }),
    };
    violations.extend(formica_sim::check(&records).iter().map(ToString::to_string));
    let failures = journal.failures.lock().expect("journal lock").clone();
    violations.extend(failures.iter().map(|failure| format!("a transfer between funded accounts failed: {failure}")));
    let transactions_final =
        submissions.iter().filter(|submission| matches!(submission.outcome, Outcome::Final { .. })).count();
    drop(network);
    Ok(Report {
        profile: profile.name.to_string(),
        seed: args.seed,
        validators: n,
        seconds: end.as_secs(),
        faults: injected,
        transactions_submitted: submissions.len(),
        transactions_final,
        transactions_unknown: submissions.len() - transactions_final,
        transactions_failed: failures,
        blocks_checked_per_node: blocks_checked,
        conflicting_votes_seen: evidence,
        disk_bytes_per_node: (0..n).map(|index| cluster.disk_used(index)).collect(),
        longest_block_gap,
        violations,
    })
}

/// Applies one fault, waits while it lasts, undoes it; returns what happened, and a violation
/// for every validator that stopped by itself other than on its own full disk.
async fn inject(
    network: &net::Network,
    cluster: &mut cluster::Cluster,
    step: &Step,
) -> anyhow::Result<(String, Vec<String>)> {
    let n = cluster.len();
    let mut outcome = String::from("injected and undone");
    match &step.fault {
        Fault::Loss { percent } => {
            network.connect_all(*percent)?;
            tokio::time::sleep(step.lasts).await;
            network.connect_all(0)?;
        }
        Fault::Kill { node } => {
            cluster.kill(*node);
            tokio::time::sleep(step.lasts).await;
            cluster.start(*node, 0)?;
        }
        Fault::Pause { node } => {
            cluster.signal(*node, "STOP")?;
            tokio::time::sleep(step.lasts).await;
            cluster.signal(*node, "CONT")?;
        }
        Fault::Partition { groups } => {
            network.partition(groups, 0)?;
            tokio::time::sleep(step.lasts).await;
            network.connect_all(0)?;
        }
        Fault::DiskFull { node } => {
            let before = cluster.stop_lines(*node).len();
            let ballast = cluster.fill_disk(*node)?;
            let filled = Instant::now();
            let deadline = filled + step.lasts;
            let mut stopped = None;
            while Instant::now() < deadline {
                if let Some(status) = cluster.exited(*node) {
                    stopped = Some((filled.elapsed(), status));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            tokio::time::sleep(deadline.saturating_duration_since(Instant::now())).await;
            cluster.free_disk(*node)?;
            outcome = match stopped {
                Some((after, status)) => format!(
                    "stopped {:.1} s after the disk filled ({ballast} bytes of ballast), {status}: {}",
                    after.as_secs_f64(),
                    new_stop_line(cluster, *node, before).unwrap_or_else(|| "no stop line".into())
                ),
                None => {
                    format!("kept running with a full disk ({ballast} bytes of ballast) for {} s", step.lasts.as_secs())
                }
            };
            if cluster.exited(*node).is_some() {
                cluster.start(*node, 0)?;
            }
        }
        Fault::ClockSkew { node, seconds } => {
            cluster.start(*node, *seconds)?;
            tokio::time::sleep(step.lasts).await;
            cluster.start(*node, 0)?;
        }
    }
    // Whatever else happened, every validator runs when a fault ends.
    let mut stops = Vec::new();
    for index in 0..n {
        if !cluster.running(index) {
            let line = cluster.stop_lines(index).pop().unwrap_or_else(|| "no stop line".into());
            stops.push(format!("validator {index} stopped by itself during {:?}: {line}", step.fault));
            cluster.start(index, 0)?;
        }
    }
    Ok((outcome, stops))
}

#[cfg(test)]
mod tests {
    use super::*;
    use formica_types::Height;

    #[test]
    fn only_a_partition_without_a_two_thirds_side_breaks_the_quorum() {
        let halves = Fault::Partition { groups: vec![vec![0, 1], vec![2, 3]] };
        assert!(halves.breaks_quorum(4));
        let one_cut_off = Fault::Partition { groups: vec![vec![0], vec![1, 2, 3]] };
        assert!(!one_cut_off.breaks_quorum(4));
        let three_of_seven = Fault::Partition { groups: vec![vec![0, 1, 2], vec![3, 4, 5, 6]] };
        assert!(three_of_seven.breaks_quorum(7), "4 of 7 is below the quorum of 5");
        assert!(!Fault::Kill { node: 0 }.breaks_quorum(4));
        assert!(!Fault::DiskFull { node: 0 }.breaks_quorum(4));
    }

    #[test]
    fn the_soak_schedule_comes_from_its_seed_and_each_fault_ends_before_the_next() {
        let schedule = |seed| format!("{:?}", Profile::soak(seed, 60).steps);
        assert_eq!(schedule(7), schedule(7));
        assert_ne!(schedule(7), schedule(8));
        let steps = Profile::soak(7, 60).steps;
        assert_eq!(steps.len(), 119, "a fault every 30 s for an hour");
        for pair in steps.windows(2) {
            assert!(pair[0].at + pair[0].lasts < pair[1].at, "{pair:?} overlap");
        }
        for step in &steps {
            if let Fault::Partition { groups } = &step.fault {
                let mut all: Vec<usize> = groups.concat();
                all.sort();
                assert_eq!(all, (0..7).collect::<Vec<_>>(), "a partition places every validator once");
            }
        }
    }

    #[test]
    fn the_short_profile_injects_every_kind_of_fault_one_at_a_time() {
        let profile = Profile::short();
        let kinds: std::collections::BTreeSet<String> = profile
            .steps
            .iter()
            .map(|step| format!("{:?}", step.fault).split([' ', '{']).next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(kinds.len(), 6, "{kinds:?}");
        for pair in profile.steps.windows(2) {
            assert!(pair[0].at + pair[0].lasts <= pair[1].at, "{pair:?} overlap");
        }
        let last = profile.steps.last().expect("steps");
        assert!(last.at + last.lasts < profile.load_for, "every fault ends before the load stops");
        for step in &profile.steps {
            if let Fault::DiskFull { node } = step.fault {
                assert!(profile.small_disks.contains(&node), "a full disk needs a small disk");
            }
        }
    }

    #[test]
    fn the_longest_gap_is_measured_between_first_arrivals_of_new_heights() {
        let at = Duration::from_secs;
        let heights = vec![
            vec![(at(0), Height(1)), (at(1), Height(2)), (at(9), Height(3))],
            vec![(at(0), Height(1)), (at(4), Height(3)), (at(5), Height(4))],
        ];
        assert_eq!(longest_gap(&heights), (3.0, 1.0), "height 3 first arrived at 4 s on the second node");
    }
}
