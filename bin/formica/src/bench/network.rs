//! The network a bench drives: validator processes started the way `formica up` starts them,
//! with the workload's accounts funded at genesis, and what the operating system says about
//! each process (CPU time, peak memory) and its data folder (bytes on disk).

use crate::devnet::{self, UpArgs};
use anyhow::{Context, bail};
use formica_types::{Amount, Genesis, GenesisAccount};
use std::path::{Path, PathBuf};
use tokio::process::Child;

/// Where the bench network listens and how many validators it has.
#[derive(Clone, Debug, clap::Args)]
pub struct NetworkArgs {
    /// Number of validator processes.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// The bench network's folder (deleted and recreated on every run).
    #[arg(long, default_value = "./.formica/bench")]
    pub network_dir: PathBuf,
    /// First RPC port; validator i listens on this plus i.
    #[arg(long, default_value_t = 18545)]
    pub rpc_port: u16,
    /// First p2p port.
    #[arg(long, default_value_t = 31300)]
    pub p2p_port: u16,
    /// First metrics port.
    #[arg(long, default_value_t = 19100)]
    pub metrics_port: u16,
    /// First administrative API port.
    #[arg(long, default_value_t = 18645)]
    pub admin_port: u16,
    /// The genesis limit on transactions per block (the devnet's is 10,000).
    #[arg(long)]
    pub block_transactions_max: Option<u32>,
    /// The genesis consensus leader timeout (default 1,000 ms). Building the first block of a
    /// genesis with 1e5+ accounts takes longer than the default on a busy 2-core machine.
    #[arg(long)]
    pub leader_timeout_ms: Option<u32>,
    /// The genesis consensus certification timeout (default 2,000 ms).
    #[arg(long)]
    pub certification_timeout_ms: Option<u32>,
    /// Blocks per epoch (default 1,000). Short epochs put many committee changes into one run,
    /// which is how the cost of an epoch change is measured.
    #[arg(long)]
    pub epoch_blocks: Option<u64>,
    /// Keep each node's data folder after the run. By default only the logs, configurations and
    /// genesis stay: a five-minute run at 5,000 tx/s writes about 2 GB per node.
    #[arg(long)]
    pub keep_data: bool,
}

/// What each workload account holds at genesis: far more than any run spends.
pub const ACCOUNT_BALANCE: u128 = 1_000_000_000_000;

/// Running validator processes; dropping it kills them.
pub struct Network {
    pub dir: PathBuf,
    pub rpc: Vec<String>,
    pub chain_id: formica_types::ChainId,
    /// The genesis limit on transactions per block.
    pub block_transactions_max: u32,
    children: Vec<Child>,
    keep_data: bool,
}

impl Network {
    /// Creates a fresh devnet in `args.network_dir` whose genesis also funds `public_keys` (and
    /// grants `roles`), starts
    /// its validators, and waits until every one has finalized block 1 (which creates the
    /// genesis accounts).
    pub async fn start(
        args: &NetworkArgs,
        public_keys: &[String],
        roles: Vec<formica_types::GenesisRole>,
    ) -> anyhow::Result<Self> {
        let dir = args.network_dir.clone();
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("deleting {}", dir.display()))?;
        }
        let up = UpArgs {
            reset: true,
            validators: args.validators,
            rpc_port: args.rpc_port,
            p2p_port: args.p2p_port,
            metrics_port: args.metrics_port,
            admin_port: args.admin_port,
            init_only: true,
            epoch_blocks: args.epoch_blocks.unwrap_or(Genesis::EPOCH_BLOCKS_DEFAULT),
        };
        let manifest = devnet::create(&dir, &up)?;
        let genesis_path = dir.join("genesis.json");
        let mut genesis: Genesis = serde_json::from_slice(&std::fs::read(&genesis_path)?)?;
        genesis.accounts.extend(
            public_keys.iter().map(|key| GenesisAccount { public_key: key.clone(), balance: Amount(ACCOUNT_BALANCE) }),
        );
        genesis.roles.extend(roles);
        if let Some(limit) = args.block_transactions_max {
            genesis.block_transactions_max = limit;
        }
        if let Some(timeout) = args.leader_timeout_ms {
            genesis.consensus_timeouts.leader_ms = timeout;
        }
        if let Some(timeout) = args.certification_timeout_ms {
            genesis.consensus_timeouts.certification_ms = timeout;
        }
        genesis.validate().context("bench genesis")?;
        // Compact: a genesis with a million accounts is large enough that indentation matters.
        std::fs::write(&genesis_path, serde_json::to_vec(&genesis)?)?;
        let mut children = Vec::with_capacity(args.validators);
        for index in 0..args.validators {
            children.push(devnet::spawn(&dir, index)?);
        }
        let network = Self {
            dir,
            rpc: manifest.rpc,
            chain_id: genesis.chain_id,
            block_transactions_max: genesis.block_transactions_max,
            children,
            keep_data: args.keep_data,
        };
        for url in &network.rpc {
            devnet::wait_until_ready(url).await?;
        }
        Ok(network)
    }

    /// The validators' process ids, in node order.
    pub fn pids(&self) -> anyhow::Result<Vec<u32>> {
        self.children.iter().map(|child| child.id().context("a validator process exited")).collect()
    }

    /// Fails if a validator process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for (index, child) in self.children.iter_mut().enumerate() {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "node-{index} exited ({status}); see {}",
                    devnet::node_dir(&self.dir, index).join("node.log").display()
                );
            }
        }
        Ok(())
    }

    pub fn data_dir(&self, index: usize) -> PathBuf {
        devnet::node_dir(&self.dir, index).join("data")
    }

    /// Stops the validators and, unless `--keep-data`, deletes their data folders (after the
    /// report has measured them).
    pub async fn stop(mut self) {
        devnet::stop(&mut self.children).await;
        if self.keep_data {
            return;
        }
        for index in 0..self.children.len() {
            let data = self.data_dir(index);
            if let Err(error) = std::fs::remove_dir_all(&data)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                eprintln!("could not delete {}: {error}", data.display());
            }
        }
    }
}

/// CPU time and memory of one process, from `/proc`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessSample {
    /// User plus system time, in seconds.
    pub cpu_seconds: f64,
    /// Peak resident set (`VmHWM`), in bytes.
    pub peak_rss_bytes: u64,
}

/// Reads `/proc/<pid>/stat` (utime, stime) and `/proc/<pid>/status` (VmHWM).
pub fn sample_process(pid: u32) -> anyhow::Result<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("process {pid}"))?;
    // The command name (field 2) may hold spaces; fields after it are split from its closing ')'.
    let after_name = stat.rsplit_once(')').context("malformed /proc stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the name and state.
    let utime: u64 = fields.get(11).context("utime")?.parse()?;
    let stime: u64 = fields.get(12).context("stime")?.parse()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(ProcessSample { cpu_seconds: (utime + stime) as f64 / ticks, peak_rss_bytes: status_bytes(&status, "VmHWM:") })
}

/// A memory figure of a `/proc/<pid>/status` text (`field` with its colon, e.g. `VmHWM:`), in
/// bytes; 0 when the field is missing.
pub fn status_bytes(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// CPU time of this process (all threads), in seconds.
pub fn own_cpu_seconds() -> f64 {
    sample_process(std::process::id()).map(|sample| sample.cpu_seconds).unwrap_or(0.0)
}

/// Total bytes of the files under `path`.
pub fn disk_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => disk_bytes(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The 1-minute load average, the CPU count, and the kernel, for the report.
pub fn machine() -> (f64, usize, String) {
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|value| value.parse().ok()))
        .unwrap_or(0.0);
    let cpus = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    (load, cpus, kernel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_sample_is_plausible() {
        let busy = std::time::Instant::now();
        let mut x = 0u64;
        while busy.elapsed() < std::time::Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let sample = sample_process(std::process::id()).expect("own /proc entry");
        assert!(sample.cpu_seconds > 0.0);
        assert!(sample.peak_rss_bytes > 1024 * 1024, "{sample:?}");
    }

    #[test]
    fn disk_bytes_counts_nested_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("a")).expect("mkdir");
        std::fs::write(dir.path().join("a/x"), [0u8; 100]).expect("write");
        std::fs::write(dir.path().join("y"), [0u8; 23]).expect("write");
        assert_eq!(disk_bytes(dir.path()), 123);
    }
}
