//! The host interface: the functions a contract imports from module `formica`.
//!
//! Pointers and lengths are `i32` offsets into the contract's exported `memory`. Every length is
//! checked against a [`Limits`](crate::Limits) field before anything is copied, every call is paid
//! for before its work is done, and a contract that breaks a rule traps (its frame fails and is
//! rolled back). The SDK (`contracts/formica-contract`) is the intended caller.

use crate::backend::Event;
use crate::error::VmError;
use crate::vm::{Frame, HostState, bound, run_frame};
use formica_types::{AccountId, AccountKey, KeyScheme};
use wasmtime::{Caller, Extern, Linker};

/// The import module name.
pub const MODULE: &str = "formica";

/// Every function the host provides.
pub const NAMES: &[&str] = &[
    "input_len",
    "input_read",
    "return_set",
    "revert",
    "storage_get",
    "storage_set",
    "storage_remove",
    "storage_next",
    "caller",
    "origin",
    "self_address",
    "value",
    "block_height",
    "block_timestamp_ms",
    "gas_left",
    "balance",
    "transfer",
    "emit",
    "call",
    "sha256",
    "sm3",
    "verify_signature",
];

/// The results of `call` other than success (which returns the output's length, `>= 0`).
pub mod call_status {
    /// The callee reverted; the output buffer holds its message's length (`u32` LE), then the message.
    pub const REVERTED: i64 = -1;
    pub const OUT_OF_GAS: i64 = -2;
    /// A trap, a stack overflow, a memory or other limit.
    pub const TRAPPED: i64 = -3;
    /// No such contract or entry point, or the contract is frozen.
    pub const NOT_CALLABLE: i64 = -4;
    /// The callee is already executing.
    pub const REENTRANCY: i64 = -5;
    pub const CALL_DEPTH: i64 = -6;
    /// The caller cannot pay the value.
    pub const INSUFFICIENT_BALANCE: i64 = -7;
}

type Host<'a> = Caller<'a, HostState>;
type HostResult<T> = wasmtime::Result<T>;

fn fail<T>(error: VmError) -> HostResult<T> {
    Err(wasmtime::Error::new(error))
}

/// Charges `gas`, trapping with out-of-gas (and nothing left) if there is not enough.
fn charge(caller: &mut Host<'_>, gas: u64) -> HostResult<()> {
    let fuel = caller.get_fuel()?;
    let Some(left) = fuel.checked_sub(gas) else {
        caller.set_fuel(0)?;
        return fail(VmError::OutOfGas);
    };
    caller.set_fuel(left)?;
    Ok(())
}

fn charge_call(caller: &mut Host<'_>, extra: u64) -> HostResult<()> {
    let base = caller.data().inner.gas.host_call;
    charge(caller, base.saturating_add(extra))
}

fn memory(caller: &mut Host<'_>) -> HostResult<wasmtime::Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => fail(VmError::MemoryAccess),
    }
}

fn range(ptr: i32, len: usize) -> HostResult<std::ops::Range<usize>> {
    let start = u32::try_from(ptr).map_err(|_| wasmtime::Error::new(VmError::MemoryAccess))? as usize;
    let end = start.checked_add(len).ok_or_else(|| wasmtime::Error::new(VmError::MemoryAccess))?;
    Ok(start..end)
}

fn length(len: i32) -> HostResult<usize> {
    usize::try_from(len).map_err(|_| wasmtime::Error::new(VmError::InvalidArgument("negative length")))
}

/// Copies `len` bytes out of the contract after checking `len <= limit` and charging the copy.
fn read(caller: &mut Host<'_>, ptr: i32, len: i32, what: &'static str, limit: usize) -> HostResult<Vec<u8>> {
    let len = length(len)?;
    bound(what, len, limit).map_err(wasmtime::Error::new)?;
    let copy = caller.data().inner.gas.copy_byte * len as u64;
    charge(caller, copy)?;
    let memory = memory(caller)?;
    let range = range(ptr, len)?;
    match memory.data(&caller).get(range) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => fail(VmError::MemoryAccess),
    }
}

fn read_array<const N: usize>(caller: &mut Host<'_>, ptr: i32) -> HostResult<[u8; N]> {
    let bytes = read(caller, ptr, N as i32, "fixed argument", N)?;
    Ok(bytes.try_into().expect("read returns exactly N bytes"))
}

fn read_account(caller: &mut Host<'_>, ptr: i32) -> HostResult<AccountId> {
    Ok(AccountId(read_array::<32>(caller, ptr)?))
}

/// Copies `bytes` into the contract at `ptr`, charging the copy.
fn write(caller: &mut Host<'_>, ptr: i32, bytes: &[u8]) -> HostResult<()> {
    let copy = caller.data().inner.gas.copy_byte * bytes.len() as u64;
    charge(caller, copy)?;
    let memory = memory(caller)?;
    let range = range(ptr, bytes.len())?;
    match memory.data_mut(&mut *caller).get_mut(range) {
        Some(target) => {
            target.copy_from_slice(bytes);
            Ok(())
        }
        None => fail(VmError::MemoryAccess),
    }
}

/// Writes as much of `bytes` as fits in `cap` and returns the full length (so the contract can
/// tell a truncated value).
fn write_capped(caller: &mut Host<'_>, ptr: i32, cap: i32, bytes: &[u8]) -> HostResult<i64> {
    let cap = length(cap)?;
    write(caller, ptr, &bytes[..bytes.len().min(cap)])?;
    Ok(bytes.len() as i64)
}

fn backend<T>(result: crate::error::Result<T>) -> HostResult<T> {
    result.map_err(wasmtime::Error::new)
}

/// The frame the calling contract runs in.
fn frame<'a>(caller: &'a Host<'_>) -> &'a Frame {
    &caller.data().frame
}

pub(crate) fn link(linker: &mut Linker<HostState>) {
    link_frame(linker);
    link_storage(linker);
    link_value(linker);
    link_crypto(linker);
}

fn link_frame(linker: &mut Linker<HostState>) {
    linker
        .func_wrap(MODULE, "input_len", |mut caller: Host<'_>| -> HostResult<i32> {
            charge_call(&mut caller, 0)?;
            Ok(frame(&caller).input.len() as i32)
        })
        .expect("unique name");
    linker
        .func_wrap(MODULE, "input_read", |mut caller: Host<'_>, ptr: i32| -> HostResult<()> {
            charge_call(&mut caller, 0)?;
            let input = frame(&caller).input.clone();
            write(&mut caller, ptr, &input)
        })
        .expect("unique name");
    linker
        .func_wrap(MODULE, "return_set", |mut caller: Host<'_>, ptr: i32, len: i32| -> HostResult<()> {
            charge_call(&mut caller, 0)?;
            let limit = caller.data().inner.limits.return_bytes_max;
            let output = read(&mut caller, ptr, len, "return value", limit)?;
            caller.data_mut().output = output;
            Ok(())
        })
        .expect("unique name");
    linker
        .func_wrap(MODULE, "revert", |mut caller: Host<'_>, ptr: i32, len: i32| -> HostResult<()> {
            charge_call(&mut caller, 0)?;
            let limit = caller.data().inner.limits.revert_message_bytes_max;
            let message = read(&mut caller, ptr, len, "revert message", limit)?;
            fail(VmError::Reverted(String::from_utf8_lossy(&message).into_owned()))
        })
        .expect("unique name");
    for (name, pick) in [
        ("caller", (|frame: &Frame| frame.caller) as fn(&Frame) -> AccountId),
        ("origin", |frame: &Frame| frame.context.origin),
        ("self_address", |frame: &Frame| frame.contract),
    ] {
        linker
            .func_wrap(MODULE, name, move |mut caller: Host<'_>, ptr: i32| -> HostResult<()> {
                charge_call(&mut caller, 0)?;
                let account = pick(frame(&caller));
                write(&mut caller, ptr, &account.0)
            })
            .expect("unique name");
    }
    linker
        .func_wrap(MODULE, "value", |mut caller: Host<'_>, ptr: i32| -> HostResult<()> {
            charge_call(&mut caller, 0)?;
            let value = frame(&caller).value;
            write(&mut caller, ptr, &value.to_le_bytes())
        })
        .expect("unique name");
    linker
        .func_wrap(MODULE, "block_height", |mut caller: Host<'_>| -> HostResult<i64> {
            charge_call(&mut caller, 0)?;
            Ok(frame(&caller).context.height as i64)
        })
        .expect("unique name");
    linker
        .func_wrap(MODULE, "block_timestamp_ms", |mut caller: Host<'_>| -> HostResult<i64> {
            charge_call(&mut caller, 0)?;
            Ok(frame(&caller).context.timestamp_ms as i64)
        })
        .expect("unique name");
    linker
        .func_wrap(MODULE, "gas_left", |mut caller: Host<'_>| -> HostResult<i64> {
            charge_call(&mut caller, 0)?;
            Ok(caller.get_fuel()? as i64)
        })
        .expect("unique name");
    linker
        .func_wrap(
            MODULE,
            "emit",
            |mut caller: Host<'_>, topics: i32, count: i32, data: i32, len: i32| -> HostResult<()> {
                let (limits, gas) = (caller.data().inner.limits.clone(), caller.data().inner.gas.clone());
                let count = length(count)?;
                bound("event topics", count, limits.event_topics_max).map_err(wasmtime::Error::new)?;
                let data_len = length(len)?;
                bound("event data", data_len, limits.event_data_bytes_max).map_err(wasmtime::Error::new)?;
                charge_call(
                    &mut caller,
                    gas.event + gas.event_topic * count as u64 + gas.event_byte * data_len as u64,
                )?;
                let emitted = caller.data().world().events_len();
                bound("events", emitted + 1, limits.events_max).map_err(wasmtime::Error::new)?;
                let topic_bytes =
                    read(&mut caller, topics, (count * 32) as i32, "event topics", 32 * limits.event_topics_max)?;
                let data = read(&mut caller, data, len, "event data", limits.event_data_bytes_max)?;
                let topics =
                    topic_bytes.chunks_exact(32).map(|topic| topic.try_into().expect("32-byte chunk")).collect();
                let contract = frame(&caller).contract;
                caller.data_mut().world_mut().emit(Event { contract, topics, data });
                Ok(())
            },
        )
        .expect("unique name");
}

fn link_storage(linker: &mut Linker<HostState>) {
    linker
        .func_wrap(
            MODULE,
            "storage_get",
            |mut caller: Host<'_>, key: i32, key_len: i32, out: i32, cap: i32| -> HostResult<i64> {
                let limits = caller.data().inner.limits.clone();
                let gas = caller.data().inner.gas.clone();
                charge_call(&mut caller, gas.storage_read)?;
                let key = read(&mut caller, key, key_len, "storage key", limits.storage_key_bytes_max)?;
                let contract = frame(&caller).contract;
                let value = backend(caller.data().world().storage(&contract, &key))?;
                let Some(value) = value else { return Ok(-1) };
                charge(&mut caller, gas.storage_read_byte * (key.len() + value.len()) as u64)?;
                write_capped(&mut caller, out, cap, &value)
            },
        )
        .expect("unique name");
    linker
        .func_wrap(
            MODULE,
            "storage_set",
            |mut caller: Host<'_>, key: i32, key_len: i32, value: i32, value_len: i32| -> HostResult<()> {
                let limits = caller.data().inner.limits.clone();
                let gas = caller.data().inner.gas.clone();
                let sizes = length(key_len)?.saturating_add(length(value_len)?) as u64;
                charge_call(
                    &mut caller,
                    gas.storage_write.saturating_add(gas.storage_write_byte.saturating_mul(sizes)),
                )?;
                let key = read(&mut caller, key, key_len, "storage key", limits.storage_key_bytes_max)?;
                let value = read(&mut caller, value, value_len, "storage value", limits.storage_value_bytes_max)?;
                let contract = frame(&caller).contract;
                if !backend(caller.data().world().storage_contains(&contract, &key))? {
                    charge(&mut caller, index_nodes_gas(&gas, &key))?;
                }
                caller.data_mut().world_mut().set_storage(contract, key, Some(value));
                Ok(())
            },
        )
        .expect("unique name");
    linker
        .func_wrap(MODULE, "storage_remove", |mut caller: Host<'_>, key: i32, key_len: i32| -> HostResult<()> {
            let limits = caller.data().inner.limits.clone();
            let gas = caller.data().inner.gas.clone();
            charge_call(&mut caller, gas.storage_remove)?;
            let key = read(&mut caller, key, key_len, "storage key", limits.storage_key_bytes_max)?;
            let contract = frame(&caller).contract;
            if backend(caller.data().world().storage_contains(&contract, &key))? {
                charge(&mut caller, index_nodes_gas(&gas, &key))?;
            }
            caller.data_mut().world_mut().set_storage(contract, key, None);
            Ok(())
        })
        .expect("unique name");
    linker
        .func_wrap(
            MODULE,
            "storage_next",
            |mut caller: Host<'_>,
             prefix: i32,
             prefix_len: i32,
             after: i32,
             after_len: i32,
             key_out: i32,
             value_out: i32,
             value_cap: i32|
             -> HostResult<i64> {
                let limits = caller.data().inner.limits.clone();
                let gas = caller.data().inner.gas.clone();
                charge_call(&mut caller, gas.storage_read)?;
                let prefix = read(&mut caller, prefix, prefix_len, "storage prefix", limits.storage_key_bytes_max)?;
                let after = match after_len {
                    -1 => None,
                    _ => Some(read(&mut caller, after, after_len, "storage key", limits.storage_key_bytes_max)?),
                };
                let contract = frame(&caller).contract;
                let (entry, walk) = backend(caller.data().world().storage_next(&contract, &prefix, after.as_deref()))?;
                charge(&mut caller, gas.storage_read.saturating_mul(walk.steps - 1))?;
                charge(&mut caller, gas.storage_index_node.saturating_mul(walk.index_nodes))?;
                let Some((key, value)) = entry else { return Ok(-1) };
                charge(&mut caller, gas.storage_read_byte * (key.len() + value.len()) as u64)?;
                // The key buffer must hold `storage_key_bytes_max` bytes; keys are never longer.
                write(&mut caller, key_out, &key)?;
                let value_len = write_capped(&mut caller, value_out, value_cap, &value)?;
                Ok(((key.len() as i64) << 32) | value_len)
            },
        )
        .expect("unique name");
}

/// Gas for the index nodes a key's creation or removal may write: one per byte and the root.
fn index_nodes_gas(gas: &crate::GasSchedule, key: &[u8]) -> u64 {
    gas.storage_index_node.saturating_mul(key.len() as u64 + 1)
}

fn link_value(linker: &mut Linker<HostState>) {
    linker
        .func_wrap(MODULE, "balance", |mut caller: Host<'_>, account: i32, out: i32| -> HostResult<i32> {
            let read_gas = caller.data().inner.gas.storage_read;
            charge_call(&mut caller, read_gas)?;
            let account = read_account(&mut caller, account)?;
            let balance = backend(caller.data().world().balance(&account))?;
            let Some(balance) = balance else { return Ok(0) };
            write(&mut caller, out, &balance.to_le_bytes())?;
            Ok(1)
        })
        .expect("unique name");
    linker
        .func_wrap(MODULE, "transfer", |mut caller: Host<'_>, to: i32, amount: i32| -> HostResult<i32> {
            let transfer = caller.data().inner.gas.transfer;
            charge_call(&mut caller, transfer)?;
            let to = read_account(&mut caller, to)?;
            let amount = u128::from_le_bytes(read_array::<16>(&mut caller, amount)?);
            let from = frame(&caller).contract;
            let world = caller.data_mut().world_mut();
            let checkpoint = world.checkpoint();
            match world.transfer(from, to, amount) {
                Ok(()) => Ok(0),
                Err(VmError::InsufficientBalance { .. }) => {
                    world.revert(checkpoint);
                    Ok(1)
                }
                Err(VmError::InvalidArgument(_)) => {
                    world.revert(checkpoint);
                    Ok(2)
                }
                Err(error) => fail(error),
            }
        })
        .expect("unique name");
    linker
        .func_wrap(
            MODULE,
            "call",
            |mut caller: Host<'_>,
             contract: i32,
             method: i32,
             method_len: i32,
             input: i32,
             input_len: i32,
             value: i32,
             gas: i64,
             out: i32,
             out_cap: i32|
             -> HostResult<i64> {
                call(&mut caller, [contract, method, method_len, input, input_len, value], gas, out, out_cap)
            },
        )
        .expect("unique name");
}

/// A call into another contract. The callee runs in its own store with the gas forwarded to it
/// (`gas <= 0` forwards everything left); unused gas comes back. A callee that fails is rolled
/// back and its status returned; the caller decides whether to fail too.
fn call(caller: &mut Host<'_>, args: [i32; 6], gas: i64, out: i32, out_cap: i32) -> HostResult<i64> {
    let [contract, method, method_len, input, input_len, value] = args;
    let limits = caller.data().inner.limits.clone();
    charge_call(caller, 0)?;
    let contract = read_account(caller, contract)?;
    let method = read(caller, method, method_len, "method name", limits.method_bytes_max)?;
    let input = read(caller, input, input_len, "input", limits.input_bytes_max)?;
    let value = u128::from_le_bytes(read_array::<16>(caller, value)?);
    let Ok(method) = String::from_utf8(method) else {
        return fail(VmError::InvalidArgument("the method name is not UTF-8"));
    };
    let current = frame(caller).clone();
    if current.stack.contains(&contract) {
        return Ok(call_status::REENTRANCY);
    }
    if current.stack.len() >= limits.call_depth_max {
        return Ok(call_status::CALL_DEPTH);
    }
    if method == crate::vm::CONSTRUCTOR {
        return Ok(call_status::NOT_CALLABLE);
    }
    let available = caller.get_fuel()?;
    let forwarded = match u64::try_from(gas) {
        Ok(gas) if gas > 0 && gas < available => gas,
        _ => available,
    };
    let mut stack = current.stack.clone();
    stack.push(contract);
    let callee = Frame {
        context: current.context,
        contract,
        caller: current.contract,
        value,
        method,
        input,
        stack,
        constructor: false,
    };
    let inner = caller.data().inner.clone();
    let world = caller.data_mut().world.take().expect("the world is here while this frame runs");
    let (world, result) = run_frame(&inner, world, callee, forwarded);
    caller.data_mut().world = Some(world);
    caller.set_fuel(available - result.gas_used)?;
    let (status, message) = match result.result {
        Ok(output) => return write_capped(caller, out, out_cap, &output),
        Err(VmError::Backend(error)) => return fail(VmError::Backend(error)),
        Err(VmError::Reverted(message)) => {
            let mut framed = (message.len() as u32).to_le_bytes().to_vec();
            framed.extend_from_slice(message.as_bytes());
            (call_status::REVERTED, framed)
        }
        Err(VmError::OutOfGas) => (call_status::OUT_OF_GAS, Vec::new()),
        Err(VmError::InsufficientBalance { .. }) => (call_status::INSUFFICIENT_BALANCE, Vec::new()),
        Err(
            VmError::ContractMissing(_)
            | VmError::ContractFrozen(_)
            | VmError::MethodMissing(_)
            | VmError::InvalidModule(_),
        ) => (call_status::NOT_CALLABLE, Vec::new()),
        Err(_) => (call_status::TRAPPED, Vec::new()),
    };
    write_capped(caller, out, out_cap, &message)?;
    Ok(status)
}

fn link_crypto(linker: &mut Linker<HostState>) {
    for (name, per_byte, hash) in [
        (
            "sha256",
            (|gas: &crate::GasSchedule| gas.sha256_byte) as fn(&crate::GasSchedule) -> u64,
            formica_crypto::sha256 as fn(&[u8]) -> [u8; 32],
        ),
        ("sm3", |gas: &crate::GasSchedule| gas.sm3_byte, formica_crypto::sm3),
    ] {
        linker
            .func_wrap(MODULE, name, move |mut caller: Host<'_>, data: i32, len: i32, out: i32| -> HostResult<()> {
                let limit = caller.data().inner.limits.hash_input_bytes_max;
                let gas = &caller.data().inner.gas;
                let price = gas.hash.saturating_add(per_byte(gas).saturating_mul(length(len)? as u64));
                charge_call(&mut caller, price)?;
                let data = read(&mut caller, data, len, "hash input", limit)?;
                write(&mut caller, out, &hash(&data))
            })
            .expect("unique name");
    }
    linker
        .func_wrap(
            MODULE,
            "verify_signature",
            |mut caller: Host<'_>,
             scheme: i32,
             key: i32,
             message: i32,
             message_len: i32,
             signature: i32|
             -> HostResult<i32> {
                let limit = caller.data().inner.limits.signed_message_bytes_max;
                let gas = caller.data().inner.gas.clone();
                let (scheme, price) = match scheme {
                    0 => (KeyScheme::Ed25519, gas.verify_ed25519),
                    1 => (KeyScheme::Sm2, gas.verify_sm2),
                    2 => (KeyScheme::Secp256k1, gas.verify_secp256k1),
                    _ => return fail(VmError::InvalidArgument("unknown key scheme")),
                };
                charge_call(&mut caller, price)?;
                let key_bytes = read(&mut caller, key, scheme.key_bytes() as i32, "public key", 33)?;
                let message = read(&mut caller, message, message_len, "signed message", limit)?;
                let signature = read_array::<64>(&mut caller, signature)?;
                let Ok(key) = AccountKey::new(scheme, &key_bytes) else { return Ok(0) };
                Ok(i32::from(formica_crypto::verify_message(&key, &message, &signature)))
            },
        )
        .expect("unique name");
}
