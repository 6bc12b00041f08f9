//! Validated, typed descriptions of task types and agent populations.
//!
//! These are what a scenario file becomes after validation (the root crate parses TOML into raw
//! serde structs and checks them into these types). Everything here is already checked: bounds
//! hold, probabilities lie in [0, 1], names refer to known task types and capabilities. The kernel
//! and the agents trust these values.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use synmarket_engine::{DurationMs, PrivacyLevel};

pub use crate::params::{Strategy, StrategyParams};

/// A numeric parameter: a fixed value or a distribution that each agent draws from once (or, for
/// per-task quantities, once per task) from its own stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dist {
    /// Always this value.
    Fixed(f64),
    /// Uniform on `[lo, hi]`.
    Uniform(f64, f64),
    /// Normal with mean and standard deviation (callers clamp where a sign matters).
    Normal(f64, f64),
    /// Log-normal: `exp(N(mu, sigma))`.
    LogNormal(f64, f64),
    /// One of the values, each equally likely.
    Choice(Vec<f64>),
}

impl Dist {
    /// Draws one value.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Fixed(v) => *v,
            Dist::Uniform(lo, hi) => {
                if hi <= lo {
                    *lo
                } else {
                    lo + (hi - lo) * rng.random::<f64>()
                }
            }
            Dist::Normal(mean, sd) => mean + sd * standard_normal(rng),
            Dist::LogNormal(mu, sigma) => (mu + sigma * standard_normal(rng)).exp(),
            Dist::Choice(values) => {
                if values.is_empty() {
                    0.0
                } else {
                    values[rng.random_range(0..values.len())]
                }
            }
        }
    }

    /// The mean of the distribution (used for documentation and sanity checks).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(v) => *v,
            Dist::Uniform(lo, hi) => (lo + hi) / 2.0,
            Dist::Normal(mean, _) => *mean,
            Dist::LogNormal(mu, sigma) => (mu + sigma * sigma / 2.0).exp(),
            Dist::Choice(values) => values.iter().sum::<f64>() / values.len().max(1) as f64,
        }
    }

    /// Smallest and largest value the distribution can produce (normal and log-normal are
    /// unbounded above; their bounds are mean ± 6 sd resp. 0 .. exp(mu + 6 sigma)).
    pub fn support(&self) -> (f64, f64) {
        match self {
            Dist::Fixed(v) => (*v, *v),
            Dist::Uniform(lo, hi) => (*lo, *hi),
            Dist::Normal(mean, sd) => (mean - 6.0 * sd, mean + 6.0 * sd),
            Dist::LogNormal(mu, sigma) => (0.0, (mu + 6.0 * sigma).exp()),
            Dist::Choice(values) => (
                values.iter().copied().fold(f64::INFINITY, f64::min),
                values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
        }
    }
}

/// A standard normal draw by the Box–Muller transform (two uniforms, one output), so that the
/// number of draws per call is fixed and streams stay aligned.
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An exponential draw with the given rate (events per millisecond); used for Poisson arrivals.
pub fn exponential_ms<R: Rng + ?Sized>(rng: &mut R, rate_per_ms: f64) -> f64 {
    let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    -u.ln() / rate_per_ms
}

/// A task type of the scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskTypeSpec {
    /// Name, as used by `task_mix` and reports.
    pub name: String,
    /// Capability vocabulary of this task type.
    pub capabilities: Vec<String>,
    /// How many of the vocabulary's capabilities a request needs (rounded, clamped to the list).
    pub capabilities_needed: Dist,
    /// Compute units per task.
    pub units: Dist,
    /// Execution time of one task at speed factor 1, in milliseconds.
    pub duration_ms: Dist,
}

/// What a population does in the market.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// SLA terms a requester attaches to its requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaTerms {
    /// Probability that a request carries an SLA at all.
    pub probability: f64,
    /// Maximum time from assignment to start.
    pub max_response_ms: Dist,
    /// Maximum execution time, as a multiple of the task's nominal duration.
    pub max_duration_factor: Dist,
    /// Required uptime fraction in [0, 1].
    pub uptime_requirement: f64,
    /// Minimum quality scores by name, each in [0, 1].
    pub quality_minimums: Vec<(String, f64)>,
    /// Penalty per violation as a fraction of the order value (bid × units), in [0, 1].
    pub penalty_fraction: f64,
}

/// How a provider actually performs, drawn per agent then per task from its own stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    /// Probability that an assigned task is never started.
    pub no_show_probability: f64,
    /// Delay from assignment to start, in milliseconds.
    pub start_delay_ms: Dist,
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
    fn default() -> Self {
        Reliability {
            no_show_probability: 0.0,
            start_delay_ms: Dist::Uniform(1_000.0, 30_000.0),
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
            start_delay_ms: Dist::Uniform(60_000.0, 600_000.0),
            speed_factor: Dist::Fixed(1.5),
            availability: Dist::Uniform(0.5, 0.9),
            quality: Dist::Uniform(0.3, 0.7),
            offline_probability: 0.25,
        }
    }

    /// The default profile of a strategy: the unreliable preset for `unreliable` and `sybil`.
    pub fn for_strategy(strategy: Strategy) -> Self {
        match strategy {
            Strategy::Unreliable | Strategy::Sybil => Reliability::unreliable(),
            _ => Reliability::default(),
        }
    }
}

/// Weights of the three privacy levels of a requester's tasks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivacyMix {
    /// Weight of `Public`.
    pub public: f64,
    /// Weight of `Private`.
    pub private: f64,
    /// Weight of `Confidential`.
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
}

/// One `[[population]]` of the scenario: `count` agents that share a role, a strategy and the
/// distributions their private parameters are drawn from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PopulationSpec {
    /// Name (unique in the scenario), used in reports and stream ids.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Number of agents.
    pub count: u32,
    /// Strategy.
    pub strategy: Strategy,
    /// Tokens each agent is endowed with (at the start and at each period reset).
    pub budget: Dist,
    /// Requesters: private value per unit. Providers: ignored.
    pub value_per_unit: Dist,
    /// Providers: private cost per unit. Requesters: ignored.
    pub cost_per_unit: Dist,
    /// `fixed_markup` providers: the markup over cost (0.2 = 20 %).
    pub markup: Dist,
    /// Lowest price a ZI trader quotes.
    pub min_price: f64,
    /// Highest price a ZI trader quotes.
    pub max_price: f64,
    /// Mean orders per hour per agent (Poisson arrivals).
    pub arrival_rate_per_hour: f64,
    /// Task types this population trades, with weights (indices into the scenario's task types).
    pub task_mix: Vec<(usize, f64)>,
    /// Units per order; `None` uses the task type's `units` (requesters) or a capacity of that.
    pub units: Option<Dist>,
    /// How long an order stays in the market (offers) / how long a request waits; `None` = no expiry.
    pub order_ttl_ms: Option<DurationMs>,
    /// When each agent first arrives; `None` = an exponential draw like every later arrival.
    pub first_arrival_ms: Option<DurationMs>,
    /// The most orders an agent places in the whole run; `None` = no limit.
    pub max_orders: Option<u32>,
    /// Requesters: minimum provider reputation asked for.
    pub min_reputation: Dist,
    /// Requesters: privacy levels of their tasks.
    pub privacy_mix: PrivacyMix,
    /// Requesters: SLA terms (`None`: no SLA).
    pub sla: Option<SlaTerms>,
    /// Providers: probability that each capability in a served task type's vocabulary is held.
    pub capability_coverage: f64,
    /// Providers: hold the `confidential` attestation.
    pub confidential_attested: bool,
    /// Providers: declared usage cap in units per 24 h (`None`: no cap).
    pub usage_cap_units_per_day: Option<Dist>,
    /// Starting reputation; `None` uses the market's initial value.
    pub initial_reputation: Option<Dist>,
    /// Providers: how they perform.
    pub reliability: Reliability,
    /// Traders: most units traded per period; once reached, the agent places no order until the
    /// next period (`None`: no quota; single-unit traders of Gode–Sunder: `Some(1)`).
    pub units_per_period: Option<u64>,
    /// Strategy-specific parameters.
    pub params: StrategyParams,
}

impl PopulationSpec {
    /// A population with neutral defaults, for tests and builders.
    pub fn new(name: &str, role: Role, count: u32, strategy: Strategy) -> Self {
        PopulationSpec {
            name: name.to_string(),
            role,
            count,
            strategy,
            budget: Dist::Fixed(1_000_000.0),
            value_per_unit: Dist::Uniform(40.0, 80.0),
            cost_per_unit: Dist::Uniform(20.0, 60.0),
            markup: Dist::Fixed(0.2),
            min_price: 1.0,
            max_price: 200.0,
            arrival_rate_per_hour: 1.0,
            task_mix: vec![(0, 1.0)],
            units: None,
            order_ttl_ms: None,
            first_arrival_ms: None,
            max_orders: None,
            min_reputation: Dist::Fixed(0.0),
            privacy_mix: PrivacyMix::default(),
            sla: None,
            capability_coverage: 1.0,
            confidential_attested: false,
            usage_cap_units_per_day: None,
            initial_reputation: None,
            reliability: Reliability::for_strategy(strategy),
            units_per_period: None,
            params: StrategyParams::default(),
        }
    }
}
