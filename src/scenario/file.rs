//! The shape of a scenario file: the typed configurations themselves, read by serde.
//!
//! `[market]` is [`MarketConfig`], each `[[task_type]]` a [`TaskTypeSpec`]: their serde form is
//! the file format (engine and agents crates), so no table is mirrored here. The two tables that
//! exist only in files are defined here: `[scenario]` ([`Header`]) and `[[effect]]`
//! ([`EffectSpec`]). A `[[population]]` is read as a plain table and split among its key groups
//! by `population.rs`, which knows the population's role and strategy.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};

use synmarket_agents::TaskTypeSpec;
use synmarket_engine::MarketConfig;
use synmarket_engine::duration::Duration;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// `[scenario]`.
    pub scenario: Header,
    /// `[market]`: every key defaults (`MarketConfig::default`).
    #[serde(default)]
    pub market: MarketConfig,
    /// `[[task_type]]`.
    #[serde(default)]
    pub task_type: Vec<TaskTypeSpec>,
    /// `[[population]]`, as written.
    #[serde(default)]
    pub population: Vec<toml::Table>,
    /// `[[effect]]`: counterfactual pair studies the run reports (`versus.rs`).
    #[serde(default)]
    pub effect: Vec<EffectSpec>,
}

/// `[scenario]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Scenario name (letters, digits, `_`, `-`), used for report folders.
    pub name: String,
    /// Root seed (default 0).
    #[serde(default)]
    pub seed: Seed,
    /// Simulated duration.
    pub duration: Duration,
    /// Metric sampling interval (default 1 h, or the duration if shorter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_interval: Option<Duration>,
    /// Trading periods (endowments reset at each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<i64>,
    /// A declared capability vocabulary: task types may only use these names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// A declared vocabulary of quality metrics: SLA minimums may only name these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_metrics: Option<Vec<String>>,
}

/// A root seed: any `u64`. TOML integers stop at `i64::MAX`, so larger seeds are written as a
/// string holding a decimal or `0x` hexadecimal number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seed(pub u64);

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::Integer(i) => u64::try_from(i)
                .map(Seed)
                .map_err(|_| D::Error::custom(format!("{i} is negative; seeds are 0 to 2^64-1"))),
            toml::Value::String(t) => parse_seed(&t).map(Seed).ok_or_else(|| {
                D::Error::custom(format!("{t:?} is not a seed: write a whole number from 0 to 2^64-1, in decimal or as 0x followed by hex digits"))
            }),
            other => Err(D::Error::custom(format!(
                "expected a whole-number seed (or text holding one, for seeds above 2^63-1), found {}",
                super::messages::kind_of(&other)
            ))),
        }
    }
}

impl Serialize for Seed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(self.0) {
            Ok(i) => s.serialize_i64(i),
            Err(_) => s.serialize_str(&self.0.to_string()),
        }
    }
}

/// A decimal or `0x` hexadecimal `u64`.
pub fn parse_seed(t: &str) -> Option<u64> {
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().ok()
    } else {
        None
    }
}

/// `[[effect]]`: what a rule does, measured as paired differences against a counterfactual.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectSpec {
    /// A short name (letters, digits, `_`, `-`).
    pub name: String,
    /// Pairs (seeds), 2..=1000; default 10.
    #[serde(default)]
    pub seeds: Option<i64>,
    /// The counterfactual: quoted dotted scenario keys and their values.
    pub versus: toml::Table,
}
