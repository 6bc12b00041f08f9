//! Sweeps: a base scenario × a set of parameter points × seeds, run in parallel on plain worker threads (`exec.rs`), sharded
//! over cluster jobs, merged into statistics with Student-t confidence intervals and a report.
//!
//! - `spec.rs`:   the sweep file (`scenarios/sweeps/*.toml`) → a validated [`Sweep`].
//! - `point.rs`:  a parameter point, its canonical form and id; grid, explicit and random points.
//! - `plan.rs`:   the canonical run list (seeds, run ids), shards, the `_plan.parquet` table.
//! - `shard.rs`:  which shard this process is (flags, Slurm, Kubernetes, MPI) and its threads.
//! - `exec.rs`:   running a shard's runs on worker threads, each run committed before the next.
//! - `folder.rs`: `_sweep.toml`, `_plan.parquet`, fingerprint and build checks, stale temp files.
//! - `stats.rs`:  mean, sd, Student-t intervals, paired differences.
//! - `merge.rs`:  completeness check, `runs.parquet`, `summary.parquet`, `paired.parquet`.
//! - `report.rs`: charts (metric vs parameter with 95 % CI, paired differences) and the report.
//!
//! Decisions:
//! - Identity is content, never position. A point's id is the first 12 hex digits of the SHA-256
//!   of its canonical form; a run's seed and id are functions of (base seed, point, replication)
//!   only, so extending a sweep (more grid values, more replications, more random samples)
//!   leaves every existing seed, id and file unchanged.
//! - Output layout: `<out>/<sweep>/point=<point id>/run-<run id>.parquet` (the run's one-row
//!   summary), `run-<run id>.timeseries.parquet` and `run-<run id>.periods.parquet` (per period);
//!   the summary file is written last, and all three,
//!   as whole Parquet files, mark the run as done (resume skips it). `_sweep.toml` records the resolved sweep, a fingerprint
//!   of everything that changes results without changing ids (base scenario, fixed overrides,
//!   base seed, seed mode) and the builds that wrote runs (`crate::build_id`); a folder holding
//!   another fingerprint is refused, one written by another build is refused unless allowed.
//! - Parallelism is across runs: one simulation per thread, never one across threads, so the
//!   files do not depend on the thread count or the shard layout.
//! - Errors are [`SweepError`] (thiserror); nothing here panics on input.

mod exec;
mod folder;
mod merge;
pub(crate) mod merged;

/// The column names of the merged tables (`summary.parquet`, `paired.parquet` of a sweep folder)
/// and of a run's `effects.parquet`, written here and read by the reports and the CLI.
#[allow(missing_docs)]
pub mod column {
    pub const POINT_ID: &str = "point_id";
    pub const BASELINE_POINT_ID: &str = "baseline_point_id";
    pub const METRIC: &str = "metric";
    pub const N: &str = "n";
    pub const MEAN: &str = "mean";
    pub const SD: &str = "sd";
    pub const MEAN_DIFF: &str = "mean_diff";
    pub const SD_DIFF: &str = "sd_diff";
    pub const CI_LOW: &str = "ci_low";
    pub const CI_HIGH: &str = "ci_high";
    pub const EFFECT: &str = "effect";
    pub const VERSUS: &str = "versus";
    pub const SEEDS: &str = "seeds";
    pub const STUDY: &str = "study";
}
mod plan;
pub(crate) mod point;

mod shard;
mod spec;
pub(crate) mod stats;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use thiserror::Error;

pub use exec::{RunOptions, RunOutcome, run_shard, sweep_dir};
pub use folder::BuildRecord;
pub use merge::{MergeOutcome, Status, merge, status};
pub use plan::{Plan, RunSpec, plan_frame};
pub use point::{Point, sample_random_points};
pub use shard::{Shard, ShardSource, default_threads, detect_shard};
pub use spec::{MAX_REPLICATIONS, MAX_RUNS, SeedMode, Sweep};
pub use stats::{Interval, mean_sd, t_interval, t_quantile_975};

/// Why a sweep could not be loaded, run or merged. `Display` is one line naming the file (and
/// key, when there is one) and the reason.
#[derive(Debug, Error)]
pub enum SweepError {
    /// The sweep file could not be read or parsed, or a key in it is wrong.
    #[error("{file}{}: {}{reason}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default(), if key.is_empty() { String::new() } else { format!("{key}: ") })]
    Spec {
        /// The sweep file as given.
        file: String,
        /// The TOML key (empty for the whole file).
        key: String,
        /// What is wrong.
        reason: String,
        /// Line and column of the key in the file, when it is written there.
        location: Option<(usize, usize)>,
    },
    /// Applying a point to the base scenario does not give a valid scenario.
    #[error("{file}{}: point {point_id} ({point}): {reason}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Point {
        /// The sweep file.
        file: String,
        /// The point's id.
        point_id: String,
        /// The point's canonical form.
        point: String,
        /// The scenario's error.
        reason: String,
        /// Line and column in the sweep file of the point's key that the error is about.
        location: Option<(usize, usize)>,
    },
    /// Bad shard or thread settings (flags or environment).
    #[error("{0}")]
    Shard(String),
    /// A bad command-line flag of a sweep or pair study (the message names the flag).
    #[error("{0}")]
    Flag(String),
    /// The output folder belongs to a sweep with a different fingerprint.
    #[error("{dir} holds results of a different sweep definition ({reason}); use another --out or remove it", dir = dir.display())]
    Fingerprint {
        /// The sweep folder.
        dir: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The output folder was written by another build (see `crate::build_id`).
    #[error(
        "{dir} holds runs of build {theirs}; this is build {ours}. Mixing the results of two builds is refused: use another --out, or pass --allow-build-change to add this build's runs (every build is then listed in _sweep.toml)",
        dir = dir.display()
    )]
    Build {
        /// The sweep folder.
        dir: PathBuf,
        /// The builds recorded there.
        theirs: String,
        /// This build.
        ours: String,
    },
    /// Some runs failed (the others were written).
    #[error("{} of {total} runs failed; first: {}", failed.len(), failed.first().map(|(id, e)| format!("run {id}: {e}")).unwrap_or_default())]
    Runs {
        /// Runs attempted.
        total: usize,
        /// (run id, reason).
        failed: Vec<(String, String)>,
    },
    /// Merge found runs missing.
    #[error("{missing} of {total} runs are missing in {dir}, e.g. {examples}; run `synmarket sweep status` on the same sweep file with `--shards N` (N: the shard count you submitted) to list the shards to resubmit", dir = dir.display())]
    Incomplete {
        /// The sweep folder.
        dir: PathBuf,
        /// Missing runs.
        missing: usize,
        /// Planned runs.
        total: usize,
        /// Some missing files.
        examples: String,
    },
    /// A run file does not have the expected content.
    #[error("{}: {reason}", path.display())]
    BadRunFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] crate::output::IoError),
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] crate::charts::ChartError),
    /// Building a table failed.
    #[error("building table {table}: {reason}")]
    Table {
        /// Which table.
        table: String,
        /// polars' message.
        reason: String,
    },
}

impl SweepError {
    pub(crate) fn table(table: &str, e: impl std::fmt::Display) -> Self {
        SweepError::Table { table: table.to_string(), reason: e.to_string() }
    }
}
