//! Counterfactual pairs: `synmarket run S.toml --versus KEY=VALUE` runs the scenario and a
//! counterfactual that differs only in the given keys, over `seeds` replications with common
//! random numbers, and states the effect of the change as paired differences with 95 % intervals.
//!
//! A pair study is a two-point sweep (`sweep/`), so it shares everything a sweep has: the
//! generated sweep file is written beside its results (`<out>/<name>/versus.toml`, rerunnable with
//! `synmarket sweep run|merge`), runs are committed one by one and resumed, and the merge writes
//! `paired.parquet` (counterfactual − scenario, replication by replication) and a report.
//!
//! Decisions:
//! - **Common random numbers.** Replication r of both points uses the same seed
//!   (`seed_mode = "common"`, base seed = the scenario's seed), so every agent draws the same
//!   values, costs and arrival times in both worlds: the difference of a pair is the effect of the
//!   change for that draw, and the interval over pairs is much narrower than for independent runs.
//! - **Both points name their values.** The baseline point sets each changed key to its value in
//!   the scenario as given (after `--set`; defaults included), the counterfactual to the new
//!   value, so the report's points table shows what was compared. `--set` keys that are not
//!   changed apply to both points (`[fixed]`).
//! - **Refused before anything is written** (exit 2): no `--versus`, fewer than 2 seeds, a key
//!   given twice, `scenario.seed`/`scenario.name`, a value the scenario refuses, and a
//!   counterfactual equal to the scenario (every changed key already has that value).
//! - The folder's name is the scenario's name, `versus`, the last segment of the first changed key
//!   and a hash of every override and the seed count, so different studies never share a folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::metrics::summary::column as S;
use crate::scenario::Scenario;
use crate::sweep::{Sweep, SweepError, column};

/// Default replications of a pair study.
pub const DEFAULT_SEEDS: u64 = 10;

/// The headline metrics of agent behaviour: a rule that changes none of them in any pair moves
/// only tokens (the run report says so).
pub const BEHAVIOURAL_METRICS: [&str; 7] = [
    S::fill_rate,
    S::vwap,
    S::relative_deviation_mean,
    S::allocative_efficiency,
    S::sla_compliance_rate,
    S::high_reputation_volume_share,
    S::high_reputation_price_premium,
];

/// The headline metrics of token flows.
pub const TRANSFER_METRICS: [&str; 3] = [S::penalties, S::requester_surplus, S::total_surplus];

/// The summary metrics a pair study prints and a run's `effects.parquet` holds (every metric is
/// in the pair study's `paired.parquet`): the behavioural ones, then the transfers.
pub fn headline_metrics() -> impl Iterator<Item = &'static str> {
    BEHAVIOURAL_METRICS.into_iter().chain(TRANSFER_METRICS)
}

/// What a pair study is made of.
#[derive(Debug, Clone)]
pub struct PairSpec<'a> {
    /// The scenario file.
    pub scenario: &'a Path,
    /// The scenario as given, with `sets` applied (its seed is the base of the pairs' seeds).
    pub base: &'a Scenario,
    /// `KEY=VALUE` overrides of both points (`--set`; `scenario.seed` is taken from `base`).
    pub sets: &'a [String],
    /// `KEY=VALUE` overrides of the counterfactual (`--versus`).
    pub versus: &'a [String],
    /// Replications (pairs).
    pub seeds: u64,
}

/// A pair study's sweep file, folder name and the baseline point's parameters.
#[derive(Debug, Clone)]
pub struct PairFile {
    /// The sweep file's text.
    pub text: String,
    /// The sweep's (and folder's) name.
    pub name: String,
    /// The baseline point: each changed key at its value in the scenario as given.
    pub baseline: BTreeMap<String, toml::Value>,
}

fn flag(reason: impl Into<String>) -> SweepError {
    SweepError::Flag(reason.into())
}

fn parse(flag_name: &str, text: &str) -> Result<(String, toml::Value), SweepError> {
    crate::scenario::parse_override(text).map_err(|e| flag(format!("{flag_name} {text}: {e}")))
}

/// A TOML key, quoted.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The sweep file of a pair study (see the module header for what is refused).
pub fn sweep_text(p: &PairSpec) -> Result<PairFile, SweepError> {
    if p.versus.is_empty() {
        return Err(flag("--versus: give at least one KEY=VALUE to change"));
    }
    if p.seeds < 2 {
        return Err(flag(format!("--seeds {}: a paired interval needs at least 2 seeds", p.seeds)));
    }
    let mut changes: BTreeMap<String, toml::Value> = BTreeMap::new();
    for text in p.versus {
        let (k, v) = parse("--versus", text)?;
        if k == "scenario.seed" || k == "scenario.name" {
            return Err(flag(format!("--versus {k}: the pair shares its seeds and name: change another key")));
        }
        if changes.insert(k.clone(), v).is_some() {
            return Err(flag(format!("--versus {k} is given twice: give each changed key once")));
        }
    }
    let mut fixed: BTreeMap<String, toml::Value> = BTreeMap::new();
    for text in p.sets {
        let (k, v) = parse("--set", text)?;
        if k != "scenario.seed" && !changes.contains_key(&k) {
            fixed.insert(k, v);
        }
    }
    // Each changed key's value in the scenario as given (defaults included, via the resolved file).
    let resolved: toml::Value =
        toml::from_str(&p.base.to_toml_string()).map_err(|e| flag(format!("internal: resolved scenario: {e}")))?;
    let baseline: BTreeMap<String, toml::Value> = changes
        .keys()
        .filter_map(|k| crate::scenario::get_value(&resolved, k).map(|v| (k.clone(), v.clone())))
        .collect();
    if baseline.len() == changes.len() && baseline == changes {
        let same: Vec<String> = changes.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        return Err(flag(format!(
            "--versus: the scenario already has {}: the counterfactual would be the scenario itself",
            same.join(", ")
        )));
    }
    let mut h = Sha256::new();
    for (k, v) in fixed.iter().chain(&changes) {
        h.update(format!("{k}={v}\n"));
    }
    h.update(format!("seeds={}\nseed={}\n", p.seeds, p.base.seed));
    let hash: String = h.finalize().iter().take(4).map(|b| format!("{b:02x}")).collect();
    let first = changes.keys().next().map(String::as_str).unwrap_or("change");
    let last: String = first
        .rsplit('.')
        .next()
        .unwrap_or("change")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    let stem: String = format!("{}-versus-{last}", p.base.name).chars().take(54).collect();
    let name = format!("{stem}-{hash}");
    let scenario = std::path::absolute(p.scenario).unwrap_or_else(|_| p.scenario.to_path_buf());
    let mut text = format!(
        "# A counterfactual pair study written by `synmarket run --versus` (src/versus.rs).\n\
         # Rerun or extend it with `synmarket sweep run|merge` on this file.\n\
         [sweep]\nname = {}\nscenario = {}\nreplications = {}\nbase_seed = {}\nseed_mode = \"common\"\n",
        quoted(&name),
        quoted(&scenario.display().to_string()),
        p.seeds,
        quoted(&p.base.seed.to_string()),
    );
    text.push_str("\n[fixed]\n");
    for (k, v) in &fixed {
        text.push_str(&format!("{} = {v}\n", quoted(k)));
    }
    text.push_str("\n# the scenario as given\n[[points]]\n");
    for (k, v) in &baseline {
        text.push_str(&format!("{} = {v}\n", quoted(k)));
    }
    text.push_str("\n# the counterfactual\n[[points]]\n");
    for (k, v) in &changes {
        text.push_str(&format!("{} = {v}\n", quoted(k)));
    }
    Ok(PairFile { text, name, baseline })
}

/// Checks the pair study, then writes its sweep file into `<out>/<name>/versus.toml` and loads
/// it. Returns the sweep, the id of the baseline point and the file. Nothing is written when the
/// study is refused.
pub fn prepare(p: &PairSpec, out: &Path) -> Result<(Sweep, String, PathBuf), SweepError> {
    let pair = sweep_text(p)?;
    // However the values are written ("600s" or "10m"), a counterfactual that resolves to the
    // scenario itself would run identical pairs.
    let mut all: Vec<String> = p.sets.to_vec();
    all.extend(p.versus.iter().cloned());
    let counterfactual = Scenario::load_with_overrides(p.scenario, &all)
        .map_err(|err| flag(format!("the counterfactual is not valid: {err}")))?;
    let resolved = |s: &Scenario| {
        let mut plain = s.clone();
        plain.effects.clear();
        plain.to_toml_string()
    };
    if resolved(&counterfactual) == resolved(p.base) {
        return Err(flag(format!(
            "--versus {}: the counterfactual is the scenario itself (it already has these values)",
            p.versus.join(" ")
        )));
    }
    let dir = out.join(&pair.name);
    crate::output::check_output_dir(&dir)?;
    // Load from a temporary file first: a study the sweep loader refuses leaves no folder behind.
    let probe = std::env::temp_dir().join(format!("synmarket-versus-{}-{}.toml", std::process::id(), pair.name));
    crate::output::write_atomic(&probe, pair.text.as_bytes())?;
    let checked = Sweep::load(&probe);
    let _ = std::fs::remove_file(&probe);
    checked?;
    let file = dir.join("versus.toml");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(pair.text.as_str()) {
        crate::output::write_atomic(&file, pair.text.as_bytes())?;
    }
    let sweep = Sweep::load(&file)?;
    let base = sweep
        .points
        .iter()
        .find(|pt| pt.params == pair.baseline)
        .map(|pt| pt.id())
        .ok_or_else(|| flag("internal: the pair study has no baseline point"))?;
    Ok((sweep, base, file))
}

/// Runs every `[[effect]]` of `base` (loaded from `scenario` with `sets`) as a pair study under
/// `out`, on `threads` threads, and returns the `effects` table of the run folder: one row per
/// effect × headline metric with `effect`, `versus` (the changed keys), `seeds`, `metric`, `n`,
/// `mean_diff` (counterfactual − scenario), `ci_low`, `ci_high` (95 %) and `study` (the pair
/// study's folder under `out`). `None` when the scenario declares no effect.
pub fn measure_effects(
    scenario: &Path,
    base: &Scenario,
    sets: &[String],
    out: &Path,
    threads: usize,
) -> Result<Option<polars::prelude::DataFrame>, SweepError> {
    use polars::prelude::{Column, DataFrame, DataType, NamedFrom, Series};
    if base.effects.is_empty() {
        return Ok(None);
    }
    let (mut effect, mut versus, mut seeds, mut metric, mut n) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut mean, mut low, mut high, mut study) = (vec![], vec![], vec![], vec![]);
    for e in &base.effects {
        let changes: Vec<String> = e.versus.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let spec = PairSpec { scenario, base, sets, versus: &changes, seeds: e.seeds };
        let (sw, baseline, _) = prepare(&spec, out).map_err(|err| match err {
            SweepError::Flag(reason) => SweepError::Flag(format!("effect `{}`: {reason}", e.name)),
            other => other,
        })?;
        let opts = crate::sweep::RunOptions::new(out, crate::sweep::Shard::WHOLE, threads);
        crate::sweep::run_shard(&sw, &opts)?;
        let merged = crate::sweep::merge(&sw, out, Some(&baseline))?;
        let paired = crate::output::read_parquet(merged.dir.join("paired.parquet"))?;
        let bad = |reason: String| SweepError::BadRunFile { path: merged.dir.join("paired.parquet"), reason };
        let col = |name: &str| -> Result<Vec<Option<f64>>, SweepError> {
            let c = paired.column(name).map_err(|e| bad(e.to_string()))?;
            let c = c.cast(&DataType::Float64).map_err(|e| bad(e.to_string()))?;
            Ok(c.f64().map_err(|e| bad(e.to_string()))?.iter().collect())
        };
        let names: Vec<String> = paired
            .column(column::METRIC)
            .map_err(|e| bad(e.to_string()))?
            .str()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(|m| m.unwrap_or_default().to_string())
            .collect();
        let (m, lo, hi, count) =
            (col(column::MEAN_DIFF)?, col(column::CI_LOW)?, col(column::CI_HIGH)?, col(column::N)?);
        for name in headline_metrics() {
            let Some(i) = names.iter().position(|x| x == name) else { continue };
            effect.push(e.name.clone());
            versus.push(changes.join(", "));
            seeds.push(e.seeds);
            metric.push(name.to_string());
            n.push(count[i].unwrap_or(0.0) as u64);
            mean.push(m[i]);
            low.push(lo[i]);
            high.push(hi[i]);
            study.push(sw.name.clone());
        }
    }
    let cols = vec![
        Column::from(Series::new(column::EFFECT.into(), effect)),
        Column::from(Series::new(column::VERSUS.into(), versus)),
        Column::from(Series::new(column::SEEDS.into(), seeds)),
        Column::from(Series::new(column::METRIC.into(), metric)),
        Column::from(Series::new(column::N.into(), n)),
        Column::from(Series::new(column::MEAN_DIFF.into(), mean)),
        Column::from(Series::new(column::CI_LOW.into(), low)),
        Column::from(Series::new(column::CI_HIGH.into(), high)),
        Column::from(Series::new(column::STUDY.into(), study)),
    ];
    DataFrame::new_infer_height(cols).map(Some).map_err(|e| SweepError::table("effects", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Scenario::load(root.join("scenarios/economic_simulation.toml")).unwrap()
    }

    fn text(sets: &[&str], versus: &[&str], seeds: u64) -> Result<PairFile, SweepError> {
        let b = base();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let versus: Vec<String> = versus.iter().map(|s| s.to_string()).collect();
        sweep_text(&PairSpec { scenario: Path::new("/x/s.toml"), base: &b, sets: &sets, versus: &versus, seeds })
    }

    #[test]
    fn the_sweep_names_the_scenarios_value_and_the_counterfactual() {
        let p =
            text(&["scenario.duration=1d"], &["market.reputation_weight=0.0", "market.pricing=midpoint"], 10).unwrap();
        assert!(p.name.starts_with("economic_simulation-versus-pricing-"), "{}", p.name);
        assert!(p.text.contains("\"scenario.duration\" = \"1d\""), "unquoted values are quoted: {}", p.text);
        assert!(p.text.contains("\"market.pricing\" = \"midpoint\""), "{}", p.text);
        assert!(p.baseline.contains_key("market.reputation_weight"), "the baseline names its value");
        assert!(p.text.contains("seed_mode = \"common\""), "{}", p.text);
        assert_ne!(p.name, text(&["scenario.duration=1d"], &["market.reputation_weight=0.0"], 11).unwrap().name);
    }

    #[test]
    fn a_set_key_that_is_also_changed_is_the_baselines_value_not_fixed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let sets = vec!["market.reputation_weight=0.5".to_string()];
        let with_set = Scenario::load_with_overrides(root.join("scenarios/economic_simulation.toml"), &sets).unwrap();
        let versus = vec!["market.reputation_weight=0.0".to_string()];
        let spec =
            PairSpec { scenario: Path::new("/x/s.toml"), base: &with_set, sets: &sets, versus: &versus, seeds: 4 };
        let p = sweep_text(&spec).unwrap();
        assert_eq!(p.baseline.get("market.reputation_weight"), Some(&toml::Value::Float(0.5)));
        let fixed = p.text.split("[fixed]").nth(1).unwrap().split("[[points]]").next().unwrap();
        assert!(!fixed.contains("reputation_weight"), "{}", p.text);
    }

    #[test]
    fn bad_pairs_are_refused() {
        let e = |r: Result<PairFile, SweepError>| r.unwrap_err().to_string();
        assert!(e(text(&[], &[], 10)).contains("at least one"));
        assert_eq!(e(text(&[], &["market.fee_bps=0"], 1)), "--seeds 1: a paired interval needs at least 2 seeds");
        assert!(e(text(&[], &["scenario.seed=3"], 10)).contains("shares its seeds"));
        assert!(e(text(&[], &["market.fee_bps=0", "market.fee_bps=5"], 10)).contains("given twice"));
        assert!(text(&[], &["market.fee_bps"], 10).is_err());
        let weight = base().market.reputation_weight;
        let same = e(text(&[], &[&format!("market.reputation_weight={weight:?}")], 10));
        assert!(same.contains("would be the scenario itself"), "{same}");
    }
}
