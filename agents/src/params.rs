//! The closed set of agent strategies and the parameters that only some strategies read.
//!
//! `Strategy` names a behaviour (what a scenario's `strategy = "..."` selects) and says which roles
//! may play it; `StrategyParams` holds every strategy-specific parameter with the documented
//! defaults (see `agents/README.md` for the rule or paper each strategy follows). Validation in the
//! root crate refuses a parameter written for a strategy that does not read it.

use serde::{Deserialize, Serialize};

use crate::spec::{Dist, Role};

/// The behaviour of a population's agents. Which strategies fit which role is checked at
/// validation (see [`Strategy::roles`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Zero intelligence, constrained (Gode–Sunder ZI-C): bids uniform in [min_price, value],
    /// asks uniform in [cost, max_price]; never trades at a loss.
    ZiConstrained,
    /// Zero intelligence, unconstrained (ZI-U): prices uniform in [min_price, max_price].
    ZiUnconstrained,
    /// Requester that bids its private value.
    Truthful,
    /// Provider that asks `cost × (1 + markup)`.
    FixedMarkup,
    /// Arbitrator that votes by the evidence.
    HonestArbitrator,
    /// Cliff (1997) Zero-Intelligence-Plus: a profit margin learned by Widrow–Hoff with momentum.
    Zip,
    /// Roth–Erev (1995) reinforcement learning over a grid of markups.
    RothErev,
    /// Provider asking the engine's VWAP × (1 + vwap_margin), never below cost.
    VwapTracker,
    /// Provider that undercuts while new and raises its markup as its reputation tier rises.
    ReputationBuilder,
    /// Provider that delivers low quality once its reputation passes a threshold.
    Exploiter,
    /// Provider with an unreliable execution preset (no-shows, slow starts, low quality, offline).
    Unreliable,
    /// Providers that register one account from several peers (key sharing, §9).
    KeySharer,
    /// Provider that forwards tasks to a foreign account and keeps a cut (relay, §9).
    Relay,
    /// Provider whose capacity is backed by another provider's account (resale, §9).
    Reseller,
    /// Unreliable provider that abandons an identity with poor reputation and re-enters as a new peer.
    Sybil,
    /// Ring member: trades with its ring at the ring price and rates ring partners 5.
    Colluder,
    /// Requester that disputes honest work to get refunds.
    DisputeAbuser,
    /// Requester that places orders in another peer's name, signed with its own key.
    Forger,
    /// Provider that leaks private and confidential payloads (a privacy incident).
    Leaker,
    /// Arbitrator that votes against the evidence.
    CorruptArbitrator,
}

impl Strategy {
    /// The roles this strategy can play.
    pub fn roles(self) -> &'static [Role] {
        use Strategy::*;
        match self {
            ZiConstrained | ZiUnconstrained | Zip | RothErev | Colluder => &[Role::Requester, Role::Provider],
            Truthful | DisputeAbuser | Forger => &[Role::Requester],
            FixedMarkup | VwapTracker | ReputationBuilder | Exploiter | Unreliable | KeySharer | Relay | Reseller
            | Sybil | Leaker => &[Role::Provider],
            HonestArbitrator | CorruptArbitrator => &[Role::Arbitrator],
        }
    }

    /// The name used in scenario files and reports.
    pub fn name(self) -> &'static str {
        use Strategy::*;
        match self {
            ZiConstrained => "zi_constrained",
            ZiUnconstrained => "zi_unconstrained",
            Truthful => "truthful",
            FixedMarkup => "fixed_markup",
            HonestArbitrator => "honest_arbitrator",
            Zip => "zip",
            RothErev => "roth_erev",
            VwapTracker => "vwap_tracker",
            ReputationBuilder => "reputation_builder",
            Exploiter => "exploiter",
            Unreliable => "unreliable",
            KeySharer => "key_sharer",
            Relay => "relay",
            Reseller => "reseller",
            Sybil => "sybil",
            Colluder => "colluder",
            DisputeAbuser => "dispute_abuser",
            Forger => "forger",
            Leaker => "leaker",
            CorruptArbitrator => "corrupt_arbitrator",
        }
    }

    /// True for the strategies that attempt policy violations (recorded as ground truth).
    pub fn is_adversarial(self) -> bool {
        use Strategy::*;
        matches!(
            self,
            KeySharer | Relay | Reseller | Sybil | Colluder | DisputeAbuser | Forger | Leaker | CorruptArbitrator
        )
    }

    /// Providers that ask `cost × (1 + markup)` (the `markup` key applies to them).
    pub fn uses_markup(self) -> bool {
        use Strategy::*;
        matches!(
            self,
            FixedMarkup | VwapTracker | ReputationBuilder | Exploiter | Unreliable | KeySharer | Sybil | Leaker
        )
    }

    /// Every strategy, for documentation and error messages.
    pub const ALL: [Strategy; 20] = [
        Strategy::ZiConstrained,
        Strategy::ZiUnconstrained,
        Strategy::Truthful,
        Strategy::FixedMarkup,
        Strategy::HonestArbitrator,
        Strategy::Zip,
        Strategy::RothErev,
        Strategy::VwapTracker,
        Strategy::ReputationBuilder,
        Strategy::Exploiter,
        Strategy::Unreliable,
        Strategy::KeySharer,
        Strategy::Relay,
        Strategy::Reseller,
        Strategy::Sybil,
        Strategy::Colluder,
        Strategy::DisputeAbuser,
        Strategy::Forger,
        Strategy::Leaker,
        Strategy::CorruptArbitrator,
    ];
}

/// Strategy-specific parameters (each read only by the strategies its doc names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrategyParams {
    /// `zip`: Widrow–Hoff learning rate β, drawn once per agent (Cliff: U[0.1, 0.5]).
    pub learning_rate: Dist,
    /// `zip`: momentum γ, drawn once per agent (Cliff: U[0, 0.1]).
    pub momentum: Dist,
    /// `zip`: initial profit margin |μ₀| (sellers ask cost·(1+μ), buyers bid value·(1−μ)).
    pub initial_margin: Dist,
    /// `roth_erev`: the markup grid (sellers: cost·(1+m); buyers: value·(1−m), m < 1).
    pub markups: Vec<f64>,
    /// `roth_erev`: recency (forgetting) φ in [0, 1].
    pub recency: f64,
    /// `roth_erev`: experimentation ε in [0, 1].
    pub experimentation: f64,
    /// `vwap_tracker`: ask = VWAP × (1 + vwap_margin), never below cost.
    pub vwap_margin: Dist,
    /// `reputation_builder`: markup while new (negative = undercut cost); `markup` is reached at Expert.
    pub intro_markup: Dist,
    /// `exploiter`: reputation at which quality drops.
    pub exploit_threshold: f64,
    /// `exploiter`: quality delivered once exploiting.
    pub exploit_quality: Dist,
    /// `sybil`: reputation below which the agent re-enters as a new peer.
    pub reentry_threshold: f64,
    /// `sybil`: most re-entries per agent.
    pub max_reentries: u32,
    /// `key_sharer`: consecutive agents of the population that register one account.
    pub peers_per_account: u32,
    /// `relay`, `reseller`: fraction of the price the middleman keeps (ask = cost / (1 − cut)).
    pub relay_cut: f64,
    /// `relay`, `dispute_abuser`, `forger`, `leaker`, `corrupt_arbitrator`: probability that each
    /// opportunity (task, completed escrow, arrival, private task, vote) is used for the violation.
    pub violation_probability: f64,
    /// `colluder`: name of the ring (requester and provider populations with one ring trade together).
    pub ring: String,
}

impl Default for StrategyParams {
    fn default() -> Self {
        StrategyParams {
            learning_rate: Dist::Uniform(0.1, 0.5),
            momentum: Dist::Uniform(0.0, 0.1),
            initial_margin: Dist::Uniform(0.05, 0.35),
            markups: (0..=10).map(|i| i as f64 * 0.05).collect(),
            recency: 0.1,
            experimentation: 0.2,
            vwap_margin: Dist::Fixed(0.0),
            intro_markup: Dist::Fixed(-0.1),
            exploit_threshold: 250.0,
            exploit_quality: Dist::Uniform(0.1, 0.4),
            reentry_threshold: 40.0,
            max_reentries: 100,
            peers_per_account: 2,
            relay_cut: 0.2,
            violation_probability: 1.0,
            ring: "ring".to_string(),
        }
    }
}
