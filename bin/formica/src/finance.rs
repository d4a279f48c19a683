//! `formica finance ...`: supply-chain finance. A core enterprise acknowledges a payable as a
//! receivable; its holders split and transfer parts down the chain and discount them with banks;
//! at maturity the core enterprise settles every part (see `docs/modules.md`).
//!
//! A receivable is named by its id (`0x` + 64 hex digits) or as `DEBTOR:REFERENCE`.

use crate::client::{Signing, Target, parse_account, parse_amount, print_json, submit};
use anyhow::{Context, bail};
use formica_rpc::finance::PartView;
use formica_types::{
    FinanceOp, Hash, InvoiceNumber, Payload, ReceivableTerms, Share, Symbol, hash_from_hex, hash_to_hex, receivable_id,
};

#[derive(Debug, clap::Subcommand)]
pub enum FinanceCommand {
    /// Acknowledge a payable to a supplier as a receivable (the sender is the debtor).
    Acknowledge {
        /// Unique per debtor: 1 to 32 of A-Z, a-z, 0-9, '-', '_', '/', '.'.
        reference: String,
        #[arg(long)]
        supplier: String,
        /// The asset it is paid in (`FMC`: the native asset).
        #[arg(long)]
        currency: String,
        /// In the asset's smallest unit.
        #[arg(long)]
        amount: String,
        /// When the debtor pays, milliseconds since the Unix epoch.
        #[arg(long)]
        maturity_ms: u64,
        /// The supplier's accepted invoice to the debtor that backs it.
        #[arg(long)]
        invoice: Option<String>,
        #[command(flatten)]
        signing: Signing,
    },
    /// Split a part you hold into 2 to 16 new parts that sum to it: `--to ACCOUNT=AMOUNT` each.
    Split {
        receivable: String,
        #[arg(long, default_value_t = 0)]
        part: u16,
        #[arg(long = "to", required = true)]
        shares: Vec<String>,
        #[command(flatten)]
        signing: Signing,
    },
    /// Transfer a whole part you hold to another account.
    Transfer {
        receivable: String,
        #[arg(long, default_value_t = 0)]
        part: u16,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Offer a part you hold to a bank for a price (replaces an earlier offer).
    Offer {
        receivable: String,
        #[arg(long, default_value_t = 0)]
        part: u16,
        #[arg(long)]
        bank: String,
        #[arg(long)]
        price: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Finance a part offered to you: pays the price to its holder, makes you the holder.
    Finance {
        receivable: String,
        #[arg(long, default_value_t = 0)]
        part: u16,
        #[command(flatten)]
        signing: Signing,
    },
    /// Settle a held part at or after maturity (as the debtor): pays its amount to its holder.
    Settle {
        receivable: String,
        #[arg(long, default_value_t = 0)]
        part: u16,
        #[command(flatten)]
        signing: Signing,
    },
    /// Print a receivable's id from its debtor and reference.
    Id {
        reference: String,
        #[arg(long)]
        debtor: String,
    },
    /// Show a receivable.
    Show { receivable: String },
    /// Show one part of a receivable.
    Part { receivable: String, number: u16 },
    /// Show a part and its parents back to part 0, the acknowledged payable.
    Trace { receivable: String, number: u16 },
}

fn reference(text: &str) -> anyhow::Result<InvoiceNumber> {
    InvoiceNumber::new(text).with_context(|| format!("reference {text:?}"))
}

/// A receivable named by its id or as `DEBTOR:REFERENCE`.
fn receivable(text: &str) -> anyhow::Result<Hash> {
    match text.split_once(':') {
        Some((debtor, text)) => Ok(receivable_id(&parse_account(debtor)?, &reference(text)?)),
        None => hash_from_hex(text)
            .with_context(|| format!("receivable {text:?} (0x + 64 hex digits, or DEBTOR:REFERENCE)")),
    }
}

fn share(text: &str) -> anyhow::Result<Share> {
    let Some((holder, amount)) = text.split_once('=') else { bail!("a share is ACCOUNT=AMOUNT, not {text:?}") };
    Ok(Share { holder: parse_account(holder)?, amount: parse_amount(amount, "share amount")? })
}

pub async fn run(target: &Target, command: FinanceCommand) -> anyhow::Result<()> {
    let (op, signing) = match command {
        FinanceCommand::Acknowledge { reference: text, supplier, currency, amount, maturity_ms, invoice, signing } => {
            let terms = ReceivableTerms {
                reference: reference(&text)?,
                supplier: parse_account(&supplier)?,
                currency: Symbol::new(&currency).with_context(|| format!("currency {currency:?}"))?,
                amount: parse_amount(&amount, "amount")?,
                maturity_ms,
                invoice: invoice
                    .map(|number| InvoiceNumber::new(&number).with_context(|| format!("invoice number {number:?}")))
                    .transpose()?,
            };
            (FinanceOp::Acknowledge(terms), signing)
        }
        FinanceCommand::Split { receivable: text, part, shares, signing } => {
            let shares = shares.iter().map(|text| share(text)).collect::<anyhow::Result<Vec<_>>>()?;
            (FinanceOp::Split { receivable: receivable(&text)?, part, shares }, signing)
        }
        FinanceCommand::Transfer { receivable: text, part, to, signing } => {
            (FinanceOp::Transfer { receivable: receivable(&text)?, part, to: parse_account(&to)? }, signing)
        }
        FinanceCommand::Offer { receivable: text, part, bank, price, signing } => (
            FinanceOp::Offer {
                receivable: receivable(&text)?,
                part,
                bank: parse_account(&bank)?,
                price: parse_amount(&price, "price")?,
            },
            signing,
        ),
        FinanceCommand::Finance { receivable: text, part, signing } => {
            (FinanceOp::Finance { receivable: receivable(&text)?, part }, signing)
        }
        FinanceCommand::Settle { receivable: text, part, signing } => {
            (FinanceOp::Settle { receivable: receivable(&text)?, part }, signing)
        }
        FinanceCommand::Id { reference: text, debtor } => {
            println!("{}", hash_to_hex(&receivable_id(&parse_account(&debtor)?, &reference(&text)?)));
            return Ok(());
        }
        FinanceCommand::Show { receivable: text } => return show(target, receivable(&text)?).await,
        FinanceCommand::Part { receivable: text, number } => {
            let client = target.client().await?;
            let Some(part) = client.receivable_part(receivable(&text)?, number).await? else {
                bail!("no such part");
            };
            if target.json {
                return print_json(&part);
            }
            print_part(&part);
            println!("as of height {}", part.height);
            return Ok(());
        }
        FinanceCommand::Trace { receivable: text, number } => {
            let trace = target.client().await?.receivable_trace(receivable(&text)?, number).await?;
            if target.json {
                return print_json(&trace);
            }
            if trace.is_empty() {
                bail!("no such part");
            }
            for part in &trace {
                print_part(part);
            }
            return Ok(());
        }
    };
    submit(target, Payload::Finance(op), signing).await
}

async fn show(target: &Target, id: Hash) -> anyhow::Result<()> {
    let Some(receivable) = target.client().await?.receivable(id).await? else { bail!("no such receivable") };
    if target.json {
        return print_json(&receivable);
    }
    println!("receivable   {}", hash_to_hex(&receivable.id));
    println!("debtor       {} (reference {})", receivable.debtor, receivable.reference);
    println!("supplier     {}", receivable.supplier);
    println!("amount       {} {}", receivable.amount, receivable.currency);
    println!("maturity     {} ms since the epoch", receivable.maturity_ms);
    if let Some(invoice) = receivable.invoice {
        println!("invoice      {invoice} of the supplier");
    }
    println!("parts        {} ({} settled)", receivable.parts, receivable.settled_parts);
    println!("settled      {} of {}", receivable.settled, receivable.amount);
    println!("as of height {}", receivable.height);
    Ok(())
}

fn print_part(part: &PartView) {
    let parent = part
        .parent
        .map_or_else(|| "the acknowledged payable".to_string(), |parent| format!("split from part {parent}"));
    println!("part {:<7} {} held by {}: {}, {parent}", part.number, part.amount, part.holder, part.status);
    if let Some(offer) = part.offer {
        println!("             offered to {} for {}", offer.bank, offer.price);
    }
    if let Some(financed) = part.financed {
        println!("             financed by {} for {}", financed.bank, financed.price);
    }
}
