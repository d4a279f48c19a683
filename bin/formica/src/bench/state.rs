//! `formica bench state`: the state database alone, at a size no genesis file reaches.
//!
//! Fills a fresh state database (QMDB, configured as a validator configures it) with
//! `--accounts` accounts in large batches, reopens it (a validator restarting at that size), then
//! runs blocks of transfers against it: each block reads its senders and receivers (as block
//! execution does before it runs) and commits their new balances plus the fee collector's
//! (merkleize, apply, commit, as at finalization), then prunes the log as validators do.
//! Reports the fill rate, the reopening time, the memory the reopened database holds, disk bytes
//! per account and per block, and the read and commit time per block, which bound what a
//! validator can finalize at that state size.
//!
//! Consensus, signatures and execution do not depend on the number of accounts; the state
//! database's index, Merkle structure and reads do. This measures that part only, and says so.

use super::network::{disk_bytes, status_bytes};
use super::workload::SplitMix64;
use anyhow::{Context, bail};
use commonware_runtime::{Runner as _, Supervisor as _, tokio as runtime};
use commonware_storage::qmdb::floor::Proportional;
use formica_state::{StateDb, StateKey, StateValue, page_cache, state_config};
use formica_types::{Account, AccountId, AccountKey, Amount, Hash, KeyScheme};
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

type Db = StateDb<runtime::Context>;

/// Accounts written per batch while filling (the size of a large genesis chunk).
const FILL_BATCH: u64 = 50_000;

#[derive(clap::Args)]
pub struct StateArgs {
    /// Accounts in the state.
    #[arg(long, default_value_t = 1_000_000)]
    accounts: u64,
    /// Blocks run against the filled state.
    #[arg(long, default_value_t = 20)]
    blocks: u64,
    /// Transfers per block (each reads and writes two accounts; the fee collector is written once
    /// per block).
    #[arg(long, default_value_t = 10_000)]
    block_transfers: u64,
    /// The database's page cache, in MiB (by default a validator's: `[storage] page_cache_mib`).
    #[arg(long, default_value_t = formica_node::config::StorageSection::PAGE_CACHE_MIB_DEFAULT)]
    page_cache_mib: usize,
    /// Seed of the accounts each block touches.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The database's folder (deleted and recreated; deleted again at the end unless
    /// `--keep-data`).
    #[arg(long, default_value = "./.formica/bench-state")]
    dir: PathBuf,
    /// Keep the database after the run.
    #[arg(long)]
    keep_data: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_file: Option<PathBuf>,
}

/// What `formica bench state` measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateReport {
    pub accounts: u64,
    pub page_cache_mib: usize,
    pub fill_seconds: f64,
    pub fill_accounts_per_second: f64,
    /// Opening the filled database again (what a validator's restart pays at this size).
    pub reopen_seconds: f64,
    /// Resident memory the reopened database added (its in-memory index and caches).
    pub reopen_rss_bytes: u64,
    pub reopen_rss_bytes_per_account: f64,
    pub disk_bytes_after_fill: u64,
    pub disk_bytes_per_account: f64,
    pub blocks: u64,
    pub block_transfers: u64,
    /// Disk added per block of transfers, after pruning below the sync boundary as validators
    /// do (every update appends to the database's log; pruning drops what no root needs).
    pub disk_bytes_per_block: f64,
    pub read_ms_p50: f64,
    pub read_ms_max: f64,
    pub commit_ms_p50: f64,
    pub commit_ms_max: f64,
    /// Transfers per second the state alone allows: a block's transfers over its median read
    /// plus commit time, on one thread.
    pub state_transfers_per_second: f64,
    pub peak_rss_bytes: u64,
    pub cpus: usize,
    pub load_before: f64,
}

impl StateReport {
    pub fn text(&self) -> String {
        format!(
            "state database, {} accounts, page cache {} MiB\n\
             fill         {:.1} s ({:.0} accounts/s)\n\
             reopen       {:.2} s, +{} MiB resident ({:.0} B per account)\n\
             disk         {} MiB after the fill ({:.0} B per account); +{:.1} MiB per block of {} transfers\n\
             per block    read p50 {:.1} ms (max {:.1}), commit p50 {:.1} ms (max {:.1}); {} blocks\n\
             state alone  {:.0} transfers/s\n\
             machine      {} cpus, load {:.2} before; peak rss {} MiB\n",
            self.accounts,
            self.page_cache_mib,
            self.fill_seconds,
            self.fill_accounts_per_second,
            self.reopen_seconds,
            self.reopen_rss_bytes >> 20,
            self.reopen_rss_bytes_per_account,
            self.disk_bytes_after_fill >> 20,
            self.disk_bytes_per_account,
            self.disk_bytes_per_block / f64::from(1 << 20),
            self.block_transfers,
            self.read_ms_p50,
            self.read_ms_max,
            self.commit_ms_p50,
            self.commit_ms_max,
            self.blocks,
            self.state_transfers_per_second,
            self.cpus,
            self.load_before,
            self.peak_rss_bytes >> 20,
        )
    }
}

/// Account `index`'s id. Ids are hashes of keys on the chain; the state hashes them again into
/// its keys, so any distinct ids spread the same way.
fn id(index: u64) -> AccountId {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&index.to_be_bytes());
    bytes[8..16].copy_from_slice(&SplitMix64::new(index).next_u64().to_be_bytes());
    AccountId(bytes)
}

fn account(index: u64, balance: u128) -> Account {
    let mut key = [7u8; 32];
    key[..8].copy_from_slice(&index.to_be_bytes());
    Account::new(AccountKey::new(KeyScheme::Ed25519, &key).expect("32 bytes"), Amount(balance))
}

fn key(index: u64) -> Hash {
    StateKey::Account(id(index)).hash()
}

/// Writes the accounts `indexes` with `balance` in one batch: merkleize, apply, commit.
async fn commit(db: Db, indexes: impl Iterator<Item = u64>, balance: u128) -> anyhow::Result<Db> {
    let mut batch = db.new_batch();
    for index in indexes {
        batch = batch.write(key(index), Some(StateValue::Account(account(index, balance))));
    }
    let batch = batch.merkleize(&db, None, &mut Proportional).await.context("merkleizing")?;
    db.apply_batch(batch).await.context("applying")?.commit().await.context("committing")
}

/// Resident memory of this process after returning freed memory to the system.
fn resident_bytes() -> u64 {
    // SAFETY: `malloc_trim` only releases free heap memory; it has no preconditions.
    unsafe { libc::malloc_trim(0) };
    own_status_bytes("VmRSS:")
}

fn own_status_bytes(field: &str) -> u64 {
    status_bytes(&std::fs::read_to_string("/proc/self/status").unwrap_or_default(), field)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

fn median_and_max(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[values.len() - 1])
}

/// Runs `formica bench state`.
pub fn run(args: StateArgs) -> anyhow::Result<StateReport> {
    if args.accounts < 2 || args.blocks == 0 || args.block_transfers == 0 {
        bail!("the state bench needs at least 2 accounts, 1 block and 1 transfer per block");
    }
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir).with_context(|| format!("deleting {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let (load_before, cpus, _) = super::network::machine();
    let config = runtime::Config::new().with_storage_directory(&args.dir);
    let accounts = args.accounts;
    let (blocks, transfers, seed) = (args.blocks, args.block_transfers, args.seed);
    let page_cache_mib = args.page_cache_mib;
    let dir = args.dir.clone();
    let report = runtime::Runner::new(config).start(|context| async move {
        let mib = NonZeroUsize::new(page_cache_mib).context("--page-cache-mib must be positive")?;
        let open =
            |name: &'static str| StateDb::init(context.child(name), state_config("bench", page_cache(mib)), None);
        let mut db = open("fill").await.context("opening the state database")?;
        let started = Instant::now();
        let mut reported = Instant::now();
        for start in (0..accounts).step_by(FILL_BATCH as usize) {
            db = commit(db, start..(start + FILL_BATCH).min(accounts), 1_000_000).await?;
            if reported.elapsed() >= Duration::from_secs(10) {
                reported = Instant::now();
                let done = (start + FILL_BATCH).min(accounts);
                eprintln!("filled {done} of {accounts} accounts in {:.0} s", started.elapsed().as_secs_f64());
            }
        }
        let fill_seconds = started.elapsed().as_secs_f64();
        let boundary = db.sync_boundary();
        let db = db.prune(boundary).await.context("pruning")?;
        drop(db);
        let disk_bytes_after_fill = disk_bytes(&dir);

        let before = resident_bytes();
        let started = Instant::now();
        let mut db = open("reopened").await.context("reopening the state database")?;
        let reopen_seconds = started.elapsed().as_secs_f64();
        let reopen_rss_bytes = resident_bytes().saturating_sub(before);
        eprintln!("reopened {accounts} accounts in {reopen_seconds:.2} s");

        let mut rng = SplitMix64::new(seed);
        let collector = 0;
        let (mut reads, mut commits) = (Vec::new(), Vec::new());
        for block in 0..blocks {
            let touched: Vec<u64> = (0..transfers * 2).map(|_| 1 + rng.below(accounts - 1)).collect();
            let keys: Vec<Hash> = touched.iter().map(|&index| key(index)).collect();
            let references: Vec<&Hash> = keys.iter().collect();
            let started = Instant::now();
            let values = db.get_many(&references).await.context("reading")?;
            reads.push(millis(started.elapsed()));
            if values.iter().any(Option::is_none) {
                bail!("an account written by the fill was not found");
            }
            let started = Instant::now();
            let balance = 1_000_000 + u128::from(block) + 1;
            db = commit(db, touched.iter().copied().chain([collector]), balance).await?;
            commits.push(millis(started.elapsed()));
            // Validators prune below the sync boundary (every 64 blocks); not timed here.
            let boundary = db.sync_boundary();
            db = db.prune(boundary).await.context("pruning")?;
        }
        drop(db);
        let disk_after = disk_bytes(&dir);
        let (read_ms_p50, read_ms_max) = median_and_max(reads);
        let (commit_ms_p50, commit_ms_max) = median_and_max(commits);
        anyhow::Ok(StateReport {
            accounts,
            page_cache_mib,
            fill_seconds,
            fill_accounts_per_second: accounts as f64 / fill_seconds,
            reopen_seconds,
            reopen_rss_bytes,
            reopen_rss_bytes_per_account: reopen_rss_bytes as f64 / accounts as f64,
            disk_bytes_after_fill,
            disk_bytes_per_account: disk_bytes_after_fill as f64 / accounts as f64,
            blocks,
            block_transfers: transfers,
            disk_bytes_per_block: disk_after.saturating_sub(disk_bytes_after_fill) as f64 / blocks as f64,
            read_ms_p50,
            read_ms_max,
            commit_ms_p50,
            commit_ms_max,
            state_transfers_per_second: transfers as f64 * 1_000.0 / (read_ms_p50 + commit_ms_p50),
            peak_rss_bytes: own_status_bytes("VmHWM:"),
            cpus,
            load_before,
        })
    })?;
    if !args.keep_data {
        std::fs::remove_dir_all(&args.dir).with_context(|| format!("deleting {}", args.dir.display()))?;
    }
    super::write_json(&args.json_file, &report)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_state_is_filled_reopened_and_measured() {
        let directory = tempfile::tempdir().expect("temp dir");
        let json = directory.path().join("state.json");
        let args = StateArgs {
            accounts: 2_000,
            blocks: 3,
            block_transfers: 100,
            seed: 5,
            page_cache_mib: 4,
            dir: directory.path().join("db"),
            keep_data: false,
            json_file: Some(json.clone()),
        };
        let report = run(args).expect("the bench runs");
        assert_eq!((report.accounts, report.blocks, report.block_transfers), (2_000, 3, 100));
        assert!(report.disk_bytes_after_fill > 2_000 * 32, "{report:?}");
        assert!(report.disk_bytes_per_block > 0.0, "every update appends: {report:?}");
        assert!(report.read_ms_p50 <= report.read_ms_max && report.commit_ms_p50 <= report.commit_ms_max);
        assert!(!directory.path().join("db").exists(), "the database is deleted");
        let written: StateReport = serde_json::from_slice(&std::fs::read(json).expect("written")).expect("JSON");
        assert_eq!(written.accounts, 2_000);
    }

    #[test]
    fn ids_are_distinct() {
        let ids: std::collections::BTreeSet<_> = (0..10_000).map(id).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
