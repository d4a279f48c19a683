//! `formica up`: a local consortium of validator processes on loopback.
//!
//! The first run creates `<dir>`: one folder per validator (key, config, data, log), a shared
//! `genesis.json`, a funded development key and `devnet.json` (what client commands read). Later
//! runs resume the same chain from disk; `--reset` deletes the folder first. The validators run
//! as separate `formica node` processes; `up` restarts any that dies and stops all of them on
//! Ctrl-C (SIGTERM, then SIGKILL after a grace period).

use crate::client::DevnetManifest;
use anyhow::{Context, bail};
use formica_crypto::KeyFile;
use formica_node::NodeConfig;
use formica_types::{
    Amount, ApprovalRule, ChainId, Genesis, GenesisAccount, GenesisOrganisation, GenesisRole, GenesisValidator,
    OrgName, Role,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Chain id of development networks.
const DEVNET_CHAIN_ID: u64 = 1337;
/// Native balance of the development account.
const DEV_BALANCE: u128 = 1_000_000_000_000_000_000;
/// What each member organisation's admin account holds at genesis (enough for fees).
const ADMIN_BALANCE: u128 = 1_000_000_000;
/// Restarts of one node before `up` gives up on it.
const RESTARTS_MAX: u32 = 5;
/// How long stopping nodes may take before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(clap::Args)]
pub struct UpArgs {
    /// Delete the devnet folder and start a new chain.
    #[arg(long)]
    pub(crate) reset: bool,
    /// Number of validators (used when the devnet is created).
    #[arg(long, default_value_t = 4)]
    pub(crate) validators: usize,
    /// First RPC port; validator i listens on this plus i.
    #[arg(long, default_value_t = 8545)]
    pub(crate) rpc_port: u16,
    /// First p2p port.
    #[arg(long, default_value_t = 30300)]
    pub(crate) p2p_port: u16,
    /// First metrics port.
    #[arg(long, default_value_t = 9100)]
    pub(crate) metrics_port: u16,
    /// First port of the administrative API (loopback only).
    #[arg(long, default_value_t = 8645)]
    pub(crate) admin_port: u16,
    /// Create the devnet folder (keys, genesis, configs) and exit without starting nodes.
    #[arg(long)]
    pub(crate) init_only: bool,
    /// Blocks per consensus epoch (validator-set changes take effect at epoch boundaries).
    #[arg(long, default_value_t = 120)]
    pub(crate) epoch_blocks: u64,
}

pub(crate) fn node_dir(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("node-{index}"))
}

/// Creates the devnet folder: keys, genesis, node configs and the manifest.
pub(crate) fn create(dir: &Path, args: &UpArgs) -> anyhow::Result<DevnetManifest> {
    if args.validators == 0 {
        bail!("--validators must be at least 1");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = rand::rng();
    let (dev_key, _) = KeyFile::generate(&mut rng);
    dev_key.write(&dir.join("dev-key.json"))?;
    let mut validators = Vec::new();
    let mut organisations = Vec::new();
    let mut accounts = vec![GenesisAccount { public_key: dev_key.public_key.clone(), balance: Amount(DEV_BALANCE) }];
    let mut rpc = Vec::new();
    for index in 0..args.validators {
        let folder = node_dir(dir, index);
        std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let (key, _) = KeyFile::generate(&mut rng);
        key.write(&folder.join("validator-key.json"))?;
        // Each validator's organisation is a member, governed through its own admin account.
        let (admin, _) = KeyFile::generate(&mut rng);
        admin.write(&folder.join("admin-key.json"))?;
        accounts.push(GenesisAccount { public_key: admin.public_key.clone(), balance: Amount(ADMIN_BALANCE) });
        organisations.push(GenesisOrganisation {
            name: OrgName::new(&format!("org-{index}")).context("organisation name")?,
            admins: vec![admin.account_id],
            admin_threshold: 1,
        });
        let offset = u16::try_from(index).context("too many validators")?;
        let p2p = format!("127.0.0.1:{}", args.p2p_port + offset);
        validators.push(GenesisValidator {
            name: format!("org-{index}"),
            public_key: key.public_key,
            p2p_address: p2p.clone(),
        });
        let config = NodeConfig {
            name: format!("org-{index}"),
            key_file: "validator-key.json".into(),
            genesis_file: "../genesis.json".into(),
            data_dir: "data".into(),
            p2p_listen: p2p.parse()?,
            rpc_listen: format!("127.0.0.1:{}", args.rpc_port + offset).parse()?,
            metrics_listen: format!("127.0.0.1:{}", args.metrics_port + offset).parse()?,
            admin_listen: Some(format!("127.0.0.1:{}", args.admin_port + offset).parse()?),
            admin_secret_file: None,
            log_level: "info".into(),
            log_json: false,
            consensus: Default::default(),
            mempool: Default::default(),
            rpc: Default::default(),
            storage: Default::default(),
        };
        std::fs::write(folder.join("node.toml"), toml::to_string_pretty(&config)?)?;
        rpc.push(format!("http://127.0.0.1:{}", args.rpc_port + offset));
    }
    let genesis = Genesis {
        chain_id: ChainId(DEVNET_CHAIN_ID),
        timestamp_ms: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64,
        validators,
        accounts,
        fee_per_transaction: Amount(1),
        fee_collector: dev_key.account_id,
        block_transactions_max: 10_000,
        // The development account may freeze accounts, issue assets and deploy contracts, so the
        // identity model, assets and contracts can be tried at once.
        roles: vec![
            GenesisRole { account: dev_key.account_id, role: Role::Regulator },
            GenesisRole { account: dev_key.account_id, role: Role::Deployer },
            GenesisRole { account: dev_key.account_id, role: Role::Issuer },
        ],
        // Short enough to try a recovery by hand on a local network.
        recovery_delay_min_blocks: 10,
        frozen_accounts_receive: true,
        organisations,
        approval_rule: ApprovalRule::TWO_THIRDS,
        proposal_expiry_blocks_max: Genesis::PROPOSAL_EXPIRY_BLOCKS_MAX_DEFAULT,
        account_creation_members_only: false,
        epoch_blocks: args.epoch_blocks,
        consensus_timeouts: Default::default(),
        api_members_only: false,
        // Gas at price 1, so a receipt's fee shows the gas a contract used.
        gas_price: Amount(1),
        tx_gas_max: Genesis::TX_GAS_MAX_DEFAULT,
        block_gas_max: Genesis::BLOCK_GAS_MAX_DEFAULT,
        block_bytes_max: Genesis::BLOCK_BYTES_MAX_DEFAULT,
    };
    genesis.validate().context("generated genesis")?;
    std::fs::write(dir.join("genesis.json"), serde_json::to_string_pretty(&genesis)? + "\n")?;
    let manifest = DevnetManifest { chain_id: DEVNET_CHAIN_ID, rpc, dev_key: "dev-key.json".into() };
    manifest.write(dir)?;
    Ok(manifest)
}

pub(crate) fn spawn(dir: &Path, index: usize) -> anyhow::Result<Child> {
    let folder = node_dir(dir, index);
    let log_path = folder.join("node.log");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
    let executable = std::env::current_exe().context("locating the formica binary")?;
    Command::new(executable)
        .arg("node")
        .arg("--config")
        .arg(folder.join("node.toml"))
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting node-{index}"))
}

fn terminate(child: &Child) {
    if let Some(pid) = child.id() {
        // SAFETY: sending a signal to a child process we own has no memory-safety preconditions.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
}

pub(crate) async fn wait_until_ready(url: &str) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(client) = formica_client::Client::connect(url).await
            && let Ok(status) = client.status().await
            && status.height.get() >= 1
        {
            return Ok(status.height.get());
        }
        if Instant::now() > deadline {
            bail!("the devnet did not finalize a block within 120 s: see the node logs");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `formica up`.
pub fn up(args: UpArgs, dir: &Path) -> anyhow::Result<()> {
    if args.reset && dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("deleting {}", dir.display()))?;
    }
    let manifest = if DevnetManifest::path(dir).exists() {
        println!("Resuming the devnet in {}", dir.display());
        DevnetManifest::read(dir)?
    } else {
        println!("Creating a devnet with {} validators in {}", args.validators, dir.display());
        create(dir, &args)?
    };
    if args.init_only {
        println!("Devnet created; start it with `formica up --dir {}`", dir.display());
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(supervise(dir, manifest))
}

async fn supervise(dir: &Path, manifest: DevnetManifest) -> anyhow::Result<()> {
    let count = manifest.rpc.len();
    let mut children = Vec::with_capacity(count);
    for index in 0..count {
        children.push(spawn(dir, index)?);
    }
    let (dev, _) = KeyFile::read(&dir.join(&manifest.dev_key))?;
    println!("Waiting for the first block...");
    let ready = tokio::select! {
        ready = wait_until_ready(&manifest.rpc[0]) => ready,
        _ = tokio::signal::ctrl_c() => { stop(&mut children).await; return Ok(()); }
    };
    let height = match ready {
        Ok(height) => height,
        Err(error) => {
            stop(&mut children).await;
            return Err(error);
        }
    };
    println!("\nFormica devnet is up: chain {} at height {height}, {count} validators", manifest.chain_id);
    for (index, url) in manifest.rpc.iter().enumerate() {
        let config = NodeConfig::load(&node_dir(dir, index).join("node.toml"))?;
        println!(
            "  node-{index}  rpc {url}  ws {}  metrics http://{}/metrics  log {}",
            url.replace("http://", "ws://"),
            config.metrics_listen,
            node_dir(dir, index).join("node.log").display()
        );
    }
    println!("\nDevelopment account (funded): {}", dev.account_id);
    println!("  key file: {}", dir.join(&manifest.dev_key).display());
    println!("Try:  formica keys new --out alice.json");
    println!("      formica tx create-account --public-key <ALICE_PUBLIC_KEY> --initial-balance 1000 --wait");
    println!("      formica tx transfer --to <ALICE_ACCOUNT_ID> --amount 10 --wait");
    println!("Press Ctrl-C to stop all nodes.\n");

    let mut restarts = vec![0u32; count];
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        for index in 0..count {
            if let Some(status) = children[index].try_wait()? {
                if restarts[index] >= RESTARTS_MAX {
                    continue;
                }
                restarts[index] += 1;
                eprintln!("node-{index} exited ({status}); restarting ({}/{RESTARTS_MAX})", restarts[index]);
                children[index] = spawn(dir, index)?;
            }
        }
    }
    println!("\nStopping...");
    stop(&mut children).await;
    println!("All nodes stopped. Run `formica up` again to resume this chain, or with --reset to start over.");
    Ok(())
}

pub(crate) async fn stop(children: &mut [Child]) {
    for child in children.iter() {
        terminate(child);
    }
    for child in children.iter_mut() {
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
    }
}
