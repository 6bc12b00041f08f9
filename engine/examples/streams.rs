//! The benches' command streams in a plain loop, for A/B runs of two builds: for each stream,
//! the best of `reps` passes in nanoseconds per command, and the state digest after a pass
//! (equal digests show both builds computed the same market).
//!
//! Run: `cargo run --release -p synmarket-engine --example streams [prefix] [reps]`, where
//! `prefix` keeps the streams whose name starts with it (all by default) and `reps` defaults
//! to 5. To compare two commits, build this example in both (in separate target directories)
//! and alternate the two binaries a few times: the machines here are shared, so only figures
//! taken side by side in one session compare (BENCHMARKS.md, "Book storage").

// A measurement, not part of the engine: it may read the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::time::Instant;

use synmarket_engine::workload::{WorkloadSpec, apply, build};

fn main() {
    let prefix = std::env::args().nth(1).unwrap_or_default();
    let reps: usize = match std::env::args().nth(2).map(|r| r.parse()) {
        None => 5,
        Some(Ok(r)) if r > 0 => r,
        Some(_) => {
            eprintln!("streams: the second argument, the number of passes, must be a whole number above 0");
            std::process::exit(2);
        }
    };
    let mix = |resting| WorkloadSpec {
        resting,
        classes: 50,
        reputation_weight: 1.0,
        min_reputation_share: 0.2,
        selectivity: 0.1,
        cancel_share: 0.05,
        ops: 100_000,
        ..Default::default()
    };
    let streams = [
        ("depth/1000", WorkloadSpec { resting: 1000, ops: 200_000, ..Default::default() }),
        ("depth/10000", WorkloadSpec { resting: 10_000, ops: 200_000, ..Default::default() }),
        ("depth/100000", WorkloadSpec { resting: 100_000, ops: 200_000, ..Default::default() }),
        ("mix/10000", mix(10_000)),
        ("mix/100000", mix(100_000)),
        ("requests/10000", WorkloadSpec { request_share: Some(1.0), cancel_share: 0.0, ops: 20_000, ..mix(10_000) }),
        ("cancels30/10000", WorkloadSpec { cancel_share: 0.3, classes: 50, ops: 200_000, ..Default::default() }),
    ];
    for (label, spec) in streams.into_iter().filter(|(l, _)| l.starts_with(&prefix)) {
        let w = build(&spec);
        let (mut best, mut digest) = (f64::MAX, 0);
        for _ in 0..reps {
            // A fresh copy each pass, as the criterion benches clone the prepared market.
            let mut m = w.market.clone();
            let started = Instant::now();
            apply(&mut m, &w.cmds, w.start);
            best = best.min(started.elapsed().as_secs_f64());
            digest = m.state_digest();
        }
        println!("{label}\t{:.1} ns/command\tdigest {digest:016x}", best * 1e9 / w.cmds.len() as f64);
    }
}
