//! A fungible token: fixed owner, minting by the owner, transfers, allowances.

#![no_std]

extern crate alloc;

use alloc::string::String;
use formica_contract::{Address, Codec, ContractError, Event, Item, Map, entry, env, init};

static NAME: Item<String> = Item::new(b"name");
static SYMBOL: Item<String> = Item::new(b"symbol");
static SUPPLY: Item<u128> = Item::new(b"supply");
static OWNER: Item<Address> = Item::new(b"owner");
static BALANCES: Map<Address, u128> = Map::new(b"balance");
static ALLOWANCES: Map<(Address, Address), u128> = Map::new(b"allowance");

/// Tokens moved (`from` is zero for a mint).
#[derive(Codec, Event)]
pub struct Transfer {
    #[topic]
    pub from: Address,
    #[topic]
    pub to: Address,
    pub amount: u128,
}

/// `owner` let `spender` move up to `amount` of its tokens.
#[derive(Codec, Event)]
pub struct Approval {
    #[topic]
    pub owner: Address,
    #[topic]
    pub spender: Address,
    pub amount: u128,
}

#[derive(ContractError)]
pub enum TokenError {
    InsufficientBalance,
    InsufficientAllowance,
    SupplyOverflow,
    NotOwner,
}

/// Creates the token; the deployer owns it and holds the initial supply.
#[init]
pub fn init(name: String, symbol: String, supply: u128) {
    let owner = env::caller();
    NAME.set(&name);
    SYMBOL.set(&symbol);
    OWNER.set(&owner);
    SUPPLY.set(&supply);
    BALANCES.set(&owner, &supply);
    env::emit(&Transfer { from: Address::default(), to: owner, amount: supply });
}

#[entry]
pub fn name() -> String {
    NAME.get_or_default()
}

#[entry]
pub fn symbol() -> String {
    SYMBOL.get_or_default()
}

#[entry]
pub fn total_supply() -> u128 {
    SUPPLY.get_or_default()
}

#[entry]
pub fn balance_of(account: Address) -> u128 {
    BALANCES.get_or_default(&account)
}

#[entry]
pub fn allowance(owner: Address, spender: Address) -> u128 {
    ALLOWANCES.get_or_default(&(owner, spender))
}

fn move_tokens(from: Address, to: Address, amount: u128) -> Result<(), TokenError> {
    let from_balance = BALANCES.get_or_default(&from);
    let remaining = from_balance.checked_sub(amount).ok_or(TokenError::InsufficientBalance)?;
    BALANCES.set(&from, &remaining);
    let to_balance = BALANCES.get_or_default(&to);
    // Cannot overflow: the supply bounds every balance, and the supply is checked at minting.
    BALANCES.set(&to, &(to_balance + amount));
    env::emit(&Transfer { from, to, amount });
    Ok(())
}

#[entry]
pub fn transfer(to: Address, amount: u128) -> Result<(), TokenError> {
    move_tokens(env::caller(), to, amount)
}

#[entry]
pub fn approve(spender: Address, amount: u128) {
    let owner = env::caller();
    ALLOWANCES.set(&(owner, spender), &amount);
    env::emit(&Approval { owner, spender, amount });
}

#[entry]
pub fn transfer_from(from: Address, to: Address, amount: u128) -> Result<(), TokenError> {
    let spender = env::caller();
    let allowed = ALLOWANCES.get_or_default(&(from, spender));
    let left = allowed.checked_sub(amount).ok_or(TokenError::InsufficientAllowance)?;
    ALLOWANCES.set(&(from, spender), &left);
    move_tokens(from, to, amount)
}

/// New tokens for `to`; only the owner may mint.
#[entry]
pub fn mint(to: Address, amount: u128) -> Result<(), TokenError> {
    if Some(env::caller()) != OWNER.get() {
        return Err(TokenError::NotOwner);
    }
    let supply = SUPPLY.get_or_default().checked_add(amount).ok_or(TokenError::SupplyOverflow)?;
    SUPPLY.set(&supply);
    BALANCES.set(&to, &(BALANCES.get_or_default(&to) + amount));
    env::emit(&Transfer { from: Address::default(), to, amount });
    Ok(())
}
