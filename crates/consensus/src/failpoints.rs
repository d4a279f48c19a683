//! Named fail points on the commit path, for the crash-recovery tests.
//!
//! A fail point does nothing unless the process configured it at startup: `formica node` reads
//! `FORMICA_FAILPOINTS` (for example `commit.after_state=20*off->return`: pass 20 times, then
//! fire), and a point that fires stops the process at once with `abort`, as a crash would: no
//! destructors, no flushing, no shutdown. The node's config file cannot set one. The points,
//! in the order a finalized block meets them (marshal has stored the block before the first):
//!
//! | point | reached | what is durable when it fires |
//! | --- | --- | --- |
//! | [`BEFORE_STATE`] | a finalized block is about to be applied | the block (marshal's archive) |
//! | [`AFTER_STATE`] | its state batch is applied | the block and its state writes |
//! | [`AFTER_INDEXES`] | its indexes are written and synced, before the block is acknowledged | the block, state and indexes |
//! | [`SEND_VOTE`] | a consensus vote is about to be sent | simplex's journal of what this validator signed |
//!
//! `fail` keeps the configuration; evaluating an unconfigured point is a map lookup.

/// A finalized block stored by marshal, before its state batch is applied.
pub const BEFORE_STATE: &str = "commit.before_state";
/// A finalized block's state applied, before its indexes are written.
pub const AFTER_STATE: &str = "commit.after_state";
/// A finalized block's indexes written and synced, before marshal is told it is processed.
pub const AFTER_INDEXES: &str = "commit.after_indexes";
/// A consensus vote signed and journaled, before it is sent.
pub const SEND_VOTE: &str = "consensus.send_vote";

/// Every fail point, in commit order.
pub const ALL: [&str; 4] = [BEFORE_STATE, AFTER_STATE, AFTER_INDEXES, SEND_VOTE];

/// A fail point configuration that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FailpointError {
    #[error("unknown fail point {0:?}; the points are {ALL:?}")]
    Unknown(String),
    #[error("fail point entry {0:?} is not NAME=ACTIONS")]
    Malformed(String),
    #[error("fail point {name}: {reason}")]
    Actions { name: String, reason: String },
}

/// Configures the points named in `spec`: `NAME=ACTIONS` entries separated by `;`, with `fail`'s
/// action syntax (`off`, `return`, counts such as `3*off->return`, percentages). An action that
/// returns makes the point crash the process.
pub fn configure(spec: &str) -> Result<Vec<String>, FailpointError> {
    let mut configured = Vec::new();
    for entry in spec.split(';').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (name, actions) = entry.split_once('=').ok_or_else(|| FailpointError::Malformed(entry.to_string()))?;
        let name = name.trim();
        if !ALL.contains(&name) {
            return Err(FailpointError::Unknown(name.to_string()));
        }
        fail::cfg(name, actions.trim()).map_err(|reason| FailpointError::Actions { name: name.to_string(), reason })?;
        configured.push(name.to_string());
    }
    Ok(configured)
}

/// Evaluates the point `name`; if its configuration fires, the process stops here.
pub fn reach(name: &'static str) {
    if fail::eval(name, |_| ()).is_some() {
        eprintln!("fail point {name} fired: stopping the process as a crash would");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_malformed_points_are_refused_and_an_unfired_point_passes() {
        assert_eq!(configure("commit.nowhere=return"), Err(FailpointError::Unknown("commit.nowhere".into())));
        assert_eq!(configure("commit.after_state"), Err(FailpointError::Malformed("commit.after_state".into())));
        assert!(matches!(configure("commit.after_state=sometimes"), Err(FailpointError::Actions { .. })));
        // Configured to pass a thousand times: reaching it here returns.
        assert_eq!(configure(" consensus.send_vote=1000*off->return ; "), Ok(vec![SEND_VOTE.to_string()]));
        reach(SEND_VOTE);
        fail::remove(SEND_VOTE);
        reach(SEND_VOTE);
    }
}
