//! The sweep file: TOML → a validated [`Sweep`] (format documented in `scenarios/sweeps/README.md`).
//!
//! ```toml
//! [sweep]
//! name = "reputation_weight"     # default: the file's stem
//! scenario = "../baseline.toml"  # relative to this file
//! replications = 20
//! base_seed = 1                  # default 0
//! seed_mode = "common"           # "common" (default) or "independent"
//! [fixed]                        # overrides for every point (not part of point ids)
//! "scenario.duration" = "1d"
//! [grid]                         # cartesian product
//! "market.reputation_weight" = [0.0, 0.5, 1.0, 2.0]
//! [[points]]                     # explicit points
//! "market.fee_bps" = 0
//! [random]                       # `count` samples with their own seed
//! count = 8
//! seed = 7
//! params = { "market.fee_bps" = { int_uniform = [0, 300] } }
//! ```
//!
//! Keys are dotted scenario paths, quoted (`"population[0].count"`) or as nested TOML tables
//! (`market.fee_bps = [...]` under `[grid]`): nested tables are flattened until a leaf, which is an
//! array in `[grid]`, a table with `uniform`/`int_uniform`/`choice` in `[random.params]`, and any
//! non-table value (or a scenario distribution like `{ uniform = [1, 2] }`) elsewhere. Points are a
//! set: duplicates (same id) are kept once; they are ordered by id. Every point is applied to the
//! base scenario and validated here, so an unknown key fails before anything runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::SweepError;
use super::point::{Point, RandomDist, hex_id, sample_random_points};
use crate::scenario::{Scenario, ScenarioError, SpanTree, apply_overrides, parse_document, parse_override};

/// Most replications per point.
pub const MAX_REPLICATIONS: u64 = 100_000;
/// Most runs in one sweep (points × replications).
pub const MAX_RUNS: u64 = 1_000_000;
/// Most random samples.
const MAX_RANDOM: u64 = 100_000;
/// Scenario distribution keywords: a table made of these is a value, not a nesting level.
const DIST_KEYS: [&str; 6] = ["fixed", "uniform", "normal", "lognormal", "choice", "poisson_rate_per_hour"];

/// The keys of the `[sweep]` table.
const HEADER_KEYS: [&str; 6] = ["name", "scenario", "replications", "base_seed", "seed_mode", "baseline"];

/// How seeds are assigned to replications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedMode {
    /// Replication r uses the same seed at every point (common random numbers; enables paired
    /// differences).
    Common,
    /// Every (point, replication) has its own seed.
    Independent,
}

synmarket_engine::named!(SeedMode);

/// A validated sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Output folder name.
    pub name: String,
    /// The sweep file as given.
    pub file: String,
    /// The base scenario as written in the sweep file.
    pub scenario_ref: String,
    /// The base scenario's path, resolved against the sweep file's folder.
    pub scenario_path: PathBuf,
    /// Replications per point.
    pub replications: u64,
    /// Root of every seed.
    pub base_seed: u64,
    /// Seed assignment.
    pub seed_mode: SeedMode,
    /// Overrides for every point, sorted by key.
    pub fixed: Vec<(String, toml::Value)>,
    /// The base scenario document with `fixed` applied.
    pub base: toml::Value,
    /// The points, sorted by id, without duplicates.
    pub points: Vec<Point>,
    /// Id of the point that paired differences are taken against (`[sweep] baseline`), if the
    /// file names one; `sweep merge --baseline` overrides it.
    pub baseline: Option<String>,
    /// Hash of what changes results without changing ids (see the module header of `mod.rs`).
    pub fingerprint: String,
    /// The sweep file's text, to point errors of a point at its key.
    text: String,
}

struct Ctx<'a> {
    file: &'a str,
    /// The file's text and spanned tree, once it parsed (errors then carry line:column).
    source: Option<(&'a str, SpanTree<'a>)>,
}

impl Ctx<'_> {
    fn err(&self, key: impl Into<String>, reason: impl Into<String>) -> SweepError {
        let key = key.into();
        let location = self.source.as_ref().and_then(|(text, tree)| tree.locate_dotted(text, &key));
        SweepError::Spec { file: self.file.to_string(), key, reason: reason.into(), location }
    }

    fn check_keys(&self, table: &toml::Table, at: &str, allowed: &[&str]) -> Result<(), SweepError> {
        match table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(join(at, k), crate::scenario::messages::unknown_key(k, allowed))),
            None => Ok(()),
        }
    }

    fn table<'v>(&self, v: &'v toml::Value, key: &str) -> Result<&'v toml::Table, SweepError> {
        v.as_table()
            .ok_or_else(|| self.err(key, format!("expected a table, found {}", crate::scenario::messages::kind_of(v))))
    }

    fn uint(&self, v: Option<&toml::Value>, key: &str, default: Option<u64>) -> Result<u64, SweepError> {
        match v {
            None => default.ok_or_else(|| {
                let (table, name) = key.rsplit_once('.').unwrap_or(("", key));
                self.err(key, format!("missing key `{name}`: add `{name} = ...` to [{table}]"))
            }),
            Some(toml::Value::Integer(i)) => u64::try_from(*i).map_err(|_| {
                self.err(key, format!("expected a whole number ≥ 0, found {i}: this value cannot be negative"))
            }),
            Some(toml::Value::String(s)) => {
                let parsed = match s.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => s.parse(),
                };
                parsed.map_err(|_| {
                    let hint = crate::scenario::messages::quoted_number_hint(s);
                    self.err(
                        key,
                        format!(
                            "expected a whole number ≥ 0 (or 0x followed by hex digits), found the text \"{s}\"{hint}"
                        ),
                    )
                })
            }
            Some(other) => {
                Err(self
                    .err(key, format!("expected a whole number, found {}", crate::scenario::messages::kind_of(other))))
            }
        }
    }

    /// Checks a dotted key's syntax and that the sweep may set it.
    fn check_param_key(&self, key: &str) -> Result<(), SweepError> {
        parse_override(&format!("{key}=0")).map_err(|e| self.err(key, e.reason))?;
        if key == "scenario.seed" {
            return Err(self.err(
                key,
                "is a valid scenario key but cannot be swept: the sweep gives every run its own seed; set how \
                 many runs each point gets with [sweep] replications and where their seeds start with base_seed",
            ));
        }
        if key == "scenario.name" {
            return Err(self
                .err(key, "is a valid scenario key but cannot be swept: runs are named by the sweep ([sweep] name)"));
        }
        Ok(())
    }
}

/// The error `e` about a parameter key, reported at `at` (its full key in the sweep file).
fn rekey(ctx: &Ctx, e: SweepError, at: &str) -> SweepError {
    match e {
        SweepError::Spec { reason, .. } => ctx.err(at, reason),
        other => other,
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

/// Flattens nested tables into dotted keys; `is_leaf` says when a table is a value.
fn flatten(
    table: &toml::Table,
    prefix: &str,
    is_leaf: &dyn Fn(&toml::Value) -> bool,
    out: &mut Vec<(String, toml::Value)>,
) {
    for (k, v) in table {
        let key = join(prefix, k);
        match v {
            toml::Value::Table(inner) if !is_leaf(v) => flatten(inner, &key, is_leaf, out),
            _ => out.push((key, v.clone())),
        }
    }
}

fn is_dist_table(v: &toml::Value) -> bool {
    v.as_table().is_some_and(|t| !t.is_empty() && t.keys().all(|k| DIST_KEYS.contains(&k.as_str())))
}

fn is_random_leaf(v: &toml::Value) -> bool {
    v.as_table().is_some_and(|t| t.keys().any(|k| matches!(k.as_str(), "uniform" | "int_uniform" | "choice")))
}

fn finite_number(ctx: &Ctx, key: &str, v: &toml::Value) -> Result<f64, SweepError> {
    match v {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Ok(*f),
        other => Err(ctx.err(key, format!("expected a finite number, found {other}"))),
    }
}

fn check_value(ctx: &Ctx, key: &str, v: &toml::Value) -> Result<(), SweepError> {
    match v {
        toml::Value::Float(f) if !f.is_finite() => Err(ctx.err(key, "NaN and infinities are not parameter values")),
        toml::Value::Array(a) => a.iter().try_for_each(|x| check_value(ctx, key, x)),
        toml::Value::Table(t) => t.values().try_for_each(|x| check_value(ctx, key, x)),
        _ => Ok(()),
    }
}

fn random_dist(ctx: &Ctx, key: &str, v: &toml::Value) -> Result<RandomDist, SweepError> {
    let t = ctx.table(v, key)?;
    if t.len() != 1 {
        return Err(
            ctx.err(key, "expected exactly one of uniform = [low, high], int_uniform = [low, high], choice = [...]")
        );
    }
    let (kind, arg) = t.iter().next().ok_or_else(|| ctx.err(key, "empty distribution"))?;
    let key = join(key, kind);
    let items = arg.as_array().ok_or_else(|| ctx.err(&key, "expected an array"))?;
    match kind.as_str() {
        "uniform" | "int_uniform" if items.len() != 2 => Err(ctx.err(&key, "expected [low, high]")),
        "uniform" => {
            let (lo, hi) = (finite_number(ctx, &key, &items[0])?, finite_number(ctx, &key, &items[1])?);
            if lo > hi {
                return Err(ctx.err(&key, format!("low {lo} is above high {hi}")));
            }
            Ok(RandomDist::Uniform(lo, hi))
        }
        "int_uniform" => match (&items[0], &items[1]) {
            (toml::Value::Integer(lo), toml::Value::Integer(hi)) if lo <= hi => Ok(RandomDist::IntUniform(*lo, *hi)),
            (toml::Value::Integer(lo), toml::Value::Integer(hi)) => {
                Err(ctx.err(&key, format!("low {lo} is above high {hi}")))
            }
            _ => Err(ctx.err(&key, "expected two integers")),
        },
        "choice" if items.is_empty() => Err(ctx.err(&key, "needs at least one value")),
        "choice" => {
            items.iter().try_for_each(|x| check_value(ctx, &key, x))?;
            Ok(RandomDist::Choice(items.clone()))
        }
        _ => Err(ctx.err(&key, "unknown distribution, expected uniform, int_uniform or choice")),
    }
}

fn grid_points(ctx: &Ctx, grid: &toml::Table) -> Result<Vec<Point>, SweepError> {
    let mut axes = Vec::new();
    flatten(grid, "", &|v| !v.is_table(), &mut axes);
    if axes.is_empty() {
        return Err(ctx.err("grid", "empty grid: give at least one key with a list of values"));
    }
    let mut total: u64 = 1;
    for (key, values) in &axes {
        let key_at = join("grid", key);
        ctx.check_param_key(key).map_err(|e| rekey(ctx, e, &key_at))?;
        let values = values.as_array().ok_or_else(|| {
            ctx.err(&key_at, format!("expected a list of values, found {}", crate::scenario::messages::kind_of(values)))
        })?;
        if values.is_empty() {
            return Err(ctx.err(&key_at, "empty list of values"));
        }
        values.iter().try_for_each(|v| check_value(ctx, &key_at, v))?;
        total = total.saturating_mul(values.len() as u64);
    }
    if total > MAX_RUNS {
        return Err(ctx.err("grid", format!("{total} points is more than the {MAX_RUNS}-run limit")));
    }
    let mut points = vec![Point::default()];
    for (key, values) in &axes {
        let values = values.as_array().map(Vec::as_slice).unwrap_or_default();
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.params.insert(key.clone(), v.clone());
                    q
                })
            })
            .collect();
    }
    Ok(points)
}

fn random_points(ctx: &Ctx, random: &toml::Value) -> Result<Vec<Point>, SweepError> {
    let t = ctx.table(random, "random")?;
    ctx.check_keys(t, "random", &["count", "seed", "params"])?;
    let count = ctx.uint(t.get("count"), "random.count", None)?;
    if count == 0 || count > MAX_RANDOM {
        return Err(ctx.err("random.count", format!("{count} samples: expected 1 to {MAX_RANDOM}")));
    }
    let seed = ctx.uint(t.get("seed"), "random.seed", Some(0))?;
    let params = ctx.table(
        t.get("params").ok_or_else(|| {
            ctx.err(
                "random.params",
                "missing table `params`: add [random.params] with the keys to draw and their ranges",
            )
        })?,
        "random.params",
    )?;
    let mut leaves = Vec::new();
    flatten(params, "", &|v| !v.is_table() || is_random_leaf(v), &mut leaves);
    if leaves.is_empty() {
        return Err(ctx.err("random.params", "no parameters to sample"));
    }
    let mut dists = BTreeMap::new();
    for (key, v) in &leaves {
        ctx.check_param_key(key).map_err(|e| rekey(ctx, e, &join("random.params", key)))?;
        dists.insert(key.clone(), random_dist(ctx, &join("random.params", key), v)?);
    }
    Ok(sample_random_points(seed, count, &dists))
}

fn explicit_points(ctx: &Ctx, points: &toml::Value) -> Result<Vec<Point>, SweepError> {
    let items = points.as_array().ok_or_else(|| ctx.err("points", "expected an array of tables ([[points]])"))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("points[{i}]");
        let mut pairs = Vec::new();
        flatten(ctx.table(item, &at)?, "", &|v| !v.is_table() || is_dist_table(v), &mut pairs);
        for (key, v) in &pairs {
            ctx.check_param_key(key).map_err(|e| rekey(ctx, e, &format!("{at}.{key}")))?;
            check_value(ctx, &format!("{at}.{key}"), v)?;
        }
        out.push(Point::new(pairs));
    }
    Ok(out)
}

fn scenario_error_reason(e: &ScenarioError) -> String {
    match e {
        ScenarioError::Invalid { path, reason, .. } => format!("{path}: {reason}"),
        ScenarioError::Override { error, .. } => error.to_string(),
        other => other.to_string(),
    }
}

impl Sweep {
    /// Loads and validates a sweep file (and every point against its base scenario).
    pub fn load(path: impl AsRef<Path>) -> Result<Sweep, SweepError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let plain = Ctx { file: &file, source: None };
        let text = std::fs::read_to_string(path)
            .map_err(|e| plain.err("", format!("cannot read: {}", crate::scenario::io_reason(&e))))?;
        let doc = parse_document(&text, &file).map_err(|e| match e {
            ScenarioError::Syntax { line, column, reason, .. } => SweepError::Spec {
                file: file.clone(),
                key: "".into(),
                reason: format!("TOML syntax error: {reason}"),
                location: Some((line, column)),
            },
            other => plain.err("", other.to_string()),
        })?;
        let ctx = Ctx { file: &file, source: SpanTree::parse(&text).ok().map(|t| (text.as_str(), t)) };
        let top = ctx.table(&doc, "(top level)")?;
        if top.contains_key("scenario") && !top.contains_key("sweep") {
            return Err(ctx.err(
                "scenario",
                "this is a scenario file, not a sweep: run it with `synmarket run <FILE>` (a sweep file has a \
                 [sweep] table naming its base scenario)",
            ));
        }
        ctx.check_keys(top, "", &["sweep", "fixed", "grid", "points", "random"])?;
        // TOML puts every key after a [table] header into that table: a [sweep] key written below
        // [fixed] or [grid] is not where the user thinks.
        for section in ["fixed", "grid", "random"] {
            if let Some(t) = top.get(section).and_then(|v| v.as_table())
                && let Some(k) = t.keys().find(|k| HEADER_KEYS.contains(&k.as_str()))
            {
                return Err(ctx.err(
                    join(section, k),
                    format!(
                        "`{k}` is a [sweep] key, but it comes after the [{section}] header, and TOML puts every key \
                         after a header into that table: move `{k}` up into [sweep]"
                    ),
                ));
            }
        }
        let head = ctx.table(top.get("sweep").ok_or_else(|| ctx.err("sweep", "required table"))?, "sweep")?;
        ctx.check_keys(head, "sweep", &HEADER_KEYS)?;

        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let name = match head.get("name") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(ctx.err(
                    "sweep.name",
                    format!("expected text in quotes, found {}", crate::scenario::messages::kind_of(other)),
                ));
            }
            None => stem,
        };
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ctx.err("sweep.name", format!("\"{name}\": use 1-64 of A-Z a-z 0-9 _ -")));
        }
        let scenario_ref = match head.get("scenario") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(_) => return Err(ctx.err("sweep.scenario", "expected a path in quotes, relative to this file")),
            None => return Err(ctx.err("sweep.scenario", "required: the base scenario, relative to this file")),
        };
        let scenario_path = path.parent().unwrap_or(Path::new("")).join(&scenario_ref);
        let range = format!("expected a whole number from 1 to {MAX_REPLICATIONS} (the seeded runs of each point)");
        let replications = match head.get("replications") {
            Some(toml::Value::Integer(i)) if *i < 1 => {
                return Err(ctx.err("sweep.replications", format!("{range}, found {i}")));
            }
            Some(toml::Value::String(s)) => {
                return Err(ctx.err(
                    "sweep.replications",
                    format!("{range}, found the text \"{s}\"{}", crate::scenario::messages::quoted_number_hint(s)),
                ));
            }
            v => ctx.uint(v, "sweep.replications", None)?,
        };
        if replications == 0 || replications > MAX_REPLICATIONS {
            return Err(ctx.err("sweep.replications", format!("{replications}: expected 1 to {MAX_REPLICATIONS}")));
        }
        let base_seed = ctx.uint(head.get("base_seed"), "sweep.base_seed", Some(0))?;
        let seed_mode = match head.get("seed_mode") {
            None => SeedMode::Common,
            Some(toml::Value::String(s)) if s == "common" => SeedMode::Common,
            Some(toml::Value::String(s)) if s == "independent" => SeedMode::Independent,
            Some(other) => {
                return Err(ctx.err("sweep.seed_mode", format!("{other}: expected \"common\" or \"independent\"")));
            }
        };

        let mut fixed = Vec::new();
        if let Some(f) = top.get("fixed") {
            flatten(ctx.table(f, "fixed")?, "", &|v| !v.is_table() || is_dist_table(v), &mut fixed);
            for (key, v) in &fixed {
                ctx.check_param_key(key).map_err(|e| rekey(&ctx, e, &join("fixed", key)))?;
                check_value(&ctx, &join("fixed", key), v)?;
            }
        }
        fixed.sort_by(|a, b| a.0.cmp(&b.0));

        let mut points = Vec::new();
        if let Some(g) = top.get("grid") {
            points.extend(grid_points(&ctx, ctx.table(g, "grid")?)?);
        }
        if let Some(p) = top.get("points") {
            points.extend(explicit_points(&ctx, p)?);
        }
        if let Some(r) = top.get("random") {
            points.extend(random_points(&ctx, r)?);
        }
        if points.is_empty() {
            return Err(ctx.err("", "no points: give a [grid], [[points]] or [random]"));
        }
        // A key is fixed or swept, never both (which value would win is not for the reader to guess).
        if let Some(key) = points.iter().flat_map(|p| p.params.keys()).find(|k| fixed.iter().any(|(f, _)| f == *k)) {
            let at = if top.get("grid").and_then(|g| g.get(key.as_str())).is_some() {
                join("grid", key)
            } else {
                join("fixed", key)
            };
            return Err(ctx.err(at, "is set in [fixed] and also swept: a key is either fixed or swept, not both"));
        }
        let mut by_id: BTreeMap<String, Point> = BTreeMap::new();
        for p in points {
            by_id.entry(p.id()).or_insert(p);
        }
        let points: Vec<Point> = by_id.into_values().collect();
        // `baseline = { "market.institution" = "first_accept" }`: the one point with these values.
        let baseline = match head.get("baseline") {
            None => None,
            Some(toml::Value::Table(t)) => {
                let mut want = Vec::new();
                flatten(t, "", &|v| !v.is_table() || is_dist_table(v), &mut want);
                let hits: Vec<&Point> =
                    points.iter().filter(|p| want.iter().all(|(k, v)| p.params.get(k) == Some(v))).collect();
                match hits.as_slice() {
                    [one] if !want.is_empty() => Some(one.id()),
                    [] => {
                        return Err(
                            ctx.err("sweep.baseline", "no point has these values: name the swept values of one point")
                        );
                    }
                    _ => {
                        return Err(ctx.err(
                            "sweep.baseline",
                            format!("{} points have these values: add keys until one point is named", hits.len()),
                        ));
                    }
                }
            }
            Some(_) => {
                return Err(ctx.err(
                    "sweep.baseline",
                    "expected a table of swept values naming one point, e.g. baseline = { \"market.fee_bps\" = 0 }",
                ));
            }
        };
        if baseline.is_some() && seed_mode != SeedMode::Common {
            return Err(ctx.err("sweep.baseline", "paired differences need seed_mode = \"common\""));
        }
        let runs = (points.len() as u64).saturating_mul(replications);
        if runs > MAX_RUNS {
            return Err(ctx.err("sweep.replications", format!("{runs} runs is more than the {MAX_RUNS}-run limit")));
        }

        let mut base = crate::scenario::read_document(&scenario_path).map_err(|e| {
            let hint = if scenario_path.exists() { "" } else { " (the path is relative to the sweep file)" };
            ctx.err("sweep.scenario", format!("base scenario: {e}{hint}"))
        })?;
        apply_overrides(&mut base, &fixed).map_err(|e| ctx.err("fixed", e.to_string()))?;
        let base_text = toml::to_string(&base).map_err(|e| ctx.err("sweep.scenario", e.to_string()))?;
        // The build is recorded and checked apart (`folder.rs`), so a new build gets its own
        // message instead of "a different definition".
        let fingerprint = hex_id(&format!("synmarket-sweep-v2\n{base_seed}\n{}\n{base_text}", seed_mode.as_str()));
        let sweep = Sweep {
            name,
            file: file.clone(),
            scenario_ref,
            scenario_path,
            replications,
            base_seed,
            seed_mode,
            fixed,
            base,
            points,
            baseline,
            fingerprint,
            text: text.clone(),
        };
        // A value that fails for every point is the fault of [fixed] or the base scenario, not of
        // the first point that meets it: blame where it is written.
        let blame = |point_err: SweepError| -> SweepError {
            let SweepError::Point { reason, .. } = &point_err else { return point_err };
            let mut doc = sweep.base.clone();
            if apply_overrides(&mut doc, &[("scenario.seed".to_string(), toml::Value::Integer(0))]).is_err() {
                return point_err;
            }
            let Err(base_err) = Scenario::from_value(&doc, &sweep.scenario_path.display().to_string()) else {
                return point_err;
            };
            if scenario_error_reason(&base_err) != *reason {
                return point_err;
            }
            let path = reason.split(": ").next().unwrap_or("");
            let culprit = sweep
                .fixed
                .iter()
                .filter(|(k, _)| path.starts_with(k.as_str()) || k.starts_with(path))
                .max_by_key(|(k, _)| k.len());
            match culprit {
                Some((key, value)) => {
                    let why = reason.split_once(": ").map_or(reason.as_str(), |x| x.1);
                    let hint = if value.is_array() {
                        "; a list in [fixed] sets the key to the list itself: to sweep over its values, move it to [grid]"
                    } else {
                        ""
                    };
                    ctx.err(join("fixed", key), format!("{why}{hint}"))
                }
                None => ctx.err("sweep.scenario", format!("the base scenario is invalid for every point: {base_err}")),
            }
        };
        for p in &sweep.points {
            sweep.scenario(p, 0).map_err(blame)?;
        }
        Ok(sweep)
    }

    /// The scenario of `point` with `seed`: the base (with `fixed`), the point's overrides, the
    /// seed; validated.
    pub fn scenario(&self, point: &Point, seed: u64) -> Result<Scenario, SweepError> {
        let fail = |reason: String| SweepError::Point {
            file: self.file.clone(),
            point_id: point.id(),
            point: point.canonical(),
            location: self.locate_point_key(point, &reason),
            reason,
        };
        let mut doc = self.base.clone();
        let seed_value = match i64::try_from(seed) {
            Ok(s) => toml::Value::Integer(s),
            Err(_) => toml::Value::String(seed.to_string()),
        };
        let mut overrides = point.overrides();
        overrides.push(("scenario.seed".into(), seed_value));
        apply_overrides(&mut doc, &overrides).map_err(|e| fail(e.to_string()))?;
        Scenario::from_value(&doc, &self.scenario_path.display().to_string())
            .map_err(|e| fail(scenario_error_reason(&e)))
    }

    /// Where in the sweep file the key of `point` that `reason` (a scenario error, `path: why`) is
    /// about is written.
    fn locate_point_key(&self, point: &Point, reason: &str) -> Option<(usize, usize)> {
        let path = match reason.strip_prefix("override `") {
            Some(rest) => rest.split('`').next()?,
            None => reason.split(": ").next()?,
        };
        let key = point
            .params
            .keys()
            .chain(self.fixed.iter().map(|(k, _)| k))
            .filter(|k| path.starts_with(k.as_str()) || k.starts_with(path))
            .max_by_key(|k| k.len())?;
        let tree = SpanTree::parse(&self.text).ok()?;
        let mut candidates = vec![format!("grid.{key}"), format!("fixed.{key}"), format!("random.params.{key}")];
        let written = toml::from_str::<toml::Table>(&self.text).ok()?;
        let explicit = written.get("points").and_then(|p| p.as_array()).map_or(0, Vec::len);
        candidates.extend((0..explicit).map(|i| format!("points[{i}].{key}")));
        candidates.iter().find_map(|c| tree.locate_dotted(&self.text, c))
    }

    /// Every key set by some point, sorted.
    pub fn param_keys(&self) -> Vec<String> {
        let keys: std::collections::BTreeSet<&String> = self.points.iter().flat_map(|p| p.params.keys()).collect();
        keys.into_iter().cloned().collect()
    }
}
