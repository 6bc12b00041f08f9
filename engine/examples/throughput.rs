//! A plain release loop: 1,000,000 random orders over a book of 10,000 resting offers in 50
//! capability classes, reporting orders per second (the engine issue's acceptance check).
//! Criterion benches with more shapes are in `benches/`.
//!
//! Run: `cargo run --release -p synmarket-engine --example throughput`

// A measurement, not part of the engine: it may read the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::time::Instant;

use synmarket_engine::workload::{WorkloadSpec, apply, build};

fn main() {
    for (label, spec) in [
        ("price priority, 1 class", WorkloadSpec { ops: 1_000_000, ..Default::default() }),
        (
            "50 classes, reputation-weighted, 20% min-reputation filters",
            WorkloadSpec { ops: 1_000_000, selectivity: 0.1, ..WorkloadSpec::mix(10_000) },
        ),
    ] {
        let mut w = build(&spec);
        let started = Instant::now();
        let accepted = apply(&mut w.market, &w.cmds, w.start);
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{label}: {} orders in {:.3} s = {:.2} M orders/s ({} accepted, {} assignments, digest {:016x})",
            w.cmds.len(),
            secs,
            w.cmds.len() as f64 / secs / 1e6,
            accepted,
            w.market.assignments().len(),
            w.market.state_digest()
        );
    }
}
