//! The harness's hands on the simulated wire: taps that record votes as they leave a validator
//! or reach an honest one, and the routes that give each copy of a twin its part of the network.
//!
//! Vote-channel messages are an epoch subchannel varint, then the vote; a tap decodes them
//! without verifying signatures and passes every message on unchanged.

use crate::{
    checker::{SignedVote, VoteKind},
    plan::TwinSide,
};
use commonware_codec::{DecodeExt as _, ReadExt as _};
use commonware_consensus::simplex::types::Vote;
use commonware_p2p::{
    Recipients,
    simulated::{SplitForwarder, SplitOrigin, SplitRouter, SplitTarget},
};
use commonware_runtime::IoBuf;
use formica_consensus::SigningScheme;
use formica_types::{Hash, PublicKey};
use std::sync::{Arc, Mutex};

/// Votes seen on the vote channel, shared with the taps that record them.
pub type VoteLog = Arc<Mutex<Vec<SignedVote>>>;

/// The vote a vote-channel message carries, if it decodes.
fn decode_vote(message: &IoBuf) -> Option<SignedVote> {
    let mut body = message.clone();
    let epoch = commonware_codec::varint::UInt::<u64>::read(&mut body).ok()?.0;
    let vote = Vote::<SigningScheme, Hash>::decode(body).ok()?;
    Some(match &vote {
        Vote::Notarize(notarize) => SignedVote {
            epoch,
            signer: notarize.attestation.signer.get(),
            view: notarize.proposal.round.view().get(),
            kind: VoteKind::Notarize,
            payload: Some(notarize.proposal.payload),
        },
        Vote::Nullify(nullify) => SignedVote {
            epoch,
            signer: nullify.attestation.signer.get(),
            view: nullify.round.view().get(),
            kind: VoteKind::Nullify,
            payload: None,
        },
        Vote::Finalize(finalize) => SignedVote {
            epoch,
            signer: finalize.attestation.signer.get(),
            view: finalize.proposal.round.view().get(),
            kind: VoteKind::Finalize,
            payload: Some(finalize.proposal.payload),
        },
    })
}

fn record(votes: &VoteLog, message: &IoBuf) {
    if let Some(vote) = decode_vote(message) {
        votes.lock().expect("vote log lock is never poisoned").push(vote);
    }
}

/// A tap on a validator's outbound messages: with `votes`, vote-channel messages are recorded;
/// every message goes on to its recipients unchanged.
pub(crate) fn tap(votes: Option<VoteLog>) -> impl SplitForwarder<PublicKey> {
    move |_, recipients: &Recipients<PublicKey>, message: &IoBuf| {
        if let Some(votes) = &votes {
            record(votes, message);
        }
        Some(recipients.clone())
    }
}

/// A tap on an honest validator's inbound vote channel: votes from `from` (the Byzantine
/// validators) are recorded as they arrive, so a test can tell an equivocation reached honest
/// nodes rather than only left its signer.
pub(crate) fn delivered_tap(from: Arc<Vec<PublicKey>>, votes: VoteLog) -> impl SplitRouter<PublicKey> {
    move |(sender, message): &(PublicKey, IoBuf)| {
        if from.contains(sender) {
            record(&votes, message);
        }
        SplitTarget::Primary
    }
}

/// Which copy of every twin each validator reaches now, shared by every twin's routes and set
/// by the harness as the plan redraws it.
#[derive(Clone)]
pub(crate) struct TwinRoutes {
    keys: Arc<Vec<PublicKey>>,
    sides: Arc<Mutex<Vec<TwinSide>>>,
}

impl TwinRoutes {
    /// Until the first [`TwinRoutes::set`], every validator reaches both copies.
    pub(crate) fn new(keys: Vec<PublicKey>) -> Self {
        let sides = vec![TwinSide::Both; keys.len()];
        Self { keys: Arc::new(keys), sides: Arc::new(Mutex::new(sides)) }
    }

    pub(crate) fn set(&self, sides: &[TwinSide]) {
        assert_eq!(sides.len(), self.keys.len(), "one side per validator");
        self.sides.lock().expect("twin routes lock is never poisoned").copy_from_slice(sides);
    }

    fn side(&self, peer: &PublicKey) -> Option<TwinSide> {
        let position = self.keys.iter().position(|key| key == peer)?;
        Some(self.sides.lock().expect("twin routes lock is never poisoned")[position])
    }

    fn reaches(&self, copy: SplitOrigin, peer: &PublicKey) -> bool {
        matches!(
            (copy, self.side(peer)),
            (_, Some(TwinSide::Both))
                | (SplitOrigin::Primary, Some(TwinSide::First))
                | (SplitOrigin::Secondary, Some(TwinSide::Second))
        )
    }
}

/// What a copy of the twin `me` sends reaches only the validators on its side; with `votes`,
/// its votes are recorded first (both copies sign with one key, so the log shows the
/// equivocation).
pub(crate) fn twin_forwarder(
    me: PublicKey,
    votes: Option<VoteLog>,
    routes: TwinRoutes,
) -> impl SplitForwarder<PublicKey> {
    move |copy: SplitOrigin, recipients: &Recipients<PublicKey>, message: &IoBuf| {
        if let Some(votes) = &votes {
            record(votes, message);
        }
        let reached = |peer: &&PublicKey| **peer != me && routes.reaches(copy, peer);
        // A message for nobody on this side is sent to nobody (not refused: the node's
        // sender must not learn it was cut off).
        Some(match recipients {
            Recipients::All => Recipients::Some(routes.keys.iter().filter(reached).cloned().collect()),
            Recipients::Some(peers) => Recipients::Some(peers.iter().filter(reached).cloned().collect()),
            Recipients::One(peer) if reached(&peer) => Recipients::One(peer.clone()),
            Recipients::One(_) => Recipients::Some(Vec::new()),
        })
    }
}

/// What reaches the twin goes to the copy (or copies) on its sender's side.
pub(crate) fn twin_router(routes: TwinRoutes) -> impl SplitRouter<PublicKey> {
    move |(sender, _): &(PublicKey, IoBuf)| match routes.side(sender) {
        Some(TwinSide::First) => SplitTarget::Primary,
        Some(TwinSide::Second) => SplitTarget::Secondary,
        Some(TwinSide::Both) => SplitTarget::Both,
        None => SplitTarget::None,
    }
}
