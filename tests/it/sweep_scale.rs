//! Sweeps at scale and under faults: a 1,000-run shard on one thread (each run committed before
//! the next: no stack growth), a sweep killed with SIGKILL after half of its runs keeps them and
//! its rerun recomputes nothing, temporary files of the killed process are removed, and the
//! output of `sweep plan` and `sweep status` runs as printed.
//!
//! The tiny scenario is the baseline with a handful of agents per population over two simulated
//! hours: a few milliseconds a run.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use synmarket::sweep::{self, RunOptions, Shard, Sweep};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synmarket-it-scale-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A sweep of the tiny scenario: `fee_bps` ∈ {0, 100} × `replications`.
fn tiny_sweep(dir: &Path, name: &str, replications: u32) -> PathBuf {
    let base = root().join("scenarios/baseline.toml");
    let mut fixed = String::from("\"scenario.duration\" = \"2h\"\n");
    for (i, count) in [4, 2, 3, 2, 2, 2, 3].iter().enumerate() {
        fixed.push_str(&format!("\"population[{i}].count\" = {count}\n"));
    }
    let text = format!(
        "[sweep]\nname = \"{name}\"\nscenario = {base:?}\nreplications = {replications}\nbase_seed = 5\n\
         [fixed]\n{fixed}[grid]\n\"market.fee_bps\" = [0, 100]\n",
        base = base.display().to_string()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Run summary files (the "done" markers) under a sweep folder, with their inode numbers (a
/// rewrite gets a new inode).
fn committed(dir: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(points) = std::fs::read_dir(dir) else { return out };
    for p in points.flatten().filter(|p| p.file_name().to_string_lossy().starts_with("point=")) {
        for f in std::fs::read_dir(p.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            // Summary files only (a run's last file): not its time series or periods.
            let summary = !name.ends_with(".timeseries.parquet") && !name.ends_with(".periods.parquet");
            if name.starts_with("run-") && name.ends_with(".parquet") && summary {
                out.insert(format!("{}/{name}", p.file_name().to_string_lossy()), f.metadata().unwrap().ino());
            }
        }
    }
    out
}

fn temps(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().contains(".tmp-") {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Before the executor committed each run on its own thread, a worker waiting on polars' pool
/// started the next run inside the unfinished write: 150–300 runs per thread overflowed the stack.
#[test]
fn a_thousand_run_shard_on_one_thread_completes() {
    let dir = tmp("thousand");
    let sw = Sweep::load(tiny_sweep(&dir, "thousand", 500)).unwrap();
    let out = dir.join("out");
    let o = sweep::run_shard(&sw, &RunOptions::new(&out, Shard::WHOLE, 1)).unwrap();
    assert_eq!((o.total_runs, o.ran, o.skipped), (1000, 1000, 0));
    assert_eq!(committed(&out.join("thousand")).len(), 1000);
    assert!(temps(&out.join("thousand")).is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

fn sweep_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_synmarket"));
    c.args(["sweep"]).args(args).stdin(Stdio::null());
    c
}

/// SIGKILL after at least half of the runs committed: the rerun keeps every committed file
/// (same inode: not rewritten), runs only the rest, removes the killed process's temporary files,
/// and merges to the same bytes as an uninterrupted sweep.
#[test]
fn a_killed_sweep_keeps_its_committed_runs() {
    let dir = tmp("kill");
    let file = tiny_sweep(&dir, "killed", 40);
    let (out, clean) = (dir.join("out"), dir.join("clean"));
    let sweep_dir = out.join("killed");
    let mut child = sweep_cmd(&["run"])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .args(["--threads", "2", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while committed(&sweep_dir).len() < 40 {
        assert!(Instant::now() < deadline, "the sweep committed too few runs in 300 s");
        assert!(child.try_wait().unwrap().is_none(), "the sweep finished before it could be killed");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = committed(&sweep_dir);
    assert!(before.len() >= 40 && before.len() < 80, "killed at {} of 80 runs", before.len());
    // The state a kill can leave: a half-written file of a run (simulated, as the kill's timing
    // cannot be chosen) beside the real leftovers, if any.
    let victim = std::fs::read_dir(&sweep_dir)
        .unwrap()
        .flatten()
        .find(|p| p.file_name().to_string_lossy().starts_with("point="))
        .unwrap()
        .path();
    let plan = sweep::Plan::new(&Sweep::load(&file).unwrap());
    let pending = plan.runs.iter().find(|r| !before.contains_key(&r.summary_file())).unwrap();
    let pending_dir = sweep_dir.join(format!("point={}", pending.point_id));
    std::fs::create_dir_all(&pending_dir).unwrap(); // a kill can come before its first file
    std::fs::write(pending_dir.join(format!("run-{}.parquet.tmp-999999-0", pending.run_id)), b"PAR1 half").unwrap();
    std::fs::write(sweep_dir.join("_plan.parquet.tmp-999999-1"), b"half").unwrap();
    std::fs::write(victim.join("notes.txt"), b"a file of the user's").unwrap();

    let o = sweep_cmd(&["run"]).arg(&file).arg("--out").arg(&out).args(["--threads", "2", "--quiet"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains(&format!("skipped {} done", before.len())), "{stdout}");
    assert!(stdout.contains("removed") && stdout.contains("temporary files"), "{stdout}");
    let after = committed(&sweep_dir);
    assert_eq!(after.len(), 80);
    for (f, ino) in &before {
        assert_eq!(after.get(f), Some(ino), "{f} was rewritten on resume");
    }
    assert!(temps(&sweep_dir).is_empty(), "temporary files left: {:?}", temps(&sweep_dir));
    assert_eq!(std::fs::read(victim.join("notes.txt")).unwrap(), b"a file of the user's");
    std::fs::remove_file(victim.join("notes.txt")).unwrap();

    let o =
        sweep_cmd(&["run"]).arg(&file).arg("--out").arg(&clean).args(["--threads", "1", "--quiet"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for d in [&out, &clean] {
        let o = sweep_cmd(&["merge"]).arg(&file).arg("--out").arg(d).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (a, b) = (files(&sweep_dir), files(&clean.join("killed")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs between the resumed and the uninterrupted sweep");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The build identity is recorded; another build's folder is refused unless allowed, and then
/// both builds are listed.
#[test]
fn a_folder_of_another_build_is_refused_unless_allowed() {
    let dir = tmp("build");
    let sw = Sweep::load(tiny_sweep(&dir, "build", 1)).unwrap();
    let out = dir.join("out");
    sweep::run_shard(&sw, &RunOptions::new(&out, Shard::parse("0/2").unwrap(), 1)).unwrap();
    let record = out.join("build/_sweep.toml");
    let text = std::fs::read_to_string(&record).unwrap();
    let id = synmarket::build_id::BUILD.id;
    assert!(text.contains(&format!("id = \"{id}\"")), "{text}");
    std::fs::write(&record, text.replace(id, "0.0.1+0123456789abcdef")).unwrap();
    let e = sweep::run_shard(&sw, &RunOptions::new(&out, Shard::parse("1/2").unwrap(), 1)).unwrap_err().to_string();
    assert!(e.contains("0.0.1+0123456789abcdef") && e.contains(id) && e.contains("--allow-build-change"), "{e}");
    assert_eq!(committed(&out.join("build")).len(), 1, "nothing ran");
    let mut opts = RunOptions::new(&out, Shard::parse("1/2").unwrap(), 1);
    opts.allow_build_change = true;
    sweep::run_shard(&sw, &opts).unwrap();
    let text = std::fs::read_to_string(&record).unwrap();
    let first = text.find("0.0.1+0123456789abcdef").unwrap();
    let second = text.find(&format!("id = \"{id}\"")).unwrap();
    assert!(first < second, "both builds are listed, in order:\n{text}");
    // The CLI says the same, with exit code 2 and nothing run.
    std::fs::write(&record, text.replace(&format!("id = \"{id}\""), "id = \"0.0.2+0\"")).unwrap();
    let o = sweep_cmd(&["run"]).arg(dir.join("build.toml")).arg("--out").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(dir);
}

/// `sweep plan` prints commands with an absolute binary path, `sweep status` an exact
/// resubmission; neither panics when stdout is closed early.
#[test]
fn plan_and_status_print_runnable_commands_and_survive_a_closed_pipe() {
    let dir = tmp("plan");
    let file = tiny_sweep(&dir, "plan", 2);
    let out = dir.join("out");
    let o = sweep_cmd(&["plan"]).arg(&file).arg("--out").arg(&out).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    let bin = std::fs::canonicalize(env!("CARGO_BIN_EXE_synmarket")).unwrap();
    let line =
        stdout.lines().find(|l| l.starts_with("jobid=$(sbatch --array=0-3")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains(&bin.display().to_string()) && line.contains("--shards 4"), "{line}");
    let merge =
        stdout.lines().find(|l| l.starts_with("sbatch --dependency=afterok:")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(merge.contains("${jobid%%;*}") && merge.contains("sweep merge"), "{merge}");
    assert!(!stdout.contains("<jobid>"), "a placeholder cannot be pasted: {stdout}");
    assert!(!stdout.contains("\"synmarket sweep"), "a bare `synmarket` is not on PATH: {stdout}");

    sweep::run_shard(&Sweep::load(&file).unwrap(), &RunOptions::new(&out, Shard::parse("1/4").unwrap(), 1)).unwrap();
    let o = sweep_cmd(&["status"]).arg(&file).arg("--out").arg(&out).args(["--shards", "4"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("shards to resubmit (of 4): 0,2,3"), "{stdout}");
    let line =
        stdout.lines().find(|l| l.starts_with("jobid=$(sbatch --array=0,2-3 ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("--shards 4") && line.contains("--cpus-per-task=1"), "{line}");
    // The submission's threads carry over to the resubmission.
    let o = sweep_cmd(&["status"]).arg(&file).arg("--out").arg(&out).args(["--shards", "4", "--threads", "8"]).output();
    assert!(String::from_utf8_lossy(&o.unwrap().stdout).contains("--cpus-per-task=8"));
    // Slurm refuses array ids above 1000 by default: said, not left to fail at submission.
    let o = sweep_cmd(&["plan"]).arg(&file).arg("--out").arg(&out).args(["--shards", "2000"]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("using 4 shards"), "{text}");

    // Closed pipes: every printing command exits 0 without a panic message.
    for args in [vec!["plan"], vec!["status"]] {
        let mut c = sweep_cmd(&args);
        let mut child =
            c.arg(&file).arg("--out").arg(&out).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take()); // the reader is gone before the first line
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The same shard started twice on one host: the second must not delete the first's temporary
/// files (their writer is alive), only those of dead processes.
#[test]
fn a_live_writers_temporary_files_are_kept() {
    let dir = tmp("live");
    let file = tiny_sweep(&dir, "live", 2);
    let sw = Sweep::load(&file).unwrap();
    let plan = sweep::Plan::new(&sw);
    let out = dir.join("out");
    let r = &plan.runs[0];
    let point = out.join("live").join(format!("point={}", r.point_id));
    std::fs::create_dir_all(&point).unwrap();
    let live = point.join(format!("run-{}.parquet.tmp-{}-77", r.run_id, std::process::id()));
    let dead = point.join(format!("run-{}.parquet.tmp-999999999-78", r.run_id));
    std::fs::write(&live, b"being written").unwrap();
    std::fs::write(&dead, b"left by a kill").unwrap();
    let o = sweep::run_shard(&sw, &RunOptions::new(&out, Shard::WHOLE, 1)).unwrap();
    assert_eq!((o.ran, o.stale_removed), (4, 1));
    assert!(live.exists(), "a live process's temporary file was removed");
    assert!(!dead.exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// A run file damaged outside synmarket (emptied, truncated) or a lost timeseries file makes the
/// run count as missing: status lists it and a rerun redoes it, instead of merge failing later.
#[test]
fn damaged_run_files_count_as_missing() {
    let dir = tmp("damaged");
    let file = tiny_sweep(&dir, "damaged", 2);
    let sw = Sweep::load(&file).unwrap();
    let out = dir.join("out");
    sweep::run_shard(&sw, &RunOptions::new(&out, Shard::WHOLE, 1)).unwrap();
    let plan = sweep::Plan::new(&sw);
    let root = out.join("damaged");
    std::fs::write(root.join(plan.runs[0].summary_file()), b"").unwrap();
    let bytes = std::fs::read(root.join(plan.runs[1].summary_file())).unwrap();
    std::fs::write(root.join(plan.runs[1].summary_file()), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(root.join(plan.runs[2].timeseries_file())).unwrap();
    assert_eq!(sweep::status(&sw, &out).unwrap().missing, vec![0, 1, 2]);
    let o = sweep::run_shard(&sw, &RunOptions::new(&out, Shard::WHOLE, 1)).unwrap();
    assert_eq!((o.ran, o.skipped), (3, 1));
    sweep::merge(&sw, &out, None).unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Bad shard and thread settings and an output folder that is a file: one line, exit 2, nothing
/// written.
#[test]
fn bad_sweep_settings_exit_2_and_write_nothing() {
    let dir = tmp("bad");
    let file = tiny_sweep(&dir, "bad", 1);
    let blocker = dir.join("blocker");
    std::fs::write(&blocker, b"x").unwrap();
    let out = dir.join("out");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--shard".into(), "4/4".into()], "4/4"),
        (vec!["--shard".into(), "0/0".into()], "0/0"),
        (vec!["--threads".into(), "0".into()], "--threads must be at least 1"),
        (vec!["--shards".into(), "3".into()], "--shards 3 without a shard index"),
        (vec!["--shards".into(), "0".into()], "--shards must be at least 1"),
        (vec!["--threads".into(), "100000".into()], "at most 1024"),
    ];
    for (args, expect) in cases {
        let o = sweep_cmd(&["run"]).arg(&file).arg("--out").arg(&out).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect) && stderr.lines().count() == 1, "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote output");
    }
    for cmd in ["run", "status", "merge", "plan"] {
        for target in [blocker.clone(), blocker.join("sub")] {
            let o = sweep_cmd(&[cmd]).arg(&file).arg("--out").arg(&target).output().unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{cmd}: {stderr}");
            assert!(stderr.contains("blocker") && stderr.contains("is a file, not a folder"), "{cmd}: {stderr}");
        }
    }
    assert_eq!(std::fs::read(&blocker).unwrap(), b"x");
    let _ = std::fs::remove_dir_all(dir);
}
