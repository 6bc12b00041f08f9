//! Writes a resolved [`Scenario`] back as TOML, every default explicit, in the shape the loader
//! reads, so that loading the output gives an equal `Scenario`.
//!
//! Keys a population's role may not set are left out (the loader fills them with the same neutral
//! values). Durations are written as canonical duration strings; a log-normal duration is written
//! with its median as a string when that round-trips exactly, else with the numeric `mu`.
//! Distribution arguments that are not whole milliseconds cannot be written exactly as durations
//! and are rounded (only scenarios built in code, not loaded from a file, can hold them).

use std::fmt::Write as _;

use synmarket_agents::spec::{Dist, PopulationSpec, Role, TaskTypeSpec};
use synmarket_engine::{DisputeDefault, MarketConfig, MultiSigType, PriceRule};

use super::Scenario;
use super::duration::format_ms;
use super::population::applies;

type V = toml::Value;

fn num(x: f64) -> V {
    V::Float(x)
}

fn text(s: &str) -> V {
    V::String(s.to_string())
}

fn dur(ms: u64) -> V {
    V::String(format_ms(ms))
}

fn dur_f(ms: f64) -> V {
    dur(if ms.is_finite() && ms > 0.0 { ms.round() as u64 } else { 0 })
}

fn table(entries: Vec<(&str, V)>) -> V {
    V::Table(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn dist(d: &Dist) -> V {
    match d {
        Dist::Fixed(x) => num(*x),
        Dist::Uniform(a, b) => table(vec![("uniform", V::Array(vec![num(*a), num(*b)]))]),
        Dist::Normal(m, s) => table(vec![("normal", V::Array(vec![num(*m), num(*s)]))]),
        Dist::LogNormal(m, s) => table(vec![("lognormal", V::Array(vec![num(*m), num(*s)]))]),
        Dist::Choice(xs) => table(vec![("choice", V::Array(xs.iter().map(|x| num(*x)).collect()))]),
    }
}

fn dist_ms(d: &Dist) -> V {
    match d {
        Dist::Fixed(x) => dur_f(*x),
        Dist::Uniform(a, b) => table(vec![("uniform", V::Array(vec![dur_f(*a), dur_f(*b)]))]),
        Dist::Normal(m, s) => table(vec![("normal", V::Array(vec![dur_f(*m), dur_f(*s)]))]),
        Dist::LogNormal(mu, s) => {
            let median = mu.exp().round();
            let first = if (1.0..1e18).contains(&median) && (median as u64 as f64).ln() == *mu {
                dur(median as u64)
            } else {
                num(*mu)
            };
            table(vec![("lognormal", V::Array(vec![first, num(*s)]))])
        }
        Dist::Choice(xs) => table(vec![("choice", V::Array(xs.iter().map(|x| dur_f(*x)).collect()))]),
    }
}

fn line(out: &mut String, key: &str, value: V) {
    let _ = writeln!(out, "{key} = {value}");
}

fn pricing(p: PriceRule) -> &'static str {
    match p {
        PriceRule::Ask => "ask",
        PriceRule::Resting => "resting",
        PriceRule::Midpoint => "midpoint",
        PriceRule::Bid => "bid",
    }
}

fn dispute_default(d: DisputeDefault) -> &'static str {
    match d {
        DisputeDefault::ReleaseToProvider => "release_to_provider",
        DisputeDefault::RefundToRequester => "refund_to_requester",
        DisputeDefault::SplitEvenly => "split_evenly",
    }
}

fn escrow(e: MultiSigType) -> V {
    match e {
        MultiSigType::Single => text("single"),
        MultiSigType::BothParties => text("both_parties"),
        MultiSigType::Arbitrators { required, total } => table(vec![(
            "arbitrators",
            table(vec![("required", V::Integer(required.into())), ("total", V::Integer(total.into()))]),
        )]),
        MultiSigType::TimeLocked { release_after_ms } => table(vec![("time_locked", dur(release_after_ms))]),
    }
}

fn int(x: u64) -> V {
    i64::try_from(x).map(V::Integer).unwrap_or_else(|_| V::String(x.to_string()))
}

fn market(out: &mut String, m: &MarketConfig) {
    out.push_str("\n[market]\n");
    line(out, "auction_window", dur(m.auction_window_ms));
    line(out, "slot_divisor", int(m.slot_divisor));
    line(out, "slot_cap", int(m.slot_cap));
    line(out, "pricing", text(pricing(m.pricing)));
    line(out, "reputation_weight", num(m.reputation_weight));
    line(out, "fee_bps", int(m.fee_bps));
    line(out, "escrow", escrow(m.escrow));
    line(out, "review_window", dur(m.review_window_ms));
    line(out, "escrow_timeout", dur(m.escrow_timeout_ms));
    line(out, "dispute_timeout", dur(m.dispute_timeout_ms));
    line(out, "dispute_default", text(dispute_default(m.dispute_default)));
    line(out, "dispute_panel_total", V::Integer(m.dispute_panel_total.into()));
    line(out, "dispute_panel_required", V::Integer(m.dispute_panel_required.into()));
    line(out, "private_min_reputation", num(m.private_min_reputation));
    line(out, "confidential_min_reputation", num(m.confidential_min_reputation));
    line(out, "audit_rate", num(m.audit_rate));
    line(out, "verify_signatures", V::Boolean(m.verify_signatures));
    line(out, "default_max_response", dur(m.default_max_response_ms));
    line(out, "default_max_duration", dur(m.default_max_duration_ms));
    line(out, "deadline_grace", dur(m.deadline_grace_ms));
    line(out, "usage_cap_window", dur(m.usage_cap_window_ms));
    line(out, "price_window", dur(m.price_window_ms));
    line(out, "retain_ledger", V::Boolean(m.retain_ledger));
    let r = &m.reputation;
    out.push_str("\n[market.reputation]\n");
    for (k, x) in [
        ("initial", r.initial),
        ("min", r.min),
        ("max", r.max),
        ("trade_completed", r.trade_completed),
        ("trade_failed", r.trade_failed),
        ("sla_violation", r.sla_violation),
        ("trade_disputed", r.trade_disputed),
        ("dispute_won", r.dispute_won),
        ("dispute_lost", r.dispute_lost),
        ("fast_response", r.fast_response),
        ("slow_response", r.slow_response),
        ("positive_feedback", r.positive_feedback),
        ("negative_feedback", r.negative_feedback),
    ] {
        line(out, k, num(x));
    }
    line(out, "fast_response_time", dur(r.fast_response_ms));
    line(out, "slow_response_time", dur(r.slow_response_ms));
    line(out, "decay_half_life", dur(r.decay_half_life_ms));
    line(out, "decay_step", dur(r.decay_step_ms));
}

fn task_type(out: &mut String, t: &TaskTypeSpec) {
    out.push_str("\n[[task_type]]\n");
    line(out, "name", text(&t.name));
    line(out, "capabilities", V::Array(t.capabilities.iter().map(|c| text(c)).collect()));
    line(out, "capabilities_needed", dist(&t.capabilities_needed));
    line(out, "units", dist(&t.units));
    line(out, "duration", dist_ms(&t.duration_ms));
}

fn population(out: &mut String, p: &PopulationSpec, task_types: &[TaskTypeSpec]) {
    let on = |key: &str| applies(key, p.role, p.strategy);
    out.push_str("\n[[population]]\n");
    line(out, "name", text(&p.name));
    line(out, "role", text(p.role.as_str()));
    line(out, "count", V::Integer(p.count.into()));
    line(out, "strategy", text(p.strategy.name()));
    line(out, "budget", dist(&p.budget));
    if on("value_per_unit") {
        line(out, "value_per_unit", dist(&p.value_per_unit));
    }
    if on("cost_per_unit") {
        line(out, "cost_per_unit", dist(&p.cost_per_unit));
    }
    if on("markup") {
        line(out, "markup", dist(&p.markup));
    }
    if on("min_price") {
        line(out, "min_price", num(p.min_price));
        line(out, "max_price", num(p.max_price));
        line(out, "arrival_rate", num(p.arrival_rate_per_hour));
        let mix = p
            .task_mix
            .iter()
            .map(|(i, w)| {
                let name = task_types.get(*i).map(|t| t.name.clone()).unwrap_or_else(|| format!("task_type_{i}"));
                (name, num(*w))
            })
            .collect();
        line(out, "task_mix", V::Table(mix));
        if let Some(u) = &p.units {
            line(out, "units", dist(u));
        }
        if let Some(ttl) = p.order_ttl_ms {
            line(out, "order_ttl", dur(ttl));
        }
        if let Some(t) = p.first_arrival_ms {
            line(out, "first_arrival", dur(t));
        }
        if let Some(n) = p.max_orders {
            line(out, "max_orders", V::Integer(n as i64));
        }
    }
    if on("min_reputation") {
        line(out, "min_reputation", dist(&p.min_reputation));
        let m = &p.privacy_mix;
        line(
            out,
            "privacy_mix",
            table(vec![("public", num(m.public)), ("private", num(m.private)), ("confidential", num(m.confidential))]),
        );
    }
    if on("capability_coverage") {
        line(out, "capability_coverage", num(p.capability_coverage));
        line(out, "confidential_attested", V::Boolean(p.confidential_attested));
        if let Some(cap) = &p.usage_cap_units_per_day {
            line(out, "usage_cap_units_per_day", dist(cap));
        }
    }
    if let Some(r) = &p.initial_reputation {
        line(out, "initial_reputation", dist(r));
    }
    strategy_params(out, p);
    if let (true, Some(s)) = (on("sla"), &p.sla) {
        out.push_str("\n[population.sla]\n");
        line(out, "probability", num(s.probability));
        line(out, "max_response", dist_ms(&s.max_response_ms));
        line(out, "max_duration_factor", dist(&s.max_duration_factor));
        line(out, "uptime_requirement", num(s.uptime_requirement));
        let q = s.quality_minimums.iter().map(|(k, v)| (k.clone(), num(*v))).collect();
        line(out, "quality_minimums", V::Table(q));
        line(out, "penalty_fraction", num(s.penalty_fraction));
    }
    if p.role == Role::Provider {
        let r = &p.reliability;
        out.push_str("\n[population.reliability]\n");
        line(out, "no_show_probability", num(r.no_show_probability));
        line(out, "start_delay", dist_ms(&r.start_delay_ms));
        line(out, "speed_factor", dist(&r.speed_factor));
        line(out, "availability", dist(&r.availability));
        line(out, "quality", dist(&r.quality));
        line(out, "offline_probability", num(r.offline_probability));
    }
}

/// `units_per_period` and the strategy-specific keys that apply to the population.
fn strategy_params(out: &mut String, p: &PopulationSpec) {
    let on = |key: &str| applies(key, p.role, p.strategy);
    let q = &p.params;
    if let (true, Some(n)) = (on("units_per_period"), p.units_per_period) {
        line(out, "units_per_period", int(n));
    }
    if on("learning_rate") {
        line(out, "learning_rate", dist(&q.learning_rate));
        line(out, "momentum", dist(&q.momentum));
        line(out, "initial_margin", dist(&q.initial_margin));
    }
    if on("markups") {
        line(out, "markups", V::Array(q.markups.iter().map(|x| num(*x)).collect()));
        line(out, "recency", num(q.recency));
        line(out, "experimentation", num(q.experimentation));
    }
    if on("vwap_margin") {
        line(out, "vwap_margin", dist(&q.vwap_margin));
    }
    if on("intro_markup") {
        line(out, "intro_markup", dist(&q.intro_markup));
    }
    if on("exploit_threshold") {
        line(out, "exploit_threshold", num(q.exploit_threshold));
        line(out, "exploit_quality", dist(&q.exploit_quality));
    }
    if on("reentry_threshold") {
        line(out, "reentry_threshold", num(q.reentry_threshold));
        line(out, "max_reentries", int(q.max_reentries.into()));
    }
    if on("peers_per_account") {
        line(out, "peers_per_account", int(q.peers_per_account.into()));
    }
    if on("relay_cut") {
        line(out, "relay_cut", num(q.relay_cut));
    }
    if on("violation_probability") {
        line(out, "violation_probability", num(q.violation_probability));
    }
    if on("ring") {
        line(out, "ring", text(&q.ring));
    }
}

/// The TOML text of a resolved scenario.
pub fn to_toml(s: &Scenario) -> String {
    let mut out = String::new();
    out.push_str("# Resolved scenario: every default written out. See scenarios/README.md.\n");
    out.push_str("\n[scenario]\n");
    line(&mut out, "name", text(&s.name));
    line(&mut out, "seed", int(s.seed));
    line(&mut out, "duration", dur(s.duration_ms));
    line(&mut out, "sample_interval", dur(s.sample_interval_ms));
    if let Some(p) = s.periods {
        line(&mut out, "periods", V::Integer(p.into()));
    }
    market(&mut out, &s.market);
    for t in &s.task_types {
        task_type(&mut out, t);
    }
    for p in &s.populations {
        population(&mut out, p, &s.task_types);
    }
    for e in &s.effects {
        out.push_str("\n[[effect]]\n");
        line(&mut out, "name", text(&e.name));
        line(&mut out, "seeds", int(e.seeds));
        let pairs: Vec<String> =
            e.versus.iter().map(|(k, v)| format!("{} = {v}", toml::Value::String(k.clone()))).collect();
        out.push_str(&format!("versus = {{ {} }}\n", pairs.join(", ")));
    }
    out
}
