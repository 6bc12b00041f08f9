//! Orders, matching in both directions, price rules, filters, auctions, cancellation, expiry and
//! price discovery (issue: the market engine).

mod common;
use common::Fx;
use synmarket_engine::*;

#[test]
fn request_after_resting_offers_takes_the_best() {
    let mut f = Fx::new(MarketConfig { reputation_weight: 0.0, ..Default::default() });
    let r = f.requester(100_000);
    let p1 = f.provider(50.0);
    let p2 = f.provider(50.0);
    f.offer(p1, 48, 100).unwrap();
    f.offer(p2, 45, 100).unwrap();
    f.request(r, 50, 100, 0.0).unwrap();
    let a = &f.m.assignments()[0];
    assert_eq!((a.provider, a.units, a.price_per_unit), (p2, 100, 45));
    f.ok();
}

#[test]
fn offer_after_open_auction_fills_it() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(100_000);
    let p = f.provider(50.0);
    let rid = f.request(r, 50, 100, 0.0).unwrap();
    assert_eq!(f.m.open_auctions(f.tt), 1);
    assert_eq!(f.m.wallet(r).locked, 5000);
    f.offer(p, 40, 300).unwrap();
    let a = &f.m.assignments()[0];
    assert_eq!((a.request, a.units, a.price_per_unit), (rid, 100, 40));
    assert_eq!(f.m.order(rid).unwrap().status, OrderStatus::Filled);
    assert_eq!(f.m.open_auctions(f.tt), 0);
    assert_eq!(f.m.resting_units(f.tt), 200);
    assert_eq!(f.m.wallet(r), Wallet { available: 100_000 - 4000, locked: 0 });
    f.ok();
}

#[test]
fn incoming_offer_serves_highest_bid_then_earliest() {
    let mut f = Fx::new(MarketConfig::default());
    let (r1, r2, r3) = (f.requester(100_000), f.requester(100_000), f.requester(100_000));
    let p = f.provider(50.0);
    let a = f.request(r1, 50, 10, 0.0).unwrap();
    let b = f.request(r2, 60, 10, 0.0).unwrap();
    let c = f.request(r3, 60, 10, 0.0).unwrap();
    f.offer(p, 40, 25).unwrap();
    let got: Vec<(OrderId, u64)> = f.m.assignments().iter().map(|x| (x.request, x.units)).collect();
    assert_eq!(got, vec![(b, 10), (c, 10), (a, 5)]);
    f.ok();
}

#[test]
fn price_rules_stay_within_ask_and_bid() {
    for (rule, resting_offer, expect) in [
        (PriceRule::Ask, true, 40),
        (PriceRule::Bid, true, 50),
        (PriceRule::Midpoint, true, 45),
        (PriceRule::Resting, true, 40),
        (PriceRule::Resting, false, 50),
    ] {
        let mut f = Fx::new(MarketConfig { pricing: rule, ..Default::default() });
        let r = f.requester(100_000);
        let p = f.provider(50.0);
        if resting_offer {
            f.offer(p, 40, 10).unwrap();
            f.request(r, 50, 10, 0.0).unwrap();
        } else {
            f.request(r, 50, 10, 0.0).unwrap();
            f.offer(p, 40, 10).unwrap();
        }
        assert_eq!(f.m.assignments()[0].price_per_unit, expect, "{rule:?} resting={resting_offer}");
        // The requester paid exactly price × units; the rest was unlocked.
        assert_eq!(f.m.wallet(r).available, 100_000 - expect * 10);
        f.ok();
    }
}

#[test]
fn midpoint_rounds_down() {
    let mut f = Fx::new(MarketConfig { pricing: PriceRule::Midpoint, ..Default::default() });
    let (_, _, a) = f.trade(50, 41, 10);
    assert_eq!(f.m.assignment(a).unwrap().price_per_unit, 45);
}

#[test]
fn min_reputation_filters_and_reputation_orders_priority_not_price() {
    // The design's narrated example: providers at 50, 120 and 175.
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(100_000);
    let p1 = f.provider(50.0);
    let p2 = f.provider(120.0);
    f.offer(p1, 45, 100).unwrap();
    f.offer(p2, 48, 100).unwrap();
    f.request(r, 50, 100, 60.0).unwrap();
    let a = &f.m.assignments()[0];
    assert_eq!((a.provider, a.price_per_unit), (p2, 48), "p1 is below the minimum reputation");
    // With weight 1: p3 at 175 asking 60 has weighted 60/1.75 = 34.3 < p4's 45/0.5 = 90.
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(100_000);
    let p3 = f.provider(175.0);
    let p4 = f.provider(10.0);
    f.offer(p4, 45, 100).unwrap();
    f.offer(p3, 60, 100).unwrap();
    f.request(r, 70, 100, 0.0).unwrap();
    let a = &f.m.assignments()[0];
    assert_eq!((a.provider, a.price_per_unit), (p3, 60), "priority by weighted ask, price is the ask");
    // With weight 0 the cheaper one wins.
    let mut f = Fx::new(MarketConfig { reputation_weight: 0.0, ..Default::default() });
    let r = f.requester(100_000);
    let p3 = f.provider(175.0);
    let p4 = f.provider(10.0);
    f.offer(p4, 45, 100).unwrap();
    f.offer(p3, 60, 100).unwrap();
    f.request(r, 70, 100, 0.0).unwrap();
    assert_eq!(f.m.assignments()[0].provider, p4);
    let _ = p3;
}

#[test]
fn capabilities_must_cover_needs() {
    let mut f = Fx::new(MarketConfig::default());
    let cuda = f.m.capabilities(["cuda"]).unwrap();
    let r = f.requester(100_000);
    let p = f.provider(50.0);
    f.offer(p, 40, 100).unwrap(); // holds rust only
    let spec = ComputeTaskSpec::new(f.tt, cuda.union(f.rust));
    f.m.place_order(NewOrder::buy(r, 50, 10, spec), 0).unwrap();
    assert!(f.m.assignments().is_empty());
    let p2 = f.provider(50.0);
    let spec = ComputeTaskSpec::new(f.tt, cuda.union(f.rust).with(9).unwrap());
    f.m.place_order(NewOrder::sell(p2, 40, 100, spec), 0).unwrap();
    assert_eq!(f.m.assignments()[0].provider, p2);
    f.ok();
}

#[test]
fn provider_slots_limit_an_auction() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000_000);
    let ps: Vec<PeerId> = (0..5).map(|_| f.provider(50.0)).collect();
    for &p in &ps {
        f.offer(p, 40, 50).unwrap();
    }
    // 250 units → clamp(250/100, 1, 10) = 2 slots: two providers of 50 units each, then closed.
    let rid = f.request(r, 50, 250, 0.0).unwrap();
    let o = f.m.order(rid).unwrap();
    assert_eq!((o.filled_units, o.providers_used, o.status), (100, 2, OrderStatus::Expired));
    assert_eq!(f.m.wallet(r).locked, 0);
    f.ok();
}

#[test]
fn auction_window_closes_and_unlocks() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(10_000);
    let rid = f.request(r, 50, 100, 0.0).unwrap();
    assert_eq!(f.m.wallet(r).locked, 5000);
    f.at(15 * MINUTE - 1);
    assert!(f.m.order(rid).unwrap().status.is_open());
    f.at(15 * MINUTE);
    assert_eq!(f.m.order(rid).unwrap().status, OrderStatus::Expired);
    assert_eq!(f.m.wallet(r), Wallet { available: 10_000, locked: 0 });
    let p = f.provider(50.0);
    f.offer(p, 40, 10).unwrap();
    assert!(f.m.assignments().is_empty(), "a closed auction takes no offers");
    f.ok();
}

#[test]
fn offers_expire() {
    let mut f = Fx::new(MarketConfig::default());
    let p = f.provider(50.0);
    let spec = ComputeTaskSpec::new(f.tt, f.rust);
    let oid = f.m.place_order(NewOrder { expires_at: Some(HOUR), ..NewOrder::sell(p, 40, 10, spec) }, 0).unwrap();
    assert_eq!(f.m.resting_units(f.tt), 10);
    f.at(HOUR);
    assert_eq!(f.m.order(oid).unwrap().status, OrderStatus::Expired);
    assert_eq!(f.m.resting_units(f.tt), 0);
    f.ok();
}

#[test]
fn cancel_only_by_owner_and_unlocks() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(10_000);
    let other = f.requester(10_000);
    let rid = f.request(r, 50, 100, 0.0).unwrap();
    let before = f.m.state_digest();
    assert!(matches!(f.m.cancel_order(rid, other, 0), Err(MarketError::NotAuthorized { .. })));
    assert_eq!(f.m.state_digest(), before);
    assert!(matches!(f.m.cancel_order(OrderId(99), r, 0), Err(MarketError::UnknownOrder(_))));
    f.m.cancel_order(rid, r, 0).unwrap();
    assert_eq!(f.m.order(rid).unwrap().status, OrderStatus::Cancelled);
    assert_eq!(f.m.wallet(r).locked, 0);
    assert!(matches!(f.m.cancel_order(rid, r, 0), Err(MarketError::WrongState { .. })));
    f.ok();
}

#[test]
fn partial_fill_keeps_the_remainder_and_never_overfills() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(100_000);
    let p = f.provider(50.0);
    f.offer(p, 40, 30).unwrap();
    // 200 units: two provider slots.
    let rid = f.request(r, 50, 200, 0.0).unwrap();
    let o = f.m.order(rid).unwrap();
    assert_eq!((o.filled_units, o.status), (30, OrderStatus::PartiallyFilled));
    assert_eq!(f.m.wallet(r).locked, 170 * 50);
    let p2 = f.provider(50.0);
    f.offer(p2, 45, 500).unwrap();
    let o = f.m.order(rid).unwrap();
    assert_eq!((o.filled_units, o.status), (200, OrderStatus::Filled));
    assert_eq!(f.m.wallet(r), Wallet { available: 100_000 - 30 * 40 - 170 * 45, locked: 0 });
    f.ok();
}

#[test]
fn rejected_inputs_change_nothing() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000);
    let p = f.provider(50.0);
    let before = f.m.state_digest();
    let spec = ComputeTaskSpec::new(f.tt, f.rust);
    let req = Side::Buy;
    let place =
        |m: &mut Market, t, who, price, units, spec| m.place_order(NewOrder::new(t, who, price, units, spec), 0);
    assert_eq!(place(&mut f.m, req, r, 10, 0, spec), Err(MarketError::ZeroUnits));
    assert_eq!(place(&mut f.m, req, r, 0, 10, spec), Err(MarketError::ZeroPrice));
    assert!(matches!(place(&mut f.m, req, r, u64::MAX, 2, spec), Err(MarketError::Overflow { .. })));
    let unknown = ComputeTaskSpec::new(TaskTypeId(7), f.rust);
    assert_eq!(place(&mut f.m, req, r, 10, 10, unknown), Err(MarketError::UnknownTaskType(TaskTypeId(7))));
    for bad in [f64::NAN, -1.0, f64::INFINITY] {
        let mut s = spec;
        s.min_reputation = bad;
        assert!(matches!(place(&mut f.m, req, r, 10, 10, s), Err(MarketError::InvalidMinReputation(_))));
    }
    assert!(matches!(place(&mut f.m, req, PeerId(99), 10, 10, spec), Err(MarketError::UnknownPeer(_))));
    assert!(matches!(place(&mut f.m, req, r, 10, 101, spec), Err(MarketError::InsufficientFunds { .. })));
    assert_eq!(place(&mut f.m, Side::Sell, r, 10, 10, spec), Err(MarketError::NoAccount(r)));
    let _ = p;
    assert_eq!(f.m.state_digest(), before);
    assert_eq!(f.m.counters().orders_rejected, 10);
    assert!(f.m.orders().is_empty());
    f.ok();
}

#[test]
fn time_cannot_go_backwards() {
    let mut f = Fx::new(MarketConfig::default());
    f.at(1000);
    assert!(matches!(f.m.advance_to(999), Err(MarketError::TimeWentBackwards { .. })));
}

#[test]
fn price_discovery_window_slides() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000_000);
    let p = f.provider(50.0);
    f.offer(p, 40, 1000).unwrap();
    f.request(r, 50, 10, 0.0).unwrap();
    f.at(HOUR);
    f.offer(p, 30, 1000).unwrap();
    f.request(r, 50, 30, 0.0).unwrap();
    let s = f.m.price_discovery(f.tt, HOUR).unwrap().unwrap();
    assert_eq!((s.count, s.min_price, s.max_price, s.volume_units), (2, 30, 40, 40));
    assert_eq!(s.vwap, (400.0 + 900.0) / 40.0);
    assert_eq!(s.mean_price, 35.0);
    let s = f.m.price_discovery(f.tt, DAY).unwrap().unwrap();
    assert_eq!(s.count, 1, "the first trade left the 24 h window");
    assert!(f.m.price_discovery(f.tt, 2 * DAY).unwrap().is_none());
}

#[test]
fn same_operations_same_events() {
    let run = || {
        let mut f = Fx::new(MarketConfig::default());
        let r = f.requester(1_000_000);
        let p = f.provider(80.0);
        f.offer(p, 40, 100).unwrap();
        f.request(r, 50, 150, 0.0).unwrap();
        f.at(20 * MINUTE);
        (f.m.drain_events().collect::<Vec<_>>().len(), f.m.ledger_digest(), f.m.state_digest())
    };
    assert_eq!(run(), run());
}

#[test]
fn open_orders_keep_placement_order_whatever_closes_first() {
    let mut f = Fx::new(MarketConfig::default());
    let spec = PeerSpec { endowment: 1_000_000, account: Some(AccountId(77)), ..Default::default() };
    let x = f.m.register_peer(spec, 0).unwrap();
    let other = f.provider(50.0);
    // x's offers ask 100 and its requests bid 10: nothing trades, everything stays open.
    let mut mine = Vec::new();
    for i in 0..9 {
        mine.push(if i % 3 == 2 { f.request(x, 10, 5, 0.0) } else { f.offer(x, 100, 5) }.unwrap());
        f.offer(other, 100, 5).unwrap(); // interleaved ids of another peer
    }
    let open = |f: &Fx| f.m.open_orders(x).to_vec();
    assert_eq!(open(&f), mine);
    // Close the middle, then the head, then the tail, then a neighbour of an earlier gap.
    for pos in [4, 0, 8, 3] {
        f.m.cancel_order(mine[pos], x, 0).unwrap();
        let left: Vec<OrderId> = mine.iter().copied().filter(|o| f.m.order(*o).unwrap().status.is_open()).collect();
        assert_eq!(open(&f), left);
        assert_eq!(f.m.open_orders(x).len(), left.len());
        assert_eq!(f.m.open_orders(x).first(), left.first());
    }
    // New orders go to the end; a pause then cancels the offers only, in placement order.
    let late = f.offer(x, 100, 5).unwrap();
    f.m.drain_events().for_each(drop);
    f.m.set_paused(x, true, 0).unwrap();
    let cancelled: Vec<OrderId> =
        f.m.drain_events()
            .filter_map(|e| match e {
                MarketEvent::OrderCancelled { order, .. } => Some(order),
                _ => None,
            })
            .collect();
    assert_eq!(cancelled, vec![mine[1], mine[6], mine[7], late]);
    assert_eq!(open(&f), vec![mine[2], mine[5]]);
    assert_eq!(f.m.open_orders(other).len(), 9);
    assert!(f.m.open_orders(PeerId(999)).is_empty());
    // The agents' cancel-all loop (the borrow of the view ends before the cancel).
    while let Some(&oid) = f.m.open_orders(other).first() {
        if f.m.cancel_order(oid, other, 0).is_err() {
            break;
        }
    }
    assert!(f.m.open_orders(other).is_empty());
    f.ok();
}

#[test]
fn emptied_capability_classes_are_walked_again_when_they_refill() {
    let cfg = MarketConfig { reputation_weight: 0.0, slot_divisor: 1, slot_cap: 8, ..Default::default() };
    let mut f = Fx::new(cfg);
    let r = f.requester(10_000_000);
    let p = f.provider(50.0);
    let classes: Vec<CapabilitySet> =
        ["a", "b", "c", "d"].iter().map(|n| f.m.capabilities([*n, "rust"]).unwrap()).collect();
    let offer = |f: &mut Fx, class: usize, ask: u64| {
        let spec = ComputeTaskSpec::new(f.tt, classes[class]);
        f.m.place_order(NewOrder::sell(p, ask, 10, spec), 0).unwrap()
    };
    let first: Vec<OrderId> = (0..4).map(|c| offer(&mut f, c, 50 + c as u64)).collect();
    // Empty classes 0 and 2 (an offer's class book and walk listing both go), then refill 2, then 0.
    f.m.cancel_order(first[2], p, 0).unwrap();
    f.m.cancel_order(first[0], p, 0).unwrap();
    let refill_2 = offer(&mut f, 2, 40);
    let refill_0 = offer(&mut f, 0, 41);
    f.m.drain_events().for_each(drop);
    // A request needing only "rust" walks every class: best asks first, refilled classes included.
    f.request(r, 100, 40, 0.0).unwrap();
    let got: Vec<OrderId> = f.m.assignments().iter().map(|a| a.offer).collect();
    assert_eq!(got, vec![refill_2, refill_0, first[1], first[3]]);
    // Every class is empty now; an auction in an emptied need class is served once it reopens.
    assert_eq!(f.m.resting_offers(f.tt), 0);
    let spec = ComputeTaskSpec::new(f.tt, classes[1]);
    let req = f.m.place_order(NewOrder::buy(r, 60, 10, spec), 0).unwrap();
    f.m.cancel_order(req, r, 0).unwrap();
    let req = f.m.place_order(NewOrder::buy(r, 60, 10, spec), 0).unwrap();
    let served = offer(&mut f, 1, 55);
    let last = f.m.assignments().last().unwrap();
    assert_eq!((last.request, last.offer), (req, served));
    f.ok();
}

/// The heads index (book.rs, "Heads") is book layout only: the benches' streams, with many
/// classes and every selectivity, end in the same state with the index as it comes by default,
/// always on, always off, and switching on and off, and with providers in lanes or not. The
/// selective streams take the walk's fallback (opening the eligible buckets directly) too.
#[test]
fn the_heads_index_changes_no_result() {
    use synmarket_engine::workload::{WorkloadSpec, apply, build};
    let streams = [
        WorkloadSpec { ops: 3_000, ..WorkloadSpec::mix(3_000) },
        WorkloadSpec { ops: 3_000, request_share: Some(0.8), ..WorkloadSpec::mix(2_000) },
        WorkloadSpec { ops: 3_000, eligible_share: Some(0.3), ..WorkloadSpec::mix(3_000) },
        WorkloadSpec { ops: 3_000, eligible_share: Some(0.1), ..WorkloadSpec::mix(3_000) },
        WorkloadSpec { ops: 3_000, eligible_share: Some(0.03), request_share: Some(0.7), ..WorkloadSpec::mix(3_000) },
        WorkloadSpec { ops: 3_000, eligible_share: Some(0.01), ..WorkloadSpec::mix(3_000) },
        WorkloadSpec { ops: 3_000, selectivity: 0.3, classes: 12, ..WorkloadSpec::mix(2_000) },
        WorkloadSpec { ops: 3_000, ..WorkloadSpec::price_priority(2_000) },
    ];
    for spec in &streams {
        let w = build(spec);
        let digest = |heads: Option<(usize, usize)>, lanes: Option<(u64, u64)>| {
            let mut m = w.market.clone();
            if let Some((from, until)) = heads {
                m.set_heads_thresholds(from, until);
            }
            if let Some((from, until)) = lanes {
                m.set_lane_thresholds(from, until);
            }
            apply(&mut m, &w.cmds, w.start);
            m.check_invariants().unwrap();
            m.state_digest()
        };
        let expected = digest(None, None);
        for heads in [Some((0, 0)), Some((usize::MAX, usize::MAX)), Some((30, 29)), Some((3, 1))] {
            for lanes in [None, Some((2, 0))] {
                assert_eq!(digest(heads, lanes), expected, "{spec:?} with heads {heads:?}, lanes {lanes:?}");
            }
        }
    }
}
