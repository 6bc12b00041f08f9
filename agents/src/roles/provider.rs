//! Providers: offer their compute, execute assigned work, and — for the adversaries — break the
//! federation's rules in the ways the compliance metrics count.
//!
//! A provider holds one resting offer at a time, priced by its price rule ([`crate::strategies::PriceRule`]) (adaptive pricers
//! cancel and re-quote at each arrival), sized within its usage cap and its `units_per_period`
//! quota. Assigned work follows the reliability profile: a no-show with `no_show_probability`,
//! else a start after `start_delay`, a duration of `duration × speed_factor`, a quality draw per
//! metric and an availability draw as uptime. A provider is offline at an arrival with
//! `offline_probability` (it withdraws its offer and places none).
//!
//! Execution follows the strategy's conduct ([`crate::strategies::Conduct`]): honest providers name their own
//! account on the receipt; the conduct of an adversary can re-enter as a new peer at an arrival
//! (`Action::ReEnter`), lower the quality it delivers, name a foreign account on the receipt
//! (declaring the violation it is), leak payloads (`Action::Leak`) and inflate ratings. A
//! colluder's ring capability comes from the kernel (`Setup::ring_capability`).

use rand::RngExt;

use synmarket_engine::{
    CapabilitySet, Completion, ComputeTaskSpec, EscrowId, EscrowState, OrderId, QualityValues, Side,
};

use super::Agent;
use super::{Population, Quota, Setup, account_of, approves, chance, pick_weighted, requote_refused, to_ms, to_units};
use crate::agent::{Action, Observation, Profile, TaskTypeInfo, Wake};
use crate::strategies::PricerSetup;
use crate::strategies::conduct::Conduct;
use crate::strategies::pricing::{PriceRule, Quote, View};
use std::sync::Arc;

use crate::spec::Role;
use crate::strategies::Strategy;
use crate::stream::AgentRng;

/// A provider.
#[derive(Debug)]
pub struct ProviderAgent {
    /// The population, shared by all its agents (not copied per agent).
    pop: Arc<Population>,
    /// The cost drawn, or the first unit's of a schedule.
    cost: f64,
    /// The lowest price that covers `cost` after the market fee (`provider_limit`).
    limit: f64,
    /// Index within the population (its list of a schedule).
    member: u32,
    /// The market fee, for the limit of a schedule's next unit.
    fee_bps: u64,
    speed: f64,
    budget: u64,
    /// Capabilities held, per task type index of the scenario.
    caps: Vec<CapabilitySet>,
    open: Option<OrderId>,
    pricer: Box<dyn PriceRule>,
    conduct: Box<dyn Conduct>,
    quota: Quota,
}

impl ProviderAgent {
    /// Draws the agent's private parameters.
    pub fn new(pop: &Arc<Population>, task_types: &[TaskTypeInfo], setup: Setup, rng: &mut AgentRng) -> Self {
        let spec = &pop.spec;
        let behaviour = spec.strategy.behaviour();
        let cost = spec.providing.cost_per_unit.first(setup.member, rng).max(0.0);
        let markup = behaviour.markup().map_or(0.0, |m| m.sample(rng));
        let speed = spec.providing.reliability.speed_factor.sample(rng).max(0.01);
        let budget = to_ms(spec.common.budget.sample(rng));
        let caps = task_types
            .iter()
            .map(|tt| {
                let mut set = CapabilitySet::EMPTY;
                for &c in &tt.capabilities {
                    if rng.random::<f64>() < spec.providing.capability_coverage {
                        set = set.with(c).unwrap_or(set);
                    }
                }
                if spec.providing.confidential_attested {
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
        let pricer = behaviour.price_rule(&PricerSetup { side: Side::Sell, limit: limit.min(f64::MAX), markup }, rng);
        ProviderAgent {
            pop: Arc::clone(pop),
            cost,
            limit,
            member: setup.member,
            fee_bps: setup.fee_bps,
            speed,
            budget,
            caps,
            open: None,
            pricer,
            conduct: behaviour.conduct(),
            quota: Quota { limit: spec.units_per_period(setup.member), traded: 0 },
        }
    }

    /// The price rule (for tests: ZIP margins).
    pub fn pricer(&self) -> &dyn PriceRule {
        self.pricer.as_ref()
    }

    /// The trader's list of unit costs, if its population writes a schedule.
    fn schedule(&self) -> Option<&[f64]> {
        self.pop.spec.providing.cost_per_unit.of(self.member)
    }

    /// The limit price of the unit the provider sells next: its cost after the fee.
    fn unit_limit(&self) -> f64 {
        self.schedule()
            .map_or(self.limit, |s| super::provider_limit(super::unit_of(s, self.quota.traded).max(0.0), self.fee_bps))
    }

    /// Units traded this period changed: a schedule's next unit sets the price rule's limit.
    fn next_unit(&mut self) {
        if self.schedule().is_some() {
            let l = self.unit_limit();
            self.pricer.set_limit(l.min(f64::MAX));
        }
    }

    fn arrive(&mut self, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        if self.conduct.re_enter(obs.market, obs.me) {
            self.open = None;
            out.push(Action::ReEnter);
            return;
        }
        let open =
            self.open.filter(|&id| obs.market.order(id).is_some_and(|o| o.trader == obs.me && o.status.is_open()));
        let spec = &self.pop.spec;
        let offline = spec.providing.reliability.offline_probability;
        if offline > 0.0 && chance(offline, rng) {
            if let Some(id) = open {
                out.push(Action::Cancel(id));
            }
            self.open = None;
            return;
        }
        let room = self.quota.room();
        let mut replacing = None;
        if let Some(id) = open {
            if !self.pricer.requotes() && room > 0 {
                return;
            }
            // Cancelled once the new quote is known (a CDA may refuse it: then the order stays).
            replacing = Some(id);
        }
        let cancel = |replacing: Option<OrderId>, open: &mut Option<OrderId>, out: &mut Vec<Action>| {
            if let Some(id) = replacing {
                out.push(Action::Cancel(id));
                *open = None;
            }
        };
        if room == 0 {
            cancel(replacing, &mut self.open, out);
            return;
        }
        let ti = pick_weighted(&self.pop.task_mix, rng);
        let tt = &obs.task_types[ti];
        // A trader with a schedule offers one unit at a time (its next unit's cost).
        let mut units = if self.schedule().is_some() {
            1
        } else {
            to_units(spec.trading.units.as_ref().unwrap_or(&tt.spec.units).sample(rng)).min(room)
        };
        if let Some(cap) = obs.market.peer_state(obs.me).and_then(|p| p.usage_cap_units) {
            units = units.min(cap.max(1));
        }
        let view = View {
            trades: obs.market.price_stats(tt.id),
            best_ask: if self.pricer.watches_best_ask() { obs.market.best_ask(tt.id) } else { None },
            best_bid: obs.market.best_bid(tt.id),
            reputation: obs.market.reputation(obs.me),
        };
        let limit = self.unit_limit();
        if !limit.is_finite() {
            cancel(replacing, &mut self.open, out);
            return; // a 100 % fee: no price covers the cost
        }
        let quote = Quote {
            side: Side::Sell,
            limit,
            view: &view,
            min_price: spec.trading.min_price,
            max_price: spec.trading.max_price,
        };
        let ask = self.pricer.quote(&quote, rng);
        if let (Some(_), Some(a)) = (replacing, ask)
            && requote_refused(obs.market, tt.id, Side::Sell, a)
        {
            return;
        }
        cancel(replacing, &mut self.open, out);
        let Some(ask) = ask else { return };
        let mut spec = ComputeTaskSpec::new(tt.id, self.caps.get(ti).copied().unwrap_or(CapabilitySet::EMPTY));
        spec.compute_units = units;
        out.push(Action::PlaceOrder {
            side: Side::Sell,
            price_per_unit: ask,
            units,
            spec,
            sla: None,
            ttl_ms: self.pop.spec.trading.order_ttl_ms,
        });
        self.open = Some(OrderId(obs.market.orders().len() as u64));
    }

    fn start(
        &mut self,
        a: synmarket_engine::AssignmentId,
        obs: &Observation<'_>,
        rng: &mut AgentRng,
        out: &mut Vec<Action>,
    ) {
        let Some(asg) = obs.market.assignment(a) else { return };
        let r = &self.pop.spec.providing.reliability;
        let ti = obs.task_types.iter().position(|t| t.id == asg.task_type).unwrap_or(0);
        let nominal = obs.task_types.get(ti).map_or(1.0, |t| t.spec.duration_ms.sample(rng).max(1.0));
        let duration = to_ms(nominal * self.speed).max(1);
        let quality = self.conduct.quality(obs.market, asg.provider, &r.quality);
        let mut q = [(0u8, 0.0f64); 4];
        let n = obs.quality_metrics.len().min(4);
        for (i, slot) in q.iter_mut().enumerate().take(n) {
            *slot = (obs.quality_metrics[i], quality.sample(rng).clamp(0.0, 1.0));
        }
        let uptime = r.availability.sample(rng).clamp(0.0, 1.0);
        let own = account_of(obs, asg.provider);
        let receipt = self.conduct.receipt(obs, own, rng);
        if self.conduct.leaks(asg.privacy, rng) {
            out.push(Action::Leak(a));
        }
        let completion = Completion {
            quality: QualityValues::new(&q[..n]).unwrap_or(QualityValues::EMPTY),
            uptime,
            receipt_account: receipt.account,
        };
        out.push(Action::CompleteAfter { assignment: a, delay_ms: duration, completion, violation: receipt.violation });
    }
}

impl Agent for ProviderAgent {
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        match wake {
            Wake::Arrival => self.arrive(obs, rng, out),
            Wake::PeriodStart(_) => {
                self.open = None;
                self.quota.traded = 0;
                self.next_unit();
            }
            Wake::Assigned(a) => {
                let Some(asg) = obs.market.assignment(a) else { return };
                let limit = self.unit_limit();
                self.quota.traded += asg.units;
                self.pricer.on_fill(Side::Sell, limit, asg.price_per_unit, asg.units, rng);
                self.next_unit();
                let r = &self.pop.spec.providing.reliability;
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
                    let honest = if esc.paid_provider > 0 { 5 } else { 3 };
                    out.push(Action::Feedback(a, self.conduct.rating(honest)));
                }
            }
            Wake::Disputed(_) => {}
        }
    }
    fn margin(&self) -> Option<f64> {
        self.pricer.margin()
    }
    fn wants_market_events(&self) -> bool {
        self.pricer.wants_market_events()
    }
    fn on_shout(
        &mut self,
        shout: &crate::strategies::pricing::Shout,
        trade: Option<(synmarket_engine::PeerId, synmarket_engine::PeerId, u64)>,
        me: synmarket_engine::PeerId,
        rng: &mut AgentRng,
    ) {
        super::relay_shout(self.pricer.as_mut(), &self.quota, Side::Sell, shout, trade, me, rng);
    }
    fn role(&self) -> Role {
        Role::Provider
    }
    fn strategy(&self) -> Strategy {
        self.pop.spec.kind()
    }
    fn profile(&self) -> Profile {
        let caps = self.caps.iter().fold(CapabilitySet::EMPTY, |a, b| a.union(*b));
        Profile { cost_per_unit: Some(self.cost), budget: self.budget, capabilities: caps, ..Default::default() }
    }
}
