//! Whole scenarios end to end (agents, kernel, market), in simulated events per second
//! (`events = kernel_events + market_events`, the figure the run manifest reports).
//!
//! - `scenario/baseline`: `scenarios/baseline.toml` (305 agents, 7 days).
//! - `scenario/large`: `scenarios/large.toml` (10,000 agents, 1 day).
//! - `scaling/agents/N`: the large scenario with every population's count scaled to N agents in
//!   all (1,000, 10,000, 100,000) over 2 simulated hours, so the cost per event can be compared
//!   across population sizes.
//!
//! Only `synmarket::run::simulate` is timed (loading and validating the file is not; nothing is
//! written). Each scenario is run once before timing and its `state_digest` checked against the
//! value pinned here; `SYNMARKET_REPIN=1` prints the digests instead (after an intended change).
//!
//! Run: `cargo bench --bench scenario`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use synmarket::run::simulate;
use synmarket::scenario::Scenario;

fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

fn load(name: &str, overrides: &[String]) -> Scenario {
    let path = scenario_path(name);
    Scenario::load_with_overrides(&path, overrides).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The large scenario's population counts (in file order), which sum to 10,000.
const LARGE_COUNTS: [u64; 7] = [4000, 2600, 1800, 800, 420, 280, 100];

/// Overrides that scale the large scenario to `agents` in all, over `duration`.
pub fn large_overrides(agents: u64, duration: &str) -> Vec<String> {
    let mut o: Vec<String> = LARGE_COUNTS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("population[{i}].count={}", (c * agents / 10_000).max(1)))
        .collect();
    o.push(format!("scenario.duration={duration}"));
    o
}

/// Runs once, checks the digest, returns the event count.
fn check(name: &str, s: &Scenario, pinned: u64) -> u64 {
    let r = simulate(s, &mut |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
    let got = r.market.state_digest();
    let events = r.stats.kernel_events + r.stats.market_events;
    if std::env::var_os("SYNMARKET_REPIN").is_some() {
        eprintln!("digest {name}: {got:#018x} ({events} events, {} agents)", r.agents.len());
    } else {
        assert_eq!(
            got, pinned,
            "{name}: state digest {got:#018x} differs from the pinned {pinned:#018x}: results changed"
        );
    }
    events
}

fn bench(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, s: &Scenario, pinned: u64) {
    let events = check(name, s, pinned);
    g.throughput(Throughput::Elements(events));
    g.bench_function(name, |b| b.iter(|| black_box(simulate(s, &mut |_| {}).expect("simulates"))));
}

fn scenarios(c: &mut Criterion) {
    let mut g = c.benchmark_group("scenario");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    bench(&mut g, "baseline", &load("baseline.toml", &[]), 0x033d_07ce_1a7c_fe71);
    bench(&mut g, "large", &load("large.toml", &[]), 0x9c3e_4c12_7053_478b);
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    for (agents, pinned) in
        [(1_000, 0x506c_b83c_550c_e67d), (10_000, 0x2fc3_0253_d9de_fcd4), (100_000, 0xbe81_cb09_5a56_5799)]
    {
        let s = load("large.toml", &large_overrides(agents, "2h"));
        bench(&mut g, &format!("agents/{agents}"), &s, pinned);
    }
    g.finish();
}

criterion_group!(benches, scenarios, scaling);
criterion_main!(benches);
