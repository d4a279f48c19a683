//! The chain, as a contract sees it: safe wrappers over the host functions of module `formica`.
//! Every function here costs gas (see `docs/contracts.md`).

use crate::Address;
use crate::codec::{Codec, encode};
use alloc::vec;
use alloc::vec::Vec;

/// Longest storage key and value the VM accepts (its default limits).
pub const STORAGE_KEY_BYTES_MAX: usize = 128;
pub const STORAGE_VALUE_BYTES_MAX: usize = 4096;
/// Longest return value read back from another contract.
pub const CALL_OUTPUT_BYTES_MAX: usize = 16 * 1024;

mod sys {
    #[link(wasm_import_module = "formica")]
    unsafe extern "C" {
        pub fn input_len() -> i32;
        pub fn input_read(ptr: *mut u8);
        pub fn return_set(ptr: *const u8, len: i32);
        pub fn revert(ptr: *const u8, len: i32) -> !;
        pub fn storage_get(key: *const u8, key_len: i32, out: *mut u8, cap: i32) -> i64;
        pub fn storage_set(key: *const u8, key_len: i32, value: *const u8, value_len: i32);
        pub fn storage_remove(key: *const u8, key_len: i32);
        pub fn storage_next(
            prefix: *const u8,
            prefix_len: i32,
            after: *const u8,
            after_len: i32,
            key_out: *mut u8,
            value_out: *mut u8,
            value_cap: i32,
        ) -> i64;
        pub fn caller(out: *mut u8);
        pub fn origin(out: *mut u8);
        pub fn self_address(out: *mut u8);
        pub fn value(out: *mut u8);
        pub fn block_height() -> i64;
        pub fn block_timestamp_ms() -> i64;
        pub fn gas_left() -> i64;
        pub fn balance(account: *const u8, out: *mut u8) -> i32;
        pub fn transfer(to: *const u8, amount: *const u8) -> i32;
        pub fn emit(topics: *const u8, count: i32, data: *const u8, data_len: i32);
        #[allow(clippy::too_many_arguments)]
        pub fn call(
            contract: *const u8,
            method: *const u8,
            method_len: i32,
            input: *const u8,
            input_len: i32,
            value: *const u8,
            gas: i64,
            out: *mut u8,
            out_cap: i32,
        ) -> i64;
        pub fn sha256(data: *const u8, len: i32, out: *mut u8);
        pub fn sm3(data: *const u8, len: i32, out: *mut u8);
        pub fn verify_signature(
            scheme: i32,
            key: *const u8,
            message: *const u8,
            message_len: i32,
            signature: *const u8,
        ) -> i32;
    }
}

/// The call's input (the encoded arguments).
pub fn input() -> Vec<u8> {
    // SAFETY: the host writes exactly `input_len()` bytes at the pointer.
    unsafe {
        let mut buffer = vec![0u8; sys::input_len() as usize];
        sys::input_read(buffer.as_mut_ptr());
        buffer
    }
}

/// Sets the call's return value.
pub fn set_return(bytes: &[u8]) {
    // SAFETY: the host reads `len` bytes from a live slice.
    unsafe { sys::return_set(bytes.as_ptr(), bytes.len() as i32) }
}

/// Ends the call as failed: every change of this call is undone and `message` is its reason.
pub fn revert(message: &str) -> ! {
    // SAFETY: the host reads `len` bytes from a live slice and never returns.
    unsafe { sys::revert(message.as_ptr(), message.len() as i32) }
}

/// The raw value under `key` in this contract's storage.
pub fn storage_get(key: &[u8]) -> Option<Vec<u8>> {
    let mut buffer = vec![0u8; STORAGE_VALUE_BYTES_MAX];
    // SAFETY: the host writes at most `cap` bytes into the buffer.
    let len = unsafe { sys::storage_get(key.as_ptr(), key.len() as i32, buffer.as_mut_ptr(), buffer.len() as i32) };
    if len < 0 {
        return None;
    }
    buffer.truncate(len as usize);
    Some(buffer)
}

pub fn storage_set(key: &[u8], value: &[u8]) {
    // SAFETY: the host reads from live slices.
    unsafe { sys::storage_set(key.as_ptr(), key.len() as i32, value.as_ptr(), value.len() as i32) }
}

pub fn storage_remove(key: &[u8]) {
    // SAFETY: the host reads from a live slice.
    unsafe { sys::storage_remove(key.as_ptr(), key.len() as i32) }
}

/// The first entry whose key starts with `prefix` and comes after `after` (in byte order).
pub fn storage_next(prefix: &[u8], after: Option<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut key = vec![0u8; STORAGE_KEY_BYTES_MAX];
    let mut value = vec![0u8; STORAGE_VALUE_BYTES_MAX];
    let (after_ptr, after_len) = match after {
        Some(after) => (after.as_ptr(), after.len() as i32),
        None => (core::ptr::null(), -1),
    };
    // SAFETY: the key buffer holds the longest key, the value buffer `value_cap` bytes.
    let packed = unsafe {
        sys::storage_next(
            prefix.as_ptr(),
            prefix.len() as i32,
            after_ptr,
            after_len,
            key.as_mut_ptr(),
            value.as_mut_ptr(),
            value.len() as i32,
        )
    };
    if packed < 0 {
        return None;
    }
    key.truncate((packed >> 32) as usize);
    value.truncate((packed & 0xffff_ffff) as usize);
    Some((key, value))
}

fn address(read: unsafe extern "C" fn(*mut u8)) -> Address {
    let mut out = [0u8; 32];
    // SAFETY: the host writes 32 bytes.
    unsafe { read(out.as_mut_ptr()) };
    Address(out)
}

/// The account or contract that called this contract.
pub fn caller() -> Address {
    address(sys::caller)
}

/// The account that signed the transaction.
pub fn origin() -> Address {
    address(sys::origin)
}

/// This contract's address.
pub fn self_address() -> Address {
    address(sys::self_address)
}

/// Native value the caller sent with this call (already in this contract's balance).
pub fn value() -> u128 {
    let mut out = [0u8; 16];
    // SAFETY: the host writes 16 bytes.
    unsafe { sys::value(out.as_mut_ptr()) };
    u128::from_le_bytes(out)
}

pub fn block_height() -> u64 {
    // SAFETY: no memory is passed.
    unsafe { sys::block_height() as u64 }
}

/// The block's timestamp in milliseconds since the Unix epoch (the proposer's, checked by validators).
pub fn block_timestamp_ms() -> u64 {
    // SAFETY: no memory is passed.
    unsafe { sys::block_timestamp_ms() as u64 }
}

pub fn gas_left() -> u64 {
    // SAFETY: no memory is passed.
    unsafe { sys::gas_left() as u64 }
}

/// The native balance of an account or contract, `None` if it does not exist.
pub fn balance(account: &Address) -> Option<u128> {
    let mut out = [0u8; 16];
    // SAFETY: the host reads 32 bytes and writes 16.
    let found = unsafe { sys::balance(account.0.as_ptr(), out.as_mut_ptr()) };
    (found == 1).then(|| u128::from_le_bytes(out))
}

/// Why a transfer of native value failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferError {
    InsufficientBalance,
    RecipientMissing,
}

/// Sends native value this contract holds to `to`.
pub fn transfer(to: &Address, amount: u128) -> Result<(), TransferError> {
    let amount = amount.to_le_bytes();
    // SAFETY: the host reads 32 and 16 bytes.
    match unsafe { sys::transfer(to.0.as_ptr(), amount.as_ptr()) } {
        0 => Ok(()),
        1 => Err(TransferError::InsufficientBalance),
        _ => Err(TransferError::RecipientMissing),
    }
}

/// Emits an event with raw topics and data.
pub fn emit_raw(topics: &[[u8; 32]], data: &[u8]) {
    // SAFETY: `[[u8; 32]]` is contiguous; the host reads `count * 32` and `data_len` bytes.
    unsafe { sys::emit(topics.as_ptr().cast(), topics.len() as i32, data.as_ptr(), data.len() as i32) }
}

/// Emits a typed event (see `#[derive(Event)]`).
pub fn emit<E: crate::Event>(event: &E) {
    emit_raw(&event.topics(), &encode(event));
}

/// Why a call into another contract failed. The callee's changes are undone; this contract's stay
/// unless it fails too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The callee reverted with this message.
    Reverted(alloc::string::String),
    OutOfGas,
    Trapped,
    /// No such contract or entry point, or the contract is frozen.
    NotCallable,
    /// The callee is already executing: reentrancy is refused.
    Reentrancy,
    CallDepth,
    InsufficientBalance,
    /// The output did not decode as the expected type.
    BadOutput,
}

/// Calls `method` of `contract` with encoded `input`, sending `value` and at most `gas` (0: all
/// that is left). Returns the callee's raw output.
pub fn call_raw(contract: &Address, method: &str, input: &[u8], value: u128, gas: u64) -> Result<Vec<u8>, CallError> {
    let value = value.to_le_bytes();
    let mut out = vec![0u8; CALL_OUTPUT_BYTES_MAX];
    // SAFETY: every pointer is a live slice of the length given; the host writes at most `out_cap`.
    let status = unsafe {
        sys::call(
            contract.0.as_ptr(),
            method.as_ptr(),
            method.len() as i32,
            input.as_ptr(),
            input.len() as i32,
            value.as_ptr(),
            gas as i64,
            out.as_mut_ptr(),
            out.len() as i32,
        )
    };
    match status {
        len if len >= 0 => {
            out.truncate(len as usize);
            Ok(out)
        }
        -1 => {
            let len = u32::from_le_bytes([out[0], out[1], out[2], out[3]]) as usize;
            let message = out.get(4..4 + len).unwrap_or_default();
            Err(CallError::Reverted(alloc::string::String::from_utf8_lossy(message).into_owned()))
        }
        -2 => Err(CallError::OutOfGas),
        -4 => Err(CallError::NotCallable),
        -5 => Err(CallError::Reentrancy),
        -6 => Err(CallError::CallDepth),
        -7 => Err(CallError::InsufficientBalance),
        _ => Err(CallError::Trapped),
    }
}

/// Calls `method` of `contract` with typed arguments and decodes its typed result.
pub fn call<A: Codec, R: Codec>(
    contract: &Address,
    method: &str,
    args: &A,
    value: u128,
    gas: u64,
) -> Result<R, CallError> {
    let output = call_raw(contract, method, &encode(args), value, gas)?;
    crate::codec::decode(&output).map_err(|_| CallError::BadOutput)
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: the host reads `len` bytes and writes 32.
    unsafe { sys::sha256(data.as_ptr(), data.len() as i32, out.as_mut_ptr()) };
    out
}

pub fn sm3(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: the host reads `len` bytes and writes 32.
    unsafe { sys::sm3(data.as_ptr(), data.len() as i32, out.as_mut_ptr()) };
    out
}

/// The signature schemes of account keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum KeyScheme {
    /// 32-byte keys.
    Ed25519 = 0,
    /// 33-byte compressed keys.
    Sm2 = 1,
    /// 33-byte compressed keys.
    Secp256k1 = 2,
}

/// Whether `signature` (64 bytes) is `key`'s signature of `message` under the chain's message
/// namespace (`FORMICA_MESSAGE_V1`, never a transaction's). A key of the wrong length is invalid.
pub fn verify_signature(scheme: KeyScheme, key: &[u8], message: &[u8], signature: &[u8; 64]) -> bool {
    let expected = if scheme == KeyScheme::Ed25519 { 32 } else { 33 };
    if key.len() != expected {
        return false;
    }
    // SAFETY: the host reads the key's length for the scheme, `message_len` bytes and 64 bytes.
    unsafe {
        sys::verify_signature(scheme as i32, key.as_ptr(), message.as_ptr(), message.len() as i32, signature.as_ptr())
            == 1
    }
}
