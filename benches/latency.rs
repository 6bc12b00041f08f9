//! Placement latency in a closed loop: one caller places the commands of a seeded stream one
//! after the other (`synmarket_engine::workload`), timing each `place_order` / `cancel_order`
//! call with the wall clock into an HdrHistogram, and prints p50 / p99 / p99.9 / max per
//! workload. Events are drained every 1,024 commands outside the timed calls, as
//! `workload::apply` does.
//!
//! Each workload is run in `PASSES` passes from a fresh clone of the prepared market; the table
//! shows the pass with the lowest p99 (the machine is shared: other passes are printed too)
//! and the cost of the timer itself (two `Instant::now` calls), which every figure includes.
//!
//! It also prints the memory footprint: heap bytes per resting order (placing 100,000 offers
//! that never match) and per agent (`Simulation::new` for the large scenario at 10,000 and
//! 100,000 agents: agents, peers, wallets, reputation, queue), measured by a counting allocator
//! (`stats_alloc`, a few ns per allocation; placement itself does not allocate).
//!
//! Run: `cargo bench --bench latency` (a `harness = false` binary: it prints a table).

use std::hint::black_box;
use std::time::Instant;

use std::alloc::System;
use std::path::Path;

use hdrhistogram::Histogram;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use synmarket::run::simulation_spec;
use synmarket::scenario::Scenario;
use synmarket_agents::Simulation;
use synmarket_engine::workload::{Cmd, WorkloadSpec, build, config};
use synmarket_engine::{AccountId, ComputeTaskSpec, Market, NewOrder, PeerSpec};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const PASSES: usize = 3;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("histogram bounds")
}

fn quantiles(h: &Histogram<u64>) -> [u64; 4] {
    [h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.value_at_quantile(0.999), h.max()]
}

/// Times every command of `spec`'s stream, once per pass; returns (placement, cancel)
/// histograms of the pass with the lowest placement p99, and every pass's quantiles.
fn run(spec: &WorkloadSpec) -> (Histogram<u64>, Histogram<u64>, Vec<[u64; 4]>) {
    let w = build(spec);
    let mut best: Option<(Histogram<u64>, Histogram<u64>)> = None;
    let mut passes = Vec::new();
    for _ in 0..PASSES {
        let mut m = w.market.clone();
        let (mut place, mut cancel) = (histogram(), histogram());
        for (i, c) in w.cmds.iter().enumerate() {
            let now = w.start + i as u64;
            match *c {
                Cmd::Place { side, trader, price, units, spec, signature } => {
                    let t = Instant::now();
                    let r =
                        m.place_order(NewOrder { signature, ..NewOrder::new(side, trader, price, units, spec) }, now);
                    let ns = t.elapsed().as_nanos() as u64;
                    black_box(r.is_ok());
                    place.record(ns.max(1)).expect("in range");
                }
                Cmd::Cancel { order, trader } => {
                    let t = Instant::now();
                    let r = m.cancel_order(order, trader, now);
                    let ns = t.elapsed().as_nanos() as u64;
                    black_box(r.is_ok());
                    cancel.record(ns.max(1)).expect("in range");
                }
            }
            if i % 1024 == 1023 {
                m.drain_events().for_each(drop);
            }
        }
        passes.push(quantiles(&place));
        if best.as_ref().is_none_or(|(b, _)| place.value_at_quantile(0.99) < b.value_at_quantile(0.99)) {
            best = Some((place, cancel));
        }
    }
    let (p, c) = best.expect("at least one pass");
    (p, c, passes)
}

fn timer_overhead() -> Histogram<u64> {
    let mut h = histogram();
    for _ in 0..200_000 {
        let t = Instant::now();
        let ns = black_box(t).elapsed().as_nanos() as u64;
        h.record(ns.max(1)).expect("in range");
    }
    h
}

/// Bytes per resting offer: the order record (`Order` in the history `Vec`, its rank key and
/// bucket, its lane index, its entry in the owner's open list) plus the bytes of the book's
/// tree nodes in use (`Market::book_node_bytes`), over 100,000 resting offers placed after
/// 150,000 others were placed and cancelled (no requests, so none match). Returns the bytes per
/// offer, the record's part, and the nodes the pools hold per offer (freed ones included).
fn bytes_per_resting_order() -> (f64, usize, f64) {
    const N: u64 = 100_000;
    let mut m = Market::new(config(&WorkloadSpec::default())).expect("config");
    let tt = m.register_task_type("bench").expect("task type");
    let peers: Vec<_> = (0..1_000u64)
        .map(|i| m.register_peer(PeerSpec { account: Some(AccountId(i + 1)), ..Default::default() }, 0).expect("peer"))
        .collect();
    let place = |m: &mut Market, i: u64| {
        let p = peers[(i % 1_000) as usize];
        let caps = synmarket_engine::CapabilitySet::single(1 + (i % 50) as u8).expect("capability below 128");
        let spec = ComputeTaskSpec::new(tt, caps);
        (m.place_order(NewOrder::sell(p, 100 + i % 100, 100, spec), 0).expect("offer"), p)
    };
    let warm: Vec<_> = (0..150_000).map(|i| place(&mut m, i)).collect();
    for &(id, p) in &warm {
        m.cancel_order(id, p, 0).expect("cancel");
    }
    m.drain_events().for_each(drop);
    for i in 0..N {
        place(&mut m, i);
    }
    let (in_use, held) = m.book_node_bytes();
    let record = std::mem::size_of::<synmarket_engine::Order>() + 8 + 1 + 4 + 8;
    (in_use as f64 / N as f64 + record as f64, record, held as f64 / N as f64)
}

/// Net heap bytes per agent of a freshly built simulation of the large scenario.
fn bytes_per_agent(agents: u64) -> f64 {
    let counts = [4000u64, 2600, 1800, 800, 420, 280, 100];
    let mut o: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| format!("population[{i}].count={}", (c * agents / 10_000).max(1)))
        .collect();
    o.push("scenario.duration=1h".into());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/large.toml");
    let s = Scenario::load_with_overrides(&path, &o).expect("large scenario");
    let spec = simulation_spec(&s);
    let region = Region::new(GLOBAL);
    let sim = Simulation::new(spec).expect("simulation");
    let st = region.change();
    black_box(&sim);
    (st.bytes_allocated as f64 + st.bytes_reallocated as f64 - st.bytes_deallocated as f64) / agents as f64
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let ops = if quick { 2_000 } else { 200_000 };
    let mix = |resting| WorkloadSpec { ops: ops / 10, ..WorkloadSpec::mix(resting) };
    let workloads: Vec<(&str, WorkloadSpec)> = vec![
        ("price priority, 10k resting", WorkloadSpec { ops, ..Default::default() }),
        ("price priority, 100k resting", WorkloadSpec { resting: 100_000, ops, ..Default::default() }),
        ("50 classes + reputation filters + 5% cancels, 10k", mix(10_000)),
        (
            "  same, requests only",
            WorkloadSpec { request_share: Some(1.0), cancel_share: 0.0, ops: ops / 10, ..mix(10_000) },
        ),
        ("  same, 0.1% of offers eligible", WorkloadSpec { eligible_share: Some(0.001), ..mix(10_000) }),
        ("  same, signatures verified", WorkloadSpec { verify_signatures: true, ops: ops / 100, ..mix(10_000) }),
    ];
    let (per_order, record, held) = bytes_per_resting_order();
    println!(
        "footprint: {per_order:.1} bytes per resting offer ({record} for the order record, rank key and bucket, lane index and open-list \
         entry; the rest book nodes in use; the node pools hold {held:.1} bytes per offer, freed nodes included)"
    );
    if !quick {
        for agents in [10_000, 100_000] {
            println!("footprint: {:.0} heap bytes per agent at start ({agents} agents)", bytes_per_agent(agents));
        }
    }
    println!();
    let t = quantiles(&timer_overhead());
    println!("placement latency, closed loop, one thread (ns; best of {PASSES} passes by p99)");
    println!("timer overhead (Instant::now pair): p50 {} p99 {} p99.9 {} max {}", t[0], t[1], t[2], t[3]);
    println!();
    println!("| workload | calls | p50 ns | p99 ns | p99.9 ns | max ns | cancel p50 / p99 ns | p99 of each pass |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for (label, spec) in &workloads {
        let (place, cancel, passes) = run(spec);
        let q = quantiles(&place);
        let cq = quantiles(&cancel);
        let cancel_cell = if cancel.is_empty() { "–".to_string() } else { format!("{} / {}", cq[0], cq[1]) };
        let pass_p99: Vec<String> = passes.iter().map(|p| p[1].to_string()).collect();
        println!(
            "| {label} | {} | {} | {} | {} | {} | {cancel_cell} | {} |",
            place.len(),
            q[0],
            q[1],
            q[2],
            q[3],
            pass_p99.join(", ")
        );
    }
}
