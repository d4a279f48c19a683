//! `formica invoice ...`: issue, accept, offer for financing, finance, pay and cancel digital
//! invoices, and read them by seller and number or by document hash (see `docs/modules.md`).

use crate::client::{Signing, Target, parse_account, parse_amount, print_json, submit};
use anyhow::{Context, bail};
use formica_types::{AccountId, Amount, Hash, InvoiceNumber, InvoiceOp, InvoiceTerms, Payload, Symbol, hash_from_hex};

#[derive(Debug, clap::Subcommand)]
pub enum InvoiceCommand {
    /// Issue an invoice to a buyer (the sender is the seller).
    Issue {
        /// Unique per seller: 1 to 32 of A-Z, a-z, 0-9, '-', '_', '/', '.'.
        number: String,
        #[arg(long)]
        buyer: String,
        /// The asset the invoice is paid in (`FMC`: the native asset).
        #[arg(long)]
        currency: String,
        /// The amount before tax, in the asset's smallest unit.
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "0")]
        tax: String,
        /// The hash of the seller's tax id (`0x` + 64 hex digits).
        #[arg(long)]
        seller_tax_id: String,
        /// The hash of the buyer's tax id.
        #[arg(long)]
        buyer_tax_id: String,
        /// When payment is due, milliseconds since the Unix epoch.
        #[arg(long)]
        due_ms: u64,
        /// The hash of the invoice document (registered once on the whole chain).
        #[arg(long)]
        document: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Accept an invoice as its buyer.
    Accept {
        number: String,
        #[arg(long)]
        seller: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Offer an accepted invoice to a financier for an advance (as its seller).
    Offer {
        number: String,
        #[arg(long)]
        financier: String,
        #[arg(long)]
        advance: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Finance an invoice offered to you: pays the advance to the seller, makes you the payee.
    Finance {
        number: String,
        #[arg(long)]
        seller: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Pay an invoice as its buyer: the total goes to the payee.
    Pay {
        number: String,
        #[arg(long)]
        seller: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Cancel an invoice that is neither financed nor paid (as its seller).
    Cancel {
        number: String,
        #[command(flatten)]
        signing: Signing,
    },
    /// Show an invoice by seller and number, or by document hash (`--document`).
    Show {
        number: Option<String>,
        #[arg(long)]
        seller: Option<String>,
        #[arg(long, conflicts_with_all = ["number", "seller"])]
        document: Option<String>,
    },
}

fn number(text: &str) -> anyhow::Result<InvoiceNumber> {
    InvoiceNumber::new(text).with_context(|| format!("invoice number {text:?}"))
}

fn hash(text: &str, what: &str) -> anyhow::Result<Hash> {
    hash_from_hex(text).with_context(|| format!("{what} {text:?} (0x + 64 hex digits)"))
}

fn account(text: &str) -> anyhow::Result<AccountId> {
    parse_account(text)
}

pub async fn run(target: &Target, command: InvoiceCommand) -> anyhow::Result<()> {
    let (op, signing) = match command {
        InvoiceCommand::Issue {
            number: text,
            buyer,
            currency,
            amount,
            tax,
            seller_tax_id,
            buyer_tax_id,
            due_ms,
            document,
            signing,
        } => {
            let terms = InvoiceTerms {
                number: number(&text)?,
                buyer: account(&buyer)?,
                currency: Symbol::new(&currency).with_context(|| format!("currency {currency:?}"))?,
                amount: parse_amount(&amount, "amount")?,
                tax: parse_amount(&tax, "tax")?,
                seller_tax_id: hash(&seller_tax_id, "seller tax id hash")?,
                buyer_tax_id: hash(&buyer_tax_id, "buyer tax id hash")?,
                due_ms,
                document: hash(&document, "document hash")?,
            };
            (InvoiceOp::Issue(terms), signing)
        }
        InvoiceCommand::Accept { number: text, seller, signing } => {
            (InvoiceOp::Accept { seller: account(&seller)?, number: number(&text)? }, signing)
        }
        InvoiceCommand::Offer { number: text, financier, advance, signing } => (
            InvoiceOp::Offer {
                number: number(&text)?,
                financier: account(&financier)?,
                advance: parse_amount(&advance, "advance")?,
            },
            signing,
        ),
        InvoiceCommand::Finance { number: text, seller, signing } => {
            (InvoiceOp::Finance { seller: account(&seller)?, number: number(&text)? }, signing)
        }
        InvoiceCommand::Pay { number: text, seller, signing } => {
            (InvoiceOp::Pay { seller: account(&seller)?, number: number(&text)? }, signing)
        }
        InvoiceCommand::Cancel { number: text, signing } => (InvoiceOp::Cancel { number: number(&text)? }, signing),
        InvoiceCommand::Show { number: text, seller, document } => {
            let client = target.client().await?;
            let invoice = match (text, seller, document) {
                (_, _, Some(document)) => client.invoice_by_document(hash(&document, "document hash")?).await?,
                (Some(text), Some(seller), None) => client.invoice(account(&seller)?, number(&text)?).await?,
                _ => bail!("name an invoice: NUMBER --seller ACCOUNT, or --document HASH"),
            };
            let Some(invoice) = invoice else { bail!("no such invoice") };
            if target.json {
                return print_json(&invoice);
            }
            println!("invoice      {} of {}", invoice.number, invoice.seller);
            println!("buyer        {}", invoice.buyer);
            let total = invoice.amount.checked_add(invoice.tax).unwrap_or(Amount(u128::MAX));
            println!("total        {total} {} ({} + tax {})", invoice.currency, invoice.amount, invoice.tax);
            println!("due          {} ms since the epoch", invoice.due_ms);
            println!("status       {}", invoice.status);
            if let Some(financier) = invoice.financier {
                println!("financier    {financier} (advance {})", invoice.advance);
            }
            println!("payee        {}", invoice.payee);
            println!("document     {}", formica_types::hash_to_hex(&invoice.document));
            println!("as of height {}", invoice.height);
            return Ok(());
        }
    };
    submit(target, Payload::Invoice(op), signing).await
}
