//! `formica contract build|check`: building contracts and checking modules against the VM's
//! limits before deployment. (Deploying, calling, querying and following events need the chain
//! integration of contracts, which is not built yet; see docs/contracts.md.)

use anyhow::{Context, bail};
use formica_vm::{GasSchedule, Limits, Vm};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Subcommand)]
pub enum ContractCommand {
    /// Build a contract crate or workspace with `cargo build --target wasm32-unknown-unknown
    /// --release` and check every module it produces.
    Build {
        /// The directory of the contract crate or workspace.
        #[arg(long, default_value = ".")]
        path: PathBuf,
        /// Build only this package.
        #[arg(long, short)]
        package: Option<String>,
    },
    /// Check a compiled module: size, imports, exports, compilation. Prints its code hash and
    /// the gas its deployment costs.
    Check { wasm: PathBuf },
}

pub fn run(command: ContractCommand) -> anyhow::Result<()> {
    let vm = Vm::new(Limits::default(), GasSchedule::default());
    match command {
        ContractCommand::Check { wasm } => check(&vm, &wasm).map(|report| println!("{report}")),
        ContractCommand::Build { path, package } => {
            for wasm in build(&path, package.as_deref())? {
                println!("{}", check(&vm, &wasm)?);
            }
            Ok(())
        }
    }
}

/// Whether the module at `wasm` would deploy, and what it would cost.
fn check(vm: &Vm, wasm: &Path) -> anyhow::Result<String> {
    let code = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let hash = vm.validate(&code).with_context(|| format!("{} would not deploy", wasm.display()))?;
    Ok(format!(
        "{}: {} bytes (limit {}), code hash 0x{}, deployment costs {} gas plus the constructor",
        wasm.display(),
        code.len(),
        vm.limits().code_bytes_max,
        hex::encode(hash),
        vm.code_gas(code.len()),
    ))
}

/// Builds the crate or workspace at `path` and returns the modules of its `cdylib` packages.
fn build(path: &Path, package: Option<&str>) -> anyhow::Result<Vec<PathBuf>> {
    let mut cargo = Command::new("cargo");
    cargo.current_dir(path).args(["build", "--release", "--target", "wasm32-unknown-unknown"]);
    if let Some(package) = package {
        cargo.args(["--package", package]);
    }
    let status = cargo.status().context("running cargo")?;
    if !status.success() {
        bail!("cargo build failed ({status}); is the target installed? `rustup target add wasm32-unknown-unknown`");
    }
    let output = Command::new("cargo")
        .current_dir(path)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).context("cargo metadata output")?;
    let target = metadata["target_directory"].as_str().context("cargo metadata names no target directory")?;
    let release = Path::new(target).join("wasm32-unknown-unknown/release");
    let mut modules = Vec::new();
    for member in metadata["packages"].as_array().into_iter().flatten() {
        if package.is_some_and(|package| member["name"].as_str() != Some(package)) {
            continue;
        }
        for target in member["targets"].as_array().into_iter().flatten() {
            let is_cdylib = target["crate_types"].as_array().into_iter().flatten().any(|kind| kind == "cdylib");
            if let (true, Some(name)) = (is_cdylib, target["name"].as_str()) {
                modules.push(release.join(format!("{}.wasm", name.replace('-', "_"))));
            }
        }
    }
    if modules.is_empty() {
        bail!("no cdylib package in {}: a contract crate has `crate-type = [\"cdylib\"]`", path.display());
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(module (memory (export "memory") 1))`: the smallest module the VM accepts.
    const MINIMAL: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x0a, 0x01, 0x06, b'm',
        b'e', b'm', b'o', b'r', b'y', 0x02, 0x00,
    ];

    #[test]
    fn check_reports_valid_modules_and_refuses_others() {
        let vm = Vm::new(Limits::default(), GasSchedule::default());
        let directory = tempfile::tempdir().expect("a temporary directory");
        let valid = directory.path().join("valid.wasm");
        std::fs::write(&valid, MINIMAL).expect("writable");
        let report = check(&vm, &valid).expect("the minimal module deploys");
        assert!(report.contains("25 bytes") && report.contains("2500 gas"), "{report}");
        let invalid = directory.path().join("invalid.wasm");
        std::fs::write(&invalid, b"\0asm\x01\0\0\0\x05").expect("writable");
        assert!(check(&vm, &invalid).is_err());
    }
}
