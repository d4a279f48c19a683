//! The client commands of the `formica` binary: queries, transactions and keys, over JSON-RPC.
//!
//! A command talks to `--rpc URL` if given, otherwise to the first node of the local devnet
//! described by `<dir>/devnet.json` (written by `formica up`). Every command prints a short
//! human-readable form, or with `--json` the API's JSON view for scripts.

use anyhow::{Context, anyhow, bail};
use commonware_cryptography::ed25519;
use formica_client::{Client, types::ReceiptView};
use formica_crypto::KeyFile;
use formica_types::{AccountId, Amount, Hash, Height, hash_to_hex, public_key_from_hex, public_key_to_hex};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The fee limit of a transaction when `--fee-limit` is not given, in the smallest unit.
const FEE_LIMIT_DEFAULT: u128 = 1_000;
/// How long `--wait` waits for finality before giving up.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// What `formica up` writes to `<dir>/devnet.json` so client commands find the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetManifest {
    pub chain_id: u64,
    /// The RPC URLs of the nodes (`http://127.0.0.1:PORT`); commands use the first.
    pub rpc: Vec<String>,
    /// The funded developer key file, relative to the devnet directory.
    pub dev_key: PathBuf,
}

impl DevnetManifest {
    /// The manifest's file name inside the devnet directory.
    pub const FILE_NAME: &'static str = "devnet.json";

    /// Where the manifest of the devnet in `dir` lives.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(Self::FILE_NAME)
    }

    /// Reads the manifest of the devnet in `dir`.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = Self::path(dir);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("no devnet manifest at {}: start one with `formica up` or pass --rpc URL", path.display())
        })?;
        serde_json::from_str(&text).with_context(|| format!("devnet manifest {} is not valid", path.display()))
    }

    /// Writes the manifest into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let path = Self::path(dir);
        let text = serde_json::to_string_pretty(self).context("serialising the devnet manifest")?;
        std::fs::write(&path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Show the node's chain id, finalized height, peers and validators.
    Status,
    /// Show an account as of the latest finalized block.
    Account {
        /// The account id (`0x` hex).
        id: String,
        /// Also fetch a proof of the account against the finalized state root.
        #[arg(long)]
        proof: bool,
    },
    /// Show a finalized block.
    Block { height: u64 },
    /// Build, sign and submit transactions.
    Tx {
        #[command(subcommand)]
        command: TxCommand,
    },
    /// Manage account keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum TxCommand {
    /// Transfer native funds to an account.
    Transfer {
        /// The recipient account id (`0x` hex).
        #[arg(long)]
        to: String,
        /// The amount in the smallest unit (a decimal integer).
        #[arg(long)]
        amount: String,
        /// The most the sender pays in fees (default 1000).
        #[arg(long)]
        fee_limit: Option<String>,
        /// The sender's key file (default: the devnet's dev key).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Wait until the transaction is final and print its receipt.
        #[arg(long)]
        wait: bool,
    },
    /// Create the account of a public key, funded from the sender.
    CreateAccount {
        /// The new account's public key (`0x` hex).
        #[arg(long)]
        public_key: String,
        /// The new account's balance, moved from the sender (a decimal integer).
        #[arg(long)]
        initial_balance: String,
        /// The sender's key file (default: the devnet's dev key).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Wait until the transaction is final and print its receipt.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Generate a new account key.
    New {
        /// Write the key file here (refuses to overwrite an existing file).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Which node to talk to and how to print.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The node's JSON-RPC URL (http:// or ws://); default: the devnet's first node.
    #[arg(long, global = true)]
    pub rpc: Option<String>,
    /// The devnet directory holding `devnet.json` and the dev key.
    #[arg(long, global = true, default_value = "./.formica/devnet")]
    pub dir: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Target {
    fn rpc_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.rpc {
            return Ok(url.clone());
        }
        let manifest = DevnetManifest::read(&self.dir)?;
        manifest.rpc.first().cloned().ok_or_else(|| anyhow!("the devnet manifest lists no RPC URL"))
    }

    async fn client(&self) -> anyhow::Result<Client> {
        let url = self.rpc_url()?;
        Client::connect(&url).await.with_context(|| format!("cannot reach the node at {url}"))
    }

    /// The key of `--key FILE`, or else the devnet's dev key.
    fn signing_key(&self, key: Option<&Path>) -> anyhow::Result<ed25519::PrivateKey> {
        let path = match key {
            Some(path) => path.to_path_buf(),
            None => {
                let manifest = DevnetManifest::read(&self.dir).context("no --key FILE given and no devnet dev key")?;
                self.dir.join(manifest.dev_key)
            }
        };
        let (_, key) = KeyFile::read(&path)?;
        Ok(key)
    }
}

/// Runs one client command.
pub async fn run(command: ClientCommand, target: Target) -> anyhow::Result<()> {
    match command {
        ClientCommand::Status => status(&target).await,
        ClientCommand::Account { id, proof } => account(&target, &id, proof).await,
        ClientCommand::Block { height } => block(&target, height).await,
        ClientCommand::Tx { command } => transaction(&target, command).await,
        ClientCommand::Keys { command: KeysCommand::New { out } } => new_key(&target, out.as_deref()),
    }
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value).context("serialising the answer")?);
    Ok(())
}

async fn status(target: &Target) -> anyhow::Result<()> {
    let status = target.client().await?.status().await?;
    if target.json {
        return print_json(&status);
    }
    println!("chain id     {}", status.chain_id);
    println!("height       {} ({})", status.height, hash_to_hex(&status.block_hash));
    println!("state root   {}", hash_to_hex(&status.state_root));
    println!("peers        {}", status.peers);
    println!("validators   {}", status.validators.len());
    println!("mempool      {} transactions", status.mempool_size);
    println!("node key     {}", public_key_to_hex(&status.node_public_key));
    Ok(())
}

async fn account(target: &Target, id: &str, with_proof: bool) -> anyhow::Result<()> {
    let id = AccountId::from_hex(id).with_context(|| format!("account id {id:?}"))?;
    let client = target.client().await?;
    if with_proof {
        let (proof, check) = client.verified_account(id).await?;
        if target.json {
            return print_json(&serde_json::json!({ "proof": proof, "check": format!("{check:?}") }));
        }
        match &proof.account {
            Some(account) => {
                println!("account      {id}\nbalance      {}\nnonce        {}", account.balance, account.nonce)
            }
            None => println!("account      {id} does not exist"),
        }
        println!("height       {} ({})", proof.height, hash_to_hex(&proof.block_hash));
        println!("state root   {}", hash_to_hex(&proof.state_root));
        println!("proof        {} bytes", proof.proof.len().saturating_sub(2) / 2);
        match check {
            formica_client::ProofCheck::Verified => {
                println!("verified     the proof matches the state root in the header of block {}", proof.height)
            }
            formica_client::ProofCheck::AbsentUnproven => {
                println!("verified     no (absence cannot be proven in unordered state)")
            }
            formica_client::ProofCheck::Invalid => bail!("the proof does NOT verify against block {}", proof.height),
        }
        return Ok(());
    }
    let account = client.account(id).await?;
    if target.json {
        return print_json(&account);
    }
    match account {
        Some(account) => {
            println!("account      {id}");
            println!("public key   {}", public_key_to_hex(&account.public_key));
            println!("balance      {}", account.balance);
            println!("nonce        {}", account.nonce);
            println!("as of        height {}", account.height);
        }
        None => println!("account {id} does not exist"),
    }
    Ok(())
}

async fn block(target: &Target, height: u64) -> anyhow::Result<()> {
    let client = target.client().await?;
    let block = client.block_by_height(Height(height)).await?;
    if target.json {
        return print_json(&block);
    }
    let Some(block) = block else {
        bail!("no finalized block at height {height}");
    };
    let verified = if formica_client::verify_block_header(&block) { "verified" } else { "DOES NOT MATCH its header" };
    println!("block        {} (hash {verified})", hash_to_hex(&block.hash));
    println!("height       {} (epoch {}, view {})", block.height, block.epoch, block.view);
    println!("parent       {}", hash_to_hex(&block.parent));
    println!("leader       {}", public_key_to_hex(&block.leader));
    println!("timestamp    {} ms", block.timestamp_ms);
    println!("state root   {}", hash_to_hex(&block.state_root));
    println!("transactions {}", block.transaction_count);
    for hash in &block.transactions {
        println!("  {}", hash_to_hex(hash));
    }
    Ok(())
}

fn parse_amount(text: &str, what: &str) -> anyhow::Result<Amount> {
    text.parse::<u128>().map(Amount).with_context(|| format!("{what} {text:?} is not a whole number of units"))
}

async fn transaction(target: &Target, command: TxCommand) -> anyhow::Result<()> {
    let client = target.client().await?;
    let (hash, wait) = match command {
        TxCommand::Transfer { to, amount, fee_limit, key, wait } => {
            let to = AccountId::from_hex(&to).with_context(|| format!("recipient {to:?}"))?;
            let amount = parse_amount(&amount, "amount")?;
            let fee_limit = match fee_limit {
                Some(text) => parse_amount(&text, "fee limit")?,
                None => Amount(FEE_LIMIT_DEFAULT),
            };
            let key = target.signing_key(key.as_deref())?;
            (client.transfer(&key, to, amount, fee_limit).await?, wait)
        }
        TxCommand::CreateAccount { public_key, initial_balance, key, wait } => {
            let public_key = public_key_from_hex(&public_key).with_context(|| format!("public key {public_key:?}"))?;
            let initial_balance = parse_amount(&initial_balance, "initial balance")?;
            let key = target.signing_key(key.as_deref())?;
            let fee_limit = Amount(FEE_LIMIT_DEFAULT);
            (client.create_account(&key, public_key, initial_balance, fee_limit).await?, wait)
        }
    };
    if !wait {
        if target.json {
            return print_json(&serde_json::json!({ "hash": hash_to_hex(&hash) }));
        }
        println!("submitted {}", hash_to_hex(&hash));
        return Ok(());
    }
    let started = Instant::now();
    let receipt = client.wait_for_receipt(hash, WAIT_TIMEOUT).await?;
    let elapsed_ms = started.elapsed().as_millis();
    if target.json {
        return print_json(
            &serde_json::json!({ "hash": hash_to_hex(&hash), "receipt": receipt, "elapsed_ms": elapsed_ms }),
        );
    }
    print_receipt(&hash, &receipt, elapsed_ms);
    Ok(())
}

fn print_receipt(hash: &Hash, receipt: &ReceiptView, elapsed_ms: u128) {
    println!("transaction  {}", hash_to_hex(hash));
    println!(
        "final at     height {} ({}), index {}",
        receipt.block_height,
        hash_to_hex(&receipt.block_hash),
        receipt.index
    );
    match (&receipt.failure_code, &receipt.failure_message) {
        (Some(code), message) => println!("status       failure {code}: {}", message.as_deref().unwrap_or("")),
        (None, _) => println!("status       success"),
    }
    println!("fee paid     {}", receipt.fee_paid);
    println!("waited       {elapsed_ms} ms");
}

fn new_key(target: &Target, out: Option<&Path>) -> anyhow::Result<()> {
    let (file, _) = formica_client::generate_key();
    if let Some(path) = out {
        if path.exists() {
            bail!("{} exists already; refusing to overwrite a key file", path.display());
        }
        file.write(path)?;
    }
    if target.json {
        return print_json(&file);
    }
    println!("account id   {}", file.account_id);
    println!("public key   {}", file.public_key);
    match out {
        Some(path) => println!("written to   {}", path.display()),
        None => {
            println!("private key  {}", file.private_key);
            println!("not saved: keep the private key secret, or pass --out FILE to write a key file");
        }
    }
    Ok(())
}
