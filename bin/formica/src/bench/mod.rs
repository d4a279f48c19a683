//! `formica bench`: measures a whole network.
//!
//! `bench run` starts a fresh network of validator processes on loopback (as `formica up` does),
//! funds the workload's accounts at genesis, pre-signs native transfers from a seed (or, with
//! `--workload remittance`, sets up a corridor with requested and quoted remittances and
//! pre-signs their acceptances: see [`remittance`]; `--workload notary` deposits documents and
//! `--workload traceability` appends custody events to product batches: see [`records`]), then
//! drives
//! the network through JSON-RPC in a closed loop (N clients, each waiting for finality) or an
//! open loop (a fixed offered rate) and reports finalized throughput, submit-to-final latency,
//! refusals by reason, and per node CPU time per 1,000 transactions, peak memory and disk per
//! account. `bench sweep` runs open-loop steps at increasing rates on one network and draws
//! throughput and p99 latency against offered load as an SVG. `bench state` measures the state
//! database alone at a size no genesis file reaches (see [`state`]).
//!
//! Figures are measured, never asserted: nothing here fails because a number is low.

mod driver;
mod network;
mod records;
mod remittance;
mod report;
mod state;
mod workload;

use anyhow::{Context, bail};
use driver::Load;
use network::{Network, NetworkArgs};
use report::{MachineReport, NodeReport, Report};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use workload::{Distribution, Sampler};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// One load phase: closed loop (`--clients`) or open loop (`--rate`).
    Run(RunArgs),
    /// Open-loop steps at each of `--rates` on one network; writes a chart with `--svg`.
    Sweep(SweepArgs),
    /// The state database alone at a given number of accounts: fill, reopen, blocks of reads
    /// and commits; disk and memory per account.
    State(state::StateArgs),
    /// Redraws the chart of a sweep from its JSON report (`sweep --json-file`).
    Chart {
        /// The sweep's JSON report.
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        svg: PathBuf,
        #[arg(long, default_value = "Formica: throughput and p99 latency against offered load")]
        title: String,
    },
}

/// What the measured transactions do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Native transfers between workload accounts.
    Transfer,
    /// Cross-border remittances: the settling acceptance of each, after requests and quotes
    /// are set up (see the `remittance` module of the bench).
    Remittance,
    /// Notarisation: one document hash deposited per transaction.
    Notary,
    /// Traceability: one custody event appended to a product batch per transaction, after the
    /// batches are registered.
    Traceability,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Transfer => "transfer",
            Workload::Remittance => "remittance",
            Workload::Notary => "notary",
            Workload::Traceability => "traceability",
        }
    }

    /// What the chart calls the measured transactions.
    fn description(self) -> &'static str {
        match self {
            Workload::Transfer => "native transfers",
            Workload::Remittance => "remittance settlements",
            Workload::Notary => "notary deposits",
            Workload::Traceability => "traceability events",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Closed,
    Open,
}

/// What every bench shares: the network, the accounts and the output.
#[derive(clap::Args)]
pub struct CommonArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// What the measured transactions do.
    #[arg(long, value_enum, default_value = "transfer")]
    workload: Workload,
    /// Accounts funded at genesis; senders and receivers are drawn from them.
    #[arg(long, default_value_t = 10_000)]
    accounts: u64,
    #[arg(long, value_enum, default_value = "uniform")]
    distribution: Distribution,
    /// The exponent s of `--distribution zipf`.
    #[arg(long, default_value_t = 1.0)]
    zipf_exponent: f64,
    /// Seed of the account keys and the transfer plan.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds of load (per step for a sweep).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds to wait after the load for admitted transactions to become final.
    #[arg(long, default_value_t = 30)]
    drain: u64,
    /// Open loop: transactions per `formica_sendTransactions` call (at most 256, the node's
    /// limit per call; a larger value sends 256).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Open loop: requests outstanding at once (the offered rate drops if this is reached).
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Read every workload account's nonce after the run when there are at most this many.
    #[arg(long, default_value_t = 100_000)]
    verify_accounts_max: u64,
    /// Also write the report as JSON to this file (`--json` prints it instead of the text).
    #[arg(long)]
    json_file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[arg(long, value_enum, default_value = "closed")]
    mode: Mode,
    /// Closed loop: concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Open loop: offered transactions per second.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// Transactions to pre-sign (default: enough for the duration).
    #[arg(long)]
    transactions: Option<usize>,
}

#[derive(clap::Args)]
pub struct SweepArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Offered rates, in transactions per second, one step each.
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000,2000,4000")]
    rates: Vec<u64>,
    /// Write the chart of throughput and p99 latency against offered load here.
    #[arg(long)]
    svg: Option<PathBuf>,
}

/// Runs `formica bench`.
pub fn run(command: BenchCommand, target: &crate::client::Target) -> anyhow::Result<()> {
    if target.rpc.is_some() {
        bail!("formica bench starts its own network (see --network-dir); --rpc is not used");
    }
    let runtime = || tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let reports = match command {
        BenchCommand::Chart { from, svg, title } => {
            let text = std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
            let reports: Vec<Report> =
                serde_json::from_slice(&text).with_context(|| format!("{} is not a sweep report", from.display()))?;
            return std::fs::write(&svg, report::sweep_svg(&reports, &title))
                .with_context(|| format!("writing {}", svg.display()));
        }
        BenchCommand::State(args) => {
            let report = state::run(args)?;
            if target.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.text());
            }
            return Ok(());
        }
        BenchCommand::Run(args) => vec![runtime()?.block_on(run_once(args))?],
        BenchCommand::Sweep(args) => runtime()?.block_on(sweep(args))?,
    };
    if target.json {
        let value = if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])?
        } else {
            serde_json::to_string_pretty(&reports)?
        };
        println!("{value}");
    } else {
        for report in &reports {
            println!("{}", report.text());
        }
    }
    Ok(())
}

fn write_json<T: serde::Serialize>(path: &Option<PathBuf>, value: &T) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A started network with its workload signed and ready.
struct Prepared {
    network: Network,
    ids: Vec<formica_types::AccountId>,
    transactions: Arc<Vec<workload::Prepared>>,
    /// The remittance workload: each measured transaction's remittance.
    remittances: Option<Arc<Vec<formica_types::RemittanceId>>>,
    /// Whether to read each submitted transaction's receipt after the load (module workloads,
    /// whose transactions can fail in execution where a transfer cannot).
    check_receipts: bool,
    /// Transactions the workload's set-up phases made final before the load.
    setup_transactions: u64,
}

async fn prepare(common: &CommonArgs, transactions: usize) -> anyhow::Result<Prepared> {
    let accounts_min = match common.workload {
        Workload::Transfer | Workload::Notary | Workload::Traceability => 2,
        Workload::Remittance => remittance::FIRST_CUSTOMER + 2,
    };
    if common.accounts < accounts_min {
        bail!("--accounts must be at least {accounts_min} for the {} workload", common.workload.name());
    }
    let threads = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let started = std::time::Instant::now();
    let (seed, count) = (common.seed, common.accounts);
    let (public_keys, ids) = tokio::task::spawn_blocking(move || workload::accounts(seed, count, threads)).await?;
    eprintln!("derived {} account keys in {:.1} s", ids.len(), started.elapsed().as_secs_f64());
    let started = std::time::Instant::now();
    let roles = match common.workload {
        Workload::Transfer | Workload::Notary | Workload::Traceability => Vec::new(),
        Workload::Remittance => remittance::genesis_roles(&ids),
    };
    let network = Network::start(&common.network, &public_keys, roles).await?;
    drop(public_keys);
    eprintln!(
        "{} validators up with {} funded accounts in {:.1} s",
        common.network.validators,
        common.accounts,
        started.elapsed().as_secs_f64()
    );
    let (distribution, exponent, chain_id) = (common.distribution, common.zipf_exponent, network.chain_id);
    match common.workload {
        Workload::Transfer => {
            let (signed, ids) = tokio::task::spawn_blocking(move || {
                let sampler = Sampler::new(distribution, count, exponent);
                (workload::generate(seed, chain_id, &ids, &sampler, transactions, threads), ids)
            })
            .await?;
            Ok(Prepared {
                network,
                ids,
                transactions: Arc::new(signed),
                remittances: None,
                check_receipts: false,
                setup_transactions: 0,
            })
        }
        Workload::Notary => {
            let (signed, ids) = tokio::task::spawn_blocking(move || {
                let calls = records::notary(seed, count, transactions);
                (workload::sign_calls(seed, chain_id, &ids, &calls, threads), ids)
            })
            .await?;
            Ok(Prepared {
                network,
                ids,
                transactions: Arc::new(signed),
                remittances: None,
                check_receipts: true,
                setup_transactions: 0,
            })
        }
        Workload::Traceability => {
            let (setup, appends, ids) = tokio::task::spawn_blocking(move || {
                let plan = records::traceability(&ids, transactions);
                let setup = workload::sign_calls(seed, chain_id, &ids, &plan.setup, threads);
                (setup, workload::sign_calls(seed, chain_id, &ids, &plan.appends, threads), ids)
            })
            .await?;
            let mut network = network;
            let setup_transactions = setup.len() as u64;
            set_up(&mut network, "register batches", setup).await?;
            Ok(Prepared {
                network,
                ids,
                transactions: Arc::new(appends),
                remittances: None,
                check_receipts: true,
                setup_transactions,
            })
        }
        Workload::Remittance => {
            let started = std::time::Instant::now();
            let (setup, accepts, remittances, ids) = tokio::task::spawn_blocking(move || {
                let sampler = Sampler::new(distribution, count, exponent);
                let mut rng = workload::SplitMix64::new(seed ^ 0x5EED);
                let plan = remittance::plan(&ids, transactions, &sampler, &mut rng);
                let setup: Vec<_> = plan
                    .setup
                    .iter()
                    .map(|(name, calls)| (*name, workload::sign_calls(seed, chain_id, &ids, calls, threads)))
                    .collect();
                let accepts = workload::sign_calls(seed, chain_id, &ids, &plan.accepts, threads);
                (setup, accepts, plan.ids, ids)
            })
            .await?;
            eprintln!("signed {} remittances' transactions in {:.1} s", transactions, started.elapsed().as_secs_f64());
            let mut network = network;
            let setup_transactions = setup.iter().map(|(_, signed)| signed.len() as u64).sum();
            for (name, signed) in setup {
                set_up(&mut network, name, signed).await?;
            }
            Ok(Prepared {
                network,
                ids,
                transactions: Arc::new(accepts),
                remittances: Some(Arc::new(remittances)),
                check_receipts: true,
                setup_transactions,
            })
        }
    }
}

/// Runs one set-up phase to the end: closed loop against node-0, failing unless every
/// transaction was accepted and is final.
async fn set_up(network: &mut Network, name: &str, signed: Vec<workload::Prepared>) -> anyhow::Result<()> {
    let count = signed.len();
    let started = std::time::Instant::now();
    eprintln!("== set-up: {name} ({count} transactions)");
    // One node only: the one whose blocks the driver follows, so a client's next transaction is
    // submitted where its sender's earlier ones are already out of the pool.
    let outcome = driver::drive(
        &network.rpc[..1],
        Arc::new(signed),
        0..count,
        Load::Closed { clients: SETUP_CLIENTS, patience: Duration::from_secs(SETUP_PATIENCE_SECONDS) },
        Duration::from_secs(SETUP_SECONDS_MAX),
        Duration::from_secs(30),
    )
    .await?;
    network.check_alive()?;
    if !outcome.rejected.is_empty() || outcome.not_finalized > 0 || outcome.finalized != count as u64 {
        bail!(
            "set-up phase {name}: {} of {count} final, {} not final, rejected {:?}",
            outcome.finalized,
            outcome.not_finalized,
            outcome.rejected
        );
    }
    eprintln!("set-up: {name} done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Set-up clients: well below the mempool's default of 256 pending transactions per sender and
/// its nonce window of 256 (at 200, nodes whose pools lagged the finalized head refused some).
const SETUP_CLIENTS: usize = 100;
/// How long a set-up client waits for its transaction to be final before it moves on (one
/// refused transaction leaves the sender's later ones waiting for ever: the phase then fails
/// with the refusal's reason instead of hanging).
const SETUP_PATIENCE_SECONDS: u64 = 20;
/// The longest a set-up phase may take.
const SETUP_SECONDS_MAX: u64 = 1_800;

/// How many of `remittances` node `url` reports settled (the rest were rejected by compliance,
/// or not accepted in time).
async fn settled_count(url: &str, remittances: &[formica_types::RemittanceId]) -> anyhow::Result<u64> {
    let client = formica_client::Client::connect(url).await?;
    let mut settled = 0;
    for id in remittances {
        if let Some(view) = client.remittance(*id).await? {
            settled += u64::from(view.status == formica_types::RemittanceStatus::Settled);
        }
    }
    Ok(settled)
}

/// How many of `transactions` node `url`'s receipts show succeeded (the rest failed in
/// execution, or are not final).
async fn succeeded_count(url: &str, transactions: &[workload::Prepared]) -> anyhow::Result<u64> {
    let client = formica_client::Client::connect(url).await?;
    let mut succeeded = 0;
    for transaction in transactions {
        if let Some(receipt) = client.receipt(transaction.hash).await? {
            succeeded += u64::from(receipt.status == formica_client::types::ReceiptStatus::Success);
        }
    }
    Ok(succeeded)
}

/// Runs one load phase on `network` and measures the nodes over it.
#[allow(clippy::too_many_arguments)]
async fn measure(
    network: &mut Network,
    ids: &[formica_types::AccountId],
    transactions: Arc<Vec<workload::Prepared>>,
    remittances: Option<&[formica_types::RemittanceId]>,
    check_receipts: bool,
    range: std::ops::Range<usize>,
    load: Load,
    common: &CommonArgs,
    mut report: Report,
) -> anyhow::Result<(Report, usize)> {
    network.check_alive()?;
    let pids = network.pids()?;
    let before: Vec<_> = pids.iter().map(|&pid| network::sample_process(pid)).collect::<anyhow::Result<_>>()?;
    let (load_before, cpus, kernel) = network::machine();
    let own_before = network::own_cpu_seconds();
    let outcome = driver::drive(
        &network.rpc,
        transactions.clone(),
        range.clone(),
        load,
        Duration::from_secs(common.duration),
        Duration::from_secs(common.drain),
    )
    .await?;
    network.check_alive()?;
    let submitted = range.start..outcome.next_index;
    // Sampled before the checks below, whose queries would count as node-0's work.
    let after: Vec<_> = pids.iter().map(|&pid| network::sample_process(pid)).collect::<anyhow::Result<_>>()?;
    let own_after = network::own_cpu_seconds();
    let (load_after, _, _) = network::machine();
    report = report.with_outcome(&outcome);
    report.block_transactions_max = network.block_transactions_max;
    if ids.len() as u64 <= common.verify_accounts_max {
        report.chain_nonce_sum = Some(driver::chain_nonce_sum(&network.rpc[0], ids).await?);
    }
    if let Some(remittances) = remittances
        && submitted.len() as u64 <= common.verify_accounts_max
    {
        report.settled = Some(settled_count(&network.rpc[0], &remittances[submitted.clone()]).await?);
    }
    if check_receipts && submitted.len() as u64 <= common.verify_accounts_max {
        report.succeeded = Some(succeeded_count(&network.rpc[0], &transactions[submitted]).await?);
    }
    let per_thousand =
        |seconds: f64| if outcome.finalized == 0 { 0.0 } else { seconds * 1000.0 / outcome.finalized as f64 };
    for (index, ((&pid, before), after)) in pids.iter().zip(&before).zip(after).enumerate() {
        let cpu_seconds = after.cpu_seconds - before.cpu_seconds;
        let disk_bytes = network::disk_bytes(&network.data_dir(index));
        report.nodes.push(NodeReport {
            name: format!("node-{index}"),
            pid,
            cpu_seconds,
            cpu_seconds_per_1000_tx: per_thousand(cpu_seconds),
            peak_rss_bytes: after.peak_rss_bytes,
            disk_bytes,
            disk_bytes_per_account: disk_bytes as f64 / common.accounts as f64,
        });
    }
    report.machine = MachineReport {
        cpus,
        kernel,
        load_average_1m_before: load_before,
        load_average_1m_after: load_after,
        bench_cpu_seconds: own_after - own_before,
    };
    Ok((report, outcome.next_index))
}

fn base_report(common: &CommonArgs) -> Report {
    Report {
        validators: common.network.validators,
        accounts: common.accounts,
        distribution: match common.distribution {
            Distribution::Uniform => "uniform".into(),
            Distribution::Zipf => format!("zipf s={}", common.zipf_exponent),
        },
        seed: common.seed,
        workload: common.workload.name().into(),
        ..Report::default()
    }
}

async fn run_once(args: RunArgs) -> anyhow::Result<Report> {
    let common = &args.common;
    let duration = common.duration as usize;
    let (load, default_count, report) = match args.mode {
        Mode::Closed => (
            Load::Closed { clients: args.clients, patience: Duration::from_secs(common.duration + common.drain) },
            // A client finishes at most a few dozen transactions a second (one per block).
            args.clients * duration * 20 + 1_000,
            Report { mode: "closed".into(), clients: Some(args.clients), ..base_report(common) },
        ),
        Mode::Open => (
            Load::Open { rate: args.rate, batch: common.batch, in_flight: common.in_flight },
            args.rate as usize * duration + 1_000,
            Report { mode: "open".into(), target_rate_tps: Some(args.rate), ..base_report(common) },
        ),
    };
    let count = args.transactions.unwrap_or(default_count);
    let Prepared { mut network, ids, transactions, remittances, check_receipts, setup_transactions } =
        prepare(common, count).await?;
    let report = Report { setup_transactions, ..report };
    let result = measure(
        &mut network,
        &ids,
        transactions,
        remittances.as_deref().map(Vec::as_slice),
        check_receipts,
        0..count,
        load,
        common,
        report,
    )
    .await;
    network.stop().await;
    let (report, _) = result?;
    write_json(&common.json_file, &report)?;
    Ok(report)
}

async fn sweep(args: SweepArgs) -> anyhow::Result<Vec<Report>> {
    let common = &args.common;
    if args.rates.is_empty() {
        bail!("--rates names no rate");
    }
    let total: usize = args.rates.iter().map(|&rate| rate as usize * common.duration as usize + 1_000).sum();
    let Prepared { mut network, ids, transactions, remittances, check_receipts, setup_transactions } =
        prepare(common, total).await?;
    let mut reports = Vec::new();
    let mut start = 0;
    for &rate in &args.rates {
        let count = rate as usize * common.duration as usize + 1_000;
        eprintln!("== step: {rate} tx/s offered for {} s", common.duration);
        let load = Load::Open { rate, batch: common.batch, in_flight: common.in_flight };
        let report =
            Report { mode: "open".into(), target_rate_tps: Some(rate), setup_transactions, ..base_report(common) };
        let range = start..(start + count).min(total);
        let remittances = remittances.as_deref().map(Vec::as_slice);
        let measured =
            measure(&mut network, &ids, transactions.clone(), remittances, check_receipts, range, load, common, report);
        match measured.await {
            Ok((report, next)) => {
                eprint!("{}", report.text());
                reports.push(report);
                start = next;
            }
            Err(error) => {
                network.stop().await;
                return Err(error);
            }
        }
    }
    network.stop().await;
    write_json(&common.json_file, &reports)?;
    if let Some(path) = &args.svg {
        let title = format!(
            "Formica: {} validators on loopback, {} accounts, {}",
            common.network.validators,
            common.accounts,
            common.workload.description()
        );
        std::fs::write(path, report::sweep_svg(&reports, &title))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(reports)
}
