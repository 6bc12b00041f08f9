//! Stage two of the scenario config: the typed file → a validated [`Scenario`].
//!
//! Every table checks itself (`MarketConfig::validate`, `TaskTypeSpec::validate`,
//! `PopulationSpec::validate`); this file adds what only the whole scenario knows: the header,
//! capability vocabularies, names that must be unique, size limits, arbitrators enough to staff
//! a dispute panel, and `[[effect]]` tables. Errors carry the TOML path of the value.

use synmarket_agents::config::{Check, TomlPath, bad, name};
use synmarket_agents::spec::{Context, MAX_SCENARIO_DURATION_MS};
use synmarket_agents::{PopulationSpec, Role, TaskTypeSpec};
use synmarket_engine::duration::format_ms;
use synmarket_engine::{DurationMs, HOUR, MultiSigType};

use super::file::{EffectSpec, Header, ScenarioFile};
use super::population::population;
use super::{Effect, Scenario, market_seed};

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
/// Most populations in a scenario.
pub const MAX_POPULATIONS: usize = 1_000;
/// Most agents in a scenario.
pub const MAX_TOTAL_AGENTS: u64 = 2_000_000;
/// Most orders a scenario may expect to generate (Σ count × arrival rate × hours).
pub const MAX_EXPECTED_ORDERS: f64 = 100_000_000.0;
/// Most pairs of one `[[effect]]`.
pub const MAX_EFFECT_SEEDS: i64 = 1_000;
/// The capability name reserved for the confidential attestation.
pub const CONFIDENTIAL: &str = "confidential";
/// Default sampling interval (or the duration, if shorter).
pub const DEFAULT_SAMPLE_INTERVAL_MS: DurationMs = HOUR;

/// Validates a parsed file.
pub fn scenario(file: &ScenarioFile) -> Check<Scenario> {
    let root = TomlPath::root();
    let header = root.key("scenario");
    let (scenario_name, seed, duration_ms, sample_interval_ms, periods) = header_values(&header, &file.scenario)?;
    let mut market = file.market.clone();
    market.market_seed = market_seed(seed);
    let mp = root.key("market");
    for (key, x) in [
        ("reputation_weight", market.reputation_weight),
        ("private_min_reputation", market.private_min_reputation),
        ("confidential_min_reputation", market.confidential_min_reputation),
        ("audit_rate", market.audit_rate),
    ] {
        synmarket_agents::config::finite(&mp.key(key), x)?;
    }
    synmarket_agents::config::probability(&mp.key("audit_rate"), market.audit_rate)?;
    if let Err(e) = market.validate() {
        let path = e.field.split('.').fold(mp.clone(), |p, k| p.key(k));
        return bad(&path, e.reason);
    }
    // `pricing` is first-accept's rule; the other institutions set their own price (the
    // continuous double auction accepts `resting`, its rule). Keep the default there, so the
    // resolved scenario, which leaves `pricing` out, reads back as the same scenario.
    if market.institution != synmarket_engine::Institution::FirstAccept {
        market.pricing = synmarket_engine::PriceRule::default();
    }
    if market.institution == synmarket_engine::Institution::CallMarket && market.call_interval_ms > duration_ms {
        return bad(
            &mp.key("call_interval"),
            format!(
                "{} is longer than the run ({}): no call would fall within it",
                synmarket_engine::duration::format_ms(market.call_interval_ms),
                synmarket_engine::duration::format_ms(duration_ms)
            ),
        );
    }
    let task_types =
        task_types(&root.key("task_type"), &file.task_type, file.scenario.capabilities.as_deref(), &header)?;
    let names: Vec<String> = task_types.iter().map(|t| t.name.clone()).collect();
    let ctx = Context {
        task_types: &names,
        reputation: (market.reputation.min, market.reputation.max),
        verify_signatures: market.verify_signatures,
    };
    let populations = populations(&root.key("population"), &file.population, &ctx, duration_ms)?;
    quality_metrics(&root.key("population"), &populations, file.scenario.quality_metrics.as_deref(), &header)?;
    let arbitrators: u64 = populations.iter().filter(|p| p.role == Role::Arbitrator).map(|p| u64::from(p.count)).sum();
    // A threshold is never lowered (engine, `lifecycle.rs`): a dispute needs
    // `dispute_panel_required` matching votes from distinct arbitrators, so a scenario with some
    // arbitrators but fewer than that would have every dispute refused (`PanelUnstaffed`). With
    // none at all, disputes are refused by design (no arbitration in that market).
    let required = u64::from(market.dispute_panel_required);
    if arbitrators > 0 && arbitrators < required {
        return bad(
            &mp.key("dispute_panel_required"),
            format!(
                "a dispute needs {required} matching votes from distinct arbitrators, but the scenario has only \
                 {arbitrators} arbitrator {}: add arbitrators or lower dispute_panel_required",
                if arbitrators == 1 { "agent" } else { "agents" }
            ),
        );
    }
    if let MultiSigType::Arbitrators { total, .. } = market.escrow
        && arbitrators < u64::from(total)
    {
        return bad(
            &mp.key("escrow"),
            format!(
                "arbitrated escrows draw {total} arbitrators each, but the scenario has only \
                 {arbitrators} arbitrator {}",
                if arbitrators == 1 { "agent" } else { "agents" }
            ),
        );
    }
    let effects = effects(&root.key("effect"), &file.effect)?;
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

type HeaderValues = (String, u64, DurationMs, DurationMs, Option<u32>);

fn header_values(path: &TomlPath, h: &Header) -> Check<HeaderValues> {
    let scenario_name = name(&path.key("name"), &h.name)?;
    let duration_ms = h.duration.ms();
    let limit = |key: &str, ms: DurationMs| -> Check<()> {
        if ms == 0 {
            return bad(&path.key(key), "must be longer than 0");
        }
        if ms > MAX_SCENARIO_DURATION_MS {
            return bad(
                &path.key(key),
                format!("{} is longer than the limit of {}", format_ms(ms), format_ms(MAX_SCENARIO_DURATION_MS)),
            );
        }
        Ok(())
    };
    limit("duration", duration_ms)?;
    let sample_interval_ms = match h.sample_interval {
        None => DEFAULT_SAMPLE_INTERVAL_MS.min(duration_ms),
        Some(s) => {
            limit("sample_interval", s.ms())?;
            if s.ms() > duration_ms {
                return bad(
                    &path.key("sample_interval"),
                    format!("{s} is longer than the scenario duration {}", h.duration),
                );
            }
            s.ms()
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
                return bad(&p, format!("{n} is outside 1 to {MAX_PERIODS}"));
            }
            if !duration_ms.is_multiple_of(n as u64) {
                return bad(
                    &p,
                    format!("the duration {} does not split into {n} equal periods of whole milliseconds", h.duration),
                );
            }
            Some(n as u32)
        }
    };
    if let Some(caps) = &h.capabilities {
        capability_list(&path.key("capabilities"), caps, MAX_CAPABILITIES)?;
    }
    Ok((scenario_name, h.seed.0, duration_ms, sample_interval_ms, periods))
}

/// Checks a list of capability names: valid, unique, not `confidential`, at most `limit`.
fn capability_list(path: &TomlPath, caps: &[String], limit: usize) -> Check<()> {
    if caps.len() > limit {
        return bad(path, format!("{} capabilities exceed the limit of {limit}", caps.len()));
    }
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
        if caps[..i].contains(&c) {
            return bad(&p, format!("duplicate capability `{c}`"));
        }
    }
    Ok(())
}

fn task_types(
    path: &TomlPath,
    raw: &[TaskTypeSpec],
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
    let mut distinct: Vec<&str> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let p = path.index(i);
        if let Some(j) = out.iter().position(|o| o.name == t.name) {
            return bad(&p.key("name"), format!("duplicate task type name `{}` (also task_type[{j}])", t.name));
        }
        let caps_path = p.key("capabilities");
        capability_list(&caps_path, &t.capabilities, MAX_CAPABILITIES_PER_TASK_TYPE)?;
        for (k, c) in t.capabilities.iter().enumerate() {
            if let Some(declared) = declared
                && !declared.contains(c)
            {
                return bad(
                    &caps_path.index(k),
                    format!("unknown capability `{c}`: it is not listed in {}", header.key("capabilities")),
                );
            }
            if !distinct.contains(&c.as_str()) {
                distinct.push(c);
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
        let t = t
            .clone()
            .validate()
            .map_err(|e| synmarket_agents::config::Invalid { path: p.join(&e.path), reason: e.reason })?;
        out.push(t);
    }
    Ok(out)
}

fn populations(
    path: &TomlPath,
    raw: &[toml::Table],
    ctx: &Context<'_>,
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
    for (i, t) in raw.iter().enumerate() {
        let p = path.index(i);
        let spec = population(&p, t, ctx)?;
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
        if spec.role.trades() {
            expected_orders += f64::from(spec.count) * spec.trading.arrival_rate_per_hour.0 * hours;
        }
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
    for role in [Role::Requester, Role::Provider] {
        if !out.iter().any(|p| p.role == role) {
            return bad(path, format!("no population has role = \"{role}\"; a market needs requesters and providers"));
        }
    }
    Ok(out)
}

/// The quality metrics SLA minimums name. Every completion reports every metric some SLA names
/// (at most four, `synmarket_agents::kernel::quality_metric_names`), so a misspelt name is not
/// an error anyone would see: it becomes a metric of its own that the other populations' SLAs
/// never check. Refused here: more than four names; a name outside `scenario.quality_metrics`
/// when that is declared; without a declaration, a name within two edits of a name used earlier
/// (declare both to mean both).
fn quality_metrics(
    path: &TomlPath,
    pops: &[PopulationSpec],
    declared: Option<&[String]>,
    header: &TomlPath,
) -> Check<()> {
    use crate::scenario::messages::{edit_distance, suggestion};
    if let Some(list) = declared {
        capability_list(&header.key("quality_metrics"), list, synmarket_engine::order::MAX_QUALITY_VALUES)?;
    }
    // Every (name, where) in file order; `uses` counts the populations naming each.
    let mut named: Vec<(String, TomlPath)> = Vec::new();
    for (i, p) in pops.iter().enumerate() {
        let Some(sla) = p.requesting.sla.as_ref().filter(|_| p.role == Role::Requester) else { continue };
        let at = path.index(i).key("sla").key("quality_minimums");
        for name in sla.quality_minimums.keys() {
            let here = at.key(name);
            if let Some(list) = declared
                && !list.contains(name)
            {
                let known: Vec<&str> = list.iter().map(String::as_str).collect();
                let hint = suggestion(name, &known).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
                return bad(
                    &here,
                    format!(
                        "`{name}` is not one of the quality metrics declared in {} ({}){hint}",
                        header.key("quality_metrics"),
                        list.join(", ")
                    ),
                );
            }
            named.push((name.clone(), here));
        }
    }
    let uses = |n: &str| named.iter().filter(|(o, _)| o == n).count();
    if declared.is_none() {
        // A near-duplicate pair: blame the spelling fewer populations use (the later one on a tie).
        for (j, (name, here)) in named.iter().enumerate() {
            let near = named.iter().enumerate().find(|(k, (o, _))| {
                o != name
                    && edit_distance(o, name) <= 2
                    && o.len().min(name.len()) > 3
                    && (uses(o) > uses(name) || (uses(o) == uses(name) && *k < j))
            });
            if let Some((_, (other, where_))) = near {
                return bad(
                    here,
                    format!(
                        "`{name}` is within two letters of `{other}` ({where_}): they would be two metrics, each \
                         reported by every provider, and a minimum on one never checks the other. Write one \
                         spelling, or declare both in {} if both are meant",
                        header.key("quality_metrics")
                    ),
                );
            }
        }
    }
    let mut all: Vec<&str> = Vec::new();
    for (name, _) in &named {
        if !all.contains(&name.as_str()) {
            all.push(name);
        }
    }
    let mut distinct: Vec<&str> = Vec::new();
    for (name, here) in &named {
        if !distinct.contains(&name.as_str()) {
            distinct.push(name);
        }
        if distinct.len() > synmarket_engine::order::MAX_QUALITY_VALUES {
            let distinct = &all;
            return bad(
                here,
                format!(
                    "a completion reports at most {} quality metrics, and the SLAs name {}: {}",
                    synmarket_engine::order::MAX_QUALITY_VALUES,
                    distinct.len(),
                    distinct.join(", ")
                ),
            );
        }
    }
    Ok(())
}

/// `[[effect]]` tables: names, keys and seed counts (the counterfactual itself is validated by
/// `Scenario` loading, which applies the keys to the document).
fn effects(path: &TomlPath, raw: &[EffectSpec]) -> Check<Vec<Effect>> {
    let mut out: Vec<Effect> = Vec::new();
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
        out.push(Effect { name: e.name.clone(), versus, seeds });
    }
    Ok(out)
}
