//! Validation of `[[population]]` tables: defaults per role, which keys a role may use, value
//! ranges, task-mix names, and the scenario-wide size limits.

use synmarket_agents::spec::{Dist, PopulationSpec, PrivacyMix, Reliability, Role, SlaTerms, Strategy, TaskTypeSpec};
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
    /// Providers with strategy `fixed_markup` only.
    FixedMarkup,
}

impl Applies {
    /// True when a population of this role and strategy may set the key.
    pub fn allows(self, role: Role, strategy: Strategy) -> bool {
        match self {
            Applies::All => true,
            Applies::Traders => role != Role::Arbitrator,
            Applies::Requesters => role == Role::Requester,
            Applies::Providers => role == Role::Provider,
            Applies::FixedMarkup => role == Role::Provider && strategy == Strategy::FixedMarkup,
        }
    }

    fn who(self) -> &'static str {
        match self {
            Applies::All => "every population",
            Applies::Traders => "requesters and providers",
            Applies::Requesters => "requesters",
            Applies::Providers => "providers",
            Applies::FixedMarkup => "providers with strategy = \"fixed_markup\"",
        }
    }
}

/// Every optional population key and who may set it (the writer uses the same table).
pub const KEYS: [(&str, Applies); 19] = [
    ("budget", Applies::All),
    ("value_per_unit", Applies::Requesters),
    ("cost_per_unit", Applies::Providers),
    ("markup", Applies::FixedMarkup),
    ("min_price", Applies::Traders),
    ("max_price", Applies::Traders),
    ("arrival_rate", Applies::Traders),
    ("task_mix", Applies::Traders),
    ("units", Applies::Traders),
    ("order_ttl", Applies::Traders),
    ("min_reputation", Applies::Requesters),
    ("privacy_mix", Applies::Requesters),
    ("sla", Applies::Requesters),
    ("capability_coverage", Applies::Providers),
    ("confidential_attested", Applies::Providers),
    ("usage_cap_units_per_day", Applies::Providers),
    ("initial_reputation", Applies::All),
    ("reliability", Applies::Providers),
    ("strategy", Applies::All),
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

/// The values a population gets for keys it does not write (or may not write).
pub fn defaults(name: &str, role: Role, count: u32, strategy: Strategy, task_types: usize) -> PopulationSpec {
    let trader = role != Role::Arbitrator;
    PopulationSpec {
        name: name.to_string(),
        role,
        count,
        strategy,
        budget: Dist::Fixed(if role == Role::Requester { 1_000_000.0 } else { 0.0 }),
        value_per_unit: if role == Role::Requester { Dist::Uniform(40.0, 80.0) } else { Dist::Fixed(0.0) },
        cost_per_unit: if role == Role::Provider { Dist::Uniform(20.0, 60.0) } else { Dist::Fixed(0.0) },
        markup: Dist::Fixed(if strategy == Strategy::FixedMarkup { 0.2 } else { 0.0 }),
        min_price: if trader { 1.0 } else { 0.0 },
        max_price: if trader { 200.0 } else { 0.0 },
        arrival_rate_per_hour: if trader { 1.0 } else { 0.0 },
        task_mix: if trader { (0..task_types).map(|i| (i, 1.0)).collect() } else { Vec::new() },
        units: None,
        order_ttl_ms: None,
        min_reputation: Dist::Fixed(0.0),
        privacy_mix: PrivacyMix::default(),
        sla: None,
        capability_coverage: if role == Role::Provider { 1.0 } else { 0.0 },
        confidential_attested: false,
        usage_cap_units_per_day: None,
        initial_reputation: None,
        reliability: Reliability::default(),
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

fn written(p: &RawPopulation) -> [(&'static str, bool); 19] {
    [
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
        ("min_reputation", p.min_reputation.is_some()),
        ("privacy_mix", p.privacy_mix.is_some()),
        ("sla", p.sla.is_some()),
        ("capability_coverage", p.capability_coverage.is_some()),
        ("confidential_attested", p.confidential_attested.is_some()),
        ("usage_cap_units_per_day", p.usage_cap_units_per_day.is_some()),
        ("initial_reputation", p.initial_reputation.is_some()),
        ("reliability", p.reliability.is_some()),
        ("strategy", p.strategy.is_some()),
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
        let fits: Vec<&str> = strategy.roles().iter().map(|role| role_name(*role)).collect();
        let for_role: Vec<&str> =
            Strategy::ALL.iter().filter(|s| s.roles().contains(&r.role)).map(|s| s.name()).collect();
        return bad(
            &p.key("strategy"),
            format!(
                "strategy {} does not fit role {} (it plays {}; a {} can use {})",
                strategy.name(),
                role_name(r.role),
                fits.join(", "),
                role_name(r.role),
                for_role.join(", ")
            ),
        );
    }
    for (key, is_written) in written(r) {
        if is_written && !applies(key, r.role, strategy) {
            let who = KEYS.iter().find(|(k, _)| *k == key).map(|(_, a)| a.who()).unwrap_or("");
            return bad(
                &p.key(key),
                format!(
                    "applies only to {who}; this population is a {} with strategy {}",
                    role_name(r.role),
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
        Some(x) => reliability(&p.key("reliability"), x)?,
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
        ..d
    })
}

/// The name of a role in files and messages.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Requester => "requester",
        Role::Provider => "provider",
        Role::Arbitrator => "arbitrator",
    }
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

fn reliability(p: &TomlPath, r: &RawReliability) -> Check<Reliability> {
    let d = Reliability::default();
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
    })
}
