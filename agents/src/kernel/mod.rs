//! The discrete-event kernel: lets seeded agents act on the engine over simulated time.
//!
//! The queue orders kernel events by `(time, class, sequence)`: samples first, then period
//! starts, task starts, task completions and agent arrivals, each class in insertion order.
//! Between kernel events the kernel also stops at every engine timer
//! ([`Market::next_timer_time`]), so agents react to expiries, deadlines and releases at the
//! exact time they happen.
//!
//! Samples: the sample at time `t` (the end of a sampling interval) records the market at `t`
//! after the engine's timers due at `t` and before any kernel event at `t`: before a period
//! start cancels the book, before tasks start or complete and agents arrive at that instant. So a
//! sample is the state the interval ended in, never the state a reset leaves for the next one.
//!
//! One step: advance the market, drain its events, turn them into wakes (a match wakes the
//! provider and the requester, a completed escrow wakes whoever may approve it, a settlement wakes
//! both parties, a dispute wakes the panel), run the wakes in FIFO order, apply each agent's
//! actions to the market (`apply.rs`), and repeat until no wake is left. Arrivals are Poisson:
//! after each arrival the agent's next one is drawn from its own stream.
//!
//! Agents and peers: agent `i` registers peer `i` at time 0 (`setup.rs`). A Sybil that re-enters
//! gets a new peer id appended after all others; `peer_slot` maps every peer id to its agent, so
//! events about an abandoned identity still reach the agent that owns it.
//!
//! Trading periods (optional) split the run evenly; at each period start every open order is
//! cancelled and every agent's current wallet is reset to its budget.
//! The invariant checker runs at the end of the run, and at every sample in debug builds.
//!
//! External agents ([`Simulation::set_external`], [`Simulation::step`], [`Simulation::resume`]):
//! the loop can pause at an external agent's arrival, inside an iteration, and hand the decision
//! to the caller (the Python package's Gymnasium environments); its other wakes still go to the
//! agent. [`Simulation::run`] is `step` until the end with no external agent, so every run without
//! them is the same event for event (the pinned digests did not change when the loop became
//! resumable). An arrival's next arrival is drawn after its wakes have run, as before.

mod apply;
mod result;
mod setup;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use ed25519_dalek::SigningKey;
use thiserror::Error;

use synmarket_engine::{
    AccountId, AssignmentId, Completion, DurationMs, EscrowState, Market, MarketConfig, MarketEvent, PeerId, SimTime,
};

use crate::agent::{Action, Observation, TaskTypeInfo, Wake};
use crate::population::PopulationSpec;
use crate::roles::Agent;
use crate::spec::{Role, TaskTypeSpec, exponential_ms};
use crate::strategies::pricing::Shout;
use crate::stream::AgentRng;

pub use result::{
    AgentRecord, GroundTruth, GroundTruthKind, Identity, KernelStats, MarketSample, SimResult, TypeSample, gini,
};
pub use setup::quality_metric_names;

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
        /// Which invariant, with the numbers that disagree.
        reason: synmarket_engine::InvariantError,
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
            // Read-only, so first: the state at the end of the interval (module header).
            KEvent::Sample => 0,
            KEvent::PeriodStart(_) => 1,
            KEvent::Start(_) => 2,
            KEvent::Complete(_) => 3,
            KEvent::Arrival(_) => 4,
        }
    }
}

struct Slot {
    agent: Box<dyn Agent>,
    rng: AgentRng,
    rate_per_ms: f64,
    key: Option<SigningKey>,
    /// The identity the agent acts under now.
    peer: PeerId,
    /// Index of its ring (colluders).
    ring: Option<u32>,
    /// Orders placed so far, against `max_orders`.
    orders_placed: u32,
    max_orders: Option<u32>,
}

/// A callback that sees every engine event as it is drained, with the market it came from
/// (narration, tracing). It cannot change the run.
pub type Observer = Box<dyn FnMut(&Market, &MarketEvent) + Send>;

/// A simulation ready to run.
pub struct Simulation {
    spec: SimulationSpec,
    market: Market,
    slots: Vec<Slot>,
    records: Vec<AgentRecord>,
    /// Agent index of every peer id.
    peer_slot: Vec<u32>,
    /// Peers registered per provider account (key sharing).
    account_holders: BTreeMap<AccountId, u32>,
    task_types: Vec<TaskTypeInfo>,
    quality_metrics: Vec<u8>,
    queue: BinaryHeap<Reverse<(SimTime, u8, u64, KEvent)>>,
    seq: u64,
    completions: Vec<Option<(Completion, Option<GroundTruthKind>)>>,
    wakes: VecDeque<(u32, Wake)>,
    actions: Vec<Action>,
    events: Vec<MarketEvent>,
    type_samples: Vec<TypeSample>,
    market_samples: Vec<MarketSample>,
    order_reputation: Vec<f64>,
    period_start_assignments: Vec<u64>,
    ground_truth: Vec<GroundTruth>,
    stats: KernelStats,
    period_ms: DurationMs,
    observer: Option<Observer>,
    /// Per task type index: the agents whose price rule observes every shout, by agent index.
    shout_subscribers: Vec<Vec<u32>>,
    /// Where [`Simulation::step`] stands in the current loop iteration.
    phase: Phase,
    /// Agents whose arrivals are decided outside ([`Simulation::set_external`]), by agent index.
    external: Vec<bool>,
    /// The external agent whose decision [`Simulation::step`] returned, until [`Simulation::resume`].
    paused: Option<u32>,
    /// The agent whose next arrival is drawn once the wakes of its arrival have run.
    reschedule: Option<u32>,
    last_report: SimTime,
}

/// Where a loop iteration of the kernel stands (the kernel can pause inside one, at an external
/// agent's decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Between iterations.
    Top,
    /// The market was advanced to `t`: run its wakes, then the kernel event at `t` if `kernel`.
    Wakes { t: SimTime, kernel: bool },
    /// The kernel event at `t` was handled: run its wakes.
    AfterEvent { t: SimTime },
    /// Nothing is left before the end.
    Done,
}

/// What [`Simulation::step`] stopped at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// External agent `agent` arrives at `time` and must decide: call [`Simulation::resume`]
    /// with its actions (none to stay out), then `step` again.
    Decision {
        /// Agent index.
        agent: u32,
        /// Simulated time of the decision.
        time: SimTime,
    },
    /// The run reached its end: call [`Simulation::finish`].
    Finished,
}

impl Simulation {
    /// The market as set up (peers registered, nothing traded yet before [`Simulation::run`]).
    pub fn market(&self) -> &Market {
        &self.market
    }

    /// Calls `observer` with every engine event, in order, as the run drains them.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    fn schedule_at(&mut self, t: f64, ev: KEvent) {
        let t = if t.is_finite() { t.min(u64::MAX as f64 / 2.0) as u64 } else { u64::MAX / 2 };
        self.push(t, ev);
    }

    fn push(&mut self, t: SimTime, ev: KEvent) {
        self.seq += 1;
        self.queue.push(Reverse((t, ev.class(), self.seq, ev)));
    }

    /// The agent that owns `peer`.
    fn slot_of(&self, peer: PeerId) -> Option<u32> {
        self.peer_slot.get(peer.index()).copied()
    }

    fn wake(&mut self, peer: PeerId, wake: Wake) {
        if let Some(s) = self.slot_of(peer) {
            self.wakes.push_back((s, wake));
        }
    }

    /// Runs to the end; `progress` is called with the simulated time now and then.
    pub fn run(mut self, progress: &mut dyn FnMut(SimTime)) -> Result<SimResult, SimError> {
        while let Step::Decision { .. } = self.step(progress)? {
            self.resume(&[]);
        }
        self.finish(progress)
    }

    /// Lets agent `agent` (an index into the agents, scenario order) decide outside the kernel:
    /// at each of its arrivals [`Simulation::step`] stops and hands the decision to the caller
    /// instead of the agent's price rule; every other wake (fills, tasks, escrows) still goes to
    /// the agent. This is the hook of the Gymnasium environments (`python/synmarket/gym.py`).
    /// Without external agents a run is exactly [`Simulation::run`]'s.
    pub fn set_external(&mut self, agent: u32) {
        let i = agent as usize;
        if i < self.slots.len() {
            self.external.resize(self.slots.len(), false);
            self.external[i] = true;
        }
    }

    /// Runs until an external agent's decision or the end of the run.
    pub fn step(&mut self, progress: &mut dyn FnMut(SimTime)) -> Result<Step, SimError> {
        if let Some(agent) = self.paused {
            return Ok(Step::Decision { agent, time: self.market.now() });
        }
        let end = self.spec.duration_ms;
        loop {
            match self.phase {
                Phase::Done => return Ok(Step::Finished),
                Phase::Top => {
                    let next_kernel = self.queue.peek().map(|r| r.0.0).filter(|&t| t <= end);
                    let next_timer = self.market.next_timer_time().filter(|&t| t <= end);
                    let (t, kernel) = match (next_kernel, next_timer) {
                        (None, None) => {
                            self.phase = Phase::Done;
                            continue;
                        }
                        (Some(k), Some(m)) if m < k => (m, false),
                        (Some(k), _) => (k, true),
                        (None, Some(m)) => (m, false),
                    };
                    let _ = self.market.advance_to(t);
                    self.dispatch_market_events();
                    self.phase = Phase::Wakes { t, kernel };
                }
                Phase::Wakes { t, kernel } => {
                    if let Some(agent) = self.run_wakes() {
                        return Ok(Step::Decision { agent, time: t });
                    }
                    if kernel && let Some(Reverse((_, _, _, ev))) = self.queue.pop() {
                        self.stats.kernel_events += 1;
                        self.handle(ev, t)?;
                        self.phase = Phase::AfterEvent { t };
                    } else {
                        self.end_iteration(t, progress);
                    }
                }
                Phase::AfterEvent { t } => {
                    if let Some(agent) = self.run_wakes() {
                        return Ok(Step::Decision { agent, time: t });
                    }
                    if let Some(agent) = self.reschedule.take() {
                        self.schedule_next_arrival(agent, t);
                    }
                    self.end_iteration(t, progress);
                }
            }
        }
    }

    fn end_iteration(&mut self, t: SimTime, progress: &mut dyn FnMut(SimTime)) {
        if t > self.last_report + self.spec.duration_ms / 200 {
            progress(t);
            self.last_report = t;
        }
        self.phase = Phase::Top;
    }

    /// Applies the paused external agent's `actions` at the decision's time (an empty slice
    /// stays out of the market); no-op when no decision is pending.
    pub fn resume(&mut self, actions: &[Action]) {
        let Some(agent) = self.paused.take() else { return };
        self.stats.wakes += 1;
        let now = self.market.now();
        for &action in actions {
            self.apply(agent, action, now);
            self.dispatch_market_events();
        }
    }

    /// The agent records (profile, population, peer), by agent index.
    pub fn agents(&self) -> &[AgentRecord] {
        &self.records
    }

    /// The peer agent `agent` acts under now.
    pub fn peer_of(&self, agent: u32) -> Option<PeerId> {
        self.slots.get(agent as usize).map(|s| s.peer)
    }

    /// Task types of the scenario, by index.
    pub fn task_types(&self) -> &[TaskTypeInfo] {
        &self.task_types
    }

    /// Finishes the run (after [`Step::Finished`]): the end-of-run timers, the invariant check,
    /// the result.
    pub fn finish(mut self, progress: &mut dyn FnMut(SimTime)) -> Result<SimResult, SimError> {
        let end = self.spec.duration_ms;
        self.paused = None;
        let _ = self.market.advance_to(end);
        self.dispatch_market_events();
        let _ = self.run_wakes();
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
            ground_truth: self.ground_truth,
            peer_agent: self.peer_slot,
            order_reputation: self.order_reputation,
            period_start_assignments: self.period_start_assignments,
        })
    }

    fn handle(&mut self, ev: KEvent, t: SimTime) -> Result<(), SimError> {
        match ev {
            KEvent::Arrival(agent) => {
                // Its wakes run next (`step`), then its next arrival is drawn, in that order.
                self.wakes.push_back((agent, Wake::Arrival));
                self.reschedule = Some(agent);
            }
            KEvent::Start(a) => {
                let provider = self.market.assignment(AssignmentId(a)).map(|x| x.provider);
                if let Some(p) = provider
                    && self.market.start_task(AssignmentId(a), p, t).is_ok()
                {
                    self.dispatch_market_events();
                    self.wake(p, Wake::Started(AssignmentId(a)));
                }
            }
            KEvent::Complete(a) => self.complete(AssignmentId(a), t),
            KEvent::PeriodStart(k) => self.start_period(k, t)?,
            KEvent::Sample => self.sample(t)?,
        }
        Ok(())
    }

    /// Draws agent `agent`'s next Poisson arrival after `t` from its own stream.
    fn schedule_next_arrival(&mut self, agent: u32, t: SimTime) {
        let slot = &mut self.slots[agent as usize];
        if slot.rate_per_ms > 0.0 {
            let dt = exponential_ms(&mut slot.rng, slot.rate_per_ms);
            self.schedule_at(t as f64 + dt.max(1.0), KEvent::Arrival(agent));
        }
    }

    fn start_period(&mut self, k: u32, t: SimTime) -> Result<(), SimError> {
        self.period_start_assignments.push(self.market.assignments().len() as u64);
        for i in 0..self.slots.len() {
            let peer = self.slots[i].peer;
            self.cancel_all(peer, t);
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

    /// Cancels every open order of `peer`.
    fn cancel_all(&mut self, peer: PeerId, t: SimTime) {
        while let Some(&oid) = self.market.open_orders(peer).first() {
            if self.market.cancel_order(oid, peer, t).is_err() {
                break;
            }
        }
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
        for (r, slot) in self.records.iter().zip(&self.slots) {
            if r.role == Role::Provider {
                reps.push(self.market.reputation(slot.peer));
                if !self.market.open_orders(slot.peer).is_empty() {
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
        if let Some(obs) = self.observer.as_mut() {
            for ev in &events {
                obs(&self.market, ev);
            }
        }
        for ev in &events {
            match *ev {
                MarketEvent::OrderPlaced { order, trader, .. } => {
                    // Reputation changes only on settlement and feedback, never on placement or a
                    // match, so this is the trader's reputation when the order was placed.
                    let i = order.index();
                    if self.order_reputation.len() <= i {
                        self.order_reputation.resize(i + 1, f64::NAN);
                    }
                    self.order_reputation[i] = self.market.reputation(trader);
                }
                MarketEvent::Assigned { assignment, provider, requester, .. } => {
                    self.wake(provider, Wake::Assigned(assignment));
                    self.wake(requester, Wake::Assigned(assignment));
                }
                MarketEvent::EscrowChanged { escrow, to, .. } => {
                    let Some(e) = self.market.escrow(escrow) else { continue };
                    let a = AssignmentId(escrow.0);
                    let (requester, provider) = (e.requester, e.provider);
                    if to == EscrowState::Completed {
                        let arbitrators = e.arbitrators.clone();
                        self.wake(requester, Wake::Completed(a));
                        self.wake(provider, Wake::Completed(a));
                        for arb in arbitrators {
                            self.wake(arb, Wake::Completed(a));
                        }
                    } else if to.is_settled() {
                        self.wake(requester, Wake::Settled(a));
                        self.wake(provider, Wake::Settled(a));
                    }
                }
                MarketEvent::DisputeRaised { escrow, .. } => {
                    let panel = self.market.escrow(escrow).and_then(|e| e.dispute.as_ref()).map(|d| d.panel.clone());
                    for arb in panel.unwrap_or_default() {
                        self.wake(arb, Wake::Disputed(escrow));
                    }
                }
                MarketEvent::OrderRejected { reason, .. } | MarketEvent::CallRefused { reason, .. } => {
                    *self.stats.refusals.entry(reason).or_insert(0) += 1;
                }
                _ => {}
            }
        }
        if self.shout_subscribers.iter().any(|s| !s.is_empty()) {
            self.notify_shouts(&events);
        }
        self.events = events;
    }

    /// Tells the subscribers of each shout's task type about it, in agent order (Cliff 1997): an
    /// order placed is a shout; it is accepted when it traded on arrival (each match of it is one
    /// accepted shout at the trade price), else it is an unaccepted shout at its own price.
    fn notify_shouts(&mut self, events: &[MarketEvent]) {
        let mut pending: Option<(synmarket_engine::OrderId, synmarket_engine::Side, usize, u64)> = None;
        for ev in events {
            match *ev {
                MarketEvent::OrderPlaced { order, side, task_type, price_per_unit, .. } => {
                    if let Some((_, side, tt, price)) = pending.take() {
                        self.shout(tt, Shout { side, price, accepted: false }, None);
                    }
                    pending = Some((order, side, task_type.index(), price_per_unit));
                }
                MarketEvent::Assigned {
                    request,
                    offer,
                    requester,
                    provider,
                    task_type,
                    units,
                    price_per_unit,
                    offer_was_resting,
                    ..
                } => {
                    let (incoming, side) = if offer_was_resting {
                        (request, synmarket_engine::Side::Buy)
                    } else {
                        (offer, synmarket_engine::Side::Sell)
                    };
                    if pending.is_some_and(|p| p.0 == incoming) {
                        pending = None;
                    }
                    let shout = Shout { side, price: price_per_unit, accepted: true };
                    self.shout(task_type.index(), shout, Some((requester, provider, units)));
                }
                _ => {}
            }
        }
        if let Some((_, side, tt, price)) = pending {
            self.shout(tt, Shout { side, price, accepted: false }, None);
        }
    }

    fn shout(&mut self, tt: usize, shout: Shout, trade: Option<(PeerId, PeerId, u64)>) {
        let n = self.shout_subscribers.get(tt).map_or(0, Vec::len);
        for k in 0..n {
            let i = self.shout_subscribers[tt][k];
            let slot = &mut self.slots[i as usize];
            slot.agent.on_shout(&shout, trade, slot.peer, &mut slot.rng);
        }
    }

    /// Runs the queued wakes in order; stops at an external agent's arrival and returns it.
    fn run_wakes(&mut self) -> Option<u32> {
        while let Some((agent, wake)) = self.wakes.pop_front() {
            if wake == Wake::Arrival && self.external.get(agent as usize).copied().unwrap_or(false) {
                self.paused = Some(agent);
                return Some(agent);
            }
            self.stats.wakes += 1;
            let now = self.market.now();
            let mut actions = std::mem::take(&mut self.actions);
            actions.clear();
            {
                let slot = &mut self.slots[agent as usize];
                let obs = Observation {
                    now,
                    me: slot.peer,
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
        None
    }
}

/// The escrow id of an assignment (one to one).
pub fn escrow_of(a: AssignmentId) -> synmarket_engine::EscrowId {
    synmarket_engine::EscrowId(a.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::{Strategy, StrategySpec, zip};
    use synmarket_engine::{OrderId, Side, TaskTypeId};

    #[test]
    fn a_zip_trader_learns_from_another_traders_shout() {
        let mut sellers = PopulationSpec::new("sellers", Role::Provider, 2, Strategy::Zip);
        sellers.providing.cost_per_unit = crate::Dist::Fixed(50.0).into();
        sellers.strategy =
            StrategySpec::Zip(zip::Params { initial_margin: crate::Dist::Fixed(0.2), ..Default::default() });
        let mut truthful = PopulationSpec::new("others", Role::Provider, 1, Strategy::Truthful);
        truthful.providing.cost_per_unit = crate::Dist::Fixed(50.0).into();
        let spec = SimulationSpec {
            seed: 7,
            duration_ms: synmarket_engine::HOUR,
            sample_interval_ms: synmarket_engine::HOUR,
            periods: 1,
            market: MarketConfig::default(),
            task_types: vec![TaskTypeSpec {
                name: "compute".into(),
                capabilities: vec!["gpu".into()],
                capabilities_needed: Some(crate::Dist::Fixed(1.0)),
                units: crate::Dist::Fixed(1.0),
                duration_ms: crate::DurationDist(crate::Dist::Fixed(60_000.0)),
            }],
            populations: vec![sellers, truthful],
        };
        let mut sim = Simulation::new(spec).expect("builds");
        assert_eq!(sim.shout_subscribers, vec![vec![0, 1]], "only the zip traders subscribe");
        let before: Vec<f64> = sim.slots.iter().filter_map(|s| s.agent.margin()).collect();
        // Trader 1 asks 55 and finds no buyer: trader 0 (asking 60 or more) concedes.
        let shout = MarketEvent::OrderPlaced {
            time: 0,
            order: OrderId(0),
            side: Side::Sell,
            trader: PeerId(1),
            task_type: TaskTypeId(0),
            price_per_unit: 55,
            units: 1,
        };
        sim.notify_shouts(&[shout]);
        let after: Vec<f64> = sim.slots.iter().filter_map(|s| s.agent.margin()).collect();
        assert!(after[0] < before[0], "{before:?} -> {after:?}");
    }
}
