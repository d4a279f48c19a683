//! Who may upgrade and freeze a contract: its admin account or organisation, regulators (freezing
//! only), or, for a contract deployed with `ContractAdmin::Governance`, approved proposals alone
//! (`GovernanceAction::UpgradeContract` records an approval an `Upgrade` transaction then uses;
//! `GovernanceAction::SetContractFrozen` applies at once).

use crate::contracts::{Applied, contract_record};
use crate::governance;
use crate::transition::{Halt, StateOverlay, Unread, fail};
use formica_state::{StateKey, StateValue};
use formica_types::{AccountId, ContractAdmin, ContractRecord, FailureCode, Role};

/// What an admin transaction does to a contract.
#[derive(Clone, Copy)]
pub(crate) enum AdminAction<'a> {
    /// Replaces the code with this module.
    Upgrade(&'a [u8]),
    Freeze,
}

/// Whether `sender` may not take `action` on `contract`: its admin account or an admin of its
/// admin organisation may; any regulator may freeze; a contract administered by governance is
/// upgraded only to the module an approved proposal named (by anyone), and frozen only by a
/// proposal.
pub(crate) fn refuse_admin_action(
    overlay: &StateOverlay,
    sender: &AccountId,
    contract: &AccountId,
    action: AdminAction<'_>,
) -> Result<Option<Applied>, Unread> {
    if contract_record(overlay, contract)?.is_none() {
        return Ok(Some(Applied::failed(FailureCode::ContractMissing, format!("no contract at {contract}"), 0)));
    }
    let admin = contract_admin(overlay, contract)?;
    if admin == ContractAdmin::Governance {
        let refusal = match action {
            AdminAction::Freeze => format!("contract {contract} is frozen and unfrozen only by a governance proposal"),
            AdminAction::Upgrade(code) => match approved_upgrade(overlay, contract)? {
                Some(approved) if approved == formica_crypto::sha256(code) => return Ok(None),
                Some(approved) => format!(
                    "governance approved the module 0x{} for contract {contract}, not this one",
                    approved.iter().map(|byte| format!("{byte:02x}")).collect::<String>()
                ),
                None => format!("no governance proposal approved an upgrade of contract {contract}"),
            },
        };
        return Ok(Some(Applied::failed(FailureCode::NotPermitted, refusal, 0)));
    }
    let permitted = match admin {
        ContractAdmin::None | ContractAdmin::Governance => false,
        ContractAdmin::Account(account) => account == *sender,
        ContractAdmin::Organisation(org) => governance::member_of(overlay, sender)?.is_some_and(|(of, _)| of == org),
    };
    let regulators = matches!(action, AdminAction::Freeze);
    if permitted || (regulators && overlay.has_role(sender, Role::Regulator)?) {
        return Ok(None);
    }
    Ok(Some(Applied::failed(
        FailureCode::NotPermitted,
        format!("{sender} is not the admin ({admin}) of contract {contract}"),
        0,
    )))
}

/// Who administers the contract at `contract` (which exists).
fn contract_admin(overlay: &StateOverlay, contract: &AccountId) -> Result<ContractAdmin, Unread> {
    match overlay.value(&StateKey::ContractAdmin(*contract))? {
        Some(StateValue::ContractAdmin(admin)) => Ok(*admin),
        other => panic!("the admin record of contract {contract} holds {other:?}"),
    }
}

/// The code hash governance approved as the next version of `contract`, if any.
pub(crate) fn approved_upgrade(overlay: &StateOverlay, contract: &AccountId) -> Result<Option<[u8; 32]>, Unread> {
    Ok(match overlay.value(&StateKey::ContractUpgrade(*contract))? {
        Some(StateValue::ApprovedCode(code_hash)) => Some(*code_hash),
        Some(other) => panic!("the approved upgrade of contract {contract} holds {other:?}"),
        None => None,
    })
}

/// The contract a governance action names, if it exists and governance administers it.
fn governed_contract(overlay: &StateOverlay, contract: &AccountId) -> Result<ContractRecord, Halt> {
    let Some(record) = contract_record(overlay, contract)? else {
        return fail(FailureCode::ContractMissing, format!("no contract at {contract}"));
    };
    let admin = contract_admin(overlay, contract)?;
    if admin != ContractAdmin::Governance {
        return fail(
            FailureCode::InvalidProposal,
            format!("contract {contract} is administered by {admin}, not by governance"),
        );
    }
    Ok(record)
}

/// The write `UpgradeContract` makes, after its checks: the approval an `Upgrade` transaction
/// then uses.
pub(crate) fn plan_governance_upgrade(
    overlay: &StateOverlay,
    contract: &AccountId,
    code_hash: [u8; 32],
) -> Result<Vec<(StateKey, Option<StateValue>)>, Halt> {
    overlay.require([StateKey::Contract(*contract), StateKey::ContractAdmin(*contract)])?;
    governed_contract(overlay, contract)?;
    Ok(vec![(StateKey::ContractUpgrade(*contract), Some(StateValue::ApprovedCode(code_hash)))])
}

/// The write governance's `SetContractFrozen` makes, after its checks.
pub(crate) fn plan_governance_freeze(
    overlay: &StateOverlay,
    contract: &AccountId,
    frozen: bool,
) -> Result<Vec<(StateKey, Option<StateValue>)>, Halt> {
    overlay.require([StateKey::Contract(*contract), StateKey::ContractAdmin(*contract)])?;
    let mut record = governed_contract(overlay, contract)?;
    if record.frozen == frozen {
        let state = if frozen { "frozen already" } else { "not frozen" };
        return fail(FailureCode::ContractFreezeUnchanged, format!("contract {contract} is {state}"));
    }
    record.frozen = frozen;
    Ok(vec![(StateKey::Contract(*contract), Some(StateValue::Contract(record)))])
}
