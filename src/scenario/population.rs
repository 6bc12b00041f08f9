//! Validation of `[[population]]` tables: defaults per role, which keys a role may use, value
//! ranges, task-mix names, and the scenario-wide size limits.

use synmarket_agents::spec::{
    Dist, PopulationSpec, PrivacyMix, Reliability, Role, SlaTerms, Strategy, StrategyParams, TaskTypeSpec,
};
use synmarket_engine::{DurationMs, MarketConfig};

use super::checks::{Check, Domain, bad, dist, duration, finite, in_range, name, probability};
use super::duration::{HOUR, MINUTE};
use super::locate::TomlPath;
use super::raw::{RawDist, RawPopulation, RawReliability, RawSla};
use super::validate::{MAX_SCENARIO_DURATION_MS, MAX_UNITS};

/// Most agents in one population.
pub const MAX_COUNT: i64 = 1_000_000;
/// Most agents in a scenario.
pub const MAX_TOTAL_AGENTS: u64 = 2_000_000;
/// Most populations in a scenario.
pub const MAX_POPULATIONS: usize = 1_000;
/// Highest price, value or cost per unit.
pub const MAX_PRICE: f64 = 1_000_000.0;
/// Largest endowment of one agent.
pub const MAX_BUDGET: f64 = 1e15;
/// Highest arrival rate per agent (orders per hour).
pub const MAX_RATE_PER_HOUR: f64 = 3_600.0;
/// Most orders a scenario may expect to generate (Σ count × rate × hours).
pub const MAX_EXPECTED_ORDERS: f64 = 100_000_000.0;
/// Highest declared usage cap (units per 24 h).
pub const MAX_USAGE_CAP: f64 = 1e12;
/// Highest markup, speed factor and SLA duration factor.
pub const MAX_FACTOR: f64 = 1_000.0;

/// Which roles (and strategies) may set a population key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Every role.
    All,
    /// Requesters and providers (traders).
    Traders,
    /// Requesters only.
    Requesters,
    /// Providers only.
    Providers,
    /// Providers whose strategy prices at `cost × (1 + markup)` ([`Strategy::uses_markup`]).
    Markup,
    /// Populations with one of these strategies.
    Only(&'static [Strategy]),
}

impl Applies {
    /// True when a population of this role and strategy may set the key.
    pub fn allows(self, role: Role, strategy: Strategy) -> bool {
        match self {
            Applies::All => true,
            Applies::Traders => role != Role::Arbitrator,
            Applies::Requesters => role == Role::Requester,
            Applies::Providers => role == Role::Provider,
            Applies::Markup => role == Role::Provider && strategy.uses_markup(),
            Applies::Only(list) => list.contains(&strategy),
        }
    }

    fn who(self) -> String {
        let strategies =
            |list: &[Strategy]| list.iter().map(|s| format!("\"{}\"", s.name())).collect::<Vec<_>>().join(" or ");
        match self {
            Applies::All => "every population".into(),
            Applies::Traders => "requesters and providers".into(),
            Applies::Requesters => "requesters".into(),
            Applies::Providers => "providers".into(),
            Applies::Markup => {
                let list: Vec<Strategy> = Strategy::ALL.iter().copied().filter(|s| s.uses_markup()).collect();
                format!("providers with strategy = {}", strategies(&list))
            }
            Applies::Only(list) => format!("populations with strategy = {}", strategies(list)),
        }
    }
}

use Strategy as S;

/// Every optional population key and who may set it (the writer uses the same table).
pub const KEYS: &[(&str, Applies)] = &[
    ("budget", Applies::All),
    ("value_per_unit", Applies::Requesters),
    ("cost_per_unit", Applies::Providers),
    ("markup", Applies::Markup),
    ("min_price", Applies::Traders),
    ("max_price", Applies::Traders),
    ("arrival_rate", Applies::Traders),
    ("task_mix", Applies::Traders),
    ("units", Applies::Traders),
    ("order_ttl", Applies::Traders),
    ("first_arrival", Applies::Traders),
    ("max_orders", Applies::Traders),
    ("min_reputation", Applies::Requesters),
    ("privacy_mix", Applies::Requesters),
    ("sla", Applies::Requesters),
    ("capability_coverage", Applies::Providers),
    ("confidential_attested", Applies::Providers),
    ("usage_cap_units_per_day", Applies::Providers),
    ("initial_reputation", Applies::All),
    ("reliability", Applies::Providers),
    ("strategy", Applies::All),
    ("units_per_period", Applies::Traders),
    ("learning_rate", Applies::Only(&[S::Zip])),
    ("momentum", Applies::Only(&[S::Zip])),
    ("initial_margin", Applies::Only(&[S::Zip])),
    ("markups", Applies::Only(&[S::RothErev])),
    ("recency", Applies::Only(&[S::RothErev])),
    ("experimentation", Applies::Only(&[S::RothErev])),
    ("vwap_margin", Applies::Only(&[S::VwapTracker])),
    ("intro_markup", Applies::Only(&[S::ReputationBuilder])),
    ("exploit_threshold", Applies::Only(&[S::Exploiter])),
    ("exploit_quality", Applies::Only(&[S::Exploiter])),
    ("reentry_threshold", Applies::Only(&[S::Sybil])),
    ("max_reentries", Applies::Only(&[S::Sybil])),
    ("peers_per_account", Applies::Only(&[S::KeySharer])),
    ("relay_cut", Applies::Only(&[S::Relay, S::Reseller])),
    ("violation_probability", Applies::Only(&[S::Relay, S::DisputeAbuser, S::Forger, S::Leaker, S::CorruptArbitrator])),
    ("ring", Applies::Only(&[S::Colluder])),
];

/// True when `key` is written for a population of this role and strategy.
pub fn applies(key: &str, role: Role, strategy: Strategy) -> bool {
    KEYS.iter().find(|(k, _)| *k == key).is_none_or(|(_, a)| a.allows(role, strategy))
}

/// The strategy a role gets when `strategy` is not written.
pub fn default_strategy(role: Role) -> Strategy {
    match role {
        Role::Requester | Role::Provider => Strategy::ZiConstrained,
        Role::Arbitrator => Strategy::HonestArbitrator,
    }
}

/// The values a population gets for keys it does not write (or may not write): the engine-neutral
/// [`PopulationSpec::new`], with the fields that depend on the role zeroed where the role cannot
/// use them (so the resolved file leaves them out) and a task mix over every task type.
pub fn defaults(name: &str, role: Role, count: u32, strategy: Strategy, task_types: usize) -> PopulationSpec {
    let trader = role != Role::Arbitrator;
    let base = PopulationSpec::new(name, role, count, strategy);
    PopulationSpec {
        budget: if role == Role::Requester { base.budget } else { Dist::Fixed(0.0) },
        value_per_unit: if role == Role::Requester { base.value_per_unit } else { Dist::Fixed(0.0) },
        cost_per_unit: if role == Role::Provider { base.cost_per_unit } else { Dist::Fixed(0.0) },
        markup: if strategy.uses_markup() { base.markup } else { Dist::Fixed(0.0) },
        min_price: if trader { base.min_price } else { 0.0 },
        max_price: if trader { base.max_price } else { 0.0 },
        arrival_rate_per_hour: if trader { base.arrival_rate_per_hour } else { 0.0 },
        task_mix: if trader { (0..task_types).map(|i| (i, 1.0)).collect() } else { Vec::new() },
        capability_coverage: if role == Role::Provider { base.capability_coverage } else { 0.0 },
        ..base
    }
}

/// The SLA terms a `[population.sla]` table starts from.
pub fn default_sla() -> SlaTerms {
    SlaTerms {
        probability: 1.0,
        max_response_ms: Dist::Fixed((5 * MINUTE) as f64),
        max_duration_factor: Dist::Fixed(2.0),
        uptime_requirement: 0.9,
        quality_minimums: Vec::new(),
        penalty_fraction: 0.1,
    }
}

fn written(p: &RawPopulation) -> Vec<(&'static str, bool)> {
    vec![
        ("budget", p.budget.is_some()),
        ("value_per_unit", p.value_per_unit.is_some()),
        ("cost_per_unit", p.cost_per_unit.is_some()),
        ("markup", p.markup.is_some()),
        ("min_price", p.min_price.is_some()),
        ("max_price", p.max_price.is_some()),
        ("arrival_rate", p.arrival_rate.is_some()),
        ("task_mix", p.task_mix.is_some()),
        ("units", p.units.is_some()),
        ("order_ttl", p.order_ttl.is_some()),
        ("first_arrival", p.first_arrival.is_some()),
        ("max_orders", p.max_orders.is_some()),
        ("min_reputation", p.min_reputation.is_some()),
        ("privacy_mix", p.privacy_mix.is_some()),
        ("sla", p.sla.is_some()),
        ("capability_coverage", p.capability_coverage.is_some()),
        ("confidential_attested", p.confidential_attested.is_some()),
        ("usage_cap_units_per_day", p.usage_cap_units_per_day.is_some()),
        ("initial_reputation", p.initial_reputation.is_some()),
        ("reliability", p.reliability.is_some()),
        ("strategy", p.strategy.is_some()),
        ("units_per_period", p.units_per_period.is_some()),
        ("learning_rate", p.learning_rate.is_some()),
        ("momentum", p.momentum.is_some()),
        ("initial_margin", p.initial_margin.is_some()),
        ("markups", p.markups.is_some()),
        ("recency", p.recency.is_some()),
        ("experimentation", p.experimentation.is_some()),
        ("vwap_margin", p.vwap_margin.is_some()),
        ("intro_markup", p.intro_markup.is_some()),
        ("exploit_threshold", p.exploit_threshold.is_some()),
        ("exploit_quality", p.exploit_quality.is_some()),
        ("reentry_threshold", p.reentry_threshold.is_some()),
        ("max_reentries", p.max_reentries.is_some()),
        ("peers_per_account", p.peers_per_account.is_some()),
        ("relay_cut", p.relay_cut.is_some()),
        ("violation_probability", p.violation_probability.is_some()),
        ("ring", p.ring.is_some()),
    ]
}

fn opt_dist(path: &TomlPath, key: &str, raw: &Option<RawDist>, dom: Domain, default: Dist) -> Check<Dist> {
    match raw {
        None => Ok(default),
        Some(d) => dist(&path.key(key), d, dom),
    }
}

/// Validates every population against the task types and the market.
pub fn populations(
    path: &TomlPath,
    raw: &[RawPopulation],
    task_types: &[TaskTypeSpec],
    market: &MarketConfig,
    duration_ms: DurationMs,
) -> Check<Vec<PopulationSpec>> {
    if raw.is_empty() {
        return bad(path, "the scenario needs at least one [[population]]");
    }
    if raw.len() > MAX_POPULATIONS {
        return bad(path, format!("{} populations exceed the limit of {MAX_POPULATIONS}", raw.len()));
    }
    let hours = duration_ms as f64 / HOUR as f64;
    let mut out: Vec<PopulationSpec> = Vec::with_capacity(raw.len());
    let mut total_agents: u64 = 0;
    let mut expected_orders = 0.0;
    for (i, r) in raw.iter().enumerate() {
        let p = path.index(i);
        let spec = population(&p, r, task_types, market)?;
        if let Some(j) = out.iter().position(|o| o.name == spec.name) {
            return bad(&p.key("name"), format!("duplicate population name `{}` (also population[{j}])", spec.name));
        }
        total_agents += u64::from(spec.count);
        if total_agents > MAX_TOTAL_AGENTS {
            return bad(
                &p.key("count"),
                format!("the scenario would have {total_agents} agents, above the limit of {MAX_TOTAL_AGENTS}"),
            );
        }
        expected_orders += f64::from(spec.count) * spec.arrival_rate_per_hour * hours;
        if expected_orders > MAX_EXPECTED_ORDERS {
            return bad(
                &p.key("arrival_rate"),
                format!(
                    "the scenario would generate about {expected_orders:.0} orders (count × arrival_rate × \
                     hours), above the limit of {MAX_EXPECTED_ORDERS:.0}"
                ),
            );
        }
        out.push(spec);
    }
    for (role, word) in [(Role::Requester, "requester"), (Role::Provider, "provider")] {
        if !out.iter().any(|p| p.role == role) {
            return bad(path, format!("no population has role = \"{word}\"; a market needs requesters and providers"));
        }
    }
    Ok(out)
}

fn population(
    p: &TomlPath,
    r: &RawPopulation,
    task_types: &[TaskTypeSpec],
    market: &MarketConfig,
) -> Check<PopulationSpec> {
    let pop_name = name(&p.key("name"), &r.name)?;
    if r.count < 1 {
        return bad(&p.key("count"), format!("{} agents: a population needs at least 1", r.count));
    }
    if r.count > MAX_COUNT {
        return bad(&p.key("count"), format!("{} agents exceed the limit of {MAX_COUNT} per population", r.count));
    }
    let count = r.count as u32;
    let strategy = r.strategy.unwrap_or_else(|| default_strategy(r.role));
    if !strategy.roles().contains(&r.role) {
        let fits: Vec<&str> = strategy.roles().iter().map(|role| role.as_str()).collect();
        let for_role: Vec<&str> =
            Strategy::ALL.iter().filter(|s| s.roles().contains(&r.role)).map(|s| s.name()).collect();
        return bad(
            &p.key("strategy"),
            format!(
                "strategy {} does not fit role {} (it plays {}; a {} can use {})",
                strategy.name(),
                r.role.as_str(),
                fits.join(", "),
                r.role.as_str(),
                for_role.join(", ")
            ),
        );
    }
    for (key, is_written) in written(r) {
        if is_written && !applies(key, r.role, strategy) {
            let who = KEYS.iter().find(|(k, _)| *k == key).map(|(_, a)| a.who()).unwrap_or_default();
            return bad(
                &p.key(key),
                format!(
                    "applies only to {who}; this population is a {} with strategy {}",
                    r.role.as_str(),
                    strategy.name()
                ),
            );
        }
    }
    let d = defaults(&pop_name, r.role, count, strategy, task_types.len());
    let price = Domain::closed(0.0, MAX_PRICE);
    let rep = &market.reputation;
    let min_price = match r.min_price {
        None => d.min_price,
        Some(x) => in_range(&p.key("min_price"), x, 0.0, MAX_PRICE)?,
    };
    let max_price = match r.max_price {
        None => d.max_price,
        Some(x) => in_range(&p.key("max_price"), x, 0.0, MAX_PRICE)?,
    };
    if min_price > max_price {
        let at = if r.max_price.is_some() { p.key("max_price") } else { p.key("min_price") };
        return bad(&at, format!("min_price {min_price} is above max_price {max_price}"));
    }
    let arrival_rate_per_hour = match r.arrival_rate {
        None => d.arrival_rate_per_hour,
        Some(rate) => in_range(&p.key("arrival_rate"), rate.0, 0.0, MAX_RATE_PER_HOUR)?,
    };
    let task_mix = match &r.task_mix {
        None => d.task_mix.clone(),
        Some(mix) => {
            let mp = p.key("task_mix");
            let mut v: Vec<(usize, f64)> = Vec::with_capacity(mix.len());
            for (k, w) in mix {
                let Some(idx) = task_types.iter().position(|t| &t.name == k) else {
                    let known: Vec<&str> = task_types.iter().map(|t| t.name.as_str()).collect();
                    return bad(&mp.key(k), format!("unknown task type `{k}` (known: {})", known.join(", ")));
                };
                finite(&mp.key(k), *w)?;
                if *w < 0.0 {
                    return bad(&mp.key(k), format!("weight {w} is negative"));
                }
                v.push((idx, *w));
            }
            if v.iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
                return bad(&mp, "needs at least one task type with a positive weight");
            }
            v.sort_by_key(|(i, _)| *i);
            v
        }
    };
    let order_ttl_ms = match &r.order_ttl {
        None => None,
        Some(s) => Some(duration(&p.key("order_ttl"), s, true, MAX_SCENARIO_DURATION_MS)?),
    };
    let first_arrival_ms = match &r.first_arrival {
        None => None,
        Some(s) => Some(duration(&p.key("first_arrival"), s, false, MAX_SCENARIO_DURATION_MS)?),
    };
    if r.max_orders == Some(0) {
        return bad(&p.key("max_orders"), "0 orders: an agent that may never trade; remove the population instead");
    }
    let privacy_mix = match &r.privacy_mix {
        None => d.privacy_mix,
        Some(m) => {
            let mp = p.key("privacy_mix");
            let mut w = [0.0; 3];
            for (slot, (key, x)) in
                w.iter_mut().zip([("public", m.public), ("private", m.private), ("confidential", m.confidential)])
            {
                let x = finite(&mp.key(key), x.unwrap_or(0.0))?;
                if x < 0.0 {
                    return bad(&mp.key(key), format!("weight {x} is negative"));
                }
                *slot = x;
            }
            if w.iter().sum::<f64>() <= 0.0 {
                return bad(&mp, "needs at least one positive weight");
            }
            PrivacyMix { public: w[0], private: w[1], confidential: w[2] }
        }
    };
    let sla = match &r.sla {
        None => None,
        Some(s) => Some(sla(&p.key("sla"), s)?),
    };
    let capability_coverage = match r.capability_coverage {
        None => d.capability_coverage,
        Some(x) => probability(&p.key("capability_coverage"), x)?,
    };
    let reliability = match &r.reliability {
        None => d.reliability.clone(),
        Some(x) => reliability(&p.key("reliability"), x, strategy)?,
    };
    let rep_dom = Domain::closed(rep.min, rep.max);
    Ok(PopulationSpec {
        budget: opt_dist(p, "budget", &r.budget, Domain::closed(0.0, MAX_BUDGET), d.budget.clone())?,
        value_per_unit: opt_dist(p, "value_per_unit", &r.value_per_unit, price, d.value_per_unit.clone())?,
        cost_per_unit: opt_dist(p, "cost_per_unit", &r.cost_per_unit, price, d.cost_per_unit.clone())?,
        markup: opt_dist(p, "markup", &r.markup, Domain::closed(0.0, MAX_FACTOR), d.markup.clone())?,
        min_price,
        max_price,
        arrival_rate_per_hour,
        task_mix,
        units: match &r.units {
            None => None,
            Some(u) => Some(dist(&p.key("units"), u, Domain::closed(1.0, MAX_UNITS))?),
        },
        order_ttl_ms,
        first_arrival_ms,
        max_orders: r.max_orders,
        min_reputation: opt_dist(
            p,
            "min_reputation",
            &r.min_reputation,
            Domain::closed(0.0, rep.max.max(0.0)),
            d.min_reputation.clone(),
        )?,
        privacy_mix,
        sla,
        capability_coverage,
        confidential_attested: r.confidential_attested.unwrap_or(d.confidential_attested),
        usage_cap_units_per_day: match &r.usage_cap_units_per_day {
            None => None,
            Some(u) => Some(dist(&p.key("usage_cap_units_per_day"), u, Domain::closed(1.0, MAX_USAGE_CAP))?),
        },
        initial_reputation: match &r.initial_reputation {
            None => None,
            Some(u) => Some(dist(&p.key("initial_reputation"), u, rep_dom)?),
        },
        reliability,
        units_per_period: match r.units_per_period {
            None => None,
            Some(n) if (1..=MAX_UNITS as i64).contains(&n) => Some(n as u64),
            Some(n) => return bad(&p.key("units_per_period"), format!("{n} is outside [1, {MAX_UNITS}]")),
        },
        params: params(p, r, &d.params, market)?,
        ..d
    })
}

fn sla(p: &TomlPath, s: &RawSla) -> Check<SlaTerms> {
    let d = default_sla();
    let mut quality_minimums = Vec::new();
    if let Some(q) = &s.quality_minimums {
        let qp = p.key("quality_minimums");
        for (k, v) in q {
            name(&qp.key(k), k)?;
            quality_minimums.push((k.clone(), probability(&qp.key(k), *v)?));
        }
    }
    let positive = Domain::duration(0.0, MAX_SCENARIO_DURATION_MS as f64, true);
    Ok(SlaTerms {
        probability: match s.probability {
            None => d.probability,
            Some(x) => probability(&p.key("probability"), x)?,
        },
        max_response_ms: opt_dist(p, "max_response", &s.max_response, positive, d.max_response_ms)?,
        max_duration_factor: opt_dist(
            p,
            "max_duration_factor",
            &s.max_duration_factor,
            Domain::open_low(0.0, MAX_FACTOR),
            d.max_duration_factor,
        )?,
        uptime_requirement: match s.uptime_requirement {
            None => d.uptime_requirement,
            Some(x) => probability(&p.key("uptime_requirement"), x)?,
        },
        quality_minimums,
        penalty_fraction: match s.penalty_fraction {
            None => d.penalty_fraction,
            Some(x) => probability(&p.key("penalty_fraction"), x)?,
        },
    })
}

fn reliability(p: &TomlPath, r: &RawReliability, strategy: Strategy) -> Check<Reliability> {
    let d = Reliability::for_strategy(strategy);
    let unit = Domain::closed(0.0, 1.0);
    Ok(Reliability {
        no_show_probability: match r.no_show_probability {
            None => d.no_show_probability,
            Some(x) => probability(&p.key("no_show_probability"), x)?,
        },
        start_delay_ms: opt_dist(
            p,
            "start_delay",
            &r.start_delay,
            Domain::duration(0.0, MAX_SCENARIO_DURATION_MS as f64, false),
            d.start_delay_ms,
        )?,
        speed_factor: opt_dist(p, "speed_factor", &r.speed_factor, Domain::open_low(0.0, MAX_FACTOR), d.speed_factor)?,
        availability: opt_dist(p, "availability", &r.availability, unit, d.availability)?,
        quality: opt_dist(p, "quality", &r.quality, unit, d.quality)?,
        offline_probability: match r.offline_probability {
            None => d.offline_probability,
            Some(x) => probability(&p.key("offline_probability"), x)?,
        },
    })
}

/// Most values in a `markups` grid.
pub const MAX_MARKUPS: usize = 1_000;

/// The strategy-specific keys (`StrategyParams`), with the forger's need for signatures.
fn params(p: &TomlPath, r: &RawPopulation, d: &StrategyParams, market: &MarketConfig) -> Check<StrategyParams> {
    let strategy = r.strategy.unwrap_or_else(|| default_strategy(r.role));
    if strategy == Strategy::Forger && !market.verify_signatures {
        return bad(
            &p.key("strategy"),
            "forgers need market.verify_signatures = true (without signatures a forged order would be accepted)",
        );
    }
    let unit = Domain::closed(0.0, 1.0);
    let margin = Domain::closed(-0.99, MAX_FACTOR);
    let rep = &market.reputation;
    let markups = match &r.markups {
        None => d.markups.clone(),
        Some(v) => {
            let mp = p.key("markups");
            if v.is_empty() || v.len() > MAX_MARKUPS {
                return bad(&mp, format!("needs 1 to {MAX_MARKUPS} markups, found {}", v.len()));
            }
            for (i, x) in v.iter().enumerate() {
                in_range(&mp.index(i), *x, 0.0, MAX_FACTOR)?;
            }
            v.clone()
        }
    };
    let count = |key: &str, x: Option<i64>, lo: i64, hi: i64, default: u32| -> Check<u32> {
        match x {
            None => Ok(default),
            Some(n) if (lo..=hi).contains(&n) => Ok(n as u32),
            Some(n) => bad(&p.key(key), format!("{n} is outside [{lo}, {hi}]")),
        }
    };
    let prob = |key: &str, x: Option<f64>, default: f64| -> Check<f64> {
        x.map_or(Ok(default), |x| probability(&p.key(key), x))
    };
    Ok(StrategyParams {
        learning_rate: opt_dist(p, "learning_rate", &r.learning_rate, unit, d.learning_rate.clone())?,
        momentum: opt_dist(p, "momentum", &r.momentum, unit, d.momentum.clone())?,
        initial_margin: opt_dist(
            p,
            "initial_margin",
            &r.initial_margin,
            Domain::closed(0.0, MAX_FACTOR),
            d.initial_margin.clone(),
        )?,
        markups,
        recency: prob("recency", r.recency, d.recency)?,
        experimentation: prob("experimentation", r.experimentation, d.experimentation)?,
        vwap_margin: opt_dist(p, "vwap_margin", &r.vwap_margin, margin, d.vwap_margin.clone())?,
        intro_markup: opt_dist(p, "intro_markup", &r.intro_markup, margin, d.intro_markup.clone())?,
        exploit_threshold: match r.exploit_threshold {
            None => d.exploit_threshold,
            Some(x) => in_range(&p.key("exploit_threshold"), x, rep.min, rep.max)?,
        },
        exploit_quality: opt_dist(p, "exploit_quality", &r.exploit_quality, unit, d.exploit_quality.clone())?,
        reentry_threshold: match r.reentry_threshold {
            None => d.reentry_threshold,
            Some(x) => in_range(&p.key("reentry_threshold"), x, rep.min, rep.max)?,
        },
        max_reentries: count("max_reentries", r.max_reentries, 0, 1_000_000, d.max_reentries)?,
        peers_per_account: count("peers_per_account", r.peers_per_account, 2, 1_000, d.peers_per_account)?,
        relay_cut: match r.relay_cut {
            None => d.relay_cut,
            Some(x) => in_range(&p.key("relay_cut"), x, 0.0, 0.99)?,
        },
        violation_probability: prob("violation_probability", r.violation_probability, d.violation_probability)?,
        ring: match &r.ring {
            None => d.ring.clone(),
            Some(s) => name(&p.key("ring"), s)?,
        },
    })
}
