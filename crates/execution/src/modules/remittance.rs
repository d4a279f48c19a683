//! The remittance module: cross-border transfers through corridors, quoted, screened and settled
//! atomically (see [`formica_types::RemittanceOp`]).
//!
//! # Rules
//! - Only an account holding the regulator role defines a corridor (its participants, assets,
//!   fee and limits) and opens or closes it: a corridor is a licence to move money between two
//!   wallet organisations through a named settlement institution, which is a regulator's call,
//!   not one participant's. The participants and both assets must exist; the fee shares must
//!   name distinct accounts and sum to 10,000 basis points (none for a corridor without a fee);
//!   the limits must be above zero with the per-transfer limit at most the per-day limit.
//! - Only the corridor's compliance account sets its limits and lists or delists sanctioned
//!   accounts; the list belongs to the compliance account, so it applies to every corridor that
//!   account serves.
//! - Only the corridor's sending wallet requests a remittance, for a sender (its customer) and a
//!   recipient that exist, of a source amount above zero, under a reference it has not used
//!   (→ requested). The corridor must be open.
//! - Only the FX provider quotes a requested or quoted remittance (a new quote replaces the
//!   last): a rate above zero, an expiry after the block's time; the fee is the corridor's
//!   schedule at that moment and the destination amount `amount * rate / 10^8`, rounded down,
//!   must be above zero (→ quoted).
//! - Only the sender accepts a quoted remittance, before the quote expires (an expired quote
//!   fails with `QuoteExpired` and the provider may quote again), through an open corridor.
//!   Compliance runs in the same transaction: neither party sanctioned, the amount within the
//!   per-transfer limit and, with what the sender sent through the corridor earlier that day,
//!   within the per-day limit; and the settlement account holds the destination amount. If any
//!   check fails the remittance is rejected with the reason kept in its record (the transaction
//!   succeeds, moves nothing, and emits `remittance.rejected`). Otherwise it settles: the amount
//!   moves from the sender to the settlement account, the fee from the sender to the fee
//!   recipients, and the destination amount from the settlement account to the recipient, all
//!   under the assets module's rules (a paused asset, a frozen holding, an allow-list or a
//!   sender short of funds fail the whole transaction, which leaves the remittance quoted).
//! - Only the recipient, the receiving wallet or the settlement account refunds a settled
//!   remittance: the refunder returns the destination amount to the settlement account, which
//!   returns the amount to the sender. Fees are kept (they paid for a service rendered), and the
//!   day's usage is not given back (the limit counts what was sent).
//! - Every other transition fails with `RemittanceState`; a party that may not act fails with
//!   `NotPermitted`.
//!
//! # Reads
//! An operation names its corridor or its remittance up front. Acceptance and refund find the
//! corridor through the remittance and then prefetch every record the checks and transfers
//! touch at once, so they take at most two read rounds beyond the first.

use super::{Scratch, assets, event_topic, record_keys, run};
use crate::transition::{Halt, StateOverlay, fail};
use formica_state::StateKey;
use formica_types::{
    AccountId, Amount, BASIS_POINTS, ContractEvent, CorridorId, CorridorRecord, CorridorTerms, DAY_MS, DailyUsage,
    FailureCode, Height, Module, Quote, RejectReason, RemittanceId, RemittanceOp, RemittanceRecord, RemittanceStatus,
    Role, SanctionEntry, remittance_id,
};

const MODULE: Module = Module::Remittance;

/// The records a remittance operation names.
pub(crate) fn reads(sender: &AccountId, op: &RemittanceOp) -> Vec<StateKey> {
    let corridor = |id: &CorridorId| record_keys::<CorridorRecord>(MODULE, &CorridorRecord::key(id));
    let remittance = |id: &RemittanceId| record_keys::<RemittanceRecord>(MODULE, &RemittanceRecord::key(id));
    match op {
        RemittanceOp::DefineCorridor(terms) => {
            let mut reads = corridor(&terms.id);
            reads.push(StateKey::Role(*sender, Role::Regulator));
            reads.extend(participants(terms).into_iter().map(StateKey::Account));
            for symbol in [terms.source, terms.destination].into_iter().filter(|symbol| !symbol.is_native()) {
                reads.extend(record_keys::<formica_types::AssetRecord>(
                    Module::Assets,
                    &formica_types::AssetRecord::key(&symbol),
                ));
            }
            reads
        }
        RemittanceOp::SetCorridorActive { corridor: id, .. } => {
            let mut reads = corridor(id);
            reads.push(StateKey::Role(*sender, Role::Regulator));
            reads
        }
        RemittanceOp::SetLimits { corridor: id, .. } => corridor(id),
        RemittanceOp::SetSanctioned { corridor: id, account, .. } => {
            // The sender should be the corridor's compliance account: its list entry is named.
            let mut reads = corridor(id);
            reads.extend(record_keys::<SanctionEntry>(MODULE, &SanctionEntry::key(sender, account)));
            reads
        }
        RemittanceOp::Request { corridor: id, reference, sender: payer, recipient, .. } => {
            let mut reads = corridor(id);
            reads.extend(remittance(&remittance_id(sender, *reference)));
            reads.extend([StateKey::Account(*payer), StateKey::Account(*recipient)]);
            reads
        }
        RemittanceOp::Quote { id, .. } | RemittanceOp::Accept { id } | RemittanceOp::Refund { id } => remittance(id),
    }
}

/// Every account a corridor names.
fn participants(terms: &CorridorTerms) -> Vec<AccountId> {
    let mut accounts =
        vec![terms.sending_wallet, terms.receiving_wallet, terms.settlement, terms.fx_provider, terms.compliance];
    accounts.extend(terms.fee_shares.0.iter().map(|(account, _)| *account));
    accounts
}

fn amount_data(amounts: &[Amount]) -> Vec<u8> {
    amounts.iter().flat_map(|amount| amount.get().to_be_bytes()).collect()
}

/// Applies a remittance operation in a block at `height` with timestamp `timestamp_ms`.
pub(crate) fn apply(
    height: Height,
    timestamp_ms: u64,
    frozen_accounts_receive: bool,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    op: &RemittanceOp,
) -> Result<Vec<ContractEvent>, Halt> {
    run(overlay, |s| match op {
        RemittanceOp::DefineCorridor(terms) => define(s, height, sender, terms),
        RemittanceOp::SetCorridorActive { corridor: id, active } => {
            require_regulator(s, sender)?;
            let mut corridor = existing_corridor(s, id)?;
            if corridor.active == *active {
                let state = if *active { "open already" } else { "closed already" };
                return fail(FailureCode::InvalidCorridor, format!("corridor {id} is {state}"));
            }
            corridor.active = *active;
            let name = if *active { "remittance.corridor_opened" } else { "remittance.corridor_closed" };
            save_corridor(s, height, &mut corridor, name, &[sender.0], Vec::new());
            Ok(())
        }
        RemittanceOp::SetLimits { corridor: id, per_transfer_max, daily_max } => {
            let mut corridor = existing_corridor(s, id)?;
            require_compliance(&corridor, sender)?;
            check_limits(*per_transfer_max, *daily_max)?;
            corridor.terms.per_transfer_max = *per_transfer_max;
            corridor.terms.daily_max = *daily_max;
            let data = amount_data(&[*per_transfer_max, *daily_max]);
            save_corridor(s, height, &mut corridor, "remittance.limits_set", &[], data);
            Ok(())
        }
        RemittanceOp::SetSanctioned { corridor: id, account, sanctioned } => {
            let corridor = existing_corridor(s, id)?;
            require_compliance(&corridor, sender)?;
            let key = SanctionEntry::key(sender, account);
            let listed = s.record::<SanctionEntry>(MODULE, &key)?.is_some();
            if listed == *sanctioned {
                let state = if listed { "on the sanctions list already" } else { "not on the sanctions list" };
                return fail(FailureCode::SanctionUnchanged, format!("{account} is {state}"));
            }
            let entry = SanctionEntry { corridor: *id, listed_at: height };
            s.put_record(MODULE, &key, sanctioned.then_some(&entry));
            let name = if *sanctioned { "remittance.sanctioned" } else { "remittance.unsanctioned" };
            s.emit(MODULE, name, &[event_topic(id.as_str()), sender.0, account.0], Vec::new());
            Ok(())
        }
        RemittanceOp::Request { corridor: id, reference, sender: payer, recipient, amount } => {
            request(s, height, sender, id, *reference, payer, recipient, *amount)
        }
        RemittanceOp::Quote { id, rate, expires_ms } => quote(s, height, timestamp_ms, sender, id, *rate, *expires_ms),
        RemittanceOp::Accept { id } => accept(s, height, timestamp_ms, frozen_accounts_receive, sender, id),
        RemittanceOp::Refund { id } => refund(s, height, frozen_accounts_receive, sender, id),
    })
}

fn define(s: &mut Scratch<'_>, height: Height, sender: &AccountId, terms: &CorridorTerms) -> Result<(), Halt> {
    require_regulator(s, sender)?;
    if s.record::<CorridorRecord>(MODULE, &CorridorRecord::key(&terms.id))?.is_some() {
        return fail(FailureCode::CorridorExists, format!("corridor {} exists already", terms.id));
    }
    for symbol in [terms.source, terms.destination] {
        if !assets::exists(s, symbol)? {
            return fail(FailureCode::AssetMissing, format!("no asset has the symbol {symbol}"));
        }
    }
    for account in participants(terms) {
        if s.account(&account)?.is_none() {
            return fail(FailureCode::AccountMissing, format!("account {account} does not exist"));
        }
    }
    if terms.fee_bps > BASIS_POINTS {
        return fail(
            FailureCode::InvalidCorridor,
            format!("a fee of {} basis points is above the whole", terms.fee_bps),
        );
    }
    if !terms.fee_shares.valid() {
        return fail(
            FailureCode::InvalidCorridor,
            "fee shares name at most four distinct accounts, each above zero, summing to 10000 basis points",
        );
    }
    let charges = terms.fee_flat > Amount::ZERO || terms.fee_bps > 0;
    if charges && terms.fee_shares.0.is_empty() {
        return fail(FailureCode::InvalidCorridor, "a corridor that charges a fee names who receives it");
    }
    check_limits(terms.per_transfer_max, terms.daily_max)?;
    let mut corridor = CorridorRecord {
        terms: terms.clone(),
        active: true,
        regulator: *sender,
        defined_at: height,
        updated_at: height,
    };
    let data = [terms.source.as_str().as_bytes(), b"/", terms.destination.as_str().as_bytes()].concat();
    save_corridor(s, height, &mut corridor, "remittance.corridor_defined", &[sender.0], data);
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one operation's fields, named as in `RemittanceOp::Request`
fn request(
    s: &mut Scratch<'_>,
    height: Height,
    wallet: &AccountId,
    id: &CorridorId,
    reference: u64,
    payer: &AccountId,
    recipient: &AccountId,
    amount: Amount,
) -> Result<(), Halt> {
    let corridor = existing_corridor(s, id)?;
    if corridor.terms.sending_wallet != *wallet {
        return fail(
            FailureCode::NotPermitted,
            format!("only the sending wallet of {id}, {}, requests remittances", corridor.terms.sending_wallet),
        );
    }
    require_open(&corridor)?;
    if amount == Amount::ZERO {
        return fail(FailureCode::InvalidRemittance, "the amount must be above zero");
    }
    for (role, account) in [("sender", payer), ("recipient", recipient)] {
        if s.account(account)?.is_none() {
            return fail(FailureCode::AccountMissing, format!("the {role} {account} does not exist"));
        }
    }
    let remittance_id = remittance_id(wallet, reference);
    let key = RemittanceRecord::key(&remittance_id);
    if s.record::<RemittanceRecord>(MODULE, &key)?.is_some() {
        return fail(FailureCode::RemittanceExists, format!("{wallet} has used reference {reference} already"));
    }
    let mut remittance = RemittanceRecord {
        id: remittance_id,
        corridor: *id,
        wallet: *wallet,
        reference,
        sender: *payer,
        recipient: *recipient,
        amount,
        status: RemittanceStatus::Requested,
        quote: None,
        reason: None,
        requested_at: height,
        updated_at: height,
    };
    save(s, height, &mut remittance, "remittance.requested", amount_data(&[amount]));
    Ok(())
}

fn quote(
    s: &mut Scratch<'_>,
    height: Height,
    timestamp_ms: u64,
    sender: &AccountId,
    id: &RemittanceId,
    rate: u128,
    expires_ms: u64,
) -> Result<(), Halt> {
    let mut remittance = existing(s, id)?;
    let corridor = existing_corridor(s, &remittance.corridor)?;
    if corridor.terms.fx_provider != *sender {
        return fail(
            FailureCode::NotPermitted,
            format!("only the FX provider of {}, {}, quotes", corridor.terms.id, corridor.terms.fx_provider),
        );
    }
    require_status(&remittance, &[RemittanceStatus::Requested, RemittanceStatus::Quoted], "quoted")?;
    require_open(&corridor)?;
    if rate == 0 {
        return fail(FailureCode::InvalidRemittance, "the rate must be above zero");
    }
    if expires_ms <= timestamp_ms {
        return fail(FailureCode::InvalidRemittance, "a quote must expire after the block's time");
    }
    let invalid = |what: &str| Halt::Fail(FailureCode::InvalidRemittance, format!("{what} overflows"));
    let destination_amount =
        Quote::destination_amount(remittance.amount, rate).ok_or_else(|| invalid("the destination amount"))?;
    if destination_amount == Amount::ZERO {
        return fail(FailureCode::InvalidRemittance, "at this rate the recipient would receive nothing");
    }
    let fee = corridor.terms.fee(remittance.amount).ok_or_else(|| invalid("the fee"))?;
    remittance.amount.checked_add(fee).ok_or_else(|| invalid("the amount plus the fee"))?;
    let quote = Quote { rate, fee, destination_amount, expires_ms, quoted_at: height };
    remittance.quote = Some(quote);
    remittance.status = RemittanceStatus::Quoted;
    let mut data = amount_data(&[Amount(rate), fee, destination_amount]);
    data.extend_from_slice(&expires_ms.to_be_bytes());
    save(s, height, &mut remittance, "remittance.quoted", data);
    Ok(())
}

fn accept(
    s: &mut Scratch<'_>,
    height: Height,
    timestamp_ms: u64,
    frozen_accounts_receive: bool,
    sender: &AccountId,
    id: &RemittanceId,
) -> Result<(), Halt> {
    let mut remittance = existing(s, id)?;
    if remittance.sender != *sender {
        return fail(FailureCode::NotPermitted, format!("only the sender, {}, accepts", remittance.sender));
    }
    require_status(&remittance, &[RemittanceStatus::Quoted], "accepted")?;
    let quote = remittance.quote.expect("a quoted remittance has a quote");
    let corridor = existing_corridor(s, &remittance.corridor)?;
    require_open(&corridor)?;
    if timestamp_ms >= quote.expires_ms {
        return fail(
            FailureCode::QuoteExpired,
            format!("the quote expired at {} ms; ask the FX provider for a new one", quote.expires_ms),
        );
    }
    let terms = &corridor.terms;
    let fees = terms.fee_shares.split(quote.fee);
    let usage_key = DailyUsage::key(&terms.id, &remittance.sender);
    let sanction_key = |account: &AccountId| SanctionEntry::key(&terms.compliance, account);
    let mut reads = record_keys::<DailyUsage>(MODULE, &usage_key);
    for account in [remittance.sender, remittance.recipient] {
        reads.extend(record_keys::<SanctionEntry>(MODULE, &sanction_key(&account)));
    }
    reads.extend(assets::transfer_reads(&terms.source, &remittance.sender, &terms.settlement));
    for (recipient, _) in &fees {
        reads.extend(assets::transfer_reads(&terms.source, &remittance.sender, recipient));
    }
    reads.extend(assets::transfer_reads(&terms.destination, &terms.settlement, &remittance.recipient));
    s.prefetch(reads)?;

    let day = timestamp_ms / DAY_MS;
    let usage = s.record::<DailyUsage>(MODULE, &usage_key)?.unwrap_or_default();
    let sent_today = usage.sent_on(day).checked_add(remittance.amount);
    let reason = if s.record::<SanctionEntry>(MODULE, &sanction_key(&remittance.sender))?.is_some() {
        Some(RejectReason::SenderSanctioned)
    } else if s.record::<SanctionEntry>(MODULE, &sanction_key(&remittance.recipient))?.is_some() {
        Some(RejectReason::RecipientSanctioned)
    } else if remittance.amount > terms.per_transfer_max {
        Some(RejectReason::OverTransferLimit)
    } else if sent_today.is_none_or(|sent| sent > terms.daily_max) {
        Some(RejectReason::OverDailyLimit)
    } else if assets::balance(s, &terms.destination, &terms.settlement)? < quote.destination_amount {
        Some(RejectReason::InsufficientLiquidity)
    } else {
        None
    };
    if let Some(reason) = reason {
        remittance.status = RemittanceStatus::Rejected;
        remittance.reason = Some(reason);
        save(s, height, &mut remittance, "remittance.rejected", vec![reason.code()]);
        return Ok(());
    }

    let receive = frozen_accounts_receive;
    assets::transfer(s, receive, terms.source, &remittance.sender, &terms.settlement, remittance.amount)?;
    for (recipient, part) in fees.into_iter().filter(|(_, part)| *part > Amount::ZERO) {
        assets::transfer(s, receive, terms.source, &remittance.sender, &recipient, part)?;
    }
    let destination_amount = quote.destination_amount;
    assets::transfer(s, receive, terms.destination, &terms.settlement, &remittance.recipient, destination_amount)?;
    let sent = sent_today.expect("checked against the per-day limit");
    s.put_record(MODULE, &usage_key, Some(&DailyUsage { day, sent }));
    remittance.status = RemittanceStatus::Settled;
    let data = amount_data(&[remittance.amount, quote.fee, destination_amount]);
    save(s, height, &mut remittance, "remittance.settled", data);
    Ok(())
}

fn refund(
    s: &mut Scratch<'_>,
    height: Height,
    frozen_accounts_receive: bool,
    sender: &AccountId,
    id: &RemittanceId,
) -> Result<(), Halt> {
    let mut remittance = existing(s, id)?;
    let corridor = existing_corridor(s, &remittance.corridor)?;
    let terms = &corridor.terms;
    if ![remittance.recipient, terms.receiving_wallet, terms.settlement].contains(sender) {
        return fail(
            FailureCode::NotPermitted,
            "only the recipient, the receiving wallet or the settlement account refunds a remittance",
        );
    }
    require_status(&remittance, &[RemittanceStatus::Settled], "refunded")?;
    let quote = remittance.quote.expect("a settled remittance has a quote");
    let mut reads = assets::transfer_reads(&terms.destination, sender, &terms.settlement);
    reads.extend(assets::transfer_reads(&terms.source, &terms.settlement, &remittance.sender));
    s.prefetch(reads)?;
    let receive = frozen_accounts_receive;
    assets::transfer(s, receive, terms.destination, sender, &terms.settlement, quote.destination_amount)?;
    assets::transfer(s, receive, terms.source, &terms.settlement, &remittance.sender, remittance.amount)?;
    remittance.status = RemittanceStatus::Refunded;
    let data = amount_data(&[remittance.amount, quote.destination_amount]);
    save(s, height, &mut remittance, "remittance.refunded", data);
    Ok(())
}

fn check_limits(per_transfer_max: Amount, daily_max: Amount) -> Result<(), Halt> {
    if per_transfer_max == Amount::ZERO || per_transfer_max > daily_max {
        return fail(
            FailureCode::InvalidCorridor,
            "the per-transfer limit must be above zero and at most the per-day limit",
        );
    }
    Ok(())
}

fn require_regulator(s: &Scratch<'_>, sender: &AccountId) -> Result<(), Halt> {
    if s.has_role(sender, Role::Regulator)? {
        Ok(())
    } else {
        fail(FailureCode::NotPermitted, format!("{sender} does not hold the regulator role"))
    }
}

fn require_compliance(corridor: &CorridorRecord, sender: &AccountId) -> Result<(), Halt> {
    if corridor.terms.compliance == *sender {
        Ok(())
    } else {
        fail(
            FailureCode::NotPermitted,
            format!("only the compliance account of {}, {}, may do this", corridor.terms.id, corridor.terms.compliance),
        )
    }
}

fn require_open(corridor: &CorridorRecord) -> Result<(), Halt> {
    if corridor.active {
        Ok(())
    } else {
        fail(FailureCode::CorridorInactive, format!("corridor {} is closed", corridor.terms.id))
    }
}

fn existing_corridor(s: &Scratch<'_>, id: &CorridorId) -> Result<CorridorRecord, Halt> {
    match s.record::<CorridorRecord>(MODULE, &CorridorRecord::key(id))? {
        Some(corridor) => Ok(corridor),
        None => fail(FailureCode::CorridorMissing, format!("no corridor is named {id}")),
    }
}

fn existing(s: &Scratch<'_>, id: &RemittanceId) -> Result<RemittanceRecord, Halt> {
    match s.record::<RemittanceRecord>(MODULE, &RemittanceRecord::key(id))? {
        Some(remittance) => Ok(remittance),
        None => fail(FailureCode::RemittanceMissing, format!("no remittance has the id {}", hex(id))),
    }
}

fn hex(id: &RemittanceId) -> String {
    formica_types::hash_to_hex(id)
}

fn require_status(remittance: &RemittanceRecord, allowed: &[RemittanceStatus], becoming: &str) -> Result<(), Halt> {
    if allowed.contains(&remittance.status) {
        Ok(())
    } else {
        fail(
            FailureCode::RemittanceState,
            format!("remittance {} is {} and cannot be {becoming}", hex(&remittance.id), remittance.status),
        )
    }
}

fn save_corridor(
    s: &mut Scratch<'_>,
    height: Height,
    corridor: &mut CorridorRecord,
    event: &str,
    topics: &[[u8; 32]],
    data: Vec<u8>,
) {
    corridor.updated_at = height;
    s.put_record(MODULE, &CorridorRecord::key(&corridor.terms.id), Some(&*corridor));
    let topics: Vec<[u8; 32]> =
        std::iter::once(event_topic(corridor.terms.id.as_str())).chain(topics.iter().copied()).collect();
    s.emit(MODULE, event, &topics, data);
}

/// Writes the remittance and emits `event`: topic 1 is the id, topics 2 and 3 the sender and the
/// recipient, so both ends can follow it.
fn save(s: &mut Scratch<'_>, height: Height, remittance: &mut RemittanceRecord, event: &str, data: Vec<u8>) {
    remittance.updated_at = height;
    s.put_record(MODULE, &RemittanceRecord::key(&remittance.id), Some(&*remittance));
    let id: [u8; 32] = remittance.id.as_ref().try_into().expect("a hash is 32 bytes");
    s.emit(MODULE, event, &[id, remittance.sender.0, remittance.recipient.0], data);
}
