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

use anyhow::{Context, Result};
use serde::Serialize;

use synmarket_agents::{SimError, SimResult, Simulation, SimulationSpec};
use synmarket_engine::SimTime;

use crate::output::raw_tables as tables;
use crate::output::{write_atomic, write_json_atomic, write_parquet_atomic};
use crate::scenario::Scenario;

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
pub fn prepare_run_dir(out: &Path, s: &Scenario, force: bool) -> Result<PathBuf> {
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

/// The headline numbers printed after a run.
#[derive(Debug, Clone, Copy)]
pub struct Headline {
    /// Assignments.
    pub trades: u64,
    /// Units assigned / units requested.
    pub fill_rate: f64,
    /// Σ price·units / Σ units over all trades.
    pub vwap: f64,
    /// Completed without violation / settled.
    pub sla_compliance: f64,
}

/// Computes the headline numbers.
pub fn headline(r: &SimResult) -> Headline {
    let m = &r.market;
    let requested: u64 =
        m.orders().iter().filter(|o| o.side == synmarket_engine::Side::Buy).map(|o| o.total_units).sum();
    let a = m.assignments();
    let units: u64 = a.iter().map(|x| x.units).sum();
    let value: u128 = a.iter().map(|x| x.amount() as u128).sum();
    let settled = a.iter().filter(|x| x.finished_at.is_some()).count();
    let clean = a.iter().filter(|x| x.status == synmarket_engine::TaskStatus::Completed).count();
    Headline {
        trades: a.len() as u64,
        fill_rate: if requested == 0 { f64::NAN } else { units as f64 / requested as f64 },
        vwap: if units == 0 { f64::NAN } else { value as f64 / units as f64 },
        sla_compliance: if settled == 0 { f64::NAN } else { clean as f64 / settled as f64 },
    }
}

/// Writes every table of the run into `dir` (which must exist); returns the file names.
pub fn write_tables(dir: &Path, s: &Scenario, r: &SimResult) -> Result<Vec<String>> {
    let names: Vec<String> = s.populations.iter().map(|p| p.name.clone()).collect();
    let mut files = Vec::new();
    let mut put = |name: &str, df: polars::prelude::PolarsResult<polars::prelude::DataFrame>| -> Result<()> {
        let mut df = df.with_context(|| format!("building table {name}"))?;
        let file = format!("{name}.parquet");
        write_parquet_atomic(dir.join(&file), &mut df)?;
        files.push(file);
        Ok(())
    };
    put("orders", tables::orders(r))?;
    put("assignments", tables::assignments(r))?;
    put("ledger", tables::ledger(r))?;
    put("agents", tables::agents(r, &names))?;
    crate::metrics::write_metric_tables(dir, s, r, &mut files)?;
    Ok(files)
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
) -> Result<(PathBuf, Manifest)> {
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
) -> Result<(PathBuf, Manifest)> {
    let started = Instant::now();
    let final_dir = prepare_run_dir(out, s, force)?;
    let parent = final_dir.parent().context("run folder has no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = parent.join(format!(".seed-{}.tmp-{}", s.seed, std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("cannot clear {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let result = (|| -> Result<Manifest> {
        write_atomic(tmp.join("scenario.toml"), s.to_toml_string().as_bytes())?;
        let mut files = vec!["scenario.toml".to_string()];
        files.extend(write_tables(&tmp, s, r)?);
        if let Some(mut df) = effects {
            write_parquet_atomic(tmp.join("effects.parquet"), &mut df)?;
            files.push("effects.parquet".into());
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
        Ok(manifest)
    })();
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if final_dir.exists() {
        let old = parent.join(format!(".seed-{}.old-{}", s.seed, std::process::id()));
        std::fs::rename(&final_dir, &old).with_context(|| format!("cannot move aside {}", final_dir.display()))?;
        std::fs::rename(&tmp, &final_dir).with_context(|| format!("cannot create {}", final_dir.display()))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&tmp, &final_dir).with_context(|| format!("cannot create {}", final_dir.display()))?;
    }
    Ok((final_dir, manifest))
}
