//! `formica contract build|check`: building contracts and checking modules against the VM's
//! limits before deployment; `formica contract deploy|call|query|info|events`: using them on a
//! running node through its JSON-RPC.

use crate::client::{
    FEE_LIMIT_DEFAULT, Signing, Target, WAIT_TIMEOUT, parse_account, parse_amount, print_json, print_receipt,
};
use anyhow::{Context, anyhow, bail};
use formica_contract::{Address, encode};
use formica_rpc::contracts::EventFilter;
use formica_types::{AccountId, Amount, ContractAdmin, OrgId, Payload, hash_to_hex};
use formica_vm::{GasSchedule, Limits, Vm};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Gas a deployment gets unless `--gas` says otherwise.
const DEPLOY_GAS_DEFAULT: u64 = 50_000_000;
/// Gas a call gets unless `--gas` says otherwise.
const CALL_GAS_DEFAULT: u64 = 5_000_000;

/// A call's arguments: `--input 0xHEX` (already encoded), or typed `--arg TYPE:VALUE`s encoded in
/// the SDK's codec as one tuple.
#[derive(Debug, clap::Args)]
pub struct Arguments {
    /// One argument: `u8:`, `u16:`, `u32:`, `u64:`, `u128:`, `bool:`, `string:`, `address:0x..`,
    /// `bytes:0x..` or `bytes32:0x..` followed by the value; repeat in the entry point's order.
    #[arg(long = "arg")]
    args: Vec<String>,
    /// The whole input, already encoded, as hex (instead of `--arg`).
    #[arg(long, conflicts_with = "args")]
    input: Option<String>,
}

impl Arguments {
    fn encode(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(input) = &self.input {
            return hex::decode(input.strip_prefix("0x").unwrap_or(input)).context("--input is not hex");
        }
        let mut out = Vec::new();
        for arg in &self.args {
            out.extend(encode_argument(arg)?);
        }
        Ok(out)
    }
}

/// One `TYPE:VALUE` argument in the SDK's codec.
fn encode_argument(text: &str) -> anyhow::Result<Vec<u8>> {
    let (kind, value) = text.split_once(':').ok_or_else(|| anyhow!("argument {text:?} is not TYPE:VALUE"))?;
    let context = || format!("argument {text:?}");
    let hex_bytes = |value: &str| hex::decode(value.strip_prefix("0x").unwrap_or(value)).with_context(context);
    Ok(match kind {
        "u8" => encode(&value.parse::<u8>().with_context(context)?),
        "u16" => encode(&value.parse::<u16>().with_context(context)?),
        "u32" => encode(&value.parse::<u32>().with_context(context)?),
        "u64" => encode(&value.parse::<u64>().with_context(context)?),
        "u128" => encode(&value.parse::<u128>().with_context(context)?),
        "bool" => encode(&value.parse::<bool>().with_context(context)?),
        "string" => encode(&value.to_string()),
        "address" => encode(&Address(parse_account(value)?.0)),
        "bytes" => encode(&hex_bytes(value)?),
        "bytes32" => {
            let bytes: [u8; 32] = hex_bytes(value)?.try_into().map_err(|_| anyhow!("{}: not 32 bytes", context()))?;
            encode(&bytes)
        }
        other => bail!("argument type {other:?} is not one of u8 u16 u32 u64 u128 bool string address bytes bytes32"),
    })
}

/// Decodes a query's output as `kind` for printing.
fn decode_output(kind: &str, output: &[u8]) -> anyhow::Result<String> {
    use formica_contract::decode;
    let fail = |error: formica_contract::DecodeError| anyhow!("the output does not decode as {kind}: {error:?}");
    Ok(match kind {
        "u8" => decode::<u8>(output).map_err(fail)?.to_string(),
        "u16" => decode::<u16>(output).map_err(fail)?.to_string(),
        "u32" => decode::<u32>(output).map_err(fail)?.to_string(),
        "u64" => decode::<u64>(output).map_err(fail)?.to_string(),
        "u128" => decode::<u128>(output).map_err(fail)?.to_string(),
        "bool" => decode::<bool>(output).map_err(fail)?.to_string(),
        "string" => decode::<String>(output).map_err(fail)?,
        "address" => AccountId(decode::<Address>(output).map_err(fail)?.0).to_hex(),
        other => bail!("--returns {other:?} is not one of u8 u16 u32 u64 u128 bool string address"),
    })
}

fn parse_admin(text: &str, sender: AccountId) -> anyhow::Result<ContractAdmin> {
    Ok(match text.split_once(':') {
        None if text == "self" => ContractAdmin::Account(sender),
        None if text == "none" => ContractAdmin::None,
        None if text == "governance" => ContractAdmin::Governance,
        Some(("account", id)) => ContractAdmin::Account(parse_account(id)?),
        Some(("org", id)) => ContractAdmin::Organisation(OrgId(id.parse().context("--admin org:ID")?)),
        _ => bail!("--admin is self, none, governance, account:0xID or org:ID"),
    })
}

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
    /// Deploy a module (the sender needs the deployer role); prints the contract's address.
    Deploy {
        wasm: PathBuf,
        #[command(flatten)]
        arguments: Arguments,
        /// Who may upgrade or freeze it: `self` (the sender), `none`, `governance` (approved
        /// proposals only), `account:0xID`, `org:ID`.
        #[arg(long, default_value = "self")]
        admin: String,
        /// Native value moved to the contract.
        #[arg(long, default_value = "0")]
        value: String,
        #[arg(long, default_value_t = DEPLOY_GAS_DEFAULT)]
        gas: u64,
        #[command(flatten)]
        signing: Signing,
    },
    /// Call an entry point in a transaction.
    Call {
        contract: String,
        method: String,
        #[command(flatten)]
        arguments: Arguments,
        #[arg(long, default_value = "0")]
        value: String,
        #[arg(long, default_value_t = CALL_GAS_DEFAULT)]
        gas: u64,
        #[command(flatten)]
        signing: Signing,
    },
    /// Replace a contract's code, keeping its storage and balance: by its admin, or by anyone
    /// with the module a governance proposal approved for a contract governance administers.
    Upgrade {
        contract: String,
        wasm: PathBuf,
        #[arg(long, default_value_t = DEPLOY_GAS_DEFAULT)]
        gas: u64,
        #[command(flatten)]
        signing: Signing,
    },
    /// Freeze (`--frozen true`) or unfreeze a contract: its admin, or a regulator (not for a
    /// contract governance administers: that takes `formica gov propose contract-frozen`).
    Freeze {
        contract: String,
        #[arg(long, action = clap::ArgAction::Set, default_value_t = true)]
        frozen: bool,
        #[command(flatten)]
        signing: Signing,
    },
    /// Run an entry point read-only against the latest finalized state.
    Query {
        contract: String,
        method: String,
        #[command(flatten)]
        arguments: Arguments,
        /// Decode the output as this type (u8..u128, bool, string, address); hex otherwise.
        #[arg(long)]
        returns: Option<String>,
        /// Whom the contract sees as its caller.
        #[arg(long)]
        caller: Option<String>,
        #[arg(long)]
        gas: Option<u64>,
    },
    /// A contract's code hash, size, admin, balance and frozen flag.
    Info { contract: String },
    /// Follow the events of finalized blocks, optionally of one contract and with given topics.
    Events {
        #[arg(long)]
        contract: Option<String>,
        /// A topic by position (`-` for any): hex, or a name such as `Transfer` (zero-padded).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
}

pub fn run(command: ContractCommand, target: Target) -> anyhow::Result<()> {
    let vm = Vm::new(Limits::default(), GasSchedule::default());
    match command {
        ContractCommand::Check { wasm } => check(&vm, &wasm).map(|report| println!("{report}")),
        ContractCommand::Build { path, package } => {
            for wasm in build(&path, package.as_deref())? {
                println!("{}", check(&vm, &wasm)?);
            }
            Ok(())
        }
        network => {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            runtime.block_on(run_on_node(network, &target))
        }
    }
}

async fn run_on_node(command: ContractCommand, target: &Target) -> anyhow::Result<()> {
    match command {
        ContractCommand::Deploy { wasm, arguments, admin, value, gas, signing } => {
            let code = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
            let sender = sender(target, &signing)?;
            let payload = Payload::Deploy {
                code,
                input: arguments.encode()?,
                admin: parse_admin(&admin, sender)?,
                value: parse_amount(&value, "value")?,
                gas_limit: gas,
            };
            submit(target, payload, signing).await
        }
        ContractCommand::Call { contract, method, arguments, value, gas, signing } => {
            let payload = Payload::Call {
                contract: parse_account(&contract)?,
                method,
                input: arguments.encode()?,
                value: parse_amount(&value, "value")?,
                gas_limit: gas,
            };
            submit(target, payload, signing).await
        }
        ContractCommand::Upgrade { contract, wasm, gas, signing } => {
            let code = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
            let payload = Payload::Upgrade { contract: parse_account(&contract)?, code, gas_limit: gas };
            submit(target, payload, signing).await
        }
        ContractCommand::Freeze { contract, frozen, signing } => {
            let payload = Payload::SetContractFrozen { contract: parse_account(&contract)?, frozen };
            submit(target, payload, signing).await
        }
        ContractCommand::Query { contract, method, arguments, returns, caller, gas } => {
            let client = target.client().await?;
            let caller = caller.as_deref().map(parse_account).transpose()?;
            let view =
                client.query_contract(parse_account(&contract)?, &method, &arguments.encode()?, caller, gas).await?;
            if target.json {
                return print_json(&view);
            }
            if !view.success {
                bail!(
                    "{method} failed ({}): {}",
                    view.failure_code.unwrap_or_default(),
                    view.failure_message.unwrap_or_default()
                );
            }
            let output = hex::decode(view.output.trim_start_matches("0x")).context("the node's output is not hex")?;
            match returns {
                Some(kind) => println!("{}", decode_output(&kind, &output)?),
                None => println!("0x{}", hex::encode(&output)),
            }
            Ok(())
        }
        ContractCommand::Info { contract } => {
            let client = target.client().await?;
            let view = client.contract(parse_account(&contract)?).await?;
            match view {
                Some(view) => print_json(&view),
                None => bail!("no contract at {contract}"),
            }
        }
        ContractCommand::Events { contract, topics, count } => {
            let client = target.client().await?;
            let contract = contract.as_deref().map(parse_account).transpose()?;
            let topics = topics
                .iter()
                .map(|topic| match topic.as_str() {
                    "-" => None,
                    hex if hex.starts_with("0x") => Some(hex.to_string()),
                    name => Some(format!("0x{}", hex::encode(name.as_bytes()))),
                })
                .collect();
            let (mut subscription, _connection) = client.subscribe_events(EventFilter { contract, topics }).await?;
            let mut seen = 0u64;
            while count.is_none_or(|count| seen < count) {
                let Some(event) = subscription.next().await else {
                    bail!("the node closed the subscription");
                };
                let event = event.context("an event notification")?;
                if target.json {
                    println!("{}", serde_json::to_string(&event)?);
                } else {
                    println!(
                        "height {} tx {} #{} contract {} topics {} data {}",
                        event.block_height,
                        hash_to_hex(&event.transaction_hash),
                        event.event_index,
                        event.event.contract,
                        event.event.topics.join(","),
                        event.event.data
                    );
                }
                seen += 1;
            }
            Ok(())
        }
        ContractCommand::Build { .. } | ContractCommand::Check { .. } => unreachable!("handled without a node"),
    }
}

fn sender(target: &Target, signing: &Signing) -> anyhow::Result<AccountId> {
    match &signing.from {
        Some(text) => parse_account(text),
        None => Ok(target.signers(&signing.keys)?[0].account_id()),
    }
}

/// Signs and submits a contract transaction; waits for it with `--wait`. The default fee limit
/// covers the whole gas limit at the current gas price.
async fn submit(target: &Target, payload: Payload, signing: Signing) -> anyhow::Result<()> {
    let signers = target.signers(&signing.keys)?;
    let sender = sender(target, &signing)?;
    let client = target.client().await?;
    let fee_limit = match &signing.fee_limit {
        Some(text) => parse_amount(text, "fee limit")?,
        None => {
            let gas = client.gas_parameters().await?;
            let gas_fee = gas.price.get().saturating_mul(u128::from(payload.gas_limit().unwrap_or(0)));
            Amount(FEE_LIMIT_DEFAULT.saturating_add(gas_fee))
        }
    };
    let deploys = matches!(payload, Payload::Deploy { .. });
    let references: Vec<_> = signers.iter().collect();
    let signed = client.build_signed(sender, &references, payload, fee_limit).await?;
    let hash = client.submit(&signed).await?;
    let address = deploys.then(|| formica_execution::contracts::contract_address(&sender, signed.body.nonce));
    if !signing.wait {
        if target.json {
            let address = address.map(|address| address.to_hex());
            return print_json(&serde_json::json!({ "hash": hash_to_hex(&hash), "contract": address }));
        }
        println!("submitted {}", hash_to_hex(&hash));
        if let Some(address) = address {
            println!("contract     {address}");
        }
        return Ok(());
    }
    let started = Instant::now();
    let receipt = client.wait_for_receipt(hash, WAIT_TIMEOUT).await?;
    let elapsed_ms = started.elapsed().as_millis();
    if target.json {
        let address = address.map(|address| address.to_hex());
        return print_json(&serde_json::json!({
            "hash": hash_to_hex(&hash), "contract": address, "receipt": receipt, "elapsed_ms": elapsed_ms
        }));
    }
    print_receipt(&hash, &receipt, elapsed_ms);
    if let Some(address) = address {
        println!("contract     {address}");
    }
    if !receipt.succeeded() {
        bail!("the transaction failed");
    }
    Ok(())
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
