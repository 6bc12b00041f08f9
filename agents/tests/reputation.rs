//! Reputation behaviours and unreliable providers: the builder raises prices as its tier rises,
//! the exploiter drops quality once trusted, unreliable providers fail and deliver less.

mod common;

use common::{in_population, pop, quotes, run, spec};
use synmarket_agents::{Dist, Role, SlaTerms, Strategy};
use synmarket_engine::{MarketConfig, Side, TaskStatus};

fn buyers(count: u32, rate: f64) -> synmarket_agents::PopulationSpec {
    let mut b = pop("buyers", Role::Requester, count, Strategy::Truthful);
    b.requesting.value_per_unit = Dist::Fixed(100.0).into();
    b.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(rate);
    b
}

#[test]
fn reputation_builder_undercuts_while_new_and_raises_prices_with_its_tier() {
    let mut builder = pop("builder", Role::Provider, 1, Strategy::ReputationBuilder);
    builder.providing.cost_per_unit = Dist::Fixed(50.0).into();
    builder.strategy =
        synmarket_agents::StrategySpec::ReputationBuilder(synmarket_agents::strategies::reputation_builder::Params {
            markup: synmarket_agents::strategies::Markup(Dist::Fixed(0.5)),
            ..Default::default()
        });
    builder.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(6.0);
    let r = run(spec(1, 72, MarketConfig::default(), vec![buyers(20, 2.0), builder]));
    let asks = quotes(&r, 1, Side::Sell);
    assert!(asks.len() > 50);
    assert_eq!(asks[0].1, 45, "new: cost × (1 − 0.1)");
    let last = asks[asks.len() - 1].1;
    let rep = r.market.reputation(asks[0].0);
    assert!(rep >= 250.0, "reputation {rep}");
    assert!(last >= 60, "last ask {last} at reputation {rep}");
    // Asks never fall while the reputation only grows.
    assert!(asks.windows(2).all(|w| w[1].1 >= w[0].1));
}

#[test]
fn exploiter_lowers_quality_once_its_reputation_is_high() {
    let mut b = buyers(20, 2.0);
    b.requesting.sla = Some(SlaTerms {
        probability: 1.0,
        max_response_ms: synmarket_agents::DurationDist(Dist::Fixed(300_000.0)),
        max_duration_factor: Dist::Fixed(10.0),
        uptime_requirement: 0.0,
        quality_minimums: [("accuracy".to_string(), 0.6)].into(),
        penalty_fraction: 0.1,
    });
    let mut x = pop("exploiter", Role::Provider, 2, Strategy::Exploiter);
    x.providing.cost_per_unit = Dist::Fixed(50.0).into();
    x.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(6.0);
    x.strategy = synmarket_agents::StrategySpec::Exploiter(synmarket_agents::strategies::exploiter::Params {
        exploit_threshold: 150.0,
        ..Default::default()
    });
    let r = run(spec(2, 72, MarketConfig::default(), vec![b, x]));
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for a in r.market.assignments() {
        let Some(q) = a.quality.get(0) else { continue };
        if a.provider_reputation < 120.0 {
            before.push(q);
        } else if a.provider_reputation >= 180.0 {
            after.push(q);
        }
    }
    assert!(before.len() > 5 && after.len() > 5, "{} before, {} after", before.len(), after.len());
    assert!(before.iter().all(|&q| q >= 0.8), "{before:?}");
    assert!(after.iter().all(|&q| q <= 0.4), "{after:?}");
    assert!(r.market.assignments().iter().any(|a| a.status == TaskStatus::SlaViolated));
}

#[test]
fn unreliable_providers_fail_and_deliver_less() {
    let mut honest = pop("honest", Role::Provider, 5, Strategy::FixedMarkup);
    honest.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(2.0);
    honest.trading.order_ttl_ms = Some(synmarket_engine::HOUR);
    let mut flaky = pop("flaky", Role::Provider, 5, Strategy::Unreliable);
    flaky.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(2.0);
    flaky.trading.order_ttl_ms = Some(synmarket_engine::HOUR);
    let r = run(spec(3, 48, MarketConfig::default(), vec![buyers(20, 2.0), honest, flaky]));
    let stats = |pi: u32| {
        let mine: Vec<_> = r.market.assignments().iter().filter(|a| in_population(&r, a.provider, pi)).collect();
        let failed = mine.iter().filter(|a| a.status == TaskStatus::Failed).count() as f64 / mine.len().max(1) as f64;
        let uptime: Vec<f64> = mine
            .iter()
            .filter(|a| a.finished_at.is_some() && a.status != TaskStatus::Failed)
            .map(|a| a.uptime)
            .collect();
        (mine.len(), failed, uptime.iter().sum::<f64>() / uptime.len().max(1) as f64)
    };
    let (n_h, fail_h, up_h) = stats(1);
    let (n_f, fail_f, up_f) = stats(2);
    assert!(n_h > 20 && n_f > 10, "{n_h} / {n_f} tasks");
    assert_eq!(fail_h, 0.0);
    assert!(fail_f > 0.08, "unreliable failure rate {fail_f}");
    assert!(up_f < up_h - 0.1, "uptime {up_f} vs {up_h}");
    // Flaky availability: fewer offers per agent than the honest providers.
    let offers = |pi: u32| quotes(&r, pi, Side::Sell).len();
    assert!(offers(2) < offers(1));
}
