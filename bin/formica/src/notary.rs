//! `formica notary ...`: deposit documents (hashed here with SHA-256; only the hash leaves the
//! machine), deposit many at once as a batch with one proof per document, verify a document
//! against the chain, certify copyright or ownership, revoke, and show deposits and certificates
//! (see `docs/modules.md`).
//!
//! A DOCUMENT argument is a file to hash, or a `0x` hash when no file has that name.

use crate::client::{Signing, Target, parse_account, print_json, submit};
use anyhow::{Context, bail};
use commonware_cryptography::{Hasher, Sha256};
use formica_rpc::notary::{BatchProofView, DocumentStatus, VerificationView};
use formica_types::{
    CertificateKind, CertificateTitle, DepositLabel, Hash, NOTARY_BATCH_LEAVES_MAX, NotaryOp, Payload,
    RevocationReason, certificate_id, document_leaf, hash_from_hex, hash_to_hex, merkle_path, merkle_root,
};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Subcommand)]
pub enum NotaryCommand {
    /// Deposit a document: the chain records its hash, your account as its owner, and the block's
    /// time. The first deposit of a hash wins.
    Deposit {
        /// The file to deposit (or a `0x` hash).
        document: String,
        /// A short label, at most 32 bytes.
        #[arg(long, default_value = "")]
        label: String,
        /// The hash of the document's metadata (default: zero).
        #[arg(long)]
        metadata: Option<String>,
        #[command(flatten)]
        signing: Signing,
    },
    /// Deposit many files in one transaction, as the root of a Merkle tree over them, and write
    /// one proof per file to a JSON file.
    Batch {
        /// The files (or `0x` hashes), in tree order.
        #[arg(required = true)]
        documents: Vec<String>,
        /// Where to write the proofs.
        #[arg(long)]
        out: PathBuf,
        /// The hash of the batch's metadata (default: zero).
        #[arg(long)]
        metadata: Option<String>,
        #[command(flatten)]
        signing: Signing,
    },
    /// Check a document against the chain: deposited (when, by whom), revoked, or not. Exits
    /// non-zero unless it is deposited and not revoked.
    Verify {
        /// The file (or a `0x` hash).
        document: String,
        /// A proofs file written by `formica notary batch`: the document is checked as a leaf of
        /// that batch (found by hash, else by file name).
        #[arg(long)]
        proofs: Option<PathBuf>,
    },
    /// Certify copyright or ownership of a document you deposited, to a holder. Prints the
    /// certificate id.
    Certify {
        /// The file (or a `0x` hash).
        document: String,
        /// `copyright` or `ownership`.
        #[arg(long)]
        kind: String,
        /// The holder's account.
        #[arg(long)]
        holder: String,
        /// The certificate's title, 1 to 64 bytes.
        #[arg(long)]
        title: String,
        /// The proofs file of the batch the document was deposited in.
        #[arg(long)]
        proofs: Option<PathBuf>,
        #[command(flatten)]
        signing: Signing,
    },
    /// Revoke a certificate you issued, with a reason: by id, or by document, kind and holder.
    Revoke {
        /// The certificate id (`0x` hex).
        #[arg(long, required_unless_present = "document")]
        certificate: Option<String>,
        /// The certified file (or hash), with `--kind` and `--holder`.
        #[arg(long, conflicts_with = "certificate", requires_all = ["kind", "holder"])]
        document: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        holder: Option<String>,
        /// Why, 1 to 64 bytes.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Revoke your deposit of a document (or of a batch root: the whole batch), with a reason.
    RevokeDeposit {
        document: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Show a deposit (DOCUMENT), or a certificate (`--certificate ID`, or DOCUMENT with
    /// `--kind` and `--holder`).
    Show {
        #[arg(required_unless_present = "certificate")]
        document: Option<String>,
        #[arg(long, conflicts_with = "document")]
        certificate: Option<String>,
        #[arg(long, requires = "holder")]
        kind: Option<String>,
        #[arg(long, requires = "kind")]
        holder: Option<String>,
    },
}

/// The proofs file of a batch: the root and, per document, its hash and path.
#[derive(Debug, Serialize, Deserialize)]
struct ProofsFile {
    #[serde(with = "formica_rpc::types::codec::hash")]
    root: Hash,
    leaves: u32,
    #[serde(with = "formica_rpc::types::codec::hash")]
    metadata: Hash,
    documents: Vec<ProofEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ProofEntry {
    /// The file's name as given (empty for a hash given directly).
    file: String,
    #[serde(with = "formica_rpc::types::codec::hash")]
    document: Hash,
    proof: BatchProofView,
}

/// SHA-256 of a file, read in pieces.
fn hash_file(path: &Path) -> anyhow::Result<Hash> {
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::default();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().1)
}

/// A file's hash, or a `0x` hash when no file has that name.
fn document_hash(text: &str) -> anyhow::Result<Hash> {
    let path = Path::new(text);
    if path.exists() {
        return hash_file(path);
    }
    if text.starts_with("0x") {
        return hash_from_hex(text).with_context(|| format!("document hash {text:?} (0x + 64 hex digits)"));
    }
    bail!("no file {text:?} (and it is not a 0x hash)")
}

fn optional_hash(text: &Option<String>, what: &str) -> anyhow::Result<Hash> {
    match text {
        Some(text) => hash_from_hex(text).with_context(|| format!("{what} {text:?} (0x + 64 hex digits)")),
        None => Ok(commonware_cryptography::sha256::Digest([0u8; 32])),
    }
}

fn kind(text: &str) -> anyhow::Result<CertificateKind> {
    CertificateKind::from_name(text).with_context(|| format!("certificate kind {text:?}: copyright or ownership"))
}

fn reason(text: &str) -> anyhow::Result<RevocationReason> {
    RevocationReason::new(text).with_context(|| format!("reason {text:?}"))
}

fn read_proofs(path: &Path) -> anyhow::Result<ProofsFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a proofs file", path.display()))
}

/// The proof of `document` in a proofs file: by hash, else by file name (a changed file keeps its
/// name, and its proof then fails on the chain).
fn find_proof(proofs: &ProofsFile, document: Hash, given: &str) -> anyhow::Result<BatchProofView> {
    let by_hash = proofs.documents.iter().find(|entry| entry.document == document);
    let name = Path::new(given).file_name();
    let by_name =
        || proofs.documents.iter().find(|entry| !entry.file.is_empty() && Path::new(&entry.file).file_name() == name);
    match by_hash.or_else(by_name) {
        Some(entry) => Ok(entry.proof.clone()),
        None => bail!("{given} is in none of the batch's proofs"),
    }
}

pub async fn run(target: &Target, command: NotaryCommand) -> anyhow::Result<()> {
    let (op, signing) = match command {
        NotaryCommand::Deposit { document, label, metadata, signing } => {
            let op = NotaryOp::Deposit {
                document: document_hash(&document)?,
                metadata: optional_hash(&metadata, "metadata hash")?,
                label: DepositLabel::new(&label).with_context(|| format!("label {label:?}"))?,
            };
            (op, signing)
        }
        NotaryCommand::Batch { documents, out, metadata, signing } => {
            let count = u32::try_from(documents.len()).ok().filter(|count| *count <= NOTARY_BATCH_LEAVES_MAX);
            let Some(count) = count else { bail!("a batch holds at most {NOTARY_BATCH_LEAVES_MAX} documents") };
            let hashes =
                documents.iter().map(|document| document_hash(document)).collect::<anyhow::Result<Vec<_>>>()?;
            let leaves: Vec<Hash> = hashes.iter().map(document_leaf).collect();
            let root = merkle_root(&leaves);
            let metadata = optional_hash(&metadata, "metadata hash")?;
            let entries = documents
                .iter()
                .zip(&hashes)
                .enumerate()
                .map(|(index, (given, hash))| ProofEntry {
                    file: if Path::new(given).exists() { given.clone() } else { String::new() },
                    document: *hash,
                    proof: BatchProofView { root, index: index as u32, path: merkle_path(&leaves, index as u32) },
                })
                .collect();
            let proofs = ProofsFile { root, leaves: count, metadata, documents: entries };
            std::fs::write(&out, serde_json::to_string_pretty(&proofs)?)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("batch root {} of {count} documents; proofs in {}", hash_to_hex(&root), out.display());
            (NotaryOp::DepositBatch { root, leaves: count, metadata }, signing)
        }
        NotaryCommand::Verify { document, proofs } => return verify(target, &document, proofs.as_deref()).await,
        NotaryCommand::Certify { document, kind: kind_text, holder, title, proofs, signing } => {
            let hash = document_hash(&document)?;
            let proof = match &proofs {
                Some(path) => Some(find_proof(&read_proofs(path)?, hash, &document)?.into()),
                None => None,
            };
            let kind = kind(&kind_text)?;
            let holder = parse_account(&holder)?;
            let title = CertificateTitle::new(&title).with_context(|| format!("title {title:?}"))?;
            eprintln!("certificate id {}", hash_to_hex(&certificate_id(&hash, kind, &holder)));
            (NotaryOp::Certify { document: hash, kind, holder, title, proof }, signing)
        }
        NotaryCommand::Revoke { certificate, document, kind: kind_text, holder, reason: text, signing } => {
            let id = match (certificate, document, kind_text, holder) {
                (Some(id), ..) => hash_from_hex(&id).with_context(|| format!("certificate id {id:?}"))?,
                (None, Some(document), Some(kind_text), Some(holder)) => {
                    certificate_id(&document_hash(&document)?, kind(&kind_text)?, &parse_account(&holder)?)
                }
                _ => bail!("name the certificate: --certificate ID, or --document with --kind and --holder"),
            };
            (NotaryOp::Revoke { certificate: id, reason: reason(&text)? }, signing)
        }
        NotaryCommand::RevokeDeposit { document, reason: text, signing } => {
            (NotaryOp::RevokeDeposit { document: document_hash(&document)?, reason: reason(&text)? }, signing)
        }
        NotaryCommand::Show { document, certificate, kind: kind_text, holder } => {
            return show(target, document, certificate, kind_text, holder).await;
        }
    };
    submit(target, Payload::Notary(op), signing).await
}

async fn verify(target: &Target, document: &str, proofs: Option<&Path>) -> anyhow::Result<()> {
    let hash = document_hash(document)?;
    let proof = match proofs {
        Some(path) => Some(find_proof(&read_proofs(path)?, hash, document)?),
        None => None,
    };
    let client = target.client().await?;
    let answer = client.verify_document(hash, proof).await?;
    if target.json {
        print_json(&answer)?;
    } else {
        print_verification(&answer);
    }
    match answer.status {
        DocumentStatus::Deposited => Ok(()),
        status => bail!("{document} is not verified: {}", serde_json::to_string(&status)?.trim_matches('"')),
    }
}

fn print_verification(answer: &VerificationView) {
    println!("document     {}", hash_to_hex(&answer.document));
    println!("status       {}", serde_json::to_string(&answer.status).unwrap_or_default().trim_matches('"'));
    if let Some(root) = answer.batch_root {
        println!("batch root   {}", hash_to_hex(&root));
    }
    if let Some(deposit) = &answer.deposit {
        println!("owner        {}", deposit.owner);
        println!("deposited    height {} at {} ms since the epoch", deposit.deposited_at, deposit.timestamp_ms);
        if let Some(revoked) = &deposit.revoked {
            println!("revoked      height {}: {}", revoked.height, revoked.reason);
        }
    }
    println!("as of height {}", answer.height);
}

async fn show(
    target: &Target,
    document: Option<String>,
    certificate: Option<String>,
    kind_text: Option<String>,
    holder: Option<String>,
) -> anyhow::Result<()> {
    let client = target.client().await?;
    let id = match (&document, certificate, kind_text, holder) {
        (_, Some(id), ..) => Some(hash_from_hex(&id).with_context(|| format!("certificate id {id:?}"))?),
        (Some(document), None, Some(kind_text), Some(holder)) => {
            Some(certificate_id(&document_hash(document)?, kind(&kind_text)?, &parse_account(&holder)?))
        }
        _ => None,
    };
    if let Some(id) = id {
        let Some(certificate) = client.certificate(id).await? else { bail!("no certificate {}", hash_to_hex(&id)) };
        if target.json {
            return print_json(&certificate);
        }
        println!("certificate  {}", hash_to_hex(&certificate.id));
        println!("kind         {}", certificate.kind);
        println!("title        {}", certificate.title);
        println!("document     {}", hash_to_hex(&certificate.document));
        println!("holder       {}", certificate.holder);
        println!("issuer       {}", certificate.issuer);
        println!("issued       height {} at {} ms since the epoch", certificate.issued_at, certificate.timestamp_ms);
        match &certificate.revoked {
            Some(revoked) => println!("status       revoked at height {}: {}", revoked.height, revoked.reason),
            None => println!("status       valid"),
        }
        println!("as of height {}", certificate.height);
        return Ok(());
    }
    let document = document.expect("clap requires a document without --certificate");
    let hash = document_hash(&document)?;
    let Some(deposit) = client.deposit(hash).await? else { bail!("{} is not deposited", hash_to_hex(&hash)) };
    if target.json {
        return print_json(&deposit);
    }
    println!("deposit      {} ({})", hash_to_hex(&deposit.hash), deposit.kind);
    if let Some(leaves) = deposit.leaves {
        println!("documents    {leaves}");
    }
    println!("owner        {}", deposit.owner);
    println!("deposited    height {} at {} ms since the epoch", deposit.deposited_at, deposit.timestamp_ms);
    println!("label        {}", deposit.label);
    println!("metadata     {}", hash_to_hex(&deposit.metadata));
    match &deposit.revoked {
        Some(revoked) => println!("status       revoked at height {}: {}", revoked.height, revoked.reason),
        None => println!("status       valid"),
    }
    println!("as of height {}", deposit.height);
    Ok(())
}
