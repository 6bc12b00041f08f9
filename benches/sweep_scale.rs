//! Sweep scale: the cost of a run and the memory of a shard must not grow with the shard's
//! length. A shard of 100 and one of 10,000 runs of a tiny scenario (the baseline with a handful
//! of agents per population over two simulated hours), on 1 and on 2 worker threads, through the
//! same `run_shard` that `synmarket sweep run` calls, writing every run's files.
//!
//! For each thread count it prints the wall-clock time per run at 100 runs (the median of five
//! shards) and at 10,000 runs, their ratio, and the shard's peak resident memory (`VmHWM`, reset
//! through `/proc/self/clear_refs` before each shard). It fails when the ratio exceeds 1.5 or the
//! peak exceeds 300 MB (issue: "Sweeps at any scale"). A `harness = false` bench: ratios come
//! from one process on one machine, never from a timed test. Figures: BENCHMARKS.md.
//!
//! Run: `cargo bench --bench sweep_scale` (about 3 minutes on 2 cores; writes about 1.1 GB
//! under the system's temporary folder and removes it). `SYNMARKET_SCALE_RUNS=N` changes the
//! long shard's length.

use std::path::{Path, PathBuf};
use std::time::Instant;

use synmarket::sweep::{self, RunOptions, Shard, Sweep};

const SHORT: u64 = 100;
const LONG_DEFAULT: u64 = 10_000;
const MAX_RATIO: f64 = 1.5;
const MAX_PEAK_MB: f64 = 300.0;

fn sweep_file(dir: &Path, name: &str, runs: u64) -> PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.toml");
    let mut fixed = String::from("\"scenario.duration\" = \"2h\"\n");
    for (i, count) in [4, 2, 3, 2, 2, 2, 3].iter().enumerate() {
        fixed.push_str(&format!("\"population[{i}].count\" = {count}\n"));
    }
    let text = format!(
        "[sweep]\nname = \"{name}\"\nscenario = {base:?}\nreplications = {}\nbase_seed = 5\n\
         [fixed]\n{fixed}[grid]\n\"market.fee_bps\" = [0, 100]\n",
        runs / 2,
        base = base.display().to_string()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write the sweep file");
    path
}

/// Peak resident memory of this process since the last reset, in MB (Linux).
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn reset_peak() {
    // "5" resets VmHWM to the current RSS (proc(5)); without it the figure is the process peak.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs a fresh shard of `runs` runs on `threads` threads; returns (seconds per run, peak MB).
fn shard(dir: &Path, name: &str, runs: u64, threads: usize) -> (f64, Option<f64>) {
    let file = sweep_file(dir, name, runs);
    let sw = Sweep::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join(format!("out-{name}"));
    let _ = std::fs::remove_dir_all(&out);
    reset_peak();
    let started = Instant::now();
    let o = sweep::run_shard(&sw, &RunOptions::new(&out, Shard::WHOLE, threads)).unwrap_or_else(|e| panic!("{e}"));
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak_mb();
    assert_eq!(o.ran as u64, runs, "every run ran");
    let _ = std::fs::remove_dir_all(&out);
    (seconds / runs as f64, peak)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it with no argument: do nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let long: u64 = std::env::var("SYNMARKET_SCALE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(LONG_DEFAULT);
    let dir = std::env::temp_dir().join(format!("synmarket-bench-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("| threads | ms/run at {SHORT} runs | ms/run at {long} runs | ratio | peak RSS at {long} runs |");
    println!("|---|---|---|---|---|");
    let mut failures = Vec::new();
    for threads in [1, 2] {
        shard(&dir, "warmup", SHORT, threads);
        let mut short: Vec<f64> = (0..5).map(|k| shard(&dir, &format!("short{k}"), SHORT, threads).0).collect();
        short.sort_by(f64::total_cmp);
        let short = short[2];
        let (per_run, peak) = shard(&dir, "long", long, threads);
        let ratio = per_run / short;
        let peak_text = peak.map(|p| format!("{p:.0} MB")).unwrap_or_else(|| "n/a".into());
        println!("| {threads} | {:.2} | {:.2} | {ratio:.2} | {peak_text} |", short * 1e3, per_run * 1e3);
        if ratio > MAX_RATIO {
            failures.push(format!("{threads} threads: time per run grew {ratio:.2}x from {SHORT} to {long} runs"));
        }
        if let Some(p) = peak.filter(|p| *p > MAX_PEAK_MB) {
            failures.push(format!("{threads} threads: peak RSS {p:.0} MB over {MAX_PEAK_MB} MB"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !failures.is_empty() {
        eprintln!("sweep_scale failed:\n{}", failures.join("\n"));
        std::process::exit(1);
    }
}
