//! The strategy set: who quotes what, how work is executed, how disputes are voted, and the
//! adversaries. Agents only return [`crate::Action`]s; the kernel applies them and records the
//! ground truth of attempted violations.
//!
//! - [`requester`]: requesters (ZI-C, ZI-U, truthful, ZIP, Roth–Erev, colluders, dispute abusers,
//!   forgers).
//! - [`provider`]: providers (ZI, fixed markup, ZIP, Roth–Erev, VWAP tracker, reputation builder,
//!   exploiter, unreliable, key sharer, relay, reseller, Sybil, colluder, leaker).
//! - [`arbitrator`]: honest and corrupt arbitrators.
//! - [`pricing`], [`learning`]: price rules and the ZIP / Roth–Erev learners.
//!
//! `agents/README.md` lists every strategy with its parameters and the rule or paper it follows.

pub mod arbitrator;
pub mod learning;
pub mod pricing;
pub mod provider;
pub mod requester;

use rand::RngExt;

use synmarket_engine::{AccountId, CapabilitySet, EscrowId, MultiSigType, TaskStatus, Vote};

use crate::agent::{Agent, Observation, TaskTypeInfo};
use crate::spec::{PopulationSpec, Role};
use crate::stream::AgentRng;

pub use arbitrator::ArbitratorAgent;
pub use provider::ProviderAgent;
pub use requester::RequesterAgent;

/// Draws an index from weighted `(index, weight)` pairs.
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

/// Uniform on `[lo, hi]` (`lo` when the interval is empty).
pub(crate) fn uniform(lo: f64, hi: f64, rng: &mut AgentRng) -> f64 {
    if hi <= lo { lo } else { lo + (hi - lo) * rng.random::<f64>() }
}

/// A unit count: rounded, at least 1.
pub(crate) fn to_units(x: f64) -> u64 {
    if x.is_finite() { x.round().clamp(1.0, 1e12) as u64 } else { 1 }
}

/// A non-negative integer (milliseconds, tokens): rounded, at least 0.
pub(crate) fn to_ms(x: f64) -> u64 {
    if x.is_finite() { x.round().clamp(0.0, 1e15) as u64 } else { 0 }
}

/// True with probability `p` (one draw, whatever `p`, so streams stay aligned).
pub(crate) fn chance(p: f64, rng: &mut AgentRng) -> bool {
    rng.random::<f64>() < p
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
}

/// A provider's limit price: its cost per unit grossed up for the market fee,
/// `cost / (1 − fee_bps / 10,000)`, so that a trade at or above it never pays the provider less
/// than its cost after the fee (MECHANISMS.md: the fee is taken from the provider's gross). A fee
/// of 100 % leaves no price that covers a positive cost: the limit is then infinite and the
/// provider does not quote. Requesters pay no fee: their limit is their value.
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

/// Builds the agent for a population member.
pub fn build_agent(
    spec: &std::sync::Arc<PopulationSpec>,
    task_types: &[TaskTypeInfo],
    setup: Setup,
    rng: &mut AgentRng,
) -> Box<dyn Agent> {
    match spec.role {
        Role::Requester => Box::new(RequesterAgent::new(spec, setup, rng)),
        Role::Provider => Box::new(ProviderAgent::new(spec, task_types, setup, rng)),
        Role::Arbitrator => Box::new(ArbitratorAgent::new(spec, rng)),
    }
}

/// The account of `peer` in the market (its own subscription, or the shared one).
pub(crate) fn account_of(obs: &Observation<'_>, peer: synmarket_engine::PeerId) -> Option<AccountId> {
    obs.market.peer_state(peer).and_then(|p| p.account)
}
