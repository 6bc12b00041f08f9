//! One run: a validated scenario → a simulation → the run folder.
//!
//! [`simulate`] is pure (no I/O): a function of the scenario and its seed. [`write_run`] lays out
//! `<out>/<scenario>/seed-<seed>/` with the resolved `scenario.toml`, `manifest.json` and the
//! tables. The folder is assembled under a temporary name beside its final place
//! (`.seed-<seed>.tmp-<pid>`) and renamed into place at the end, so a failed or killed run never
//! leaves a partial folder (a previous folder of the same run is replaced only once the new one is
//! complete).
//!
//! Decisions (never lose what the user put somewhere, docs/architecture.md "Outputs"):
//! - A previous run folder is replaced only when it holds nothing but what synmarket wrote there:
//!   the files its `manifest.json` lists (and the folders holding them). Anything else (a note, a
//!   notebook, a folder without a manifest) makes the run refuse with [`RunDirError::Foreign`],
//!   naming the entries, unless the caller passes `force` (`synmarket run --force`).
//! - [`prepare_run_dir`] does these checks before the simulation, so a refusal costs nothing; it
//!   also removes the temporary folders (`.seed-<seed>.tmp-<pid>`, `.seed-<seed>.old-<pid>`) of
//!   runs of the same seed whose process is gone (a `kill -9` during the final write). Where the
//!   system cannot tell whether a process is alive (no `/proc`), they are left alone.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use synmarket_agents::{SimError, SimResult, Simulation, SimulationSpec};
use synmarket_engine::SimTime;

use crate::metrics::{MetricsError, Summary};
use crate::output::raw_tables as tables;
use crate::output::run_report::ReportError;
use crate::output::{IoError, TableError, table, write_atomic, write_json_atomic, write_parquet_atomic};
use crate::scenario::Scenario;

/// Why a run could not be written. [`RunError::Dir`] is bad input refused before any work.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run folder cannot be used.
    #[error(transparent)]
    Dir(#[from] RunDirError),
    /// An output file could not be written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A table could not be built.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The metric tables could not be written.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// The report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// Creating, clearing or renaming a run folder failed.
    #[error("cannot {what} {}: {source}", path.display())]
    Folder {
        /// What was attempted ("create", "clear", "move aside").
        what: &'static str,
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn folder(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RunError {
    let path = path.to_path_buf();
    move |source| RunError::Folder { what, path, source }
}

/// Why a run folder cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// The folder holds entries that synmarket did not write.
    #[error(
        "{} already exists and holds files that synmarket did not write ({entries}); nothing was replaced: move them, choose another --out, or pass --force to replace the folder with them",
        dir.display()
    )]
    Foreign {
        /// The run folder.
        dir: PathBuf,
        /// Some of the foreign entries, relative to it.
        entries: String,
    },
    /// A file (not a folder) is where the run folder goes.
    #[error("{} is a file, not a run folder; nothing was replaced: choose another --out", dir.display())]
    NotAFolder {
        /// The path.
        dir: PathBuf,
    },
}

/// Entries of run folder `dir` that its `manifest.json` does not list (relative paths, sorted).
/// A folder without a readable manifest lists nothing, so all its entries are foreign.
pub fn foreign_entries(dir: &Path) -> Vec<String> {
    let listed: std::collections::BTreeSet<String> = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| m.get("files")?.as_array().cloned())
        .map(|files| files.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut foreign = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else { continue };
        for e in entries.flatten() {
            let path = rel.join(e.file_name());
            let name = path.to_string_lossy().replace('\\', "/");
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && listed.iter().any(|f| f.starts_with(&format!("{name}/"))) {
                stack.push(path);
            } else if is_dir || !listed.contains(&name) {
                foreign.push(if is_dir { format!("{name}/") } else { name });
            }
        }
    }
    foreign.sort();
    foreign
}

/// Checks, before a run, that its folder under `out` can be written (see the module header),
/// removes temporary folders of killed runs of the same seed, and returns the folder.
pub fn prepare_run_dir(out: &Path, s: &Scenario, force: bool) -> Result<PathBuf, RunError> {
    let dir = run_dir(out, s);
    crate::output::check_output_dir(dir.parent().unwrap_or(out))?;
    if let Ok(meta) = std::fs::symlink_metadata(&dir) {
        if !meta.is_dir() {
            return Err(RunDirError::NotAFolder { dir }.into());
        }
        let foreign = foreign_entries(&dir);
        if !force && !foreign.is_empty() {
            let mut entries: Vec<String> = foreign.iter().take(5).cloned().collect();
            if foreign.len() > 5 {
                entries.push(format!("and {} more", foreign.len() - 5));
            }
            return Err(RunDirError::Foreign { dir, entries: entries.join(", ") }.into());
        }
    }
    remove_stale_temp_dirs(&dir, s.seed);
    Ok(dir)
}

/// Removes `.seed-<seed>.tmp-<pid>` and `.seed-<seed>.old-<pid>` beside `dir` whose process is
/// gone on this host.
fn remove_stale_temp_dirs(dir: &Path, seed: u64) {
    let Some(parent) = dir.parent() else { return };
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = [".tmp-", ".old-"]
            .iter()
            .find_map(|kind| name.strip_prefix(&format!(".seed-{seed}{kind}")).and_then(|p| p.parse::<u32>().ok()));
        if let Some(pid) = pid
            && crate::output::atomic::process_alive(pid) == Some(false)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The simulation a scenario describes.
pub fn simulation_spec(s: &Scenario) -> SimulationSpec {
    SimulationSpec {
        seed: s.seed,
        duration_ms: s.duration_ms,
        sample_interval_ms: s.sample_interval_ms,
        periods: s.periods.unwrap_or(1),
        market: s.market.clone(),
        task_types: s.task_types.clone(),
        populations: s.populations.clone(),
    }
}

/// Runs a scenario in memory. `progress` receives the simulated time now and then.
pub fn simulate(s: &Scenario, progress: &mut dyn FnMut(SimTime)) -> Result<SimResult, SimError> {
    Simulation::new(simulation_spec(s))?.run(progress)
}

/// `<out>/<scenario name>/seed-<seed>`.
pub fn run_dir(out: &Path, s: &Scenario) -> PathBuf {
    out.join(&s.name).join(format!("seed-{}", s.seed))
}

/// What the manifest records (results and run health kept apart: only `timing` varies between
/// identical runs).
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// Crate version.
    pub synmarket_version: &'static str,
    /// The build that wrote the run (`crate::build_id`): its id, source hash and commit.
    pub build: crate::build_id::BuildId,
    /// Scenario name.
    pub scenario: String,
    /// Root seed.
    pub seed: u64,
    /// The ledger's hash-chain digest.
    pub ledger_digest: String,
    /// Ledger entries.
    pub ledger_entries: u64,
    /// Counts.
    pub orders: u64,
    /// Assignments.
    pub assignments: u64,
    /// Agents.
    pub agents: u64,
    /// Kernel events processed.
    pub kernel_events: u64,
    /// Engine events.
    pub market_events: u64,
    /// Total events (kernel + engine), the figure for events/s.
    pub events: u64,
    /// Refusals by the market, by reason.
    pub refusals: std::collections::BTreeMap<String, u64>,
    /// Files written, relative to the run folder.
    pub files: Vec<String>,
    /// Wall-clock figures (never part of results).
    pub timing: Timing,
}

/// Wall-clock figures of a run.
#[derive(Debug, Serialize, Clone, Copy, Default)]
pub struct Timing {
    /// Simulation seconds.
    pub simulate_seconds: f64,
    /// Writing seconds.
    pub write_seconds: f64,
    /// Events per second of simulation.
    pub events_per_second: f64,
}

/// Writes every table of the run into `dir` (which must exist); returns the file names and the
/// summary row.
pub fn write_tables(dir: &Path, s: &Scenario, r: &SimResult) -> Result<(Vec<String>, Summary), RunError> {
    let names: Vec<String> = s.populations.iter().map(|p| p.name.clone()).collect();
    let mut files = Vec::new();
    let mut put =
        |name: &'static str, df: polars::prelude::PolarsResult<polars::prelude::DataFrame>| -> Result<(), RunError> {
            let mut df = df.map_err(TableError::of(name))?;
            let file = format!("{name}.parquet");
            write_parquet_atomic(dir.join(&file), &mut df)?;
            files.push(file);
            Ok(())
        };
    put(table::ORDERS, tables::orders(r))?;
    put(table::ASSIGNMENTS, tables::assignments(r))?;
    put(table::LEDGER, tables::ledger(r))?;
    put(table::AGENTS, tables::agents(r, &names))?;
    let summary = crate::metrics::write_metric_tables(dir, s, r, &mut files)?;
    Ok((files, summary))
}

/// What [`write_run`] wrote.
#[derive(Debug)]
pub struct RunOutput {
    /// The run folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The headline metrics (the row of `summary.parquet`).
    pub summary: Summary,
}

/// Writes the run folder for `r` under `out`, atomically; returns the folder and manifest.
///
/// Errors: the checks of [`prepare_run_dir`] (an existing folder with files synmarket did not
/// write is replaced only with `force`), and any failure to write (the previous folder is then
/// left as it was).
pub fn write_run(
    out: &Path,
    s: &Scenario,
    r: &SimResult,
    simulate_seconds: f64,
    force: bool,
) -> Result<RunOutput, RunError> {
    write_run_with(out, s, r, simulate_seconds, force, None)
}

/// [`write_run`] with the `effects` table of the scenario's pair studies
/// (`versus::measure_effects`), written as `effects.parquet` and reported.
pub fn write_run_with(
    out: &Path,
    s: &Scenario,
    r: &SimResult,
    simulate_seconds: f64,
    force: bool,
    effects: Option<polars::prelude::DataFrame>,
) -> Result<RunOutput, RunError> {
    let started = Instant::now();
    let final_dir = prepare_run_dir(out, s, force)?;
    let parent = final_dir.parent().unwrap_or(out);
    std::fs::create_dir_all(parent).map_err(folder("create", parent))?;
    let tmp = parent.join(format!(".seed-{}.tmp-{}", s.seed, std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(folder("clear", &tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(folder("create", &tmp))?;
    let result = (|| -> Result<(Manifest, Summary), RunError> {
        write_atomic(tmp.join("scenario.toml"), s.to_toml_string().as_bytes())?;
        let mut files = vec!["scenario.toml".to_string()];
        let (tables, summary) = write_tables(&tmp, s, r)?;
        files.extend(tables);
        if let Some(mut df) = effects {
            let file = format!("{}.parquet", table::EFFECTS);
            write_parquet_atomic(tmp.join(&file), &mut df)?;
            files.push(file);
        }
        files.extend(crate::output::run_report::write_report(&tmp, s)?);
        files.push("manifest.json".into());
        let events = r.stats.kernel_events + r.stats.market_events;
        let manifest = Manifest {
            synmarket_version: env!("CARGO_PKG_VERSION"),
            build: crate::build_id::BUILD,
            scenario: s.name.clone(),
            seed: s.seed,
            ledger_digest: r.market.ledger_digest(),
            ledger_entries: r.market.bank().entry_count(),
            orders: r.market.orders().len() as u64,
            assignments: r.market.assignments().len() as u64,
            agents: r.agents.len() as u64,
            kernel_events: r.stats.kernel_events,
            market_events: r.stats.market_events,
            events,
            refusals: r.stats.refusals.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            files,
            timing: Timing {
                simulate_seconds,
                write_seconds: started.elapsed().as_secs_f64(),
                events_per_second: if simulate_seconds > 0.0 { events as f64 / simulate_seconds } else { 0.0 },
            },
        };
        write_json_atomic(tmp.join("manifest.json"), &manifest)?;
        Ok((manifest, summary))
    })();
    let (manifest, summary) = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if final_dir.exists() {
        let old = parent.join(format!(".seed-{}.old-{}", s.seed, std::process::id()));
        std::fs::rename(&final_dir, &old).map_err(folder("move aside", &final_dir))?;
        std::fs::rename(&tmp, &final_dir).map_err(folder("create", &final_dir))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&tmp, &final_dir).map_err(folder("create", &final_dir))?;
    }
    Ok(RunOutput { dir: final_dir, manifest, summary })
}
