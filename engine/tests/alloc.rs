//! Allocation check: steady-state placement, cancel and match allocate (almost) nothing.
//!
//! This file is its own test binary, so its counting `#[global_allocator]` sees only this test's
//! work. Each case builds a seeded workload (`synmarket_engine::workload`), warms the market up
//! by applying the first part of the stream (so every `Vec`, `VecDeque` and scratch buffer has
//! reached its working size), then counts the allocations made while applying the next part.
//!
//! What still allocates in the steady state, amortised (see BENCHMARKS.md, "Allocations"):
//! - `BTreeSet` nodes of the offer and auction books: an insert that splits a full node
//!   allocates one, a remove that merges frees one. The book's size is steady, so splits and
//!   merges balance, but each split is a fresh allocation.
//! - the append-only history `Vec`s (orders, rank keys, assignments, escrows, the escrow trail)
//!   and the escrow-timeout FIFO, which grow by doubling: O(log n) reallocations over n ops.
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
    allocs_per_op: f64,
    bytes_per_op: f64,
}

/// The counter is global: tests of this binary run one at a time so they do not count each
/// other's allocations.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn count(label: &str, spec: WorkloadSpec) -> Count {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let spec = WorkloadSpec { ops: WARMUP + MEASURED, ..spec };
    let mut w = build(&spec);
    let (warm, measured) = w.cmds.split_at(WARMUP);
    apply(&mut w.market, warm, w.start);
    let region = Region::new(GLOBAL);
    apply(&mut w.market, measured, w.start + WARMUP as u64);
    let stats = region.change();
    let ops = measured.len() as f64;
    let c = Count {
        allocs_per_op: (stats.allocations + stats.reallocations) as f64 / ops,
        bytes_per_op: stats.bytes_allocated as f64 / ops,
    };
    eprintln!(
        "{label}: {} allocations + {} reallocations over {} ops = {:.4} per op, {:.1} bytes/op \
         ({} deallocations)",
        stats.allocations,
        stats.reallocations,
        measured.len(),
        c.allocs_per_op,
        c.bytes_per_op,
        stats.deallocations
    );
    c
}

/// Ceiling of (allocations + reallocations) per command. The measured values (BENCHMARKS.md)
/// are 0.05 to 0.11 per command, ~95 % of it `BTreeSet` node splits (dhat); anything that allocates once per
/// order or per match (a `Vec` or `Box` per event, a cloned spec) would show as ≥ 0.5.
const CEILING_PER_OP: f64 = 0.15;

/// One test function on purpose: the counter is global, so cases running on parallel test
/// threads would count each other's allocations.
#[test]
fn steady_state_placement_cancel_and_match_allocate_amortised_only() {
    let cases = [
        ("price priority, 10k resting", WorkloadSpec::default()),
        (
            "50 classes, reputation, filters, 5% cancels",
            WorkloadSpec {
                classes: 50,
                reputation_weight: 1.0,
                min_reputation_share: 0.2,
                selectivity: 0.1,
                cancel_share: 0.05,
                ..Default::default()
            },
        ),
        ("30% cancels, 50 classes", WorkloadSpec { cancel_share: 0.3, classes: 50, ..Default::default() }),
    ];
    for (label, spec) in cases {
        let c = count(label, spec);
        assert!(c.allocs_per_op < CEILING_PER_OP, "{label}: {} allocations per op", c.allocs_per_op);
    }
}
