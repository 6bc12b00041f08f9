//! Stage two of the scenario config: raw structs → a validated [`Scenario`].
//!
//! Fills in the documented defaults (see `scenarios/README.md`), checks every value and returns
//! the first problem with its TOML path. Populations are checked in `population.rs`.

use synmarket_agents::spec::Dist;
use synmarket_engine::{DurationMs, MarketConfig, MultiSigType, ReputationConfig};

use super::checks::{Check, Domain, bad, dist, duration, name};
use super::duration::{DAY, HOUR};
use super::locate::TomlPath;
use super::population::populations;
use super::raw::{RawEscrow, RawFile, RawHeader, RawMarket, RawReputation, RawSeed, RawTaskType};
use super::{Scenario, market_seed};
use synmarket_agents::spec::TaskTypeSpec;

/// Longest simulated duration of a scenario.
pub const MAX_SCENARIO_DURATION_MS: DurationMs = 365 * DAY;
/// Most metric samples per run (`duration / sample_interval`).
pub const MAX_SAMPLES: u64 = 1_000_000;
/// Most trading periods.
pub const MAX_PERIODS: i64 = 10_000;
/// Most task types.
pub const MAX_TASK_TYPES: usize = 1_000;
/// Most capabilities in one task type's vocabulary.
pub const MAX_CAPABILITIES_PER_TASK_TYPE: usize = 120;
/// Most distinct capabilities in a scenario, besides the built-in `confidential` attestation
/// (the engine's capability sets hold 128).
pub const MAX_CAPABILITIES: usize = 127;
/// Most compute units per task or order.
pub const MAX_UNITS: f64 = 1_000_000.0;
/// The capability name reserved for the confidential attestation.
pub const CONFIDENTIAL: &str = "confidential";
/// Default sampling interval (or the duration, if shorter).
pub const DEFAULT_SAMPLE_INTERVAL_MS: DurationMs = HOUR;
/// The engine's own limit on market durations.
const MAX_MARKET_DURATION_MS: DurationMs = 10 * 365 * DAY;

/// Validates a parsed file.
pub fn scenario(raw: &RawFile) -> Check<Scenario> {
    let root = TomlPath::root();
    let header = root.key("scenario");
    let (scenario_name, seed, duration_ms, sample_interval_ms, periods) = header_values(&header, &raw.scenario)?;
    let mut market = market(&root.key("market"), &raw.market)?;
    market.market_seed = market_seed(seed);
    let task_types = task_types(&root.key("task_type"), &raw.task_type, raw.scenario.capabilities.as_deref(), &header)?;
    let populations = populations(&root.key("population"), &raw.population, &task_types, &market, duration_ms)?;
    let arbitrators: u64 = populations
        .iter()
        .filter(|p| p.role == synmarket_agents::spec::Role::Arbitrator)
        .map(|p| u64::from(p.count))
        .sum();
    // A threshold is never lowered (engine, `lifecycle.rs`): a dispute needs
    // `dispute_panel_required` matching votes from distinct arbitrators, so a scenario with some
    // arbitrators but fewer than that would have every dispute refused (`PanelUnstaffed`). With
    // none at all, disputes are refused by design (no arbitration in that market).
    let required = u64::from(market.dispute_panel_required);
    if arbitrators > 0 && arbitrators < required {
        return bad(
            &root.key("market").key("dispute_panel_required"),
            format!(
                "a dispute needs {required} matching votes from distinct arbitrators, but the scenario has only \
                 {arbitrators} arbitrator agents: add arbitrators or lower dispute_panel_required"
            ),
        );
    }
    if let MultiSigType::Arbitrators { total, .. } = market.escrow
        && arbitrators < u64::from(total)
    {
        return bad(
            &root.key("market").key("escrow"),
            format!(
                "arbitrated escrows draw {total} arbitrators each, but the scenario has only \
                 {arbitrators} arbitrator agents"
            ),
        );
    }
    let effects = effects(&root.key("effect"), &raw.effect)?;
    Ok(Scenario {
        effects,
        name: scenario_name,
        seed,
        duration_ms,
        sample_interval_ms,
        periods,
        market,
        task_types,
        populations,
    })
}

type Header = (String, u64, DurationMs, DurationMs, Option<u32>);

fn header_values(path: &TomlPath, h: &RawHeader) -> Check<Header> {
    let scenario_name = name(&path.key("name"), &h.name)?;
    let seed = match &h.seed {
        None => 0,
        Some(RawSeed::Int(i)) => {
            u64::try_from(*i).or_else(|_| bad(&path.key("seed"), format!("{i} is negative; seeds are 0 ..= 2^64-1")))?
        }
        Some(RawSeed::Text(t)) => parse_seed(t).ok_or(()).or_else(|_| {
            bad(&path.key("seed"), format!("{t:?} is not a u64 (write a decimal number or 0x followed by hex digits)"))
        })?,
    };
    let duration_ms = duration(&path.key("duration"), &h.duration, true, MAX_SCENARIO_DURATION_MS)?;
    let sample_interval_ms = match &h.sample_interval {
        None => DEFAULT_SAMPLE_INTERVAL_MS.min(duration_ms),
        Some(s) => {
            let p = path.key("sample_interval");
            let ms = duration(&p, s, true, MAX_SCENARIO_DURATION_MS)?;
            if ms > duration_ms {
                return bad(&p, format!("{s} is longer than the scenario duration {}", h.duration));
            }
            ms
        }
    };
    let samples = duration_ms.div_ceil(sample_interval_ms);
    if samples > MAX_SAMPLES {
        return bad(
            &path.key("sample_interval"),
            format!("{samples} samples over the duration exceed the limit of {MAX_SAMPLES}; sample less often"),
        );
    }
    let periods = match h.periods {
        None => None,
        Some(n) => {
            let p = path.key("periods");
            if !(1..=MAX_PERIODS).contains(&n) {
                return bad(&p, format!("{n} is outside 1..={MAX_PERIODS}"));
            }
            if duration_ms % (n as u64) != 0 {
                return bad(
                    &p,
                    format!("the duration {} does not split into {n} equal periods of whole milliseconds", h.duration),
                );
            }
            Some(n as u32)
        }
    };
    if let Some(caps) = &h.capabilities {
        let p = path.key("capabilities");
        capability_list(&p, caps, MAX_CAPABILITIES)?;
    }
    Ok((scenario_name, seed, duration_ms, sample_interval_ms, periods))
}

fn parse_seed(t: &str) -> Option<u64> {
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().ok()
    } else {
        None
    }
}

/// Checks a list of capability names: valid, unique, not `confidential`, at most `limit`.
fn capability_list(path: &TomlPath, caps: &[String], limit: usize) -> Check<Vec<String>> {
    if caps.len() > limit {
        return bad(path, format!("{} capabilities exceed the limit of {limit}", caps.len()));
    }
    let mut out: Vec<String> = Vec::with_capacity(caps.len());
    for (i, c) in caps.iter().enumerate() {
        let p = path.index(i);
        let c = name(&p, c)?;
        if c == CONFIDENTIAL {
            return bad(
                &p,
                "`confidential` is the built-in attestation for confidential tasks; use \
                 privacy_mix and confidential_attested instead",
            );
        }
        if out.contains(&c) {
            return bad(&p, format!("duplicate capability `{c}`"));
        }
        out.push(c);
    }
    Ok(out)
}

fn opt_duration(path: &TomlPath, key: &str, v: &Option<String>, default: DurationMs) -> Check<DurationMs> {
    match v {
        None => Ok(default),
        Some(s) => duration(&path.key(key), s, false, MAX_MARKET_DURATION_MS),
    }
}

/// Builds the market config from defaults and the `[market]` table, then runs the engine's checks.
fn market(path: &TomlPath, m: &RawMarket) -> Check<MarketConfig> {
    if m.market_seed.is_some() {
        return bad(
            &path.key("market_seed"),
            "cannot be set: it is derived from scenario.seed as splitmix64(seed ^ 0x6d61726b65745f73)",
        );
    }
    let d = MarketConfig::default();
    let escrow = match &m.escrow {
        None => d.escrow,
        Some(RawEscrow::Single) => MultiSigType::Single,
        Some(RawEscrow::BothParties) => MultiSigType::BothParties,
        Some(RawEscrow::Arbitrators { required, total }) => {
            MultiSigType::Arbitrators { required: *required, total: *total }
        }
        Some(RawEscrow::TimeLocked(s)) => MultiSigType::TimeLocked {
            release_after_ms: duration(&path.key("escrow").key("time_locked"), s, false, MAX_MARKET_DURATION_MS)?,
        },
    };
    let reputation = reputation(&path.key("reputation"), m.reputation.as_ref())?;
    let config = MarketConfig {
        auction_window_ms: opt_duration(path, "auction_window", &m.auction_window, d.auction_window_ms)?,
        slot_divisor: m.slot_divisor.unwrap_or(d.slot_divisor),
        slot_cap: m.slot_cap.unwrap_or(d.slot_cap),
        pricing: m.pricing.unwrap_or(d.pricing),
        reputation_weight: m.reputation_weight.unwrap_or(d.reputation_weight),
        fee_bps: m.fee_bps.unwrap_or(d.fee_bps),
        escrow,
        review_window_ms: opt_duration(path, "review_window", &m.review_window, d.review_window_ms)?,
        escrow_timeout_ms: opt_duration(path, "escrow_timeout", &m.escrow_timeout, d.escrow_timeout_ms)?,
        dispute_timeout_ms: opt_duration(path, "dispute_timeout", &m.dispute_timeout, d.dispute_timeout_ms)?,
        dispute_default: m.dispute_default.unwrap_or(d.dispute_default),
        dispute_panel_total: m.dispute_panel_total.unwrap_or(d.dispute_panel_total),
        dispute_panel_required: m.dispute_panel_required.unwrap_or(d.dispute_panel_required),
        private_min_reputation: m.private_min_reputation.unwrap_or(d.private_min_reputation),
        confidential_min_reputation: m.confidential_min_reputation.unwrap_or(d.confidential_min_reputation),
        audit_rate: m.audit_rate.unwrap_or(d.audit_rate),
        market_seed: 0,
        verify_signatures: m.verify_signatures.unwrap_or(d.verify_signatures),
        default_max_response_ms: opt_duration(
            path,
            "default_max_response",
            &m.default_max_response,
            d.default_max_response_ms,
        )?,
        default_max_duration_ms: opt_duration(
            path,
            "default_max_duration",
            &m.default_max_duration,
            d.default_max_duration_ms,
        )?,
        deadline_grace_ms: opt_duration(path, "deadline_grace", &m.deadline_grace, d.deadline_grace_ms)?,
        usage_cap_window_ms: opt_duration(path, "usage_cap_window", &m.usage_cap_window, d.usage_cap_window_ms)?,
        price_window_ms: opt_duration(path, "price_window", &m.price_window, d.price_window_ms)?,
        retain_ledger: m.retain_ledger.unwrap_or(d.retain_ledger),
        reputation,
    };
    // The engine's own checks; NaN and infinities are refused here first with a uniform message.
    for (key, x) in [
        ("reputation_weight", config.reputation_weight),
        ("private_min_reputation", config.private_min_reputation),
        ("confidential_min_reputation", config.confidential_min_reputation),
        ("audit_rate", config.audit_rate),
    ] {
        super::checks::finite(&path.key(key), x)?;
    }
    super::checks::probability(&path.key("audit_rate"), config.audit_rate)?;
    if let Err(e) = config.validate() {
        return bad(&market_field_path(path, e.field), e.reason.replace("_ms", ""));
    }
    Ok(config)
}

/// Maps a `MarketConfig` field name (as the engine reports it) to its key in `[market]`.
pub fn market_field_key(field: &str) -> String {
    match field {
        "reputation.fast_response_ms" => "reputation.fast_response_time".into(),
        "reputation.slow_response_ms" => "reputation.slow_response_time".into(),
        f => f.strip_suffix("_ms").unwrap_or(f).to_string(),
    }
}

fn market_field_path(path: &TomlPath, field: &str) -> TomlPath {
    market_field_key(field).split('.').fold(path.clone(), |p, k| p.key(k))
}

fn reputation(path: &TomlPath, r: Option<&RawReputation>) -> Check<ReputationConfig> {
    let d = ReputationConfig::default();
    let Some(r) = r else {
        return Ok(d);
    };
    let config = ReputationConfig {
        initial: r.initial.unwrap_or(d.initial),
        min: r.min.unwrap_or(d.min),
        max: r.max.unwrap_or(d.max),
        trade_completed: r.trade_completed.unwrap_or(d.trade_completed),
        trade_failed: r.trade_failed.unwrap_or(d.trade_failed),
        sla_violation: r.sla_violation.unwrap_or(d.sla_violation),
        trade_disputed: r.trade_disputed.unwrap_or(d.trade_disputed),
        dispute_won: r.dispute_won.unwrap_or(d.dispute_won),
        dispute_lost: r.dispute_lost.unwrap_or(d.dispute_lost),
        fast_response: r.fast_response.unwrap_or(d.fast_response),
        slow_response: r.slow_response.unwrap_or(d.slow_response),
        positive_feedback: r.positive_feedback.unwrap_or(d.positive_feedback),
        negative_feedback: r.negative_feedback.unwrap_or(d.negative_feedback),
        fast_response_ms: opt_duration(path, "fast_response_time", &r.fast_response_time, d.fast_response_ms)?,
        slow_response_ms: opt_duration(path, "slow_response_time", &r.slow_response_time, d.slow_response_ms)?,
        decay_half_life_ms: opt_duration(path, "decay_half_life", &r.decay_half_life, d.decay_half_life_ms)?,
        decay_step_ms: opt_duration(path, "decay_step", &r.decay_step, d.decay_step_ms)?,
    };
    Ok(config)
}

/// Default units per task when a task type does not say.
pub fn default_task_units() -> Dist {
    Dist::Uniform(10.0, 100.0)
}

/// Default execution time of a task (milliseconds at speed 1) when a task type does not say.
pub fn default_task_duration() -> Dist {
    Dist::Uniform(5.0 * 60_000.0, 30.0 * 60_000.0)
}

fn task_types(
    path: &TomlPath,
    raw: &[RawTaskType],
    declared: Option<&[String]>,
    header: &TomlPath,
) -> Check<Vec<TaskTypeSpec>> {
    if raw.is_empty() {
        return bad(path, "the scenario needs at least one [[task_type]]");
    }
    if raw.len() > MAX_TASK_TYPES {
        return bad(path, format!("{} task types exceed the limit of {MAX_TASK_TYPES}", raw.len()));
    }
    let mut out: Vec<TaskTypeSpec> = Vec::with_capacity(raw.len());
    let mut distinct: Vec<String> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let p = path.index(i);
        let n = name(&p.key("name"), &t.name)?;
        if let Some(j) = out.iter().position(|o| o.name == n) {
            return bad(&p.key("name"), format!("duplicate task type name `{n}` (also task_type[{j}])"));
        }
        let caps_path = p.key("capabilities");
        let caps =
            capability_list(&caps_path, t.capabilities.as_deref().unwrap_or(&[]), MAX_CAPABILITIES_PER_TASK_TYPE)?;
        for (k, c) in caps.iter().enumerate() {
            if let Some(declared) = declared
                && !declared.contains(c)
            {
                return bad(
                    &caps_path.index(k),
                    format!("unknown capability `{c}`: it is not listed in {}", header.key("capabilities")),
                );
            }
            if !distinct.contains(c) {
                distinct.push(c.clone());
                if distinct.len() > MAX_CAPABILITIES {
                    return bad(
                        &caps_path.index(k),
                        format!(
                            "the scenario uses more than {MAX_CAPABILITIES} distinct capabilities (the \
                             engine holds 128, one of which is `confidential`)"
                        ),
                    );
                }
            }
        }
        let n_caps = caps.len() as f64;
        let capabilities_needed = match &t.capabilities_needed {
            None => Dist::Fixed(n_caps.min(1.0)),
            Some(d) => dist(&p.key("capabilities_needed"), d, Domain::closed(0.0, n_caps))?,
        };
        let units = match &t.units {
            None => default_task_units(),
            Some(d) => dist(&p.key("units"), d, Domain::closed(1.0, MAX_UNITS))?,
        };
        let duration_ms = match &t.duration {
            None => default_task_duration(),
            Some(d) => dist(&p.key("duration"), d, Domain::duration(0.0, MAX_SCENARIO_DURATION_MS as f64, true))?,
        };
        out.push(TaskTypeSpec { name: n, capabilities: caps, capabilities_needed, units, duration_ms });
    }
    Ok(out)
}

/// Most pairs of one `[[effect]]`.
pub const MAX_EFFECT_SEEDS: i64 = 1_000;

/// `[[effect]]` tables: names, keys and seed counts (the counterfactual itself is validated by
/// `Scenario` loading, which applies the keys to the document).
fn effects(path: &TomlPath, raw: &[super::raw::RawEffect]) -> Check<Vec<super::Effect>> {
    let mut out: Vec<super::Effect> = Vec::new();
    for (i, e) in raw.iter().enumerate() {
        let p = path.index(i);
        if e.name.is_empty()
            || e.name.len() > 64
            || !e.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return bad(&p.key("name"), "use 1 to 64 letters, digits, '_' or '-'");
        }
        if out.iter().any(|x| x.name == e.name) {
            return bad(&p.key("name"), format!("`{}` names two effects", e.name));
        }
        if e.versus.is_empty() {
            return bad(&p.key("versus"), "give at least one \"dotted.key\" = value to change");
        }
        let mut versus = Vec::new();
        for (k, v) in &e.versus {
            if !k.contains('.') {
                return bad(
                    &p.key("versus").key(k),
                    "keys are quoted dotted scenario keys, e.g. { \"market.reputation_weight\" = 0.0 }",
                );
            }
            if k == "scenario.seed" || k == "scenario.name" {
                return bad(&p.key("versus").key(k), "a pair shares its seeds and name: change another key");
            }
            versus.push((k.clone(), v.clone()));
        }
        let seeds = match e.seeds {
            None => 10,
            Some(n) if (2..=MAX_EFFECT_SEEDS).contains(&n) => n as u64,
            Some(n) => return bad(&p.key("seeds"), format!("{n}: expected 2 to {MAX_EFFECT_SEEDS} pairs")),
        };
        out.push(super::Effect { name: e.name.clone(), versus, seeds });
    }
    Ok(out)
}
