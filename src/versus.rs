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
//! - **Baseline** is the scenario as given (with `--set` overrides, which apply to both points);
//!   the paired differences are counterfactual − baseline.
//! - **Seeds**: at least 2 (an interval needs two pairs); 10 by default. The folder's name is the
//!   scenario's name, `versus`, the last segment of the first changed key and a hash of every
//!   override and the seed count, so different studies never share a folder.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sweep::{Sweep, SweepError};

/// Default replications of a pair study.
pub const DEFAULT_SEEDS: u64 = 10;

/// The summary metrics a pair study prints (all of them are in `paired.parquet`).
pub const HEADLINE_METRICS: [&str; 8] = [
    "fill_rate",
    "vwap",
    "relative_deviation_mean",
    "allocative_efficiency",
    "sla_compliance_rate",
    "high_reputation_volume_share",
    "high_reputation_price_premium",
    "total_surplus",
];

/// What a pair study is made of.
#[derive(Debug, Clone)]
pub struct PairSpec<'a> {
    /// The scenario file.
    pub scenario: &'a Path,
    /// The scenario's name (for the folder).
    pub scenario_name: &'a str,
    /// The scenario's seed: the base of the replications' seeds.
    pub seed: u64,
    /// `KEY=VALUE` overrides of both points (`--set`).
    pub sets: &'a [String],
    /// `KEY=VALUE` overrides of the counterfactual (`--versus`).
    pub versus: &'a [String],
    /// Replications (pairs).
    pub seeds: u64,
}

fn err(file: &str, key: &str, reason: impl Into<String>) -> SweepError {
    SweepError::Spec { file: file.to_string(), key: key.to_string(), reason: reason.into() }
}

/// `(key, value text)` of a `KEY=VALUE` override, checked by the scenario's override parser.
fn split(flag: &str, text: &str) -> Result<(String, String), SweepError> {
    crate::scenario::parse_override(text).map_err(|e| err(flag, text, e.to_string()))?;
    let (k, v) = text.split_once('=').ok_or_else(|| err(flag, text, "expected KEY=VALUE"))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The sweep file of a pair study and its folder name.
pub fn sweep_text(p: &PairSpec) -> Result<(String, String), SweepError> {
    if p.versus.is_empty() {
        return Err(err("--versus", "--versus", "give at least one KEY=VALUE to change"));
    }
    if p.seeds < 2 {
        return Err(err("--seeds", "--seeds", format!("{}: a paired interval needs at least 2 seeds", p.seeds)));
    }
    let sets: Vec<(String, String)> = p.sets.iter().map(|s| split("--set", s)).collect::<Result<_, _>>()?;
    let versus: Vec<(String, String)> = p.versus.iter().map(|s| split("--versus", s)).collect::<Result<_, _>>()?;
    for (k, _) in &versus {
        if k == "scenario.seed" || k == "scenario.name" {
            return Err(err("--versus", k, "the pair shares its seeds and name: change another key"));
        }
    }
    let mut h = Sha256::new();
    for (k, v) in sets.iter().chain(&versus) {
        h.update(format!("{k}={v}\n"));
    }
    h.update(format!("seeds={}\nseed={}\n", p.seeds, p.seed));
    let hash: String = h.finalize().iter().take(4).map(|b| format!("{b:02x}")).collect();
    let last: String = versus[0]
        .0
        .rsplit('.')
        .next()
        .unwrap_or("change")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    let stem: String = format!("{}-versus-{last}", p.scenario_name).chars().take(54).collect();
    let name = format!("{stem}-{hash}");
    let scenario = std::path::absolute(p.scenario).unwrap_or_else(|_| p.scenario.to_path_buf());
    let mut text = format!(
        "# A counterfactual pair study written by `synmarket run --versus` (src/versus.rs).\n\
         # Rerun or extend it with `synmarket sweep run|merge` on this file.\n\
         [sweep]\nname = {}\nscenario = {}\nreplications = {}\nbase_seed = {}\nseed_mode = \"common\"\n",
        quoted(&name),
        quoted(&scenario.display().to_string()),
        p.seeds,
        quoted(&p.seed.to_string()),
    );
    text.push_str("\n[fixed]\n");
    for (k, v) in &sets {
        text.push_str(&format!("{} = {v}\n", quoted(k)));
    }
    text.push_str("\n# the scenario as given\n[[points]]\n\n# the counterfactual\n[[points]]\n");
    for (k, v) in &versus {
        text.push_str(&format!("{} = {v}\n", quoted(k)));
    }
    Ok((text, name))
}

/// Writes the pair study's sweep file into `<out>/<name>/versus.toml` and loads it. Returns the
/// sweep and the id of the baseline point (the scenario as given).
pub fn prepare(p: &PairSpec, out: &Path) -> Result<(Sweep, String, PathBuf), SweepError> {
    let (text, name) = sweep_text(p)?;
    let dir = out.join(&name);
    crate::io::check_output_dir(&dir)?;
    let file = dir.join("versus.toml");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
        crate::io::write_atomic(&file, text.as_bytes())?;
    }
    let sweep = Sweep::load(&file)?;
    let base = sweep
        .points
        .iter()
        .find(|pt| pt.params.is_empty())
        .map(|pt| pt.id())
        .ok_or_else(|| err(&file.display().to_string(), "points", "internal: no baseline point"))?;
    Ok((sweep, base, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(sets: &'a [String], versus: &'a [String], seeds: u64) -> PairSpec<'a> {
        PairSpec { scenario: Path::new("/x/s.toml"), scenario_name: "s", seed: 42, sets, versus, seeds }
    }

    #[test]
    fn the_sweep_has_the_scenario_and_the_counterfactual() {
        let sets = vec!["scenario.duration=\"1d\"".to_string()];
        let versus = vec!["market.reputation_weight=0.0".to_string()];
        let (text, name) = sweep_text(&spec(&sets, &versus, 10)).unwrap();
        assert!(name.starts_with("s-versus-reputation_weight-"), "{name}");
        assert!(text.contains("\"scenario.duration\" = \"1d\""), "{text}");
        assert!(text.contains("\"market.reputation_weight\" = 0.0"), "{text}");
        assert!(text.contains("seed_mode = \"common\"") && text.contains("base_seed = \"42\""), "{text}");
        let (_, other) = sweep_text(&spec(&sets, &versus, 11)).unwrap();
        assert_ne!(name, other, "another study, another folder");
    }

    #[test]
    fn bad_pairs_are_refused() {
        let none: Vec<String> = Vec::new();
        let v = vec!["market.fee_bps=0".to_string()];
        assert!(sweep_text(&spec(&none, &none, 10)).unwrap_err().to_string().contains("at least one"));
        assert!(sweep_text(&spec(&none, &v, 1)).unwrap_err().to_string().contains("at least 2 seeds"));
        let seed = vec!["scenario.seed=3".to_string()];
        assert!(sweep_text(&spec(&none, &seed, 10)).unwrap_err().to_string().contains("shares its seeds"));
        let bad = vec!["market.fee_bps".to_string()];
        assert!(sweep_text(&spec(&none, &bad, 10)).is_err());
    }
}
