//! Typed descriptions of task types and of the parts of a population that do not depend on its
//! strategy: roles, SLA terms, privacy mixes, reliability profiles, limits and the checking
//! context. The population itself (its key groups and strategy) is in [`crate::population`].
//!
//! Each struct here is its own file format (serde, `deny_unknown_fields`), owns its defaults and
//! checks its values (`validate`, errors at paths relative to its table).
use std::collections::BTreeMap;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use synmarket_engine::{DurationMs, MINUTE, PrivacyLevel, SECOND};

use crate::config::{Check, Domain, TomlPath, bad, dist, finite, name, probability};
pub use crate::dist::{Dist, DurationDist, exponential_ms, standard_normal};

/// Most agents in one population.
pub const MAX_COUNT: i64 = 1_000_000;
/// Highest price, value or cost per unit.
pub const MAX_PRICE: f64 = 1_000_000.0;
/// Largest endowment of one agent.
pub const MAX_BUDGET: f64 = 1e15;
/// Highest arrival rate per agent (orders per hour).
pub const MAX_RATE_PER_HOUR: f64 = 3_600.0;
/// Highest declared usage cap (units per 24 h).
pub const MAX_USAGE_CAP: f64 = 1e12;
/// Highest markup, speed factor and SLA duration factor.
pub const MAX_FACTOR: f64 = 1_000.0;
/// Most compute units per task or order.
pub const MAX_UNITS: f64 = 1_000_000.0;
/// Longest simulated duration of a scenario, and of any duration a population sets.
pub const MAX_SCENARIO_DURATION_MS: DurationMs = 365 * synmarket_engine::DAY;

/// What the checks of a population need to know about the rest of the scenario.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Task type names, in scenario order.
    pub task_types: &'a [String],
    /// The market's reputation bounds `[min, max]`.
    pub reputation: (f64, f64),
    /// Whether the market verifies signatures.
    pub verify_signatures: bool,
}

/// What a population does in the market.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Posts compute requests and pays for work.
    Requester,
    /// Offers its own compute.
    Provider,
    /// Sits on dispute panels and approves arbitrated escrows.
    Arbitrator,
}

synmarket_engine::named!(Role);

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Requester, Role::Provider, Role::Arbitrator];

    /// True for requesters and providers.
    pub fn trades(self) -> bool {
        self != Role::Arbitrator
    }
}

// ----- task types ------------------------------------------------------------------------------

/// `[[task_type]]`: a kind of compute task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTypeSpec {
    /// Name, as used by `task_mix` and reports.
    pub name: String,
    /// Capability vocabulary of this task type (default: none).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// How many of the vocabulary's capabilities a request needs (rounded, clamped to the list);
    /// default 1 when the vocabulary is not empty, else 0.
    #[serde(default)]
    pub capabilities_needed: Option<Dist>,
    /// Compute units per task (default U[10, 100]).
    #[serde(default = "TaskTypeSpec::default_units")]
    pub units: Dist,
    /// Execution time of one task at speed factor 1 (default U[5 m, 30 m]).
    #[serde(rename = "duration", default = "TaskTypeSpec::default_duration")]
    pub duration_ms: DurationDist,
}

impl TaskTypeSpec {
    /// A task type with the default units and duration.
    pub fn new(name: &str, capabilities: &[&str]) -> Self {
        TaskTypeSpec {
            name: name.to_string(),
            capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
            capabilities_needed: None,
            units: Self::default_units(),
            duration_ms: Self::default_duration(),
        }
    }

    fn default_units() -> Dist {
        Dist::Uniform(10.0, 100.0)
    }

    fn default_duration() -> DurationDist {
        DurationDist(Dist::Uniform((5 * MINUTE) as f64, (30 * MINUTE) as f64))
    }

    /// How many capabilities a request needs: `capabilities_needed`, or 1 when the vocabulary is
    /// not empty (0 otherwise).
    pub fn capabilities_needed(&self) -> Dist {
        self.capabilities_needed.clone().unwrap_or(Dist::Fixed((self.capabilities.len() as f64).min(1.0)))
    }

    /// Checks the values (capability names are checked by the scenario, which knows them all) and
    /// writes the default of `capabilities_needed` out.
    pub fn validate(mut self) -> Check<Self> {
        let root = TomlPath::root();
        name(&root.key("name"), &self.name)?;
        let needed = self.capabilities_needed();
        dist(&root.key("capabilities_needed"), &needed, Domain::closed(0.0, self.capabilities.len() as f64))?;
        self.capabilities_needed = Some(needed);
        dist(&root.key("units"), &self.units, Domain::closed(1.0, MAX_UNITS))?;
        dist(&root.key("duration"), &self.duration_ms, Domain::duration(0.0, MAX_SCENARIO_DURATION_MS as f64, true))?;
        Ok(self)
    }
}

/// Weights of the three privacy levels of a requester's tasks; a weight not written is 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyMix {
    /// Weight of `Public`.
    #[serde(default)]
    pub public: f64,
    /// Weight of `Private`.
    #[serde(default)]
    pub private: f64,
    /// Weight of `Confidential`.
    #[serde(default)]
    pub confidential: f64,
}

impl Default for PrivacyMix {
    fn default() -> Self {
        PrivacyMix { public: 1.0, private: 0.0, confidential: 0.0 }
    }
}

impl PrivacyMix {
    /// Draws a level.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> PrivacyLevel {
        let total = self.public + self.private + self.confidential;
        let x = rng.random::<f64>() * total;
        if x < self.public {
            PrivacyLevel::Public
        } else if x < self.public + self.private {
            PrivacyLevel::Private
        } else {
            PrivacyLevel::Confidential
        }
    }

    pub(crate) fn validate(&self, path: &TomlPath) -> Check<()> {
        for (key, x) in [("public", self.public), ("private", self.private), ("confidential", self.confidential)] {
            finite(&path.key(key), x)?;
            if x < 0.0 {
                return bad(&path.key(key), format!("weight {x} is negative"));
            }
        }
        if self.public + self.private + self.confidential <= 0.0 {
            return bad(path, "needs at least one positive weight");
        }
        Ok(())
    }
}

/// SLA terms a requester attaches to its requests (`[population.sla]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaTerms {
    /// Probability that a request carries an SLA at all (default 1).
    pub probability: f64,
    /// Maximum time from assignment to start (default 5 m).
    #[serde(rename = "max_response")]
    pub max_response_ms: DurationDist,
    /// Maximum execution time, as a multiple of the task's nominal duration (default 2).
    pub max_duration_factor: Dist,
    /// Required uptime fraction in [0, 1] (default 0.9).
    pub uptime_requirement: f64,
    /// Minimum quality scores by metric name, each in [0, 1] (default none).
    pub quality_minimums: BTreeMap<String, f64>,
    /// Penalty per violation as a fraction of the order value (bid × units), in [0, 1]
    /// (default 0.1).
    pub penalty_fraction: f64,
}

impl Default for SlaTerms {
    fn default() -> Self {
        SlaTerms {
            probability: 1.0,
            max_response_ms: DurationDist(Dist::Fixed((5 * MINUTE) as f64)),
            max_duration_factor: Dist::Fixed(2.0),
            uptime_requirement: 0.9,
            quality_minimums: BTreeMap::new(),
            penalty_fraction: 0.1,
        }
    }
}

impl SlaTerms {
    pub(crate) fn validate(&self, p: &TomlPath) -> Check<()> {
        probability(&p.key("probability"), self.probability)?;
        let positive = Domain::duration(0.0, MAX_SCENARIO_DURATION_MS as f64, true);
        dist(&p.key("max_response"), &self.max_response_ms, positive)?;
        dist(&p.key("max_duration_factor"), &self.max_duration_factor, Domain::open_low(0.0, MAX_FACTOR))?;
        probability(&p.key("uptime_requirement"), self.uptime_requirement)?;
        let qp = p.key("quality_minimums");
        for (k, v) in &self.quality_minimums {
            name(&qp.key(k), k)?;
            probability(&qp.key(k), *v)?;
        }
        probability(&p.key("penalty_fraction"), self.penalty_fraction)?;
        Ok(())
    }
}

/// How a provider actually performs (`[population.reliability]`), drawn per agent then per task
/// from its own stream. Keys not written keep the strategy's preset ([`Reliability::default`], or
/// [`Reliability::unreliable`] for the unreliable strategies).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reliability {
    /// Probability that an assigned task is never started.
    pub no_show_probability: f64,
    /// Delay from assignment to start.
    #[serde(rename = "start_delay")]
    pub start_delay_ms: DurationDist,
    /// Multiplier on the task's nominal duration (1 = nominal, 2 = twice as slow).
    pub speed_factor: Dist,
    /// Fraction of time the provider is reachable, in [0, 1] (sampled per task).
    pub availability: Dist,
    /// Quality score of a completed task, clamped to [0, 1].
    pub quality: Dist,
    /// Probability that the provider is offline at an arrival: it withdraws its resting offer and
    /// places none (flaky availability).
    pub offline_probability: f64,
}

impl Default for Reliability {
    /// 0 no-shows, starts U[1 s, 30 s], nominal speed, full uptime, quality U[0.8, 1], never
    /// offline.
    fn default() -> Self {
        Reliability {
            no_show_probability: 0.0,
            start_delay_ms: DurationDist(Dist::Uniform(SECOND as f64, (30 * SECOND) as f64)),
            speed_factor: Dist::Fixed(1.0),
            availability: Dist::Fixed(1.0),
            quality: Dist::Uniform(0.8, 1.0),
            offline_probability: 0.0,
        }
    }
}

impl Reliability {
    /// The preset of the `unreliable` and `sybil` strategies: one task in five is a no-show,
    /// starts take minutes, execution is 1.5× slower, uptime 50–90 %, quality 0.3–0.7, and the
    /// provider is offline at a quarter of its arrivals.
    pub fn unreliable() -> Self {
        Reliability {
            no_show_probability: 0.2,
            start_delay_ms: DurationDist(Dist::Uniform(MINUTE as f64, (10 * MINUTE) as f64)),
            speed_factor: Dist::Fixed(1.5),
            availability: Dist::Uniform(0.5, 0.9),
            quality: Dist::Uniform(0.3, 0.7),
            offline_probability: 0.25,
        }
    }

    pub(crate) fn validate(&self, p: &TomlPath) -> Check<()> {
        let unit = Domain::closed(0.0, 1.0);
        probability(&p.key("no_show_probability"), self.no_show_probability)?;
        dist(
            &p.key("start_delay"),
            &self.start_delay_ms,
            Domain::duration(0.0, MAX_SCENARIO_DURATION_MS as f64, false),
        )?;
        dist(&p.key("speed_factor"), &self.speed_factor, Domain::open_low(0.0, MAX_FACTOR))?;
        dist(&p.key("availability"), &self.availability, unit)?;
        dist(&p.key("quality"), &self.quality, unit)?;
        probability(&p.key("offline_probability"), self.offline_probability)?;
        Ok(())
    }
}
