//! The assets module: tokens defined by accountable issuers (see [`formica_types::AssetOp`]).
//!
//! # Rules
//! - Only an account holding the issuer role defines an asset, and it becomes the asset's issuer.
//!   Symbols are unique; [`Symbol::NATIVE`] names the native asset and cannot be defined.
//! - The issuer attests the reserves backing the asset (amount and the hash of the report); every
//!   attestation is kept ([`Attestation`], numbered from 0). Minting needs the issuer role still
//!   held, and never takes the supply past the latest attested reserves or the asset's cap.
//! - The issuer burns from its own holding (holders redeem by transferring to the issuer). The
//!   issuer can pause the asset: no mint, burn or transfer until it resumes.
//! - A regulator freezes one account's holding: it can neither send nor receive the asset.
//! - For an allow-listed asset, only accounts the issuer allowed (and the issuer) may receive
//!   it; a holder who is no longer allowed can still send what it holds.
//! - Assets are held by accounts that exist; a holding record that carries nothing (zero
//!   balance, not frozen, not allowed) is deleted.
//! - The native asset is one asset among these: `Transfer` of [`Symbol::NATIVE`] is a native
//!   transfer (applied as `Payload::Transfer`); every other operation on it fails with
//!   `InvalidAsset`, because its supply is fixed at genesis and accounts are frozen with
//!   `Payload::Freeze`.
//!
//! # Invariant
//! `supply = minted - burned`, and the holdings of an asset sum to its supply (property-tested).

use super::{Scratch, record_keys, run};
use crate::transition::{Halt, StateOverlay, fail};
use formica_state::StateKey;
use formica_types::{
    ASSET_DECIMALS_MAX, AccountId, Amount, AssetOp, AssetRecord, Attestation, ContractEvent, FailureCode, Height,
    Holding, Module, Role, Symbol,
};

const MODULE: Module = Module::Assets;

/// The records an asset operation names (a native transfer is read as `Payload::Transfer`).
pub(crate) fn reads(sender: &AccountId, op: &AssetOp) -> Vec<StateKey> {
    let symbol = op.symbol();
    if symbol.is_native() {
        return match op {
            AssetOp::Transfer { to, .. } => vec![StateKey::Account(*to)],
            _ => Vec::new(),
        };
    }
    let mut reads = record_keys::<AssetRecord>(MODULE, &AssetRecord::key(&symbol));
    let holding = |account: &AccountId| record_keys::<Holding>(MODULE, &Holding::key(&symbol, account));
    match op {
        AssetOp::Define { .. } | AssetOp::Attest { .. } => reads.push(StateKey::Role(*sender, Role::Issuer)),
        AssetOp::Mint { to, .. } => {
            reads.push(StateKey::Role(*sender, Role::Issuer));
            reads.push(StateKey::Account(*to));
            reads.extend(holding(to));
        }
        AssetOp::Burn { .. } => reads.extend(holding(sender)),
        AssetOp::Transfer { to, .. } => {
            reads.push(StateKey::Account(*to));
            reads.extend(holding(sender));
            reads.extend(holding(to));
        }
        AssetOp::SetPaused { .. } => {}
        AssetOp::SetHoldingFrozen { account, .. } => {
            reads.push(StateKey::Role(*sender, Role::Regulator));
            reads.extend(holding(account));
        }
        AssetOp::SetAllowed { account, .. } => reads.extend(holding(account)),
    }
    reads
}

/// A symbol as an event topic: its bytes, zero-padded.
pub fn symbol_topic(symbol: &Symbol) -> [u8; 32] {
    super::event_topic(symbol.as_str())
}

/// Applies a (non-native-transfer) asset operation.
pub(crate) fn apply(
    height: Height,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    op: &AssetOp,
) -> Result<Vec<ContractEvent>, Halt> {
    let symbol = op.symbol();
    if symbol.is_native() {
        return fail(
            FailureCode::InvalidAsset,
            format!("{symbol} is the native asset: its supply is fixed at genesis and only transfers apply to it"),
        );
    }
    run(overlay, |s| match op {
        AssetOp::Define { decimals, cap, allow_list, .. } => {
            define(s, height, sender, symbol, *decimals, *cap, *allow_list)
        }
        AssetOp::Attest { reserves, reference, .. } => {
            let mut asset = issued_by(s, symbol, sender)?;
            require_issuer_role(s, sender)?;
            let attestation = Attestation { reserves: *reserves, reference: *reference, height };
            s.put_record(MODULE, &Attestation::key(&symbol, asset.attestations), Some(&attestation));
            asset.reserves = *reserves;
            asset.attestations += 1;
            s.put_record(MODULE, &AssetRecord::key(&symbol), Some(&asset));
            s.emit(MODULE, "asset.attested", &[symbol_topic(&symbol)], reserves.get().to_be_bytes().to_vec());
            Ok(())
        }
        AssetOp::Mint { to, amount, .. } => {
            let mut asset = issued_by(s, symbol, sender)?;
            require_issuer_role(s, sender)?;
            require_running(&asset)?;
            require_positive(*amount)?;
            let supply = asset.supply.checked_add(*amount).ok_or_else(overflow)?;
            if supply > asset.reserves {
                return fail(
                    FailureCode::ReservesExceeded,
                    format!(
                        "minting {amount} takes the supply to {supply}, past the attested reserves {}",
                        asset.reserves
                    ),
                );
            }
            if let Some(cap) = asset.cap.filter(|cap| supply > *cap) {
                return fail(
                    FailureCode::CapExceeded,
                    format!("minting {amount} takes the supply to {supply}, past the cap {cap}"),
                );
            }
            credit(s, &asset, to, *amount)?;
            asset.supply = supply;
            asset.minted = asset.minted.checked_add(*amount).ok_or_else(overflow)?;
            s.put_record(MODULE, &AssetRecord::key(&symbol), Some(&asset));
            s.emit(MODULE, "asset.minted", &[symbol_topic(&symbol), to.0], amount.get().to_be_bytes().to_vec());
            Ok(())
        }
        AssetOp::Burn { amount, .. } => {
            let mut asset = issued_by(s, symbol, sender)?;
            require_running(&asset)?;
            require_positive(*amount)?;
            debit(s, &symbol, sender, *amount)?;
            asset.supply = asset.supply.checked_sub(*amount).expect("holdings sum to the supply");
            asset.burned = asset.burned.checked_add(*amount).ok_or_else(overflow)?;
            s.put_record(MODULE, &AssetRecord::key(&symbol), Some(&asset));
            s.emit(MODULE, "asset.burned", &[symbol_topic(&symbol), sender.0], amount.get().to_be_bytes().to_vec());
            Ok(())
        }
        AssetOp::Transfer { to, amount, .. } => {
            let asset = existing(s, symbol)?;
            require_running(&asset)?;
            debit(s, &symbol, sender, *amount)?;
            credit(s, &asset, to, *amount)?;
            s.emit(
                MODULE,
                "asset.transferred",
                &[symbol_topic(&symbol), sender.0, to.0],
                amount.get().to_be_bytes().to_vec(),
            );
            Ok(())
        }
        AssetOp::SetPaused { paused, .. } => {
            let mut asset = issued_by(s, symbol, sender)?;
            if asset.paused == *paused {
                let state = if *paused { "paused already" } else { "not paused" };
                return fail(FailureCode::InvalidAsset, format!("{symbol} is {state}"));
            }
            asset.paused = *paused;
            s.put_record(MODULE, &AssetRecord::key(&symbol), Some(&asset));
            let name = if *paused { "asset.paused" } else { "asset.resumed" };
            s.emit(MODULE, name, &[symbol_topic(&symbol)], Vec::new());
            Ok(())
        }
        AssetOp::SetHoldingFrozen { account, frozen, .. } => {
            if !s.has_role(sender, Role::Regulator)? {
                return fail(FailureCode::NotPermitted, format!("{sender} does not hold the regulator role"));
            }
            existing(s, symbol)?;
            let mut holding = holding(s, &symbol, account)?;
            if holding.frozen == *frozen {
                let state = if *frozen { "frozen already" } else { "not frozen" };
                return fail(FailureCode::FreezeUnchanged, format!("the {symbol} holding of {account} is {state}"));
            }
            holding.frozen = *frozen;
            put_holding(s, &symbol, account, &holding);
            let name = if *frozen { "asset.holding_frozen" } else { "asset.holding_unfrozen" };
            s.emit(MODULE, name, &[symbol_topic(&symbol), account.0], Vec::new());
            Ok(())
        }
        AssetOp::SetAllowed { account, allowed, .. } => {
            let asset = issued_by(s, symbol, sender)?;
            if !asset.allow_list {
                return fail(FailureCode::InvalidAsset, format!("{symbol} does not need allow-listing"));
            }
            let mut holding = holding(s, &symbol, account)?;
            holding.allowed = *allowed;
            put_holding(s, &symbol, account, &holding);
            let name = if *allowed { "asset.allowed" } else { "asset.disallowed" };
            s.emit(MODULE, name, &[symbol_topic(&symbol), account.0], Vec::new());
            Ok(())
        }
    })
}

/// Moves `amount` of `symbol` from `from` to `to` for another module (an invoice payment, a
/// financing): a native transfer for [`Symbol::NATIVE`], otherwise an asset transfer with every
/// rule of [`AssetOp::Transfer`]. `from` must exist (it is the transaction's sender or was
/// checked by the caller). Emits no event: the calling module emits its own.
pub(crate) fn transfer(
    s: &mut Scratch<'_>,
    frozen_accounts_receive: bool,
    symbol: Symbol,
    from: &AccountId,
    to: &AccountId,
    amount: Amount,
) -> Result<(), Halt> {
    if !symbol.is_native() {
        let asset = existing(s, symbol)?;
        require_running(&asset)?;
        debit(s, &symbol, from, amount)?;
        return credit(s, &asset, to, amount);
    }
    let Some(mut recipient) = s.account(to)? else {
        return fail(FailureCode::RecipientMissing, format!("account {to} does not exist"));
    };
    if recipient.frozen && !frozen_accounts_receive && to != from {
        return fail(FailureCode::RecipientFrozen, format!("account {to} is frozen"));
    }
    let mut sender = s.account(from)?.expect("the paying account exists");
    sender.balance = sender.balance.checked_sub(amount).ok_or_else(|| {
        Halt::Fail(FailureCode::InsufficientBalance, format!("balance {} is below {amount}", sender.balance))
    })?;
    if to == from {
        return Ok(());
    }
    recipient.balance = recipient.balance.checked_add(amount).ok_or_else(overflow)?;
    s.set_account(*from, sender);
    s.set_account(*to, recipient);
    Ok(())
}

/// Moves `amount` of a (non-native) asset from `from` into `escrow`, an address a module derives
/// and no key controls (a charity campaign's): every rule of [`AssetOp::Transfer`] on the
/// paying side (a paused asset, a frozen holding, a short balance), and a frozen escrow holding
/// refuses it. The escrow is not an account and passes the funds on only to accounts the asset
/// admits, so it needs neither an account record nor allow-listing. Moving funds out of an
/// escrow is an ordinary [`transfer`] (its holding is debited like any other).
pub(crate) fn deposit_to_escrow(
    s: &mut Scratch<'_>,
    symbol: Symbol,
    from: &AccountId,
    escrow: &AccountId,
    amount: Amount,
) -> Result<(), Halt> {
    assert!(!symbol.is_native(), "escrows hold assets of the assets module only");
    let asset = existing(s, symbol)?;
    require_running(&asset)?;
    debit(s, &symbol, from, amount)?;
    add_to_holding(s, &symbol, escrow, amount)
}

/// The records a transfer of `symbol` from `from` to `to` reads (for another module's
/// [`Scratch::prefetch`](super::Scratch::prefetch)).
pub(crate) fn transfer_reads(symbol: &Symbol, from: &AccountId, to: &AccountId) -> Vec<StateKey> {
    let mut reads = vec![StateKey::Account(*from), StateKey::Account(*to)];
    if !symbol.is_native() {
        reads.extend(record_keys::<AssetRecord>(MODULE, &AssetRecord::key(symbol)));
        reads.extend(record_keys::<Holding>(MODULE, &Holding::key(symbol, from)));
        reads.extend(record_keys::<Holding>(MODULE, &Holding::key(symbol, to)));
    }
    reads
}

/// What `account` holds of `symbol` (its balance, for the native asset; zero for an account
/// that does not exist).
pub(crate) fn balance(s: &Scratch<'_>, symbol: &Symbol, account: &AccountId) -> Result<Amount, Halt> {
    if symbol.is_native() {
        return Ok(s.account(account)?.map_or(Amount::ZERO, |account| account.balance));
    }
    Ok(holding(s, symbol, account)?.balance)
}

/// Whether an asset exists (the native one always does).
pub(crate) fn exists(s: &Scratch<'_>, symbol: Symbol) -> Result<bool, Halt> {
    Ok(symbol.is_native() || s.record::<AssetRecord>(MODULE, &AssetRecord::key(&symbol))?.is_some())
}

fn define(
    s: &mut Scratch<'_>,
    height: Height,
    sender: &AccountId,
    symbol: Symbol,
    decimals: u8,
    cap: Option<Amount>,
    allow_list: bool,
) -> Result<(), Halt> {
    require_issuer_role(s, sender)?;
    if decimals > ASSET_DECIMALS_MAX {
        return fail(FailureCode::InvalidAsset, format!("an asset has at most {ASSET_DECIMALS_MAX} decimals"));
    }
    if cap == Some(Amount::ZERO) {
        return fail(FailureCode::InvalidAsset, "a cap must be above zero");
    }
    if s.record::<AssetRecord>(MODULE, &AssetRecord::key(&symbol))?.is_some() {
        return fail(FailureCode::AssetExists, format!("asset {symbol} exists already"));
    }
    let asset = AssetRecord {
        symbol,
        decimals,
        issuer: *sender,
        cap,
        allow_list,
        paused: false,
        supply: Amount::ZERO,
        minted: Amount::ZERO,
        burned: Amount::ZERO,
        reserves: Amount::ZERO,
        attestations: 0,
        defined_at: height,
    };
    s.put_record(MODULE, &AssetRecord::key(&symbol), Some(&asset));
    s.emit(MODULE, "asset.defined", &[symbol_topic(&symbol), sender.0], vec![decimals]);
    Ok(())
}

fn overflow() -> Halt {
    Halt::Fail(FailureCode::BalanceOverflow, "the amount would overflow".into())
}

fn existing(s: &Scratch<'_>, symbol: Symbol) -> Result<AssetRecord, Halt> {
    match s.record::<AssetRecord>(MODULE, &AssetRecord::key(&symbol))? {
        Some(asset) => Ok(asset),
        None => fail(FailureCode::AssetMissing, format!("no asset has the symbol {symbol}")),
    }
}

fn issued_by(s: &Scratch<'_>, symbol: Symbol, sender: &AccountId) -> Result<AssetRecord, Halt> {
    let asset = existing(s, symbol)?;
    if asset.issuer != *sender {
        return fail(FailureCode::NotPermitted, format!("only the issuer of {symbol}, {}, may do this", asset.issuer));
    }
    Ok(asset)
}

fn require_issuer_role(s: &Scratch<'_>, sender: &AccountId) -> Result<(), Halt> {
    if s.has_role(sender, Role::Issuer)? {
        Ok(())
    } else {
        fail(FailureCode::NotPermitted, format!("{sender} does not hold the issuer role"))
    }
}

fn require_running(asset: &AssetRecord) -> Result<(), Halt> {
    if asset.paused { fail(FailureCode::AssetPaused, format!("{} is paused", asset.symbol)) } else { Ok(()) }
}

fn require_positive(amount: Amount) -> Result<(), Halt> {
    if amount == Amount::ZERO { fail(FailureCode::InvalidAsset, "the amount must be above zero") } else { Ok(()) }
}

fn holding(s: &Scratch<'_>, symbol: &Symbol, account: &AccountId) -> Result<Holding, Halt> {
    Ok(s.record::<Holding>(MODULE, &Holding::key(symbol, account))?.unwrap_or_default())
}

fn put_holding(s: &mut Scratch<'_>, symbol: &Symbol, account: &AccountId, holding: &Holding) {
    let record = (!holding.is_empty()).then_some(holding);
    s.put_record(MODULE, &Holding::key(symbol, account), record);
}

fn debit(s: &mut Scratch<'_>, symbol: &Symbol, account: &AccountId, amount: Amount) -> Result<(), Halt> {
    let mut holding = holding(s, symbol, account)?;
    if holding.frozen {
        return fail(FailureCode::HoldingFrozen, format!("the {symbol} holding of {account} is frozen"));
    }
    holding.balance = holding.balance.checked_sub(amount).ok_or_else(|| {
        Halt::Fail(FailureCode::InsufficientBalance, format!("{symbol} balance {} is below {amount}", holding.balance))
    })?;
    put_holding(s, symbol, account, &holding);
    Ok(())
}

fn credit(s: &mut Scratch<'_>, asset: &AssetRecord, to: &AccountId, amount: Amount) -> Result<(), Halt> {
    let symbol = asset.symbol;
    if s.account(to)?.is_none() {
        return fail(FailureCode::RecipientMissing, format!("account {to} does not exist"));
    }
    let holding = holding(s, &symbol, to)?;
    if holding.frozen {
        return fail(FailureCode::HoldingFrozen, format!("the {symbol} holding of {to} is frozen"));
    }
    if asset.allow_list && !holding.allowed && *to != asset.issuer {
        return fail(FailureCode::NotAllowListed, format!("{to} is not allowed to hold {symbol}"));
    }
    add_to_holding(s, &symbol, to, amount)
}

fn add_to_holding(s: &mut Scratch<'_>, symbol: &Symbol, to: &AccountId, amount: Amount) -> Result<(), Halt> {
    let mut holding = holding(s, symbol, to)?;
    if holding.frozen {
        return fail(FailureCode::HoldingFrozen, format!("the {symbol} holding of {to} is frozen"));
    }
    holding.balance = holding.balance.checked_add(amount).ok_or_else(overflow)?;
    put_holding(s, symbol, to, &holding);
    Ok(())
}
