//! Allocation check: steady-state placement, cancel and match allocate nothing.
//!
//! This file is its own test binary, so its counting `#[global_allocator]` sees only this test's
//! work. Each case builds a seeded workload (`synmarket_engine::workload`), warms the market up
//! by applying the first part of the stream (so every scratch buffer and the books' node pools
//! have reached their working size), then counts the allocations made while applying the next
//! part, twice: once as it is, once after `Market::reserve` made room for the measured part.
//!
//! - As it is, nothing allocates a fresh block: the books keep their ordered sets in shared node
//!   pools (`engine/src/forest.rs`) that reuse freed nodes, and scratch buffers keep their
//!   capacity. What remains are *reallocations*, which move memory too (about 78 MB here): the
//!   append-only history (orders, assignments, escrows, the escrow trail), the timer FIFOs, the
//!   price window and the node pools (these streams' books grow) grow by doubling, O(log n)
//!   times over n commands.
//! - After `reserve`, nothing allocates or reallocates at all: 0 per command.
//!
//! Allocations are counted by `stats_alloc` (a wrapper around the system allocator that needs
//! no `unsafe` code here, which the workspace forbids).

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use synmarket_engine::workload::{WorkloadSpec, apply, build};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Commands applied before counting.
const WARMUP: usize = 100_000;
/// Commands counted.
const MEASURED: usize = 100_000;

struct Count {
    allocations: usize,
    reallocations: usize,
}

/// The counter is global: tests of this binary run one at a time so they do not count each
/// other's allocations.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Counts the allocations of the `MEASURED` commands after the warm-up; with `reserve`, after
/// `Market::reserve` made room for them.
fn count(label: &str, spec: &WorkloadSpec, reserve: bool) -> Count {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let spec = WorkloadSpec { ops: WARMUP + MEASURED, ..spec.clone() };
    let mut w = build(&spec);
    let (warm, measured) = w.cmds.split_at(WARMUP);
    apply(&mut w.market, warm, w.start);
    if reserve {
        // A command places at most one order; these streams make 0.54 matches per command.
        w.market.reserve(MEASURED, MEASURED);
    }
    let region = Region::new(GLOBAL);
    apply(&mut w.market, measured, w.start + WARMUP as u64);
    let stats = region.change();
    eprintln!(
        "{label}{}: {} allocations + {} reallocations over {} ops, {:.1} bytes/op ({} deallocations)",
        if reserve { ", reserved" } else { "" },
        stats.allocations,
        stats.reallocations,
        measured.len(),
        stats.bytes_allocated as f64 / measured.len() as f64,
        stats.deallocations
    );
    Count { allocations: stats.allocations, reallocations: stats.reallocations }
}

/// Reallocations the unreserved history may make over `MEASURED` commands: each of its growing
/// `Vec`s and `VecDeque`s (about 15) doubles at most once or twice while the market's history
/// grows from `WARMUP` to `WARMUP + MEASURED` commands. Anything that allocated per order or per
/// match would show as tens of thousands.
const REALLOCATIONS_CEILING: usize = 40;

/// `reserve` is a hint: values no allocator can meet are dropped, never a panic or an abort,
/// and the market runs on.
#[test]
fn reserve_takes_hostile_hints_without_panicking() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let spec = WorkloadSpec { ops: 2_000, ..WorkloadSpec::mix(1_000) };
    let mut w = build(&spec);
    for (orders, matches) in [(usize::MAX, usize::MAX), (usize::MAX, 0), (0, usize::MAX), (1 << 40, 1 << 40)] {
        w.market.reserve(orders, matches);
    }
    let accepted = apply(&mut w.market, &w.cmds, w.start);
    assert!(accepted > 0);
    w.market.check_invariants().expect("invariants after hostile reserve hints");
}

/// One test function on purpose: the counter is global, so cases running on parallel test
/// threads would count each other's allocations.
#[test]
fn steady_state_placement_cancel_and_match_allocate_nothing() {
    let cases = [
        ("price priority, 10k resting", WorkloadSpec::default()),
        ("50 classes, reputation, filters, 5% cancels", WorkloadSpec { selectivity: 0.1, ..WorkloadSpec::mix(10_000) }),
        ("30% cancels, 50 classes", WorkloadSpec { cancel_share: 0.3, classes: 50, ..Default::default() }),
    ];
    for (label, spec) in cases {
        let c = count(label, &spec, false);
        assert_eq!(c.allocations, 0, "{label}: fresh allocations in the steady state");
        assert!(c.reallocations <= REALLOCATIONS_CEILING, "{label}: {} reallocations", c.reallocations);
        let c = count(label, &spec, true);
        assert_eq!((c.allocations, c.reallocations), (0, 0), "{label}: allocations after reserve");
    }
}
