//! Running a shard of a sweep: a local rayon pool of N threads, one simulation per thread,
//! resumable, every file written atomically.
//!
//! A run writes `point=<id>/run-<id>.timeseries.parquet` and then `point=<id>/run-<id>.parquet`
//! (its one-row summary); the summary file is the "done" marker, so a run killed between the two
//! is simply redone. Each row carries `run_id`, `point_id`, `replication`, `seed` and the point's
//! own parameters (numbers as f64), then the metric columns of `metrics::compute` (columns of the
//! metrics tables whose names collide with these are dropped: `seed` is the same value). A run's
//! files depend only on the sweep's fingerprint, its point and its replication: never on other
//! points, the shard layout or the thread count.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::{Column, DataFrame};
use rayon::prelude::*;

use super::SweepError;
use super::plan::{IDENTITY_COLUMNS, Plan, RunSpec, identity_columns, param_columns, plan_frame};
use super::point::Point;
use super::shard::Shard;
use super::spec::Sweep;
use crate::io::{write_atomic, write_parquet_atomic};

/// How to run a shard.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output root (the sweep goes to `<out>/<sweep name>/`).
    pub out: PathBuf,
    /// This process's shard.
    pub shard: Shard,
    /// Threads of the local pool.
    pub threads: usize,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// What a shard did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Runs in the whole sweep.
    pub total_runs: usize,
    /// Runs of this shard.
    pub shard_runs: usize,
    /// Runs skipped because their file existed.
    pub skipped: usize,
    /// Runs simulated now.
    pub ran: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// `<out>/<sweep name>`.
pub fn sweep_dir(out: &Path, sweep: &Sweep) -> PathBuf {
    out.join(&sweep.name)
}

/// The resolved sweep as TOML (`_sweep.toml`).
pub fn resolved_toml(sweep: &Sweep, runs: usize) -> String {
    let mut head = toml::Table::new();
    head.insert("name".into(), sweep.name.clone().into());
    head.insert("scenario".into(), sweep.scenario_ref.clone().into());
    head.insert("replications".into(), toml::Value::Integer(sweep.replications as i64));
    head.insert("base_seed".into(), sweep.base_seed.to_string().into());
    head.insert("seed_mode".into(), sweep.seed_mode.name().into());
    head.insert("fingerprint".into(), sweep.fingerprint.clone().into());
    head.insert("synmarket_version".into(), env!("CARGO_PKG_VERSION").into());
    head.insert("points".into(), toml::Value::Integer(sweep.points.len() as i64));
    head.insert("runs".into(), toml::Value::Integer(runs as i64));
    let mut fixed = toml::Table::new();
    for (k, v) in &sweep.fixed {
        fixed.insert(k.clone(), v.clone());
    }
    let points: Vec<toml::Value> = sweep
        .points
        .iter()
        .map(|p| {
            let mut t = toml::Table::new();
            t.insert("id".into(), p.id().into());
            t.insert("canonical".into(), p.canonical().into());
            t.insert(
                "params".into(),
                toml::Value::Table(p.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            );
            toml::Value::Table(t)
        })
        .collect();
    let mut doc = toml::Table::new();
    doc.insert("sweep".into(), toml::Value::Table(head));
    doc.insert("fixed".into(), toml::Value::Table(fixed));
    doc.insert("point".into(), toml::Value::Array(points));
    let body = toml::to_string(&doc).unwrap_or_default();
    format!("# Resolved sweep written by `synmarket sweep run` (seeds and ids: src/sweep/plan.rs).\n{body}")
}

/// Refuses a folder written for another fingerprint.
fn check_fingerprint(dir: &Path, sweep: &Sweep) -> Result<(), SweepError> {
    let path = dir.join("_sweep.toml");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(()) };
    let existing = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|t| t.get("sweep")?.get("fingerprint")?.as_str().map(str::to_string));
    match existing {
        Some(f) if f == sweep.fingerprint => Ok(()),
        Some(f) => Err(SweepError::Fingerprint {
            dir: dir.to_path_buf(),
            reason: format!(
                "fingerprint {f} there, {} here: base scenario, [fixed], base_seed, seed_mode or version differ",
                sweep.fingerprint
            ),
        }),
        None => Err(SweepError::Fingerprint { dir: dir.to_path_buf(), reason: "its _sweep.toml is unreadable".into() }),
    }
}

/// Writes `_sweep.toml` and `_plan.parquet` (identical bytes from every shard).
pub(crate) fn write_plan_files(dir: &Path, sweep: &Sweep, plan: &Plan) -> Result<(), SweepError> {
    write_atomic(dir.join("_sweep.toml"), resolved_toml(sweep, plan.runs.len()).as_bytes())?;
    write_parquet_atomic(dir.join("_plan.parquet"), &mut plan_frame(sweep, plan)?)?;
    Ok(())
}

/// Runs this shard's missing runs (see the module header).
pub fn run_shard(sweep: &Sweep, opts: &RunOptions) -> Result<RunOutcome, SweepError> {
    let started = Instant::now();
    let dir = sweep_dir(&opts.out, sweep);
    check_fingerprint(&dir, sweep)?;
    let plan = Plan::new(sweep);
    write_plan_files(&dir, sweep, &plan)?;
    let mine = plan.shard(opts.shard);
    let todo: Vec<&RunSpec> = mine.iter().copied().filter(|r| !dir.join(r.summary_file()).is_file()).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .thread_name(|i| format!("sweep-{i}"))
        .build()
        .map_err(|e| SweepError::Shard(format!("cannot start {} threads: {e}", opts.threads)))?;
    let bar = if opts.progress && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(todo.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} runs, {elapsed} elapsed, eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{} shard {}", sweep.name, opts.shard));
        bar
    } else {
        ProgressBar::hidden()
    };
    let failed: Vec<(String, String)> = pool.install(|| {
        todo.par_iter()
            .with_max_len(1)
            .filter_map(|run| {
                let result = run_one(sweep, &dir, run);
                bar.inc(1);
                result.err().map(|e| (run.run_id.clone(), e.to_string()))
            })
            .collect()
    });
    bar.finish_and_clear();
    if !failed.is_empty() {
        return Err(SweepError::Runs { total: todo.len(), failed });
    }
    Ok(RunOutcome {
        dir,
        total_runs: plan.runs.len(),
        shard_runs: mine.len(),
        skipped: mine.len() - todo.len(),
        ran: todo.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `height` rows of a run's identity and parameter columns.
fn key_columns(run: &RunSpec, point: &Point, height: usize) -> Vec<Column> {
    let runs = vec![run; height];
    let mut cols = identity_columns(&runs);
    let keys: Vec<String> = point.params.keys().cloned().collect();
    cols.extend(param_columns(&keys, &vec![point; height]));
    cols
}

/// `keys` then the columns of `table` whose names are not among them.
fn with_keys(keys: Vec<Column>, table: &DataFrame, name: &str) -> Result<DataFrame, SweepError> {
    let taken: Vec<String> = keys.iter().map(|c| c.name().to_string()).collect();
    let mut cols = keys;
    cols.extend(table.columns().iter().filter(|c| !taken.iter().any(|t| t == c.name().as_str())).cloned());
    DataFrame::new_infer_height(cols).map_err(|e| SweepError::table(name, e))
}

/// One run: scenario → simulation → metrics → two files.
fn run_one(sweep: &Sweep, dir: &Path, run: &RunSpec) -> Result<(), SweepError> {
    let point = sweep.points.get(run.point_index).ok_or_else(|| SweepError::Shard("internal: point index".into()))?;
    let scenario = sweep.scenario(point, run.seed)?;
    let fail = |reason: String| SweepError::Point {
        file: sweep.file.clone(),
        point_id: run.point_id.clone(),
        point: format!("{}, replication {}, seed {}", point.canonical(), run.replication, run.seed),
        reason,
    };
    let result = crate::run::simulate(&scenario, &mut |_| {}).map_err(|e| fail(format!("simulation failed: {e}")))?;
    let metrics = crate::metrics::compute(&scenario, &result).map_err(|e| fail(format!("metrics: {e:#}")))?;
    let ts = &metrics.timeseries;
    let mut timeseries = with_keys(key_columns(run, point, ts.height()), ts, "timeseries")?;
    write_parquet_atomic(dir.join(run.timeseries_file()), &mut timeseries)?;
    let mut summary = with_keys(key_columns(run, point, 1), &metrics.summary, "summary")?;
    if summary.height() != 1 {
        return Err(fail(format!("metrics summary has {} rows, expected 1", summary.height())));
    }
    write_parquet_atomic(dir.join(run.summary_file()), &mut summary)?;
    Ok(())
}

/// Names that are never metrics in a run summary (identity and parameter columns).
pub(crate) fn is_key_column(name: &str, params: &[String]) -> bool {
    IDENTITY_COLUMNS.contains(&name) || params.iter().any(|p| p == name)
}
