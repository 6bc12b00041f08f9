//! The first strategy set: zero-intelligence constrained and unconstrained traders (Gode and
//! Sunder 1993), truthful requesters, fixed-markup providers and honest arbitrators, with
//! reliability profiles for providers.
//!
//! - **Requesters** hold one open request at a time. At each arrival they draw a task type from
//!   their mix, units, the capabilities needed, a minimum reputation, a privacy level and SLA
//!   terms, and bid by strategy: ZI-C uniform in `[min_price, value]`, ZI-U uniform in
//!   `[min_price, max_price]`, truthful at `value`. They never bid more than they can lock.
//!   They approve a completed escrow (when their approval counts) and rate the provider after
//!   settlement: 5 for clean work, 2 for an SLA violation, 1 for a failure.
//! - **Providers** hold one resting offer at a time: ZI-C asks uniform in `[cost, max_price]`,
//!   ZI-U uniform in `[min_price, max_price]`, fixed markup at `cost × (1 + markup)`. Assigned
//!   work is executed by the reliability profile: a no-show with `no_show_probability`, else a
//!   start after `start_delay_ms`, a duration of the task type's `duration_ms × speed_factor`
//!   (speed drawn once per agent), a quality draw per metric and an availability draw as uptime.
//!   The receipt names the provider's own account (honest execution).
//! - **Arbitrators** approve completed escrows they sit on and vote by the evidence: release
//!   for completed work, refund for work that never completed.

use rand::RngExt;

use synmarket_engine::{
    AccountId, CapabilitySet, Completion, ComputeTaskSpec, EscrowId, EscrowState, MultiSigType, OrderType,
    QualityValues, SlaSpec, TaskStatus, Vote,
};

use crate::agent::{Action, Agent, Observation, Profile, TaskTypeInfo, Wake};
use crate::spec::{Dist, PopulationSpec, Role, Strategy};
use crate::stream::AgentRng;

fn pick_weighted(mix: &[(usize, f64)], rng: &mut AgentRng) -> usize {
    let total: f64 = mix.iter().map(|m| m.1).sum();
    let mut x = rng.random::<f64>() * total;
    for &(i, w) in mix {
        if x < w {
            return i;
        }
        x -= w;
    }
    mix.last().map(|m| m.0).unwrap_or(0)
}

fn uniform(lo: f64, hi: f64, rng: &mut AgentRng) -> f64 {
    if hi <= lo { lo } else { lo + (hi - lo) * rng.random::<f64>() }
}

fn to_price(x: f64) -> u64 {
    if x.is_finite() { x.round().max(1.0) as u64 } else { 1 }
}

fn to_units(x: f64) -> u64 {
    if x.is_finite() { x.round().clamp(1.0, 1e12) as u64 } else { 1 }
}

fn to_ms(x: f64) -> u64 {
    if x.is_finite() { x.round().clamp(0.0, 1e15) as u64 } else { 0 }
}

/// Draws `k` distinct capabilities from `vocab`.
fn sample_caps(vocab: &[u8], k: usize, rng: &mut AgentRng) -> CapabilitySet {
    let k = k.min(vocab.len());
    let mut set = CapabilitySet::EMPTY;
    let mut chosen = 0;
    while chosen < k {
        let c = vocab[rng.random_range(0..vocab.len())];
        if !set.contains(c) {
            set = set.with(c);
            chosen += 1;
        }
    }
    set
}

/// A requester.
#[derive(Clone, Debug)]
pub struct RequesterAgent {
    spec: PopulationSpec,
    value: f64,
    budget: u64,
    open: Option<synmarket_engine::OrderId>,
}

impl RequesterAgent {
    /// Draws the agent's private parameters from its population.
    pub fn new(spec: &PopulationSpec, rng: &mut AgentRng) -> Self {
        let value = spec.value_per_unit.sample(rng).max(0.0);
        let budget = to_ms(spec.budget.sample(rng));
        RequesterAgent { spec: spec.clone(), value, budget, open: None }
    }

    fn bid(&self, rng: &mut AgentRng) -> f64 {
        let s = &self.spec;
        match s.strategy {
            Strategy::ZiConstrained => uniform(s.min_price.min(self.value), self.value, rng),
            Strategy::ZiUnconstrained => uniform(s.min_price, s.max_price, rng),
            _ => self.value,
        }
    }

    fn place(&mut self, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        if let Some(id) = self.open
            && obs.market.order(id).is_some_and(|o| o.trader == obs.me && o.status.is_open())
        {
            return;
        }
        let s = &self.spec;
        let tt: &TaskTypeInfo = &obs.task_types[pick_weighted(&s.task_mix, rng)];
        let units = to_units(s.units.as_ref().unwrap_or(&tt.spec.units).sample(rng));
        let needs = to_units(tt.spec.capabilities_needed.sample(rng).max(0.0)) as usize;
        let caps = sample_caps(&tt.capabilities, needs, rng);
        let min_rep = s.min_reputation.sample(rng).max(0.0);
        let privacy = s.privacy_mix.sample(rng);
        let bid = to_price(self.bid(rng));
        let nominal = tt.spec.duration_ms.mean().max(1.0);
        let sla = match &s.sla {
            Some(t) if rng.random::<f64>() < t.probability => {
                let mut minimums = [(0u8, 0.0f64); 4];
                let n = t.quality_minimums.len().min(obs.quality_metrics.len()).min(4);
                for (i, m) in minimums.iter_mut().enumerate().take(n) {
                    *m = (obs.quality_metrics[i], t.quality_minimums[i].1);
                }
                Some(SlaSpec {
                    max_response_time_ms: to_ms(t.max_response_ms.sample(rng)),
                    max_duration_ms: to_ms(nominal * t.max_duration_factor.sample(rng).max(0.0)).max(1),
                    uptime_requirement: t.uptime_requirement,
                    quality_minimums: QualityValues::new(&minimums[..n]).unwrap_or(QualityValues::EMPTY),
                    violation_penalty: (t.penalty_fraction * (bid * units) as f64) as u64,
                })
            }
            _ => None,
        };
        // Never ask for more than the wallet can lock.
        let available = obs.market.wallet(obs.me).available;
        let units = units.min(available / bid.max(1));
        if units == 0 {
            return;
        }
        let mut spec = ComputeTaskSpec::new(tt.id, caps);
        spec.compute_units = units;
        spec.min_reputation = min_rep;
        spec.privacy_level = privacy;
        spec.max_duration_ms = to_ms(nominal * 3.0);
        out.push(Action::PlaceOrder {
            order_type: OrderType::RequestCompute,
            price_per_unit: bid,
            units,
            spec,
            sla,
            ttl_ms: s.order_ttl_ms,
        });
        // The id this order will get if accepted; a refused order leaves it to someone else,
        // which the `trader == me` check above recognises.
        self.open = Some(synmarket_engine::OrderId(obs.market.orders().len() as u64));
    }
}

fn approves(multisig: MultiSigType, role: Role) -> bool {
    match multisig {
        MultiSigType::Single => role == Role::Requester,
        MultiSigType::BothParties => role != Role::Arbitrator,
        MultiSigType::Arbitrators { .. } => role == Role::Arbitrator,
        MultiSigType::TimeLocked { .. } => false,
    }
}

impl Agent for RequesterAgent {
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        match wake {
            Wake::Arrival => self.place(obs, rng, out),
            Wake::PeriodStart(_) => self.open = None,
            Wake::Completed(a) => {
                let e = EscrowId(a.0);
                if let Some(esc) = obs.market.escrow(e)
                    && esc.state == EscrowState::Completed
                    && approves(esc.multisig, Role::Requester)
                {
                    out.push(Action::Approve(e));
                }
            }
            Wake::Settled(a) => {
                if let Some(asg) = obs.market.assignment(a) {
                    let rating = match asg.status {
                        TaskStatus::Completed => 5,
                        TaskStatus::SlaViolated => 2,
                        _ => 1,
                    };
                    out.push(Action::Feedback(a, rating));
                }
            }
            _ => {}
        }
    }
    fn role(&self) -> Role {
        Role::Requester
    }
    fn strategy(&self) -> Strategy {
        self.spec.strategy
    }
    fn profile(&self) -> Profile {
        Profile { value_per_unit: Some(self.value), budget: self.budget, ..Default::default() }
    }
}

/// A provider.
#[derive(Clone, Debug)]
pub struct ProviderAgent {
    spec: PopulationSpec,
    cost: f64,
    markup: f64,
    speed: f64,
    budget: u64,
    account: AccountId,
    /// Capabilities held, per task type index of the scenario.
    caps: Vec<CapabilitySet>,
    open: Option<synmarket_engine::OrderId>,
}

impl ProviderAgent {
    /// Draws the agent's private parameters; `account` is its own subscription.
    pub fn new(spec: &PopulationSpec, task_types: &[TaskTypeInfo], account: AccountId, rng: &mut AgentRng) -> Self {
        let cost = spec.cost_per_unit.sample(rng).max(0.0);
        let markup = spec.markup.sample(rng);
        let speed = spec.reliability.speed_factor.sample(rng).max(0.01);
        let budget = to_ms(spec.budget.sample(rng));
        let caps = task_types
            .iter()
            .map(|tt| {
                let mut set = CapabilitySet::EMPTY;
                for &c in &tt.capabilities {
                    if rng.random::<f64>() < spec.capability_coverage {
                        set = set.with(c);
                    }
                }
                if spec.confidential_attested {
                    set = set.with(0);
                }
                set
            })
            .collect();
        ProviderAgent { spec: spec.clone(), cost, markup, speed, budget, account, caps, open: None }
    }

    fn ask(&self, rng: &mut AgentRng) -> f64 {
        let s = &self.spec;
        match s.strategy {
            Strategy::ZiConstrained => uniform(self.cost, s.max_price.max(self.cost), rng),
            Strategy::ZiUnconstrained => uniform(s.min_price, s.max_price, rng),
            _ => self.cost * (1.0 + self.markup),
        }
    }

    /// The account the provider executes on.
    pub fn account(&self) -> AccountId {
        self.account
    }
}

impl Agent for ProviderAgent {
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        let r = &self.spec.reliability;
        match wake {
            Wake::Arrival => {
                if let Some(id) = self.open
                    && obs.market.order(id).is_some_and(|o| o.trader == obs.me && o.status.is_open())
                {
                    return;
                }
                let ti = pick_weighted(&self.spec.task_mix, rng);
                let tt = &obs.task_types[ti];
                let mut units = to_units(self.spec.units.as_ref().unwrap_or(&tt.spec.units).sample(rng));
                if let Some(cap) = obs.market.peer_state(obs.me).and_then(|p| p.usage_cap_units) {
                    units = units.min(cap.max(1));
                }
                let ask = to_price(self.ask(rng));
                let mut spec = ComputeTaskSpec::new(tt.id, self.caps[ti]);
                spec.compute_units = units;
                out.push(Action::PlaceOrder {
                    order_type: OrderType::OfferCompute,
                    price_per_unit: ask,
                    units,
                    spec,
                    sla: None,
                    ttl_ms: self.spec.order_ttl_ms,
                });
                self.open = Some(synmarket_engine::OrderId(obs.market.orders().len() as u64));
            }
            Wake::PeriodStart(_) => self.open = None,
            Wake::Assigned(a) => {
                if rng.random::<f64>() < r.no_show_probability {
                    return;
                }
                let delay = to_ms(r.start_delay_ms.sample(rng));
                out.push(Action::StartAfter { assignment: a, delay_ms: delay });
            }
            Wake::Started(a) => {
                let Some(asg) = obs.market.assignment(a) else { return };
                let ti = obs.task_types.iter().position(|t| t.id == asg.task_type).unwrap_or(0);
                let nominal = obs.task_types[ti].spec.duration_ms.sample(rng).max(1.0);
                let duration = to_ms(nominal * self.speed).max(1);
                let mut q = [(0u8, 0.0f64); 4];
                let n = obs.quality_metrics.len().min(4);
                for (i, slot) in q.iter_mut().enumerate().take(n) {
                    *slot = (obs.quality_metrics[i], r.quality.sample(rng).clamp(0.0, 1.0));
                }
                let uptime = r.availability.sample(rng).clamp(0.0, 1.0);
                let completion = Completion {
                    quality: QualityValues::new(&q[..n]).unwrap_or(QualityValues::EMPTY),
                    uptime,
                    receipt_account: self.account,
                };
                out.push(Action::CompleteAfter { assignment: a, delay_ms: duration, completion });
            }
            Wake::Completed(a) => {
                let e = EscrowId(a.0);
                if let Some(esc) = obs.market.escrow(e)
                    && esc.state == EscrowState::Completed
                    && esc.provider == obs.me
                    && approves(esc.multisig, Role::Provider)
                {
                    out.push(Action::Approve(e));
                }
            }
            Wake::Settled(a) => {
                if let Some(esc) = obs.market.escrow(EscrowId(a.0)) {
                    out.push(Action::Feedback(a, if esc.paid_provider > 0 { 5 } else { 3 }));
                }
            }
            Wake::Disputed(_) => {}
        }
    }
    fn role(&self) -> Role {
        Role::Provider
    }
    fn strategy(&self) -> Strategy {
        self.spec.strategy
    }
    fn profile(&self) -> Profile {
        let caps = self.caps.iter().fold(CapabilitySet::EMPTY, |a, b| a.union(*b));
        Profile { cost_per_unit: Some(self.cost), budget: self.budget, capabilities: caps, ..Default::default() }
    }
}

/// An honest arbitrator.
#[derive(Clone, Debug)]
pub struct ArbitratorAgent {
    strategy: Strategy,
    budget: u64,
}

impl ArbitratorAgent {
    /// A new arbitrator.
    pub fn new(spec: &PopulationSpec, rng: &mut AgentRng) -> Self {
        ArbitratorAgent { strategy: spec.strategy, budget: to_ms(spec.budget.sample(rng)) }
    }
}

/// The vote the evidence supports: completed work is released, work that never completed is
/// refunded.
pub fn evidence_vote(obs: &Observation<'_>, e: EscrowId) -> Vote {
    match obs.market.assignment(synmarket_engine::AssignmentId(e.0)).map(|a| a.status) {
        Some(TaskStatus::Completed) | Some(TaskStatus::SlaViolated) => Vote::ReleaseToProvider,
        _ => Vote::RefundToRequester,
    }
}

impl Agent for ArbitratorAgent {
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, _rng: &mut AgentRng, out: &mut Vec<Action>) {
        match wake {
            Wake::Completed(a) => {
                let e = EscrowId(a.0);
                if let Some(esc) = obs.market.escrow(e)
                    && esc.state == EscrowState::Completed
                    && esc.arbitrators.contains(&obs.me)
                {
                    out.push(Action::Approve(e));
                }
            }
            Wake::Disputed(e) => out.push(Action::Vote(e, evidence_vote(obs, e))),
            _ => {}
        }
    }
    fn role(&self) -> Role {
        Role::Arbitrator
    }
    fn strategy(&self) -> Strategy {
        self.strategy
    }
    fn profile(&self) -> Profile {
        Profile { budget: self.budget, ..Default::default() }
    }
}

/// Builds the agent for a population member.
pub fn build_agent(
    spec: &PopulationSpec,
    task_types: &[TaskTypeInfo],
    account: AccountId,
    rng: &mut AgentRng,
) -> Box<dyn Agent> {
    match spec.role {
        Role::Requester => Box::new(RequesterAgent::new(spec, rng)),
        Role::Provider => Box::new(ProviderAgent::new(spec, task_types, account, rng)),
        Role::Arbitrator => Box::new(ArbitratorAgent::new(spec, rng)),
    }
}

/// Mean of a distribution clamped at zero (for defaults in reports).
pub fn mean_nonneg(d: &Dist) -> f64 {
    d.mean().max(0.0)
}
