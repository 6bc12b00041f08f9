//! The sweep folder's own records and housekeeping: `_sweep.toml` (the resolved definition, its
//! fingerprint and the builds that wrote runs), `_plan.parquet`, the refusal of a folder written
//! for another definition or by another build, and the removal of temporary files that a killed
//! process left behind.
//!
//! Decisions:
//! - The fingerprint covers what changes results without changing run ids (base scenario,
//!   `[fixed]`, base seed, seed mode). A different fingerprint is always refused.
//! - The build ([`crate::build_id`]) is kept apart: a folder written by another build is refused
//!   unless the caller allows it (`sweep run --allow-build-change`); every build that added runs
//!   is then listed, in order, as a `[[build]]` table of `_sweep.toml`, so the mix is on record.
//!   `sweep merge` checks the fingerprint and records no build (it adds no runs).
//! - `_sweep.toml` and `_plan.parquet` are rewritten only when their bytes would change, so the
//!   shards of one sweep, starting together, rarely write them at all.
//! - Temporary files (`<name>.tmp-<pid>-<seq>`, `io.rs`) are removed only where they belong to
//!   this sweep's layout and cannot be another process's write in progress: those of the runs
//!   this shard owns (no other shard writes them) unless their writer is a live process on this
//!   host (the same shard started twice), and those of the shared files (`_sweep.toml`,
//!   `_plan.parquet`, the merge outputs, `charts/`) only by a process that owns the whole sweep
//!   (`sweep run` without shards, or `sweep merge` of a complete sweep). A shard on a cluster never
//!   removes a shared temporary file: its writer may be alive on another node, where no process
//!   id can be checked. Limitation: the same shard started twice on two nodes at once can still
//!   remove each other's run temporaries (the run then fails with its file named, and a rerun
//!   completes it); run each shard once. Nothing else in the folder is ever deleted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::SweepError;
use super::plan::{Plan, RunSpec, plan_frame};
use super::spec::Sweep;
use crate::build_id::{BUILD, BuildId};
use crate::output::atomic::{parse_temp_name, process_alive};
use crate::output::{write_atomic, write_parquet_atomic};

/// One build that wrote runs into a sweep folder, as recorded in `_sweep.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRecord {
    /// [`BuildId::id`].
    pub id: String,
    /// The git commit, or `unknown`.
    pub commit: String,
    /// Whether the sources differed from the commit (`true`, `false`, `unknown`).
    pub dirty: String,
}

impl BuildRecord {
    /// The record of `b`.
    pub fn of(b: &BuildId) -> BuildRecord {
        BuildRecord { id: b.id.into(), commit: b.commit.into(), dirty: b.dirty.into() }
    }

    fn to_toml(&self) -> toml::Value {
        let mut t = toml::Table::new();
        t.insert("id".into(), self.id.clone().into());
        t.insert("commit".into(), self.commit.clone().into());
        t.insert("dirty".into(), self.dirty.clone().into());
        toml::Value::Table(t)
    }
}

/// What an existing `_sweep.toml` says, when there is one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorded {
    /// The builds that wrote runs, in order (empty for a new folder).
    pub builds: Vec<BuildRecord>,
}

/// The resolved sweep as TOML (`_sweep.toml`).
pub fn resolved_toml(sweep: &Sweep, runs: usize, builds: &[BuildRecord]) -> String {
    let mut head = toml::Table::new();
    head.insert("name".into(), sweep.name.clone().into());
    head.insert("scenario".into(), sweep.scenario_ref.clone().into());
    head.insert("replications".into(), toml::Value::Integer(sweep.replications as i64));
    head.insert("base_seed".into(), sweep.base_seed.to_string().into());
    head.insert("seed_mode".into(), sweep.seed_mode.as_str().into());
    head.insert("fingerprint".into(), sweep.fingerprint.clone().into());
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
    doc.insert("build".into(), toml::Value::Array(builds.iter().map(BuildRecord::to_toml).collect()));
    doc.insert("fixed".into(), toml::Value::Table(fixed));
    doc.insert("point".into(), toml::Value::Array(points));
    let body = toml::to_string(&doc).unwrap_or_default();
    format!("# Resolved sweep written by `synmarket sweep run` (seeds and ids: src/sweep/plan.rs).\n{body}")
}

/// Reads `_sweep.toml` of `dir` (if any) and refuses a folder of another definition, or of
/// another build unless `allow_build_change`. Returns the builds to record: the recorded ones,
/// plus this build when it is new to the folder and `add_this_build`.
pub(crate) fn check(
    dir: &Path,
    sweep: &Sweep,
    allow_build_change: bool,
    add_this_build: bool,
) -> Result<Vec<BuildRecord>, SweepError> {
    let here = BuildRecord::of(&BUILD);
    let recorded = read_recorded(dir, sweep)?;
    let Some(recorded) = recorded else {
        return Ok(if add_this_build { vec![here] } else { Vec::new() });
    };
    let mut builds = recorded.builds;
    if builds.iter().any(|b| b.id == here.id) || !add_this_build {
        return Ok(builds);
    }
    if !allow_build_change {
        let theirs: Vec<String> = builds.iter().map(|b| format!("{} (commit {})", b.id, short(&b.commit))).collect();
        return Err(SweepError::Build {
            dir: dir.to_path_buf(),
            theirs: if theirs.is_empty() { "an unrecorded build".into() } else { theirs.join(", ") },
            ours: BUILD.to_string(),
        });
    }
    builds.push(here);
    Ok(builds)
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn read_recorded(dir: &Path, sweep: &Sweep) -> Result<Option<Recorded>, SweepError> {
    let path = dir.join("_sweep.toml");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
    let bad = |reason: &str| SweepError::Fingerprint { dir: dir.to_path_buf(), reason: reason.into() };
    let doc = toml::from_str::<toml::Table>(&text).map_err(|_| bad("its _sweep.toml is unreadable"))?;
    let existing = doc.get("sweep").and_then(|s| s.get("fingerprint")).and_then(|f| f.as_str());
    match existing {
        Some(f) if f == sweep.fingerprint => {}
        Some(f) => {
            return Err(bad(&format!(
                "fingerprint {f} there, {} here: base scenario, [fixed], base_seed or seed_mode differ",
                sweep.fingerprint
            )));
        }
        None => return Err(bad("its _sweep.toml has no fingerprint")),
    }
    Ok(Some(Recorded { builds: recorded_builds(dir) }))
}

/// The builds recorded in `dir`'s `_sweep.toml` (empty when there is none or it is unreadable).
pub(crate) fn recorded_builds(dir: &Path) -> Vec<BuildRecord> {
    let Ok(text) = std::fs::read_to_string(dir.join("_sweep.toml")) else { return Vec::new() };
    let Ok(doc) = toml::from_str::<toml::Table>(&text) else { return Vec::new() };
    let field = |t: &toml::Value, k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("unknown").to_string();
    doc.get("build")
        .and_then(|b| b.as_array())
        .map(|a| {
            a.iter()
                .map(|t| BuildRecord { id: field(t, "id"), commit: field(t, "commit"), dirty: field(t, "dirty") })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `bytes` to `path` atomically unless the file already holds exactly these bytes.
fn write_if_changed(path: PathBuf, bytes: &[u8]) -> Result<(), SweepError> {
    if std::fs::read(&path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    write_atomic(path, bytes)?;
    Ok(())
}

/// Writes `_sweep.toml` and `_plan.parquet` (identical bytes from every shard of one build),
/// each only when it would change.
pub(crate) fn write_plan_files(
    dir: &Path,
    sweep: &Sweep,
    plan: &Plan,
    builds: &[BuildRecord],
) -> Result<(), SweepError> {
    write_if_changed(dir.join("_sweep.toml"), resolved_toml(sweep, plan.runs.len(), builds).as_bytes())?;
    let path = dir.join("_plan.parquet");
    let mut frame = plan_frame(sweep, plan)?;
    let same = crate::output::read_parquet(&path).is_ok_and(|old| old.equals_missing(&frame));
    if !same {
        write_parquet_atomic(path, &mut frame)?;
    }
    Ok(())
}

/// Removes the temporary files that a killed process left in `dir` (see the module header) and
/// returns how many were removed. `mine`: the runs this process owns; `whole_sweep`: whether it
/// owns them all.
pub(crate) fn remove_stale_temps(dir: &Path, mine: &[&RunSpec], whole_sweep: bool) -> usize {
    let owned: BTreeSet<&str> = mine.iter().map(|r| r.run_id.as_str()).collect();
    let points: BTreeSet<&str> = mine.iter().map(|r| r.point_id.as_str()).collect();
    let mut removed = 0;
    let mut remove = |path: PathBuf| {
        if std::fs::remove_file(path).is_ok() {
            removed += 1;
        }
    };
    for point in points {
        let Ok(entries) = std::fs::read_dir(dir.join(format!("point={point}"))) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((target, pid)) = parse_temp_name(&name) else { continue };
            let run = target.strip_prefix("run-").and_then(|t| t.split('.').next());
            // A writer alive on this host (the same shard started twice) keeps its file.
            if run.is_some_and(|id| owned.contains(id)) && process_alive(pid) != Some(true) && e.path().is_file() {
                remove(e.path());
            }
        }
    }
    if whole_sweep {
        remove_shared_temps(dir, &mut remove);
    }
    removed
}

/// The files of the sweep folder's top level and `charts/` that sweep commands write.
fn is_shared_file(name: &str) -> bool {
    matches!(
        name,
        "_sweep.toml" | "_plan.parquet" | "_merge.toml" | "runs.parquet" | "summary.parquet" | "paired.parquet"
    ) || name == "report.html"
        || name == "report.md"
}

fn remove_shared_temps(dir: &Path, remove: &mut dyn FnMut(PathBuf)) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some((target, _)) = parse_temp_name(&name)
                && is_shared_file(target)
                && e.path().is_file()
            {
                remove(e.path());
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("charts")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some((target, _)) = parse_temp_name(&name)
                && (target.ends_with(".png") || target.ends_with(".svg"))
                && e.path().is_file()
            {
                remove(e.path());
            }
        }
    }
}

/// Removes stale temporary files of the shared files; for `sweep merge` of a complete sweep.
pub(crate) fn remove_stale_shared_temps(dir: &Path) -> usize {
    let mut removed = 0;
    remove_shared_temps(dir, &mut |p| {
        if std::fs::remove_file(p).is_ok() {
            removed += 1;
        }
    });
    removed
}
