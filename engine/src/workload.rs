//! Seeded, pre-generated command streams for benchmarks and allocation checks: a market with a
//! resting book of a given depth over a number of capability classes, and a stream of offers,
//! requests and cancels that keeps the depth roughly steady.
//!
//! The generator draws everything up front from a seeded stream, so the timed part only applies
//! commands. Timers that would fire lifecycle work (start deadlines, escrow timeouts) are pushed
//! beyond the stream's horizon: these workloads measure matching, not settlement.

use crate::{
    AccountId, CapabilitySet, ComputeTaskSpec, DAY, Market, MarketConfig, NewOrder, OrderId, PeerId, PeerSpec, Side,
    Signed, SimTime, signing,
};

/// A small deterministic generator (splitmix64): the engine has no `rand` dependency, and a
/// workload needs nothing stronger.
pub struct SplitMix(u64);

impl SplitMix {
    /// Seeded generator.
    pub fn seed_from_u64(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(crate::seed::GOLDEN_GAMMA);
        crate::seed::splitmix64(self.0)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn below(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo)
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    /// Resting offers before the stream starts.
    pub resting: usize,
    /// Capability classes (distinct capability sets of offers); 1 = no capability filter.
    pub classes: usize,
    /// Fraction of offers a request's capability needs admit (1.0 = all classes).
    pub selectivity: f64,
    /// Exponent of the reputation factor; 0 = pure price priority.
    pub reputation_weight: f64,
    /// Fraction of requests that carry a minimum reputation of 100 (half the providers have it).
    pub min_reputation_share: f64,
    /// Fraction of commands that cancel an earlier offer.
    pub cancel_share: f64,
    /// Sign every order and check signatures.
    pub verify_signatures: bool,
    /// When set, each offer (resting or in the stream) independently holds the capability that
    /// every request needs with this probability, whatever its class; `selectivity` is then
    /// ignored. Reaches eligible shares below one class (e.g. 0.001 of 10,000 offers = 10).
    /// `None` keeps the class-based `selectivity` (and every stream generated before it).
    pub eligible_share: Option<f64>,
    /// When set, the probability that a placement is a request (else an offer); `None` draws
    /// requests and offers evenly by one random bit (the original stream).
    pub request_share: Option<f64>,
    /// Commands in the stream.
    pub ops: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            resting: 10_000,
            classes: 1,
            selectivity: 1.0,
            reputation_weight: 0.0,
            min_reputation_share: 0.0,
            cancel_share: 0.0,
            verify_signatures: false,
            eligible_share: None,
            request_share: None,
            ops: 100_000,
            seed: 7,
        }
    }
}

impl WorkloadSpec {
    /// Plain price priority over `resting` offers: one class, reputation not weighed, no
    /// filters or cancels, 100,000 commands (the benches' `depth/price_priority/{resting}`).
    pub fn price_priority(resting: usize) -> Self {
        WorkloadSpec { resting, ..WorkloadSpec::default() }
    }

    /// The benches' realistic mix over `resting` offers: 50 capability classes, reputation
    /// weighed (k = 1), a reputation minimum on 20 % of requests, 5 % cancels, 10,000 commands
    /// (`mix/50_classes/{resting}`; the requests, selectivity and signature benches vary it).
    pub fn mix(resting: usize) -> Self {
        WorkloadSpec {
            resting,
            classes: 50,
            reputation_weight: 1.0,
            min_reputation_share: 0.2,
            cancel_share: 0.05,
            ops: 10_000,
            ..WorkloadSpec::default()
        }
    }
}

/// One command.
#[derive(Clone, Copy, Debug)]
pub enum Cmd {
    /// Place an order.
    Place {
        /// Side.
        side: Side,
        /// Trader.
        trader: PeerId,
        /// Price.
        price: u64,
        /// Units.
        units: u64,
        /// Spec.
        spec: ComputeTaskSpec,
        /// Signature, when signatures are on.
        signature: Option<Signed>,
    },
    /// Cancel an order (may already be closed: then the market refuses, as in real traffic).
    Cancel {
        /// Order.
        order: OrderId,
        /// Its owner.
        trader: PeerId,
    },
}

/// A market with its resting book, and the stream to apply to it.
pub struct Workload {
    /// The market after the book was built.
    pub market: Market,
    /// The commands.
    pub cmds: Vec<Cmd>,
    /// The clock when the stream starts.
    pub start: SimTime,
}

const PROVIDERS: u32 = 1_000;
const REQUESTERS: u32 = 1_000;

/// The market configuration the workloads use (a reputation weight outside [0, 10], or NaN, is
/// clamped into the valid range, so the configuration always validates).
pub fn config(spec: &WorkloadSpec) -> MarketConfig {
    let k = spec.reputation_weight;
    MarketConfig {
        reputation_weight: if k.is_finite() { k.clamp(0.0, 10.0) } else { 0.0 },
        auction_window_ms: 1_000,
        default_max_response_ms: 3_000 * DAY,
        escrow_timeout_ms: 3_000 * DAY,
        retain_ledger: false,
        verify_signatures: spec.verify_signatures,
        market_seed: spec.seed,
        ..MarketConfig::default()
    }
}

/// Builds the market and the stream. Every value of `spec` is accepted (the configuration is
/// valid by construction and every generated order is placeable, so the `expect`s below cannot
/// fire); `resting` and `ops` are the sizes asked for, so a huge value only costs time and memory.
pub fn build(spec: &WorkloadSpec) -> Workload {
    let mut rng = SplitMix::seed_from_u64(spec.seed);
    let mut m = Market::new(config(spec)).expect("workload config is valid");
    let tt = m.register_task_type("bench").expect("one task type");
    // Class c holds capabilities {c} plus, for the first `selectivity` share of classes, the
    // common capability 127 that selective requests need.
    let common = CapabilitySet(1 << 127);
    let classes: Vec<CapabilitySet> = (0..spec.classes.max(1))
        .map(|c| {
            let mut s = CapabilitySet(1 << (1 + c % 120));
            if spec.eligible_share.is_none() && (c as f64) < spec.selectivity * spec.classes.max(1) as f64 {
                s = s.union(common);
            }
            s
        })
        .collect();
    let needs = match spec.eligible_share {
        Some(_) => common,
        None if spec.selectivity < 1.0 => common,
        None => CapabilitySet::EMPTY,
    };
    let mut keys = Vec::new();
    for i in 0..PROVIDERS {
        let rep = if i % 2 == 0 { 150.0 } else { 60.0 };
        let spec_p =
            PeerSpec { account: Some(AccountId(i as u64 + 1)), initial_reputation: Some(rep), ..Default::default() };
        let p = m.register_peer(spec_p, 0).expect("register");
        keys.push(spec.verify_signatures.then(|| signing::derive_signing_key(spec.seed, p)));
    }
    for _ in 0..REQUESTERS {
        let p = m
            .register_peer(PeerSpec { endowment: u64::MAX / 4 / REQUESTERS as u64, ..Default::default() }, 0)
            .expect("register");
        keys.push(spec.verify_signatures.then(|| signing::derive_signing_key(spec.seed, p)));
    }
    // Each trader signs with increasing sequence numbers, in the order the stream applies them.
    let mut seqs = vec![0u64; keys.len()];
    let mut sign = |t: Side, trader: PeerId, price: u64, units: u64, s: &ComputeTaskSpec| {
        keys[trader.index()].as_ref().map(|k| {
            let seq = seqs[trader.index()];
            seqs[trader.index()] += 1;
            signing::sign_seq(k, seq, &signing::order_message(&NewOrder::new(t, trader, price, units, *s), seq))
        })
    };
    let offer = |rng: &mut SplitMix| {
        let trader = PeerId(rng.below(0, PROVIDERS as u64) as u32);
        let mut class = classes[rng.below(0, classes.len() as u64) as usize];
        if let Some(share) = spec.eligible_share
            && rng.unit() < share
        {
            class = class.union(common);
        }
        let price = rng.below(100, 200);
        let units = rng.below(1, 5) * 100;
        let s = ComputeTaskSpec::new(tt, class);
        (trader, price, units, s)
    };
    for _ in 0..spec.resting {
        let (trader, price, units, s) = offer(&mut rng);
        let sig = sign(Side::Sell, trader, price, units, &s);
        m.place_order(NewOrder { signature: sig, ..NewOrder::sell(trader, price, units, s) }, 0)
            .expect("resting offer");
    }
    m.drain_events().for_each(drop);
    let mut cmds = Vec::with_capacity(spec.ops.min(1 << 20));
    let mut next_id = m.orders().len() as u64;
    let mut offers_placed: Vec<(OrderId, PeerId)> = Vec::new();
    for _ in 0..spec.ops {
        let x = rng.unit();
        if x < spec.cancel_share && !offers_placed.is_empty() {
            let (order, trader) = offers_placed[rng.below(0, offers_placed.len() as u64) as usize];
            cmds.push(Cmd::Cancel { order, trader });
            continue;
        }
        let is_offer = match spec.request_share {
            None => rng.next_u64() & 1 == 0,
            Some(share) => rng.unit() >= share,
        };
        if is_offer {
            let (trader, price, units, s) = offer(&mut rng);
            let signature = sign(Side::Sell, trader, price, units, &s);
            offers_placed.push((OrderId(next_id), trader));
            cmds.push(Cmd::Place { side: Side::Sell, trader, price, units, spec: s, signature });
        } else {
            let trader = PeerId(PROVIDERS + rng.below(0, REQUESTERS as u64) as u32);
            let mut s = ComputeTaskSpec::new(tt, needs);
            if rng.unit() < spec.min_reputation_share {
                s.min_reputation = 100.0;
            }
            let price = rng.below(100, 200);
            let units = rng.below(1, 5) * 50;
            let signature = sign(Side::Buy, trader, price, units, &s);
            cmds.push(Cmd::Place { side: Side::Buy, trader, price, units, spec: s, signature });
        }
        next_id += 1;
    }
    Workload { market: m, cmds, start: 0 }
}

/// Applies the stream, one millisecond of simulated time per command, draining events every
/// 1024 commands. Returns the number of accepted placements.
pub fn apply(m: &mut Market, cmds: &[Cmd], start: SimTime) -> u64 {
    let mut accepted = 0;
    for (i, c) in cmds.iter().enumerate() {
        let now = start + i as u64;
        match *c {
            Cmd::Place { side, trader, price, units, spec, signature } => {
                if m.place_order(NewOrder { signature, ..NewOrder::new(side, trader, price, units, spec) }, now).is_ok()
                {
                    accepted += 1;
                }
            }
            Cmd::Cancel { order, trader } => {
                let _ = m.cancel_order(order, trader, now);
            }
        }
        if i % 1024 == 1023 {
            m.drain_events().for_each(drop);
        }
    }
    accepted
}
