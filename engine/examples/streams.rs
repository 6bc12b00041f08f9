//! The benches' command streams in a plain loop, for A/B runs of two builds: for each stream,
//! the best of `reps` passes in nanoseconds per command, each on a clone of the prepared market
//! sized ahead with `Market::reserve` (as in `benches/matching.rs`), and the state digest after
//! a pass (equal digests show both builds computed the same market).
//!
//! Run: `cargo run --release -p synmarket-engine --example streams [prefix] [reps]`, where
//! `prefix` keeps the streams whose name starts with it (all by default; a stream's full name
//! keeps that stream alone) and `reps` defaults to 10. To compare two commits, build this example in both (in separate target directories)
//! and alternate the two binaries a few times: the machines here are shared, so only figures
//! taken side by side in one session compare (BENCHMARKS.md, "Book storage").

// A measurement, not part of the engine: it may read the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::time::Instant;

use synmarket_engine::workload::{WorkloadSpec, apply, build};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() > 2 {
        eprintln!("streams: at most two arguments, a stream prefix and a number of passes; got {}", args.len());
        std::process::exit(2);
    }
    let prefix = args.first().cloned().unwrap_or_default();
    let reps: usize = match args.get(1).map(|r| r.parse()) {
        None => 10,
        Some(Ok(r)) if r > 0 => r,
        Some(_) => {
            eprintln!("streams: the second argument, the number of passes, must be a whole number above 0");
            std::process::exit(2);
        }
    };
    // The streams of `benches/matching.rs`, under the same names and with the same specs.
    let (mix, depth) = (WorkloadSpec::mix, WorkloadSpec::price_priority);
    let streams = [
        ("depth/price_priority/1000", depth(1_000)),
        ("depth/price_priority/10000", depth(10_000)),
        ("depth/price_priority/100000", depth(100_000)),
        ("mix/50_classes/1000", mix(1_000)),
        ("mix/50_classes/10000", mix(10_000)),
        ("mix/50_classes/100000", mix(100_000)),
        ("requests/filtered/10000", WorkloadSpec { request_share: Some(1.0), cancel_share: 0.0, ..mix(10_000) }),
        ("selectivity/eligible/1", WorkloadSpec { eligible_share: Some(1.0), ..mix(10_000) }),
        ("selectivity/eligible/0.1", WorkloadSpec { eligible_share: Some(0.1), ..mix(10_000) }),
        ("selectivity/eligible/0.01", WorkloadSpec { eligible_share: Some(0.01), ..mix(10_000) }),
        ("selectivity/eligible/0.001", WorkloadSpec { eligible_share: Some(0.001), ..mix(10_000) }),
    ];
    if !streams.iter().any(|(l, _)| l.starts_with(&prefix)) {
        let names: Vec<&str> = streams.iter().map(|(l, _)| *l).collect();
        eprintln!("streams: no stream starts with \"{prefix}\"; the streams are {}", names.join(", "));
        std::process::exit(2);
    }
    // A full name runs that stream alone (`depth/price_priority/10000` is also a prefix of the
    // 100000 stream).
    let exact = streams.iter().any(|(l, _)| *l == prefix);
    let wanted = |l: &str| if exact { l == prefix } else { l.starts_with(&prefix) };
    for (label, spec) in streams.into_iter().filter(|(l, _)| wanted(l)) {
        let w = build(&spec);
        let (mut best, mut digest) = (f64::MAX, 0);
        for _ in 0..reps {
            // A fresh copy each pass, sized ahead for the stream, as the criterion benches
            // prepare theirs (a clone holds no spare room, so its first placement would
            // otherwise copy the whole history inside the timed part).
            let mut m = w.market.clone();
            m.reserve(w.cmds.len(), w.cmds.len());
            let started = Instant::now();
            apply(&mut m, &w.cmds, w.start);
            best = best.min(started.elapsed().as_secs_f64());
            digest = m.state_digest();
        }
        println!("{label}\t{:.1} ns/command\tdigest {digest:016x}", best * 1e9 / w.cmds.len() as f64);
    }
}
