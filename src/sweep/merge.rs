//! Completeness (`sweep status`) and aggregation (`sweep merge`) of a sweep's run files.
//!
//! Merge refuses an incomplete sweep (naming missing files) and writes, in the sweep folder:
//! - `runs.parquet`: one row per run in canonical order: identity, every parameter (the plan's
//!   column types), every metric as f64 (null when undefined);
//! - `summary.parquet`: one row per (point, metric), points in canonical order and metrics in the
//!   summary's column order: `point_id`, parameters, `metric`, `n`, `mean`, `sd`, `ci_low`,
//!   `ci_high` (95 % Student-t);
//! - `paired.parquet` (`seed_mode = "common"` only): per (point ≠ baseline, metric) the paired
//!   differences point − baseline over replications: `point_id`, `baseline_point_id`, parameters,
//!   `metric`, `n`, `mean_diff`, `sd_diff`, `ci_low`, `ci_high`. The baseline is `--baseline` or
//!   the first point in parameter order (smallest values first, `point::parameter_order`);
//! - the charts and `report.html` / `report.md` (`report.rs`).
//!
//! Metrics are the numeric columns of the first run's summary file other than identity and
//! parameter columns; every run must have them. Everything is a pure function of the run files,
//! so merging the output of any shard layout gives byte-identical tables.

use std::path::{Path, PathBuf};

use polars::prelude::{Column, DataFrame, DataType, NamedFrom, Series};

use super::exec::{is_key_column, sweep_dir};
use super::folder::{BuildRecord, check, remove_stale_shared_temps, write_plan_files};
use super::merged::Merged;
use super::plan::{Plan, RunSpec, identity_columns, param_columns};
use super::point::{Point, display_order};
use super::spec::{SeedMode, Sweep};
use super::stats::{
    Interval, bounded_t_interval, is_binary, is_share, paired_differences, summary_interval, t_interval,
};
use super::{SweepError, column};
use crate::output::{read_parquet, write_parquet_atomic};

/// Which runs of a sweep are done.
#[derive(Debug, Clone)]
pub struct Status {
    /// The sweep folder.
    pub dir: PathBuf,
    /// The plan.
    pub plan: Plan,
    /// Positions (in the canonical list) of the runs whose summary file is missing.
    pub missing: Vec<usize>,
    /// The builds that wrote runs there (`_sweep.toml`), in order.
    pub builds: Vec<BuildRecord>,
}

impl Status {
    /// Whether runs there were written by a build other than this one: resuming with this
    /// binary is then refused unless `--allow-build-change`.
    pub fn written_by_another_build(&self) -> bool {
        self.builds.iter().any(|b| b.id != crate::build_id::BUILD.id)
    }

    /// Runs done.
    pub fn done(&self) -> usize {
        self.plan.runs.len() - self.missing.len()
    }

    /// The shard indices (of `n`) that own a missing run, ascending.
    pub fn shards_to_resubmit(&self, n: usize) -> Vec<usize> {
        let set: std::collections::BTreeSet<usize> = self.missing.iter().map(|&i| Plan::shard_of(i, n)).collect();
        set.into_iter().collect()
    }

    /// The missing runs.
    pub fn missing_runs(&self) -> impl Iterator<Item = &RunSpec> {
        self.missing.iter().filter_map(|&i| self.plan.runs.get(i))
    }

    /// For each missing run, the first of its files that is missing or damaged, relative to the
    /// sweep folder: what `sweep status` lists and a refused merge names, the same file in both.
    pub fn missing_files(&self) -> impl Iterator<Item = String> + '_ {
        self.missing_runs().map(|r| r.first_missing_file(&self.dir).unwrap_or_else(|| r.summary_file()))
    }
}

/// The status of `sweep` under `out`. Errors: the folder holds runs of another definition
/// (their files would be counted as this sweep's).
pub fn status(sweep: &Sweep, out: &Path) -> Result<Status, SweepError> {
    let dir = sweep_dir(out, sweep);
    crate::output::existing_folder(&dir)?;
    let builds = check(&dir, sweep, false, false)?;
    let plan = Plan::new(sweep);
    let missing = plan.runs.iter().enumerate().filter(|(_, r)| !r.is_done(&dir)).map(|(i, _)| i).collect();
    Ok(Status { dir, plan, missing, builds })
}

/// What merge wrote.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Files written, relative to it.
    pub files: Vec<String>,
    /// Metric names.
    pub metrics: Vec<String>,
    /// The baseline of the paired differences, when written.
    pub baseline: Option<String>,
}

fn f64_values(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<Option<f64>>, SweepError> {
    let bad = |reason: String| SweepError::BadRunFile { path: path.to_path_buf(), reason };
    let col = df.column(name).map_err(|_| bad(format!("no metric column `{name}` (a file of another version?)")))?;
    let cast = col.cast(&DataType::Float64).map_err(|e| bad(format!("column `{name}` is not numeric: {e}")))?;
    let ca = cast.f64().map_err(|e| bad(e.to_string()))?;
    Ok(ca.iter().map(|v| v.filter(|x| x.is_finite())).collect())
}

fn read_runs<'a>(sweep: &'a Sweep, dir: &Path, plan: Plan) -> Result<Merged<'a>, SweepError> {
    let params = sweep.param_keys();
    let mut metrics: Vec<String> = Vec::new();
    let mut values: Vec<Vec<Option<f64>>> = Vec::new();
    for (i, run) in plan.runs.iter().enumerate() {
        let path = dir.join(run.summary_file());
        let df = read_parquet(&path)?;
        if df.height() != 1 {
            return Err(SweepError::BadRunFile { path, reason: format!("{} rows, expected 1", df.height()) });
        }
        let id_ok = df.column("run_id").ok().and_then(|c| c.str().ok()?.get(0).map(|s| s == run.run_id));
        if id_ok != Some(true) {
            return Err(SweepError::BadRunFile { path, reason: format!("its run_id is not {}", run.run_id) });
        }
        if i == 0 {
            metrics = df
                .columns()
                .iter()
                .filter(|c| c.dtype().is_primitive_numeric() && !is_key_column(c.name(), &params))
                .map(|c| c.name().to_string())
                .collect();
            values = vec![Vec::with_capacity(plan.runs.len()); metrics.len()];
        }
        for (m, name) in metrics.iter().enumerate() {
            let v = f64_values(&df, name, &path)?;
            values[m].push(v.first().copied().flatten());
        }
    }
    let by_point = |m: usize, p: usize| -> Vec<Option<f64>> {
        plan.runs.iter().zip(&values[m]).filter(|(r, _)| r.point_index == p).map(|(_, v)| *v).collect()
    };
    let summary = (0..sweep.points.len())
        .map(|p| {
            (0..metrics.len())
                .map(|m| summary_interval(&metrics[m], &by_point(m, p).into_iter().flatten().collect::<Vec<_>>()))
                .collect()
        })
        .collect();
    Ok(Merged { sweep, plan, metrics, values, summary, paired: None, builds: Vec::new() })
}

fn pair_up(merged: &mut Merged, baseline: usize) {
    let n_points = merged.sweep.points.len();
    let per_point = |m: usize, p: usize| -> Vec<Option<f64>> {
        // Replication-indexed values of point p (runs are sorted by replication within a point).
        merged.plan.runs.iter().zip(&merged.values[m]).filter(|(r, _)| r.point_index == p).map(|(_, v)| *v).collect()
    };
    let paired = (0..n_points)
        .map(|p| {
            (p != baseline).then(|| {
                (0..merged.metrics.len())
                    .map(|m| {
                        let diffs = paired_differences(&per_point(m, p), &per_point(m, baseline));
                        let all: Vec<f64> = merged.values[m].iter().flatten().copied().collect();
                        if is_share(&merged.metrics[m]) && is_binary(&all) {
                            bounded_t_interval(&diffs, -1.0, 1.0)
                        } else {
                            t_interval(&diffs)
                        }
                    })
                    .collect()
            })
        })
        .collect();
    merged.paired = Some((baseline, paired));
}

/// Per-period metrics whose cross-seed intervals `periods.parquet` holds (columns of a run's
/// `price_discovery` table, docs/metrics.md).
pub const PERIOD_METRICS: [&str; 7] = [
    "smith_alpha",
    "allocative_efficiency",
    "allocative_efficiency_constrained",
    "vwap",
    "p_star",
    "trades",
    "volume_units",
];

/// (point index, period, task type position, metric index) of `periods.parquet`.
type PeriodKey = (usize, i64, usize, usize);

/// `periods.parquet`: per (point, period, task type, metric) the Student-t 95 % interval over the
/// replications that define the value (a period without trades has no alpha or VWAP), so alpha
/// and efficiency by period get cross-seed intervals from one sweep. Rows in point display order,
/// then period, task type (as the run tables order them) and [`PERIOD_METRICS`] order.
fn periods_frame(merged: &Merged, dir: &Path) -> Result<DataFrame, SweepError> {
    use std::collections::BTreeMap;
    let sweep = merged.sweep;
    // (point, period, task type position, metric) -> values; task types keep first-seen order.
    let mut values: BTreeMap<PeriodKey, Vec<f64>> = BTreeMap::new();
    let mut task_types: Vec<String> = Vec::new();
    for run in &merged.plan.runs {
        let path = dir.join(run.periods_file());
        let df = read_parquet(&path)?;
        let bad = |reason: String| SweepError::BadRunFile { path: path.clone(), reason };
        let period = df.column("period").map_err(|_| bad("no column `period`".into()))?;
        let period = period.cast(&DataType::Int64).map_err(|e| bad(e.to_string()))?;
        let period = period.i64().map_err(|e| bad(e.to_string()))?;
        let tt = df.column("task_type").map_err(|_| bad("no column `task_type`".into()))?;
        let tt = tt.str().map_err(|e| bad(e.to_string()))?;
        let cols: Vec<Vec<Option<f64>>> =
            PERIOD_METRICS.iter().map(|m| f64_values(&df, m, &path)).collect::<Result<_, _>>()?;
        for row in 0..df.height() {
            let (Some(p), Some(t)) = (period.get(row), tt.get(row)) else { continue };
            let ti = match task_types.iter().position(|x| x == t) {
                Some(i) => i,
                None => {
                    task_types.push(t.to_string());
                    task_types.len() - 1
                }
            };
            for (m, col) in cols.iter().enumerate() {
                if let Some(v) = col[row] {
                    values.entry((run.point_index, p, ti, m)).or_default().push(v);
                }
            }
        }
    }
    let rank: Vec<usize> = {
        let order = display_order(&sweep.points);
        let mut r = vec![0; order.len()];
        for (pos, &p) in order.iter().enumerate() {
            r[p] = pos;
        }
        r
    };
    let mut rows: Vec<(&PeriodKey, &Vec<f64>)> = values.iter().collect();
    rows.sort_by_key(|((p, period, t, m), _)| (rank[*p], *period, *t, *m));
    let (mut ids, mut points, mut periods, mut tts, mut metrics) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut n, mut mean, mut sd, mut lo, mut hi) = (vec![], vec![], vec![], vec![], vec![]);
    for ((p, period, t, m), v) in rows {
        let iv = t_interval(v);
        ids.push(sweep.points[*p].id());
        points.push(sweep.points[*p].label());
        periods.push(*period);
        tts.push(task_types[*t].clone());
        metrics.push(PERIOD_METRICS[*m].to_string());
        n.push(iv.n);
        mean.push(iv.mean);
        sd.push(iv.sd);
        lo.push(iv.low);
        hi.push(iv.high);
    }
    let cols = vec![
        Column::new(column::POINT_ID.into(), ids),
        Column::new("point".into(), points),
        Column::new("period".into(), periods),
        Column::new("task_type".into(), tts),
        Column::new(column::METRIC.into(), metrics),
        Column::new("n".into(), n),
        opt_col("mean", mean),
        opt_col("sd", sd),
        opt_col("ci_low", lo),
        opt_col("ci_high", hi),
    ];
    DataFrame::new_infer_height(cols).map_err(|e| SweepError::table("periods", e))
}

fn opt_col(name: &str, v: Vec<Option<f64>>) -> Column {
    Column::from(Series::new(name.into(), v))
}

fn summary_frame(merged: &Merged, paired: bool) -> Result<Option<DataFrame>, SweepError> {
    let sweep = merged.sweep;
    let table = if paired { "paired" } else { "summary" };
    let mut rows: Vec<(usize, usize, Interval)> = Vec::new();
    for p in 0..sweep.points.len() {
        let ivs = if paired {
            match merged.paired.as_ref().and_then(|(_, v)| v.get(p).cloned().flatten()) {
                Some(v) => v,
                None => continue,
            }
        } else {
            merged.summary[p].clone()
        };
        rows.extend(ivs.into_iter().enumerate().map(|(m, iv)| (p, m, iv)));
    }
    if paired && merged.paired.is_none() {
        return Ok(None);
    }
    let points: Vec<&Point> = rows.iter().filter_map(|(p, _, _)| sweep.points.get(*p)).collect();
    let ids: Vec<String> = points.iter().map(|p| p.id()).collect();
    let mut cols = vec![Column::from(Series::new(column::POINT_ID.into(), ids))];
    if let Some((b, _)) = merged.paired.as_ref().filter(|_| paired) {
        let base = sweep.points.get(*b).map(|p| p.id()).unwrap_or_default();
        cols.push(Column::from(Series::new(column::BASELINE_POINT_ID.into(), vec![base; rows.len()])));
    }
    cols.extend(param_columns(&sweep.param_keys(), &points));
    let names: Vec<&str> = rows.iter().map(|(_, m, _)| merged.metrics[*m].as_str()).collect();
    cols.push(Column::from(Series::new(column::METRIC.into(), names)));
    cols.push(Column::from(Series::new(column::N.into(), rows.iter().map(|r| r.2.n).collect::<Vec<u64>>())));
    let (mean, sd) = if paired { (column::MEAN_DIFF, column::SD_DIFF) } else { (column::MEAN, column::SD) };
    cols.push(opt_col(mean, rows.iter().map(|r| r.2.mean).collect()));
    cols.push(opt_col(sd, rows.iter().map(|r| r.2.sd).collect()));
    cols.push(opt_col(column::CI_LOW, rows.iter().map(|r| r.2.low).collect()));
    cols.push(opt_col(column::CI_HIGH, rows.iter().map(|r| r.2.high).collect()));
    DataFrame::new_infer_height(cols).map(Some).map_err(|e| SweepError::table(table, e))
}

fn runs_frame(merged: &Merged) -> Result<DataFrame, SweepError> {
    let runs: Vec<&RunSpec> = merged.plan.runs.iter().collect();
    let points: Vec<&Point> = runs.iter().filter_map(|r| merged.sweep.points.get(r.point_index)).collect();
    let mut cols = identity_columns(&runs);
    cols.extend(param_columns(&merged.sweep.param_keys(), &points));
    for (m, name) in merged.metrics.iter().enumerate() {
        cols.push(opt_col(name, merged.values[m].clone()));
    }
    DataFrame::new_infer_height(cols).map_err(|e| SweepError::table("runs", e))
}

/// `_merge.toml`: the files the last merge wrote. The next merge removes those of them it does
/// not write again (charts of a parameter that is gone, `paired.parquet` after the seed mode
/// changed), and nothing else: files that people put in the sweep folder are never touched.
const MERGE_RECORD: &str = "_merge.toml";

fn remove_files_of_last_merge(dir: &Path, written: &[String]) -> Result<(), SweepError> {
    let record = dir.join(MERGE_RECORD);
    let previous: Vec<String> = std::fs::read_to_string(&record)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .and_then(|t| t.get("files")?.as_array().cloned())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    for old in previous.iter().filter(|f| !written.contains(f)) {
        // Only names a merge writes: a hand-edited record cannot point outside the folder.
        if !old.contains("..") && !Path::new(old).is_absolute() {
            let _ = std::fs::remove_file(dir.join(old));
        }
    }
    let mut t = toml::Table::new();
    t.insert("files".into(), toml::Value::Array(written.iter().map(|f| toml::Value::from(f.as_str())).collect()));
    let text =
        format!("# Files written by the last `synmarket sweep merge`.\n{}", toml::to_string(&t).unwrap_or_default());
    crate::output::write_atomic(record, text.as_bytes())?;
    Ok(())
}

/// Merges a complete sweep (see the module header). `baseline`: a point id for the paired
/// differences (default: the first point in parameter order, `point::parameter_order`).
pub fn merge(sweep: &Sweep, out: &Path, baseline: Option<&str>) -> Result<MergeOutcome, SweepError> {
    let st = status(sweep, out)?;
    if !st.missing.is_empty() {
        let examples: Vec<String> = st.missing_files().take(3).collect();
        return Err(SweepError::Incomplete {
            dir: st.dir.clone(),
            missing: st.missing.len(),
            total: st.plan.runs.len(),
            examples: examples.join(", "),
        });
    }
    let baseline_index = match baseline.or(sweep.baseline.as_deref()) {
        Some(id) if sweep.seed_mode != SeedMode::Common => {
            return Err(SweepError::Spec {
                file: sweep.file.clone(),
                key: "sweep.seed_mode".into(),
                reason: format!("--baseline {id}: paired differences need seed_mode = \"common\""),
                location: None,
            });
        }
        Some(id) => Some(sweep.points.iter().position(|p| p.id() == id).ok_or_else(|| SweepError::Spec {
            file: sweep.file.clone(),
            key: "--baseline".into(),
            reason: format!("no point has id {id}; ids are listed in _sweep.toml and by `sweep plan`"),
            location: None,
        })?),
        None if sweep.seed_mode == SeedMode::Common && sweep.points.len() > 1 => {
            display_order(&sweep.points).first().copied()
        }
        None => None,
    };
    let dir = st.dir.clone();
    let builds = check(&dir, sweep, false, false)?;
    remove_stale_shared_temps(&dir);
    write_plan_files(&dir, sweep, &st.plan, &builds)?;
    let mut merged = read_runs(sweep, &dir, st.plan)?;
    merged.builds = builds.clone();
    if let Some(b) = baseline_index {
        pair_up(&mut merged, b);
    }
    let mut files = vec!["runs.parquet".to_string(), "summary.parquet".to_string()];
    write_parquet_atomic(dir.join("runs.parquet"), &mut runs_frame(&merged)?)?;
    if let Some(mut df) = summary_frame(&merged, false)? {
        write_parquet_atomic(dir.join("summary.parquet"), &mut df)?;
    }
    if let Some(mut df) = summary_frame(&merged, true)? {
        write_parquet_atomic(dir.join("paired.parquet"), &mut df)?;
        files.push("paired.parquet".into());
    }
    write_parquet_atomic(dir.join("periods.parquet"), &mut periods_frame(&merged, &dir)?)?;
    files.push("periods.parquet".into());
    files.extend(crate::output::sweep_report::write_report(&dir, &merged)?);
    remove_files_of_last_merge(&dir, &files)?;
    let baseline = merged.paired.as_ref().and_then(|(b, _)| sweep.points.get(*b)).map(|p| p.id());
    Ok(MergeOutcome { dir, files, metrics: merged.metrics, baseline })
}
