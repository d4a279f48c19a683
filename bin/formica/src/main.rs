//! `formica`: one binary for operators and developers.
//!
//! - `formica up`: a local 4-validator network (separate processes) on loopback.
//! - `formica bench run|sweep`: throughput and latency of a network it starts (see [`mod@bench`]).
//! - `formica node --config FILE`: one production node.
//! - `formica genesis ...`: a genesis file from what each organisation hands in.
//! - `formica keys new`, `formica status`, `formica account`, `formica block`, `formica tx ...`:
//!   client commands over JSON-RPC (see [`client`]); `formica verify block HEIGHT` checks a
//!   block's finality as a light client, trusting only the genesis file.
//! - `formica asset ...`: asset tokens (see [`asset`]); `formica invoice ...`: digital invoices
//!   (see [`invoice`]); `formica remittance ...`: cross-border remittance (see [`remittance`]);
//!   `formica finance ...`: supply-chain finance receivables (see [`finance`]);
//!   `formica charity ...`: charity campaigns, donations and disbursements (see [`charity`]);
//!   `formica trace ...`: product traceability (see [`trace`]); `formica notary ...`: document
//!   deposits, batch proofs and certificates (see [`notary`]).
//! - `formica contract build|check`: contracts for the VM (see [`contract`]).

mod asset;
mod bench;
mod charity;
mod client;
mod contract;
mod devnet;
mod finance;
mod init_node;
mod invoice;
mod notary;
mod remittance;
mod trace;

use anyhow::Context;
use clap::{Parser, Subcommand};
use formica_types::{
    AccountId, AccountKey, Amount, ApprovalRule, ChainId, Genesis, GenesisAccount, GenesisOrganisation, GenesisRole,
    GenesisValidator, OrgName, Role,
};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "formica", version, about = "Formica: a permissioned BFT ledger for consortia")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    target: client::Target,
}

#[derive(Subcommand)]
enum Command {
    /// Start (or resume) a local network of validator processes and supervise it until Ctrl-C.
    Up(devnet::UpArgs),
    /// Run one node from its config file.
    Node {
        #[arg(long)]
        config: PathBuf,
    },
    /// Build a genesis file from the validators and accounts the organisations hand in.
    Genesis(GenesisArgs),
    /// Create the key and config of a node that joins a running chain (then register it by vote).
    InitNode(init_node::InitNodeArgs),
    /// Measure a local network: pre-signed transfers, closed or open loop, latency and cost.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Build and check contracts; deploy, call and query them and follow their events on a node.
    Contract {
        #[command(subcommand)]
        command: contract::ContractCommand,
    },
    #[command(flatten)]
    Client(client::ClientCommand),
}

#[derive(clap::Args)]
struct GenesisArgs {
    #[arg(long)]
    chain_id: u64,
    /// `NAME=PUBLIC_KEY@HOST:PORT`, once per validator.
    #[arg(long = "validator", required = true)]
    validators: Vec<String>,
    /// `PUBLIC_KEY=BALANCE`, once per funded account (`0xhex` is ed25519; `sm2:0x..` and
    /// `secp256k1:0x..` name the scheme).
    #[arg(long = "account", required = true)]
    accounts: Vec<String>,
    /// An account id that may freeze and unfreeze accounts (repeatable).
    #[arg(long = "regulator")]
    regulators: Vec<String>,
    /// An account id that may issue assets (repeatable).
    #[arg(long = "issuer")]
    issuers: Vec<String>,
    /// An account id that may deploy contracts (repeatable).
    #[arg(long = "deployer")]
    deployers: Vec<String>,
    /// The price of one unit of contract gas.
    #[arg(long, default_value_t = 0)]
    gas_price: u128,
    /// The most gas one transaction may ask for.
    #[arg(long, default_value_t = Genesis::TX_GAS_MAX_DEFAULT)]
    tx_gas_max: u64,
    /// The most gas the transactions of one block may ask for together.
    #[arg(long, default_value_t = Genesis::BLOCK_GAS_MAX_DEFAULT)]
    block_gas_max: u64,
    /// The shortest recovery delay an account may configure, in blocks.
    #[arg(long, default_value_t = Genesis::RECOVERY_DELAY_MIN_BLOCKS_DEFAULT)]
    recovery_delay_min_blocks: u32,
    /// Whether frozen accounts may still receive transfers.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    frozen_accounts_receive: bool,
    /// `NAME=ADMIN_ACCOUNT_ID[,ADMIN_ACCOUNT_ID...]`, once per member organisation (members are
    /// numbered from 1 in this order; one admin's approval speaks for the organisation).
    #[arg(long = "organisation")]
    organisations: Vec<String>,
    /// A proposal passes when more than NUMERATOR/DENOMINATOR of the members approve it.
    #[arg(long, default_value = "2/3")]
    approval: String,
    /// Only admins of member organisations may create accounts.
    #[arg(long)]
    account_creation_members_only: bool,
    /// Blocks per consensus epoch (validator-set changes take effect at epoch boundaries).
    #[arg(long, default_value_t = Genesis::EPOCH_BLOCKS_DEFAULT)]
    epoch_blocks: u64,
    /// Only member organisations may read and submit over RPC (requests carry a token from
    /// `formica token`).
    #[arg(long)]
    api_members_only: bool,
    /// The fee per transaction.
    #[arg(long, default_value = "1")]
    fee: u128,
    /// The account that collects fees (default: the first funded account).
    #[arg(long)]
    fee_collector: Option<String>,
    #[arg(long, default_value_t = 10_000)]
    block_transactions_max: u32,
    /// Milliseconds since the Unix epoch (default: now).
    #[arg(long)]
    timestamp_ms: Option<u64>,
    /// Where to write the file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn build_genesis(args: GenesisArgs) -> anyhow::Result<Genesis> {
    let validators = args
        .validators
        .iter()
        .map(|spec| {
            let (name, rest) = spec.split_once('=').context("--validator takes NAME=PUBLIC_KEY@HOST:PORT")?;
            let (key, address) = rest.split_once('@').context("--validator takes NAME=PUBLIC_KEY@HOST:PORT")?;
            Ok(GenesisValidator { name: name.into(), public_key: key.into(), p2p_address: address.into() })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let accounts = args
        .accounts
        .iter()
        .map(|spec| {
            let (key, balance) = spec.split_once('=').context("--account takes PUBLIC_KEY=BALANCE")?;
            let balance: u128 = balance.parse().context("the balance is a whole number")?;
            Ok(GenesisAccount { public_key: key.into(), balance: Amount(balance) })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let fee_collector = match &args.fee_collector {
        Some(id) => AccountId::from_hex(id).context("--fee-collector is an account id")?,
        None => {
            let first = accounts.first().context("at least one --account is needed")?;
            AccountKey::parse(&first.public_key).context("account public key")?.account_id()
        }
    };
    let timestamp_ms = args.timestamp_ms.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    });
    let mut roles = Vec::new();
    let grants =
        [(&args.regulators, Role::Regulator), (&args.issuers, Role::Issuer), (&args.deployers, Role::Deployer)];
    for (ids, role) in grants {
        for id in ids {
            let account = AccountId::from_hex(id).with_context(|| format!("--{role} {id:?} is not an account id"))?;
            roles.push(GenesisRole { account, role });
        }
    }
    let mut organisations = Vec::new();
    for spec in &args.organisations {
        let (name, admins) = spec.split_once('=').context("--organisation takes NAME=ADMIN_ID[,ADMIN_ID...]")?;
        let admins = admins
            .split(',')
            .map(|id| AccountId::from_hex(id.trim()).with_context(|| format!("admin {id:?} is not an account id")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let name = OrgName::new(name).with_context(|| format!("organisation name {name:?} (1 to 31 bytes)"))?;
        organisations.push(GenesisOrganisation { name, admins, admin_threshold: 1 });
    }
    let (numerator, denominator) = args.approval.split_once('/').context("--approval takes NUMERATOR/DENOMINATOR")?;
    let approval_rule = ApprovalRule {
        numerator: numerator.trim().parse().context("--approval numerator")?,
        denominator: denominator.trim().parse().context("--approval denominator")?,
    };
    let genesis = Genesis {
        chain_id: ChainId(args.chain_id),
        timestamp_ms,
        validators,
        accounts,
        fee_per_transaction: Amount(args.fee),
        fee_collector,
        block_transactions_max: args.block_transactions_max,
        roles,
        recovery_delay_min_blocks: args.recovery_delay_min_blocks,
        frozen_accounts_receive: args.frozen_accounts_receive,
        organisations,
        approval_rule,
        proposal_expiry_blocks_max: Genesis::PROPOSAL_EXPIRY_BLOCKS_MAX_DEFAULT,
        account_creation_members_only: args.account_creation_members_only,
        epoch_blocks: args.epoch_blocks,
        consensus_timeouts: Default::default(),
        api_members_only: args.api_members_only,
        gas_price: Amount(args.gas_price),
        tx_gas_max: args.tx_gas_max,
        block_gas_max: args.block_gas_max,
        block_bytes_max: Genesis::BLOCK_BYTES_MAX_DEFAULT,
    };
    genesis.validate().context("the genesis is not valid")?;
    Ok(genesis)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Node { config } => {
            formica_node::run(&config).with_context(|| format!("node with config {}", config.display()))
        }
        Command::Up(args) => devnet::up(args, &cli.target.dir),
        Command::InitNode(args) => {
            let key = init_node::init_node(&args)?;
            println!("node key     {key}");
            println!("config       {}", args.out.join("node.toml").display());
            println!(
                "register it: formica gov propose add-node --org <ORG> --key {key} --address {} --role validator",
                args.p2p_listen
            );
            Ok(())
        }
        Command::Bench(command) => bench::run(command, &cli.target),
        Command::Genesis(args) => {
            let out = args.out.clone();
            let genesis = build_genesis(args)?;
            let text = serde_json::to_string_pretty(&genesis)? + "\n";
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        Command::Contract { command } => contract::run(command, cli.target),
        Command::Client(command) => {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            runtime.block_on(client::run(command, cli.target))
        }
    }
}
