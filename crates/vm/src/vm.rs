//! The engine, the module cache and the running of one contract frame.

use crate::backend::{Backend, Changes, CodeHash, Context, ContractInfo};
use crate::cache::ModuleCache;
use crate::error::{Result, VmError};
use crate::host;
use crate::journal::World;
use crate::limits::{GasSchedule, Limits};
use formica_types::AccountId;
use std::sync::{Arc, Mutex};
use wasmtime::{Config, Engine, ExternType, Linker, Module, OperatorCost, ResourceLimiter, Store, Trap};

/// The export a deployment runs once, with the constructor arguments as input. Calls may not name it.
pub const CONSTRUCTOR: &str = "init";

/// A call of a contract's entry point by an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub caller: AccountId,
    pub contract: AccountId,
    pub method: String,
    pub input: Vec<u8>,
    /// Native value moved from the caller to the contract before the entry point runs.
    pub value: u128,
    pub gas_limit: u64,
}

/// A deployment: the code, where it goes, and the constructor's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deploy {
    pub deployer: AccountId,
    pub address: AccountId,
    pub code: Vec<u8>,
    pub input: Vec<u8>,
    pub value: u128,
    pub gas_limit: u64,
}

/// What a call did: the gas it used whatever happened, and either its return value and changes or
/// why it failed (and no changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub gas_used: u64,
    pub result: Result<Vec<u8>>,
    /// Empty unless `result` is `Ok`.
    pub changes: Changes,
}

/// The WebAssembly virtual machine: a deterministic engine, the host interface and a cache of
/// compiled modules. Cheap to clone (shared).
#[derive(Clone)]
pub struct Vm {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    cache: Mutex<ModuleCache>,
    pub(crate) limits: Limits,
    pub(crate) gas: GasSchedule,
}

/// One contract frame: who runs, for whom, with what.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub(crate) context: Context,
    pub(crate) contract: AccountId,
    pub(crate) caller: AccountId,
    pub(crate) value: u128,
    pub(crate) method: String,
    pub(crate) input: Vec<u8>,
    /// The contracts executing, outermost first, this one last.
    pub(crate) stack: Vec<AccountId>,
    pub(crate) constructor: bool,
}

pub(crate) struct FrameResult {
    pub(crate) gas_used: u64,
    pub(crate) result: Result<Vec<u8>>,
}

/// What a store holds while a frame runs.
pub(crate) struct HostState {
    pub(crate) inner: Arc<Inner>,
    /// Lent to a nested frame while it runs, present otherwise.
    pub(crate) world: Option<World>,
    pub(crate) frame: Frame,
    pub(crate) output: Vec<u8>,
    limiter: FrameLimiter,
}

impl HostState {
    pub(crate) fn world(&self) -> &World {
        self.world.as_ref().expect("the world is back before the contract runs again")
    }

    pub(crate) fn world_mut(&mut self) -> &mut World {
        self.world.as_mut().expect("the world is back before the contract runs again")
    }
}

struct FrameLimiter {
    memory_bytes_max: usize,
    table_elements_max: usize,
}

impl ResourceLimiter for FrameLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes_max {
            return Err(wasmtime::Error::new(VmError::MemoryLimit { limit_bytes: self.memory_bytes_max }));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.table_elements_max {
            return Err(wasmtime::Error::new(VmError::LimitExceeded {
                what: "table",
                size: desired,
                limit: self.table_elements_max,
            }));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

/// The wasmtime configuration every validator must share: fuel metering, canonical NaNs, and only
/// deterministic proposals. Threads, GC, function references and exceptions are not even compiled
/// in (the crate's wasmtime features leave them out), so modules using them fail validation.
fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.consume_fuel(true);
    let mut cost = OperatorCost::new();
    // Growing memory is paid per 64 KiB page (bulk copies and fills are paid per byte by default).
    cost.variable.memory_grow_per_page = u8::MAX;
    config.operator_cost(cost);
    config.cranelift_nan_canonicalization(true);
    config.wasm_shared_everything_threads(false);
    config.wasm_simd(false);
    config.wasm_relaxed_simd(false);
    config.relaxed_simd_deterministic(true);
    config.wasm_multi_memory(false);
    config.wasm_memory64(false);
    config.wasm_gc(false);
    config.wasm_stack_switching(false);
    config.wasm_custom_page_sizes(false);
    config.max_wasm_stack(limits.wasm_stack_bytes_max);
    // Backtraces would put code offsets into error messages; receipts must not depend on them.
    config.wasm_backtrace_max_frames(None);
    config
}

impl Vm {
    /// A VM with these limits and prices.
    pub fn new(limits: Limits, gas: GasSchedule) -> Self {
        let engine = Engine::new(&engine_config(&limits)).expect("the engine configuration is valid");
        let mut linker = Linker::new(&engine);
        host::link(&mut linker);
        let cache = Mutex::new(ModuleCache::new(limits.module_cache_entries));
        Self { inner: Arc::new(Inner { engine, linker, cache, limits, gas }) }
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn gas_schedule(&self) -> &GasSchedule {
        &self.inner.gas
    }

    /// Modules compiled and cached now.
    pub fn cached_modules(&self) -> usize {
        self.inner.cache.lock().expect("the cache lock is never poisoned").len()
    }

    /// Whether the module with this hash is compiled and cached.
    pub fn is_cached(&self, hash: &CodeHash) -> bool {
        self.inner.cache.lock().expect("the cache lock is never poisoned").contains(hash)
    }

    /// Validates and compiles `code` (and caches it): what a deployment or an upgrade checks. The
    /// gas this costs is [`Vm::code_gas`].
    pub fn validate(&self, code: &[u8]) -> Result<CodeHash> {
        let hash = code_hash(code);
        self.inner.compile(&hash, code)?;
        Ok(hash)
    }

    /// The gas validating and storing `code` costs.
    pub fn code_gas(&self, code_len: usize) -> u64 {
        (code_len as u64).saturating_mul(self.inner.gas.deploy_byte)
    }

    /// Runs an entry point. The caller applies `changes` if the result is `Ok`; a backend error
    /// (see [`VmError::is_backend`]) is not the contract's failure.
    pub fn call(&self, backend: Arc<dyn Backend>, context: Context, call: Call) -> Outcome {
        if call.method == CONSTRUCTOR {
            return Outcome {
                gas_used: call.gas_limit.min(self.inner.gas.call_base),
                result: Err(VmError::MethodMissing(call.method)),
                changes: Changes::default(),
            };
        }
        let frame = Frame {
            context,
            contract: call.contract,
            caller: call.caller,
            value: call.value,
            method: call.method,
            input: call.input,
            stack: vec![call.contract],
            constructor: false,
        };
        let (world, result) = run_frame(&self.inner, World::new(backend), frame, call.gas_limit);
        finish(world, result)
    }

    /// Deploys a contract: validates and stores the code (paid per byte), opens the contract's
    /// account, moves `value` to it and runs its constructor if it exports one.
    pub fn deploy(&self, backend: Arc<dyn Backend>, context: Context, deploy: Deploy) -> Outcome {
        let mut world = World::new(backend);
        let code_gas = self.code_gas(deploy.code.len());
        let prepared = self.prepare_deploy(&mut world, &deploy, code_gas);
        if let Err(error) = prepared {
            let gas_used = if matches!(error, VmError::OutOfGas) { deploy.gas_limit } else { code_gas };
            return Outcome {
                gas_used: gas_used.min(deploy.gas_limit),
                result: Err(error),
                changes: Changes::default(),
            };
        }
        let frame = Frame {
            context,
            contract: deploy.address,
            caller: deploy.deployer,
            value: deploy.value,
            method: CONSTRUCTOR.to_string(),
            input: deploy.input,
            stack: vec![deploy.address],
            constructor: true,
        };
        let (world, mut result) = run_frame(&self.inner, world, frame, deploy.gas_limit - code_gas);
        result.gas_used += code_gas;
        finish(world, result)
    }

    fn prepare_deploy(&self, world: &mut World, deploy: &Deploy, code_gas: u64) -> Result<()> {
        if deploy.gas_limit < code_gas {
            return Err(VmError::OutOfGas);
        }
        if world.contract(&deploy.address)?.is_some() || world.balance(&deploy.address)?.is_some() {
            return Err(VmError::ContractExists(deploy.address));
        }
        let code_hash = self.validate(&deploy.code)?;
        world.add_contract(deploy.address, ContractInfo { code_hash, frozen: false }, Some(deploy.code.clone()));
        world.open_account(deploy.address)
    }

    /// Replaces the code of the contract at `address`, keeping its storage and balance (no
    /// migration code runs). Whether the sender may do this is the chain's rule.
    pub fn upgrade(&self, backend: Arc<dyn Backend>, address: AccountId, code: Vec<u8>, gas_limit: u64) -> Outcome {
        let mut world = World::new(backend);
        let code_gas = self.code_gas(code.len());
        let result = (|| {
            if gas_limit < code_gas {
                return Err(VmError::OutOfGas);
            }
            let info = world.contract(&address)?.ok_or(VmError::ContractMissing(address))?;
            let code_hash = self.validate(&code)?;
            world.add_contract(address, ContractInfo { code_hash, ..info }, Some(code));
            Ok(Vec::new())
        })();
        let gas_used = if matches!(result, Err(VmError::OutOfGas)) { gas_limit } else { code_gas };
        finish(world, FrameResult { gas_used, result })
    }
}

fn finish(world: World, result: FrameResult) -> Outcome {
    let changes = if result.result.is_ok() { world.into_changes() } else { Changes::default() };
    Outcome { gas_used: result.gas_used, result: result.result, changes }
}

/// SHA-256 of a module's bytes.
pub fn code_hash(code: &[u8]) -> CodeHash {
    formica_crypto::sha256(code)
}

impl Inner {
    /// The compiled module, from the cache or compiled now. Compilation is not charged here: its
    /// cost must not depend on what this node happens to have cached, so it is paid at deployment.
    fn module(&self, world: &World, hash: &CodeHash) -> Result<Module> {
        if let Some(module) = self.cache.lock().expect("the cache lock is never poisoned").get(hash) {
            return Ok(module);
        }
        let code = world.code(hash)?.ok_or(VmError::InvalidModule("code missing from state".to_string()))?;
        self.compile(hash, &code)
    }

    fn compile(&self, hash: &CodeHash, code: &[u8]) -> Result<Module> {
        if code.len() > self.limits.code_bytes_max {
            return Err(VmError::CodeTooLarge { size: code.len(), limit: self.limits.code_bytes_max });
        }
        if let Some(module) = self.cache.lock().expect("the cache lock is never poisoned").get(hash) {
            return Ok(module);
        }
        // Only the binary format: the text format would make two encodings of one contract.
        if !code.starts_with(b"\0asm") {
            return Err(VmError::InvalidModule("not a WebAssembly binary".to_string()));
        }
        let module = Module::from_binary(&self.engine, code).map_err(|error| {
            // The first line of wasmparser's message names the problem without host details.
            let message = error.to_string();
            VmError::InvalidModule(message.lines().next().unwrap_or("invalid").to_string())
        })?;
        let exports_memory =
            module.exports().any(|export| export.name() == "memory" && matches!(export.ty(), ExternType::Memory(_)));
        if !exports_memory {
            return Err(VmError::InvalidModule("the module does not export its memory as \"memory\"".to_string()));
        }
        for import in module.imports() {
            if import.module() != host::MODULE || !host::NAMES.contains(&import.name()) {
                return Err(VmError::InvalidModule(format!("unknown import {}::{}", import.module(), import.name())));
            }
        }
        self.linker
            .instantiate_pre(&module)
            .map_err(|_| VmError::InvalidModule("an import does not match the host interface".to_string()))?;
        self.cache.lock().expect("the cache lock is never poisoned").insert(*hash, module.clone());
        Ok(module)
    }
}

/// Runs one frame with `gas_limit`, rolling its writes back if it fails.
pub(crate) fn run_frame(inner: &Arc<Inner>, mut world: World, frame: Frame, gas_limit: u64) -> (World, FrameResult) {
    let checkpoint = world.checkpoint();
    let (mut world, result) = match enter(inner, &mut world, &frame, gas_limit) {
        Err(error) => {
            let gas_used =
                if matches!(error, VmError::OutOfGas) { gas_limit } else { gas_limit.min(inner.gas.call_base) };
            (world, FrameResult { gas_used, result: Err(error) })
        }
        Ok(module) => execute(inner, world, frame, module, gas_limit),
    };
    if result.result.is_err() {
        world.revert(checkpoint);
    }
    (world, result)
}

/// Checks before instantiation: gas for entering, the contract, the input, the value.
fn enter(inner: &Arc<Inner>, world: &mut World, frame: &Frame, gas_limit: u64) -> Result<Module> {
    let limits = &inner.limits;
    let entry_gas = inner.gas.call_base + inner.gas.copy_byte * frame.input.len() as u64;
    if gas_limit < entry_gas {
        return Err(VmError::OutOfGas);
    }
    bound("method name", frame.method.len(), limits.method_bytes_max)?;
    bound("input", frame.input.len(), limits.input_bytes_max)?;
    let info = world.contract(&frame.contract)?.ok_or(VmError::ContractMissing(frame.contract))?;
    if info.frozen {
        return Err(VmError::ContractFrozen(frame.contract));
    }
    world.transfer(frame.caller, frame.contract, frame.value)?;
    inner.module(world, &info.code_hash)
}

fn execute(inner: &Arc<Inner>, world: World, frame: Frame, module: Module, gas_limit: u64) -> (World, FrameResult) {
    let entry_gas = inner.gas.call_base + inner.gas.copy_byte * frame.input.len() as u64;
    let limiter = FrameLimiter {
        memory_bytes_max: inner.limits.memory_bytes_max,
        table_elements_max: inner.limits.table_elements_max,
    };
    let method = frame.method.clone();
    let constructor = frame.constructor;
    let state = HostState { inner: inner.clone(), world: Some(world), frame, output: Vec::new(), limiter };
    let mut store = Store::new(&inner.engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_fuel(gas_limit - entry_gas).expect("fuel is enabled");
    let result = (|| {
        let instance = inner.linker.instantiate(&mut store, &module)?;
        let Some(export) = instance.get_func(&mut store, &method) else {
            if constructor {
                return Ok(());
            }
            return Err(wasmtime::Error::new(VmError::MethodMissing(method.clone())));
        };
        let entry =
            export.typed::<(), ()>(&store).map_err(|_| wasmtime::Error::new(VmError::MethodMissing(method.clone())))?;
        entry.call(&mut store, ())
    })();
    let remaining = store.get_fuel().expect("fuel is enabled");
    let state = store.into_data();
    let world = state.world.expect("nested frames give the world back");
    let result = match result {
        Ok(()) => FrameResult { gas_used: gas_limit - remaining, result: Ok(state.output) },
        Err(error) => {
            let error = classify(&error);
            let gas_used = match error {
                // Where the stack overflows depends on the machine's frame sizes: charging all gas
                // keeps the decision identical on every validator.
                VmError::OutOfGas | VmError::StackOverflow => gas_limit,
                _ => gas_limit - remaining,
            };
            FrameResult { gas_used, result: Err(error) }
        }
    };
    (world, result)
}

/// A trap or host error as a deterministic [`VmError`].
fn classify(error: &wasmtime::Error) -> VmError {
    if let Some(error) = error.downcast_ref::<VmError>() {
        return error.clone();
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => VmError::OutOfGas,
        Some(Trap::StackOverflow) => VmError::StackOverflow,
        Some(trap) => VmError::Trap(trap.to_string()),
        None => VmError::Trap("instantiation failed".to_string()),
    }
}

pub(crate) fn bound(what: &'static str, size: usize, limit: usize) -> Result<()> {
    if size > limit {
        return Err(VmError::LimitExceeded { what, size, limit });
    }
    Ok(())
}

/// The VM is shared by execution threads.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Vm>();
};
