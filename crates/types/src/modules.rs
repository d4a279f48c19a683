//! The built-in modules' names, as their records and events are tagged in the state.

use crate::primitives::{AccountId, hash_tagged};
use std::fmt;

/// A built-in module of `formica-execution`. Its tag names its records in the state; its address
/// names it as the emitter of its events (an address no key and no deployment can produce).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Module {
    Assets,
    Remittance,
    Invoices,
    Finance,
    Traceability,
    Charity,
    Notary,
}

impl Module {
    /// Every module, in tag order.
    pub const ALL: [Module; 7] = [
        Module::Assets,
        Module::Remittance,
        Module::Invoices,
        Module::Finance,
        Module::Traceability,
        Module::Charity,
        Module::Notary,
    ];

    /// The module's tag in state keys.
    pub fn tag(self) -> u8 {
        match self {
            Module::Assets => 0,
            Module::Remittance => 1,
            Module::Invoices => 2,
            Module::Finance => 3,
            Module::Traceability => 4,
            Module::Charity => 5,
            Module::Notary => 6,
        }
    }

    /// The module's name in the CLI, the RPC and the docs.
    pub fn name(self) -> &'static str {
        match self {
            Module::Assets => "assets",
            Module::Remittance => "remittance",
            Module::Invoices => "invoices",
            Module::Finance => "finance",
            Module::Traceability => "traceability",
            Module::Charity => "charity",
            Module::Notary => "notary",
        }
    }

    /// The address the module's events name as their emitter.
    pub fn address(self) -> AccountId {
        AccountId(hash_tagged(b"formica/module/v1", &[self.name().as_bytes()]).0)
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
