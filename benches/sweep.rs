//! Sweep scaling: 8 runs of a short scenario (the baseline over one simulated day, seeds 1..=8),
//! one simulation per run, on a rayon `ThreadPool` of 1 and of 2 threads. Parallelism is across
//! runs, never inside one (docs/architecture.md), so the ideal speed-up on 2 threads is 2×.
//!
//! Before timing, the 8 runs are made once on each pool and their combined `state_digest` is
//! checked against the value pinned here (the same on both pools: results do not depend on the
//! thread count). `SYNMARKET_REPIN=1` prints it instead.
//!
//! Run: `cargo bench --bench sweep`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use synmarket::run::simulate;
use synmarket::scenario::Scenario;

const RUNS: u64 = 8;
const PINNED: u64 = 0x8730_0aeb_9849_9631;

fn runs() -> Vec<Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.toml");
    (1..=RUNS)
        .map(|seed| {
            let o = [format!("scenario.seed={seed}"), "scenario.duration=1d".to_string()];
            Scenario::load_with_overrides(&path, &o).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

/// Runs every scenario on the pool; returns the digests combined in run order.
fn sweep(pool: &rayon::ThreadPool, runs: &[Scenario]) -> u64 {
    let digests: Vec<u64> = pool.install(|| {
        runs.par_iter().map(|s| simulate(s, &mut |_| {}).expect("simulates").market.state_digest()).collect()
    });
    digests.iter().fold(0u64, |h, d| h.rotate_left(5) ^ d)
}

fn bench(c: &mut Criterion) {
    let runs = runs();
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(RUNS));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        let got = sweep(&pool, &runs);
        if std::env::var_os("SYNMARKET_REPIN").is_some() {
            eprintln!("digest sweep/{threads}: {got:#018x}");
        } else {
            assert_eq!(
                got, PINNED,
                "sweep on {threads} threads: digest {got:#018x} differs from the pinned {PINNED:#018x}"
            );
        }
        g.bench_function(format!("8_runs/{threads}_threads"), |b| b.iter(|| black_box(sweep(&pool, &runs))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
