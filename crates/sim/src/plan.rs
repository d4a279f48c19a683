//! The fault mix of one seed: how many validators, which are Byzantine, and a schedule of link
//! faults, partitions, crashes and restarts, then a heal; for twins, which copy reaches whom;
//! and whether a whole-network outage is a power loss that drops unsynced writes.

use crate::cluster::Byzantine;
use rand::{RngExt as _, SeedableRng as _, rngs::StdRng};
use std::time::Duration;

/// The quality of every link while a link fault is active.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkProfile {
    pub latency: Duration,
    pub jitter: Duration,
    /// Share of messages delivered, in percent.
    pub delivered_percent: u8,
}

/// How the network is cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Partition {
    /// Two halves that cannot reach each other.
    Halves(Vec<usize>, Vec<usize>),
    /// One validator cut off from all others.
    Isolate(usize),
    /// Each validator reaches only its two neighbours on a ring.
    Ring,
}

/// One scheduled fault (or the end of one).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Every link becomes lossy, slow or jittery.
    DegradeLinks(LinkProfile),
    Partition(Partition),
    /// Every link healthy again (ends a partition or link fault).
    RepairLinks,
    /// A validator's process is killed.
    Crash(usize),
    /// A crashed validator starts again from its storage.
    Restart(usize),
    /// Every honest validator's process is killed at once (beyond f: a site-wide outage).
    CrashAll,
    /// Every crashed validator starts again.
    RestartAll,
}

/// Which copy of a twin (see [`Byzantine::Twins`]) a validator exchanges messages with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwinSide {
    First,
    Second,
    /// Both copies: this validator sees the twin equivocate.
    Both,
}

/// A power loss: the plan's [`Event::CrashAll`] also takes away what the validators wrote to
/// runtime storage but had not synced. The simulation crashes the whole deterministic runtime
/// there and resumes a new one from its storage (see `run::run_seed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PowerLoss {
    /// Per unsynced write, the chance in percent that each of its bytes still reached the disk
    /// (0: every unsynced write is lost).
    pub retained_percent: u8,
    /// How the retained bytes of a write are arranged: `false` a prefix of it (a torn tail),
    /// `true` any subset (sectors written out of order).
    pub scattered: bool,
}

/// How often the twins' split of the network is drawn again.
pub const TWIN_SPLIT_EVERY: Duration = Duration::from_secs(4);

/// Everything drawn from one seed.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seed: u64,
    pub validators: usize,
    /// Per validator: `Some` replaces it with a Byzantine actor.
    pub byzantine: Vec<Option<Byzantine>>,
    /// Events, in time order, all before `heal_at`.
    pub events: Vec<(Duration, Event)>,
    /// Only with twins: from each time on, per validator, which copy of a twin it reaches (the
    /// twins' own entries are unused). Twins are Byzantine for the whole run, so their split
    /// goes on after the heal.
    pub twin_sides: Vec<(Duration, Vec<TwinSide>)>,
    /// Only with an [`Event::CrashAll`]: `Some` makes that outage a power loss.
    pub power_loss: Option<PowerLoss>,
    /// When every fault ends: links repaired, crashed validators restarted.
    pub heal_at: Duration,
    /// When the run ends (the network must have converged by then).
    pub end_at: Duration,
    pub transactions: usize,
}

/// How long a plan runs, and how much it sends.
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// Faults happen between the warm-up and `warm_up + faults`.
    pub warm_up: Duration,
    pub faults: Duration,
    /// After the heal, the network runs this long healthy.
    pub heal: Duration,
    pub transactions: usize,
}

impl Profile {
    /// The profile of the default test run (short, so hundreds of seeds fit in minutes).
    pub const QUICK: Self = Self {
        warm_up: Duration::from_secs(3),
        faults: Duration::from_secs(12),
        heal: Duration::from_secs(15),
        transactions: 24,
    };
}

/// The largest number of faulty validators `n` tolerates.
pub fn max_faulty(validators: usize) -> usize {
    (validators - 1) / 3
}

impl Plan {
    /// Draws the plan of `seed`.
    pub fn draw(seed: u64, profile: Profile) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_f0f0_1234_abcd);
        let validators = rng.random_range(4..=7);
        let faulty = max_faulty(validators);
        let mut byzantine = vec![None; validators];
        let byzantine_count = if rng.random_bool(0.35) { rng.random_range(1..=faulty) } else { 0 };
        for _ in 0..byzantine_count {
            let index = loop {
                let index = rng.random_range(0..validators);
                if byzantine[index].is_none() {
                    break index;
                }
            };
            byzantine[index] = Some(match rng.random_range(0..5) {
                0 => Byzantine::Conflicter,
                1 => Byzantine::Nuller,
                2 => Byzantine::Equivocator,
                3 => Byzantine::Twins,
                _ => Byzantine::InvalidProposer,
            });
        }
        let crash_budget = faulty - byzantine_count;
        let honest: Vec<usize> = (0..validators).filter(|index| byzantine[*index].is_none()).collect();
        let mut events = Vec::new();
        let mut crashed: Vec<usize> = Vec::new();
        let mut at = profile.warm_up;
        let heal_at = profile.warm_up + profile.faults;
        loop {
            at += Duration::from_millis(rng.random_range(1_000..4_000));
            if at >= heal_at {
                break;
            }
            let event = match rng.random_range(0..6) {
                0 => Event::DegradeLinks(LinkProfile {
                    latency: Duration::from_millis(rng.random_range(10..400)),
                    jitter: Duration::from_millis(rng.random_range(0..200)),
                    delivered_percent: rng.random_range(60..=100),
                }),
                1 => Event::Partition(match rng.random_range(0..3) {
                    0 => {
                        let split = rng.random_range(1..validators);
                        Event::halves(validators, split)
                    }
                    1 => Partition::Isolate(rng.random_range(0..validators)),
                    _ => Partition::Ring,
                }),
                2 => Event::RepairLinks,
                3 | 4 if crashed.len() < crash_budget => {
                    let candidates: Vec<usize> = honest.iter().copied().filter(|i| !crashed.contains(i)).collect();
                    let index = candidates[rng.random_range(0..candidates.len())];
                    crashed.push(index);
                    Event::Crash(index)
                }
                _ if !crashed.is_empty() => Event::Restart(crashed.remove(rng.random_range(0..crashed.len()))),
                _ => Event::RepairLinks,
            };
            events.push((at, event));
        }
        // Sometimes every validator goes down at once, and all come back two seconds later.
        if rng.random_bool(0.1) {
            let down =
                profile.warm_up + Duration::from_millis(rng.random_range(0..profile.faults.as_millis() as u64 / 2));
            let up = down + Duration::from_secs(2);
            let position = events.partition_point(|(at, _)| *at <= down);
            events.insert(position, (down, Event::CrashAll));
            let position = events.partition_point(|(at, _)| *at <= up);
            events.insert(position, (up, Event::RestartAll));
        }
        let end_at = heal_at + profile.heal;
        let twin_sides =
            if byzantine.contains(&Some(Byzantine::Twins)) { twin_sides(seed, &byzantine, end_at) } else { Vec::new() };
        let outage = events.iter().any(|(_, event)| *event == Event::CrashAll);
        let power_loss = if outage { power_loss(seed) } else { None };
        Self {
            seed,
            validators,
            byzantine,
            events,
            twin_sides,
            power_loss,
            heal_at,
            end_at,
            transactions: profile.transactions,
        }
    }
}

/// Whether a seed's whole-network outage is a power loss, and how much of each unsynced write
/// survives it: two outages in three, drawn from their own generator so a seed's other draws
/// stay what they were before power losses were simulated.
fn power_loss(seed: u64) -> Option<PowerLoss> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9043_12e5_5eed_0ff0);
    if !rng.random_bool(2.0 / 3.0) {
        return None;
    }
    let retained_percent = if rng.random_bool(0.25) { 0 } else { rng.random_range(1..100) };
    Some(PowerLoss { retained_percent, scattered: rng.random_bool(1.0 / 3.0) })
}

/// The twins' splits of the network, one every [`TWIN_SPLIT_EVERY`], each with at least one
/// honest validator that reaches both copies (drawn from their own generator, so a seed's other
/// draws do not depend on whether it has twins).
fn twin_sides(seed: u64, byzantine: &[Option<Byzantine>], end_at: Duration) -> Vec<(Duration, Vec<TwinSide>)> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7715_5eed_0bad_cafe);
    let validators = byzantine.len();
    let honest: Vec<usize> = (0..validators).filter(|index| byzantine[*index].is_none()).collect();
    let mut splits = Vec::new();
    let mut at = Duration::ZERO;
    while at < end_at {
        let mut sides: Vec<TwinSide> = (0..validators)
            .map(|_| match rng.random_range(0..5) {
                0 | 1 => TwinSide::First,
                2 | 3 => TwinSide::Second,
                _ => TwinSide::Both,
            })
            .collect();
        if !honest.iter().any(|index| sides[*index] == TwinSide::Both) {
            sides[honest[rng.random_range(0..honest.len())]] = TwinSide::Both;
        }
        splits.push((at, sides));
        at += TWIN_SPLIT_EVERY;
    }
    splits
}

impl Event {
    fn halves(validators: usize, split: usize) -> Partition {
        Partition::Halves((0..split).collect(), (split..validators).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_respect_the_fault_budget_and_are_reproducible() {
        let mut whole_outages = 0;
        for seed in 0..500 {
            let plan = Plan::draw(seed, Profile::QUICK);
            assert_eq!(format!("{plan:?}"), format!("{:?}", Plan::draw(seed, Profile::QUICK)));
            assert!(plan.events.is_sorted_by_key(|(at, _)| *at), "seed {seed}: events in time order");
            let byzantine = plan.byzantine.iter().filter(|b| b.is_some()).count();
            let mut crashed = 0usize;
            for (_, event) in &plan.events {
                match event {
                    Event::Crash(index) => {
                        assert!(plan.byzantine[*index].is_none(), "only honest validators crash");
                        crashed += 1;
                    }
                    Event::Restart(_) => crashed -= 1,
                    Event::CrashAll => whole_outages += 1,
                    _ => {}
                }
                assert!(byzantine + crashed <= max_faulty(plan.validators), "seed {seed}: {plan:?}");
            }
        }
        assert!(whole_outages > 20, "some seeds crash every validator at once");
        let power_losses: Vec<PowerLoss> =
            (0..500).filter_map(|seed| Plan::draw(seed, Profile::QUICK).power_loss).collect();
        assert!(power_losses.len() > 10, "some outages are power losses");
        assert!(power_losses.iter().any(|loss| loss.retained_percent == 0), "some lose every unsynced write");
        assert!(power_losses.iter().any(|loss| loss.scattered), "some keep scattered bytes");
        for seed in 0..500 {
            let plan = Plan::draw(seed, Profile::QUICK);
            let outage = plan.events.iter().any(|(_, event)| *event == Event::CrashAll);
            assert!(plan.power_loss.is_none() || outage, "seed {seed}: a power loss only with an outage");
        }
    }

    #[test]
    fn every_byzantine_kind_is_drawn_and_twins_always_show_someone_both_copies() {
        let mut kinds = Vec::new();
        for seed in 0..500 {
            let plan = Plan::draw(seed, Profile::QUICK);
            kinds.extend(plan.byzantine.iter().flatten().copied());
            let twins = plan.byzantine.contains(&Some(Byzantine::Twins));
            assert_eq!(twins, !plan.twin_sides.is_empty(), "seed {seed}: a split only with twins");
            for (_, sides) in &plan.twin_sides {
                assert_eq!(sides.len(), plan.validators);
                let honest_both =
                    (0..plan.validators).any(|index| plan.byzantine[index].is_none() && sides[index] == TwinSide::Both);
                assert!(honest_both, "seed {seed}: some honest validator reaches both copies");
            }
        }
        for kind in [
            Byzantine::Conflicter,
            Byzantine::Nuller,
            Byzantine::Equivocator,
            Byzantine::Twins,
            Byzantine::InvalidProposer,
        ] {
            assert!(kinds.iter().filter(|drawn| **drawn == kind).count() > 20, "{kind:?} is drawn often");
        }
    }
}
