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
//! The role agents (`crate::roles`) and the kernel call these hooks and never name a strategy.
//!
//! **Adding a strategy**: write `src/strategies/<name>.rs` with `ROLES`, `ADVERSARIAL`, a
//! `Params` struct (serde `deny_unknown_fields`, `default`) implementing [`Behaviour`], add one
//! line to the registry below, and a row to `agents/README.md`. The scenario loader, the resolved
//! scenario writer, key checks and messages follow from the registry.

pub mod conduct;
pub mod pricing;

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
pub mod shaver;
pub mod sybil;
pub mod truthful;
pub mod unreliable;
pub mod vwap_tracker;
pub mod zi_constrained;
pub mod zi_unconstrained;
pub mod zip;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use synmarket_engine::{AccountId, Side};

use crate::agent::Observation;
use crate::config::{Check, Domain, TomlPath, dist, field_names};
use crate::dist::Dist;
use crate::spec::{Context, MAX_FACTOR, Reliability, Role};
use crate::stream::AgentRng;

pub use conduct::Conduct;
pub use pricing::{PriceRule, Quote, View};

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
    Shaver => shaver,
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

/// The account of `peer` in the market (its own subscription, or the shared one).
pub(crate) fn account_of(obs: &Observation<'_>, peer: synmarket_engine::PeerId) -> Option<AccountId> {
    obs.market.peer_state(peer).and_then(|p| p.account)
}
