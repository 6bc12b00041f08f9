//! What a run hands back: the final market, every agent's record (with the identity chain of
//! Sybils), the sampled time series, the kernel's counters and the ground truth of every
//! attempted policy violation.

use std::collections::BTreeMap;

use synmarket_engine::{AccountId, AssignmentId, DurationMs, Market, PeerId, PriceStats, SimTime, TaskTypeId};

pub use crate::agent::GroundTruthKind;
use crate::agent::{Profile, TaskTypeInfo};
use crate::spec::Role;
use crate::strategies::Strategy;

/// One identity an agent used: the first is the one it registered with at time 0; a Sybil adds
/// one per re-entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Identity {
    /// The peer id.
    pub peer: PeerId,
    /// The provider account registered with it.
    pub account: Option<AccountId>,
    /// When the agent started acting under it.
    pub since: SimTime,
    /// Its reputation at registration (a re-entered Sybil gets the market's new-peer score).
    pub initial_reputation: f64,
}

/// Identity and private parameters of one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentRecord {
    /// Peer id of its first identity (equal to the agent's index).
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
    /// Provider account of its first identity (key sharers: the shared account).
    pub account: Option<AccountId>,
    /// Usage cap declared.
    pub usage_cap_units: Option<u64>,
    /// Starting reputation.
    pub initial_reputation: f64,
    /// The seed of the agent's stream.
    pub stream_seed: u64,
    /// Every identity, in order (`identities[0].peer == peer`); more than one only for Sybils.
    pub identities: Vec<Identity>,
}

/// One attempted violation, as the simulation knows it (the market may or may not detect it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroundTruth {
    /// When the attempt reached the market (completion, placement, vote...).
    pub time: SimTime,
    /// The identity that made it.
    pub peer: PeerId,
    /// What kind.
    pub kind: GroundTruthKind,
    /// The assignment it concerns, if any.
    pub assignment: Option<AssignmentId>,
    /// Per-kind detail (see [`GroundTruthKind`]).
    pub detail: u64,
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
    /// Every attempted policy violation, in the order it happened.
    pub ground_truth: Vec<GroundTruth>,
    /// The agent index behind every peer id (Sybils own several peers).
    pub peer_agent: Vec<u32>,
    /// The trader's reputation when each order was placed, indexed by order id (eligibility of
    /// a resting offer depends on it: the constrained equilibrium of the metrics reads it).
    pub order_reputation: Vec<f64>,
    /// For each period start after the first (period k at index k − 1), the number of
    /// assignments made before it: the agents count an assignment with a lower id in the period
    /// before, even one made at the boundary instant (its `Assigned` wake runs before the reset),
    /// so per-unit schedules are read unit by unit exactly as the traders traded them.
    pub period_start_assignments: Vec<u64>,
}

impl SimResult {
    /// The agent behind a peer (any of its identities).
    pub fn agent_of(&self, peer: PeerId) -> Option<&AgentRecord> {
        self.peer_agent.get(peer.index()).and_then(|&i| self.agents.get(i as usize))
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
