//! A p2p sender that reaches a fail point before each message: the consensus vote channel goes
//! through one, so a crash test can stop a validator after simplex journaled a vote and before
//! the vote left ([`formica_consensus::failpoints::SEND_VOTE`]).

use commonware_actor::{Feedback, Unreliable};
use commonware_p2p::{CheckedSender, LimitedSender, Recipients};
use commonware_runtime::IoBufs;
use std::time::SystemTime;

/// Wraps a sender; `point`, when set, is reached before every message it sends.
#[derive(Clone, Debug)]
pub struct FailpointSender<S> {
    inner: S,
    point: Option<&'static str>,
}

impl<S> FailpointSender<S> {
    pub fn new(inner: S, point: Option<&'static str>) -> Self {
        Self { inner, point }
    }
}

impl<S: LimitedSender> LimitedSender for FailpointSender<S> {
    type PublicKey = S::PublicKey;
    type Checked<'a>
        = FailpointChecked<S::Checked<'a>>
    where
        Self: 'a;

    fn check(&mut self, recipients: Recipients<Self::PublicKey>) -> Result<Self::Checked<'_>, SystemTime> {
        let point = self.point;
        self.inner.check(recipients).map(|inner| FailpointChecked { inner, point })
    }
}

/// A checked send that reaches the fail point before it goes out.
pub struct FailpointChecked<C> {
    inner: C,
    point: Option<&'static str>,
}

impl<C: CheckedSender> CheckedSender for FailpointChecked<C> {
    type PublicKey = C::PublicKey;

    fn recipients(&self) -> Vec<Self::PublicKey> {
        self.inner.recipients()
    }

    fn send(self, message: impl Into<IoBufs> + Send, priority: bool) -> Unreliable<Feedback> {
        if let Some(point) = self.point {
            formica_consensus::failpoints::reach(point);
        }
        self.inner.send(message, priority)
    }
}
