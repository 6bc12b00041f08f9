//! Scenario files: TOML → the typed configurations → a validated [`Scenario`]
//! (docs/architecture.md, "Configuration in two stages").
//!
//! - `file.rs`: the file's shape. `[market]` is `MarketConfig` and `[[task_type]]` is
//!   `TaskTypeSpec` themselves (their serde form is the file format); `[scenario]` and
//!   `[[effect]]` are defined there.
//! - `population.rs`: a `[[population]]` split among its key groups and strategy parameters (the
//!   agents crate's typed structs), with their defaults.
//! - `validate.rs`: what only the whole scenario knows (header, vocabularies, unique names, size
//!   limits, arbitrators); each error names the TOML path and the reason. The limits are the
//!   `MAX_*` constants re-exported here.
//! - `messages.rs`: serde's and TOML's messages in the user's words.
//! - `locate.rs`: byte spans ↔ TOML paths ↔ line:column, so that errors point into the file.
//! - `overrides.rs`: `dotted.path=value` edits (CLI `--set`, sweep points).
//! - `write.rs`: the resolved scenario as TOML ([`Scenario::to_toml_string`]).
//!
//! Durations are the engine's duration strings ([`duration`]). The full file format is
//! documented in `scenarios/README.md`.

mod file;
mod locate;
pub mod messages;
mod overrides;
mod population;
mod validate;
mod write;

pub use synmarket_engine::duration;

#[cfg(test)]
mod tests;

use std::path::Path;

use synmarket_agents::{PopulationSpec, Role, TaskTypeSpec};
use synmarket_engine::MarketConfig;
use thiserror::Error;

pub(crate) use locate::SpanTree;
pub use locate::line_col;
pub use overrides::{
    OverrideError, apply_override, apply_overrides, get as get_value, parse_override,
    parse_value as parse_override_value,
};
pub use population::{MAX_COUNT, default_strategy};
pub use synmarket_agents::dist::MAX_CHOICES;
pub use synmarket_agents::spec::{
    MAX_BUDGET, MAX_FACTOR, MAX_PRICE, MAX_RATE_PER_HOUR, MAX_SCENARIO_DURATION_MS, MAX_UNITS, MAX_USAGE_CAP,
};
pub use validate::{
    CONFIDENTIAL, DEFAULT_SAMPLE_INTERVAL_MS, MAX_CAPABILITIES, MAX_CAPABILITIES_PER_TASK_TYPE, MAX_EFFECT_SEEDS,
    MAX_EXPECTED_ORDERS, MAX_PERIODS, MAX_POPULATIONS, MAX_SAMPLES, MAX_TASK_TYPES, MAX_TOTAL_AGENTS,
};

/// The largest scenario file read (bytes).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

pub use synmarket_engine::seed::{MARKET_SEED_STREAM, market_seed, splitmix64};

/// A validated scenario: everything a run needs, every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Name (letters, digits, `_`, `-`), used for report folders.
    pub name: String,
    /// Root seed of every random stream.
    pub seed: u64,
    /// Simulated duration.
    pub duration_ms: u64,
    /// Interval between metric samples.
    pub sample_interval_ms: u64,
    /// Trading periods (endowments reset at each); the duration is split evenly. `None`: one.
    pub periods: Option<u32>,
    /// Market rules; `market_seed` is derived from `seed` (see [`market_seed`]).
    pub market: MarketConfig,
    /// Task types, in file order (index = task type id).
    pub task_types: Vec<TaskTypeSpec>,
    /// Populations, in file order.
    pub populations: Vec<PopulationSpec>,
    /// `[[effect]]`: counterfactual pair studies that `synmarket run` measures and reports.
    pub effects: Vec<Effect>,
}

/// A counterfactual pair study declared by a scenario (`[[effect]]`, src/versus.rs).
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// Its name.
    pub name: String,
    /// The changed keys and their values in the counterfactual.
    pub versus: Vec<(String, toml::Value)>,
    /// Pairs (seeds).
    pub seeds: u64,
}

/// Why a scenario could not be loaded. `Display` is one line: `file: path: reason`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: cannot read the scenario: {reason}")]
    Read {
        /// File name as given.
        file: String,
        /// Why.
        reason: String,
    },
    /// The file is not valid TOML.
    #[error("{file}:{line}:{column}: TOML syntax error: {reason}")]
    Syntax {
        /// File name as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// toml's message.
        reason: String,
    },
    /// A value is missing, has the wrong type, or fails a check.
    #[error("{file}{}: {path}: {reason}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid {
        /// File name as given.
        file: String,
        /// TOML path of the value (`population[2].count`).
        path: String,
        /// What is wrong.
        reason: String,
        /// Line and column of the value in the file, when it was written there.
        location: Option<(usize, usize)>,
    },
    /// An override is malformed or cannot be applied.
    #[error("{file}: {error}")]
    Override {
        /// File name as given.
        file: String,
        /// The override's problem.
        error: OverrideError,
    },
}

impl ScenarioError {
    /// The TOML path the error is about, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            ScenarioError::Invalid { path, .. } => Some(path),
            ScenarioError::Override { error, .. } => Some(&error.key),
            _ => None,
        }
    }
}

/// An I/O error in a user's words ("no such file", "permission denied"), without the OS code.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "a folder, not a file".into(),
        _ => e.to_string(),
    }
}

/// Reads a scenario file as text.
fn read(path: &Path) -> Result<String, ScenarioError> {
    let file = path.display().to_string();
    let fail = |reason: String| ScenarioError::Read { file: file.clone(), reason };
    let meta = std::fs::metadata(path).map_err(|e| fail(io_reason(&e)))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(format!("{} bytes is larger than the {MAX_FILE_BYTES}-byte limit", meta.len())));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(io_reason(&e)))?;
    String::from_utf8(bytes).map_err(|e| fail(format!("not valid UTF-8 ({e})")))
}

fn syntax_error(text: &str, file: &str, e: &toml::de::Error) -> ScenarioError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    let mut reason = e.message().trim().to_string();
    // `population[0].count = 5` is not TOML: a key with an index must be one quoted key.
    let written = text.lines().nth(line.saturating_sub(1)).unwrap_or("").trim_start();
    if let Some((key, _)) = written.split_once('=')
        && !written.starts_with('[')
        && key.contains('[')
        && !key.trim_start().starts_with('"')
    {
        let key = key.trim();
        reason.push_str(&format!(
            "; a key with an index such as `{key}` is not TOML: in a sweep file or `--set` quote it as one \
             key (\"{key}\" = ...); in a scenario file write the last part inside its [[table]]"
        ));
    }
    // `[task_type]` (or `[population.sla]` before any `[[population]]`) makes the name a table,
    // so the later `[[task_type]]` is a "duplicate key": point at the header that caused it.
    if reason.contains("duplicate key")
        && let Some(name) = written.trim().strip_prefix("[[").and_then(|r| r.split("]]").next()).map(str::trim)
    {
        let culprit = text.lines().take(line.saturating_sub(1)).enumerate().find(|(_, l)| {
            let l = l.trim();
            !l.starts_with("[[")
                && l.strip_prefix('[').and_then(|r| r.split(']').next()).is_some_and(|h| {
                    let h = h.trim();
                    h == name || h.starts_with(&format!("{name}."))
                })
        });
        if let Some((i, header)) = culprit {
            reason.push_str(&format!(
                "; line {} writes {} before any [[{name}]]: `{name}` is a list of tables, each written [[{name}]], \
                 and its sub-tables ([{name}.…]) go after the [[{name}]] they belong to",
                i + 1,
                header.trim()
            ));
        }
    }
    ScenarioError::Syntax { file: file.to_string(), line, column, reason }
}

/// Parses TOML text into a value tree (for overrides and sweeps); syntax errors carry line:column.
pub fn parse_document(text: &str, file: &str) -> Result<toml::Value, ScenarioError> {
    if let Err(e) = locate::SpanTree::parse(text) {
        return Err(syntax_error(text, file, &e));
    }
    toml::from_str::<toml::Table>(text).map(toml::Value::Table).map_err(|e| syntax_error(text, file, &e))
}

/// Reads a scenario file into a value tree (for overrides and sweeps).
pub fn read_document(path: impl AsRef<Path>) -> Result<toml::Value, ScenarioError> {
    let path = path.as_ref();
    parse_document(&read(path)?, &path.display().to_string())
}

/// Loads `text` (named `file` in errors). `show_location`: the text is the user's file, so errors
/// may point at line:column; `overrides` are the keys set by overrides with what set each (e.g.
/// "override `market.fee_bps`", "`--versus market.fee_bps=50`"), named in errors.
/// Validates scenario `text`. Errors carry line:column in `text` when `show_location`; for a
/// text rewritten from the user's file by overrides (`origin`: the file as written), they carry
/// the line:column of the value in that file unless an override set it (then they say which).
fn load_text(
    text: &str,
    file: &str,
    show_location: bool,
    overrides: &[(String, String)],
    origin: Option<&str>,
) -> Result<Scenario, ScenarioError> {
    let tree = locate::SpanTree::parse(text).map_err(|e| syntax_error(text, file, &e))?;
    let origin = origin.and_then(|o| locate::SpanTree::parse(o).ok().map(|t| (o, t)));
    let set_by = |path: &str| {
        overrides.iter().rev().find(|(k, _)| path.starts_with(k.as_str()) || k.starts_with(path)).map(|(_, by)| by)
    };
    let at = |span: Option<std::ops::Range<usize>>| {
        if show_location { span.map(|s| line_col(text, s.start)) } else { None }
    };
    // Where the user wrote `path` (its key if `key`, else its value) in the file the overrides
    // rewrote; `None` when an override set it.
    let in_origin = |path: &locate::TomlPath, key: bool| {
        let (o, t) = origin.as_ref()?;
        if set_by(&path.to_string()).is_some() {
            return None;
        }
        let span = if key { t.key_span_of(path) } else { t.span_of(path) }?;
        Some(line_col(o, span.start))
    };
    let invalid = |path: String, reason: String, location: Option<(usize, usize)>| {
        let reason = match set_by(&path) {
            Some(by) if !path.is_empty() && path != "(top level)" => format!("{reason} (set by {by})"),
            _ => reason,
        };
        ScenarioError::Invalid { file: file.to_string(), path, reason, location }
    };
    // A sweep file handed to `run` or `validate`: say what it is rather than "unknown field".
    if let Ok(toml::Value::Table(top)) = toml::from_str::<toml::Value>(text)
        && top.contains_key("sweep")
        && !top.contains_key("scenario")
    {
        return Err(invalid(
            "sweep".into(),
            "this is a sweep file, not a scenario: run it with `synmarket sweep run <FILE>`".into(),
            at(tree.span_of(&locate::TomlPath::root().key("sweep"))),
        ));
    }
    let parsed: file::ScenarioFile = toml::from_str(text).map_err(|e| {
        let span = e.span();
        let path = span.as_ref().map(|s| tree.path_at(s)).unwrap_or_default();
        let reason = if path.to_string() == "market.market_seed" {
            "cannot be set: it is derived from scenario.seed as splitmix64(seed ^ 0x6d61726b65745f73)".to_string()
        } else {
            messages::serde_reason(e.message(), path.last_key())
        };
        let location = at(span).or_else(|| in_origin(&path, false));
        invalid(path.to_string(), reason, location)
    })?;
    // Keys of another institution are refused when written, whatever their value.
    if let Ok(toml::Value::Table(top)) = toml::from_str::<toml::Value>(text)
        && let Some(toml::Value::Table(m)) = top.get("market")
        && let Err(e) = parsed.market.check_written_keys(m.keys().map(String::as_str))
    {
        let path = locate::TomlPath::root().key("market").key(e.field);
        let location = at(tree.key_span_of(&path)).or_else(|| in_origin(&path, true));
        return Err(invalid(path.to_string(), e.reason, location));
    }
    let s = validate::scenario(&parsed).map_err(|e| {
        // An error about a key itself points at the key, any other at the value.
        let about_key = e.reason.starts_with("unknown key") || e.reason.starts_with("applies only");
        let span = if about_key { tree.key_span_of(&e.path) } else { tree.span_of(&e.path) };
        let location = at(span).or_else(|| in_origin(&e.path, about_key));
        invalid(e.path.to_string(), e.reason, location)
    })?;
    // Each effect's counterfactual must be a valid scenario too (without the effects themselves).
    if !s.effects.is_empty() {
        let mut doc: toml::Value =
            toml::from_str(text).map_err(|e| invalid("(top level)".into(), e.to_string(), None))?;
        if let Some(t) = doc.as_table_mut() {
            t.remove("effect");
        }
        for (i, e) in s.effects.iter().enumerate() {
            let mut cf = doc.clone();
            let key = |k: &str| format!("effect[{i}].versus.\"{k}\"");
            for (k, v) in &e.versus {
                overrides::set(&mut cf, k, v.clone()).map_err(|err| invalid(key(k), err.reason, None))?;
            }
            let cf_text = toml::to_string(&cf).map_err(|err| invalid(format!("effect[{i}]"), err.to_string(), None))?;
            load_text(&cf_text, file, false, &[], None).map_err(|err| {
                let reason = match err {
                    ScenarioError::Invalid { path, reason, .. } => {
                        format!("the counterfactual is not valid: {path}: {reason}")
                    }
                    other => format!("the counterfactual is not valid: {other}"),
                };
                invalid(format!("effect[{i}].versus"), reason, None)
            })?;
            // A counterfactual equal to the scenario is refused when the effect is run
            // (`versus::measure_effects`), not here: a sweep point may set the same value.
        }
    }
    Ok(s)
}

impl Scenario {
    /// Loads and validates a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        Self::load_with_overrides(path, &[])
    }

    /// Loads a scenario file, applies `dotted.path=value` overrides in order, and validates.
    pub fn load_with_overrides(path: impl AsRef<Path>, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let with: Vec<(&str, &str)> = overrides.iter().map(|o| (o.as_str(), "")).collect();
        Self::load_with_flagged_overrides(path, &with)
    }

    /// [`Scenario::load_with_overrides`] where each override `(KEY=VALUE, flag)` came from a
    /// command-line flag (`"--versus"`): an error in a value it set names the flag and the
    /// override as written, e.g. "(set by `--versus market.fee_bps=-5`)"; an empty flag names
    /// the override by its key, "(set by override `market.fee_bps`)".
    pub fn load_with_flagged_overrides(
        path: impl AsRef<Path>,
        overrides: &[(&str, &str)],
    ) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = read(path)?;
        if overrides.is_empty() {
            return load_text(&text, &file, true, &[], None);
        }
        let parsed = overrides
            .iter()
            .map(|(o, _)| parse_override(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| ScenarioError::Override { file: file.clone(), error })?;
        let mut value = parse_document(&text, &file)?;
        apply_overrides(&mut value, &parsed).map_err(|error| ScenarioError::Override { file: file.clone(), error })?;
        let keys: Vec<(String, String)> = parsed
            .into_iter()
            .zip(overrides)
            .map(|((k, _), (text, flag))| {
                let by = if flag.is_empty() { format!("override `{k}`") } else { format!("`{flag} {text}`") };
                (k, by)
            })
            .collect();
        Self::from_value_with(&value, &file, &keys, Some(&text))
    }

    /// Validates TOML text; `file` names it in errors (which carry line:column).
    pub fn from_toml_str(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        load_text(text, file, true, &[], None)
    }

    /// Validates a value tree (a document after overrides; the sweep's entry point).
    pub fn from_value(value: &toml::Value, file: &str) -> Result<Scenario, ScenarioError> {
        Self::from_value_with(value, file, &[], None)
    }

    fn from_value_with(
        value: &toml::Value,
        file: &str,
        overrides: &[(String, String)],
        origin: Option<&str>,
    ) -> Result<Scenario, ScenarioError> {
        let text = toml::to_string(value).map_err(|e| ScenarioError::Invalid {
            file: file.to_string(),
            path: "(top level)".into(),
            reason: format!("cannot be written as a TOML document: {e}"),
            location: None,
        })?;
        load_text(&text, file, false, overrides, origin)
    }

    /// The resolved scenario as TOML, every default explicit; loading it gives an equal scenario.
    pub fn to_toml_string(&self) -> String {
        write::to_toml(self)
    }

    /// Total number of agents.
    pub fn total_agents(&self) -> u64 {
        self.populations.iter().map(|p| u64::from(p.count)).sum()
    }

    /// Agents of one role.
    pub fn agents_with_role(&self, role: Role) -> u64 {
        self.populations.iter().filter(|p| p.role == role).map(|p| u64::from(p.count)).sum()
    }

    /// Length of one trading period (the whole duration when `periods` is `None`).
    pub fn period_ms(&self) -> u64 {
        self.duration_ms / u64::from(self.periods.unwrap_or(1).max(1))
    }

    /// Expected number of orders over the run (Σ count × arrival rate × hours, traders only).
    pub fn expected_orders(&self) -> f64 {
        let hours = self.duration_ms as f64 / duration::HOUR as f64;
        self.populations
            .iter()
            .filter(|p| p.role.trades())
            .map(|p| f64::from(p.count) * p.trading.arrival_rate_per_hour.0 * hours)
            .sum()
    }
}
