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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { scenario, seed, out, set, quiet } => cmd_run(scenario, seed, out, set, quiet),
        Command::Validate { files } => cmd_validate(files),
        Command::Report { run_dir } => synmarket::report_run::rebuild(&run_dir).map(|files| {
            println!("rebuilt {} files in {}", files.len(), run_dir.display());
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_run(path: PathBuf, seed: Option<u64>, out: PathBuf, mut set: Vec<String>, quiet: bool) -> Result<()> {
    if let Some(seed) = seed {
        set.push(format!("scenario.seed={seed}"));
    }
    let scenario = Scenario::load_with_overrides(&path, &set)?;
    let bar = if quiet || !std::io::stderr().is_terminal() {
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
    let result =
        simulate(&scenario, &mut |t| bar.set_position(t)).with_context(|| format!("running {}", path.display()))?;
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
