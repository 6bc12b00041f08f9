//! The strategy set: one module per strategy, each owning its parameters (serde, defaults,
//! checks, docs) and its behaviour, gathered in one registry (the `strategies!` macro below).
//!
//! A strategy is three small things, all reached through [`Behaviour`], which its `Params`
//! struct implements:
//! - a **price rule** ([`pricing::PriceRule`]): what the agent quotes and how it learns from
//!   fills;
//! - a **conduct** ([`conduct::Conduct`]): the execution policy, where rule-breaking behaviour
//!   lives (relays, resale, leaks, Sybil re-entry, abusive disputes, forgeries, corrupt votes,
//!   ring ratings); honest strategies keep the default;
//! - optional **setup facts**: a reliability preset, a markup drawn at setup, a ring, shared
//!   accounts.
//!
//! The role agents ([`requester`], [`provider`], [`arbitrator`]) and the kernel call these hooks
//! and never name a strategy.
//!
//! **Adding a strategy**: write `src/strategies/<name>.rs` with `ROLES`, `ADVERSARIAL`, a
//! `Params` struct (serde `deny_unknown_fields`, `default`) implementing [`Behaviour`], add one
//! line to the registry below, and a row to `agents/README.md`. The scenario loader, the resolved
//! scenario writer, key checks and messages follow from the registry.

pub mod arbitrator;
pub mod conduct;
pub mod pricing;
pub mod provider;
pub mod requester;

pub mod colluder;
pub mod corrupt_arbitrator;
pub mod dispute_abuser;
pub mod exploiter;
pub mod fixed_markup;
pub mod forger;
pub mod giveaway;
pub mod honest_arbitrator;
pub mod key_sharer;
pub mod leaker;
pub mod relay;
pub mod reputation_builder;
pub mod reseller;
pub mod roth_erev;
pub mod sybil;
pub mod truthful;
pub mod unreliable;
pub mod vwap_tracker;
pub mod zi_constrained;
pub mod zi_unconstrained;
pub mod zip;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use synmarket_engine::{AccountId, CapabilitySet, EscrowId, MultiSigType, Side, TaskStatus, Vote};

use crate::agent::{Agent, Observation, TaskTypeInfo};
use crate::config::{Check, Domain, TomlPath, dist, field_names};
use crate::dist::Dist;
use crate::spec::{Context, MAX_FACTOR, PopulationSpec, Reliability, Role};
use crate::stream::AgentRng;

pub use arbitrator::ArbitratorAgent;
pub use conduct::Conduct;
pub use pricing::{PriceRule, Quote, View};
pub use provider::ProviderAgent;
pub use requester::RequesterAgent;

/// What a strategy's parameters give the agents and the kernel.
pub trait Behaviour: Send + Sync + std::fmt::Debug {
    /// Providers: the markup distribution drawn once per agent at setup (after the cost, before
    /// the speed factor), for strategies that price at `cost × (1 + markup)`.
    fn markup(&self) -> Option<&Dist> {
        None
    }

    /// The agent's price rule. `setup.markup` is the drawn markup (0 without one).
    fn price_rule(&self, setup: &PricerSetup, rng: &mut AgentRng) -> Box<dyn PriceRule>;

    /// The agent's execution policy (default: honest).
    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(conduct::Honest)
    }

    /// Providers: the reliability preset the `[population.reliability]` keys override.
    fn reliability_preset(&self) -> Option<Reliability> {
        None
    }

    /// The ring this population trades in (colluders).
    fn ring(&self) -> Option<&str> {
        None
    }

    /// Providers: how many consecutive agents register one account (key sharers); 1 otherwise.
    fn peers_per_account(&self) -> u32 {
        1
    }

    /// Checks the parameters; paths are relative to the population table.
    fn validate(&self, _ctx: &Context<'_>) -> Check<()> {
        Ok(())
    }
}

/// What a price rule is built from.
#[derive(Clone, Copy, Debug)]
pub struct PricerSetup {
    /// The side the agent quotes.
    pub side: Side,
    /// The agent's limit price: value (buyers) or cost grossed up for the fee (sellers).
    pub limit: f64,
    /// The markup drawn at setup (`Behaviour::markup`), or 0.
    pub markup: f64,
}

/// The `markup` parameter of the strategies that price at `cost × (1 + markup)`: default 0.2,
/// in `[0, 1000]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Markup(pub Dist);

impl Default for Markup {
    fn default() -> Self {
        Markup(Dist::Fixed(0.2))
    }
}

impl Markup {
    /// Checks the markup at key `markup`.
    pub fn validate(&self) -> Check<()> {
        dist(&TomlPath::root().key("markup"), &self.0, Domain::closed(0.0, MAX_FACTOR))
    }
}

/// `violation_probability`: the chance that each opportunity is used for the violation (default
/// 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ViolationProbability(pub f64);

impl Default for ViolationProbability {
    fn default() -> Self {
        ViolationProbability(1.0)
    }
}

impl ViolationProbability {
    /// Checks the value at key `violation_probability`.
    pub fn validate(&self) -> Check<()> {
        crate::config::probability(&TomlPath::root().key("violation_probability"), self.0).map(drop)
    }
}

/// Builds the closed set of strategies from the modules that define them: the tag [`Strategy`]
/// (names, roles), the configuration [`StrategySpec`] (one variant per module's `Params`) and
/// their dispatch. The serde name of a variant (snake case) is the strategy's name in files.
macro_rules! strategies {
    ($($variant:ident => $module:ident,)+) => {
        /// The behaviour of a population's agents: what `strategy = "..."` selects.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Strategy {
            $(
                #[doc = concat!("See [`", stringify!($module), "`].")]
                $variant,
            )+
        }

        synmarket_engine::named!(Strategy);

        impl Strategy {
            /// Every strategy, in registry order.
            pub const ALL: &'static [Strategy] = &[$(Strategy::$variant),+];

            /// The roles this strategy can play.
            pub fn roles(self) -> &'static [Role] {
                match self { $(Strategy::$variant => $module::ROLES,)+ }
            }

            /// True for the strategies that attempt policy violations (recorded as ground truth).
            pub fn is_adversarial(self) -> bool {
                match self { $(Strategy::$variant => $module::ADVERSARIAL,)+ }
            }

            /// The keys of this strategy's own parameters.
            pub fn param_keys(self) -> &'static [&'static str] {
                match self { $(Strategy::$variant => field_names::<$module::Params>(),)+ }
            }

            /// The strategy with its default parameters.
            pub fn default_spec(self) -> StrategySpec {
                match self { $(Strategy::$variant => StrategySpec::$variant(Default::default()),)+ }
            }
        }

        /// A strategy with its parameters (the `strategy` key and the strategy's own keys of a
        /// population table).
        #[derive(Clone, Debug, PartialEq)]
        pub enum StrategySpec {
            $(
                #[doc = concat!("See [`", stringify!($module), "`].")]
                $variant($module::Params),
            )+
        }

        impl StrategySpec {
            /// The strategy's tag.
            pub fn kind(&self) -> Strategy {
                match self { $(StrategySpec::$variant(_) => Strategy::$variant,)+ }
            }

            /// The strategy's behaviour.
            pub fn behaviour(&self) -> &dyn Behaviour {
                match self { $(StrategySpec::$variant(p) => p,)+ }
            }

            /// Reads the parameters of strategy `kind` from a table holding only its keys
            /// (unknown keys are refused; keys not written take the documented defaults).
            pub fn deserialize_params<'de, D: serde::Deserializer<'de>>(
                kind: Strategy,
                d: D,
            ) -> Result<Self, D::Error> {
                Ok(match kind { $(Strategy::$variant => StrategySpec::$variant($module::Params::deserialize(d)?),)+ })
            }
        }

        /// The strategy's own keys (the `strategy` key itself is written by the population).
        impl Serialize for StrategySpec {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $(StrategySpec::$variant(p) => p.serialize(s),)+ }
            }
        }
    };
}

strategies! {
    ZiConstrained => zi_constrained,
    ZiUnconstrained => zi_unconstrained,
    Truthful => truthful,
    FixedMarkup => fixed_markup,
    HonestArbitrator => honest_arbitrator,
    Zip => zip,
    RothErev => roth_erev,
    VwapTracker => vwap_tracker,
    ReputationBuilder => reputation_builder,
    Exploiter => exploiter,
    Unreliable => unreliable,
    KeySharer => key_sharer,
    Relay => relay,
    Reseller => reseller,
    Sybil => sybil,
    Colluder => colluder,
    DisputeAbuser => dispute_abuser,
    Forger => forger,
    Leaker => leaker,
    CorruptArbitrator => corrupt_arbitrator,
    Giveaway => giveaway,
}

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

/// The account of `peer` in the market (its own subscription, or the shared one).
pub(crate) fn account_of(obs: &Observation<'_>, peer: synmarket_engine::PeerId) -> Option<AccountId> {
    obs.market.peer_state(peer).and_then(|p| p.account)
}
