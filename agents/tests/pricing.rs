//! Adaptive and zero-intelligence pricing on small seeded markets: ZI-C never crosses its limit,
//! ZIP margins move toward the competitive equilibrium, Roth–Erev learns the most profitable
//! markup that still fills, the VWAP tracker follows price discovery, and `units_per_period`
//! quotas hold.

mod common;

use common::{pop, quotes, run, spec};
use synmarket_agents::strategies::{roth_erev, zip};
use synmarket_agents::{Dist, Role, Strategy};
use synmarket_engine::{MarketConfig, Side};

#[test]
fn zi_constrained_never_bids_above_value_nor_asks_below_cost() {
    for seed in 0..4 {
        let mut buyers = pop("buyers", Role::Requester, 10, Strategy::ZiConstrained);
        buyers.requesting.value_per_unit = Dist::Uniform(0.5, 80.5).into();
        buyers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(4.0);
        buyers.trading.order_ttl_ms = Some(20 * synmarket_engine::MINUTE);
        let mut sellers = pop("sellers", Role::Provider, 10, Strategy::ZiConstrained);
        sellers.trading.order_ttl_ms = Some(20 * synmarket_engine::MINUTE);
        sellers.providing.cost_per_unit = Dist::Uniform(20.3, 60.7).into();
        sellers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(4.0);
        let r = run(spec(seed, 12, MarketConfig::default(), vec![buyers, sellers]));
        let bids = quotes(&r, 0, Side::Buy);
        let asks = quotes(&r, 1, Side::Sell);
        assert!(bids.len() > 50 && asks.len() > 50, "seed {seed}: {} bids, {} asks", bids.len(), asks.len());
        for (p, bid, value) in bids {
            assert!(bid as f64 <= value, "seed {seed}: {p:?} bid {bid} above value {value}");
        }
        for (p, ask, cost) in asks {
            assert!(ask as f64 >= cost, "seed {seed}: {p:?} ask {ask} below cost {cost}");
        }
    }
}

/// Midpoint of the competitive equilibrium price range of one-order-per-agent step curves.
fn equilibrium(mut values: Vec<f64>, mut costs: Vec<f64>) -> f64 {
    values.sort_by(|a, b| b.total_cmp(a));
    costs.sort_by(f64::total_cmp);
    let k = values.iter().zip(&costs).take_while(|(v, c)| v >= c).count();
    assert!(k > 0);
    let lo = costs[k - 1].max(values.get(k).copied().unwrap_or(f64::MIN));
    let hi = values[k - 1].min(costs.get(k).copied().unwrap_or(f64::MAX));
    (lo + hi) / 2.0
}

#[test]
fn zip_margins_move_toward_the_equilibrium() {
    let mut buyers = pop("buyers", Role::Requester, 12, Strategy::Zip);
    buyers.requesting.value_per_unit = Dist::Uniform(40.0, 100.0).into();
    buyers.strategy =
        synmarket_agents::StrategySpec::Zip(zip::Params { initial_margin: Dist::Fixed(0.6), ..Default::default() });
    buyers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(4.0);
    let mut sellers = pop("sellers", Role::Provider, 12, Strategy::Zip);
    sellers.providing.cost_per_unit = Dist::Uniform(20.0, 80.0).into();
    sellers.strategy =
        synmarket_agents::StrategySpec::Zip(zip::Params { initial_margin: Dist::Fixed(1.0), ..Default::default() });
    sellers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(4.0);
    // The midpoint rule lets both sides learn from each trade, as in Cliff's double auction.
    let market = MarketConfig { pricing: synmarket_engine::PriceRule::Midpoint, ..MarketConfig::default() };
    let r = run(spec(3, 48, market, vec![buyers, sellers]));
    let values: Vec<f64> = r.agents.iter().filter_map(|a| a.profile.value_per_unit).collect();
    let costs: Vec<f64> = r.agents.iter().filter_map(|a| a.profile.cost_per_unit).collect();
    let p_star = equilibrium(values, costs);
    // Each trader's first and last quote: the last is closer to P* for intramarginal traders.
    let mut first_dev = 0.0;
    let mut last_dev = 0.0;
    let mut n = 0;
    for (pi, side) in [(0, Side::Buy), (1, Side::Sell)] {
        let q = quotes(&r, pi, side);
        for a in r.agents.iter().filter(|a| a.population == pi) {
            let mine: Vec<_> = q.iter().filter(|x| x.0 == a.peer).collect();
            let (Some(first), Some(last)) = (mine.first(), mine.last()) else { continue };
            let intramarginal = if side == Side::Buy { first.2 > p_star } else { first.2 < p_star };
            if intramarginal {
                first_dev += (first.1 as f64 - p_star).abs();
                last_dev += (last.1 as f64 - p_star).abs();
                n += 1;
                // Margins stay on the profitable side of the limit.
                for x in &mine {
                    match side {
                        Side::Buy => assert!(x.1 as f64 <= x.2),
                        Side::Sell => assert!(x.1 as f64 >= x.2),
                    }
                }
            }
        }
    }
    assert!(n >= 10, "{n} intramarginal traders");
    assert!(last_dev < 0.75 * first_dev, "P* {p_star}: first {first_dev}, last {last_dev}");
    // Trade prices of the second day lie near P*.
    let late: Vec<f64> = r
        .market
        .assignments()
        .iter()
        .filter(|a| a.assigned_at > 24 * synmarket_engine::HOUR)
        .map(|a| a.price_per_unit as f64)
        .collect();
    assert!(late.len() > 20);
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    assert!((mean - p_star).abs() / p_star < 0.25, "late mean {mean}, P* {p_star}");
}

#[test]
fn roth_erev_learns_the_best_markup_that_fills() {
    let mut buyers = pop("buyers", Role::Requester, 20, Strategy::Truthful);
    buyers.requesting.value_per_unit = Dist::Fixed(65.0).into();
    buyers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(6.0);
    let mut sellers = pop("sellers", Role::Provider, 4, Strategy::RothErev);
    sellers.providing.cost_per_unit = Dist::Fixed(50.0).into();
    sellers.strategy = synmarket_agents::StrategySpec::RothErev(roth_erev::Params {
        markups: vec![0.0, 0.1, 0.2, 0.4, 0.8],
        ..Default::default()
    });
    sellers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(6.0);
    let r = run(spec(5, 48, MarketConfig::default(), vec![buyers, sellers]));
    let asks: Vec<u64> = quotes(&r, 1, Side::Sell).iter().map(|x| x.1).collect();
    assert!(asks.len() > 300, "{} asks", asks.len());
    // The best markup that still fills is 0.2 on the fee-inclusive limit (50 / 0.99 = 50.5): 61;
    // 0.4 asks 71, above the buyers' value of 65.
    let fee = MarketConfig::default().fee_bps;
    let best = (synmarket_agents::roles::provider_limit(50.0, fee) * 1.2).ceil() as u64;
    assert_eq!(best, 61);
    let share = |xs: &[u64]| xs.iter().filter(|&&a| a == best).count() as f64 / xs.len() as f64;
    let third = asks.len() / 3;
    let (early, late) = (share(&asks[..third]), share(&asks[2 * third..]));
    assert!(late > 0.5 && late > early, "share of ask {best}: early {early}, late {late}");
}

/// The fee comes out of the provider's gross: a provider's asks cover its cost after the fee, so
/// raising the fee raises asks and trades fewer units (the fees sweep used to be flat: every
/// behavioural metric was the same at every fee).
#[test]
fn providers_quote_above_cost_after_the_fee() {
    let run_at = |fee_bps: u64| {
        let mut buyers = pop("buyers", Role::Requester, 20, Strategy::ZiConstrained);
        buyers.requesting.value_per_unit = Dist::Uniform(40.0, 80.0).into();
        buyers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(6.0);
        let mut sellers = pop("sellers", Role::Provider, 20, Strategy::ZiConstrained);
        sellers.providing.cost_per_unit = Dist::Uniform(30.0, 70.0).into();
        sellers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(6.0);
        let config = MarketConfig { fee_bps, ..MarketConfig::default() };
        run(spec(9, 24, config, vec![buyers, sellers]))
    };
    let (low, high) = (run_at(0), run_at(2_000));
    for (r, fee) in [(&low, 0u64), (&high, 2_000)] {
        let keep = 1.0 - fee as f64 / 10_000.0;
        for (_, ask, cost) in quotes(r, 1, Side::Sell) {
            assert!(ask as f64 * keep >= cost - 1e-9, "fee {fee}: ask {ask} after the fee is below cost {cost}");
        }
    }
    let units = |r: &synmarket_agents::SimResult| r.market.assignments().iter().map(|a| a.units).sum::<u64>();
    assert!(units(&high) < units(&low), "a 20 % fee must trade less: {} vs {}", units(&high), units(&low));
    assert_eq!(synmarket_agents::roles::provider_limit(50.0, 10_000), f64::INFINITY);
    assert_eq!(synmarket_agents::roles::provider_limit(0.0, 10_000), 0.0);
}

#[test]
fn vwap_tracker_follows_price_discovery_never_below_cost() {
    let mut buyers = pop("buyers", Role::Requester, 10, Strategy::Truthful);
    buyers.requesting.value_per_unit = Dist::Fixed(100.0).into();
    buyers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(3.0);
    let mut honest = pop("honest", Role::Provider, 6, Strategy::FixedMarkup);
    honest.providing.cost_per_unit = Dist::Fixed(50.0).into();
    honest.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(3.0);
    let mut tracker = pop("tracker", Role::Provider, 2, Strategy::VwapTracker);
    tracker.providing.cost_per_unit = Dist::Fixed(10.0).into();
    tracker.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(3.0);
    let r = run(spec(7, 24, MarketConfig::default(), vec![buyers, honest, tracker]));
    let late: Vec<u64> = r
        .market
        .orders()
        .iter()
        .filter(|o| o.side == Side::Sell && o.placed_at > 6 * synmarket_engine::HOUR)
        .filter(|o| common::in_population(&r, o.trader, 2))
        .map(|o| o.price_per_unit)
        .collect();
    assert!(late.len() > 10);
    let mean = late.iter().sum::<u64>() as f64 / late.len() as f64;
    assert!((mean - 60.0).abs() < 6.0, "tracker asks average {mean}, VWAP about 60");
    assert!(late.iter().all(|&a| a >= 10));
}

#[test]
fn units_per_period_quota_caps_each_period() {
    let mut buyers = pop("buyers", Role::Requester, 8, Strategy::ZiConstrained);
    buyers.trading.units = Some(Dist::Fixed(1.0));
    buyers.trading.units_per_period = Some(1);
    buyers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(12.0);
    buyers.trading.order_ttl_ms = Some(10 * synmarket_engine::MINUTE);
    let mut sellers = pop("sellers", Role::Provider, 8, Strategy::ZiConstrained);
    sellers.trading.units = Some(Dist::Fixed(1.0));
    sellers.trading.units_per_period = Some(1);
    sellers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(12.0);
    sellers.trading.order_ttl_ms = Some(10 * synmarket_engine::MINUTE);
    let mut s = spec(11, 8, MarketConfig::default(), vec![buyers, sellers]);
    s.periods = 4;
    let r = run(s);
    let period = r.period_ms;
    let mut per: std::collections::BTreeMap<(u32, u64), u64> = std::collections::BTreeMap::new();
    for a in r.market.assignments() {
        let k = a.assigned_at / period;
        *per.entry((a.requester.0, k)).or_insert(0) += a.units;
        *per.entry((a.provider.0, k)).or_insert(0) += a.units;
    }
    assert!(per.len() >= 8, "too few trades: {per:?}");
    assert!(per.values().all(|&u| u <= 1), "{per:?}");
}
