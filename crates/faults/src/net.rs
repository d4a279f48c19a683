//! The test network: one network namespace per validator, joined to a bridge in the host
//! namespace by a veth pair, and the `nft` rules that cut and degrade it on the receiving side.
//!
//! The host holds [`HOST`] on the bridge (the load driver's address); validator `i` holds
//! `10.77.0.(10 + i)`. Every rule drops only traffic from other validators, so the driver can
//! always reach a node that runs: what it measures is the chain, not its own link.

use anyhow::{Context as _, bail};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// The bridge in the host namespace.
const BRIDGE: &str = "fxbr0";
/// The driver's address on the bridge.
pub const HOST: &str = "10.77.0.1";
/// The nft table every rule lives in (inside each validator's namespace).
const TABLE: &str = "formica_faults";

/// The namespace of validator `index`.
pub fn namespace(index: usize) -> String {
    format!("fxn{index}")
}

/// The address of validator `index` on the bridge.
pub fn address(index: usize) -> String {
    format!("10.77.0.{}", 10 + index)
}

/// Runs a command; fails with its output if it does not succeed.
pub fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new(program).args(args).output().with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!("{program} {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// Runs an nft script inside validator `index`'s namespace.
fn nft(index: usize, script: &str) -> anyhow::Result<()> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", &namespace(index), "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting nft")?;
    child.stdin.take().context("nft's input")?.write_all(script.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("nft in {} failed: {}\n{script}", namespace(index), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// The namespaces, the bridge and the veth pairs of one run; removed when dropped.
pub struct Network {
    validators: usize,
}

impl Network {
    /// Checks that this machine can make namespaces and nft rules, with a reason if not.
    pub fn available() -> Result<(), String> {
        for tool in ["ip", "nft"] {
            if Command::new(tool).arg("-V").output().is_err() {
                return Err(format!("`{tool}` is not installed (scripts/faults/run.sh installs it)"));
            }
        }
        let probe = "fxprobe";
        let _ = run("ip", &["netns", "del", probe]);
        run("ip", &["netns", "add", probe]).map_err(|error| format!("cannot create a network namespace: {error}"))?;
        let nft = Command::new("ip").args(["netns", "exec", probe, "nft", "list", "tables"]).output();
        let _ = run("ip", &["netns", "del", probe]);
        match nft {
            Ok(output) if output.status.success() => Ok(()),
            Ok(output) => Err(format!("nft does not work here: {}", String::from_utf8_lossy(&output.stderr).trim())),
            Err(error) => Err(format!("nft does not run: {error}")),
        }
    }

    /// Removes whatever an earlier, interrupted run left behind.
    pub fn clean(validators_max: usize) {
        for index in 0..validators_max {
            let _ = run("ip", &["netns", "del", &namespace(index)]);
            let _ = run("ip", &["link", "del", &format!("fxv{index}")]);
        }
        let _ = run("ip", &["link", "del", BRIDGE]);
    }

    /// Creates the bridge and one namespace per validator, each with an empty rule table.
    pub fn create(validators: usize) -> anyhow::Result<Self> {
        Self::clean(16);
        let network = Self { validators };
        run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
        run("ip", &["addr", "add", &format!("{HOST}/24"), "dev", BRIDGE])?;
        run("ip", &["link", "set", BRIDGE, "up"])?;
        for index in 0..validators {
            let ns = namespace(index);
            let veth = format!("fxv{index}");
            run("ip", &["netns", "add", &ns])?;
            run("ip", &["link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns])?;
            run("ip", &["link", "set", &veth, "master", BRIDGE, "up"])?;
            run("ip", &["-n", &ns, "addr", "add", &format!("{}/24", address(index)), "dev", "eth0"])?;
            run("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
            run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
            nft(
                index,
                &format!(
                    "add table inet {TABLE}\nadd chain inet {TABLE} input {{ type filter hook input priority 0; }}\n"
                ),
            )?;
        }
        Ok(network)
    }

    /// Sets validator `index`'s receiving rules: drop everything from the validators in `cut`,
    /// and `loss_percent` of what arrives from the others (the driver's traffic is never touched).
    pub fn set_rules(&self, index: usize, cut: &BTreeSet<usize>, loss_percent: u8) -> anyhow::Result<()> {
        let mut script = format!("flush chain inet {TABLE} input\n");
        if !cut.is_empty() {
            let sources: Vec<String> = cut.iter().map(|peer| address(*peer)).collect();
            script.push_str(&format!("add rule inet {TABLE} input ip saddr {{ {} }} drop\n", sources.join(", ")));
        }
        if loss_percent > 0 {
            script.push_str(&format!(
                "add rule inet {TABLE} input ip saddr 10.77.0.0/24 ip saddr != {HOST} numgen random mod 100 < {loss_percent} drop\n"
            ));
        }
        nft(index, &script)
    }

    /// Cuts the validators into `groups`: none receives from a validator outside its own group.
    /// Validators in no group are left as they are.
    pub fn partition(&self, groups: &[Vec<usize>], loss_percent: u8) -> anyhow::Result<()> {
        for group in groups {
            let cut: BTreeSet<usize> = (0..self.validators).filter(|peer| !group.contains(peer)).collect();
            for index in group {
                self.set_rules(*index, &cut, loss_percent)?;
            }
        }
        Ok(())
    }

    /// Every validator reaches every other, losing `loss_percent` of what it receives.
    pub fn connect_all(&self, loss_percent: u8) -> anyhow::Result<()> {
        for index in 0..self.validators {
            self.set_rules(index, &BTreeSet::new(), loss_percent)?;
        }
        Ok(())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        Self::clean(self.validators.max(16));
    }
}
