//! The role agents: a requester, a provider and an arbitrator, each running its population's
//! strategy (price rule and conduct, [`crate::strategies`]) on the kernel's wakes. They never name
//! a strategy: what differs between strategies is asked of the [`crate::strategies::Behaviour`].
//!
//! - [`requester`]: posts requests, approves or disputes completed work, rates providers.
//! - [`provider`]: offers compute, executes assigned work by its reliability profile.
//! - [`arbitrator`]: approves arbitrated escrows and votes on disputes.

pub mod arbitrator;
pub mod provider;
pub mod requester;

use rand::RngExt;

use synmarket_engine::{CapabilitySet, EscrowId, MultiSigType, TaskStatus, Vote};

use crate::agent::{Action, Observation, Profile, TaskTypeInfo, Wake};
use crate::population::PopulationSpec;
use crate::spec::Role;
use crate::strategies::Strategy;
use crate::stream::AgentRng;

pub use arbitrator::ArbitratorAgent;
pub use provider::ProviderAgent;
pub use requester::RequesterAgent;

pub(crate) use crate::strategies::{account_of, chance, to_ms, to_units};

/// An agent: observe → decide → actions.
pub trait Agent: Send {
    /// Reacts to `wake`, pushing actions into `out`.
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>);
    /// Role.
    fn role(&self) -> Role;
    /// Strategy.
    fn strategy(&self) -> Strategy;
    /// Private parameters.
    fn profile(&self) -> Profile;
    /// The price rule's current profit margin, for rules that have one (ZIP).
    fn margin(&self) -> Option<f64> {
        None
    }
    /// True when the agent observes every shout of its task types.
    fn wants_market_events(&self) -> bool {
        false
    }
    /// A shout in the market; `trade` is the `(requester, provider, units)` of an accepted one.
    fn on_shout(
        &mut self,
        _shout: &crate::strategies::pricing::Shout,
        _trade: Option<(synmarket_engine::PeerId, synmarket_engine::PeerId, u64)>,
        _me: synmarket_engine::PeerId,
        _rng: &mut AgentRng,
    ) {
    }
}

/// Draws an index from weighted `(index, weight)` pairs.
/// Passes a market shout to a trader's price rule with whether the trader is still active. A
/// trade of its own (`trade` = `(requester, provider, units)`, the trader on side `side`) is
/// counted in its quota only at its later `Assigned` wake, so it is subtracted here.
pub(crate) fn relay_shout(
    pricer: &mut dyn crate::strategies::pricing::PriceRule,
    quota: &Quota,
    side: synmarket_engine::Side,
    shout: &crate::strategies::pricing::Shout,
    trade: Option<(synmarket_engine::PeerId, synmarket_engine::PeerId, u64)>,
    me: synmarket_engine::PeerId,
    rng: &mut AgentRng,
) {
    let own = |t: &(synmarket_engine::PeerId, synmarket_engine::PeerId, u64)| match side {
        synmarket_engine::Side::Buy => t.0 == me,
        synmarket_engine::Side::Sell => t.1 == me,
    };
    let mine = trade.filter(own).map_or(0, |t| t.2);
    let active = quota.room().saturating_sub(mine) > 0;
    pricer.on_shout(shout, active, rng);
}

/// True when a re-quote at `price` would be refused by the continuous double auction's
/// improvement rule (docs/mechanisms.md §14): then the trader keeps its standing order instead of
/// cancelling it for a quote the market will not take, as a trader on the floor keeps a bid it
/// cannot better. Always false under the other institutions.
pub(crate) fn requote_refused(
    market: &synmarket_engine::Market,
    tt: synmarket_engine::TaskTypeId,
    side: synmarket_engine::Side,
    price: u64,
) -> bool {
    use synmarket_engine::{Institution, Side};
    if market.config().institution != Institution::ContinuousDoubleAuction {
        return false;
    }
    match side {
        Side::Buy => market.best_bid(tt).is_some_and(|b| price <= b) && market.best_ask(tt).is_none_or(|a| price < a),
        Side::Sell => market.best_ask(tt).is_some_and(|a| price >= a) && market.best_bid(tt).is_none_or(|b| price > b),
    }
}

pub(crate) fn pick_weighted(mix: &[(usize, f64)], rng: &mut AgentRng) -> usize {
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

/// Draws `k` distinct capabilities from `vocab`.
pub(crate) fn sample_caps(vocab: &[u8], k: usize, rng: &mut AgentRng) -> CapabilitySet {
    let k = k.min(vocab.len());
    let mut set = CapabilitySet::EMPTY;
    let mut chosen = 0;
    while chosen < k {
        let c = vocab[rng.random_range(0..vocab.len())];
        if !set.contains(c) {
            set = set.with(c).unwrap_or(set);
            chosen += 1;
        }
    }
    set
}

/// True when a party of `role` may approve a release under `multisig`.
pub(crate) fn approves(multisig: MultiSigType, role: Role) -> bool {
    match multisig {
        MultiSigType::Single => role == Role::Requester,
        MultiSigType::BothParties => role != Role::Arbitrator,
        MultiSigType::Arbitrators { .. } => role == Role::Arbitrator,
        MultiSigType::TimeLocked { .. } => false,
    }
}

/// The vote the evidence supports: completed work (with or without SLA violations, whose
/// penalties are already owed) is released, work that never completed is refunded.
pub fn evidence_vote(market: &synmarket_engine::Market, e: EscrowId) -> Vote {
    match market.assignment(synmarket_engine::AssignmentId(e.0)).map(|a| a.status) {
        Some(TaskStatus::Completed) | Some(TaskStatus::SlaViolated) => Vote::ReleaseToProvider,
        _ => Vote::RefundToRequester,
    }
}

/// Units traded in the current period against an optional quota (`units_per_period`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Most units per period.
    pub limit: Option<u64>,
    /// Units traded this period.
    pub traded: u64,
}

impl Quota {
    /// Units the trader may still trade this period (`u64::MAX` without a quota).
    pub fn room(&self) -> u64 {
        self.limit.map_or(u64::MAX, |q| q.saturating_sub(self.traded))
    }
}

/// Extra setup facts the kernel hands a new agent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Setup {
    /// Ring capability of a colluder (interned by the kernel), if any.
    pub ring_capability: Option<u8>,
    /// The market's fee on the provider's gross, in basis points (`MarketConfig::fee_bps`).
    pub fee_bps: u64,
    /// The agent's index within its population (its list of a schedule of unit values).
    pub member: u32,
}

/// The value (or cost) of the unit a trader trades next: entry `traded` of its schedule, the
/// last entry once the quota is used up (it then quotes no more).
pub(crate) fn unit_of(schedule: &[f64], traded: u64) -> f64 {
    let last = schedule.len().saturating_sub(1);
    schedule.get((traded as usize).min(last)).copied().unwrap_or(0.0)
}

/// A provider's limit price: its cost per unit grossed up for the market fee,
/// `cost / (1 − fee_bps / 10,000)`, so that a trade at or above it never pays the provider less
/// than its cost after the fee (docs/mechanisms.md §5: the fee is taken from the provider's
/// gross). A fee of 100 % leaves no price that covers a positive cost: the limit is then infinite
/// and the provider does not quote. Requesters pay no fee: their limit is their value.
pub fn provider_limit(cost: f64, fee_bps: u64) -> f64 {
    let keep = 1.0 - fee_bps.min(10_000) as f64 / 10_000.0;
    if cost <= 0.0 {
        0.0
    } else if keep <= 0.0 {
        f64::INFINITY
    } else {
        cost / keep
    }
}

/// The population's spec and what the kernel resolved for it, shared by all its agents.
#[derive(Debug)]
pub struct Population {
    /// The validated spec.
    pub spec: PopulationSpec,
    /// The task mix as `(task type index, weight)` in scenario order.
    pub task_mix: Vec<(usize, f64)>,
    /// Requesters: the SLA's quality minimums as `(metric index, minimum)`, each metric found by
    /// its name among the metrics every completion reports (`kernel::quality_metric_names`).
    pub quality_minimums: Vec<(u8, f64)>,
}

/// Builds the agent for a population member.
pub fn build_agent(
    pop: &std::sync::Arc<Population>,
    task_types: &[TaskTypeInfo],
    setup: Setup,
    rng: &mut AgentRng,
) -> Box<dyn Agent> {
    match pop.spec.role {
        Role::Requester => Box::new(RequesterAgent::new(pop, setup, rng)),
        Role::Provider => Box::new(ProviderAgent::new(pop, task_types, setup, rng)),
        Role::Arbitrator => Box::new(ArbitratorAgent::new(pop, rng)),
    }
}
