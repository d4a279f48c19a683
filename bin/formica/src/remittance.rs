//! `formica remittance ...`: define and run cross-border remittance corridors (a regulator
//! defines them; compliance keeps sanctions and limits), and request, quote, accept and refund
//! remittances; read corridors, remittances and sanctions (see `docs/modules.md`).

use crate::client::{Signing, Target, parse_account, parse_amount, print_json, submit};
use anyhow::{Context, bail};
use formica_types::{
    AccountId, CorridorId, CorridorTerms, FeeShares, Payload, RemittanceId, RemittanceOp, Symbol, hash_from_hex,
    hash_to_hex, remittance_id,
};

#[derive(Debug, clap::Subcommand)]
pub enum RemittanceCommand {
    /// Define a corridor (the sender holds the regulator role).
    CorridorDefine {
        /// 1 to 16 of A-Z, 0-9, '-', '.', starting with a letter (for example HKD-PHP).
        corridor: String,
        /// The asset senders pay in (and fees are paid in); `FMC` is the native asset.
        #[arg(long)]
        source: String,
        /// The asset recipients are paid in.
        #[arg(long)]
        destination: String,
        #[arg(long)]
        sending_wallet: String,
        #[arg(long)]
        receiving_wallet: String,
        /// Receives the source amount and pays the destination amount from its liquidity.
        #[arg(long)]
        settlement: String,
        #[arg(long)]
        fx_provider: String,
        #[arg(long)]
        compliance: String,
        /// The flat fee, in source units.
        #[arg(long, default_value = "0")]
        fee_flat: String,
        /// The proportional fee, in basis points of the amount (rounded down).
        #[arg(long, default_value_t = 0)]
        fee_bps: u16,
        /// A fee recipient and its share in basis points, `ACCOUNT:BPS`; repeat it (at most 4;
        /// the shares sum to 10000).
        #[arg(long = "fee-share")]
        fee_shares: Vec<String>,
        /// The most one remittance may send, in source units.
        #[arg(long)]
        per_transfer_max: String,
        /// The most one sender may send through the corridor in a day, in source units.
        #[arg(long)]
        daily_max: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Open or close a corridor (as a regulator).
    CorridorActive {
        corridor: String,
        #[arg(long, action = clap::ArgAction::Set)]
        active: bool,
        #[command(flatten)]
        signing: Signing,
    },
    /// Set a corridor's limits (as its compliance account).
    SetLimits {
        corridor: String,
        #[arg(long)]
        per_transfer_max: String,
        #[arg(long)]
        daily_max: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// List an account as sanctioned (as the corridor's compliance account).
    Sanction {
        corridor: String,
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Take an account off the sanctions list (as the corridor's compliance account).
    Unsanction {
        corridor: String,
        account: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Request a remittance (as the corridor's sending wallet); prints its id.
    Request {
        corridor: String,
        /// The wallet's reference, used once per wallet; the id derives from it.
        #[arg(long)]
        reference: u64,
        /// The paying customer (who accepts the quote).
        #[arg(long)]
        sender: String,
        #[arg(long)]
        recipient: String,
        /// The amount in source units (fees come on top).
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Quote a remittance (as the corridor's FX provider).
    Quote {
        /// The remittance id (`0x` hex).
        id: String,
        /// Destination units per 10^8 source units (7.25 PHP per HKD: 725000000).
        #[arg(long)]
        rate: String,
        /// How long the quote holds, in seconds from now (compared with block timestamps).
        #[arg(long, default_value_t = 300, conflicts_with = "expires_ms")]
        valid_secs: u64,
        /// When the quote expires, milliseconds since the Unix epoch.
        #[arg(long)]
        expires_ms: Option<u64>,
        #[command(flatten)]
        signing: Signing,
    },
    /// Accept a quote (as the sender): compliance runs and the remittance settles or is rejected.
    Accept {
        id: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Refund a settled remittance (as its recipient, the receiving wallet or the settlement
    /// account): the refunder returns the destination amount, the sender gets the amount back.
    Refund {
        id: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// The id of a wallet's remittance reference (computed locally).
    Id {
        #[arg(long)]
        wallet: String,
        reference: u64,
    },
    /// Show a remittance by id.
    Show { id: String },
    /// Show a corridor.
    Corridor { corridor: String },
    /// Show whether the corridor's compliance account lists an account as sanctioned.
    Sanctioned { corridor: String, account: String },
}

fn corridor(text: &str) -> anyhow::Result<CorridorId> {
    CorridorId::new(text).with_context(|| format!("corridor {text:?}"))
}

fn symbol(text: &str) -> anyhow::Result<Symbol> {
    Symbol::new(text).with_context(|| format!("asset symbol {text:?}"))
}

fn id(text: &str) -> anyhow::Result<RemittanceId> {
    hash_from_hex(text).with_context(|| format!("remittance id {text:?} (0x + 64 hex digits)"))
}

fn fee_share(text: &str) -> anyhow::Result<(AccountId, u16)> {
    let (account, share) = text.split_once(':').with_context(|| format!("fee share {text:?} is not ACCOUNT:BPS"))?;
    let share = share.parse().with_context(|| format!("fee share {text:?}: basis points 0 to 10000"))?;
    Ok((parse_account(account)?, share))
}

fn now_ms() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
}

pub async fn run(target: &Target, command: RemittanceCommand) -> anyhow::Result<()> {
    let (op, signing) = match command {
        RemittanceCommand::CorridorDefine {
            corridor: name,
            source,
            destination,
            sending_wallet,
            receiving_wallet,
            settlement,
            fx_provider,
            compliance,
            fee_flat,
            fee_bps,
            fee_shares,
            per_transfer_max,
            daily_max,
            signing,
        } => {
            let terms = CorridorTerms {
                id: corridor(&name)?,
                source: symbol(&source)?,
                destination: symbol(&destination)?,
                sending_wallet: parse_account(&sending_wallet)?,
                receiving_wallet: parse_account(&receiving_wallet)?,
                settlement: parse_account(&settlement)?,
                fx_provider: parse_account(&fx_provider)?,
                compliance: parse_account(&compliance)?,
                fee_flat: parse_amount(&fee_flat, "flat fee")?,
                fee_bps,
                fee_shares: FeeShares(fee_shares.iter().map(|text| fee_share(text)).collect::<anyhow::Result<_>>()?),
                per_transfer_max: parse_amount(&per_transfer_max, "per-transfer limit")?,
                daily_max: parse_amount(&daily_max, "per-day limit")?,
            };
            if terms.fee_shares.0.len() > formica_types::FEE_RECIPIENTS_MAX {
                bail!("a corridor names at most {} fee recipients", formica_types::FEE_RECIPIENTS_MAX);
            }
            (RemittanceOp::DefineCorridor(terms), signing)
        }
        RemittanceCommand::CorridorActive { corridor: name, active, signing } => {
            (RemittanceOp::SetCorridorActive { corridor: corridor(&name)?, active }, signing)
        }
        RemittanceCommand::SetLimits { corridor: name, per_transfer_max, daily_max, signing } => (
            RemittanceOp::SetLimits {
                corridor: corridor(&name)?,
                per_transfer_max: parse_amount(&per_transfer_max, "per-transfer limit")?,
                daily_max: parse_amount(&daily_max, "per-day limit")?,
            },
            signing,
        ),
        RemittanceCommand::Sanction { corridor: name, account, signing } => (
            RemittanceOp::SetSanctioned {
                corridor: corridor(&name)?,
                account: parse_account(&account)?,
                sanctioned: true,
            },
            signing,
        ),
        RemittanceCommand::Unsanction { corridor: name, account, signing } => (
            RemittanceOp::SetSanctioned {
                corridor: corridor(&name)?,
                account: parse_account(&account)?,
                sanctioned: false,
            },
            signing,
        ),
        RemittanceCommand::Request { corridor: name, reference, sender, recipient, amount, signing } => {
            let op = RemittanceOp::Request {
                corridor: corridor(&name)?,
                reference,
                sender: parse_account(&sender)?,
                recipient: parse_account(&recipient)?,
                amount: parse_amount(&amount, "amount")?,
            };
            if !target.json {
                let wallet = match &signing.from {
                    Some(text) => parse_account(text)?,
                    None => target.signers(&signing.keys)?[0].account_id(),
                };
                println!("remittance id {}", hash_to_hex(&remittance_id(&wallet, reference)));
            }
            (op, signing)
        }
        RemittanceCommand::Quote { id: text, rate, valid_secs, expires_ms, signing } => {
            let rate = parse_amount(&rate, "rate")?.get();
            let expires_ms = expires_ms.unwrap_or_else(|| now_ms().saturating_add(valid_secs.saturating_mul(1000)));
            (RemittanceOp::Quote { id: id(&text)?, rate, expires_ms }, signing)
        }
        RemittanceCommand::Accept { id: text, signing } => (RemittanceOp::Accept { id: id(&text)? }, signing),
        RemittanceCommand::Refund { id: text, signing } => (RemittanceOp::Refund { id: id(&text)? }, signing),
        RemittanceCommand::Id { wallet, reference } => {
            println!("{}", hash_to_hex(&remittance_id(&parse_account(&wallet)?, reference)));
            return Ok(());
        }
        RemittanceCommand::Show { id: text } => return show(target, id(&text)?).await,
        RemittanceCommand::Corridor { corridor: name } => return show_corridor(target, corridor(&name)?).await,
        RemittanceCommand::Sanctioned { corridor: name, account } => {
            let client = target.client().await?;
            let Some(view) = client.sanctioned(corridor(&name)?, parse_account(&account)?).await? else {
                bail!("no such corridor")
            };
            if target.json {
                return print_json(&view);
            }
            let state = if view.sanctioned { "sanctioned" } else { "not sanctioned" };
            println!("{} is {state} by {} (corridor {})", view.account, view.compliance, view.corridor);
            return Ok(());
        }
    };
    submit(target, Payload::Remittance(op), signing).await
}

async fn show(target: &Target, id: RemittanceId) -> anyhow::Result<()> {
    let Some(remittance) = target.client().await?.remittance(id).await? else { bail!("no such remittance") };
    if target.json {
        return print_json(&remittance);
    }
    println!("remittance   {}", hash_to_hex(&remittance.id));
    println!("corridor     {} (wallet {}, reference {})", remittance.corridor, remittance.wallet, remittance.reference);
    println!("sender       {}", remittance.sender);
    println!("recipient    {}", remittance.recipient);
    println!("amount       {}", remittance.amount);
    println!("status       {}", remittance.status);
    if let Some(quote) = &remittance.quote {
        println!(
            "quote        rate {} per 10^8, fee {}, recipient gets {}, expires at {} ms",
            quote.rate, quote.fee, quote.destination_amount, quote.expires_ms
        );
    }
    if let Some(reason) = remittance.reason {
        println!("reason       {reason}");
    }
    println!("as of height {}", remittance.height);
    Ok(())
}

async fn show_corridor(target: &Target, id: CorridorId) -> anyhow::Result<()> {
    let Some(corridor) = target.client().await?.corridor(id).await? else { bail!("no such corridor") };
    if target.json {
        return print_json(&corridor);
    }
    let state = if corridor.active { "open" } else { "closed" };
    let terms = &corridor.terms;
    println!("corridor     {} ({} to {}, {state})", terms.id, terms.source, terms.destination);
    println!("sending      {}", terms.sending_wallet);
    println!("receiving    {}", terms.receiving_wallet);
    println!("settlement   {}", terms.settlement);
    println!("fx provider  {}", terms.fx_provider);
    println!("compliance   {}", terms.compliance);
    println!("fee          {} + {} bps", terms.fee_flat, terms.fee_bps);
    for share in &terms.fee_shares {
        println!("fee share    {} {} bps", share.account, share.share_bps);
    }
    println!("limits       {} per transfer, {} per sender per day", terms.per_transfer_max, terms.daily_max);
    println!("regulator    {} (defined at height {})", corridor.regulator, corridor.defined_at);
    println!("as of height {}", corridor.height);
    Ok(())
}
