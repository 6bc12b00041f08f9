//! Running a shard of a sweep: a fixed set of worker threads, each taking the next missing run,
//! simulating it and committing its files before it takes another; resumable; every file
//! written atomically.
//!
//! A run writes `point=<id>/run-<id>.timeseries.parquet` and then `point=<id>/run-<id>.parquet`
//! (its one-row summary), each by rename; a run is done when both are there as whole Parquet
//! files (`RunSpec::is_done`), so a run killed between the two, or a file damaged later, is
//! simply redone. Each row carries `run_id`, `point_id`, `replication`, `seed` and the point's
//! own parameters (numbers as f64), then the metric columns of `metrics::compute` (columns of the
//! metrics tables whose names collide with these are dropped: `seed` is the same value). A run's
//! files depend only on the sweep's fingerprint, its point and its replication: never on other
//! points, the shard layout or the thread count.
//!
//! Decisions (threads and memory):
//! - The workers are plain scoped threads (`sweep-0`, `sweep-1`, …) pulling run positions from
//!   one atomic counter, not a rayon pool. A rayon worker that waits on another pool (polars
//!   encodes on its own rayon pool) steals queued work of its own pool meanwhile, so every run
//!   used to start inside the previous run's unfinished write: the stack grew with each run
//!   until it overflowed, no file was committed before the shard unwound, and memory grew by a
//!   run's worth of data per run. A plain thread that waits simply blocks.
//! - Parquet files are encoded on the worker's own thread (`io::write_parquet_serial_atomic`,
//!   the same bytes): the workers already keep every core busy, and no worker waits on polars'
//!   pool to write. Polars may still use its pool inside a run's table building; a worker that
//!   calls it blocks until it returns, so no run ever starts inside another.
//! - So at most `threads` runs are in memory at once, each committed before its thread takes the
//!   next: a shard's peak memory is threads × one run, whatever its length (BENCHMARKS.md,
//!   "Sweep scale"). The progress bar counts committed runs.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::{Column, DataFrame};

use super::SweepError;
use super::folder::{check, remove_stale_temps, write_plan_files};
use super::plan::{IDENTITY_COLUMNS, Plan, RunSpec, identity_columns, param_columns};
use super::point::Point;
use super::shard::Shard;
use super::spec::Sweep;
use crate::output::{check_output_dir, write_parquet_serial_atomic};

/// How to run a shard.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output root (the sweep goes to `<out>/<sweep name>/`).
    pub out: PathBuf,
    /// This process's shard.
    pub shard: Shard,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Add runs to a folder that another build wrote (`--allow-build-change`); the builds are
    /// then all listed in `_sweep.toml`.
    pub allow_build_change: bool,
}

impl RunOptions {
    /// Options for `out`, `shard` and `threads`, without a progress bar or a build change.
    pub fn new(out: impl Into<PathBuf>, shard: Shard, threads: usize) -> RunOptions {
        RunOptions { out: out.into(), shard, threads, progress: false, allow_build_change: false }
    }
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
    /// Temporary files of killed processes removed at the start.
    pub stale_removed: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// `<out>/<sweep name>`.
pub fn sweep_dir(out: &Path, sweep: &Sweep) -> PathBuf {
    out.join(&sweep.name)
}

fn progress_bar(len: usize, message: String, enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {pos}/{len} runs committed, {elapsed} elapsed, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// Runs this shard's missing runs (see the module header).
///
/// Errors: a bad thread count, an output folder that cannot be written, a folder of another
/// definition or (unless allowed) another build, and runs that failed (the others are committed).
pub fn run_shard(sweep: &Sweep, opts: &RunOptions) -> Result<RunOutcome, SweepError> {
    let started = Instant::now();
    if opts.threads == 0 {
        return Err(SweepError::Shard("--threads must be at least 1".into()));
    }
    let dir = sweep_dir(&opts.out, sweep);
    check_output_dir(&dir)?;
    let builds = check(&dir, sweep, opts.allow_build_change, true)?;
    let plan = Plan::new(sweep);
    write_plan_files(&dir, sweep, &plan, &builds)?;
    let mine = plan.shard(opts.shard);
    let stale_removed = remove_stale_temps(&dir, &mine, opts.shard.count == 1);
    let todo: Vec<&RunSpec> = mine.iter().copied().filter(|r| !r.is_done(&dir)).collect();
    let bar = progress_bar(todo.len(), format!("{} shard {}", sweep.name, opts.shard), opts.progress);
    let next = AtomicUsize::new(0);
    let failed: Mutex<Vec<(usize, String, String)>> = Mutex::new(Vec::new());
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(run) = todo.get(i) else { break };
            match run_one(sweep, &dir, run) {
                Ok(()) => bar.inc(1),
                Err(e) => {
                    if let Ok(mut f) = failed.lock() {
                        f.push((i, run.run_id.clone(), e.to_string()));
                    }
                }
            }
        }
    };
    let workers = opts.threads.min(todo.len()).max(1);
    std::thread::scope(|scope| -> Result<(), SweepError> {
        let mut handles = Vec::with_capacity(workers);
        for k in 0..workers {
            let spawned = std::thread::Builder::new().name(format!("sweep-{k}")).spawn_scoped(scope, worker);
            match spawned {
                Ok(h) => handles.push(h),
                // Stop handing out runs; the workers already started finish theirs.
                Err(e) => {
                    next.store(todo.len(), Ordering::Relaxed);
                    return Err(SweepError::Shard(format!("cannot start {} threads: {e}", opts.threads)));
                }
            }
        }
        for h in handles {
            if h.join().is_err() {
                return Err(SweepError::Shard("internal: a sweep worker panicked".into()));
            }
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let mut failed = failed.into_inner().unwrap_or_default();
    if !failed.is_empty() {
        failed.sort();
        return Err(SweepError::Runs {
            total: todo.len(),
            failed: failed.into_iter().map(|(_, id, e)| (id, e)).collect(),
        });
    }
    Ok(RunOutcome {
        dir,
        total_runs: plan.runs.len(),
        shard_runs: mine.len(),
        skipped: mine.len() - todo.len(),
        ran: todo.len(),
        stale_removed,
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

/// One run: scenario → simulation → metrics → three files (the summary last: it marks the run done).
fn run_one(sweep: &Sweep, dir: &Path, run: &RunSpec) -> Result<(), SweepError> {
    let point = sweep.points.get(run.point_index).ok_or_else(|| SweepError::Shard("internal: point index".into()))?;
    let scenario = sweep.scenario(point, run.seed)?;
    let fail = |reason: String| SweepError::Point {
        file: sweep.file.clone(),
        point_id: run.point_id.clone(),
        point: format!("{}, replication {}, seed {}", point.canonical(), run.replication, run.seed),
        reason,
        location: None,
    };
    let result = crate::run::simulate(&scenario, &mut |_| {}).map_err(|e| fail(format!("simulation failed: {e}")))?;
    let metrics = crate::metrics::compute(&scenario, &result).map_err(|e| fail(format!("metrics: {e:#}")))?;
    let ts = &metrics.timeseries;
    let mut timeseries = with_keys(key_columns(run, point, ts.height()), ts, "timeseries")?;
    write_parquet_serial_atomic(dir.join(run.timeseries_file()), &mut timeseries)?;
    let pd = &metrics.price_discovery;
    let mut periods = with_keys(key_columns(run, point, pd.height()), pd, "periods")?;
    write_parquet_serial_atomic(dir.join(run.periods_file()), &mut periods)?;
    let mut summary = with_keys(key_columns(run, point, 1), &metrics.summary, "summary")?;
    if summary.height() != 1 {
        return Err(fail(format!("metrics summary has {} rows, expected 1", summary.height())));
    }
    write_parquet_serial_atomic(dir.join(run.summary_file()), &mut summary)?;
    Ok(())
}

/// Names that are never metrics in a run summary (identity and parameter columns).
pub(crate) fn is_key_column(name: &str, params: &[String]) -> bool {
    IDENTITY_COLUMNS.contains(&name) || params.iter().any(|p| p == name)
}
