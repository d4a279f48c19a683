//! The client commands of the `formica` binary: queries, transactions and keys, over JSON-RPC.
//!
//! A command talks to `--rpc URL` if given, otherwise to the first node of the local devnet
//! described by `<dir>/devnet.json` (written by `formica up`). Every command prints a short
//! human-readable form, or with `--json` the API's JSON view for scripts. `verify block` and
//! `account --proof` check what the node says against the genesis file (`--genesis`, default the
//! devnet's) instead of trusting it (see `formica_client::finality`).

use anyhow::{Context, anyhow, bail};
use formica_client::{Client, FinalityChecker, types::ReceiptView};
use formica_crypto::{AccountSigner, KeyFile};
use formica_types::{
    AccountId, AccountKey, Amount, GovernanceAction, Hash, Height, KeyScheme, OrgId, OrgName, Payload, Role,
    hash_to_hex, public_key_to_hex,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The fee limit of a transaction when `--fee-limit` is not given, in the smallest unit.
pub(crate) const FEE_LIMIT_DEFAULT: u128 = 1_000;
/// How long `--wait` waits for finality before giving up.
pub(crate) const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// Show an account as of the latest finalized block (`formica account <ID>`), or manage one:
    /// `formica account keys ...`, `formica account recovery ...`, `formica account freeze ...`.
    #[command(args_conflicts_with_subcommands = true)]
    Account {
        /// The account id (`0x` hex).
        id: Option<String>,
        /// Also fetch a proof of the account against the finalized state root, and check it
        /// and the block's finality as a light client (trusting only the genesis file).
        #[arg(long)]
        proof: bool,
        /// The genesis file the proof is checked against; default: the devnet's.
        #[arg(long, requires = "proof")]
        genesis: Option<PathBuf>,
        #[command(subcommand)]
        manage: Option<AccountCommand>,
    },
    /// Show a finalized block.
    Block { height: u64 },
    /// Check what a node says as a light client, trusting only the genesis file.
    Verify {
        #[command(subcommand)]
        command: VerifyCommand,
        /// The chain's genesis file (the trust anchor); default: the devnet's `genesis.json`.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
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
    /// Asset tokens: define, attest reserves, mint, burn, transfer, pause, freeze holdings, and
    /// read assets, holdings and attestations (`FMC` is the native asset).
    Asset {
        #[command(subcommand)]
        command: crate::asset::AssetCommand,
    },
    /// Digital invoices: issue, accept, offer for financing, finance, pay, cancel, show.
    Invoice {
        #[command(subcommand)]
        command: crate::invoice::InvoiceCommand,
    },
    /// Cross-border remittance: corridors (define, open/close, limits, sanctions) and
    /// remittances (request, quote, accept, refund, show).
    Remittance {
        #[command(subcommand)]
        command: crate::remittance::RemittanceCommand,
    },
    /// Supply-chain finance: acknowledge a payable as a receivable, split, transfer, offer to a
    /// bank, finance, settle at maturity, and show receivables, parts and traces.
    Finance {
        #[command(subcommand)]
        command: crate::finance::FinanceCommand,
    },
    /// Charity tracking: campaigns, beneficiaries, donations with receipts, disbursements
    /// approved by the campaign's approvers, and traces from a donation to what it funded.
    Charity {
        #[command(subcommand)]
        command: crate::charity::CharityCommand,
    },
    /// Product traceability: register a batch with its rules, append custody events, split into
    /// sub-batches and items, and show a batch or an item's history back to its origin.
    Trace {
        #[command(subcommand)]
        command: crate::trace::TraceCommand,
    },
    /// Notarisation: deposit documents (one or a batch with proofs), verify them, certify
    /// copyright or ownership, revoke, show.
    Notary {
        #[command(subcommand)]
        command: crate::notary::NotaryCommand,
    },
    /// Member organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Governance: propose, approve, list proposals.
    Gov {
        #[command(subcommand)]
        command: GovCommand,
    },
    /// Ask a node's administrative API (loopback by default) about the node.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
        /// The admin API's URL; default: the devnet's first node (`admin_listen` in its node.toml).
        #[arg(long)]
        url: Option<String>,
        /// A file holding the node's admin secret, if it has one.
        #[arg(long)]
        secret_file: Option<PathBuf>,
    },
    /// Print an API access token for a chain that limits the API to member organisations
    /// (signed by a key of an admin account of a member; pass it with --token or FORMICA_TOKEN).
    Token {
        /// The signing key of the admin account (default: the devnet's dev key).
        #[arg(long)]
        key: Option<PathBuf>,
        /// The admin account, if it is not the key's own account.
        #[arg(long)]
        account: Option<String>,
        /// How long the token is valid, in seconds (at most a day).
        #[arg(long, default_value_t = 3_600)]
        ttl_secs: u64,
    },
}

/// Light-client checks.
#[derive(Debug, clap::Subcommand)]
pub enum VerifyCommand {
    /// Check that the block at HEIGHT is final: its finalization certificate carries a quorum of
    /// its epoch's validators, whose set is followed from the genesis across every epoch
    /// boundary before it.
    Block { height: u64 },
    /// Check a product's history (`OWNER:ID`): the batch or item, its custody events, and every
    /// batch it was split from, proven in a block that is final under the validator sets
    /// followed from the genesis; the same check the verification page runs in the browser.
    Trace { batch: String },
}

/// Account management, as transactions (the same as the `tx` subcommands of the same name).
#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// Add, remove and re-weight signing keys; change the threshold.
    Keys {
        #[command(subcommand)]
        command: AccountKeysCommand,
    },
    /// Recovery key and recoveries.
    Recovery {
        #[command(subcommand)]
        command: RecoveryCommand,
    },
    /// Freeze an account (regulators only).
    Freeze {
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Unfreeze an account (regulators only).
    Unfreeze {
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum AccountKeysCommand {
    /// Add a signing key (`scheme:0xhex`) with a weight.
    Add {
        public_key: String,
        #[arg(long, default_value_t = 1)]
        weight: u16,
        #[command(flatten)]
        signing: Signing,
    },
    /// Remove a signing key.
    Remove {
        public_key: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Change a key's weight.
    Weight {
        public_key: String,
        weight: u16,
        #[command(flatten)]
        signing: Signing,
    },
    /// Change the weight a transaction needs.
    Threshold {
        threshold: u16,
        #[command(flatten)]
        signing: Signing,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum RecoveryCommand {
    /// Set (or replace) the recovery key and its delay in blocks.
    Set {
        public_key: String,
        #[arg(long)]
        delay_blocks: u32,
        #[command(flatten)]
        signing: Signing,
    },
    /// Remove the recovery key.
    Remove {
        #[command(flatten)]
        signing: Signing,
    },
    /// Start a recovery (sign with the recovery key, name the account with --from).
    Start {
        new_key: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Cancel the recovery under way (signed by the current keys).
    Cancel {
        #[command(flatten)]
        signing: Signing,
    },
    /// Complete a recovery whose delay has passed (signed by the recovery key).
    Complete {
        #[command(flatten)]
        signing: Signing,
    },
}

impl AccountCommand {
    /// The `tx` subcommand this management command is.
    fn into_transaction(self) -> TxCommand {
        match self {
            AccountCommand::Keys { command } => match command {
                AccountKeysCommand::Add { public_key, weight, signing } => {
                    TxCommand::AddKey { public_key, weight, signing }
                }
                AccountKeysCommand::Remove { public_key, signing } => TxCommand::RemoveKey { public_key, signing },
                AccountKeysCommand::Weight { public_key, weight, signing } => {
                    TxCommand::SetKeyWeight { public_key, weight, signing }
                }
                AccountKeysCommand::Threshold { threshold, signing } => TxCommand::SetThreshold { threshold, signing },
            },
            AccountCommand::Recovery { command } => match command {
                RecoveryCommand::Set { public_key, delay_blocks, signing } => {
                    TxCommand::SetRecovery { public_key, delay_blocks, signing }
                }
                RecoveryCommand::Remove { signing } => TxCommand::RemoveRecovery { signing },
                RecoveryCommand::Start { new_key, signing } => TxCommand::StartRecovery { new_key, signing },
                RecoveryCommand::Cancel { signing } => TxCommand::CancelRecovery { signing },
                RecoveryCommand::Complete { signing } => TxCommand::CompleteRecovery { signing },
            },
            AccountCommand::Freeze { account, signing } => TxCommand::Freeze { account, signing },
            AccountCommand::Unfreeze { account, signing } => TxCommand::Unfreeze { account, signing },
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// Every organisation, members and removed ones.
    List,
    /// One organisation with its admins.
    Show { id: u32 },
}

#[derive(Debug, clap::Subcommand)]
pub enum GovCommand {
    /// Propose a change (signed by an admin of a member organisation; counts as its approval).
    Propose {
        #[command(subcommand)]
        action: ActionCommand,
        /// Blocks the proposal stays open.
        #[arg(long, default_value_t = 1_000, global = true)]
        expiry_blocks: u32,
        #[command(flatten)]
        signing: Signing,
    },
    /// Approve a proposal for the sender's organisation.
    #[command(alias = "vote")]
    Approve {
        id: u64,
        #[command(flatten)]
        signing: Signing,
    },
    /// The most recent proposals.
    List {
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// One proposal.
    Show { id: u64 },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ActionCommand {
    /// Admit an organisation with one admin account.
    AddOrg {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin: String,
    },
    /// Remove a member organisation.
    RemoveOrg {
        #[arg(long)]
        org: u32,
    },
    /// Add an admin account to a member.
    AddAdmin {
        #[arg(long)]
        org: u32,
        #[arg(long)]
        account: String,
    },
    /// Remove an admin account from a member.
    RemoveAdmin {
        #[arg(long)]
        org: u32,
        #[arg(long)]
        account: String,
    },
    /// Set how many of a member's admins must approve.
    SetAdminThreshold {
        #[arg(long)]
        org: u32,
        #[arg(long)]
        threshold: u8,
    },
    /// Grant a role (regulator, issuer) to an account.
    GrantRole {
        #[arg(long)]
        account: String,
        #[arg(long)]
        role: String,
    },
    /// Revoke a role.
    RevokeRole {
        #[arg(long)]
        account: String,
        #[arg(long)]
        role: String,
    },
    /// Limit account creation to members' admins (`true`) or open it to every funded account.
    AccountCreation {
        #[arg(long, action = clap::ArgAction::Set)]
        members_only: bool,
    },
    /// Change the fee every transaction pays (in the smallest unit).
    SetFee {
        #[arg(long)]
        fee: String,
    },
    /// Change how many transactions a block may carry (up to the genesis cap), from the next
    /// block on.
    SetBlockTransactions {
        #[arg(long)]
        max: u32,
    },
    /// Change the consensus timeouts, from the next epoch boundary on.
    SetConsensusTimeouts {
        #[arg(long)]
        leader_ms: u32,
        #[arg(long)]
        certification_ms: u32,
    },
    /// Change the price of contract gas and the gas limits of a transaction and of a block, from
    /// the next transaction on.
    SetGasSchedule {
        /// The price of one unit of gas, in the native asset's smallest unit (zero allowed).
        #[arg(long)]
        price: String,
        /// The most gas one transaction may ask for.
        #[arg(long)]
        tx_gas_max: u64,
        /// The most gas the transactions of a block may ask for together.
        #[arg(long)]
        block_gas_max: u64,
    },
    /// Approve the module in `--wasm` as the next code of a contract deployed with admin
    /// `governance`; once passed, anyone carries it out with `formica contract upgrade`.
    UpgradeContract {
        #[arg(long)]
        contract: String,
        /// The new module; its SHA-256 goes into the proposal.
        #[arg(long)]
        wasm: PathBuf,
    },
    /// Freeze or unfreeze a contract deployed with admin `governance`.
    ContractFrozen {
        #[arg(long)]
        contract: String,
        #[arg(long, action = clap::ArgAction::Set)]
        frozen: bool,
    },
    /// Limit reading and submitting over RPC to member organisations, or open it again.
    ApiAccess {
        #[arg(long, action = clap::ArgAction::Set)]
        members_only: bool,
    },
    /// Register a node of a member: a validator votes from the next epoch boundary on; an
    /// observer follows the chain and serves RPC.
    AddNode {
        #[arg(long)]
        org: u32,
        /// The node's ed25519 public key (`0x` hex, as `formica keys` prints it).
        #[arg(long)]
        key: String,
        /// Where peers reach its p2p port (`ip:port`).
        #[arg(long)]
        address: String,
        /// validator or observer.
        #[arg(long, default_value = "validator")]
        role: String,
    },
    /// Remove a node; a validator stops being obeyed at the next epoch boundary.
    RemoveNode {
        #[arg(long)]
        key: String,
    },
    /// Replace a node's key; the old key stops being obeyed at the next epoch boundary.
    RotateNode {
        #[arg(long)]
        old: String,
        #[arg(long)]
        new: String,
    },
}

fn parse_node_key(text: &str) -> anyhow::Result<formica_types::PublicKey> {
    formica_types::public_key_from_hex(text).with_context(|| format!("node key {text:?} (0x and 64 hex digits)"))
}

/// Who signs a transaction, for which account, and whether to wait for it.
#[derive(Debug, clap::Args)]
pub struct Signing {
    /// A key file to sign with; repeat it for a multi-key account until the weights reach the
    /// threshold (default: the devnet's dev key).
    #[arg(long = "key", global = true)]
    pub(crate) keys: Vec<PathBuf>,
    /// The sending account (default: the account the first key created).
    #[arg(long, global = true)]
    pub(crate) from: Option<String>,
    /// The most the sender pays in fees (default 1000, plus the gas limit times the gas price for
    /// contract transactions).
    #[arg(long, global = true)]
    pub(crate) fee_limit: Option<String>,
    /// Wait until the transaction is final and print its receipt.
    #[arg(long, global = true)]
    pub(crate) wait: bool,
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
        #[command(flatten)]
        signing: Signing,
    },
    /// Create the account of a public key, funded from the sender.
    CreateAccount {
        /// The new account's public key (`0xhex` for ed25519, or `sm2:0x..`, `secp256k1:0x..`).
        #[arg(long)]
        public_key: String,
        /// The new account's balance, moved from the sender (a decimal integer).
        #[arg(long)]
        initial_balance: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Add a signing key to the sender's account.
    AddKey {
        /// The key to add (`scheme:0xhex`).
        #[arg(long)]
        public_key: String,
        /// The key's signature weight.
        #[arg(long, default_value_t = 1)]
        weight: u16,
        #[command(flatten)]
        signing: Signing,
    },
    /// Remove a signing key (refused if the other keys could not reach the threshold).
    RemoveKey {
        #[arg(long)]
        public_key: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Change a signing key's weight (refused if the keys could no longer reach the threshold).
    SetKeyWeight {
        #[arg(long)]
        public_key: String,
        #[arg(long)]
        weight: u16,
        #[command(flatten)]
        signing: Signing,
    },
    /// Change the signature weight the account's transactions need.
    SetThreshold {
        #[arg(long)]
        threshold: u16,
        #[command(flatten)]
        signing: Signing,
    },
    /// Set (or replace) the account's recovery key and its delay in blocks.
    SetRecovery {
        #[arg(long)]
        public_key: String,
        #[arg(long)]
        delay_blocks: u32,
        #[command(flatten)]
        signing: Signing,
    },
    /// Remove the account's recovery key (and cancel a recovery under way).
    RemoveRecovery {
        #[command(flatten)]
        signing: Signing,
    },
    /// Start recovering an account: sign with its recovery key (`--key`) and name the account
    /// (`--from`). `new_key` becomes the only key once the delay has passed.
    StartRecovery {
        #[arg(long)]
        new_key: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Cancel a recovery under way (signed by the account's current keys).
    CancelRecovery {
        #[command(flatten)]
        signing: Signing,
    },
    /// Complete a recovery whose delay has passed (signed by the recovery key).
    CompleteRecovery {
        #[command(flatten)]
        signing: Signing,
    },
    /// Freeze an account (the sender must hold the regulator role).
    Freeze {
        /// The account id to freeze.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Unfreeze an account (the sender must hold the regulator role).
    Unfreeze {
        #[arg(long)]
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Generate a new account key.
    New {
        /// The key's scheme: ed25519, sm2 (with SM3) or secp256k1.
        #[arg(long, default_value = "ed25519")]
        scheme: String,
        /// Write the key file here (refuses to overwrite an existing file).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Administrative questions.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum AdminCommand {
    /// Identity, role in the current epoch, addresses, height, uptime.
    Info,
    /// The current epoch's registered nodes and how many peers are connected.
    Peers,
    /// Pending transactions and the pool's limits.
    Mempool,
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
    /// An API access token (`formica token`), for chains that limit the API to members.
    #[arg(long, global = true, env = "FORMICA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl Target {
    pub(crate) fn rpc_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.rpc {
            return Ok(url.clone());
        }
        let manifest = DevnetManifest::read(&self.dir)?;
        manifest.rpc.first().cloned().ok_or_else(|| anyhow!("the devnet manifest lists no RPC URL"))
    }

    pub(crate) async fn client(&self) -> anyhow::Result<Client> {
        let url = self.rpc_url()?;
        let config = formica_client::ClientConfig { access_token: self.token.clone(), ..Default::default() };
        Client::connect_with(&url, config).await.with_context(|| format!("cannot reach the node at {url}"))
    }

    /// The keys of the `--key FILE`s, or else the devnet's dev key.
    pub(crate) fn signers(&self, keys: &[PathBuf]) -> anyhow::Result<Vec<AccountSigner>> {
        let paths = if keys.is_empty() {
            let manifest = DevnetManifest::read(&self.dir).context("no --key FILE given and no devnet dev key")?;
            vec![self.dir.join(manifest.dev_key)]
        } else {
            keys.to_vec()
        };
        paths.iter().map(|path| Ok(KeyFile::read_signer(path)?.1)).collect()
    }
}

/// Runs one client command.
pub async fn run(command: ClientCommand, target: Target) -> anyhow::Result<()> {
    match command {
        ClientCommand::Status => status(&target).await,
        ClientCommand::Account { manage: Some(command), .. } => transaction(&target, command.into_transaction()).await,
        ClientCommand::Account { id: Some(id), proof, genesis, manage: None } => {
            account(&target, &id, proof.then_some(genesis)).await
        }
        ClientCommand::Account { id: None, manage: None, .. } => {
            bail!("name an account (`formica account <ID>`) or a command (`formica account keys ...`)")
        }
        ClientCommand::Block { height } => block(&target, height).await,
        ClientCommand::Verify { command: VerifyCommand::Block { height }, genesis } => {
            verify_block(&target, genesis, height).await
        }
        ClientCommand::Verify { command: VerifyCommand::Trace { batch }, genesis } => {
            crate::trace::verify(&target, genesis, &batch).await
        }
        ClientCommand::Tx { command } => transaction(&target, command).await,
        ClientCommand::Keys { command: KeysCommand::New { scheme, out } } => new_key(&target, &scheme, out.as_deref()),
        ClientCommand::Asset { command } => crate::asset::run(&target, command).await,
        ClientCommand::Invoice { command } => crate::invoice::run(&target, command).await,
        ClientCommand::Remittance { command } => crate::remittance::run(&target, command).await,
        ClientCommand::Finance { command } => crate::finance::run(&target, command).await,
        ClientCommand::Charity { command } => crate::charity::run(&target, command).await,
        ClientCommand::Trace { command } => crate::trace::run(&target, command).await,
        ClientCommand::Notary { command } => crate::notary::run(&target, command).await,
        ClientCommand::Org { command } => organisations(&target, command).await,
        ClientCommand::Gov { command } => governance(&target, command).await,
        ClientCommand::Admin { command, url, secret_file } => admin(&target, command, url, secret_file).await,
        ClientCommand::Token { key, account, ttl_secs } => token(&target, key, account.as_deref(), ttl_secs).await,
    }
}

async fn admin(
    target: &Target,
    command: AdminCommand,
    url: Option<String>,
    secret_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    use jsonrpsee::core::client::ClientT as _;
    let url = match url {
        Some(url) => url,
        None => {
            let path = crate::devnet::node_dir(&target.dir, 0).join("node.toml");
            let config = formica_node::NodeConfig::load(&path).context("no --url given and no devnet node config")?;
            let address = config.admin_listen.ok_or_else(|| anyhow!("{} sets no admin_listen", path.display()))?;
            format!("http://{address}")
        }
    };
    let mut headers = jsonrpsee::http_client::HeaderMap::new();
    if let Some(file) = secret_file {
        let secret = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        headers.insert("authorization", format!("Bearer {}", secret.trim()).parse().context("the secret")?);
    }
    let client = jsonrpsee::http_client::HttpClientBuilder::default().set_headers(headers).build(&url)?;
    let method = match command {
        AdminCommand::Info => "admin_nodeInfo",
        AdminCommand::Peers => "admin_peers",
        AdminCommand::Mempool => "admin_mempool",
    };
    let answer: serde_json::Value =
        client.request(method, jsonrpsee::rpc_params![]).await.with_context(|| format!("{method} at {url}"))?;
    print_json(&answer)
}

async fn token(target: &Target, key: Option<PathBuf>, account: Option<&str>, ttl_secs: u64) -> anyhow::Result<()> {
    let lifetime_ms = ttl_secs.saturating_mul(1_000);
    if lifetime_ms == 0 || lifetime_ms > formica_rpc::access::TOKEN_LIFETIME_MAX_MS {
        bail!("--ttl-secs must be between 1 and 86400");
    }
    let signer = target.signers(&key.into_iter().collect::<Vec<_>>())?.remove(0);
    let account = match account {
        Some(text) => parse_account(text)?,
        None => signer.account_id(),
    };
    // The chain id comes from the node: `formica_status` stays open on members-only chains.
    let chain_id = target.client().await?.status().await?.chain_id;
    let expires_ms = formica_rpc::access::now_ms().saturating_add(lifetime_ms);
    let token = formica_rpc::access::AccessToken::sign(&signer, chain_id, account, expires_ms);
    println!("{}", token.to_text());
    Ok(())
}

pub(crate) fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
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
    println!("epoch        {}", status.epoch);
    println!("validators   {}", status.validators.len());
    println!("mempool      {} transactions", status.mempool_size);
    println!("node key     {}", public_key_to_hex(&status.node_public_key));
    Ok(())
}

/// The light client's chain of trust, anchored in `genesis` (default: the devnet's genesis file).
fn finality_checker(target: &Target, genesis: Option<PathBuf>) -> anyhow::Result<FinalityChecker> {
    Ok(trusted_genesis(target, genesis)?.1)
}

/// The genesis file the light client trusts (default: the devnet's), and its chain of trust.
pub(crate) fn trusted_genesis(
    target: &Target,
    genesis: Option<PathBuf>,
) -> anyhow::Result<(formica_types::Genesis, FinalityChecker)> {
    let path = genesis.unwrap_or_else(|| target.dir.join("genesis.json"));
    let genesis = formica_node::read_genesis(&path).with_context(|| {
        format!("the genesis file {} (pass --genesis FILE, the chain's genesis file)", path.display())
    })?;
    let checker =
        FinalityChecker::from_genesis(&genesis).with_context(|| format!("the genesis file {}", path.display()))?;
    Ok((genesis, checker))
}

async fn verify_block(target: &Target, genesis: Option<PathBuf>, height: u64) -> anyhow::Result<()> {
    let mut checker = finality_checker(target, genesis)?;
    let client = target.client().await?;
    let height = Height(height);
    let verdict = client.verified_header(&mut checker, height).await;
    let epoch = formica_client::finality::epoch_of(height, checker.epoch_blocks());
    match verdict {
        Ok(header) => {
            let validators = checker.committee(epoch).map_or(0, |committee| committee.validators.len());
            if target.json {
                return print_json(&serde_json::json!({
                    "height": height,
                    "block_hash": hash_to_hex(&header.digest()),
                    "epoch": epoch,
                    "validators": validators,
                    "state_root": hash_to_hex(&header.state_root),
                    "final": true,
                }));
            }
            println!("block        {} at height {height}", hash_to_hex(&header.digest()));
            println!("epoch        {epoch} ({validators} validators, followed from the genesis)");
            println!("state root   {}", hash_to_hex(&header.state_root));
            println!("verdict      FINAL: finalized by a quorum of epoch {epoch}'s validators");
            Ok(())
        }
        Err(formica_client::ClientError::Unverified(reason)) => {
            bail!("verdict: NOT VERIFIED: block {height} is not proven final: {reason}")
        }
        Err(error) => Err(error).with_context(|| format!("cannot check block {height}")),
    }
}

async fn account(target: &Target, id: &str, with_proof: Option<Option<PathBuf>>) -> anyhow::Result<()> {
    let id = AccountId::from_hex(id).with_context(|| format!("account id {id:?}"))?;
    let client = target.client().await?;
    if let Some(genesis) = with_proof {
        let mut checker = finality_checker(target, genesis)?;
        let (proof, check) = client.verified_account(id, &mut checker).await?;
        if target.json {
            return print_json(&serde_json::json!({ "proof": proof, "check": format!("{check:?}") }));
        }
        match &proof.account {
            Some(account) => {
                println!("account      {id}\nbalance      {}\nnonce        {}", account.balance, account.nonce);
                println!("status       {}", serde_json::to_value(account.status)?.as_str().unwrap_or("?"));
                println!("first key    {} (weight {})", account.first_key.key, account.first_key.weight);
                println!("keys         {} (threshold {})", account.key_count, account.threshold);
            }
            None => println!("account      {id} does not exist"),
        }
        println!("height       {} ({})", proof.height, hash_to_hex(&proof.block_hash));
        println!("state root   {}", hash_to_hex(&proof.state_root));
        println!("proof        {} bytes", proof.proof.len().saturating_sub(2) / 2);
        match check {
            formica_client::ProofCheck::Verified => println!(
                "verified     the proof matches the state root of block {}, which a quorum of its epoch's \
                 validators finalized",
                proof.height
            ),
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
            println!("status       {}", serde_json::to_value(account.status)?.as_str().unwrap_or("?"));
            println!("balance      {}", account.balance);
            println!("nonce        {}", account.nonce);
            println!("threshold    {}", account.threshold);
            for entry in &account.keys {
                println!("key          {} (weight {})", entry.key, entry.weight);
            }
            if let Some(recovery) = &account.recovery {
                println!("recovery     {} (delay {} blocks)", recovery.key, recovery.delay_blocks);
            }
            if let Some(pending) = &account.pending_recovery {
                println!("recovering   to {} from height {}", pending.new_key, pending.completes_at);
            }
            for role in &account.roles {
                println!("role         {role}");
            }
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

pub(crate) fn parse_amount(text: &str, what: &str) -> anyhow::Result<Amount> {
    text.parse::<u128>().map(Amount).with_context(|| format!("{what} {text:?} is not a whole number of units"))
}

fn parse_key(text: &str) -> anyhow::Result<AccountKey> {
    AccountKey::parse(text).with_context(|| format!("public key {text:?} (use 0xhex, sm2:0x.. or secp256k1:0x..)"))
}

pub(crate) fn parse_account(text: &str) -> anyhow::Result<AccountId> {
    AccountId::from_hex(text).with_context(|| format!("account id {text:?}"))
}

async fn transaction(target: &Target, command: TxCommand) -> anyhow::Result<()> {
    let (payload, signing) = match command {
        TxCommand::Transfer { to, amount, signing } => {
            (Payload::Transfer { to: parse_account(&to)?, amount: parse_amount(&amount, "amount")? }, signing)
        }
        TxCommand::CreateAccount { public_key, initial_balance, signing } => {
            let public_key = parse_key(&public_key)?;
            let initial_balance = parse_amount(&initial_balance, "initial balance")?;
            (Payload::CreateAccount { public_key, initial_balance }, signing)
        }
        TxCommand::AddKey { public_key, weight, signing } => {
            (Payload::AddKey { key: parse_key(&public_key)?, weight }, signing)
        }
        TxCommand::RemoveKey { public_key, signing } => (Payload::RemoveKey { key: parse_key(&public_key)? }, signing),
        TxCommand::SetKeyWeight { public_key, weight, signing } => {
            (Payload::SetKeyWeight { key: parse_key(&public_key)?, weight }, signing)
        }
        TxCommand::SetThreshold { threshold, signing } => (Payload::SetThreshold { threshold }, signing),
        TxCommand::SetRecovery { public_key, delay_blocks, signing } => {
            (Payload::SetRecovery { key: parse_key(&public_key)?, delay_blocks }, signing)
        }
        TxCommand::RemoveRecovery { signing } => (Payload::RemoveRecovery, signing),
        TxCommand::StartRecovery { new_key, signing } => {
            (Payload::StartRecovery { new_key: parse_key(&new_key)? }, signing)
        }
        TxCommand::CancelRecovery { signing } => (Payload::CancelRecovery, signing),
        TxCommand::CompleteRecovery { signing } => (Payload::CompleteRecovery, signing),
        TxCommand::Freeze { account, signing } => (Payload::Freeze { account: parse_account(&account)? }, signing),
        TxCommand::Unfreeze { account, signing } => (Payload::Unfreeze { account: parse_account(&account)? }, signing),
    };
    submit(target, payload, signing).await
}

fn parse_role(text: &str) -> anyhow::Result<Role> {
    Role::ALL
        .into_iter()
        .find(|role| role.to_string() == text)
        .ok_or_else(|| anyhow!("unknown role {text:?}: use regulator or issuer"))
}

fn parse_action(action: ActionCommand) -> anyhow::Result<GovernanceAction> {
    Ok(match action {
        ActionCommand::AddOrg { name, admin } => GovernanceAction::AddOrganisation {
            name: OrgName::new(&name).with_context(|| format!("organisation name {name:?} (1 to 31 bytes)"))?,
            admin: parse_account(&admin)?,
        },
        ActionCommand::RemoveOrg { org } => GovernanceAction::RemoveOrganisation { org: OrgId(org) },
        ActionCommand::AddAdmin { org, account } => {
            GovernanceAction::AddAdmin { org: OrgId(org), account: parse_account(&account)? }
        }
        ActionCommand::RemoveAdmin { org, account } => {
            GovernanceAction::RemoveAdmin { org: OrgId(org), account: parse_account(&account)? }
        }
        ActionCommand::SetAdminThreshold { org, threshold } => {
            GovernanceAction::SetAdminThreshold { org: OrgId(org), threshold }
        }
        ActionCommand::GrantRole { account, role } => {
            GovernanceAction::GrantRole { account: parse_account(&account)?, role: parse_role(&role)? }
        }
        ActionCommand::RevokeRole { account, role } => {
            GovernanceAction::RevokeRole { account: parse_account(&account)?, role: parse_role(&role)? }
        }
        ActionCommand::AccountCreation { members_only } => GovernanceAction::SetAccountCreation { members_only },
        ActionCommand::SetFee { fee } => GovernanceAction::SetFee { fee: parse_amount(&fee, "fee")? },
        ActionCommand::SetBlockTransactions { max } => GovernanceAction::SetBlockTransactions { max },
        ActionCommand::SetConsensusTimeouts { leader_ms, certification_ms } => {
            let timeouts = formica_types::ConsensusTimeouts { leader_ms, certification_ms };
            timeouts.check().map_err(|reason| anyhow!(reason))?;
            GovernanceAction::SetConsensusTimeouts { timeouts }
        }
        ActionCommand::ApiAccess { members_only } => GovernanceAction::SetApiAccess { members_only },
        ActionCommand::SetGasSchedule { price, tx_gas_max, block_gas_max } => {
            let schedule =
                formica_types::GasParameters { price: parse_amount(&price, "price")?, tx_gas_max, block_gas_max };
            if !schedule.is_valid() {
                bail!("the gas limits must satisfy 0 < --tx-gas-max <= --block-gas-max");
            }
            GovernanceAction::SetGasSchedule { price: schedule.price, tx_gas_max, block_gas_max }
        }
        ActionCommand::UpgradeContract { contract, wasm } => {
            let code = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
            GovernanceAction::UpgradeContract {
                contract: parse_account(&contract)?,
                code_hash: formica_crypto::sha256(&code),
            }
        }
        ActionCommand::ContractFrozen { contract, frozen } => {
            GovernanceAction::SetContractFrozen { contract: parse_account(&contract)?, frozen }
        }
        ActionCommand::AddNode { org, key, address, role } => GovernanceAction::AddNode {
            org: OrgId(org),
            key: parse_node_key(&key)?,
            address: formica_types::NodeAddress(
                address.parse().with_context(|| format!("address {address:?} (ip:port)"))?,
            ),
            role: role.parse().map_err(|error: String| anyhow!(error))?,
        },
        ActionCommand::RemoveNode { key } => GovernanceAction::RemoveNode { key: parse_node_key(&key)? },
        ActionCommand::RotateNode { old, new } => {
            GovernanceAction::RotateNode { old: parse_node_key(&old)?, new: parse_node_key(&new)? }
        }
    })
}

async fn organisations(target: &Target, command: OrgCommand) -> anyhow::Result<()> {
    let client = target.client().await?;
    let ids: Vec<u32> = match command {
        OrgCommand::Show { id } => vec![id],
        OrgCommand::List => (1..client.governance().await?.next_org.0).collect(),
    };
    let mut found = Vec::new();
    for id in ids {
        match client.organisation(id).await? {
            Some(organisation) => found.push(organisation),
            None => bail!("no organisation {id}"),
        }
    }
    if target.json {
        return print_json(&found);
    }
    for organisation in found {
        let state = if organisation.active { "member" } else { "removed" };
        println!(
            "{:>4}  {:<31}  {state:<7}  admins {} (threshold {})",
            organisation.id.0,
            organisation.name.as_str(),
            organisation.admins.len(),
            organisation.admin_threshold
        );
        for admin in &organisation.admins {
            println!("        admin {admin}");
        }
    }
    Ok(())
}

async fn governance(target: &Target, command: GovCommand) -> anyhow::Result<()> {
    match command {
        GovCommand::Propose { action, expiry_blocks, signing } => {
            let action = parse_action(action)?;
            submit(target, Payload::Propose { action: Box::new(action), expiry_blocks }, signing).await
        }
        GovCommand::Approve { id, signing } => submit(target, Payload::Approve { proposal: id }, signing).await,
        GovCommand::List { limit } => {
            let client = target.client().await?;
            let summary = client.governance().await?;
            let first = summary.next_proposal.saturating_sub(limit);
            let mut proposals = Vec::new();
            for id in (first..summary.next_proposal).rev() {
                if let Some(proposal) = client.proposal(id).await? {
                    proposals.push(proposal);
                }
            }
            if target.json {
                return print_json(&serde_json::json!({ "governance": summary, "proposals": proposals }));
            }
            println!(
                "members      {} (a proposal passes with more than {}/{} of them)",
                summary.members, summary.approval_numerator, summary.approval_denominator
            );
            println!("fee          {} per transaction", summary.fee);
            println!(
                "accounts     created by {}",
                if summary.account_creation_members_only { "members only" } else { "any funded account" }
            );
            for proposal in proposals {
                println!(
                    "{:>5}  {:<8}  approvals {}  by org {}  expires at {}  {}",
                    proposal.id,
                    proposal.status,
                    proposal.approvals,
                    proposal.proposer.0,
                    proposal.expires_at,
                    serde_json::to_string(&proposal.action)?
                );
            }
            Ok(())
        }
        GovCommand::Show { id } => {
            let client = target.client().await?;
            let Some(proposal) = client.proposal(id).await? else {
                bail!("no proposal {id}");
            };
            print_json(&proposal)
        }
    }
}

pub(crate) async fn submit(target: &Target, payload: Payload, signing: Signing) -> anyhow::Result<()> {
    let signers = target.signers(&signing.keys)?;
    let sender = match &signing.from {
        Some(text) => parse_account(text)?,
        None => signers[0].account_id(),
    };
    let fee_limit = match &signing.fee_limit {
        Some(text) => parse_amount(text, "fee limit")?,
        None => Amount(FEE_LIMIT_DEFAULT),
    };
    let client = target.client().await?;
    let references: Vec<&AccountSigner> = signers.iter().collect();
    let signed = client.build_signed(sender, &references, payload, fee_limit).await?;
    let hash = client.submit(&signed).await?;
    let wait = signing.wait;
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

pub(crate) fn print_receipt(hash: &Hash, receipt: &ReceiptView, elapsed_ms: u128) {
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
    if receipt.gas_used > 0 {
        println!("gas used     {}", receipt.gas_used);
    }
    for event in &receipt.events {
        println!("event        {} topics {} data {}", event.contract, event.topics.join(","), event.data);
    }
    println!("waited       {elapsed_ms} ms");
}

fn new_key(target: &Target, scheme: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let scheme = KeyScheme::from_name(scheme)
        .ok_or_else(|| anyhow!("unknown key scheme {scheme:?}: use ed25519, sm2 or secp256k1"))?;
    let (file, _) = formica_client::generate_key(scheme);
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
    println!("scheme       {}", file.scheme);
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
