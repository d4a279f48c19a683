//! A multi-party escrow of native value: a depositor locks value for a beneficiary; it is released
//! when enough arbiters approve before the deadline, and refundable to the depositor after it.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use formica_contract::{Address, Codec, ContractError, Event, Map, entry, env};

/// Most arbiters one escrow may name.
pub const ARBITERS_MAX: usize = 16;

#[derive(Clone, Copy, Codec, PartialEq, Eq)]
pub enum Status {
    Open,
    Released,
    Refunded,
}

#[derive(Clone, Codec)]
pub struct Escrow {
    pub depositor: Address,
    pub beneficiary: Address,
    pub amount: u128,
    pub arbiters: Vec<Address>,
    pub approvals_needed: u8,
    pub approvals: Vec<Address>,
    /// Block time (ms) after which approvals stop and a refund is possible.
    pub deadline_ms: u64,
    pub status: Status,
}

static ESCROWS: Map<u64, Escrow> = Map::new(b"escrow");

#[derive(Codec, Event)]
pub struct Opened {
    #[topic]
    pub id: u64,
    #[topic]
    pub beneficiary: Address,
    pub amount: u128,
}

#[derive(Codec, Event)]
pub struct Approved {
    #[topic]
    pub id: u64,
    #[topic]
    pub arbiter: Address,
}

#[derive(Codec, Event)]
pub struct Released {
    #[topic]
    pub id: u64,
    pub amount: u128,
}

#[derive(Codec, Event)]
pub struct Refunded {
    #[topic]
    pub id: u64,
    pub amount: u128,
}

#[derive(ContractError)]
pub enum EscrowError {
    EscrowExists,
    EscrowMissing,
    NoValue,
    InvalidArbiters,
    DeadlinePassed,
    DeadlineNotReached,
    NotArbiter,
    AlreadyApproved,
    NotOpen,
    NotDepositor,
    TransferFailed,
}

/// Opens escrow `id` holding the value sent with this call.
#[entry]
pub fn open(
    id: u64,
    beneficiary: Address,
    arbiters: Vec<Address>,
    approvals_needed: u8,
    deadline_ms: u64,
) -> Result<(), EscrowError> {
    if ESCROWS.contains(&id) {
        return Err(EscrowError::EscrowExists);
    }
    let amount = env::value();
    if amount == 0 {
        return Err(EscrowError::NoValue);
    }
    let distinct = arbiters.iter().enumerate().all(|(index, arbiter)| !arbiters[..index].contains(arbiter));
    if arbiters.is_empty()
        || arbiters.len() > ARBITERS_MAX
        || !distinct
        || approvals_needed == 0
        || usize::from(approvals_needed) > arbiters.len()
    {
        return Err(EscrowError::InvalidArbiters);
    }
    if deadline_ms <= env::block_timestamp_ms() {
        return Err(EscrowError::DeadlinePassed);
    }
    let escrow = Escrow {
        depositor: env::caller(),
        beneficiary,
        amount,
        arbiters,
        approvals_needed,
        approvals: Vec::new(),
        deadline_ms,
        status: Status::Open,
    };
    ESCROWS.set(&id, &escrow);
    env::emit(&Opened { id, beneficiary, amount });
    Ok(())
}

fn open_escrow(id: u64) -> Result<Escrow, EscrowError> {
    let escrow = ESCROWS.get(&id).ok_or(EscrowError::EscrowMissing)?;
    if escrow.status != Status::Open {
        return Err(EscrowError::NotOpen);
    }
    Ok(escrow)
}

/// An arbiter approves; the last approval needed releases the value to the beneficiary.
#[entry]
pub fn approve(id: u64) -> Result<Status, EscrowError> {
    let mut escrow = open_escrow(id)?;
    if env::block_timestamp_ms() >= escrow.deadline_ms {
        return Err(EscrowError::DeadlinePassed);
    }
    let arbiter = env::caller();
    if !escrow.arbiters.contains(&arbiter) {
        return Err(EscrowError::NotArbiter);
    }
    if escrow.approvals.contains(&arbiter) {
        return Err(EscrowError::AlreadyApproved);
    }
    escrow.approvals.push(arbiter);
    env::emit(&Approved { id, arbiter });
    if escrow.approvals.len() >= usize::from(escrow.approvals_needed) {
        env::transfer(&escrow.beneficiary, escrow.amount).map_err(|_| EscrowError::TransferFailed)?;
        escrow.status = Status::Released;
        env::emit(&Released { id, amount: escrow.amount });
    }
    ESCROWS.set(&id, &escrow);
    Ok(escrow.status)
}

/// After the deadline, the depositor takes back an escrow that was not released.
#[entry]
pub fn refund(id: u64) -> Result<(), EscrowError> {
    let mut escrow = open_escrow(id)?;
    if env::caller() != escrow.depositor {
        return Err(EscrowError::NotDepositor);
    }
    if env::block_timestamp_ms() < escrow.deadline_ms {
        return Err(EscrowError::DeadlineNotReached);
    }
    env::transfer(&escrow.depositor, escrow.amount).map_err(|_| EscrowError::TransferFailed)?;
    escrow.status = Status::Refunded;
    ESCROWS.set(&id, &escrow);
    env::emit(&Refunded { id, amount: escrow.amount });
    Ok(())
}

#[entry]
pub fn get(id: u64) -> Option<Escrow> {
    ESCROWS.get(&id)
}
