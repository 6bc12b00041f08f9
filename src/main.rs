//! The `synmarket` command line: `run`, `validate`, `report` (and `sweep`).
//!
//! Errors are reported with `anyhow` context at this edge only; every failure exits non-zero with
//! one clear message, never a panic.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use synmarket::run::{headline, simulate, write_run};
use synmarket::scenario::Scenario;

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
        #[arg(long)]
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
        #[arg(long)]
        narrate: bool,
    },
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
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
        #[arg(long)]
        shards: Option<usize>,
        /// Output folder used in the printed commands.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// Run the sweep's runs (this shard's), skipping runs whose files exist.
    Run {
        /// The sweep file (TOML).
        sweep: PathBuf,
        /// Output folder (the sweep goes to <out>/<sweep name>/).
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Run shard K of N (K from 0); default: from Slurm, Kubernetes or MPI variables, else 0/1.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Shard count N when the environment gives only an index (JOB_COMPLETION_INDEX).
        #[arg(long, value_name = "N")]
        shards: Option<usize>,
        /// Threads of the local pool; default: SLURM_CPUS_PER_TASK, else all cores.
        #[arg(long)]
        threads: Option<usize>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Show missing runs and the shards to resubmit.
    Status {
        /// The sweep file (TOML).
        sweep: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Shard count N of the submission, to list the shard indices to resubmit.
        #[arg(long, value_name = "N")]
        shards: Option<usize>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { scenario, seed, out, set, quiet, narrate } => cmd_run(scenario, seed, out, set, quiet, narrate),
        Command::Validate { files } => cmd_validate(files),
        Command::Report { run_dir } => synmarket::report_run::rebuild(&run_dir).map(|files| {
            println!("rebuilt {} files in {}", files.len(), run_dir.display());
        }),
        Command::Sweep { command } => cmd_sweep(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_run(
    path: PathBuf,
    seed: Option<u64>,
    out: PathBuf,
    mut set: Vec<String>,
    quiet: bool,
    narrate: bool,
) -> Result<()> {
    if let Some(seed) = seed {
        set.push(format!("scenario.seed={seed}"));
    }
    let scenario = Scenario::load_with_overrides(&path, &set)?;
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
        synmarket::narrate::narrate(&scenario, Box::new(|line| println!("{line}")))
    } else {
        simulate(&scenario, &mut |t| bar.set_position(t))
    }
    .with_context(|| format!("running {}", path.display()))?;
    let simulate_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let (dir, manifest) = write_run(&out, &scenario, &result, simulate_seconds)?;
    let h = headline(&result);
    println!("wrote {}", dir.display());
    println!(
        "{} agents, {} orders, {} trades in {:.2} s ({:.0} events/s); ledger digest {}",
        manifest.agents,
        manifest.orders,
        manifest.assignments,
        simulate_seconds,
        manifest.timing.events_per_second,
        manifest.ledger_digest
    );
    println!(
        "fill rate {:.1} %, VWAP {:.2} tokens/unit, SLA compliance {:.1} %",
        h.fill_rate * 100.0,
        h.vwap,
        h.sla_compliance * 100.0
    );
    Ok(())
}

fn cmd_validate(files: Vec<PathBuf>) -> Result<()> {
    let mut failed = 0;
    for f in &files {
        match Scenario::load(f) {
            Ok(s) => println!("{}: ok ({} agents, {} task types)", f.display(), s.total_agents(), s.task_types.len()),
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files are invalid", files.len());
    }
    Ok(())
}

fn cmd_sweep(command: SweepCommand) -> Result<()> {
    use synmarket::sweep::{self, Plan, RunOptions, Shard, Sweep};
    let env = |name: &str| std::env::var(name).ok();
    match command {
        SweepCommand::Plan { sweep: path, shards, out } => {
            let sw = Sweep::load(&path)?;
            let runs = Plan::new(&sw).runs.len();
            let n = shards.unwrap_or(runs.min(1000)).clamp(1, runs.max(1));
            println!("sweep {}: {} points x {} replications = {runs} runs", sw.name, sw.points.len(), sw.replications);
            for p in &sw.points {
                println!("  point {}  {}", p.id(), p.label());
            }
            let file = path.display();
            let out = out.display();
            println!(
                "\nsbatch --array=0-{} --cpus-per-task=1 --parsable --wrap \"synmarket sweep run {file} --out {out} --quiet\"",
                n - 1
            );
            println!("sbatch --dependency=afterok:<jobid> --wrap \"synmarket sweep merge {file} --out {out}\"");
            Ok(())
        }
        SweepCommand::Run { sweep: path, out, shard, shards, threads, quiet } => {
            let sw = Sweep::load(&path)?;
            let flag = shard.as_deref().map(Shard::parse).transpose()?;
            let (shard, source) = sweep::detect_shard(flag, shards, &env)?;
            let threads = sweep::default_threads(threads, &env)?;
            let o = sweep::run_shard(&sw, &RunOptions { out, shard, threads, progress: !quiet })?;
            println!(
                "{}: shard {shard} ({source:?}) on {threads} threads: ran {} runs, skipped {} done, in {:.2} s ({} runs in the sweep)",
                o.dir.display(),
                o.ran,
                o.skipped,
                o.seconds,
                o.total_runs
            );
            Ok(())
        }
        SweepCommand::Status { sweep: path, out, shards } => {
            let sw = Sweep::load(&path)?;
            let st = sweep::status(&sw, &out);
            println!(
                "{}: {} of {} runs done, {} missing",
                st.dir.display(),
                st.done(),
                st.plan.runs.len(),
                st.missing.len()
            );
            for r in st.missing_runs().take(20) {
                println!("  missing {}", r.summary_file());
            }
            if st.missing.len() > 20 {
                println!("  ... and {} more", st.missing.len() - 20);
            }
            match shards {
                Some(n) if n > 0 && !st.missing.is_empty() => {
                    let list: Vec<String> = st.shards_to_resubmit(n).iter().map(|k| k.to_string()).collect();
                    println!("shards to resubmit (of {n}): {}", list.join(","));
                    println!("sbatch --array={} ... (with --shards {n} on the sweep run line)", list.join(","));
                }
                Some(_) => {}
                None if !st.missing.is_empty() => println!("pass --shards N to list the shard indices to resubmit"),
                None => {}
            }
            Ok(())
        }
        SweepCommand::Merge { sweep: path, out, baseline } => {
            let sw = Sweep::load(&path)?;
            let o = sweep::merge(&sw, &out, baseline.as_deref())?;
            println!("{}: merged {} metrics; wrote {} files", o.dir.display(), o.metrics.len(), o.files.len());
            if let Some(b) = o.baseline {
                println!("paired differences against point {b}");
            }
            println!("report: {}", o.dir.join("report.html").display());
            Ok(())
        }
    }
}
