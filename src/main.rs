//! The `synmarket` command line: `run`, `validate`, `report` (and `sweep`).
//!
//! Errors are reported with `anyhow` context at this edge only; every failure is one line on
//! stderr, never a panic. Exit codes: 0 success (also when stdout is closed early, as by
//! `| head -1`: the rest of the output is dropped, the work is still done); 2 bad input, refused
//! before any output is written (a scenario or sweep file, a flag, the shard or thread settings,
//! an output folder that cannot be used or holds files synmarket did not write, a sweep folder of
//! another definition or build); 1 any other failure.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use synmarket::run::{prepare_run_dir, simulate, write_run_with};
use synmarket::scenario::Scenario;

/// Writes one line to stdout; a closed stdout is an error that `main` turns into a quiet exit.
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*).context("writing to stdout")?
    };
}

#[derive(Parser)]
#[command(name = "synmarket", version, about = "Deterministic simulation of peer compute markets")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its tables, charts and report.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long, allow_hyphen_values = true, value_parser = seed_flag)]
        seed: Option<u64>,
        /// Output folder (the run goes to <out>/<scenario>/seed-<seed>/).
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Override a scenario key, e.g. `--set market.fee_bps=0` or `--set population[0].count=50`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Print what happens, step by step (for small scenarios such as market_simulation).
        #[arg(long, conflicts_with = "versus")]
        narrate: bool,
        /// Replace an existing run folder even if it holds files synmarket did not write.
        #[arg(long)]
        force: bool,
        /// Do not run the scenario's [[effect]] pair studies (the report then states no effects).
        #[arg(long)]
        no_effects: bool,
        /// A counterfactual pair study: also run the scenario with KEY=VALUE changed (repeatable),
        /// over --seeds common-random-number pairs, and report the paired differences.
        #[arg(long, value_name = "KEY=VALUE")]
        versus: Vec<String>,
        /// Pairs of a --versus study (at least 2).
        #[arg(long, value_name = "N", default_value_t = synmarket::versus::DEFAULT_SEEDS, requires = "versus", allow_hyphen_values = true, value_parser = count_flag::<u64>)]
        seeds: u64,
        /// Threads of a --versus study; default: all cores.
        #[arg(long, requires = "versus", allow_hyphen_values = true, value_parser = count_flag::<usize>)]
        threads: Option<usize>,
    },
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Check each file with a scenario key overridden, as `run --set` would run it, e.g.
        /// `--set market.fee_bps=0` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Rebuild the charts and report of a run folder from its Parquet tables.
    Report {
        /// The run folder.
        run_dir: PathBuf,
    },
    /// Parameter sweeps: plan, run (sharded, resumable), status, merge (see docs/cluster.md).
    Sweep {
        #[command(subcommand)]
        command: SweepCommand,
    },
}

#[derive(Subcommand)]
enum SweepCommand {
    /// Print the run count, the points and ready `sbatch` lines.
    Plan {
        /// The sweep file (TOML).
        sweep: PathBuf,
        /// Shards (array tasks) for the printed sbatch line; default: one per run, at most 1000.
        #[arg(long, allow_hyphen_values = true, value_parser = count_flag::<usize>)]
        shards: Option<usize>,
        /// Output folder used in the printed commands.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Threads per array task (the printed --cpus-per-task).
        #[arg(long, value_name = "N", default_value_t = 1, allow_hyphen_values = true, value_parser = count_flag::<usize>)]
        threads: usize,
    },
    /// Run the sweep's runs (this shard's), skipping runs whose files exist.
    Run {
        /// The sweep file (TOML).
        sweep: PathBuf,
        /// Output folder (the sweep goes to <out>/<sweep name>/).
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Run shard K of N (K from 0); default: from Slurm, Kubernetes or MPI variables, else 0/1.
        #[arg(long, value_name = "K/N", allow_hyphen_values = true)]
        shard: Option<String>,
        /// Shard count N when the environment gives only an index (JOB_COMPLETION_INDEX).
        #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = count_flag::<usize>)]
        shards: Option<usize>,
        /// Threads of the local pool; default: SLURM_CPUS_PER_TASK, else all cores.
        #[arg(long, allow_hyphen_values = true, value_parser = count_flag::<usize>)]
        threads: Option<usize>,
        /// No progress bar (the summary line is still printed).
        #[arg(long)]
        quiet: bool,
        /// Add runs to a sweep folder that another build of synmarket wrote (the builds are then
        /// all listed in its _sweep.toml); without it such a folder is refused.
        #[arg(long)]
        allow_build_change: bool,
    },
    /// Show missing runs and the shards to resubmit.
    Status {
        /// The sweep file (TOML).
        sweep: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Shard count N of the submission, to list the shard indices to resubmit.
        #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = count_flag::<usize>)]
        shards: Option<usize>,
        /// Threads per array task of the resubmission (the printed --cpus-per-task; use the
        /// submission's).
        #[arg(long, value_name = "N", default_value_t = 1, allow_hyphen_values = true, value_parser = count_flag::<usize>)]
        threads: usize,
    },
    /// Check completeness and write summary.parquet, paired.parquet, charts and report.
    Merge {
        /// The sweep file (TOML).
        sweep: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Point id of the baseline of paired differences (default: the point with the smallest values).
        #[arg(long, value_name = "POINT_ID")]
        baseline: Option<String>,
    },
}

/// `--seed`: a whole number 0 ..= 2^64 − 1, decimal or `0x` hexadecimal (clap would otherwise
/// read `-1` as a flag and suggest `-- -1`, which then fails as an unsigned number).
fn seed_flag(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    };
    parsed.ok_or_else(|| {
        format!("{text:?} is not a seed: a seed is a whole number from 0 to 18446744073709551615 (or 0x followed by hex digits)")
    })
}

/// A count flag (`--seeds`, `--threads`, `--shards`): a whole number ≥ 0 in the user's words.
fn count_flag<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.trim().parse().map_err(|_| format!("{text:?} is not a count: write a whole number such as 4"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { scenario, seed, out, set, quiet, narrate, force, no_effects, versus, seeds, threads } => {
            if versus.is_empty() {
                cmd_run(scenario, seed, out, set, quiet, narrate, force, no_effects)
            } else {
                cmd_versus(&scenario, seed, &out, &set, &versus, seeds, threads, quiet)
            }
        }
        Command::Validate { files, set } => cmd_validate(files, &set),
        Command::Report { run_dir } => cmd_report(&run_dir),
        Command::Sweep { command } => cmd_sweep(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Whether the error is stdout closed by the reader (`| head -1`).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().filter_map(|c| c.downcast_ref::<std::io::Error>()).any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// 2 for bad input refused before any work (see the module header), else 1.
fn exit_code(e: &anyhow::Error) -> u8 {
    use synmarket::output::IoError;
    use synmarket::sweep::SweepError;
    let input = e.chain().any(|c| {
        c.is::<synmarket::scenario::ScenarioError>()
            || c.is::<synmarket::run::RunDirError>()
            || matches!(
                c.downcast_ref::<synmarket::run::RunError>(),
                Some(synmarket::run::RunError::Dir(_) | synmarket::run::RunError::Io(IoError::Unusable { .. }))
            )
            || c.is::<InputError>()
            || matches!(c.downcast_ref::<IoError>(), Some(IoError::Unusable { .. }))
            || matches!(
                c.downcast_ref::<SweepError>(),
                Some(
                    SweepError::Spec { .. }
                        | SweepError::Point { .. }
                        | SweepError::Shard(_)
                        | SweepError::Flag(_)
                        | SweepError::Fingerprint { .. }
                        | SweepError::Build { .. }
                        | SweepError::Io(IoError::Unusable { .. })
                )
            )
    });
    if input { 2 } else { 1 }
}

/// Bad input found by the CLI itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InputError(String);

fn cmd_report(run_dir: &Path) -> Result<()> {
    let files = synmarket::output::run_report::rebuild(run_dir)?;
    say!("rebuilt {} files in {}", files.len(), run_dir.display());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn cmd_run(
    path: PathBuf,
    seed: Option<u64>,
    out: PathBuf,
    mut set: Vec<String>,
    quiet: bool,
    narrate: bool,
    force: bool,
    no_effects: bool,
) -> Result<()> {
    if let Some(seed) = seed {
        set.push(format!("scenario.seed={seed}"));
    }
    let scenario = Scenario::load_with_flagged_overrides(&path, &flagged(&set, "--set"))?;
    prepare_run_dir(&out, &scenario, force)?;
    let bar = if quiet || narrate || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(scenario.duration_ms);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {percent:>3}% simulated, eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(scenario.name.clone());
        bar
    };
    let started = Instant::now();
    let result = if narrate {
        // A closed stdout drops the narration; the run and its folder are still completed.
        synmarket::narrate::narrate(&scenario, Box::new(|line| drop(writeln!(std::io::stdout().lock(), "{line}"))))
    } else {
        simulate(&scenario, &mut |t| bar.set_position(t))
    }
    .with_context(|| format!("running {}", path.display()))?;
    let simulate_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let effects = if no_effects || scenario.effects.is_empty() {
        None
    } else {
        let env = |name: &str| std::env::var(name).ok();
        let threads = synmarket::sweep::default_threads(None, &env)?;
        let pairs: u64 = scenario.effects.iter().map(|e| 2 * e.seeds).sum();
        if !quiet {
            let _ = writeln!(
                std::io::stderr().lock(),
                "measuring {} effects (up to {pairs} runs; finished pairs are skipped; --no-effects skips them all)",
                scenario.effects.len()
            );
        }
        synmarket::versus::measure_effects(&path, &scenario, &set, &out, threads)?
    };
    let written = write_run_with(&out, &scenario, &result, simulate_seconds, force, effects)?;
    let (manifest, h) = (&written.manifest, &written.summary);
    say!("wrote {}", written.dir.display());
    say!(
        "{} agents, {} orders, {} trades in {:.2} s ({:.0} events/s); ledger digest {}",
        manifest.agents,
        manifest.orders,
        manifest.assignments,
        simulate_seconds,
        manifest.timing.events_per_second,
        manifest.ledger_digest
    );
    let pct = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{:.1} %", x * 100.0));
    say!(
        "fill rate {}, VWAP {}, SLA compliance {}",
        pct(h.fill_rate),
        h.vwap.map_or("n/a".to_string(), |v| format!("{v:.2} tokens/unit")),
        pct(h.sla_compliance_rate)
    );
    Ok(())
}

/// Overrides with the flag that gave them, for error messages (`Scenario::load_with_flagged_overrides`).
fn flagged<'a>(overrides: &'a [String], flag: &'a str) -> Vec<(&'a str, &'a str)> {
    overrides.iter().map(|o| (o.as_str(), flag)).collect()
}

/// `run --versus`: a counterfactual pair study (src/versus.rs).
#[allow(clippy::too_many_arguments)]
fn cmd_versus(
    path: &Path,
    seed: Option<u64>,
    out: &Path,
    sets: &[String],
    versus: &[String],
    seeds: u64,
    threads: Option<usize>,
    quiet: bool,
) -> Result<()> {
    use synmarket::sweep::{self, RunOptions, Shard, column};
    let mut sets = sets.to_vec();
    if let Some(seed) = seed {
        sets.push(format!("scenario.seed={seed}"));
    }
    // Validate the scenario and both points before anything runs.
    let base = Scenario::load_with_flagged_overrides(path, &flagged(&sets, "--set"))?;
    // An error in a changed value names `--versus` and the change as written.
    let mut other = flagged(&sets, "--set");
    other.extend(flagged(versus, "--versus"));
    Scenario::load_with_flagged_overrides(path, &other)?;
    let spec = synmarket::versus::PairSpec { scenario: path, base: &base, sets: &sets, versus, seeds };
    let (sw, baseline, file) = synmarket::versus::prepare(&spec, out)?;
    let env = |name: &str| std::env::var(name).ok();
    let threads = sweep::default_threads(threads, &env)?;
    let opts = RunOptions {
        out: out.to_path_buf(),
        shard: Shard::WHOLE,
        threads,
        progress: !quiet,
        allow_build_change: false,
    };
    let ran = sweep::run_shard(&sw, &opts)?;
    let merged = sweep::merge(&sw, out, Some(&baseline))?;
    say!("wrote {} ({} pairs; study file {})", merged.dir.display(), seeds, file.display());
    say!("ran {} runs, skipped {} done, in {:.2} s", ran.ran, ran.skipped, ran.seconds);
    say!("effect of {} (counterfactual − scenario, mean over {seeds} paired seeds, 95 % interval):", versus.join(", "));
    let paired = synmarket::output::read_parquet(merged.dir.join("paired.parquet"))?;
    let col = |name: &str| -> Result<Vec<Option<f64>>> {
        let c = paired.column(name).with_context(|| format!("paired.parquet has no column {name}"))?;
        let c = c.cast(&polars::prelude::DataType::Float64)?;
        Ok(c.f64()?.iter().collect())
    };
    let metrics: Vec<String> =
        paired.column(column::METRIC)?.str()?.iter().map(|m| m.unwrap_or_default().to_string()).collect();
    let (mean, sd, low, high, n) =
        (col(column::MEAN_DIFF)?, col(column::SD_DIFF)?, col(column::CI_LOW)?, col(column::CI_HIGH)?, col(column::N)?);
    for name in synmarket::versus::headline_metrics() {
        let Some(i) = metrics.iter().position(|m| m == name) else { continue };
        let pairs = n[i].unwrap_or(0.0) as u64;
        let of = if pairs < seeds {
            format!(", over the {pairs} of {seeds} pairs where it is defined")
        } else {
            String::new()
        };
        let text = match (mean[i], sd[i], low[i], high[i]) {
            (Some(m), Some(s), _, _) if m == 0.0 && s == 0.0 => format!("0 in every pair: no difference{of}"),
            (Some(m), _, Some(lo), Some(hi)) => {
                let verdict = if pairs < seeds {
                    "conditional on both runs defining it: not an effect estimate"
                } else if lo > 0.0 || hi < 0.0 {
                    "the interval excludes 0"
                } else {
                    "the interval holds 0: not resolved with these seeds"
                };
                format!("{m:+.4} [{lo:+.4}, {hi:+.4}]  {verdict}{of}")
            }
            (Some(m), _, _, _) => format!("{m:+.4} (too few defined pairs for an interval{of})"),
            _ => "undefined (no defined pairs)".to_string(),
        };
        say!("  {name:<30} {text}");
    }
    say!(
        "every metric: {}; report: {}",
        merged.dir.join("paired.parquet").display(),
        merged.dir.join("report.html").display()
    );
    Ok(())
}

fn cmd_validate(files: Vec<PathBuf>, set: &[String]) -> Result<()> {
    let mut failed = 0;
    let overrides = flagged(set, "--set");
    for f in &files {
        match Scenario::load_with_flagged_overrides(f, &overrides) {
            Ok(s) => say!(
                "{}: ok ({} agents, {} task {})",
                f.display(),
                s.total_agents(),
                s.task_types.len(),
                if s.task_types.len() == 1 { "type" } else { "types" }
            ),
            Err(e) => {
                let _ = writeln!(std::io::stderr().lock(), "error: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(InputError(format!("{failed} of {} files are invalid", files.len())).into());
    }
    Ok(())
}

/// Slurm's default `MaxArraySize` is 1001: array task ids above 1000 are refused.
const SLURM_MAX_ARRAY_ID: usize = 1000;

fn max_array_note(highest: usize) -> String {
    format!(
        "note: array id {highest} is above 1000, which Slurm refuses under its default MaxArraySize (1001): \
         ask for a larger MaxArraySize, or plan with --shards 1000 or fewer"
    )
}

/// `s` quoted for a POSIX shell when it needs quoting.
fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./,:=+@%".contains(c));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', "'\\''")) }
}

/// The command that runs this synmarket on a fresh machine of the cluster: the absolute path of
/// the running binary (a shared file system is assumed, as for the sweep folder), then `args`;
/// each word quoted for the shell. Paths among `args` are made absolute by the caller.
fn self_command(args: &[String]) -> String {
    let exe = std::env::current_exe().ok().and_then(|p| std::fs::canonicalize(p).ok());
    let mut words: Vec<String> = match exe {
        Some(p) => vec![p.display().to_string()],
        None => ["cargo", "run", "--release", "--"].map(String::from).to_vec(),
    };
    words.extend(args.iter().cloned());
    words.iter().map(|w| sh_quote(w)).collect::<Vec<_>>().join(" ")
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

/// Shard indices as a Slurm array spec: ascending runs compressed, `0-3,7,9-12`.
fn array_spec(ids: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        parts.push(if j == i { ids[i].to_string() } else { format!("{}-{}", ids[i], ids[j]) });
        i = j + 1;
    }
    parts.join(",")
}

fn cmd_sweep(command: SweepCommand) -> Result<()> {
    use synmarket::sweep::{self, Plan, RunOptions, Shard, Sweep};
    let env = |name: &str| std::env::var(name).ok();
    match command {
        SweepCommand::Plan { sweep: path, shards, out, threads } => {
            let sw = Sweep::load(&path)?;
            let runs = Plan::new(&sw).runs.len();
            if shards == Some(0) {
                return Err(InputError("--shards must be at least 1".into()).into());
            }
            sweep::default_threads(Some(threads), &env)?;
            synmarket::output::existing_folder(&out)?;
            let n = shards.unwrap_or(runs.min(SLURM_MAX_ARRAY_ID + 1)).clamp(1, runs.max(1));
            say!("sweep {}: {} points x {} replications = {runs} runs", sw.name, sw.points.len(), sw.replications);
            for p in &sw.points {
                say!("  point {}  {}", p.id(), p.label());
            }
            if shards.is_some_and(|s| s > n) {
                say!(
                    "note: --shards {} is more than the {runs} runs: using {n} shards (one run each)",
                    shards.unwrap_or(n)
                );
            }
            let (file, out) = (absolute(&path), absolute(&out));
            let run = self_command(&[
                "sweep".into(),
                "run".into(),
                file.clone(),
                "--out".into(),
                out.clone(),
                "--shards".into(),
                n.to_string(),
                "--quiet".into(),
            ]);
            let merge = self_command(&["sweep".into(), "merge".into(), file, "--out".into(), out]);
            say!("\nsubmit the array, then the merge once every task succeeded (paste both lines):");
            say!("jobid=$(sbatch --array=0-{} --cpus-per-task={threads} --parsable --wrap {})", n - 1, sh_quote(&run));
            say!("sbatch --dependency=afterok:${{jobid%%;*}} --wrap {}", sh_quote(&merge));
            if n - 1 > SLURM_MAX_ARRAY_ID {
                say!("{}", max_array_note(n - 1));
            }
            Ok(())
        }
        SweepCommand::Run { sweep: path, out, shard, shards, threads, quiet, allow_build_change } => {
            let sw = Sweep::load(&path)?;
            let flag = shard.as_deref().map(Shard::parse).transpose()?;
            let (shard, source) = sweep::detect_shard(flag, shards, &env)?;
            let threads = sweep::default_threads(threads, &env)?;
            let opts = RunOptions { out, shard, threads, progress: !quiet, allow_build_change };
            let o = sweep::run_shard(&sw, &opts)?;
            say!(
                "{}: shard {shard} ({source}) on {threads} threads: ran {} runs, skipped {} done, in {:.2} s ({} runs in the sweep{})",
                o.dir.display(),
                o.ran,
                o.skipped,
                o.seconds,
                o.total_runs,
                if o.stale_removed > 0 {
                    let s = if o.stale_removed == 1 { "" } else { "s" };
                    format!("; removed {} temporary file{s} of an interrupted run", o.stale_removed)
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        SweepCommand::Status { sweep: path, out, shards, threads } => {
            let sw = Sweep::load(&path)?;
            if shards == Some(0) {
                return Err(InputError("--shards must be at least 1".into()).into());
            }
            sweep::default_threads(Some(threads), &env)?;
            let st = sweep::status(&sw, &out)?;
            say!(
                "{}: {} of {} runs done, {} missing",
                st.dir.display(),
                st.done(),
                st.plan.runs.len(),
                st.missing.len()
            );
            for f in st.missing_files().take(20) {
                say!("  missing {f}");
            }
            if st.missing.len() > 20 {
                say!("  ... and {} more", st.missing.len() - 20);
            }
            if st.missing.is_empty() {
                return Ok(());
            }
            if st.written_by_another_build() {
                let theirs: Vec<&str> = st.builds.iter().map(|b| b.id.as_str()).collect();
                say!(
                    "warning: runs there were written by build {}; this is build {}. The commands below use this \
                     binary and are refused: run them with a binary of that build, or add --allow-build-change to \
                     mix builds (recorded in _sweep.toml and the report)",
                    theirs.join(", "),
                    synmarket::build_id::BUILD.id
                );
            }
            let (file, out_abs) = (absolute(&path), absolute(&out));
            let mut run: Vec<String> =
                vec!["sweep".into(), "run".into(), file.clone(), "--out".into(), out_abs.clone()];
            match shards {
                Some(n) => {
                    let ids = st.shards_to_resubmit(n);
                    let list: Vec<String> = ids.iter().map(|k| k.to_string()).collect();
                    say!("shards to resubmit (of {n}): {}", list.join(","));
                    run.extend(["--shards".into(), n.to_string(), "--quiet".into()]);
                    let merge = self_command(&["sweep".into(), "merge".into(), file, "--out".into(), out_abs]);
                    say!("resubmit exactly those shards (each array task id is its shard index), then the merge:");
                    say!(
                        "jobid=$(sbatch --array={} --cpus-per-task={threads} --parsable --wrap {})",
                        array_spec(&ids),
                        sh_quote(&self_command(&run))
                    );
                    say!("sbatch --dependency=afterok:${{jobid%%;*}} --wrap {}", sh_quote(&merge));
                    if let Some(&last) = ids.last()
                        && last > SLURM_MAX_ARRAY_ID
                    {
                        say!("{}", max_array_note(last));
                    }
                }
                None => {
                    say!("finish the missing runs in this process (finished runs are skipped):");
                    say!("{}", self_command(&run));
                    say!("or pass --shards N (the shard count of the submission) to list the shards to resubmit");
                }
            }
            Ok(())
        }
        SweepCommand::Merge { sweep: path, out, baseline } => {
            let sw = Sweep::load(&path)?;
            let o = sweep::merge(&sw, &out, baseline.as_deref())?;
            say!("{}: merged {} metrics; wrote {} files", o.dir.display(), o.metrics.len(), o.files.len());
            if let Some(b) = o.baseline {
                say!("paired differences against point {b}");
            }
            say!("report: {}", o.dir.join("report.html").display());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_spaces_and_quotes() {
        assert_eq!(sh_quote("/a/b.toml"), "/a/b.toml");
        assert_eq!(sh_quote("my dir"), "'my dir'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn array_specs_compress_runs() {
        assert_eq!(array_spec(&[17, 42]), "17,42");
        assert_eq!(array_spec(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(array_spec(&[5]), "5");
    }
}
