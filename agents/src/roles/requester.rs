//! Requesters: post compute requests, approve (or dispute) completed work, rate providers.
//!
//! A requester holds one open request at a time. At each arrival it draws a task type from its
//! mix, units, the capabilities needed, a minimum reputation, a privacy level and SLA terms, and
//! bids by its price rule ([`crate::strategies::PriceRule`]); adaptive pricers (ZIP, Roth–Erev) cancel the open request and re-quote.
//! It never bids more than it can lock, nor beyond its `units_per_period` quota.
//!
//! What a strategy changes is asked of its price rule and its conduct ([`crate::strategies::Behaviour`]): a
//! colluder's ring capability comes from the kernel (`Setup::ring_capability`), abusive disputes
//! and forgeries from the conduct.

use rand::RngExt;

use synmarket_engine::{
    ComputeTaskSpec, EscrowId, EscrowState, MAX_DURATION_MS, OrderId, PeerId, QualityValues, Side, SlaSpec, TaskStatus,
};

use super::Agent;
use super::{Population, Quota, Setup, approves, chance, pick_weighted, requote_refused, sample_caps, to_ms, to_units};
use crate::agent::{Action, Observation, Profile, TaskTypeInfo, Wake};
use crate::strategies::PricerSetup;
use crate::strategies::conduct::Conduct;
use crate::strategies::pricing::{PriceRule, Quote, View};
use std::sync::Arc;

use crate::spec::Role;
use crate::strategies::Strategy;
use crate::stream::AgentRng;

/// A requester.
#[derive(Debug)]
pub struct RequesterAgent {
    /// The population, shared by all its agents (not copied per agent).
    pop: Arc<Population>,
    /// The value drawn, or the first unit's of a schedule.
    value: f64,
    /// Index within the population (its list of a schedule).
    member: u32,
    budget: u64,
    open: Option<OrderId>,
    pricer: Box<dyn PriceRule>,
    conduct: Box<dyn Conduct>,
    quota: Quota,
    ring_capability: Option<u8>,
}

impl RequesterAgent {
    /// Draws the agent's private parameters from its population.
    pub fn new(pop: &Arc<Population>, setup: Setup, rng: &mut AgentRng) -> Self {
        let spec = &pop.spec;
        let value = spec.requesting.value_per_unit.first(setup.member, rng).max(0.0);
        let budget = to_ms(spec.common.budget.sample(rng));
        let behaviour = spec.strategy.behaviour();
        let pricer = behaviour.price_rule(&PricerSetup { side: Side::Buy, limit: value, markup: 0.0 }, rng);
        RequesterAgent {
            pop: Arc::clone(pop),
            value,
            member: setup.member,
            budget,
            open: None,
            pricer,
            conduct: behaviour.conduct(),
            quota: Quota { limit: spec.units_per_period(setup.member), traded: 0 },
            ring_capability: setup.ring_capability,
        }
    }

    /// The price rule (for tests: ZIP margins).
    pub fn pricer(&self) -> &dyn PriceRule {
        self.pricer.as_ref()
    }

    /// The trader's list of unit values, if its population writes a schedule.
    fn schedule(&self) -> Option<&[f64]> {
        self.pop.spec.requesting.value_per_unit.of(self.member)
    }

    /// The value of the unit the requester buys next (its limit price).
    fn unit_value(&self) -> f64 {
        self.schedule().map_or(self.value, |s| super::unit_of(s, self.quota.traded).max(0.0))
    }

    /// Units traded this period changed: a schedule's next unit sets the price rule's limit.
    fn next_unit(&mut self) {
        if self.schedule().is_some() {
            let v = self.unit_value();
            self.pricer.set_limit(v);
        }
    }

    fn sla(&self, nominal: f64, bid: u64, units: u64, rng: &mut AgentRng) -> Option<SlaSpec> {
        let t = self.pop.spec.requesting.sla.as_ref()?;
        if !chance(t.probability, rng) {
            return None;
        }
        // Each minimum is on the metric of its name (resolved by the kernel), at most four.
        let mut minimums = [(0u8, 0.0f64); 4];
        let n = self.pop.quality_minimums.len().min(4);
        minimums[..n].copy_from_slice(&self.pop.quality_minimums[..n]);
        Some(SlaSpec {
            // The engine refuses durations above MAX_DURATION_MS (10 years): an SLA asks at most that.
            max_response_time_ms: to_ms(t.max_response_ms.sample(rng)).min(MAX_DURATION_MS),
            max_duration_ms: to_ms(nominal * t.max_duration_factor.sample(rng).max(0.0)).clamp(1, MAX_DURATION_MS),
            uptime_requirement: t.uptime_requirement,
            quality_minimums: QualityValues::new(&minimums[..n]).unwrap_or(QualityValues::EMPTY),
            violation_penalty: (t.penalty_fraction * bid.saturating_mul(units) as f64) as u64,
        })
    }

    fn place(&mut self, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        let room = self.quota.room();
        if room == 0 {
            return;
        }
        let mut available = obs.market.wallet(obs.me).available;
        let mut replacing = None;
        if let Some(id) = self.open
            && let Some(o) = obs.market.order(id).filter(|o| o.trader == obs.me && o.status.is_open())
        {
            if !self.pricer.requotes() {
                return;
            }
            // Cancelled once the new quote is known (a CDA may refuse it: then the order stays).
            replacing = Some(id);
            available += o.remaining().saturating_mul(o.price_per_unit);
        }
        let s = &self.pop.spec;
        let tt: &TaskTypeInfo = &obs.task_types[pick_weighted(&self.pop.task_mix, rng)];
        // A trader with a schedule orders one unit at a time (its next unit's value).
        let units = if self.schedule().is_some() {
            1
        } else {
            to_units(s.trading.units.as_ref().unwrap_or(&tt.spec.units).sample(rng)).min(room)
        };
        let needs = to_units(tt.capabilities_needed.sample(rng).max(0.0)) as usize;
        let mut caps = sample_caps(&tt.capabilities, needs, rng);
        if let Some(c) = self.ring_capability {
            caps = caps.with(c).unwrap_or(caps);
        }
        let min_rep = s.requesting.min_reputation.sample(rng).max(0.0);
        let privacy = s.requesting.privacy_mix.sample(rng);
        let view = View {
            trades: obs.market.price_stats(tt.id),
            best_ask: if self.pricer.watches_best_ask() { obs.market.best_ask(tt.id) } else { None },
            best_bid: obs.market.best_bid(tt.id),
            reputation: obs.market.reputation(obs.me),
        };
        let quote = Quote {
            side: Side::Buy,
            limit: self.unit_value(),
            view: &view,
            min_price: s.trading.min_price,
            max_price: s.trading.max_price,
        };
        let bid = self.pricer.quote(&quote, rng);
        if let (Some(_), Some(b)) = (replacing, bid)
            && requote_refused(obs.market, tt.id, Side::Buy, b)
        {
            return;
        }
        if let Some(id) = replacing {
            out.push(Action::Cancel(id));
            self.open = None;
        }
        let Some(bid) = bid else { return };
        let nominal = tt.spec.duration_ms.mean().max(1.0);
        let sla = self.sla(nominal, bid, units, rng);
        let forge = self.conduct.forges(rng);
        // Never ask for more than the wallet can lock.
        let units = units.min(available / bid.max(1));
        if units == 0 {
            return;
        }
        let mut spec = ComputeTaskSpec::new(tt.id, caps);
        spec.compute_units = units;
        spec.min_reputation = min_rep;
        spec.privacy_level = privacy;
        spec.max_duration_ms = to_ms(nominal * 3.0).min(MAX_DURATION_MS);
        if forge {
            let peers = obs.market.peer_count() as u32;
            let victim = PeerId((obs.me.0 + rng.random_range(1..peers.max(2))) % peers.max(1));
            out.push(Action::ForgeOrder { victim, side: Side::Buy, price_per_unit: bid, units, spec });
            return;
        }
        out.push(Action::PlaceOrder {
            side: Side::Buy,
            price_per_unit: bid,
            units,
            spec,
            sla,
            ttl_ms: s.trading.order_ttl_ms,
        });
        // The id this order will get if accepted; a refused order leaves it to someone else,
        // which the `trader == me` check above recognises.
        self.open = Some(OrderId(obs.market.orders().len() as u64));
    }
}

impl Agent for RequesterAgent {
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        match wake {
            Wake::Arrival => self.place(obs, rng, out),
            Wake::PeriodStart(_) => {
                self.open = None;
                self.quota.traded = 0;
                self.next_unit();
            }
            Wake::Assigned(a) => {
                if let Some(asg) = obs.market.assignment(a) {
                    let value = self.unit_value();
                    self.quota.traded += asg.units;
                    self.pricer.on_fill(Side::Buy, value, asg.price_per_unit, asg.units, rng);
                    self.next_unit();
                }
            }
            Wake::Completed(a) => {
                let e = EscrowId(a.0);
                let Some(esc) = obs.market.escrow(e) else { return };
                if esc.state != EscrowState::Completed {
                    return;
                }
                if self.conduct.disputes(rng) {
                    out.push(Action::Dispute(e));
                } else if approves(esc.multisig, Role::Requester) {
                    out.push(Action::Approve(e));
                }
            }
            Wake::Settled(a) => {
                if let Some(asg) = obs.market.assignment(a) {
                    let honest = match asg.status {
                        TaskStatus::Completed => 5,
                        TaskStatus::SlaViolated => 2,
                        _ => 1,
                    };
                    out.push(Action::Feedback(a, self.conduct.rating(honest)));
                }
            }
            _ => {}
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
        super::relay_shout(self.pricer.as_mut(), &self.quota, Side::Buy, shout, trade, me, rng);
    }
    fn role(&self) -> Role {
        Role::Requester
    }
    fn strategy(&self) -> Strategy {
        self.pop.spec.kind()
    }
    fn profile(&self) -> Profile {
        Profile { value_per_unit: Some(self.value), budget: self.budget, ..Default::default() }
    }
}
