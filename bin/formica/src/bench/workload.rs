//! The workload, generated ahead of time from a seed: account keys, and pre-signed native
//! transfers (or module calls, see [`super::remittance`]), so signing never limits a measurement.
//!
//! Account `i` of seed `s` has the key `AccountSigner::from_seed(Ed25519, account_seed(s, i))`.
//! Senders and receivers are drawn from the same [`Distribution`]; each sender's transactions
//! carry consecutive nonces from 0 in the order they are generated, which is the order the
//! driver submits them.

use formica_crypto::{AccountSigner, KeyFile, sign_transaction};
use formica_types::{AccountId, Amount, ChainId, Height, KeyScheme, Nonce, Payload, TransactionBody};
use std::time::Instant;

/// How accounts are picked for each transfer.
#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Every account equally likely.
    Uniform,
    /// Account of rank k (from 0) with weight 1/(k+1)^s (`--zipf-exponent`).
    Zipf,
}

/// A small, fast, seeded generator (SplitMix64): the workload must be the same for a seed on
/// every machine, independent of any library's stream.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1) from the top 53 bits.
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in [0, bound), `bound > 0` (multiply-shift; the bias is below 2^-32 for the
    /// account counts used here).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

/// Draws account indexes from a [`Distribution`] over `count` accounts.
pub enum Sampler {
    Uniform {
        count: u64,
    },
    /// Cumulative weights, normalised to end at 1.
    Zipf {
        cumulative: Vec<f64>,
    },
}

impl Sampler {
    pub fn new(distribution: Distribution, count: u64, exponent: f64) -> Self {
        assert!(count > 0, "at least one account");
        match distribution {
            Distribution::Uniform => Sampler::Uniform { count },
            Distribution::Zipf => {
                let mut total = 0.0;
                let mut cumulative: Vec<f64> = (0..count)
                    .map(|rank| {
                        total += 1.0 / ((rank + 1) as f64).powf(exponent);
                        total
                    })
                    .collect();
                for value in &mut cumulative {
                    *value /= total;
                }
                Sampler::Zipf { cumulative }
            }
        }
    }

    pub fn sample(&self, rng: &mut SplitMix64) -> u64 {
        match self {
            Sampler::Uniform { count } => rng.below(*count),
            Sampler::Zipf { cumulative } => {
                let unit = rng.next_unit();
                let index = cumulative.partition_point(|&value| value <= unit);
                index.min(cumulative.len() - 1) as u64
            }
        }
    }
}

/// The key seed of account `index` in the workload of `seed`.
pub fn account_seed(seed: u64, index: u64) -> u64 {
    seed.wrapping_mul(1 << 40).wrapping_add(index)
}

pub fn account_signer(seed: u64, index: u64) -> AccountSigner {
    AccountSigner::from_seed(KeyScheme::Ed25519, account_seed(seed, index))
}

/// The public keys (as genesis spells them) and account ids of the workload's accounts,
/// derived on `threads` threads.
pub fn accounts(seed: u64, count: u64, threads: usize) -> (Vec<String>, Vec<AccountId>) {
    let indexes: Vec<u64> = (0..count).collect();
    let chunk = indexes.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<Vec<(String, AccountId)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = indexes
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&index| {
                            let file = KeyFile::from_signer(&account_signer(seed, index));
                            (file.public_key, file.account_id)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().expect("key derivation does not panic")).collect()
    });
    parts.into_iter().flatten().unzip()
}

/// One planned transfer, before signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    pub sender: u64,
    pub receiver: u64,
    pub nonce: u64,
}

/// Plans `count` transfers: senders and receivers from `sampler` (never to oneself), nonces
/// consecutive per sender from `next_nonce`.
pub fn plan(
    sampler: &Sampler,
    accounts: u64,
    count: usize,
    rng: &mut SplitMix64,
    next_nonce: &mut [u64],
) -> Vec<Planned> {
    assert!(accounts >= 2, "transfers need two accounts");
    (0..count)
        .map(|_| {
            let sender = sampler.sample(rng);
            let mut receiver = sampler.sample(rng);
            if receiver == sender {
                receiver = (receiver + 1) % accounts;
            }
            let slot = &mut next_nonce[sender as usize];
            let nonce = *slot;
            *slot += 1;
            Planned { sender, receiver, nonce }
        })
        .collect()
}

/// A signed transaction ready to submit.
pub struct Prepared {
    pub hash: formica_types::Hash,
    pub encoded: Vec<u8>,
}

/// What every generated transfer moves and may pay.
pub const TRANSFER_AMOUNT: u128 = 1;
pub const FEE_LIMIT: u128 = 1;

/// One planned transaction of any workload, before signing: workload account `sender`'s
/// transaction with `nonce`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedCall {
    pub sender: u64,
    pub nonce: u64,
    pub payload: Payload,
}

/// Signs the planned transfers on `threads` threads.
pub fn sign(seed: u64, chain_id: ChainId, ids: &[AccountId], planned: &[Planned], threads: usize) -> Vec<Prepared> {
    let calls: Vec<PlannedCall> = planned
        .iter()
        .map(|transfer| PlannedCall {
            sender: transfer.sender,
            nonce: transfer.nonce,
            payload: Payload::Transfer { to: ids[transfer.receiver as usize], amount: Amount(TRANSFER_AMOUNT) },
        })
        .collect();
    sign_calls(seed, chain_id, ids, &calls, threads)
}

/// Signs planned transactions of any kind on `threads` threads, in order.
pub fn sign_calls(
    seed: u64,
    chain_id: ChainId,
    ids: &[AccountId],
    calls: &[PlannedCall],
    threads: usize,
) -> Vec<Prepared> {
    use commonware_codec::Encode;
    let chunk = calls.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = calls
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|call| {
                            let signer = account_signer(seed, call.sender);
                            let body = TransactionBody {
                                chain_id,
                                sender: ids[call.sender as usize],
                                nonce: Nonce(call.nonce),
                                expiry_height: Height(u64::MAX),
                                fee_limit: Amount(FEE_LIMIT),
                                payload: call.payload.clone(),
                            };
                            let transaction = sign_transaction(body, &[&signer]);
                            Prepared { hash: transaction.hash(), encoded: transaction.encode().to_vec() }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|handle| handle.join().expect("signing does not panic")).collect()
    })
}

/// Plans and signs `count` transfers, reporting how long it took on stderr.
pub fn generate(
    seed: u64,
    chain_id: ChainId,
    ids: &[AccountId],
    sampler: &Sampler,
    count: usize,
    threads: usize,
) -> Vec<Prepared> {
    let started = Instant::now();
    let mut rng = SplitMix64::new(seed ^ 0x5EED);
    let mut nonces = vec![0u64; ids.len()];
    let planned = plan(sampler, ids.len() as u64, count, &mut rng, &mut nonces);
    let prepared = sign(seed, chain_id, ids, &planned, threads);
    eprintln!("signed {count} transfers in {:.1} s", started.elapsed().as_secs_f64());
    prepared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_reproducible_with_consecutive_nonces_and_no_self_transfers() {
        let sampler = Sampler::new(Distribution::Zipf, 50, 1.0);
        let run = |seed| {
            let mut nonces = vec![0; 50];
            plan(&sampler, 50, 2_000, &mut SplitMix64::new(seed), &mut nonces)
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        let mut expected = [0u64; 50];
        for transfer in &first {
            assert_ne!(transfer.sender, transfer.receiver);
            assert_eq!(transfer.nonce, expected[transfer.sender as usize]);
            expected[transfer.sender as usize] += 1;
        }
    }

    #[test]
    fn zipf_favours_low_ranks_and_uniform_does_not() {
        let count = |distribution| {
            let sampler = Sampler::new(distribution, 100, 1.0);
            let mut rng = SplitMix64::new(1);
            let mut hits = [0u32; 100];
            for _ in 0..100_000 {
                hits[sampler.sample(&mut rng) as usize] += 1;
            }
            hits
        };
        let zipf = count(Distribution::Zipf);
        // Rank 0 has weight 1/H(100) = 19.3 %, rank 99 has 0.19 %.
        assert!((18_000..20_500).contains(&zipf[0]), "rank 0 drew {}", zipf[0]);
        assert!(zipf[99] < 400, "rank 99 drew {}", zipf[99]);
        let uniform = count(Distribution::Uniform);
        assert!(uniform.iter().all(|&hits| (800..1_200).contains(&hits)), "{uniform:?}");
    }

    #[test]
    fn signed_transfers_verify_and_hash_as_submitted() {
        let (_, ids) = accounts(3, 4, 2);
        let sampler = Sampler::new(Distribution::Uniform, 4, 1.0);
        let prepared = generate(3, ChainId(9), &ids, &sampler, 10, 2);
        assert_eq!(prepared.len(), 10);
        for item in &prepared {
            use commonware_codec::Decode;
            let limits = formica_types::TransactionLimits::default();
            let transaction = formica_types::Transaction::decode_cfg(item.encoded.clone(), &limits).expect("decodes");
            assert_eq!(transaction.hash(), item.hash);
            assert!(formica_crypto::verify_individually(&transaction));
            assert_eq!(transaction.body.chain_id, ChainId(9));
        }
    }
}
