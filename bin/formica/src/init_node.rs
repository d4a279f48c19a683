//! `formica init-node`: the files a new organisation's node needs to join a running chain.
//!
//! It writes a fresh node key and a `node.toml` next to it. The node can start at once; its
//! peers accept it once a governance proposal registers its key and address
//! (`formica gov propose add-node`), as an observer at once or as a validator from the next
//! epoch boundary.

use anyhow::Context;
use formica_crypto::KeyFile;
use formica_node::NodeConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct InitNodeArgs {
    /// The folder to create (it must not hold a node key already).
    #[arg(long)]
    pub out: PathBuf,
    /// The chain's genesis file.
    #[arg(long)]
    pub genesis: PathBuf,
    /// A name for the logs (usually the organisation's).
    #[arg(long)]
    pub name: String,
    /// Where the node listens for peers; the address registered on chain.
    #[arg(long)]
    pub p2p_listen: SocketAddr,
    /// Where it serves JSON-RPC.
    #[arg(long)]
    pub rpc_listen: SocketAddr,
    /// Where it serves Prometheus metrics.
    #[arg(long)]
    pub metrics_listen: SocketAddr,
    /// Where it serves the administrative API (keep it on loopback; off when absent).
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
}

/// Writes the key and config; returns the node's public key (hex).
pub fn init_node(args: &InitNodeArgs) -> anyhow::Result<String> {
    formica_node::read_genesis(&args.genesis).context("the genesis file")?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let key_path = args.out.join("validator-key.json");
    anyhow::ensure!(!key_path.exists(), "{} exists already; refusing to replace a node key", key_path.display());
    let (key, _) = KeyFile::generate(&mut rand::rng());
    key.write(&key_path)?;
    let config = NodeConfig {
        name: args.name.clone(),
        key_file: "validator-key.json".into(),
        genesis_file: absolute(&args.genesis)?,
        data_dir: "data".into(),
        p2p_listen: args.p2p_listen,
        rpc_listen: args.rpc_listen,
        metrics_listen: args.metrics_listen,
        admin_listen: args.admin_listen,
        admin_secret_file: None,
        log_level: "info".into(),
        log_json: false,
        consensus: Default::default(),
        mempool: Default::default(),
        rpc: Default::default(),
        storage: Default::default(),
    };
    std::fs::write(args.out.join("node.toml"), toml::to_string_pretty(&config)?)?;
    Ok(key.public_key)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}
