//! The discrete-event kernel: lets seeded agents act on the engine over simulated time.
//!
//! The queue orders kernel events by `(time, class, sequence)`: period starts, then task starts,
//! task completions, agent arrivals, and samples last, each class in insertion order. Between
//! kernel events the kernel also stops at every engine timer ([`Market::next_timer_time`]), so
//! agents react to expiries, deadlines and releases at the exact time they happen.
//!
//! One step: advance the market, drain its events, turn them into wakes (a match wakes the
//! provider, a completed escrow wakes whoever may approve it, a settlement wakes both parties, a
//! dispute wakes the panel), run the wakes in FIFO order, apply each agent's actions to the
//! market, and repeat until no wake is left. Arrivals are Poisson: after each arrival the agent's
//! next one is drawn from its own stream.
//!
//! Trading periods (optional) split the run evenly; at each period start every open order is
//! cancelled and every wallet's available balance is reset to the agent's budget.
//! The invariant checker runs at the end of the run, and at every sample in debug builds.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use ed25519_dalek::SigningKey;
use thiserror::Error;

use synmarket_engine::{
    AccountId, AssignmentId, Completion, DurationMs, EscrowId, EscrowState, Market, MarketConfig, MarketEvent, PeerId,
    PeerSpec, PriceStats, SimTime, TaskTypeId, signing,
};

use crate::agent::{Action, Agent, Observation, Profile, TaskTypeInfo, Wake};
use crate::behaviours::build_agent;
use crate::spec::{PopulationSpec, Role, Strategy, TaskTypeSpec, exponential_ms};
use crate::stream::{AgentRng, stream_rng, stream_seed};

/// A failure of the simulation itself (never of an agent's order: those are refused by the
/// market and counted).
#[derive(Debug, Error)]
pub enum SimError {
    /// The market configuration is invalid.
    #[error(transparent)]
    Config(#[from] synmarket_engine::ConfigError),
    /// Registering a task type, capability or peer failed.
    #[error("setting up the market: {0}")]
    Setup(#[from] synmarket_engine::MarketError),
    /// An invariant of the market broke: a bug, never expected.
    #[error("market invariant broken at t={time} ms: {reason}")]
    Invariant {
        /// When.
        time: SimTime,
        /// What.
        reason: String,
    },
}

/// Everything a simulation needs (what a validated scenario becomes).
#[derive(Clone, Debug)]
pub struct SimulationSpec {
    /// Root seed.
    pub seed: u64,
    /// Length of the run.
    pub duration_ms: DurationMs,
    /// Sampling interval.
    pub sample_interval_ms: DurationMs,
    /// Trading periods (≥ 1); endowments reset at each.
    pub periods: u32,
    /// Market rules.
    pub market: MarketConfig,
    /// Task types.
    pub task_types: Vec<TaskTypeSpec>,
    /// Populations.
    pub populations: Vec<PopulationSpec>,
}

/// Identity and private parameters of one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentRecord {
    /// Peer id (equal to the agent's index).
    pub peer: PeerId,
    /// Population index.
    pub population: u32,
    /// Index within the population.
    pub index: u32,
    /// Role.
    pub role: Role,
    /// Strategy.
    pub strategy: Strategy,
    /// Private parameters.
    pub profile: Profile,
    /// Provider account.
    pub account: Option<AccountId>,
    /// Usage cap declared.
    pub usage_cap_units: Option<u64>,
    /// Starting reputation.
    pub initial_reputation: f64,
    /// The seed of the agent's stream.
    pub stream_seed: u64,
}

/// One task type at one sampling instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TypeSample {
    /// Sample time.
    pub time: SimTime,
    /// Task type.
    pub task_type: TaskTypeId,
    /// Offer units resting.
    pub resting_units: u64,
    /// Offers resting.
    pub resting_offers: u64,
    /// Open auctions.
    pub open_auctions: u64,
    /// Lowest resting ask.
    pub best_ask: Option<u64>,
    /// Highest open bid.
    pub best_bid: Option<u64>,
    /// Price discovery over the engine's window.
    pub window: Option<PriceStats>,
}

/// Market-wide state at one sampling instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarketSample {
    /// Sample time.
    pub time: SimTime,
    /// Tokens held in escrow.
    pub escrow_balance: u64,
    /// Treasury.
    pub treasury: u64,
    /// Providers with at least one resting offer.
    pub active_providers: u64,
    /// Provider reputation quantiles (10 %, 50 %, 90 %) and mean.
    pub reputation_p10: f64,
    /// Median.
    pub reputation_p50: f64,
    /// 90 % quantile.
    pub reputation_p90: f64,
    /// Mean.
    pub reputation_mean: f64,
    /// Gini coefficient of provider reputations.
    pub reputation_gini: f64,
}

/// Counters of the kernel's work (run health, not results).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Kernel events processed (arrivals, starts, completions, samples, period starts).
    pub kernel_events: u64,
    /// Engine events drained.
    pub market_events: u64,
    /// Agent wakes.
    pub wakes: u64,
    /// Actions applied.
    pub actions: u64,
    /// Refusals by the market, by reason.
    pub refusals: BTreeMap<&'static str, u64>,
}

/// The outcome of a run.
pub struct SimResult {
    /// The market at the end (orders, assignments, escrows, ledger, reputations).
    pub market: Market,
    /// Every agent.
    pub agents: Vec<AgentRecord>,
    /// Per task type samples.
    pub type_samples: Vec<TypeSample>,
    /// Market-wide samples.
    pub market_samples: Vec<MarketSample>,
    /// Kernel counters.
    pub stats: KernelStats,
    /// Length of the run.
    pub duration_ms: DurationMs,
    /// Length of one period.
    pub period_ms: DurationMs,
    /// Task types in scenario order.
    pub task_types: Vec<TaskTypeInfo>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KEvent {
    PeriodStart(u32),
    Start(u64),
    Complete(u64),
    Arrival(u32),
    Sample,
}

impl KEvent {
    fn class(self) -> u8 {
        match self {
            KEvent::PeriodStart(_) => 0,
            KEvent::Start(_) => 1,
            KEvent::Complete(_) => 2,
            KEvent::Arrival(_) => 3,
            KEvent::Sample => 4,
        }
    }
}

struct Slot {
    agent: Box<dyn Agent>,
    rng: AgentRng,
    rate_per_ms: f64,
    key: Option<SigningKey>,
}

/// A simulation ready to run.
pub struct Simulation {
    spec: SimulationSpec,
    market: Market,
    slots: Vec<Slot>,
    records: Vec<AgentRecord>,
    task_types: Vec<TaskTypeInfo>,
    quality_metrics: Vec<u8>,
    queue: BinaryHeap<Reverse<(SimTime, u8, u64, KEvent)>>,
    seq: u64,
    completions: Vec<Option<Completion>>,
    wakes: VecDeque<(u32, Wake)>,
    actions: Vec<Action>,
    events: Vec<MarketEvent>,
    type_samples: Vec<TypeSample>,
    market_samples: Vec<MarketSample>,
    stats: KernelStats,
    period_ms: DurationMs,
}

/// Names of the quality metrics every completion reports: those named by SLAs, first four.
pub fn quality_metric_names(populations: &[PopulationSpec]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in populations {
        if let Some(sla) = &p.sla {
            for (name, _) in &sla.quality_minimums {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
    names.truncate(4);
    names
}

impl Simulation {
    /// Builds the market, registers every agent as a peer and schedules the first events.
    pub fn new(spec: SimulationSpec) -> Result<Self, SimError> {
        let mut market = Market::new(spec.market.clone())?;
        let mut task_types = Vec::with_capacity(spec.task_types.len());
        for tt in &spec.task_types {
            let id = market.register_task_type(&tt.name)?;
            let capabilities = tt.capabilities.iter().map(|c| market.capability(c)).collect::<Result<Vec<u8>, _>>()?;
            task_types.push(TaskTypeInfo { id, capabilities, spec: tt.clone() });
        }
        // Quality metrics are interned as capabilities would be: indices 0..n in name order.
        let quality_metrics: Vec<u8> = (0..quality_metric_names(&spec.populations).len() as u8).collect();
        let periods = spec.periods.max(1);
        let period_ms = (spec.duration_ms / periods as u64).max(1);
        let mut sim = Simulation {
            market,
            slots: Vec::new(),
            records: Vec::new(),
            task_types,
            quality_metrics,
            queue: BinaryHeap::new(),
            seq: 0,
            completions: Vec::new(),
            wakes: VecDeque::new(),
            actions: Vec::new(),
            events: Vec::new(),
            type_samples: Vec::new(),
            market_samples: Vec::new(),
            stats: KernelStats::default(),
            period_ms,
            spec,
        };
        let verify = sim.spec.market.verify_signatures;
        let key_seed = sim.spec.market.market_seed;
        for (pi, pop) in sim.spec.populations.clone().iter().enumerate() {
            for i in 0..pop.count {
                let peer = PeerId(sim.slots.len() as u32);
                let mut rng = stream_rng(sim.spec.seed, &pop.name, i as u64);
                let account = AccountId(peer.0 as u64 + 1);
                let agent = build_agent(pop, &sim.task_types, account, &mut rng);
                let profile = agent.profile();
                let cap = pop.usage_cap_units_per_day.as_ref().map(|d| {
                    let x = d.sample(&mut rng);
                    if x.is_finite() { x.round().max(1.0) as u64 } else { 1 }
                });
                let initial = pop.initial_reputation.as_ref().map(|d| d.sample(&mut rng));
                let is_provider = pop.role == Role::Provider;
                sim.market.register_peer(
                    PeerSpec {
                        endowment: profile.budget,
                        account: is_provider.then_some(account),
                        usage_cap_units: if is_provider { cap } else { None },
                        initial_reputation: initial,
                        arbitrator: pop.role == Role::Arbitrator,
                        verifying_key: None,
                    },
                    0,
                )?;
                let rate_per_ms = pop.arrival_rate_per_hour / 3_600_000.0;
                sim.records.push(AgentRecord {
                    peer,
                    population: pi as u32,
                    index: i,
                    role: pop.role,
                    strategy: pop.strategy,
                    profile,
                    account: is_provider.then_some(account),
                    usage_cap_units: if is_provider { cap } else { None },
                    initial_reputation: sim.market.reputation(peer),
                    stream_seed: stream_seed(sim.spec.seed, &pop.name, i as u64),
                });
                let key = verify.then(|| signing::derive_signing_key(key_seed, peer));
                sim.slots.push(Slot { agent, rng, rate_per_ms, key });
                if rate_per_ms > 0.0 && pop.role != Role::Arbitrator {
                    let first = exponential_ms(&mut sim.slots[peer.index()].rng, rate_per_ms);
                    sim.schedule_at(first, KEvent::Arrival(peer.0));
                }
            }
        }
        for k in 1..periods {
            sim.schedule_at(k as f64 * period_ms as f64, KEvent::PeriodStart(k));
        }
        let interval = sim.spec.sample_interval_ms.max(1);
        let mut t = interval;
        while t <= sim.spec.duration_ms {
            sim.push(t, KEvent::Sample);
            t += interval;
        }
        Ok(sim)
    }

    fn schedule_at(&mut self, t: f64, ev: KEvent) {
        let t = if t.is_finite() { t.min(u64::MAX as f64 / 2.0) as u64 } else { u64::MAX / 2 };
        self.push(t, ev);
    }

    fn push(&mut self, t: SimTime, ev: KEvent) {
        self.seq += 1;
        self.queue.push(Reverse((t, ev.class(), self.seq, ev)));
    }

    /// Runs to the end; `progress` is called with the simulated time now and then.
    pub fn run(mut self, progress: &mut dyn FnMut(SimTime)) -> Result<SimResult, SimError> {
        let end = self.spec.duration_ms;
        let mut last_report = 0;
        loop {
            let next_kernel = self.queue.peek().map(|r| r.0.0).filter(|&t| t <= end);
            let next_timer = self.market.next_timer_time().filter(|&t| t <= end);
            let (t, kernel) = match (next_kernel, next_timer) {
                (None, None) => break,
                (Some(k), Some(m)) if m < k => (m, false),
                (Some(k), _) => (k, true),
                (None, Some(m)) => (m, false),
            };
            let _ = self.market.advance_to(t);
            self.dispatch_market_events();
            self.run_wakes();
            if kernel && let Some(Reverse((_, _, _, ev))) = self.queue.pop() {
                self.stats.kernel_events += 1;
                self.handle(ev, t)?;
                self.run_wakes();
            }
            if t > last_report + end / 200 {
                progress(t);
                last_report = t;
            }
        }
        let _ = self.market.advance_to(end);
        self.dispatch_market_events();
        self.run_wakes();
        self.market.check_invariants().map_err(|reason| SimError::Invariant { time: end, reason })?;
        progress(end);
        Ok(SimResult {
            market: self.market,
            agents: self.records,
            type_samples: self.type_samples,
            market_samples: self.market_samples,
            stats: self.stats,
            duration_ms: end,
            period_ms: self.period_ms,
            task_types: self.task_types,
        })
    }

    fn handle(&mut self, ev: KEvent, t: SimTime) -> Result<(), SimError> {
        match ev {
            KEvent::Arrival(agent) => {
                self.wakes.push_back((agent, Wake::Arrival));
                self.run_wakes();
                let slot = &mut self.slots[agent as usize];
                let dt = exponential_ms(&mut slot.rng, slot.rate_per_ms);
                self.schedule_at(t as f64 + dt.max(1.0), KEvent::Arrival(agent));
            }
            KEvent::Start(a) => {
                let provider = self.market.assignment(AssignmentId(a)).map(|x| x.provider);
                if let Some(p) = provider
                    && self.market.start_task(AssignmentId(a), p, t).is_ok()
                {
                    self.dispatch_market_events();
                    self.wakes.push_back((p.0, Wake::Started(AssignmentId(a))));
                }
            }
            KEvent::Complete(a) => {
                let provider = self.market.assignment(AssignmentId(a)).map(|x| x.provider);
                let completion = self.completions.get_mut(a as usize).and_then(Option::take);
                if let (Some(p), Some(c)) = (provider, completion) {
                    let _ = self.market.complete_task(AssignmentId(a), p, c, t);
                    self.dispatch_market_events();
                }
            }
            KEvent::PeriodStart(k) => self.start_period(k, t)?,
            KEvent::Sample => self.sample(t)?,
        }
        Ok(())
    }

    fn start_period(&mut self, k: u32, t: SimTime) -> Result<(), SimError> {
        for i in 0..self.slots.len() {
            let peer = PeerId(i as u32);
            while let Some(&oid) = self.market.open_orders(peer).first() {
                if self.market.cancel_order(oid, peer, t).is_err() {
                    break;
                }
            }
            let available = self.market.wallet(peer).available;
            self.market.withdraw(peer, available, t)?;
            self.market.endow(peer, self.records[i].profile.budget, t)?;
        }
        self.dispatch_market_events();
        for i in 0..self.slots.len() {
            self.wakes.push_back((i as u32, Wake::PeriodStart(k)));
        }
        Ok(())
    }

    fn sample(&mut self, t: SimTime) -> Result<(), SimError> {
        for tt in &self.task_types {
            let m = &self.market;
            self.type_samples.push(TypeSample {
                time: t,
                task_type: tt.id,
                resting_units: m.resting_units(tt.id),
                resting_offers: m.resting_offers(tt.id),
                open_auctions: m.open_auctions(tt.id) as u64,
                best_ask: m.best_ask(tt.id),
                best_bid: m.best_bid(tt.id),
                window: m.price_stats(tt.id),
            });
        }
        let mut reps: Vec<f64> = Vec::new();
        let mut active = 0;
        for r in &self.records {
            if r.role == Role::Provider {
                reps.push(self.market.reputation(r.peer));
                if !self.market.open_orders(r.peer).is_empty() {
                    active += 1;
                }
            }
        }
        reps.sort_by(f64::total_cmp);
        let q = |p: f64| -> f64 {
            if reps.is_empty() {
                return f64::NAN;
            }
            let i = ((reps.len() - 1) as f64 * p).round() as usize;
            reps[i]
        };
        let mean = if reps.is_empty() { f64::NAN } else { reps.iter().sum::<f64>() / reps.len() as f64 };
        self.market_samples.push(MarketSample {
            time: t,
            escrow_balance: self.market.bank().escrow_total(),
            treasury: self.market.treasury(),
            active_providers: active,
            reputation_p10: q(0.1),
            reputation_p50: q(0.5),
            reputation_p90: q(0.9),
            reputation_mean: mean,
            reputation_gini: gini(&reps),
        });
        if cfg!(debug_assertions) {
            self.market.check_invariants().map_err(|reason| SimError::Invariant { time: t, reason })?;
        }
        Ok(())
    }

    fn dispatch_market_events(&mut self) {
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        events.extend(self.market.drain_events());
        self.stats.market_events += events.len() as u64;
        for ev in &events {
            match *ev {
                MarketEvent::Matched { assignment, provider, .. } => {
                    self.wakes.push_back((provider.0, Wake::Assigned(assignment)));
                }
                MarketEvent::EscrowChanged { escrow, to, .. } => {
                    let Some(e) = self.market.escrow(escrow) else { continue };
                    let a = AssignmentId(escrow.0);
                    if to == EscrowState::Completed {
                        self.wakes.push_back((e.requester.0, Wake::Completed(a)));
                        self.wakes.push_back((e.provider.0, Wake::Completed(a)));
                        for arb in &e.arbitrators {
                            self.wakes.push_back((arb.0, Wake::Completed(a)));
                        }
                    } else if to.is_settled() {
                        self.wakes.push_back((e.requester.0, Wake::Settled(a)));
                        self.wakes.push_back((e.provider.0, Wake::Settled(a)));
                    }
                }
                MarketEvent::DisputeRaised { escrow, .. } => {
                    if let Some(d) = self.market.escrow(escrow).and_then(|e| e.dispute.as_ref()) {
                        for arb in &d.panel {
                            self.wakes.push_back((arb.0, Wake::Disputed(escrow)));
                        }
                    }
                }
                MarketEvent::OrderRejected { reason, .. } | MarketEvent::CallRefused { reason, .. } => {
                    *self.stats.refusals.entry(reason).or_insert(0) += 1;
                }
                _ => {}
            }
        }
        self.events = events;
    }

    fn run_wakes(&mut self) {
        while let Some((agent, wake)) = self.wakes.pop_front() {
            self.stats.wakes += 1;
            let now = self.market.now();
            let mut actions = std::mem::take(&mut self.actions);
            actions.clear();
            {
                let slot = &mut self.slots[agent as usize];
                let obs = Observation {
                    now,
                    me: PeerId(agent),
                    market: &self.market,
                    task_types: &self.task_types,
                    quality_metrics: &self.quality_metrics,
                };
                slot.agent.wake(wake, &obs, &mut slot.rng, &mut actions);
            }
            for &action in &actions {
                self.apply(agent, action, now);
                self.dispatch_market_events();
            }
            self.actions = actions;
        }
    }

    fn apply(&mut self, agent: u32, action: Action, now: SimTime) {
        self.stats.actions += 1;
        let me = PeerId(agent);
        match action {
            Action::PlaceOrder { order_type, price_per_unit, units, spec, sla, ttl_ms } => {
                let expires_at = ttl_ms.map(|t| now + t.max(1));
                let signature = self.slots[agent as usize].key.as_ref().map(|k| {
                    let msg = signing::order_message(order_type, me, price_per_unit, units, &spec, expires_at);
                    signing::sign(k, &msg)
                });
                let _ = self.market.place_order(
                    order_type,
                    me,
                    price_per_unit,
                    units,
                    spec,
                    sla,
                    expires_at,
                    signature,
                    now,
                );
            }
            Action::Cancel(id) => {
                let _ = self.market.cancel_order(id, me, now);
            }
            Action::StartAfter { assignment, delay_ms } => self.push(now + delay_ms, KEvent::Start(assignment.0)),
            Action::CompleteAfter { assignment, delay_ms, completion } => {
                let i = assignment.index();
                if self.completions.len() <= i {
                    self.completions.resize(i + 1, None);
                }
                self.completions[i] = Some(completion);
                self.push(now + delay_ms, KEvent::Complete(assignment.0));
            }
            Action::Approve(e) => {
                let signature = self.slots[agent as usize]
                    .key
                    .as_ref()
                    .map(|k| signing::sign(k, &signing::approval_message(e, me)));
                let _ = self.market.approve_release(e, me, signature, now);
            }
            Action::Dispute(e) => {
                let _ = self.market.dispute(e, me, now);
            }
            Action::Vote(e, v) => {
                let _ = self.market.vote(e, me, v, now);
            }
            Action::Feedback(a, rating) => {
                let _ = self.market.leave_feedback(a, me, rating, now);
            }
        }
    }
}

/// Gini coefficient of non-negative values (0 = equal); NaN for an empty or all-zero set.
pub fn gini(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let total: f64 = sorted.iter().sum();
    if n == 0 || total <= 0.0 {
        return f64::NAN;
    }
    let weighted: f64 = sorted.iter().enumerate().map(|(i, x)| (i as f64 + 1.0) * x).sum();
    (2.0 * weighted) / (n as f64 * total) - (n as f64 + 1.0) / n as f64
}

/// The escrow id of an assignment (one to one).
pub fn escrow_of(a: AssignmentId) -> EscrowId {
    EscrowId(a.0)
}
