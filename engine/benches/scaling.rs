//! `scaling/`: calls that must cost the same however large the world around them is. Each call is
//! timed on three worlds, 1×, 10× and 100×, that differ only in entries the call should not have
//! to look at (task types, open orders of the same peer, capability classes, task types with
//! trades in their price window). The figure to read is the ratio of the 100× time to the 1× time
//! of one run: within 2× means flat (issue "Performance", BENCHMARKS.md "Scaling").
//!
//! Run: `cargo bench -p synmarket-engine --bench scaling`.
//!
//! | bench | world | the call |
//! |---|---|---|
//! | `intern_task_type/N` | N task types | find an existing task type by name |
//! | `cancel_newest/N` | one provider with N open offers | cancel its newest offer and place it again |
//! | `class_lookup/N` | N capability classes with a resting offer each | place an offer of an existing class and cancel it |
//! | `clock_advance/N` | N task types, each with a trade in its price window | advance the clock 1 ms |
//! | `filtered_k0/N` | N cheap offers of providers below a request's reputation floor, `reputation_weight = 0` | place a request with `min_reputation` that rests, and cancel it |
//! | `private_k0/N` | the same, the floor set by the `Private` privacy level | place a private request that rests, and cancel it |
//! | `offer_unservable/N` | N open requests whose reputation floor (150) is above the provider's (100) | place an offer that rests, and cancel it |
//! | `best_ask_classes/N` | N capability classes that held an offer once and are empty, one live offer | the best ask under first-accept |
//! | `cap_exhausted/N` | a provider with no usage-cap room left resting N cheap offers | place a request that rests, and cancel it |
//! | `offer_unattested/N` | N open confidential requests; the provider lacks the attestation | place an offer that rests, and cancel it |
//! | `rerank/N` | one provider resting N offers (300 and more: in lanes), `reputation_weight = 1`, its reputation decaying | advance the clock one decay step: the provider's reputation changes and its offers re-rank |
//! | `rerank_few/N` | the same with 10, 100 and 250 offers, below the lane threshold (256) | the same: bounded by the threshold, linear below it |
//! | `parked_best_ask/N` | a provider with no usage-cap room left resting N offers | the best ask under first-accept |
//! | `request_classes/N` | N capability classes, each with an offer above the bid | an offer with no capabilities and the request that takes it: a walk that must not open a cursor per class |
//! | `request_rare_need/N` | N classes with offers below the bid, every tenth class also holding capability 121 with an offer above it; a class {121, 127} | an offer of class {121, 127} and a request needing {121} that takes it: a walk that must not pass every class whose cheaper offers lack the need |
//! | `request_joint_needs/N` | N classes with offers below the bid holding capability 120 or 121 but not both, every tenth class holding both with an offer above it; a class {120, 121, 127} | an offer of class {120, 121, 127} and a request needing {120, 121} that takes it: a walk that must not pass every class that holds one of its needs |
//! | `request_few_joint/N` | N classes with offers below the bid holding capability 120 or 121 but not both, and 3 classes (whatever N) holding both with an offer above it; a class {120, 121, 127} | an offer of class {120, 121, 127} and a request needing {120, 121} that takes it: a walk that must not pass every class that holds one of its needs when too few hold both for a heads index |
//! | `request_high_floor/N` | N classes holding capability 121, each resting an offer below the bid of a provider (reputation 50) below the request's floor (120); a class {121, 127} | an offer of class {121, 127} by a provider of reputation 150 and a request needing {121} with that floor that takes it: a walk that must not pass every class whose offers all lie below its floor |
//! | `arbitrator_draw/N` | N registered arbitrators, escrows of type `Arbitrators { required: 2, total: 3 }` | an offer and the request that takes it: one match, its escrow and its three arbitrators |

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use synmarket_engine::{
    AccountId, CapabilitySet, ComputeTaskSpec, Market, MarketConfig, MultiSigType, NewOrder, OrderId, PeerId, PeerSpec,
    ReputationConfig, TaskTypeId,
};

/// World sizes: 1×, 10×, 100× of `base`.
fn sizes(base: usize) -> [usize; 3] {
    [base, base * 10, base * 100]
}

fn configure(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
}

/// A market with long windows, so that nothing expires while a bench runs.
fn market() -> Market {
    market_with(MarketConfig::default())
}

/// [`market`] with `config`'s other rules.
fn market_with(config: MarketConfig) -> Market {
    let day = 86_400_000;
    Market::new(MarketConfig {
        auction_window_ms: 365 * day,
        default_max_response_ms: 365 * day,
        escrow_timeout_ms: 365 * day,
        price_window_ms: 365 * day,
        retain_ledger: false,
        ..config
    })
    .expect("bench config is valid")
}

/// Places `order` (which rests), cancels it and drops the events: one timed call of the benches
/// whose world must not change between iterations.
fn place_and_cancel(m: &mut Market, order: NewOrder) {
    let id = m.place_order(order, 0).expect("order");
    m.cancel_order(id, order.trader, 0).expect("cancel");
    m.drain_events().for_each(drop);
}

/// A provider peer with account `i + 1` and `spec`'s other fields.
fn provider_with(m: &mut Market, i: u64, spec: PeerSpec) -> PeerId {
    m.register_peer(PeerSpec { account: Some(AccountId(i + 1)), ..spec }, 0).expect("provider")
}

fn provider(m: &mut Market, i: u64) -> PeerId {
    provider_with(m, i, PeerSpec::default())
}

fn requester(m: &mut Market) -> PeerId {
    m.register_peer(PeerSpec { endowment: u64::MAX / 8, ..PeerSpec::default() }, 0).expect("requester")
}

/// A capability set for class `c` (two of the 127 capability bits; 8001 distinct sets).
fn class(c: usize) -> CapabilitySet {
    let (a, b) = (c % 127, (c / 127) % 127);
    CapabilitySet((1u128 << a) | (1u128 << b))
}

/// A market with one task type and one provider resting `n` one-unit offers, the k-th with
/// capabilities `caps(k)`; returns the market, the task type, the provider and the last offer.
fn resting_offers(n: usize, caps: impl Fn(usize) -> CapabilitySet) -> (Market, TaskTypeId, PeerId, OrderId) {
    let mut m = market();
    let tt = m.register_task_type("bench").expect("task type");
    let p = provider(&mut m, 0);
    let mut last = None;
    for k in 0..n.max(1) {
        last = Some(m.place_order(NewOrder::sell(p, 100, 1, ComputeTaskSpec::new(tt, caps(k))), 0).expect("offer"));
    }
    m.drain_events().for_each(drop);
    (m, tt, p, last.expect("at least one offer"))
}

fn intern_task_type(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/intern_task_type");
    configure(&mut g);
    for n in sizes(300) {
        let mut m = market();
        let names: Vec<String> = (0..n).map(|i| format!("task-{i:06}")).collect();
        for name in &names {
            m.register_task_type(name).expect("register");
        }
        let probe = names[n / 2].clone();
        g.bench_function(n.to_string(), |b| b.iter(|| black_box(m.register_task_type(black_box(&probe)))));
    }
    g.finish();
}

fn cancel_newest(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/cancel_newest");
    configure(&mut g);
    for n in sizes(10) {
        let (mut m, tt, p, mut last) = resting_offers(n, |_| CapabilitySet::EMPTY);
        let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        g.bench_function(n.to_string(), |b| {
            b.iter(|| {
                m.cancel_order(last, p, 0).expect("cancel");
                last = m.place_order(NewOrder::sell(p, 100, 1, spec), 0).expect("offer");
                m.drain_events().for_each(drop);
            })
        });
    }
    g.finish();
}

fn class_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/class_lookup");
    configure(&mut g);
    for n in sizes(40) {
        let (mut m, tt, p, _) = resting_offers(n, class);
        let spec = ComputeTaskSpec::new(tt, class(n / 2));
        g.bench_function(n.to_string(), |b| b.iter(|| place_and_cancel(&mut m, NewOrder::sell(p, 100, 1, spec))));
    }
    g.finish();
}

fn clock_advance(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/clock_advance");
    configure(&mut g);
    for n in sizes(100) {
        let mut m = market();
        let p = provider(&mut m, 0);
        let r = requester(&mut m);
        let types: Vec<TaskTypeId> =
            (0..n).map(|i| m.register_task_type(&format!("task-{i:06}")).expect("task type")).collect();
        // One trade per task type puts something into every price window.
        for &tt in &types {
            let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
            m.place_order(NewOrder::sell(p, 100, 1, spec), 0).expect("offer");
            m.place_order(NewOrder::buy(r, 100, 1, spec), 0).expect("request");
        }
        m.drain_events().for_each(drop);
        let mut now = 1;
        g.bench_function(n.to_string(), |b| {
            b.iter(|| {
                m.advance_to(now).expect("advance");
                now += 1;
            })
        });
    }
    g.finish();
}

/// `n` providers of reputation 50 resting a cheap offer each (ask 50), one of reputation 150 asking
/// 200, and a requester; reputation does not weigh (k = 0).
fn low_reputation_offers(n: usize) -> (Market, TaskTypeId, PeerId) {
    let mut m =
        market_with(MarketConfig { reputation_weight: 0.0, private_min_reputation: 120.0, ..MarketConfig::default() });
    let tt = m.register_task_type("bench").expect("task type");
    let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
    let with_reputation = |r: f64| PeerSpec { initial_reputation: Some(r), ..PeerSpec::default() };
    for i in 0..n {
        let p = provider_with(&mut m, i as u64, with_reputation(50.0));
        m.place_order(NewOrder::sell(p, 50, 1, spec), 0).expect("offer");
    }
    let good = provider_with(&mut m, n as u64, with_reputation(150.0));
    m.place_order(NewOrder::sell(good, 200, 1, spec), 0).expect("offer");
    let r = requester(&mut m);
    m.drain_events().for_each(drop);
    (m, tt, r)
}

fn filtered(c: &mut Criterion, name: &str, privacy: synmarket_engine::PrivacyLevel, min_reputation: f64) {
    let mut g = c.benchmark_group(format!("scaling/{name}"));
    configure(&mut g);
    for n in sizes(100) {
        let (mut m, tt, r) = low_reputation_offers(n);
        let mut spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        spec.min_reputation = min_reputation;
        spec.privacy_level = privacy;
        // Bid 100: every cheap offer is below it but fails the floor; the one that passes asks
        // 200. The request rests, and is cancelled.
        g.bench_function(n.to_string(), |b| b.iter(|| place_and_cancel(&mut m, NewOrder::buy(r, 100, 1, spec))));
    }
    g.finish();
}

fn filtered_k0(c: &mut Criterion) {
    filtered(c, "filtered_k0", synmarket_engine::PrivacyLevel::Public, 120.0);
}

fn private_k0(c: &mut Criterion) {
    filtered(c, "private_k0", synmarket_engine::PrivacyLevel::Private, 0.0);
}

/// `n` open requests bidding 100 that a reputation-100 provider without the attestation cannot
/// serve (`min_reputation` 150, or `Confidential`), and that provider.
fn unservable(c: &mut Criterion, name: &str, privacy: synmarket_engine::PrivacyLevel, min_reputation: f64) {
    let mut g = c.benchmark_group(format!("scaling/{name}"));
    configure(&mut g);
    for n in sizes(100) {
        let mut m = market();
        let tt = m.register_task_type("bench").expect("task type");
        let r = requester(&mut m);
        let mut spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        spec.min_reputation = min_reputation;
        spec.privacy_level = privacy;
        for _ in 0..n {
            m.place_order(NewOrder::buy(r, 100, 1, spec), 0).expect("request");
        }
        let p = provider(&mut m, 0);
        m.drain_events().for_each(drop);
        let offer = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        g.bench_function(n.to_string(), |b| b.iter(|| place_and_cancel(&mut m, NewOrder::sell(p, 50, 1, offer))));
    }
    g.finish();
}

fn offer_unservable(c: &mut Criterion) {
    unservable(c, "offer_unservable", synmarket_engine::PrivacyLevel::Public, 150.0);
}

fn offer_unattested(c: &mut Criterion) {
    unservable(c, "offer_unattested", synmarket_engine::PrivacyLevel::Confidential, 0.0);
}

/// A market whose one provider used up its usage cap (1 unit a day) on a first trade and then
/// rests `n` offers asking `ask`, and a requester; returns the market, the task type and the
/// requester (whose requests bid 100).
fn exhausted_provider(n: usize, ask: u64) -> (Market, TaskTypeId, PeerId) {
    let mut m = market();
    let tt = m.register_task_type("bench").expect("task type");
    let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
    let p = provider_with(&mut m, 0, PeerSpec { usage_cap_units: Some(1), ..PeerSpec::default() });
    let r = requester(&mut m);
    m.place_order(NewOrder::sell(p, 50, 1, spec), 0).expect("offer");
    m.place_order(NewOrder::buy(r, 100, 1, spec), 0).expect("the trade that uses the cap");
    for _ in 0..n {
        m.place_order(NewOrder::sell(p, ask, 1, spec), 0).expect("offer");
    }
    m.drain_events().for_each(drop);
    (m, tt, r)
}

/// The provider of [`exhausted_provider`] rests `n` offers at 50; a request bidding 100 would
/// walk all of them if the exhausted provider were not parked (matching.rs).
fn cap_exhausted(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/cap_exhausted");
    configure(&mut g);
    for n in sizes(100) {
        let (mut m, tt, r) = exhausted_provider(n, 50);
        let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        g.bench_function(n.to_string(), |b| b.iter(|| place_and_cancel(&mut m, NewOrder::buy(r, 100, 1, spec))));
    }
    g.finish();
}

/// A provider of reputation 150 rests `n` offers at distinct asks; its reputation decays towards
/// the initial 100 with a half-life of 10^9 ms in steps of 1 ms, so every step changes its score
/// (and, at k = 1, every offer's weighted ask) without ever reaching the target within a bench.
fn rerank(c: &mut Criterion) {
    rerank_group(c, "rerank", sizes(300));
    // Below the lane threshold (256 resting offers) each offer is re-keyed: bounded, not flat.
    rerank_group(c, "rerank_few", [10, 100, 250]);
}

fn rerank_group(c: &mut Criterion, name: &str, sizes: [usize; 3]) {
    let mut g = c.benchmark_group(format!("scaling/{name}"));
    configure(&mut g);
    for n in sizes {
        let reputation = ReputationConfig { decay_half_life_ms: 1_000_000_000, decay_step_ms: 1, ..Default::default() };
        let mut m = market_with(MarketConfig { reputation_weight: 1.0, reputation, ..MarketConfig::default() });
        let tt = m.register_task_type("bench").expect("task type");
        let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        let p = provider_with(&mut m, 0, PeerSpec { initial_reputation: Some(150.0), ..PeerSpec::default() });
        for k in 0..n as u64 {
            m.place_order(NewOrder::sell(p, 100 + k, 1, spec), 0).expect("offer");
        }
        m.drain_events().for_each(drop);
        let mut now = 1;
        g.bench_function(n.to_string(), |b| {
            b.iter(|| {
                m.advance_to(now).expect("advance");
                now += 1;
            })
        });
    }
    g.finish();
}

/// The provider of [`exhausted_provider`] with `n` offers at 60: parked out of the class books
/// once a request has walked them, and the first-accept best ask must still see them.
fn parked_best_ask(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/parked_best_ask");
    configure(&mut g);
    for n in sizes(100) {
        let (mut m, tt, r) = exhausted_provider(n, 60);
        // A request that walks them parks the provider.
        place_and_cancel(&mut m, NewOrder::buy(r, 100, 1, ComputeTaskSpec::new(tt, CapabilitySet::EMPTY)));
        assert_eq!(m.best_ask(tt), Some(60));
        g.bench_function(n.to_string(), |b| b.iter(|| black_box(m.best_ask(black_box(tt)))));
    }
    g.finish();
}

fn arbitrator_draw(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/arbitrator_draw");
    configure(&mut g);
    for n in sizes(100) {
        let escrow = MultiSigType::Arbitrators { required: 2, total: 3 };
        let mut m = market_with(MarketConfig { escrow, ..MarketConfig::default() });
        let tt = m.register_task_type("bench").expect("task type");
        let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        for _ in 0..n {
            m.register_peer(PeerSpec { arbitrator: true, ..PeerSpec::default() }, 0).expect("arbitrator");
        }
        let p = provider(&mut m, n as u64);
        let r = requester(&mut m);
        g.bench_function(n.to_string(), |b| {
            b.iter(|| {
                m.place_order(NewOrder::sell(p, 100, 1, spec), 0).expect("offer");
                m.place_order(NewOrder::buy(r, 100, 1, spec), 0).expect("request");
                m.drain_events().for_each(drop);
            })
        });
    }
    g.finish();
}

fn request_classes(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/request_classes");
    configure(&mut g);
    for n in sizes(10) {
        let mut m = market();
        let tt = m.register_task_type("bench").expect("task type");
        let p = provider(&mut m, 0);
        for k in 0..n {
            m.place_order(NewOrder::sell(p, 150, 1, ComputeTaskSpec::new(tt, class(k))), 0).expect("offer");
        }
        let cheap = provider(&mut m, 1);
        let r = requester(&mut m);
        let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        m.drain_events().for_each(drop);
        g.bench_function(n.to_string(), |b| {
            b.iter(|| {
                m.place_order(NewOrder::sell(cheap, 100, 1, spec), 0).expect("offer");
                m.place_order(NewOrder::buy(r, 120, 1, spec), 0).expect("request");
                m.drain_events().for_each(drop);
            })
        });
        assert_eq!(m.best_ask(tt), Some(150), "every request took the cheap offer");
    }
    g.finish();
}

/// The three benches below: `name`'s group times, among N classes (the k-th with capabilities
/// and ask `class(k)`, each resting one offer), an offer holding `needs` and 127 at 100 and a
/// request needing `needs` at 120 that takes it. With a `floor`, the classes' provider has
/// reputation 50, the taker's 150, and the request asks for `floor`.
fn take_among_classes(
    c: &mut Criterion,
    name: &str,
    needs: u128,
    floor: Option<f64>,
    class: impl Fn(usize) -> (u128, u64),
) {
    let mut g = c.benchmark_group(name);
    configure(&mut g);
    let with_reputation = |r: f64| PeerSpec { initial_reputation: floor.map(|_| r), ..PeerSpec::default() };
    for n in sizes(10) {
        let mut m = market();
        let tt = m.register_task_type("bench").expect("task type");
        let p = provider_with(&mut m, 0, with_reputation(50.0));
        for k in 0..n {
            let (caps, ask) = class(k);
            m.place_order(NewOrder::sell(p, ask, 1, ComputeTaskSpec::new(tt, CapabilitySet(caps))), 0).expect("offer");
        }
        let cheap = provider_with(&mut m, 1, with_reputation(150.0));
        let r = requester(&mut m);
        let offer = ComputeTaskSpec::new(tt, CapabilitySet(needs | 1 << 127));
        let mut request = ComputeTaskSpec::new(tt, CapabilitySet(needs));
        request.min_reputation = floor.unwrap_or(0.0);
        m.drain_events().for_each(drop);
        g.bench_function(n.to_string(), |b| {
            b.iter(|| {
                m.place_order(NewOrder::sell(cheap, 100, 1, offer), 0).expect("offer");
                m.place_order(NewOrder::buy(r, 120, 1, request), 0).expect("request");
                m.drain_events().for_each(drop);
            })
        });
        assert_eq!(m.best_ask(tt), Some(90), "every request took the cheap offer of its class");
        assert_eq!(m.open_orders(r).len(), 0, "no request rested");
    }
    g.finish();
}

fn request_rare_need(c: &mut Criterion) {
    let need = 1u128 << 121;
    take_among_classes(c, "scaling/request_rare_need", need, None, |k| {
        // Two or three capabilities of 0..120 per class, a distinct set per class; every tenth
        // class adds the need.
        let base = (1u128 << (k % 100)) | (1u128 << (100 + (k / 100) % 20)) | (1u128 << (1 + k / 2000));
        if k % 10 == 0 { (base | need, 150) } else { (base, 90) }
    });
}

fn request_joint_needs(c: &mut Criterion) {
    let (a, b) = (1u128 << 120, 1u128 << 121);
    take_among_classes(c, "scaling/request_joint_needs", a | b, None, |k| {
        // Two capabilities of 0..120 per class, a distinct pair per class (at most 10,000).
        let base = (1u128 << (k % 100)) | (1u128 << (100 + (k / 100) % 20));
        match k % 10 {
            0 => (base | a | b, 150),
            r if r % 2 == 0 => (base | a, 90),
            _ => (base | b, 90),
        }
    });
}

fn request_few_joint(c: &mut Criterion) {
    let (a, b) = (1u128 << 120, 1u128 << 121);
    take_among_classes(c, "scaling/request_few_joint", a | b, None, |k| {
        // Two capabilities of 0..120 per class, a distinct pair per class; three classes hold
        // both needs, whatever the world's size, the others one of them.
        let base = (1u128 << (k % 100)) | (1u128 << (100 + (k / 100) % 20));
        match k {
            0..3 => (base | a | b, 150),
            _ if k % 2 == 0 => (base | a, 90),
            _ => (base | b, 90),
        }
    });
}

fn request_high_floor(c: &mut Criterion) {
    let need = 1u128 << 121;
    take_among_classes(c, "scaling/request_high_floor", need, Some(120.0), |k| {
        // Every class holds the need and rests a cheaper offer than the taker's, of a provider
        // below the request's reputation floor; a distinct set per class.
        let base = (1u128 << (k % 100)) | (1u128 << (100 + (k / 100) % 20)) | (1u128 << (1 + k / 2000));
        (base | need, 90)
    });
}

fn best_ask_classes(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling/best_ask_classes");
    configure(&mut g);
    for n in sizes(40) {
        let mut m = market();
        let tt = m.register_task_type("bench").expect("task type");
        let p = provider(&mut m, 0);
        for k in 0..n {
            let id = m.place_order(NewOrder::sell(p, 100, 1, ComputeTaskSpec::new(tt, class(k))), 0).expect("offer");
            m.cancel_order(id, p, 0).expect("cancel");
        }
        m.place_order(NewOrder::sell(p, 90, 1, ComputeTaskSpec::new(tt, CapabilitySet::EMPTY)), 0).expect("offer");
        m.drain_events().for_each(drop);
        g.bench_function(n.to_string(), |b| b.iter(|| black_box(m.best_ask(black_box(tt)))));
    }
    g.finish();
}

criterion_group!(
    scaling,
    best_ask_classes,
    request_classes,
    request_rare_need,
    request_joint_needs,
    request_few_joint,
    request_high_floor,
    cap_exhausted,
    intern_task_type,
    cancel_newest,
    class_lookup,
    clock_advance,
    filtered_k0,
    private_k0,
    offer_unservable,
    offer_unattested,
    rerank,
    parked_best_ask,
    arbitrator_draw
);
criterion_main!(scaling);
