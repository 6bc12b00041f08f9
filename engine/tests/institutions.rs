//! The market institutions (`MarketConfig::institution`), rule by rule: the continuous double
//! auction's improvement rule, resting-order price and book clearing; the sealed-bid reverse
//! auction's window, award and first and second price; the call market's uniform price and its
//! tie rules; and the configuration keys that belong to one institution only.

mod common;

use common::Fx;
use synmarket_engine::*;

fn with(institution: Institution) -> MarketConfig {
    MarketConfig { institution, reputation_weight: 0.0, fee_bps: 0, ..MarketConfig::default() }
}

fn prices(fx: &Fx) -> Vec<(u64, u64)> {
    fx.m.assignments().iter().map(|a| (a.price_per_unit, a.units)).collect()
}

// ----- continuous double auction ------------------------------------------------------------

#[test]
fn cda_refuses_quotes_that_neither_improve_nor_cross() {
    let mut fx = Fx::new(with(Institution::ContinuousDoubleAuction));
    let (r1, r2) = (fx.requester(10_000), fx.requester(10_000));
    let (p1, p2) = (fx.provider(100.0), fx.provider(100.0));
    fx.request(r1, 90, 1, 0.0).unwrap();
    fx.offer(p1, 110, 1).unwrap();
    // Not above the best bid 90, not reaching the ask 110.
    let e = fx.request(r2, 90, 1, 0.0).unwrap_err();
    assert_eq!(e, MarketError::NotImproving { side: Side::Buy, price_per_unit: 90, best: 90 });
    assert_eq!(e.code(), "not_improving");
    assert_eq!(
        e.to_string(),
        "a bid of 90 does not beat the best bid of 90 and does not reach the other side \
         (the continuous double auction's improvement rule)"
    );
    let e = fx.offer(p2, 115, 1).unwrap_err();
    assert_eq!(e, MarketError::NotImproving { side: Side::Sell, price_per_unit: 115, best: 110 });
    // A refused order changes nothing and leaves a trace only as OrderRejected.
    assert_eq!(fx.m.orders().len(), 2);
    // Improving quotes are accepted and become the best.
    fx.request(r2, 95, 1, 0.0).unwrap();
    fx.offer(p2, 105, 1).unwrap();
    assert_eq!((fx.m.best_bid(fx.tt), fx.m.best_ask(fx.tt)), (Some(95), Some(105)));
    assert!(fx.m.assignments().is_empty());
    fx.ok();
}

#[test]
fn cda_trades_at_the_resting_orders_price_whatever_arrives() {
    let mut fx = Fx::new(with(Institution::ContinuousDoubleAuction));
    let (r1, r2) = (fx.requester(10_000), fx.requester(10_000));
    let (p1, p2) = (fx.provider(100.0), fx.provider(100.0));
    // An ask rests at 100; a bid of 120 crosses it and pays 100.
    fx.offer(p1, 100, 1).unwrap();
    fx.request(r1, 120, 1, 0.0).unwrap();
    // A bid rests at 130; an ask of 90 crosses it and gets 130.
    fx.request(r2, 130, 1, 0.0).unwrap();
    fx.offer(p2, 90, 1).unwrap();
    assert_eq!(prices(&fx), vec![(100, 1), (130, 1)]);
    fx.ok();
}

#[test]
fn cda_clears_the_book_after_each_trade_when_asked() {
    let config = MarketConfig { clear_book_after_trade: true, ..with(Institution::ContinuousDoubleAuction) };
    let mut fx = Fx::new(config);
    let (r1, r2) = (fx.requester(10_000), fx.requester(10_000));
    let (p1, p2, p3) = (fx.provider(100.0), fx.provider(100.0), fx.provider(100.0));
    fx.request(r1, 80, 1, 0.0).unwrap();
    fx.offer(p1, 120, 1).unwrap();
    fx.offer(p2, 110, 1).unwrap();
    fx.m.drain_events();
    // A bid of 115 takes the ask of 110; every other order of the task type is cancelled.
    fx.request(r2, 115, 1, 0.0).unwrap();
    assert_eq!(prices(&fx), vec![(110, 1)]);
    assert_eq!((fx.m.best_bid(fx.tt), fx.m.best_ask(fx.tt)), (None, None));
    let events: Vec<MarketEvent> = fx.m.drain_events().collect();
    let cleared: Vec<OrderId> = events
        .iter()
        .filter_map(|e| match e {
            MarketEvent::OrderCancelled { order, .. } => Some(*order),
            _ => None,
        })
        .collect();
    // Requests first (the bid of 80), then offers (the ask of 120).
    assert_eq!(cleared, vec![OrderId(0), OrderId(1)]);
    assert!(events.iter().any(|e| matches!(e, MarketEvent::AuctionClosed { reason: CloseReason::BookCleared, .. })));
    // Every lock is returned: the requesters hold only what they did not pay.
    assert_eq!(fx.m.wallet(r1).locked + fx.m.wallet(r2).locked, 0);
    // A new quote after the clearing starts a fresh book.
    fx.offer(p3, 150, 1).unwrap();
    fx.ok();
}

// ----- sealed-bid reverse auction -----------------------------------------------------------

#[test]
fn sealed_bid_awards_at_the_window_end_to_the_lowest_asks_at_first_price() {
    let mut fx = Fx::new(with(Institution::SealedBidReverse));
    let window = fx.m.config().auction_window_ms;
    let r = fx.requester(1_000_000);
    let (p1, p2, p3) = (fx.provider(100.0), fx.provider(100.0), fx.provider(100.0));
    // 200 units: two provider slots (slot_divisor 100).
    fx.offer(p1, 90, 100).unwrap(); // rests before the request: bids on it too
    fx.request(r, 100, 200, 0.0).unwrap();
    fx.offer(p2, 70, 100).unwrap();
    fx.offer(p3, 80, 100).unwrap();
    assert!(fx.m.assignments().is_empty(), "nothing matches during the window");
    fx.at(window - 1);
    assert!(fx.m.assignments().is_empty());
    fx.at(window);
    let winners: Vec<(PeerId, u64)> = fx.m.assignments().iter().map(|a| (a.provider, a.price_per_unit)).collect();
    assert_eq!(winners, vec![(p2, 70), (p3, 80)]);
    assert!(fx.m.assignments().iter().all(|a| a.assigned_at == window));
    assert_eq!(fx.m.wallet(r).locked, 0);
    fx.ok();
}

#[test]
fn sealed_bid_second_price_pays_the_best_losing_ask_of_another_provider() {
    let config = MarketConfig { sealed_bid_price: SealedBidPrice::SecondPrice, ..with(Institution::SealedBidReverse) };
    let mut fx = Fx::new(config.clone());
    let window = fx.m.config().auction_window_ms;
    let r = fx.requester(10_000);
    let (p1, p2, p3) = (fx.provider(100.0), fx.provider(100.0), fx.provider(100.0));
    fx.request(r, 100, 1, 0.0).unwrap();
    fx.offer(p1, 60, 1).unwrap();
    fx.offer(p1, 65, 1).unwrap(); // the winner's own second offer does not set its price
    fx.offer(p2, 85, 1).unwrap();
    fx.offer(p3, 95, 1).unwrap();
    fx.at(window);
    let a = &fx.m.assignments()[0];
    assert_eq!((a.provider, a.ask, a.price_per_unit), (p1, 60, 85));
    fx.ok();

    // With no other qualifying provider the winner is paid the bid (the reserve).
    let mut fx = Fx::new(config);
    let r = fx.requester(10_000);
    let p = fx.provider(100.0);
    fx.request(r, 100, 1, 0.0).unwrap();
    fx.offer(p, 60, 1).unwrap();
    fx.offer(p, 70, 1).unwrap();
    fx.at(window);
    assert_eq!(prices(&fx), vec![(100, 1)]);
    fx.ok();
}

#[test]
fn sealed_bid_second_price_with_reputation_weight_pays_the_winners_threshold() {
    // k = 1: weighted ask = ask / (rep / 100). The winner (rep 200) asks 150, weighted 75; the
    // runner-up (rep 100) asks 90, weighted 90. The winner would still win up to ask 180, capped
    // at the bid of 170.
    let config = MarketConfig {
        sealed_bid_price: SealedBidPrice::SecondPrice,
        reputation_weight: 1.0,
        ..with(Institution::SealedBidReverse)
    };
    let mut fx = Fx::new(config.clone());
    let window = fx.m.config().auction_window_ms;
    let r = fx.requester(10_000);
    let (good, plain) = (fx.provider(200.0), fx.provider(100.0));
    fx.request(r, 170, 1, 0.0).unwrap();
    fx.offer(good, 150, 1).unwrap();
    fx.offer(plain, 90, 1).unwrap();
    fx.at(window);
    let a = &fx.m.assignments()[0];
    assert_eq!((a.provider, a.price_per_unit), (good, 170));
    fx.ok();
    // With a bid of 200 the threshold 180 is paid.
    let mut fx = Fx::new(config);
    let r = fx.requester(10_000);
    let (good, plain) = (fx.provider(200.0), fx.provider(100.0));
    fx.request(r, 200, 1, 0.0).unwrap();
    fx.offer(good, 150, 1).unwrap();
    fx.offer(plain, 90, 1).unwrap();
    fx.at(window);
    let a = &fx.m.assignments()[0];
    assert_eq!((a.provider, a.price_per_unit), (good, 180));
    fx.ok();
}

// ----- call market --------------------------------------------------------------------------

#[test]
fn call_market_clears_at_one_price_in_the_middle_of_the_best_range() {
    let mut fx = Fx::new(with(Institution::CallMarket));
    let interval = fx.m.config().call_interval_ms;
    let rs: Vec<PeerId> = (0..3).map(|_| fx.requester(10_000)).collect();
    let ps: Vec<PeerId> = (0..3).map(|_| fx.provider(100.0)).collect();
    for (r, bid) in rs.iter().zip([120, 110, 90]) {
        fx.request(*r, bid, 1, 0.0).unwrap();
    }
    for (p, ask) in ps.iter().zip([80, 100, 115]) {
        fx.offer(*p, ask, 1).unwrap();
    }
    assert!(fx.m.assignments().is_empty(), "nothing trades between calls");
    // Volume 2 (imbalance 0) at every price from 100 to 110: the middle, 105, clears.
    fx.at(interval);
    assert_eq!(prices(&fx), vec![(105, 1), (105, 1)]);
    let pairs: Vec<(PeerId, PeerId)> = fx.m.assignments().iter().map(|a| (a.requester, a.provider)).collect();
    assert_eq!(pairs, vec![(rs[0], ps[0]), (rs[1], ps[1])]);
    assert!(fx.m.assignments().iter().all(|a| a.assigned_at == interval));
    // What is left does not cross: the next call trades nothing.
    fx.at(2 * interval);
    assert_eq!(fx.m.assignments().len(), 2);
    fx.ok();
}

#[test]
fn call_market_prefers_volume_then_balance() {
    let mut fx = Fx::new(with(Institution::CallMarket));
    let interval = fx.m.config().call_interval_ms;
    let (r1, r2) = (fx.requester(10_000), fx.requester(10_000));
    let p = fx.provider(100.0);
    // Demand: 3 units at 100, 1 more at 120. Supply: 4 units at 90.
    // At 90..=100: volume 4 (imbalance 0); above 100 only 1 unit is bid.
    fx.request(r1, 100, 3, 0.0).unwrap();
    fx.request(r2, 120, 1, 0.0).unwrap();
    fx.offer(p, 90, 4).unwrap();
    fx.at(interval);
    assert_eq!(prices(&fx), vec![(95, 1), (95, 3)]);
    fx.ok();
}

#[test]
fn call_market_respects_the_filters() {
    let mut fx = Fx::new(with(Institution::CallMarket));
    let interval = fx.m.config().call_interval_ms;
    let r = fx.requester(10_000);
    let (low, high) = (fx.provider(20.0), fx.provider(100.0));
    fx.request(r, 100, 2, 50.0).unwrap(); // only the reputable provider qualifies
    fx.offer(low, 60, 1).unwrap();
    fx.offer(high, 80, 1).unwrap();
    fx.at(interval);
    let a: Vec<(PeerId, u64)> = fx.m.assignments().iter().map(|a| (a.provider, a.units)).collect();
    assert_eq!(a, vec![(high, 1)]);
    fx.ok();
}

#[test]
fn an_idle_call_market_runs_no_calls_and_calls_resume_on_the_interval_grid() {
    let mut fx = Fx::new(MarketConfig { call_interval_ms: SECOND, ..with(Institution::CallMarket) });
    let window = fx.m.config().auction_window_ms;
    let (r, p) = (fx.requester(10_000), fx.provider(100.0));
    // A week with nothing open: no call runs (a call per second would be 604,800 clearings).
    fx.at(7 * DAY);
    assert_eq!(fx.m.counters().calls, 0);
    // An offer alone gives a call nothing to clear: still none.
    fx.offer(p, 150, 1).unwrap();
    fx.at(7 * DAY + 10 * SECOND);
    assert_eq!(fx.m.counters().calls, 0);
    // A request opened between two grid points waits for the next whole second, and calls run
    // every second while it is open, then stop.
    fx.at(7 * DAY + 10 * SECOND + 500);
    fx.request(r, 100, 1, 0.0).unwrap();
    fx.at(7 * DAY + 11 * SECOND - 1);
    assert_eq!(fx.m.counters().calls, 0);
    fx.at(7 * DAY + 11 * SECOND);
    assert_eq!(fx.m.counters().calls, 1);
    fx.at(8 * DAY);
    let open_ms = 10 * SECOND + 500 + window;
    assert_eq!(fx.m.counters().calls, open_ms / SECOND - 10, "one call per second of the window");
    assert!(fx.m.assignments().is_empty(), "the book never crossed");
    // Crossing at a later call trades at the call's grid time.
    fx.offer(p, 90, 1).unwrap();
    fx.request(r, 100, 1, 0.0).unwrap();
    fx.at(8 * DAY + SECOND);
    assert_eq!(fx.m.assignments().iter().map(|a| a.assigned_at).collect::<Vec<_>>(), vec![8 * DAY + SECOND]);
    fx.ok();
}

#[test]
fn clearing_price_ties_and_edges() {
    // Exposed through a market: one bid, one ask, price in the middle of [ask, bid].
    for (bid, ask, expect) in [(120, 80, 100), (100, 100, 100), (101, 100, 100)] {
        let mut fx = Fx::new(with(Institution::CallMarket));
        let interval = fx.m.config().call_interval_ms;
        let (r, p) = (fx.requester(10_000), fx.provider(100.0));
        fx.request(r, bid, 1, 0.0).unwrap();
        fx.offer(p, ask, 1).unwrap();
        fx.at(interval);
        assert_eq!(prices(&fx), vec![(expect, 1)], "bid {bid} ask {ask}");
        fx.ok();
    }
}

// ----- configuration ------------------------------------------------------------------------

#[test]
fn keys_of_one_institution_are_refused_with_another() {
    let cases: [(MarketConfig, &str, &str); 6] = [
        (
            MarketConfig { pricing: PriceRule::Midpoint, ..with(Institution::ContinuousDoubleAuction) },
            "pricing",
            "`pricing = \"midpoint\"` applies to `institution = \"first_accept\"`: the continuous double auction \
             trades at the resting order's price (`pricing = \"resting\"`, which says so, is accepted)",
        ),
        (
            MarketConfig { clear_book_after_trade: true, ..with(Institution::FirstAccept) },
            "clear_book_after_trade",
            "applies to `institution = \"continuous_double_auction\"`, not to the first-accept auction",
        ),
        (
            MarketConfig { sealed_bid_price: SealedBidPrice::SecondPrice, ..with(Institution::CallMarket) },
            "sealed_bid_price",
            "applies to `institution = \"sealed_bid_reverse\"`, not to the call market",
        ),
        (
            MarketConfig { call_interval_ms: 5 * MINUTE, ..with(Institution::SealedBidReverse) },
            "call_interval",
            "applies to `institution = \"call_market\"`, not to the sealed-bid reverse auction",
        ),
        (
            MarketConfig { call_interval_ms: 0, ..with(Institution::CallMarket) },
            "call_interval",
            "must be greater than 0",
        ),
        (
            MarketConfig { call_interval_ms: 999, ..with(Institution::CallMarket) },
            "call_interval",
            "999ms is shorter than the 1s minimum: every call clears the whole book, and calls faster than once a \
             second model no compute market",
        ),
    ];
    for (config, field, reason) in cases {
        let e = config.validate().unwrap_err();
        assert_eq!((e.field, e.reason.as_str()), (field, reason));
    }
}

#[test]
fn keys_of_another_institution_are_refused_when_written() {
    let fa = MarketConfig::default();
    let e = fa.check_written_keys(["fee_bps", "call_interval"]).unwrap_err();
    assert_eq!(
        (e.field, e.reason.as_str()),
        ("call_interval", "applies to `institution = \"call_market\"`, not to the first-accept auction")
    );
    fa.check_written_keys(["fee_bps", "pricing", "auction_window"]).unwrap();
    let cda = with(Institution::ContinuousDoubleAuction);
    cda.check_written_keys(["clear_book_after_trade"]).unwrap();
    assert_eq!(cda.check_written_keys(["sealed_bid_price"]).unwrap_err().field, "sealed_bid_price");
}

#[test]
fn institutions_read_from_their_file_names() {
    for (name, inst) in [
        ("first_accept", Institution::FirstAccept),
        ("continuous_double_auction", Institution::ContinuousDoubleAuction),
        ("sealed_bid_reverse", Institution::SealedBidReverse),
        ("call_market", Institution::CallMarket),
    ] {
        let c: MarketConfig = toml::from_str(&format!("institution = \"{name}\"")).unwrap();
        assert_eq!(c.institution, inst);
        assert_eq!(inst.as_str(), name);
    }
    let c: MarketConfig = toml::from_str("institution = \"call_market\"\ncall_interval = \"5m\"").unwrap();
    assert_eq!(c.call_interval_ms, 5 * MINUTE);
    // The default institution adds nothing to a written configuration.
    let written = toml::to_string(&MarketConfig::default()).unwrap();
    assert!(!written.contains("institution") && !written.contains("call_interval"), "{written}");
}
