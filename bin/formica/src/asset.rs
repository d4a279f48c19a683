//! `formica asset ...`: define, attest, mint, burn, transfer, pause and regulate asset tokens,
//! and read assets, holdings and attestations (see `docs/modules.md`).

use crate::client::{Signing, Target, parse_account, parse_amount, print_json, submit};
use anyhow::Context;
use formica_types::{AccountId, AssetOp, Payload, Symbol, hash_from_hex};

#[derive(Debug, clap::Subcommand)]
pub enum AssetCommand {
    /// Define a new asset with the sender (who needs the issuer role) as its issuer.
    Define {
        /// 1 to 12 characters: A-Z, 0-9, '-' and '.', starting with a letter.
        symbol: String,
        /// Decimal places shown to people (at most 18); amounts are always whole smallest units.
        #[arg(long, default_value_t = 2)]
        decimals: u8,
        /// The most the supply may ever reach.
        #[arg(long)]
        cap: Option<String>,
        /// Only accounts the issuer allows may receive the asset.
        #[arg(long)]
        allow_list: bool,
        #[command(flatten)]
        signing: Signing,
    },
    /// Attest the reserves backing the asset (issuer): the supply may be minted up to them.
    Attest {
        symbol: String,
        #[arg(long)]
        reserves: String,
        /// The hash of the reserve report (`0x` + 64 hex digits).
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Mint to an account (issuer; within the attested reserves and the cap).
    Mint {
        symbol: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Burn from the issuer's own holding (redemption).
    Burn {
        symbol: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Transfer to an account (`FMC` is the native asset).
    Transfer {
        symbol: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Pause every mint, burn and transfer of the asset (issuer).
    Pause {
        symbol: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Resume a paused asset (issuer).
    Resume {
        symbol: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Freeze an account's holding (regulator).
    Freeze {
        symbol: String,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Unfreeze an account's holding (regulator).
    Unfreeze {
        symbol: String,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Allow an account to hold an allow-listed asset (issuer).
    Allow {
        symbol: String,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Stop allowing an account to receive an allow-listed asset (issuer).
    Disallow {
        symbol: String,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Show an asset: issuer, supply, minted, burned, reserves, cap, state.
    Info { symbol: String },
    /// Show an account's holding (default: the devnet's dev account).
    Balance {
        symbol: String,
        account: Option<String>,
        /// The key whose account to show, if no account is given.
        #[arg(long)]
        key: Option<std::path::PathBuf>,
    },
    /// Show a reserve attestation (numbered from 0).
    Attestation { symbol: String, index: u64 },
}

fn symbol(text: &str) -> anyhow::Result<Symbol> {
    Symbol::new(text).with_context(|| format!("asset symbol {text:?}"))
}

fn account(text: &str) -> anyhow::Result<AccountId> {
    parse_account(text)
}

pub async fn run(target: &Target, command: AssetCommand) -> anyhow::Result<()> {
    let (op, signing) = match command {
        AssetCommand::Define { symbol: text, decimals, cap, allow_list, signing } => {
            let cap = cap.map(|cap| parse_amount(&cap, "cap")).transpose()?;
            (AssetOp::Define { symbol: symbol(&text)?, decimals, cap, allow_list }, signing)
        }
        AssetCommand::Attest { symbol: text, reserves, reference, signing } => {
            let reference = hash_from_hex(&reference).with_context(|| format!("reference {reference:?}"))?;
            (
                AssetOp::Attest { symbol: symbol(&text)?, reserves: parse_amount(&reserves, "reserves")?, reference },
                signing,
            )
        }
        AssetCommand::Mint { symbol: text, to, amount, signing } => (
            AssetOp::Mint { symbol: symbol(&text)?, to: account(&to)?, amount: parse_amount(&amount, "amount")? },
            signing,
        ),
        AssetCommand::Burn { symbol: text, amount, signing } => {
            (AssetOp::Burn { symbol: symbol(&text)?, amount: parse_amount(&amount, "amount")? }, signing)
        }
        AssetCommand::Transfer { symbol: text, to, amount, signing } => (
            AssetOp::Transfer { symbol: symbol(&text)?, to: account(&to)?, amount: parse_amount(&amount, "amount")? },
            signing,
        ),
        AssetCommand::Pause { symbol: text, signing } => {
            (AssetOp::SetPaused { symbol: symbol(&text)?, paused: true }, signing)
        }
        AssetCommand::Resume { symbol: text, signing } => {
            (AssetOp::SetPaused { symbol: symbol(&text)?, paused: false }, signing)
        }
        AssetCommand::Freeze { symbol: text, account: who, signing } => {
            (AssetOp::SetHoldingFrozen { symbol: symbol(&text)?, account: account(&who)?, frozen: true }, signing)
        }
        AssetCommand::Unfreeze { symbol: text, account: who, signing } => {
            (AssetOp::SetHoldingFrozen { symbol: symbol(&text)?, account: account(&who)?, frozen: false }, signing)
        }
        AssetCommand::Allow { symbol: text, account: who, signing } => {
            (AssetOp::SetAllowed { symbol: symbol(&text)?, account: account(&who)?, allowed: true }, signing)
        }
        AssetCommand::Disallow { symbol: text, account: who, signing } => {
            (AssetOp::SetAllowed { symbol: symbol(&text)?, account: account(&who)?, allowed: false }, signing)
        }
        AssetCommand::Info { symbol: text } => return info(target, symbol(&text)?).await,
        AssetCommand::Balance { symbol: text, account: who, key } => {
            let who = match who {
                Some(text) => account(&text)?,
                None => target.signers(&key.into_iter().collect::<Vec<_>>())?.remove(0).account_id(),
            };
            return balance(target, symbol(&text)?, who).await;
        }
        AssetCommand::Attestation { symbol: text, index } => return attestation(target, symbol(&text)?, index).await,
    };
    submit(target, Payload::Asset(op), signing).await
}

async fn info(target: &Target, symbol: Symbol) -> anyhow::Result<()> {
    let Some(asset) = target.client().await?.asset(symbol).await? else {
        anyhow::bail!("no asset has the symbol {symbol}");
    };
    if target.json {
        return print_json(&asset);
    }
    println!("asset        {}{}", asset.symbol, if asset.native { " (native)" } else { "" });
    if let Some(issuer) = asset.issuer {
        println!("issuer       {issuer}");
    }
    println!("decimals     {}", asset.decimals);
    println!("supply       {} (minted {}, burned {})", asset.supply, asset.minted, asset.burned);
    if !asset.native {
        println!("reserves     {} ({} attestations)", asset.reserves, asset.attestations);
        println!("cap          {}", asset.cap.map_or("none".to_string(), |cap| cap.to_string()));
        println!("allow-list   {}", if asset.allow_list { "yes" } else { "no" });
        println!("paused       {}", if asset.paused { "yes" } else { "no" });
    }
    println!("events from  {} (the assets module)", formica_types::Module::Assets.address());
    println!("as of height {}", asset.height);
    Ok(())
}

async fn balance(target: &Target, symbol: Symbol, account: AccountId) -> anyhow::Result<()> {
    let holding = target.client().await?.asset_balance(symbol, account).await?;
    if target.json {
        return print_json(&holding);
    }
    let mut flags = Vec::new();
    if holding.frozen {
        flags.push("frozen");
    }
    if holding.allowed {
        flags.push("allowed");
    }
    let flags = if flags.is_empty() { String::new() } else { format!(" ({})", flags.join(", ")) };
    println!("{} {} of {} at height {}{flags}", holding.balance, holding.symbol, holding.account, holding.height);
    Ok(())
}

async fn attestation(target: &Target, symbol: Symbol, index: u64) -> anyhow::Result<()> {
    let Some(attestation) = target.client().await?.attestation(symbol, index).await? else {
        anyhow::bail!("{symbol} has no attestation number {index}");
    };
    if target.json {
        return print_json(&attestation);
    }
    println!("attestation  {} #{}", attestation.symbol, attestation.index);
    println!("reserves     {}", attestation.reserves);
    println!("reference    {}", formica_types::hash_to_hex(&attestation.reference));
    println!("recorded at  height {}", attestation.recorded_at);
    Ok(())
}
