//! Matching throughput of the engine on seeded, pre-generated command streams
//! (`synmarket_engine::workload`), and two baselines over the same data: a plain `BTreeMap`
//! price-priority book, and a naive scan over every offer for capability and reputation filters.
//!
//! Every engine bench builds its market and stream once, outside the timed part; each iteration
//! clones the prepared market, sizes the clone ahead for the stream with `Market::reserve` (as a
//! caller that knows its scale does; a clone holds no spare room, so without it the first
//! placement would copy the whole history inside the timed part) and applies the whole stream
//! (`iter_batched`, `BatchSize::LargeInput`: the clone, the reserve and the drop are not timed). Before timing, the stream is applied once
//! and the market's `state_digest` is checked against the value pinned below: an optimisation
//! that changes results fails the bench instead of silently speeding up something else.
//!
//! Run: `cargo bench --bench matching` (one group: `cargo bench --bench matching -- depth`).
//! BENCHMARKS.md has the numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use synmarket_engine::workload::{Cmd, SplitMix, Workload, WorkloadSpec, apply, build};
use synmarket_engine::{CapabilitySet, Market, OrderId, Side};

/// Applies the stream to a clone of the prepared market and checks the digest. With
/// `SYNMARKET_REPIN=1` in the environment it prints the digest instead of checking it (to re-pin
/// after a change that is meant to change results).
fn check_digest(name: &str, w: &Workload, pinned: u64) {
    let mut m = w.market.clone();
    apply(&mut m, &w.cmds, w.start);
    let got = m.state_digest();
    if std::env::var_os("SYNMARKET_REPIN").is_some() {
        eprintln!("digest {name}: {got:#018x}");
        return;
    }
    assert_eq!(got, pinned, "{name}: state digest {got:#018x} differs from the pinned {pinned:#018x}: results changed");
}

/// One engine bench: `spec` applied from a clone of the prepared market, per command.
fn bench_stream(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, spec: &WorkloadSpec, pinned: u64) {
    let w = build(spec);
    check_digest(name, &w, pinned);
    g.throughput(Throughput::Elements(w.cmds.len() as u64));
    g.bench_function(name, |b| {
        b.iter_batched(
            || {
                let mut m = w.market.clone();
                m.reserve(w.cmds.len(), w.cmds.len());
                m
            },
            |mut m| {
                black_box(apply(&mut m, &w.cmds, w.start));
                m
            },
            BatchSize::LargeInput,
        )
    });
}

fn configure(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
}

/// Plain price priority (one class, no filters) at resting depths of 1k, 10k, 100k offers.
fn depth(c: &mut Criterion) {
    let mut g = c.benchmark_group("depth");
    configure(&mut g);
    for (resting, pinned) in
        [(1_000, 0x4a0d_4a5b_3e1e_fd65), (10_000, 0xd3ba_d3fd_f91c_c263), (100_000, 0x1bd3_26da_1885_7fe1)]
    {
        let spec = WorkloadSpec::price_priority(resting);
        bench_stream(&mut g, &format!("price_priority/{resting}"), &spec, pinned);
    }
    g.finish();
}

/// The realistic mix at 1k, 10k, 100k resting offers.
fn realistic(c: &mut Criterion) {
    let mut g = c.benchmark_group("mix");
    configure(&mut g);
    for (resting, pinned) in
        [(1_000, 0x705a_d653_1fc3_c94d), (10_000, 0x6032_989b_c715_2cb1), (100_000, 0xc46c_09a2_67a3_99d2)]
    {
        bench_stream(&mut g, &format!("50_classes/{resting}"), &WorkloadSpec::mix(resting), pinned);
    }
    g.finish();
}

/// Requests only, over 10k resting offers in 50 classes with reputation filters: the cost of
/// one filtered compute match (walk, escrow, assignment) per request.
fn requests(c: &mut Criterion) {
    let mut g = c.benchmark_group("requests");
    configure(&mut g);
    let spec = WorkloadSpec { request_share: Some(1.0), cancel_share: 0.0, ops: 10_000, ..WorkloadSpec::mix(10_000) };
    bench_stream(&mut g, "filtered/10000", &spec, 0xd683_c316_9a9e_efd0);
    g.finish();
}

/// Filter selectivity: the share of offers whose capabilities admit a request, down to 0.1 %
/// (10 of 10,000 resting offers), in 50 classes with reputation filters.
fn selectivity(c: &mut Criterion) {
    let mut g = c.benchmark_group("selectivity");
    configure(&mut g);
    for (share, pinned) in [
        (1.0, 0x8bca_06f6_39eb_6a1f),
        (0.1, 0x2003_6d68_dd28_e919),
        (0.01, 0xef67_3988_15e8_dbe9),
        (0.001, 0x8175_6ac7_fdd8_e002),
    ] {
        let spec = WorkloadSpec { eligible_share: Some(share), ..WorkloadSpec::mix(10_000) };
        bench_stream(&mut g, &format!("eligible/{share}"), &spec, pinned);
    }
    g.finish();
}

/// The realistic mix with every order signed and every signature verified (ed25519).
fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("signatures");
    configure(&mut g);
    let spec = WorkloadSpec { verify_signatures: true, ops: 2_000, ..WorkloadSpec::mix(10_000) };
    bench_stream(&mut g, "verify/10000", &spec, 0x3e23_c736_7dc7_b7b2);
    g.finish();
}

// ----- baselines -------------------------------------------------------------------------------

/// A plain `BTreeMap` price-priority book, 10,000 resting: each op inserts an ask or takes the
/// best one, evenly (the same 50/50 shape as the engine's price-priority stream).
fn btree_book(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    configure(&mut g);
    let mut rng = SplitMix::seed_from_u64(7);
    let mut book: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut id = 0u64;
    for _ in 0..10_000 {
        book.insert((rng.below(100, 200), id), rng.below(1, 5) * 100);
        id += 1;
    }
    let ops: Vec<Option<(u64, u64)>> =
        (0..100_000).map(|_| (rng.next_u64() & 1 == 0).then(|| (rng.below(100, 200), rng.below(1, 5) * 100))).collect();
    g.throughput(Throughput::Elements(ops.len() as u64));
    g.bench_function("btreemap_book/10000", |b| {
        b.iter_batched(
            || (book.clone(), id),
            |(mut book, mut id)| {
                for op in &ops {
                    match *op {
                        Some((price, units)) => {
                            book.insert((price, id), units);
                            id += 1;
                        }
                        None => {
                            black_box(book.pop_first());
                        }
                    }
                }
                book
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// An offer as the filter baselines see it.
#[derive(Clone, Copy)]
struct Offer {
    id: OrderId,
    ask: u64,
    caps: CapabilitySet,
    rep: f64,
    weighted_bits: u64,
}

/// A request's filter.
#[derive(Clone, Copy)]
struct Filter {
    bid: u64,
    needs: CapabilitySet,
    min_rep: f64,
}

fn qualifies(o: &Offer, f: &Filter) -> bool {
    o.ask <= f.bid && f.min_rep <= o.rep && f.needs.is_subset_of(o.caps)
}

/// The naive way: look at every offer, keep the best qualifying key.
fn naive_best(offers: &[Offer], f: &Filter) -> Option<OrderId> {
    let mut best: Option<(u64, OrderId)> = None;
    for o in offers {
        if qualifies(o, f) && best.is_none_or(|b| (o.weighted_bits, o.id) < b) {
            best = Some((o.weighted_bits, o.id));
        }
    }
    best.map(|b| b.1)
}

/// The engine's way: per capability class a price-ordered set; visit the classes that cover the
/// needs, merge them from the best key, stop at the first offer that passes the filters.
struct Indexed {
    classes: Vec<(CapabilitySet, BTreeSet<(u64, OrderId)>)>,
    /// `2^k`: a weighted key above `bid × 2^k` cannot have `ask <= bid`.
    prune_factor: f64,
}

type Cursor<'a> = std::collections::btree_set::Iter<'a, (u64, OrderId)>;

impl Indexed {
    fn new(offers: &[Offer], k: f64) -> Self {
        let mut classes: Vec<(CapabilitySet, BTreeSet<(u64, OrderId)>)> = Vec::new();
        for o in offers {
            let i = match classes.iter().position(|c| c.0 == o.caps) {
                Some(i) => i,
                None => {
                    classes.push((o.caps, BTreeSet::new()));
                    classes.len() - 1
                }
            };
            classes[i].1.insert((o.weighted_bits, o.id));
        }
        Indexed { classes, prune_factor: 2f64.powf(k) }
    }

    fn best<'a>(
        &'a self,
        f: &Filter,
        lookup: &[Offer],
        heads: &mut Vec<(u64, OrderId)>,
        cursors: &mut Vec<Cursor<'a>>,
    ) -> Option<OrderId> {
        let prune_above = f.bid as f64 * self.prune_factor;
        heads.clear();
        cursors.clear();
        for (caps, set) in &self.classes {
            if f.needs.is_subset_of(*caps) {
                let mut it = set.iter();
                if let Some(&h) = it.next() {
                    heads.push(h);
                    cursors.push(it);
                }
            }
        }
        while !heads.is_empty() {
            let mut best = 0;
            for i in 1..heads.len() {
                if heads[i] < heads[best] {
                    best = i;
                }
            }
            let (bits, id) = heads[best];
            if f64::from_bits(bits) > prune_above {
                return None;
            }
            if qualifies(&lookup[id.index()], f) {
                return Some(id);
            }
            match cursors[best].next() {
                Some(&n) => heads[best] = n,
                None => {
                    heads.swap_remove(best);
                    drop(cursors.swap_remove(best));
                }
            }
        }
        None
    }
}

/// Naive scan vs capability-indexed, price-ordered walk: find the best offer that passes a
/// request's capability, reputation and price filters, over the same 10,000 resting offers in
/// 50 classes, for the requests of the realistic mix. Read-only: nothing is executed.
fn filters(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter");
    configure(&mut g);
    let spec = WorkloadSpec { eligible_share: Some(0.1), ..WorkloadSpec::mix(10_000) };
    let w = build(&spec);
    let m: &Market = &w.market;
    let k = m.config().reputation_weight;
    let offers: Vec<Offer> = m
        .orders()
        .iter()
        .filter(|o| o.side == Side::Sell && o.status.is_open())
        .map(|o| {
            let rep = m.reputation(o.trader);
            let f = (rep / 100.0).clamp(0.5, 2.0).powf(k);
            Offer {
                id: o.id,
                ask: o.price_per_unit,
                caps: o.spec.capabilities,
                rep,
                weighted_bits: (o.price_per_unit as f64 / f).to_bits(),
            }
        })
        .collect();
    // Offers by order id, for the walk's lookups (as the engine's `orders` Vec).
    let mut lookup =
        vec![
            Offer { id: OrderId(0), ask: u64::MAX, caps: CapabilitySet::EMPTY, rep: 0.0, weighted_bits: 0 };
            m.orders().len()
        ];
    for o in &offers {
        lookup[o.id.index()] = *o;
    }
    let reqs: Vec<Filter> = w
        .cmds
        .iter()
        .filter_map(|c| match *c {
            Cmd::Place { side: Side::Buy, price, spec, .. } => {
                Some(Filter { bid: price, needs: spec.capabilities, min_rep: spec.min_reputation })
            }
            _ => None,
        })
        .take(10_000)
        .collect();
    let idx = Indexed::new(&offers, k);
    let (mut heads, mut cursors) = (Vec::new(), Vec::new());
    let naive: Vec<_> = reqs.iter().map(|f| naive_best(&offers, f)).collect();
    let walked: Vec<_> = reqs.iter().map(|f| idx.best(f, &lookup, &mut heads, &mut cursors)).collect();
    assert_eq!(naive, walked, "the naive scan and the indexed walk disagree");
    let found = naive.iter().filter(|x| x.is_some()).count();
    assert!(found > reqs.len() / 2, "only {found} of {} requests found an offer", reqs.len());
    g.throughput(Throughput::Elements(reqs.len() as u64));
    g.bench_function(format!("naive_scan/{}", offers.len()), |b| {
        b.iter(|| reqs.iter().filter(|f| naive_best(&offers, f).is_some()).count())
    });
    g.bench_function(format!("indexed_walk/{}", offers.len()), |b| {
        let (mut heads, mut cursors) = (Vec::new(), Vec::new());
        b.iter(|| reqs.iter().filter(|f| idx.best(f, &lookup, &mut heads, &mut cursors).is_some()).count())
    });
    g.finish();
}

criterion_group!(benches, depth, realistic, requests, selectivity, signatures, btree_book, filters);
criterion_main!(benches);
