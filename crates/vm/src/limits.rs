//! Limits and the gas schedule. Both are consensus parameters: every validator must use the same.

/// Hard limits on what a contract may use. Every value a host function takes or returns is
/// bounded by one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest module accepted at deployment.
    pub code_bytes_max: usize,
    /// Linear memory of one instance.
    pub memory_bytes_max: usize,
    /// Table elements of one instance.
    pub table_elements_max: usize,
    /// Native stack wasm code may use within one contract frame.
    pub wasm_stack_bytes_max: usize,
    /// Contract frames on the stack at once (the top-level call is one).
    pub call_depth_max: usize,
    pub method_bytes_max: usize,
    pub input_bytes_max: usize,
    pub return_bytes_max: usize,
    pub revert_message_bytes_max: usize,
    pub storage_key_bytes_max: usize,
    pub storage_value_bytes_max: usize,
    pub event_topics_max: usize,
    pub event_data_bytes_max: usize,
    /// Events one transaction may emit over all its frames.
    pub events_max: usize,
    pub hash_input_bytes_max: usize,
    pub signed_message_bytes_max: usize,
    /// Compiled modules kept in memory (least recently used evicted first).
    pub module_cache_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            code_bytes_max: formica_types::CONTRACT_CODE_BYTES_MAX,
            memory_bytes_max: 4 * 1024 * 1024,
            table_elements_max: 4096,
            wasm_stack_bytes_max: 256 * 1024,
            call_depth_max: 4,
            method_bytes_max: formica_types::CONTRACT_METHOD_BYTES_MAX,
            input_bytes_max: formica_types::CONTRACT_INPUT_BYTES_MAX,
            return_bytes_max: 16 * 1024,
            revert_message_bytes_max: 256,
            storage_key_bytes_max: 128,
            storage_value_bytes_max: 4096,
            event_topics_max: formica_types::EVENT_TOPICS_MAX,
            event_data_bytes_max: formica_types::EVENT_DATA_BYTES_MAX,
            events_max: formica_types::EVENTS_PER_TRANSACTION_MAX,
            hash_input_bytes_max: 64 * 1024,
            signed_message_bytes_max: 16 * 1024,
            module_cache_entries: 64,
        }
    }
}

/// Gas prices. One unit of gas is one unit of wasmtime fuel (about one wasm instruction, roughly
/// a nanosecond of work here); host calls are priced at their measured cost in those units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GasSchedule {
    /// Entering a contract frame (instantiation, linking, copying the input).
    pub call_base: u64,
    /// Every host call, on top of its own price.
    pub host_call: u64,
    /// Each byte copied between the contract's memory and the host.
    pub copy_byte: u64,
    /// Each byte of code at deployment (validation and compilation).
    pub deploy_byte: u64,
    pub storage_read: u64,
    pub storage_read_byte: u64,
    pub storage_write: u64,
    pub storage_write_byte: u64,
    pub storage_remove: u64,
    /// Each node of the chain's ordered key index a storage call may touch: `key length + 1` when
    /// a `storage_set` creates a key or a `storage_remove` deletes one, and the nodes between the
    /// cursor and the entry found for `storage_next` (see `docs/contracts.md`).
    pub storage_index_node: u64,
    pub event: u64,
    pub event_topic: u64,
    pub event_byte: u64,
    pub transfer: u64,
    pub hash: u64,
    pub sha256_byte: u64,
    pub sm3_byte: u64,
    pub verify_ed25519: u64,
    pub verify_secp256k1: u64,
    pub verify_sm2: u64,
}

impl Default for GasSchedule {
    fn default() -> Self {
        Self {
            call_base: 20_000,
            host_call: 100,
            copy_byte: 1,
            deploy_byte: 100,
            storage_read: 2_000,
            storage_read_byte: 2,
            storage_write: 10_000,
            storage_write_byte: 20,
            storage_remove: 5_000,
            storage_index_node: 1_000,
            event: 2_000,
            event_topic: 200,
            event_byte: 10,
            transfer: 5_000,
            hash: 100,
            sha256_byte: 1,
            sm3_byte: 2,
            // Measured verification rates per core: ed25519 32k/s, secp256k1 13k/s, SM2 2.8k/s.
            verify_ed25519: 31_000,
            verify_secp256k1: 77_000,
            verify_sm2: 360_000,
        }
    }
}
