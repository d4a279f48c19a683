//! `formica trace ...`: product traceability. A manufacturer registers a batch with its rules
//! (who may append each kind of event); the listed parties append custody events; the batch is
//! split into sub-batches and items; anyone shows a batch or an item's history back to its
//! origin (see `docs/modules.md`).
//!
//! A batch is named `OWNER:ID` (the owner's account id and the batch id), except where the
//! signer is the owner (`register`, `rules`).

use crate::client::{Signing, Target, parse_account, print_json, submit};
use anyhow::{Context, bail};
use formica_rpc::traceability::{RulesView, TraceBatchView};
use formica_types::{
    AccountId, BatchId, BatchKind, BatchTerms, ChildSpec, EventKind, Hash, Payload, Rules, TraceOp, TraceText,
    hash_from_hex, hash_to_hex,
};
use rand::SeedableRng;

/// Who may append each kind of event (each flag repeated for up to four accounts).
#[derive(Debug, Default, clap::Args)]
pub struct RulesArgs {
    /// An account that may append `produced` events.
    #[arg(long)]
    produced: Vec<String>,
    /// An account that may append `inspected` events.
    #[arg(long)]
    inspected: Vec<String>,
    /// An account that may append `shipped` events.
    #[arg(long)]
    shipped: Vec<String>,
    /// An account that may append `customs_cleared` events.
    #[arg(long)]
    customs_cleared: Vec<String>,
    /// An account that may append `received` events (the retailer).
    #[arg(long)]
    received: Vec<String>,
}

impl RulesArgs {
    fn is_empty(&self) -> bool {
        [&self.produced, &self.inspected, &self.shipped, &self.customs_cleared, &self.received]
            .iter()
            .all(|list| list.is_empty())
    }

    fn rules(&self) -> anyhow::Result<Rules> {
        let lists = [
            (EventKind::Produced, &self.produced),
            (EventKind::Inspected, &self.inspected),
            (EventKind::Shipped, &self.shipped),
            (EventKind::CustomsCleared, &self.customs_cleared),
            (EventKind::Received, &self.received),
        ];
        let mut parties = Vec::new();
        for (kind, list) in lists {
            let accounts = list.iter().map(|text| parse_account(text)).collect::<anyhow::Result<Vec<AccountId>>>()?;
            parties.push((kind, accounts));
        }
        Rules::new(&parties).context("rules")
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum TraceCommand {
    /// Register a product batch as its owner (the signer), with its rules.
    Register {
        /// Unique among the owner's batches: 1 to 32 of A-Z, a-z, 0-9, '.', '_', '-'.
        id: String,
        /// The product's name (at most 48 bytes).
        #[arg(long)]
        product: String,
        /// Where it comes from (at most 48 bytes).
        #[arg(long)]
        origin: String,
        /// The hash of the batch's attributes, `0x` hex (default: all zeros).
        #[arg(long)]
        attributes: Option<String>,
        /// The hash of the batch's documents, `0x` hex (default: all zeros).
        #[arg(long)]
        documents: Option<String>,
        #[command(flatten)]
        rules: RulesArgs,
        #[command(flatten)]
        signing: Signing,
    },
    /// Append a custody event to a batch (as a party its rules list for the kind).
    Append {
        /// The batch, `OWNER:ID`.
        batch: String,
        /// produced, inspected, shipped, customs_cleared or received.
        #[arg(long)]
        kind: String,
        /// Where it happened (at most 48 bytes).
        #[arg(long)]
        location: String,
        /// The hash of the evidence, `0x` hex (default: all zeros).
        #[arg(long)]
        evidence: Option<String>,
        #[command(flatten)]
        signing: Signing,
    },
    /// Split a batch into sub-batches and items (as its owner or a party of its rules): each
    /// `--item ID[=0xATTRIBUTES]` or `--batch ID[=0xATTRIBUTES]`; 1 to 16 in all. Rules flags
    /// give the children new rules (the owner only); without them they keep the batch's.
    Split {
        /// The batch, `OWNER:ID`.
        batch: String,
        #[arg(long = "item")]
        items: Vec<String>,
        #[arg(long = "batch")]
        batches: Vec<String>,
        #[command(flatten)]
        rules: RulesArgs,
        #[command(flatten)]
        signing: Signing,
    },
    /// Replace the rules of a batch you own that has no events yet.
    Rules {
        id: String,
        #[command(flatten)]
        rules: RulesArgs,
        #[command(flatten)]
        signing: Signing,
    },
    /// Show a batch or item, its events and its children.
    Show {
        /// `OWNER:ID`.
        batch: String,
    },
    /// Show a batch or item and every batch it was split from, back to its origin batch.
    History {
        /// `OWNER:ID`.
        batch: String,
    },
    /// Print the public verification link of a batch or item (the page the node serves under
    /// `/verify/trace/`), anchored in the committee of the current epoch, which is learned from
    /// the genesis file across every epoch boundary; `--qr FILE` also writes its QR code (SVG).
    Link {
        /// `OWNER:ID`.
        batch: String,
        /// The chain's genesis file (the trust anchor); default: the devnet's `genesis.json`.
        #[arg(long)]
        genesis: Option<std::path::PathBuf>,
        /// Write the link's QR code here, as SVG.
        #[arg(long)]
        qr: Option<std::path::PathBuf>,
        /// The address the page is served at (default: the node's RPC URL).
        #[arg(long)]
        base_url: Option<String>,
    },
}

fn batch_id(text: &str) -> anyhow::Result<BatchId> {
    BatchId::new(text).with_context(|| format!("batch id {text:?}"))
}

fn trace_text(text: &str, what: &str) -> anyhow::Result<TraceText> {
    TraceText::new(text).with_context(|| format!("{what} {text:?}"))
}

fn hash_or_zero(text: Option<&str>, what: &str) -> anyhow::Result<Hash> {
    match text {
        Some(text) => hash_from_hex(text).with_context(|| format!("{what} {text:?} (0x + 64 hex digits)")),
        None => Ok(Hash::from([0u8; 32])),
    }
}

/// A batch named `OWNER:ID`.
fn batch(text: &str) -> anyhow::Result<(AccountId, BatchId)> {
    let Some((owner, id)) = text.split_once(':') else { bail!("a batch is OWNER:ID, not {text:?}") };
    Ok((parse_account(owner)?, batch_id(id)?))
}

fn child(text: &str, kind: BatchKind) -> anyhow::Result<ChildSpec> {
    let (id, attributes) = match text.split_once('=') {
        Some((id, attributes)) => (id, Some(attributes)),
        None => (text, None),
    };
    Ok(ChildSpec { id: batch_id(id)?, kind, attributes: hash_or_zero(attributes, "attributes")? })
}

pub async fn run(target: &Target, command: TraceCommand) -> anyhow::Result<()> {
    let (op, signing) = match command {
        TraceCommand::Register { id, product, origin, attributes, documents, rules, signing } => {
            let terms = BatchTerms {
                id: batch_id(&id)?,
                product: trace_text(&product, "product")?,
                origin: trace_text(&origin, "origin")?,
                attributes: hash_or_zero(attributes.as_deref(), "attributes")?,
                documents: hash_or_zero(documents.as_deref(), "documents")?,
                rules: rules.rules()?,
            };
            (TraceOp::Register(terms), signing)
        }
        TraceCommand::Append { batch: text, kind, location, evidence, signing } => {
            let (owner, id) = batch(&text)?;
            let op = TraceOp::Append {
                owner,
                id,
                kind: EventKind::parse(&kind)?,
                location: trace_text(&location, "location")?,
                evidence: hash_or_zero(evidence.as_deref(), "evidence")?,
            };
            (op, signing)
        }
        TraceCommand::Split { batch: text, items, batches, rules, signing } => {
            let (owner, id) = batch(&text)?;
            let mut children = Vec::new();
            for text in &batches {
                children.push(child(text, BatchKind::Batch)?);
            }
            for text in &items {
                children.push(child(text, BatchKind::Item)?);
            }
            if children.is_empty() || children.len() > formica_types::traceability::SPLIT_CHILDREN_MAX {
                bail!("a split makes 1 to 16 children (--item, --batch)");
            }
            let rules = if rules.is_empty() { None } else { Some(rules.rules()?) };
            (TraceOp::Split { owner, id, children, rules }, signing)
        }
        TraceCommand::Rules { id, rules, signing } => {
            (TraceOp::SetRules { id: batch_id(&id)?, rules: rules.rules()? }, signing)
        }
        TraceCommand::Show { batch: text } => {
            let (owner, id) = batch(&text)?;
            let Some(batch) = target.client().await?.trace_batch(owner, id).await? else { bail!("no such batch") };
            if target.json {
                return print_json(&batch);
            }
            print_batch(&batch);
            println!("as of height {}", batch.height);
            return Ok(());
        }
        TraceCommand::Link { batch: text, genesis, qr, base_url } => {
            let (owner, id) = batch(&text)?;
            return link(target, owner, id, genesis, qr, base_url).await;
        }
        TraceCommand::History { batch: text } => {
            let (owner, id) = batch(&text)?;
            let history = target.client().await?.trace_history(owner, id).await?;
            if target.json {
                return print_json(&history);
            }
            if history.is_empty() {
                bail!("no such batch");
            }
            for batch in &history {
                print_batch(batch);
                println!();
            }
            return Ok(());
        }
    };
    submit(target, Payload::Trace(Box::new(op)), signing).await
}

fn print_batch(batch: &TraceBatchView) {
    let parent = batch.parent.map_or_else(|| "origin batch".to_string(), |parent| format!("split from {parent}"));
    println!("{} {}   {parent} (depth {})", batch.kind, batch.id, batch.depth);
    println!("  owner      {}", batch.owner);
    println!("  product    {} from {}", batch.product, batch.origin);
    println!("  attributes {}", hash_to_hex(&batch.attributes));
    println!("  documents  {}", hash_to_hex(&batch.documents));
    print_rules(&batch.rules);
    for event in &batch.events {
        println!(
            "  event {:<4} {:<15} by {} at {} (height {}, {} ms)",
            event.index, event.kind, event.actor, event.location, event.height, event.timestamp_ms
        );
        println!("             evidence {}", hash_to_hex(&event.evidence));
    }
    if let Some(children) = &batch.children {
        let ids: Vec<String> = children.iter().map(ToString::to_string).collect();
        println!("  children   {}", if ids.is_empty() { "none".to_string() } else { ids.join(", ") });
    }
}

fn print_rules(rules: &RulesView) {
    let lists = [
        ("produced", &rules.produced),
        ("inspected", &rules.inspected),
        ("shipped", &rules.shipped),
        ("customs", &rules.customs_cleared),
        ("received", &rules.received),
    ];
    for (kind, parties) in lists {
        let names: Vec<String> = parties.iter().map(ToString::to_string).collect();
        println!("  {kind:<10} {}", if names.is_empty() { "nobody".to_string() } else { names.join(", ") });
    }
}

/// Prints the verification link of `owner:id` (and writes its QR code to `qr`).
async fn link(
    target: &Target,
    owner: AccountId,
    id: BatchId,
    genesis: Option<std::path::PathBuf>,
    qr: Option<std::path::PathBuf>,
    base_url: Option<String>,
) -> anyhow::Result<()> {
    let (genesis, mut checker) = crate::client::trusted_genesis(target, genesis)?;
    let client = target.client().await?;
    let height = client.status().await?.height;
    client.verified_header(&mut checker, height).await.context("following the validator sets from the genesis")?;
    let epoch = formica_verify::epoch_of(height, checker.epoch_blocks());
    let committee = checker.committee(epoch).context("the current epoch's committee was just learned")?;
    let checkpoint = formica_verify::Checkpoint::new(genesis.chain_id, checker.epoch_blocks(), &committee);
    let digest = checkpoint.digest()?;
    let base = match base_url {
        Some(url) => url,
        None => target.rpc_url()?.replacen("ws://", "http://", 1).replacen("wss://", "https://", 1),
    };
    let link = format!(
        "{}/verify/trace/{}/{id}#anchor={epoch}:{}",
        base.trim_end_matches('/'),
        owner.to_hex(),
        hash_to_hex(&digest)
    );
    if let Some(path) = qr {
        let svg = formica_rpc::web::qr_svg(&link).map_err(anyhow::Error::msg)?;
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    if target.json {
        return print_json(&serde_json::json!({ "link": link, "epoch": epoch, "checkpoint": hash_to_hex(&digest) }));
    }
    println!("{link}");
    Ok(())
}

/// `formica verify trace OWNER:ID`: the verification page's check, from the genesis file.
pub async fn verify(target: &Target, genesis: Option<std::path::PathBuf>, text: &str) -> anyhow::Result<()> {
    let (owner, id) = batch(text)?;
    let (genesis, _) = crate::client::trusted_genesis(target, genesis)?;
    let committee = formica_verify::Committee { epoch: 0, validators: genesis.nodes().validators() };
    let checkpoint = formica_verify::Checkpoint::new(genesis.chain_id, genesis.epoch_blocks, &committee);
    let anchor = checkpoint.digest()?;
    let bundle = target.client().await?.trace_bundle(owner, id, 0).await?;
    let mut rng = formica_verify::VerifierRng::from_rng(&mut rand::rng());
    let report = formica_verify::trace::verify(&bundle, &anchor, &owner, &id, &mut rng)
        .map_err(|error| anyhow::anyhow!("verdict: NOT VERIFIED: {error}"))?;
    if target.json {
        return print_json(&report);
    }
    for batch in &report.lineage {
        let parent =
            batch.parent.as_ref().map_or_else(|| "origin batch".to_string(), |parent| format!("split from {parent}"));
        println!("{} {}   {parent}", batch.kind, batch.id);
        println!("  product    {} from {}", batch.product, batch.origin);
        for event in &batch.events {
            println!(
                "  #{:<3} {:<16} {:<48} block {} by {}",
                event.index, event.kind, event.location, event.height, event.actor
            );
        }
    }
    println!(
        "verdict      VERIFIED: {} events, proven in block {} ({}), final under epoch {}'s {} validators followed from the genesis",
        report.events, report.height, report.block_hash, report.epoch, report.validators
    );
    Ok(())
}
