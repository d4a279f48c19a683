//! The validators of a fault run: a devnet folder made by `formica up --init-only`, its
//! addresses moved onto the test network, and one `formica node` process per validator inside
//! its namespace, which the run kills, pauses, starves of disk and restarts with a skewed clock.

use crate::net;
use anyhow::{Context as _, bail};
use formica_node::NodeConfig;
use formica_types::Genesis;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// Ports every validator uses inside its own namespace.
pub const RPC_PORT: u16 = 8545;
const P2P_PORT: u16 = 30300;
const METRICS_PORT: u16 = 9100;
const ADMIN_PORT: u16 = 8645;
/// libfaketime, from Debian's `faketime` package (the thread-safe build).
const FAKETIME_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
/// The first line of what a node prints when it stops on a failure (`formica node`).
pub const STOPPED_LINE: &str = "formica node: stopped";

/// The validator processes and their folders.
pub struct Cluster {
    pub dir: PathBuf,
    binary: PathBuf,
    pub genesis: Genesis,
    nodes: Vec<Option<Child>>,
    /// Data folders mounted on a size-limited tmpfs (unmounted when dropped).
    mounts: Vec<PathBuf>,
}

impl Cluster {
    /// Creates the devnet folder for `validators` validators on the test network; the data
    /// folders of `small_disks` are tmpfs mounts of `disk_bytes` each.
    pub fn create(
        binary: &Path,
        dir: &Path,
        validators: usize,
        small_disks: &[usize],
        disk_bytes: u64,
    ) -> anyhow::Result<Self> {
        let status = Command::new(binary)
            .args(["up", "--init-only", "--validators", &validators.to_string(), "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .status()
            .context("running formica up")?;
        if !status.success() {
            bail!("formica up --init-only failed");
        }
        let genesis_path = dir.join("genesis.json");
        let mut genesis: Genesis = serde_json::from_slice(&std::fs::read(&genesis_path)?).context("genesis.json")?;
        for (index, validator) in genesis.validators.iter_mut().enumerate() {
            validator.p2p_address = format!("{}:{P2P_PORT}", net::address(index));
        }
        std::fs::write(&genesis_path, serde_json::to_vec_pretty(&genesis)?)?;
        let mut cluster = Self {
            dir: dir.to_path_buf(),
            binary: binary.to_path_buf(),
            genesis,
            nodes: Vec::new(),
            mounts: Vec::new(),
        };
        for index in 0..validators {
            let path = cluster.folder(index).join("node.toml");
            let mut config: NodeConfig = toml::from_str(&std::fs::read_to_string(&path)?).context("node.toml")?;
            let address = net::address(index);
            config.p2p_listen = format!("{address}:{P2P_PORT}").parse()?;
            config.rpc_listen = format!("{address}:{RPC_PORT}").parse()?;
            config.metrics_listen = format!("{address}:{METRICS_PORT}").parse()?;
            config.admin_listen = Some(format!("127.0.0.1:{ADMIN_PORT}").parse()?);
            std::fs::write(&path, toml::to_string_pretty(&config)?)?;
            cluster.nodes.push(None);
            if small_disks.contains(&index) {
                let data = cluster.folder(index).join(&config.data_dir);
                std::fs::create_dir_all(&data)?;
                net::run("mount", &["-t", "tmpfs", "-o", &format!("size={disk_bytes}"), "tmpfs", path_str(&data)?])?;
                cluster.mounts.push(data);
            }
        }
        Ok(cluster)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn folder(&self, index: usize) -> PathBuf {
        self.dir.join(format!("node-{index}"))
    }

    /// Where validator `index` keeps its data.
    pub fn data(&self, index: usize) -> PathBuf {
        self.folder(index).join("data")
    }

    pub fn rpc(&self, index: usize) -> String {
        format!("http://{}:{RPC_PORT}", net::address(index))
    }

    pub fn metrics_address(&self, index: usize) -> String {
        format!("{}:{METRICS_PORT}", net::address(index))
    }

    /// Starts validator `index` in its namespace, its wall clock `skew_seconds` off (none if 0),
    /// appending its output to its `node.log`.
    pub fn start(&mut self, index: usize, skew_seconds: i64) -> anyhow::Result<()> {
        self.kill(index);
        let folder = self.folder(index);
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(folder.join("node.log"))?;
        writeln!(log, "== formica-faults: starting (clock skew {skew_seconds:+} s)")?;
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &net::namespace(index)]).arg(&self.binary).args(["node", "--config"]);
        command.arg(folder.join("node.toml"));
        if skew_seconds != 0 {
            // Only the wall clock moves: block timestamps and their drift check read it.
            command.env("LD_PRELOAD", FAKETIME_LIBRARY);
            command.env("FAKETIME", format!("{skew_seconds:+}s"));
            command.env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
            command.env("FAKETIME_NO_CACHE", "1");
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting validator {index}"))?;
        self.nodes[index] = Some(child);
        Ok(())
    }

    /// Kills validator `index` with SIGKILL (if it runs).
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to validator `index`.
    pub fn signal(&self, index: usize, signal: &str) -> anyhow::Result<()> {
        let child = self.nodes[index].as_ref().with_context(|| format!("validator {index} is not running"))?;
        net::run("kill", &[&format!("-{signal}"), &child.id().to_string()])
    }

    /// `Some(status)` once validator `index` has exited by itself; `None` while it runs or
    /// when it was not started.
    pub fn exited(&mut self, index: usize) -> Option<ExitStatus> {
        let child = self.nodes[index].as_mut()?;
        child.try_wait().ok().flatten()
    }

    pub fn running(&mut self, index: usize) -> bool {
        self.nodes[index].is_some() && self.exited(index).is_none()
    }

    /// Fills validator `index`'s disk with a ballast file until the file system refuses more;
    /// returns the bytes written.
    pub fn fill_disk(&self, index: usize) -> anyhow::Result<u64> {
        let path = self.data(index).join("ballast");
        let mut file = std::fs::File::create(&path)?;
        let chunk = vec![0_u8; 1 << 20];
        let mut written = 0_u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(count) => written += count as u64,
                Err(_) => break,
            }
        }
        // Fill the last partial chunk too.
        while let Ok(count) = file.write(&chunk[..4096]) {
            if count == 0 {
                break;
            }
            written += count as u64;
        }
        Ok(written)
    }

    /// Removes the ballast written by [`Self::fill_disk`].
    pub fn free_disk(&self, index: usize) -> anyhow::Result<()> {
        std::fs::remove_file(self.data(index).join("ballast")).context("removing the ballast")
    }

    /// The lines of validator `index`'s log that start with [`STOPPED_LINE`].
    pub fn stop_lines(&self, index: usize) -> Vec<String> {
        let log = std::fs::read(self.folder(index).join("node.log")).unwrap_or_default();
        String::from_utf8_lossy(&log)
            .lines()
            .filter(|line| line.starts_with(STOPPED_LINE))
            .map(str::to_string)
            .collect()
    }

    /// Bytes allocated on disk in validator `index`'s data folder.
    pub fn disk_used(&self, index: usize) -> u64 {
        fn walk(path: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(path) else { return 0 };
            entries
                .flatten()
                .map(|entry| match entry.file_type() {
                    Ok(kind) if kind.is_dir() => walk(&entry.path()),
                    // Allocated bytes: fjall preallocates its journal sparsely.
                    Ok(_) => entry.metadata().map(|meta| meta.blocks() * 512).unwrap_or(0),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.data(index))
    }
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("the run folder's path is not UTF-8")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            // A paused process must be resumed to die cleanly under some kernels' accounting.
            let _ = self.signal(index, "CONT");
            self.kill(index);
        }
        for mount in &self.mounts {
            let _ = net::run("umount", &["-l", &mount.to_string_lossy()]);
        }
    }
}
