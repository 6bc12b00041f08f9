//! Stage one of the scenario config: raw serde structs that mirror the TOML file exactly.
//!
//! Every table denies unknown keys, and every optional key is an `Option` so that "not written"
//! stays visible; the defaults are applied by `validate.rs` (and listed in `scenarios/README.md`).
//! Only the shape is checked here (types, table layouts, the distribution syntax); values are
//! checked by validation, which knows the TOML path of each one.

use std::collections::BTreeMap;

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, de::IgnoredAny};
use synmarket_agents::spec::{Role, Strategy};
use synmarket_engine::{DisputeDefault, PriceRule};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// `[scenario]`.
    pub scenario: RawHeader,
    /// `[market]`.
    #[serde(default)]
    pub market: RawMarket,
    /// `[[task_type]]`.
    #[serde(default)]
    pub task_type: Vec<RawTaskType>,
    /// `[[population]]`.
    #[serde(default)]
    pub population: Vec<RawPopulation>,
    /// `[[effect]]`: counterfactual pair studies the run reports (`versus.rs`).
    #[serde(default)]
    pub effect: Vec<RawEffect>,
}

/// `[[effect]]`: what a rule does, measured as paired differences against a counterfactual.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEffect {
    /// A short name (letters, digits, `_`, `-`).
    pub name: String,
    /// The counterfactual: quoted dotted scenario keys and their values.
    pub versus: toml::Table,
    /// Pairs (seeds), 2..=1000; default 10.
    pub seeds: Option<i64>,
}

/// `[scenario]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    /// Scenario name.
    pub name: String,
    /// Root seed: an integer, or a string holding a decimal or `0x` hex `u64`.
    pub seed: Option<RawSeed>,
    /// Simulated duration (a duration string).
    pub duration: String,
    /// Metric sampling interval (a duration string).
    pub sample_interval: Option<String>,
    /// Trading periods.
    pub periods: Option<i64>,
    /// Optional declared capability vocabulary.
    pub capabilities: Option<Vec<String>>,
}

/// A seed: TOML integers stop at `i64::MAX`, so the full `u64` range is reachable as a string.
#[derive(Debug, Clone)]
pub enum RawSeed {
    /// `seed = 42`.
    Int(i64),
    /// `seed = "18446744073709551615"` or `seed = "0xdeadbeef"`.
    Text(String),
}

impl<'de> Deserialize<'de> for RawSeed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(i) => Ok(RawSeed::Int(i)),
            toml::Value::String(s) => Ok(RawSeed::Text(s)),
            other => Err(D::Error::custom(format!(
                "expected an integer seed (or a string holding a u64), found {}",
                other.type_str()
            ))),
        }
    }
}

/// `escrow = "single" | "both_parties" | { arbitrators = { required, total } } | { time_locked = "2h" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawEscrow {
    /// The requester's approval releases.
    Single,
    /// Both parties approve.
    BothParties,
    /// `required` of `total` arbitrators approve.
    Arbitrators {
        /// Approvals needed.
        required: u8,
        /// Arbitrators drawn per escrow.
        total: u8,
    },
    /// Released automatically this long (a duration string) after completion.
    TimeLocked(String),
}

/// `[market]`: every `MarketConfig` field except `market_seed`; durations lose their `_ms`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawMarket {
    pub auction_window: Option<String>,
    pub slot_divisor: Option<u64>,
    pub slot_cap: Option<u64>,
    pub pricing: Option<PriceRule>,
    pub reputation_weight: Option<f64>,
    pub fee_bps: Option<u64>,
    pub escrow: Option<RawEscrow>,
    pub review_window: Option<String>,
    pub escrow_timeout: Option<String>,
    pub dispute_timeout: Option<String>,
    pub dispute_default: Option<DisputeDefault>,
    pub dispute_panel_total: Option<u8>,
    pub dispute_panel_required: Option<u8>,
    pub private_min_reputation: Option<f64>,
    pub confidential_min_reputation: Option<f64>,
    pub audit_rate: Option<f64>,
    /// Present only to refuse it with a clear reason: the market seed is derived.
    pub market_seed: Option<IgnoredAny>,
    pub verify_signatures: Option<bool>,
    pub default_max_response: Option<String>,
    pub default_max_duration: Option<String>,
    pub deadline_grace: Option<String>,
    pub usage_cap_window: Option<String>,
    pub price_window: Option<String>,
    pub retain_ledger: Option<bool>,
    pub reputation: Option<RawReputation>,
}

/// `[market.reputation]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawReputation {
    pub initial: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub trade_completed: Option<f64>,
    pub trade_failed: Option<f64>,
    pub sla_violation: Option<f64>,
    pub trade_disputed: Option<f64>,
    pub dispute_won: Option<f64>,
    pub dispute_lost: Option<f64>,
    pub fast_response: Option<f64>,
    pub slow_response: Option<f64>,
    pub positive_feedback: Option<f64>,
    pub negative_feedback: Option<f64>,
    /// `fast_response_ms` as a duration string.
    pub fast_response_time: Option<String>,
    /// `slow_response_ms` as a duration string.
    pub slow_response_time: Option<String>,
    pub decay_half_life: Option<String>,
    pub decay_step: Option<String>,
}

/// `[[task_type]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawTaskType {
    pub name: String,
    pub capabilities: Option<Vec<String>>,
    pub capabilities_needed: Option<RawDist>,
    pub units: Option<RawDist>,
    pub duration: Option<RawDist>,
}

/// `[[population]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawPopulation {
    pub name: String,
    pub role: Role,
    pub count: i64,
    pub strategy: Option<Strategy>,
    pub budget: Option<RawDist>,
    pub value_per_unit: Option<RawDist>,
    pub cost_per_unit: Option<RawDist>,
    pub markup: Option<RawDist>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    pub arrival_rate: Option<RawRate>,
    pub task_mix: Option<BTreeMap<String, f64>>,
    pub units: Option<RawDist>,
    pub order_ttl: Option<String>,
    pub first_arrival: Option<String>,
    pub max_orders: Option<u32>,
    pub min_reputation: Option<RawDist>,
    pub privacy_mix: Option<RawPrivacyMix>,
    pub sla: Option<RawSla>,
    pub capability_coverage: Option<f64>,
    pub confidential_attested: Option<bool>,
    pub usage_cap_units_per_day: Option<RawDist>,
    pub initial_reputation: Option<RawDist>,
    pub reliability: Option<RawReliability>,
    pub units_per_period: Option<i64>,
    pub learning_rate: Option<RawDist>,
    pub momentum: Option<RawDist>,
    pub initial_margin: Option<RawDist>,
    pub markups: Option<Vec<f64>>,
    pub recency: Option<f64>,
    pub experimentation: Option<f64>,
    pub vwap_margin: Option<RawDist>,
    pub intro_markup: Option<RawDist>,
    pub exploit_threshold: Option<f64>,
    pub exploit_quality: Option<RawDist>,
    pub reentry_threshold: Option<f64>,
    pub max_reentries: Option<i64>,
    pub peers_per_account: Option<i64>,
    pub relay_cut: Option<f64>,
    pub violation_probability: Option<f64>,
    pub ring: Option<String>,
}

/// `privacy_mix = { public, private, confidential }` (missing weights are 0).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawPrivacyMix {
    pub public: Option<f64>,
    pub private: Option<f64>,
    pub confidential: Option<f64>,
}

/// `[population.sla]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawSla {
    pub probability: Option<f64>,
    pub max_response: Option<RawDist>,
    pub max_duration_factor: Option<RawDist>,
    pub uptime_requirement: Option<f64>,
    pub quality_minimums: Option<BTreeMap<String, f64>>,
    pub penalty_fraction: Option<f64>,
}

/// `[population.reliability]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawReliability {
    pub no_show_probability: Option<f64>,
    pub start_delay: Option<RawDist>,
    pub speed_factor: Option<RawDist>,
    pub availability: Option<RawDist>,
    pub quality: Option<RawDist>,
    pub offline_probability: Option<f64>,
}

/// One argument of a distribution as written: a number or a string (durations).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// An integer or float.
    Num(f64),
    /// A string (a duration, for duration-valued parameters).
    Text(String),
}

/// The family of a distribution as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistKind {
    /// A plain value, or `{ fixed = x }`.
    Fixed,
    /// `{ uniform = [low, high] }`.
    Uniform,
    /// `{ normal = [mean, sd] }`.
    Normal,
    /// `{ lognormal = [mu, sigma] }`.
    LogNormal,
    /// `{ choice = [a, b, ...] }`.
    Choice,
}

impl DistKind {
    /// The key that names the family in a file (`""` for a plain value).
    pub fn key(self) -> &'static str {
        match self {
            DistKind::Fixed => "fixed",
            DistKind::Uniform => "uniform",
            DistKind::Normal => "normal",
            DistKind::LogNormal => "lognormal",
            DistKind::Choice => "choice",
        }
    }
}

/// The most values a `choice` list may hold.
pub const MAX_CHOICES: usize = 10_000;

/// A distribution as written: family plus arguments (not yet converted or range-checked).
#[derive(Debug, Clone, PartialEq)]
pub struct RawDist {
    /// Family.
    pub kind: DistKind,
    /// Arguments (one for fixed, two for uniform/normal/lognormal, one or more for choice).
    pub args: Vec<Scalar>,
    /// True when written as `{ family = ... }` rather than a plain value.
    pub tabled: bool,
}

fn scalar(v: &toml::Value, what: &str) -> Result<Scalar, String> {
    match v {
        toml::Value::Integer(i) => Ok(Scalar::Num(*i as f64)),
        toml::Value::Float(f) => Ok(Scalar::Num(*f)),
        toml::Value::String(s) => Ok(Scalar::Text(s.clone())),
        other => Err(format!("{what}: expected a number or a duration string, found {}", other.type_str())),
    }
}

impl RawDist {
    /// Reads the distribution syntax from a TOML value.
    pub fn from_value(v: &toml::Value) -> Result<RawDist, String> {
        let table = match v {
            toml::Value::Table(t) => t,
            other => {
                return Ok(RawDist { kind: DistKind::Fixed, args: vec![scalar(other, "value")?], tabled: false });
            }
        };
        let mut entries = table.iter();
        let (key, arg) = match (entries.next(), entries.next()) {
            (Some(e), None) => e,
            _ => {
                return Err(format!(
                    "a distribution table needs exactly one key (fixed, uniform, normal, lognormal or \
                     choice), found {}",
                    table.len()
                ));
            }
        };
        let kind = match key.as_str() {
            "fixed" => DistKind::Fixed,
            "uniform" => DistKind::Uniform,
            "normal" => DistKind::Normal,
            "lognormal" => DistKind::LogNormal,
            "choice" => DistKind::Choice,
            other => {
                return Err(format!(
                    "unknown distribution `{other}` (expected fixed, uniform, normal, lognormal or choice)"
                ));
            }
        };
        let args = match (kind, arg) {
            (DistKind::Fixed, v) => vec![scalar(v, "fixed")?],
            (_, toml::Value::Array(items)) => {
                let args = items.iter().map(|i| scalar(i, key)).collect::<Result<Vec<_>, _>>()?;
                let expected = match kind {
                    DistKind::Uniform => "[low, high]",
                    DistKind::Normal => "[mean, sd]",
                    DistKind::LogNormal => "[mu, sigma]",
                    _ => "",
                };
                if kind == DistKind::Choice {
                    if args.is_empty() || args.len() > MAX_CHOICES {
                        return Err(format!("choice needs 1 to {MAX_CHOICES} values, found {}", args.len()));
                    }
                } else if args.len() != 2 {
                    return Err(format!("{key} needs exactly 2 values {expected}, found {}", args.len()));
                }
                args
            }
            (_, other) => return Err(format!("{key}: expected an array, found {}", other.type_str())),
        };
        Ok(RawDist { kind, args, tabled: true })
    }
}

impl<'de> Deserialize<'de> for RawDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = toml::Value::deserialize(d)?;
        RawDist::from_value(&v).map_err(D::Error::custom)
    }
}

/// An arrival rate: a number (orders per hour per agent) or `{ poisson_rate_per_hour = x }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawRate(pub f64);

impl<'de> Deserialize<'de> for RawRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = toml::Value::deserialize(d)?;
        let num = |v: &toml::Value| match v {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            _ => None,
        };
        if let Some(x) = num(&v) {
            return Ok(RawRate(x));
        }
        if let toml::Value::Table(t) = &v
            && t.len() == 1
            && let Some(x) = t.get("poisson_rate_per_hour").and_then(num)
        {
            return Ok(RawRate(x));
        }
        Err(D::Error::custom("expected a number of orders per hour or { poisson_rate_per_hour = x }"))
    }
}
