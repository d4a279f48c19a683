//! Member organisations and governance by vote: proposals, approvals, and the actions an
//! approved proposal applies. The rules are stated in `docs/governance.md`.
//!
//! A proposal passes when the number of member organisations that approved it passes the
//! chain's [`ApprovalRule`](formica_types::ApprovalRule) of the members at that moment; an
//! organisation approves once `admin_threshold` of its admin accounts have. The approval that
//! makes a proposal pass applies its action in the same transaction: either the action applies
//! in full and the proposal is marked executed, or the approval fails and nothing is stored.

use crate::transition::{ChainParameters, Halt, StateOverlay, Unread, fail};
use formica_state::{StateKey, StateValue};
use formica_types::{
    AccountId, FailureCode, GovernanceAction, GovernanceState, Height, NODES_MAX, Node, NodeRole, NodeSet,
    ORG_ADMINS_MAX, OrgId, OrgName, Organisation, Proposal, PublicKey, VALIDATORS_MAX,
};

/// The governance record. It always exists after genesis.
pub(crate) fn state(overlay: &StateOverlay) -> Result<GovernanceState, Unread> {
    match overlay.value(&StateKey::Governance)? {
        Some(StateValue::Governance(state)) => Ok(*state),
        other => panic!("the governance record holds {other:?}"),
    }
}

fn organisation(overlay: &StateOverlay, org: OrgId) -> Result<Option<Organisation>, Unread> {
    Ok(match overlay.value(&StateKey::Organisation(org))? {
        Some(StateValue::Organisation(organisation)) => Some(*organisation),
        Some(other) => panic!("organisation record {org} holds {other:?}"),
        None => None,
    })
}

/// The active member organisation `account` is an admin of.
pub(crate) fn member_of(overlay: &StateOverlay, account: &AccountId) -> Result<Option<(OrgId, Organisation)>, Unread> {
    let org = match overlay.value(&StateKey::AdminOf(*account))? {
        Some(StateValue::AdminOf(org)) => *org,
        Some(other) => panic!("admin-of record of {account} holds {other:?}"),
        None => return Ok(None),
    };
    Ok(organisation(overlay, org)?.filter(|organisation| organisation.active).map(|organisation| (org, organisation)))
}

fn admins(overlay: &StateOverlay, org: OrgId, organisation: &Organisation) -> Result<Vec<AccountId>, Unread> {
    let keys: Vec<StateKey> = (0..organisation.admin_count).map(|slot| StateKey::OrgAdmin(org, slot)).collect();
    overlay.require(keys.iter().copied())?;
    keys.iter()
        .map(|key| match overlay.value(key)? {
            Some(StateValue::OrgAdmin(account)) => Ok(*account),
            other => panic!("{key:?} below the admin count holds {other:?}"),
        })
        .collect()
}

/// At the last block of an epoch: the voted consensus timeouts become the next epoch's.
pub(crate) fn end_epoch(overlay: &mut StateOverlay) -> Result<(), Unread> {
    let mut state = state(overlay)?;
    if state.epoch_timeouts != state.timeouts {
        state.epoch_timeouts = state.timeouts;
        set_governance(overlay, state);
    }
    Ok(())
}

/// How many transactions the next block may carry: the voted limit, never above the genesis cap.
pub(crate) fn block_transactions(parameters: &ChainParameters, overlay: &StateOverlay) -> Result<usize, Unread> {
    Ok(state(overlay)?.block_transactions.min(parameters.block_transactions_max) as usize)
}

fn set_governance(overlay: &mut StateOverlay, state: GovernanceState) {
    overlay.set(StateKey::Governance, Some(StateValue::Governance(state)));
}

/// Writes a new organisation with `admins` (checked by the caller: 1 to 8, none an admin
/// elsewhere) and counts it as a member.
pub(crate) fn admit(
    overlay: &mut StateOverlay,
    state: &mut GovernanceState,
    name: OrgName,
    admins: &[AccountId],
    admin_threshold: u8,
) -> OrgId {
    let org = state.next_org;
    let admin_count = u8::try_from(admins.len()).expect("at most eight admins");
    let organisation = Organisation { name, admin_threshold, admin_count, active: true };
    overlay.set(StateKey::Organisation(org), Some(StateValue::Organisation(organisation)));
    for (slot, admin) in admins.iter().enumerate() {
        let slot = u8::try_from(slot).expect("at most eight admins");
        overlay.set(StateKey::OrgAdmin(org, slot), Some(StateValue::OrgAdmin(*admin)));
        overlay.set(StateKey::AdminOf(*admin), Some(StateValue::AdminOf(org)));
    }
    state.next_org = OrgId(org.0 + 1);
    state.members += 1;
    org
}

/// Appends `node` to the registry (genesis only: the caller checked it).
pub(crate) fn register_node(overlay: &mut StateOverlay, state: &mut GovernanceState, node: Node) {
    let slot = state.nodes;
    overlay.set(StateKey::NodeSlot(key_bytes(&node.key)), Some(StateValue::NodeSlot(slot)));
    overlay.set(StateKey::Node(slot), Some(StateValue::Node(node)));
    state.nodes += 1;
}

fn key_bytes(key: &PublicKey) -> [u8; 32] {
    key.as_ref().try_into().expect("an ed25519 public key is 32 bytes")
}

/// The node registry, in slot order.
pub fn nodes(overlay: &StateOverlay) -> Result<NodeSet, Unread> {
    let state = state(overlay)?;
    let keys: Vec<StateKey> = (0..state.nodes).map(StateKey::Node).collect();
    overlay.require(keys.iter().copied())?;
    let nodes = keys
        .iter()
        .map(|key| match overlay.value(key)? {
            Some(StateValue::Node(node)) => Ok(node.clone()),
            other => panic!("{key:?} below the node count holds {other:?}"),
        })
        .collect::<Result<Vec<_>, Unread>>()?;
    Ok(NodeSet(nodes))
}

/// The slot of the node with `key`, if it is registered.
fn node_slot(overlay: &StateOverlay, key: &PublicKey) -> Result<Option<u16>, Unread> {
    Ok(match overlay.value(&StateKey::NodeSlot(key_bytes(key)))? {
        Some(StateValue::NodeSlot(slot)) => Some(*slot),
        Some(other) => panic!("the node slot of {key} holds {other:?}"),
        None => None,
    })
}

/// `Propose`: records the proposal and the proposer's approval (which may pass it at once).
pub(crate) fn propose(
    parameters: &ChainParameters,
    height: Height,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    action: &GovernanceAction,
    expiry_blocks: u32,
) -> Result<(), Halt> {
    let Some((org, _)) = member_of(overlay, sender)? else {
        return fail(FailureCode::NotMember, format!("{sender} is not an admin of a member organisation"));
    };
    if expiry_blocks == 0 || expiry_blocks > parameters.proposal_expiry_blocks_max {
        return fail(
            FailureCode::InvalidProposal,
            format!("a proposal stays open 1 to {} blocks", parameters.proposal_expiry_blocks_max),
        );
    }
    // Refuse what could not apply now, so members do not vote on it. It is checked again when it
    // passes (the registry may have changed meanwhile).
    let mut state = state(overlay)?;
    plan_action(parameters, overlay, &mut state.clone(), action, height)?;
    let id = state.next_proposal;
    overlay.require([StateKey::OrgApprovals(id, org), StateKey::Approved(id, *sender)])?;
    state.next_proposal += 1;
    set_governance(overlay, state);
    let proposal = Proposal {
        proposer: org,
        created_at: height,
        expires_at: Height(height.get().saturating_add(u64::from(expiry_blocks))),
        approvals: 0,
        executed: false,
    };
    overlay.set(StateKey::Proposal(id), Some(StateValue::Proposal(proposal)));
    overlay.set(StateKey::ProposalAction(id), Some(StateValue::ProposalAction(action.clone())));
    // Everything the approval reads was read above and every check it makes holds for a new
    // proposal, so it cannot fail after these writes.
    approve(parameters, height, overlay, sender, id)
}

/// `Approve` (and the proposer's own approval).
pub(crate) fn approve(
    parameters: &ChainParameters,
    height: Height,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    id: u64,
) -> Result<(), Halt> {
    let Some((org, organisation)) = member_of(overlay, sender)? else {
        return fail(FailureCode::NotMember, format!("{sender} is not an admin of a member organisation"));
    };
    let mut proposal = match overlay.value(&StateKey::Proposal(id))? {
        Some(StateValue::Proposal(proposal)) => *proposal,
        Some(other) => panic!("proposal {id} holds {other:?}"),
        None => return fail(FailureCode::ProposalMissing, format!("no proposal {id}")),
    };
    if proposal.executed {
        return fail(FailureCode::ProposalExecuted, format!("proposal {id} was applied already"));
    }
    if height > proposal.expires_at {
        return fail(FailureCode::ProposalExpired, format!("proposal {id} expired at height {}", proposal.expires_at));
    }
    if overlay.value(&StateKey::Approved(id, *sender))?.is_some() {
        return fail(FailureCode::AlreadyApproved, format!("{sender} approved proposal {id} already"));
    }
    let (admins, counted) = match overlay.value(&StateKey::OrgApprovals(id, org))? {
        Some(StateValue::OrgApprovals { admins, counted }) => (*admins, *counted),
        Some(other) => panic!("approvals of {org} for proposal {id} hold {other:?}"),
        None => (0, false),
    };
    // Admins come and go by vote, so the count is bounded only by how many there ever were.
    let admins = admins.saturating_add(1);
    // An organisation counts once, when its approving admins first reach its threshold (which
    // may have been lowered since some of them approved).
    let org_approves_now = !counted && admins >= organisation.admin_threshold;
    let mut state = state(overlay)?;
    if org_approves_now {
        proposal.approvals += 1;
    }
    // Judged against the members now: a proposal whose approvals suffice after a member left
    // passes with the next approval.
    let passes = parameters.approval_rule.passes(proposal.approvals, state.members);
    if passes {
        let action = match overlay.value(&StateKey::ProposalAction(id))? {
            Some(StateValue::ProposalAction(action)) => action.clone(),
            other => panic!("the action of proposal {id} holds {other:?}"),
        };
        // The action is planned (every read, every check) before its first write: a failing
        // action leaves no trace.
        for (key, value) in plan_action(parameters, overlay, &mut state, &action, height)? {
            overlay.set(key, value);
        }
        proposal.executed = true;
        set_governance(overlay, state);
    }
    overlay.set(StateKey::Approved(id, *sender), Some(StateValue::Approved(height)));
    let counted = counted || org_approves_now;
    overlay.set(StateKey::OrgApprovals(id, org), Some(StateValue::OrgApprovals { admins, counted }));
    overlay.set(StateKey::Proposal(id), Some(StateValue::Proposal(proposal)));
    Ok(())
}

fn active(overlay: &StateOverlay, org: OrgId) -> Result<Organisation, Halt> {
    match organisation(overlay, org)? {
        Some(organisation) if organisation.active => Ok(organisation),
        _ => fail(FailureCode::OrgMissing, format!("{org} is not a member")),
    }
}

type Writes = Vec<(StateKey, Option<StateValue>)>;

/// What applying `action` at `height` writes, after every check; updates `state` in place.
fn plan_action(
    parameters: &ChainParameters,
    overlay: &StateOverlay,
    state: &mut GovernanceState,
    action: &GovernanceAction,
    height: Height,
) -> Result<Writes, Halt> {
    let organisation_write =
        |org, organisation| (StateKey::Organisation(org), Some(StateValue::Organisation(organisation)));
    let block_transactions_cap = parameters.block_transactions_max;
    match *action {
        GovernanceAction::AddOrganisation { name, admin } => {
            overlay.require([StateKey::AdminOf(admin), StateKey::Organisation(state.next_org)])?;
            if overlay.value(&StateKey::AdminOf(admin))?.is_some() {
                return fail(FailureCode::AdminExists, format!("{admin} is an admin of an organisation already"));
            }
            let org = state.next_org;
            state.next_org = OrgId(org.0 + 1);
            state.members += 1;
            let organisation = Organisation { name, admin_threshold: 1, admin_count: 1, active: true };
            Ok(vec![
                organisation_write(org, organisation),
                (StateKey::OrgAdmin(org, 0), Some(StateValue::OrgAdmin(admin))),
                (StateKey::AdminOf(admin), Some(StateValue::AdminOf(org))),
            ])
        }
        GovernanceAction::RemoveOrganisation { org } => {
            let mut organisation = active(overlay, org)?;
            if state.members <= 1 {
                return fail(FailureCode::WouldLoseQuorum, "the last member cannot be removed");
            }
            organisation.active = false;
            state.members -= 1;
            Ok(vec![organisation_write(org, organisation)])
        }
        GovernanceAction::AddAdmin { org, account } => {
            let mut organisation = active(overlay, org)?;
            if organisation.admin_count >= ORG_ADMINS_MAX {
                return fail(FailureCode::AdminSetFull, format!("an organisation has at most {ORG_ADMINS_MAX} admins"));
            }
            overlay.require([StateKey::AdminOf(account), StateKey::OrgAdmin(org, organisation.admin_count)])?;
            if overlay.value(&StateKey::AdminOf(account))?.is_some() {
                return fail(FailureCode::AdminExists, format!("{account} is an admin of an organisation already"));
            }
            let slot = organisation.admin_count;
            organisation.admin_count += 1;
            Ok(vec![
                (StateKey::OrgAdmin(org, slot), Some(StateValue::OrgAdmin(account))),
                (StateKey::AdminOf(account), Some(StateValue::AdminOf(org))),
                organisation_write(org, organisation),
            ])
        }
        GovernanceAction::RemoveAdmin { org, account } => {
            let mut organisation = active(overlay, org)?;
            let mut list = admins(overlay, org, &organisation)?;
            let Some(index) = list.iter().position(|admin| *admin == account) else {
                return fail(FailureCode::AdminMissing, format!("{account} is not an admin of {org}"));
            };
            if list.len() <= usize::from(organisation.admin_threshold) {
                return fail(
                    FailureCode::WouldLoseQuorum,
                    format!("{org} needs {} admins to approve anything", organisation.admin_threshold),
                );
            }
            // The last admin moves into the freed slot; the last slot is deleted.
            list.swap_remove(index);
            let last = organisation.admin_count - 1;
            let mut writes = Vec::new();
            if usize::from(last) != index {
                let slot = u8::try_from(index).expect("at most eight admins");
                writes.push((StateKey::OrgAdmin(org, slot), Some(StateValue::OrgAdmin(list[index]))));
            }
            writes.push((StateKey::OrgAdmin(org, last), None));
            writes.push((StateKey::AdminOf(account), None));
            organisation.admin_count = last;
            writes.push(organisation_write(org, organisation));
            Ok(writes)
        }
        GovernanceAction::SetAdminThreshold { org, threshold } => {
            let mut organisation = active(overlay, org)?;
            if threshold == 0 || threshold > organisation.admin_count {
                return fail(
                    FailureCode::InvalidProposal,
                    format!("{org}'s threshold must be between 1 and its {} admins", organisation.admin_count),
                );
            }
            organisation.admin_threshold = threshold;
            Ok(vec![organisation_write(org, organisation)])
        }
        GovernanceAction::GrantRole { account, role } | GovernanceAction::RevokeRole { account, role } => {
            let grant = matches!(action, GovernanceAction::GrantRole { .. });
            let held = overlay.has_role(&account, role)?;
            if held == grant {
                let state = if grant { "holds" } else { "does not hold" };
                return fail(FailureCode::RoleUnchanged, format!("{account} {state} the {role} role"));
            }
            Ok(vec![(StateKey::Role(account, role), grant.then_some(StateValue::Role(height)))])
        }
        GovernanceAction::SetAccountCreation { members_only } => {
            state.account_creation_members_only = members_only;
            Ok(Vec::new())
        }
        GovernanceAction::SetFee { fee } => {
            state.fee = fee;
            Ok(Vec::new())
        }
        GovernanceAction::SetBlockTransactions { max } => {
            if max == 0 || max > block_transactions_cap {
                return fail(
                    FailureCode::InvalidProposal,
                    format!("a block may carry between 1 and {block_transactions_cap} transactions (the genesis cap)"),
                );
            }
            state.block_transactions = max;
            Ok(Vec::new())
        }
        GovernanceAction::SetConsensusTimeouts { timeouts } => {
            // The decoder refuses timeouts out of range; the check stays for actions built in
            // process.
            if let Err(reason) = timeouts.check() {
                return fail(FailureCode::InvalidProposal, reason);
            }
            state.timeouts = timeouts;
            Ok(Vec::new())
        }
        GovernanceAction::SetApiAccess { members_only } => {
            state.api_members_only = members_only;
            Ok(Vec::new())
        }
        GovernanceAction::AddNode { org, ref key, address, role } => {
            active(overlay, org)?;
            if node_slot(overlay, key)?.is_some() {
                return fail(FailureCode::NodeExists, format!("node {key} is registered already"));
            }
            if state.nodes >= NODES_MAX {
                return fail(FailureCode::NodeSetFull, format!("the registry holds at most {NODES_MAX} nodes"));
            }
            let registry = nodes(overlay)?;
            if role == NodeRole::Validator && registry.validators().len() >= usize::from(VALIDATORS_MAX) {
                return fail(FailureCode::NodeSetFull, format!("an epoch has at most {VALIDATORS_MAX} validators"));
            }
            if registry.0.iter().any(|node| node.address == address) {
                return fail(FailureCode::InvalidProposal, format!("another node listens at {address}"));
            }
            let slot = state.nodes;
            state.nodes += 1;
            let node = Node { key: key.clone(), org, address, role };
            Ok(vec![
                (StateKey::NodeSlot(key_bytes(key)), Some(StateValue::NodeSlot(slot))),
                (StateKey::Node(slot), Some(StateValue::Node(node))),
            ])
        }
        GovernanceAction::RemoveNode { ref key } => {
            let Some(slot) = node_slot(overlay, key)? else {
                return fail(FailureCode::NodeMissing, format!("no node {key} is registered"));
            };
            let mut registry = nodes(overlay)?.0;
            let removed = registry.swap_remove(usize::from(slot));
            if removed.role == NodeRole::Validator && !registry.iter().any(|node| node.role == NodeRole::Validator) {
                return fail(FailureCode::WouldLoseQuorum, "the last validator cannot be removed");
            }
            // The last node moves into the freed slot; the last slot is deleted.
            let last = state.nodes - 1;
            let mut writes = Vec::new();
            if last != slot {
                let moved = registry[usize::from(slot)].clone();
                writes.push((StateKey::NodeSlot(key_bytes(&moved.key)), Some(StateValue::NodeSlot(slot))));
                writes.push((StateKey::Node(slot), Some(StateValue::Node(moved))));
            }
            writes.push((StateKey::Node(last), None));
            writes.push((StateKey::NodeSlot(key_bytes(key)), None));
            state.nodes = last;
            Ok(writes)
        }
        GovernanceAction::RotateNode { ref old, ref new } => {
            let Some(slot) = node_slot(overlay, old)? else {
                return fail(FailureCode::NodeMissing, format!("no node {old} is registered"));
            };
            if node_slot(overlay, new)?.is_some() {
                return fail(FailureCode::NodeExists, format!("node {new} is registered already"));
            }
            let mut node = match overlay.value(&StateKey::Node(slot))? {
                Some(StateValue::Node(node)) => node.clone(),
                other => panic!("node slot {slot} holds {other:?}"),
            };
            node.key = new.clone();
            Ok(vec![
                (StateKey::NodeSlot(key_bytes(old)), None),
                (StateKey::NodeSlot(key_bytes(new)), Some(StateValue::NodeSlot(slot))),
                (StateKey::Node(slot), Some(StateValue::Node(node))),
            ])
        }
        GovernanceAction::SetGasSchedule { price, tx_gas_max, block_gas_max } => {
            crate::contracts::plan_gas_schedule(price, tx_gas_max, block_gas_max)
        }
        GovernanceAction::UpgradeContract { contract, code_hash } => {
            crate::contracts_admin::plan_governance_upgrade(overlay, &contract, code_hash)
        }
        GovernanceAction::SetContractFrozen { contract, frozen } => {
            crate::contracts_admin::plan_governance_freeze(overlay, &contract, frozen)
        }
    }
}

/// Whether `sender` may create accounts under the chain's current policy.
pub(crate) fn may_create_accounts(overlay: &StateOverlay, sender: &AccountId) -> Result<bool, Unread> {
    Ok(!state(overlay)?.account_creation_members_only || member_of(overlay, sender)?.is_some())
}
