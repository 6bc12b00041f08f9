//! Providers: offer their compute, execute assigned work, and — for the adversaries — break the
//! federation's rules in the ways the compliance metrics count.
//!
//! A provider holds one resting offer at a time, priced by its [`Pricer`] (adaptive pricers
//! cancel and re-quote at each arrival), sized within its usage cap and its `units_per_period`
//! quota. Assigned work follows the reliability profile: a no-show with `no_show_probability`,
//! else a start after `start_delay`, a duration of `duration × speed_factor`, a quality draw per
//! metric and an availability draw as uptime. A provider is offline at an arrival with
//! `offline_probability` (it withdraws its offer and places none).
//!
//! Execution by strategy: honest providers name their own account on the receipt; an
//! **exploiter** delivers `exploit_quality` once its reputation reaches `exploit_threshold`; a
//! **relay** names a foreign account (another provider's) with `violation_probability`; a
//! **reseller** names one backing account for every task; a **leaker** leaks non-public payloads
//! (`Action::Leak`); a **Sybil** re-enters as a new peer (`Action::ReEnter`) when its reputation
//! falls below `reentry_threshold`; a **colluder** holds its ring's capability and rates 5.

use rand::RngExt;

use synmarket_engine::{
    AccountId, CapabilitySet, Completion, ComputeTaskSpec, EscrowId, EscrowState, OrderId, PeerId, PrivacyLevel,
    QualityValues, Side,
};

use super::pricing::{Pricer, View};
use super::{Quota, Setup, account_of, approves, chance, pick_weighted, to_ms, to_units};
use crate::agent::{Action, Agent, Observation, Profile, TaskTypeInfo, Wake};
use std::sync::Arc;

use crate::spec::{PopulationSpec, Role, Strategy};
use crate::stream::AgentRng;

/// A provider.
#[derive(Clone, Debug)]
pub struct ProviderAgent {
    /// The population's spec, shared by all its agents (not copied per agent).
    spec: Arc<PopulationSpec>,
    cost: f64,
    /// The lowest price that covers `cost` after the market fee (`provider_limit`).
    limit: f64,
    speed: f64,
    budget: u64,
    /// Capabilities held, per task type index of the scenario.
    caps: Vec<CapabilitySet>,
    open: Option<OrderId>,
    pricer: Pricer,
    quota: Quota,
    reentries: u32,
    backing: Option<AccountId>,
}

impl ProviderAgent {
    /// Draws the agent's private parameters.
    pub fn new(spec: &Arc<PopulationSpec>, task_types: &[TaskTypeInfo], setup: Setup, rng: &mut AgentRng) -> Self {
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
                        set = set.with(c).unwrap_or(set);
                    }
                }
                if spec.confidential_attested {
                    set = set.with(0).unwrap_or(set);
                }
                if let Some(c) = setup.ring_capability {
                    set = set.with(c).unwrap_or(set);
                }
                set
            })
            .collect();
        // The fee comes out of the provider's gross: quote above cost after the fee.
        let limit = super::provider_limit(cost, setup.fee_bps);
        let pricer = Pricer::new(spec, Side::Sell, limit.min(f64::MAX), markup, rng);
        ProviderAgent {
            spec: Arc::clone(spec),
            cost,
            limit,
            speed,
            budget,
            caps,
            open: None,
            pricer,
            quota: Quota { limit: spec.units_per_period, traded: 0 },
            reentries: 0,
            backing: None,
        }
    }

    /// The pricer (for tests: ZIP margins).
    pub fn pricer(&self) -> &Pricer {
        &self.pricer
    }

    fn arrive(&mut self, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        let p = &self.spec.params;
        if self.spec.strategy == Strategy::Sybil
            && self.reentries < p.max_reentries
            && obs.market.reputation(obs.me) < p.reentry_threshold
        {
            self.reentries += 1;
            self.open = None;
            out.push(Action::ReEnter);
            return;
        }
        let open =
            self.open.filter(|&id| obs.market.order(id).is_some_and(|o| o.trader == obs.me && o.status.is_open()));
        let offline = self.spec.reliability.offline_probability;
        if offline > 0.0 && chance(offline, rng) {
            if let Some(id) = open {
                out.push(Action::Cancel(id));
            }
            self.open = None;
            return;
        }
        let room = self.quota.room();
        if let Some(id) = open {
            if !self.pricer.requotes() && room > 0 {
                return;
            }
            out.push(Action::Cancel(id));
            self.open = None;
        }
        if room == 0 {
            return;
        }
        let ti = pick_weighted(&self.spec.task_mix, rng);
        let tt = &obs.task_types[ti];
        let mut units = to_units(self.spec.units.as_ref().unwrap_or(&tt.spec.units).sample(rng)).min(room);
        if let Some(cap) = obs.market.peer_state(obs.me).and_then(|p| p.usage_cap_units) {
            units = units.min(cap.max(1));
        }
        let view = View {
            trades: obs.market.price_stats(tt.id),
            best_ask: if matches!(self.pricer, Pricer::Zip(..)) { obs.market.best_ask(tt.id) } else { None },
            best_bid: obs.market.best_bid(tt.id),
            reputation: obs.market.reputation(obs.me),
        };
        if !self.limit.is_finite() {
            return; // a 100 % fee: no price covers the cost
        }
        let Some(ask) = self.pricer.quote(&self.spec, Side::Sell, self.limit, &view, rng) else { return };
        let mut spec = ComputeTaskSpec::new(tt.id, self.caps.get(ti).copied().unwrap_or(CapabilitySet::EMPTY));
        spec.compute_units = units;
        out.push(Action::PlaceOrder {
            side: Side::Sell,
            price_per_unit: ask,
            units,
            spec,
            sla: None,
            ttl_ms: self.spec.order_ttl_ms,
        });
        self.open = Some(OrderId(obs.market.orders().len() as u64));
    }

    /// Another peer's account (not `own`), drawn from the agent's stream.
    fn foreign_account(obs: &Observation<'_>, own: Option<AccountId>, rng: &mut AgentRng) -> AccountId {
        let n = obs.market.peer_count() as u32;
        for _ in 0..8 {
            let p = PeerId(rng.random_range(0..n.max(1)));
            if let Some(acc) = account_of(obs, p)
                && Some(acc) != own
            {
                return acc;
            }
        }
        // An outside subscription nobody in the market registered.
        AccountId(u64::MAX - obs.me.0 as u64)
    }

    fn start(
        &mut self,
        a: synmarket_engine::AssignmentId,
        obs: &Observation<'_>,
        rng: &mut AgentRng,
        out: &mut Vec<Action>,
    ) {
        let Some(asg) = obs.market.assignment(a) else { return };
        let r = &self.spec.reliability;
        let p = &self.spec.params;
        let ti = obs.task_types.iter().position(|t| t.id == asg.task_type).unwrap_or(0);
        let nominal = obs.task_types.get(ti).map_or(1.0, |t| t.spec.duration_ms.sample(rng).max(1.0));
        let duration = to_ms(nominal * self.speed).max(1);
        let exploiting =
            self.spec.strategy == Strategy::Exploiter && obs.market.reputation(asg.provider) >= p.exploit_threshold;
        let mut q = [(0u8, 0.0f64); 4];
        let n = obs.quality_metrics.len().min(4);
        for (i, slot) in q.iter_mut().enumerate().take(n) {
            let d = if exploiting { &p.exploit_quality } else { &r.quality };
            *slot = (obs.quality_metrics[i], d.sample(rng).clamp(0.0, 1.0));
        }
        let uptime = r.availability.sample(rng).clamp(0.0, 1.0);
        let own = account_of(obs, asg.provider);
        let receipt = match self.spec.strategy {
            Strategy::Relay if chance(p.violation_probability, rng) => Self::foreign_account(obs, own, rng),
            Strategy::Reseller => match self.backing {
                Some(b) => b,
                None => {
                    let b = Self::foreign_account(obs, own, rng);
                    self.backing = Some(b);
                    b
                }
            },
            _ => own.unwrap_or(AccountId(u64::MAX - obs.me.0 as u64)),
        };
        if self.spec.strategy == Strategy::Leaker
            && asg.privacy != PrivacyLevel::Public
            && chance(p.violation_probability, rng)
        {
            out.push(Action::Leak(a));
        }
        let completion = Completion {
            quality: QualityValues::new(&q[..n]).unwrap_or(QualityValues::EMPTY),
            uptime,
            receipt_account: receipt,
        };
        out.push(Action::CompleteAfter { assignment: a, delay_ms: duration, completion });
    }
}

impl Agent for ProviderAgent {
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        match wake {
            Wake::Arrival => self.arrive(obs, rng, out),
            Wake::PeriodStart(_) => {
                self.open = None;
                self.quota.traded = 0;
            }
            Wake::Assigned(a) => {
                let Some(asg) = obs.market.assignment(a) else { return };
                self.quota.traded += asg.units;
                self.pricer.on_fill(Side::Sell, self.limit, asg.price_per_unit, asg.units, rng);
                let r = &self.spec.reliability;
                if rng.random::<f64>() < r.no_show_probability {
                    return;
                }
                let delay = to_ms(r.start_delay_ms.sample(rng));
                out.push(Action::StartAfter { assignment: a, delay_ms: delay });
            }
            Wake::Started(a) => self.start(a, obs, rng, out),
            Wake::Completed(a) => {
                let e = EscrowId(a.0);
                if let Some(esc) = obs.market.escrow(e)
                    && esc.state == EscrowState::Completed
                    && approves(esc.multisig, Role::Provider)
                {
                    out.push(Action::Approve(e));
                }
            }
            Wake::Settled(a) => {
                if let Some(esc) = obs.market.escrow(EscrowId(a.0)) {
                    let rating = if self.spec.strategy == Strategy::Colluder || esc.paid_provider > 0 { 5 } else { 3 };
                    out.push(Action::Feedback(a, rating));
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
