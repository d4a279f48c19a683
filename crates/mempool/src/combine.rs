//! Batched signature checks for clients' transactions, without a task of their own.
//!
//! A submitter that finds nobody checking becomes the checker. It checks its own transaction
//! together with every one waiting (up to [`SIGNATURE_BATCH_MAX`]) in one batch and answers
//! each waiting submitter. If more are waiting after that, it hands the checker's role to the
//! first of them instead of serving them itself, so no submitter does more than one batch.
//! A submitter alone is checked at once, on its own task, with no hand-off. Submitters that
//! arrive while a batch runs wait and form the next batch.

use crate::SIGNATURE_BATCH_MAX;
use formica_types::Transaction;
use futures::channel::oneshot;
use rand::{SeedableRng, rngs::StdRng};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

/// What the checker tells a waiting submitter.
enum Reply {
    /// Its verdict, with its transaction handed back.
    Checked(bool, Transaction),
    /// It is the checker now, for its own transaction and whoever waits.
    TakeOver(Transaction, Baton),
}

/// The checker's role in transit. If the submitter it was sent to is gone before reading it
/// (a client that disconnected), dropping it passes the role on, so nobody waits forever.
struct Baton {
    checks: Arc<SignatureChecks>,
    armed: bool,
}

impl Drop for Baton {
    fn drop(&mut self) {
        if self.armed {
            self.checks.hand_over();
        }
    }
}

type Waiting = (Transaction, oneshot::Sender<Reply>);

struct State {
    checking: bool,
    waiting: VecDeque<Waiting>,
}

/// Shared by every handle of one mempool.
pub(crate) struct SignatureChecks {
    state: Mutex<State>,
    /// The batch verifier's randomness (it only makes forging a passing batch improbable; the
    /// verdicts are the same whatever it draws).
    rng: Mutex<StdRng>,
}

/// Why a submitter got no verdict: its checker went away without answering (a bug; the
/// submission is refused rather than left waiting).
#[derive(Debug)]
pub(crate) struct Abandoned;

impl SignatureChecks {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(State { checking: false, waiting: VecDeque::new() }),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("the checks lock is never poisoned: no code panics while holding it")
    }

    /// The verdicts of `transactions`, checked together in one batch (a client's bulk
    /// submission: it needs nobody to wait with).
    pub(crate) fn check_many(&self, transactions: &[&Transaction]) -> Vec<bool> {
        let mut rng = self.rng.lock().expect("the rng lock is never poisoned");
        formica_crypto::verify_batch(&mut *rng, transactions)
    }

    /// Whether `transaction`'s signatures are valid, exactly as `verify_individually` decides,
    /// handed back with the verdict.
    pub(crate) async fn check(self: &Arc<Self>, transaction: Transaction) -> Result<(bool, Transaction), Abandoned> {
        let receive = {
            let mut state = self.state();
            if state.checking {
                let (reply, receive) = oneshot::channel();
                state.waiting.push_back((transaction, reply));
                Ok(receive)
            } else {
                state.checking = true;
                Err(transaction)
            }
        };
        let own = match receive {
            Err(transaction) => transaction,
            Ok(receive) => match receive.await.map_err(|_| Abandoned)? {
                Reply::Checked(valid, transaction) => return Ok((valid, transaction)),
                Reply::TakeOver(transaction, mut baton) => {
                    baton.armed = false;
                    transaction
                }
            },
        };
        // This submitter is the checker: one batch, its own transaction first. Nothing below
        // awaits, so the role cannot be dropped half-way.
        let batch: Vec<Waiting> = {
            let mut state = self.state();
            let take = state.waiting.len().min(SIGNATURE_BATCH_MAX - 1);
            state.waiting.drain(..take).collect()
        };
        let verdicts = if batch.is_empty() {
            vec![formica_crypto::verify_individually(&own)]
        } else {
            let references: Vec<&Transaction> =
                std::iter::once(&own).chain(batch.iter().map(|(transaction, _)| transaction)).collect();
            let mut rng = self.rng.lock().expect("the rng lock is never poisoned");
            formica_crypto::verify_batch(&mut *rng, &references)
        };
        let mut verdicts = verdicts.into_iter();
        let valid = verdicts.next().expect("one verdict per transaction");
        for ((transaction, reply), valid) in batch.into_iter().zip(verdicts) {
            // A submitter that went away no longer needs the answer.
            let _ = reply.send(Reply::Checked(valid, transaction));
        }
        self.hand_over();
        Ok((valid, own))
    }

    /// Passes the checker's role to the first submitter still waiting, or frees it.
    fn hand_over(self: &Arc<Self>) {
        let mut state = self.state();
        while let Some((transaction, reply)) = state.waiting.pop_front() {
            let baton = Baton { checks: self.clone(), armed: true };
            match reply.send(Reply::TakeOver(transaction, baton)) {
                Ok(()) => return,
                // That submitter went away; offer the role to the next. (Disarmed first: the
                // lock is held here.)
                Err(Reply::TakeOver(_, mut baton)) => baton.armed = false,
                Err(Reply::Checked(..)) => unreachable!("a take-over was sent"),
            }
        }
        state.checking = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    use formica_types::{AccountId, Amount, ChainId, Height, Nonce, Payload, TransactionBody};
    use std::{
        future::Future,
        pin::Pin,
        task::{Context, Poll},
    };

    fn transfer(seed: u64) -> Transaction {
        let key = PrivateKey::from_seed(seed);
        TransactionBody {
            chain_id: ChainId(1),
            sender: AccountId::from_public_key(&key.public_key()),
            nonce: Nonce(0),
            expiry_height: Height(10),
            fee_limit: Amount(1),
            payload: Payload::Transfer { to: AccountId([9; 32]), amount: Amount(1) },
        }
        .sign(&[&key])
    }

    type Check = Pin<Box<dyn Future<Output = Result<(bool, Transaction), Abandoned>>>>;

    fn submit(checks: &Arc<SignatureChecks>, transaction: Transaction) -> Check {
        let checks = checks.clone();
        Box::pin(async move { checks.check(transaction).await })
    }

    fn poll(check: &mut Check) -> Poll<Result<(bool, Transaction), Abandoned>> {
        check.as_mut().poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
    }

    fn verdict(check: &mut Check) -> bool {
        match poll(check) {
            Poll::Ready(Ok((valid, _))) => valid,
            Poll::Ready(Err(_)) => panic!("abandoned"),
            Poll::Pending => panic!("still waiting"),
        }
    }

    /// Submissions waiting while another submitter checks, one of whose clients goes away.
    fn waiting(checks: &Arc<SignatureChecks>) -> (Check, Check, Check) {
        checks.state().checking = true;
        let mut tampered = transfer(2);
        tampered.signatures[0].signature.0[3] ^= 1;
        let mut checks = (submit(checks, transfer(1)), submit(checks, tampered), submit(checks, transfer(3)));
        assert!(poll(&mut checks.0).is_pending() && poll(&mut checks.1).is_pending());
        assert!(poll(&mut checks.2).is_pending());
        checks
    }

    #[test]
    fn a_lone_submission_is_checked_at_once() {
        let checks = Arc::new(SignatureChecks::new(1));
        assert!(verdict(&mut submit(&checks, transfer(1))));
        let mut tampered = transfer(2);
        tampered.signatures[0].signature.0[0] ^= 1;
        assert!(!verdict(&mut submit(&checks, tampered)));
        assert!(!checks.state().checking);
    }

    #[test]
    fn the_role_skips_a_submitter_that_went_away_and_the_next_checks_everyone_waiting() {
        let checks = Arc::new(SignatureChecks::new(1));
        let (first, mut second, mut third) = waiting(&checks);
        drop(first);
        checks.hand_over();
        assert!(!verdict(&mut second), "the new checker's own, tampered, transaction");
        assert!(verdict(&mut third), "answered by the batch of the new checker");
        let state = checks.state();
        assert!(!state.checking && state.waiting.is_empty());
    }

    #[test]
    fn a_role_sent_to_a_submitter_that_then_went_away_is_passed_on() {
        let checks = Arc::new(SignatureChecks::new(1));
        let (first, mut second, mut third) = waiting(&checks);
        checks.hand_over();
        // The first submitter was sent the role but its client left before it read it.
        drop(first);
        assert!(!verdict(&mut second));
        assert!(verdict(&mut third));
        let state = checks.state();
        assert!(!state.checking && state.waiting.is_empty());
    }
}
