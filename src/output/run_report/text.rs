//! The report document: scenario summary, headline table, and per topic plain sentences
//! generated from the tables' numbers, next to the charts. Every claim is computed here from the
//! tables; where a number is undefined (no trades, no disputes) the sentence says so instead.

use synmarket_agents::{GroundTruthKind, Role};
use synmarket_engine::Institution;

use crate::metrics::compliance::column as C;
use crate::metrics::equilibrium::column as PD;
use crate::metrics::quality::column as Q;
use crate::metrics::summary::column as S;
use crate::metrics::timeseries::column as TS;
use crate::metrics::welfare::column as W;
use crate::metrics::{
    ALL, CONVERGENCE_THRESHOLD, MIN_CONVERGED_INTERVALS, converged_intervals_needed, time_to_converge,
};
use crate::output::page::{ChartRef, Report, Section, Table};
use crate::scenario::Scenario;
use crate::sweep::column as stats_column;

use super::charts::Place;
use super::read::Tables;

/// `0.529` → `"52.9 %"`; undefined → `"n/a"`.
pub fn pct(x: f64) -> String {
    if x.is_finite() { format!("{:.1} %", x * 100.0) } else { "n/a".into() }
}

/// A number with thousands separators and `decimals` decimals; undefined → `"n/a"`.
pub fn num(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(a, b)| (a, b));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    if frac.is_empty() { format!("{sign}{out}") } else { format!("{sign}{out}.{frac}") }
}

/// A duration in ms as seconds, minutes, hours or days; undefined → `"n/a"`.
pub fn dur(ms: f64) -> String {
    if !ms.is_finite() {
        return "n/a".into();
    }
    let s = ms / 1000.0;
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 48.0 * 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

/// `s` with every chart placed in it, in figure order.
fn with_charts(mut s: Section, charts: &[(Place, ChartRef)], place: Place) -> Section {
    for (_, c) in charts.iter().filter(|(p, _)| *p == place) {
        s = s.with_chart(c.clone());
    }
    s
}

/// The whole report.
pub fn report(s: &Scenario, t: &Tables, charts: Vec<(Place, ChartRef)>) -> Report {
    let h = |k: &str| t.headline(k);
    Report::new(format!("Run report: {} (seed {})", s.name, s.seed))
        .with_subtitle(format!(
            "synmarket {} · {} simulated · {} agents · generated from the Parquet tables of this folder",
            env!("CARGO_PKG_VERSION"),
            dur(s.duration_ms as f64),
            num(h(S::agents), 0)
        ))
        .with_section(scenario_section(s, t))
        .with_section(headline_section(t))
        .with_section(with_charts(convergence_section(t), &charts, Place::Convergence))
        .with_section(with_charts(liquidity_section(t), &charts, Place::Liquidity))
        .with_section(with_charts(sla_section(s, t), &charts, Place::Sla))
        .with_section(with_charts(reputation_section(t), &charts, Place::Reputation))
        .with_section(effects_section(t))
        .with_section(with_charts(escrow_section(t), &charts, Place::Escrow))
        .with_section(with_charts(compliance_section(t), &charts, Place::Compliance))
        .with_section(with_charts(welfare_section(t), &charts, Place::Welfare))
}

fn scenario_section(s: &Scenario, t: &Tables) -> Section {
    let w = &t.welfare;
    let (pop, role, strat, agents) = (w.str(W::POPULATION), w.str(W::ROLE), w.str(W::STRATEGY), w.f64(W::AGENTS));
    let rows = (0..pop.len())
        .map(|i| {
            vec![
                pop[i].clone(),
                role.get(i).cloned().unwrap_or_default(),
                strat.get(i).cloned().unwrap_or_default(),
                num(agents.get(i).copied().unwrap_or(f64::NAN), 0),
            ]
        })
        .collect();
    let m = &s.market;
    // The institution's own parameter, if it has one (docs/mechanisms.md §14).
    let own = match m.institution {
        Institution::FirstAccept => None,
        Institution::ContinuousDoubleAuction => {
            Some(("book cleared after each trade", m.clear_book_after_trade.to_string()))
        }
        Institution::SealedBidReverse => None,
        Institution::CallMarket => Some(("call interval", dur(m.call_interval_ms as f64))),
    };
    let settings = Table::key_value(
        [("institution", m.institution.as_str().to_string()), ("pricing rule", m.price_rule_name().to_string())]
            .into_iter()
            .chain(own)
            .chain([
                ("auction window", dur(m.auction_window_ms as f64)),
                ("reputation weight k", format!("{}", m.reputation_weight)),
                ("fee", format!("{} bp", m.fee_bps)),
                ("escrow release", escrow_release(&m.escrow)),
                ("review window", dur(m.review_window_ms as f64)),
                ("audit rate", pct(m.audit_rate)),
                ("signatures verified", m.verify_signatures.to_string()),
                ("task types", s.task_types.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")),
            ]),
    )
    .with_caption("Key market settings");
    Section::new("Scenario")
        .with_paragraph(format!(
            "Scenario {} with seed {}: {} simulated in {}, sampled every {}.",
            s.name,
            s.seed,
            dur(s.duration_ms as f64),
            match s.periods.unwrap_or(1) {
                1 => "one trading period".to_string(),
                n => format!("{n} trading periods"),
            },
            dur(s.sample_interval_ms as f64)
        ))
        .with_table(
            Table::new(vec!["population".into(), "role".into(), "strategy".into(), "agents".into()], rows)
                .with_caption("Agents by population"),
        )
        .with_table(settings)
}

fn headline_section(t: &Tables) -> Section {
    let h = |k: &str| t.headline(k);
    let rows: Vec<(&str, String)> = vec![
        (
            "orders (requests / offers)",
            format!("{} ({} / {})", num(h(S::orders), 0), num(h(S::requests), 0), num(h(S::offers), 0)),
        ),
        ("trades", num(h(S::trades), 0)),
        ("volume (units)", num(h(S::volume_units), 0)),
        ("VWAP (tokens per unit)", num(h(S::vwap), 2)),
        ("fill rate", pct(h(S::fill_rate))),
        ("match rate", pct(h(S::match_rate))),
        (
            "time to first match p50 / p95",
            format!("{} / {}", dur(h(S::time_to_first_match_p50_ms)), dur(h(S::time_to_first_match_p95_ms))),
        ),
        ("mean relative deviation |VWAP − P*| / P*", pct(h(S::relative_deviation_mean))),
        (
            "time to converge (5 %)",
            if h(S::time_to_converge_ms).is_finite() { dur(h(S::time_to_converge_ms)) } else { "never".into() },
        ),
        ("Smith's alpha (mean)", num(h(S::smith_alpha_mean), 1)),
        ("allocative efficiency", pct(h(S::allocative_efficiency))),
        ("allocative efficiency, eligibility-constrained", pct(h(S::allocative_efficiency_constrained))),
        ("SLA compliance rate", pct(h(S::sla_compliance_rate))),
        ("SLA violations / no-shows", format!("{} / {}", num(h(S::sla_violations), 0), num(h(S::no_shows), 0))),
        ("penalties paid (tokens)", num(h(S::penalties), 0)),
        ("high-reputation volume share", pct(h(S::high_reputation_volume_share))),
        ("high-reputation price premium", pct(h(S::high_reputation_price_premium))),
        ("disputes raised", num(h(S::disputes_raised), 0)),
        ("usage-cap breaches", num(h(S::usage_cap_breaches), 0)),
        ("treasury income (tokens)", num(h(S::treasury_income), 0)),
        ("wealth Gini", num(h(S::wealth_gini), 3)),
    ];
    Section::new("Headline metrics")
        .with_table(Table::key_value(rows).with_caption("End-of-run values (summary.parquet)"))
}

fn convergence_section(t: &Tables) -> Section {
    let ts = &t.timeseries;
    let pd = &t.price_discovery;
    let period_ms = pd.f64(PD::TIME_END_MS).first().copied().unwrap_or(f64::NAN)
        - pd.f64(PD::TIME_START_MS).first().copied().unwrap_or(f64::NAN);
    let mut s = Section::new("How fast prices converge");
    for name in t.task_types() {
        let rows = ts.rows_where(TS::TASK_TYPE, &name);
        let ends = ts.pick(TS::TIME_END_MS, &rows);
        let devs = ts.pick(TS::RELATIVE_DEVIATION, &rows);
        let series: Vec<(u64, Option<f64>)> =
            ends.iter().zip(&devs).map(|(e, d)| (e.max(0.0) as u64, d.is_finite().then_some(*d))).collect();
        let defined: Vec<f64> = devs.iter().copied().filter(|d| d.is_finite()).collect();
        let Some(last) = defined.last() else {
            s = s.with_paragraph(format!("{name}: no trades, so no price convergence can be measured."));
            continue;
        };
        let mean = defined.iter().sum::<f64>() / defined.len() as f64;
        let with_trades = series.iter().filter(|x| x.1.is_some()).count();
        let after = |ms: u64| series.iter().filter(|x| x.0 >= ms && x.1.is_some()).count();
        let tail = series.iter().rev().filter_map(|x| x.1).take_while(|d| *d < CONVERGENCE_THRESHOLD).count();
        let when = match time_to_converge(&series, CONVERGENCE_THRESHOLD) {
            Some(ms) => format!(
                "converged: from {} on ({} of its {with_trades} intervals with trades), the VWAP stayed within {} of P*",
                dur(ms as f64),
                after(ms),
                pct(CONVERGENCE_THRESHOLD)
            ),
            None if tail > 0 => {
                let within = pct(CONVERGENCE_THRESHOLD);
                let seen = match (tail == with_trades, with_trades) {
                    (true, 1) => format!("its one interval with trades had the VWAP within {within} of P*"),
                    (true, _) => {
                        format!("all {with_trades} of its intervals with trades had the VWAP within {within} of P*")
                    }
                    (false, _) => format!(
                        "the VWAP was within {within} of P* only in its last {tail} of {with_trades} intervals with trades"
                    ),
                };
                format!(
                    "did not converge: {seen}, and convergence needs {} such intervals at the end (the larger of {} and \
                     a quarter of the intervals with trades)",
                    converged_intervals_needed(with_trades),
                    MIN_CONVERGED_INTERVALS
                )
            }
            None => format!(
                "did not converge: the VWAP did not stay within {} of P* to the end",
                pct(CONVERGENCE_THRESHOLD)
            ),
        };
        s = s.with_paragraph(format!(
            "{name} {when}; the relative deviation averaged {} over the intervals with trades and was {} in the last \
             one.",
            pct(mean),
            pct(*last)
        ));
    }
    let h = |k: &str| t.headline(k);
    let constrained = h(S::allocative_efficiency_constrained);
    let (pu, pc) = (pd.f64(PD::P_STAR), pd.f64(PD::P_STAR_CONSTRAINED));
    let both: Vec<(f64, f64)> =
        pu.iter().zip(&pc).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(a, b)| (*a, *b)).collect();
    let p_star_sentence = if both.is_empty() {
        String::new()
    } else {
        let n = both.len() as f64;
        let (mu, mc) = (both.iter().map(|x| x.0).sum::<f64>() / n, both.iter().map(|x| x.1).sum::<f64>() / n);
        format!(
            " Over the periods and task types where both are defined, the unconstrained P* averaged {} and the \
             eligibility-constrained P* {} (the unit-weighted mean of each traded seller's competitive price; \
             reports/README.md, \"Constrained equilibrium\").",
            num(mu, 2),
            num(mc, 2)
        )
    };
    let against = if constrained.is_finite() {
        format!(
            ", and {} of the maximum the market's eligibility rules allow (capabilities, reputation floors and privacy \
             levels decide who can trade with whom; reports/README.md, \"Constrained equilibrium\")",
            pct(constrained)
        )
    } else {
        " (the maximum under the eligibility rules was not solved: the periods hold too many eligible pairs)"
            .to_string()
    };
    s.with_paragraph(format!(
        "Across periods and task types, Smith's alpha averaged {} (% of the unconstrained P*) and trade prices varied \
         with a mean coefficient of variation of {} per interval; allocative efficiency was {} of the unconstrained \
         maximum surplus{against} (periods of {}). Price deviations and alpha are measured against the unconstrained \
         P*.{p_star_sentence}",
        num(h(S::smith_alpha_mean), 1),
        num(h(S::price_cv_mean), 3),
        pct(h(S::allocative_efficiency)),
        dur(period_ms)
    ))
}

fn liquidity_section(t: &Tables) -> Section {
    let h = |k: &str| t.headline(k);
    Section::new("How liquid the market is")
        .with_paragraph(format!(
            "{} of the requested units were filled and {} of the requests were matched at least in part; {} units \
             expired unfilled.",
            pct(h(S::fill_rate)),
            pct(h(S::match_rate)),
            num(h(S::expired_unfilled_units), 0)
        ))
        .with_paragraph(format!(
            "Half of the matched requests found a provider {} and 95 % within {}. On average {} offer units \
             rested on the book, {} providers had an offer out, and the mean spread (best ask − best bid) was {} \
             tokens per unit (a negative spread means the best ask and bid cannot trade with each other, e.g. for \
             lack of capabilities or reputation).",
            if h(S::time_to_first_match_p50_ms) == 0.0 {
                "immediately (against resting offers)".to_string()
            } else {
                format!("within {}", dur(h(S::time_to_first_match_p50_ms)))
            },
            dur(h(S::time_to_first_match_p95_ms)),
            num(h(S::resting_units_mean), 0),
            num(h(S::active_providers_mean), 1),
            num(h(S::spread_mean), 1)
        ))
}

fn sla_section(sc: &Scenario, t: &Tables) -> Section {
    let h = |k: &str| t.headline(k);
    let sla = &t.sla;
    let tiers: Vec<String> = sla.str(Q::TIER);
    let rate = sla.f64(Q::SLA_COMPLIANCE_RATE);
    let cols =
        [Q::ASSIGNMENTS, Q::VOLUME_SHARE, Q::VWAP, Q::PRICE_PREMIUM, Q::SLA_COMPLIANCE_RATE, Q::NO_SHOWS, Q::PENALTIES];
    let data: Vec<Vec<f64>> = cols.iter().map(|c| sla.f64(c)).collect();
    let cell = |c: usize, i: usize| data[c].get(i).copied().unwrap_or(f64::NAN);
    let rows = (0..tiers.len())
        .map(|i| {
            vec![
                tiers[i].clone(),
                num(cell(0, i), 0),
                pct(cell(1, i)),
                num(cell(2, i), 2),
                pct(cell(3, i)),
                pct(cell(4, i)),
                num(cell(5, i), 0),
                num(cell(6, i), 0),
            ]
        })
        .collect();
    let header =
        ["tier at match", "trades", "volume share", "VWAP", "price premium", "SLA compliance", "no-shows", "penalties"];
    let mut s = Section::new("How effective SLA enforcement is").with_paragraph(format!(
        "{} tasks settled; {} of them completed without any SLA violation. The market recorded {} violations \
         ({} response time, {} duration, {} uptime, {} quality), {} no-shows and {} abandoned tasks, and moved {} \
         tokens of penalties from providers to requesters.",
        num(h(S::settled_tasks), 0),
        pct(h(S::sla_compliance_rate)),
        num(h(S::sla_violations), 0),
        num(h(S::violations_response), 0),
        num(h(S::violations_duration), 0),
        num(h(S::violations_uptime), 0),
        num(h(S::violations_quality), 0),
        num(h(S::no_shows), 0),
        num(h(S::abandoned), 0),
        num(h(S::penalties), 0)
    ));
    let ranked: Vec<(String, f64)> =
        tiers.iter().zip(&rate).filter(|(t, r)| *t != ALL && r.is_finite()).map(|(t, r)| (t.clone(), *r)).collect();
    if let (Some(lo), Some(hi)) =
        (ranked.iter().min_by(|a, b| a.1.total_cmp(&b.1)), ranked.iter().max_by(|a, b| a.1.total_cmp(&b.1)))
    {
        s = s.with_paragraph(format!(
            "By the provider's reputation tier at match time, SLA compliance ranged from {} ({}) to {} ({}).",
            pct(lo.1),
            lo.0,
            pct(hi.1),
            hi.0
        ));
    }
    // The counterfactual is only offered where it means "without penalties": a population
    // without an [population.sla] table would gain one from the override.
    let with_sla: Vec<usize> = sc
        .populations
        .iter()
        .enumerate()
        .filter(|(_, p)| p.role == synmarket_agents::Role::Requester && p.requesting.sla.is_some())
        .map(|(i, _)| i)
        .collect();
    let s = match with_sla.first() {
        Some(i) => s.with_paragraph(format!(
            "Compliance by tier describes who delivered in this run, not what enforcement achieved: the effect of \
             SLA penalties is the paired difference against the same seeds without them, e.g. \
             `synmarket run <this scenario> --versus 'population[{i}].sla.penalty_fraction=0.0'` (one --versus \
             per requester population with an SLA)."
        )),
        None => s.with_paragraph("No requester population sets an SLA in this scenario, so no task can violate one."),
    };
    s.with_table(
        Table::new(header.iter().map(|x| x.to_string()).collect(), rows).with_caption("Outcomes by reputation tier"),
    )
}

fn reputation_section(t: &Tables) -> Section {
    let h = |k: &str| t.headline(k);
    let corr = h(S::reputation_reliability_corr);
    let strength = match corr.abs() {
        c if !c.is_finite() => "cannot be measured (too few settled tasks or no variation)",
        c if c < 0.1 => "is negligible",
        c if c < 0.3 => "is weak",
        c if c < 0.5 => "is moderate",
        _ => "is strong",
    };
    let premium = h(S::high_reputation_price_premium);
    let direction = if !premium.is_finite() {
        "an undefined price premium (one of the groups did not trade)".to_string()
    } else if premium >= 0.0 {
        format!("prices {} higher than other providers of the same task type", pct(premium))
    } else {
        format!("prices {} lower than other providers of the same task type", pct(-premium))
    };
    Section::new("What reputation changes")
        .with_paragraph(format!(
            "Providers with a reputation of at least 100 when matched won {} of the traded units, at {}.",
            pct(h(S::high_reputation_volume_share)),
            direction
        ))
        .with_paragraph(format!(
            "The correlation between a provider's reputation at match time and the task completing without violation \
             {} (r = {}). At the end of the run the median provider reputation was {} and the Gini coefficient of \
             reputations {}.",
            strength,
            num(corr, 3),
            num(h(S::reputation_p50_final), 1),
            num(h(S::reputation_gini_final), 3)
        ))
        .with_paragraph(
            "These figures describe this run; they do not measure what the reputation rules do. Providers who \
             deliver also gain reputation, so a high share or premium here can come from who the providers are \
             as much as from how matching weighs them; one run cannot tell the two apart. The effect of \
             reputation-weighted matching is what changes when only that rule changes, on the same seeds: \
             `synmarket run <this scenario> --versus market.reputation_weight=0.0` reports it as paired \
             differences with 95 % intervals.",
        )
}

/// A number with its sign (`+0.0412`, `−320,186.7`).
fn signed(x: f64, decimals: usize) -> String {
    if x > 0.0 { format!("+{}", num(x, decimals)) } else { num(x, decimals) }
}

/// Decimals for a mean and its interval, one for the three, from the largest: 1 from 100 up
/// (`46,807.8 [15,587.1, 78,028.5]` tokens), 3 from 1, else 4 (rates).
fn interval_decimals(values: &[f64]) -> usize {
    let top = values.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
    if top >= 100.0 {
        1
    } else if top >= 1.0 {
        3
    } else {
        4
    }
}

/// The scenario's `[[effect]]` pair studies: what each rule does, as paired differences.
fn effects_section(t: &Tables) -> Section {
    let mut s = Section::new("What the rules do (paired counterfactuals)");
    let Some(e) = t.effects.as_ref().filter(|e| !e.is_empty()) else {
        return s.with_paragraph(
            "This run measured no effect: the sentences above describe it. A scenario's [[effect]] tables (or \
             `synmarket run <scenario> --versus KEY=VALUE`) run the scenario against a counterfactual on the same \
             seeds and state the difference a rule makes, with an interval.",
        );
    };
    let (name, versus, metric) =
        (e.str(stats_column::EFFECT), e.str(stats_column::VERSUS), e.str(stats_column::METRIC));
    let (seeds, n) = (e.f64(stats_column::SEEDS), e.f64(stats_column::N));
    let (mean, low, high) = (e.f64(stats_column::MEAN_DIFF), e.f64(stats_column::CI_LOW), e.f64(stats_column::CI_HIGH));
    let mut rows = Vec::new();
    let mut resolved = Vec::new();
    for i in 0..e.len() {
        let complete = n.get(i) == seeds.get(i);
        let (m, lo, hi) = (mean[i], low[i], high[i]);
        let d = interval_decimals(&[m, lo, hi]);
        let cell = if m.is_finite() && lo.is_finite() && hi.is_finite() {
            format!("{} [{}, {}]", num(m, d), num(lo, d), num(hi, d))
        } else if m.is_finite() {
            num(m, d)
        } else {
            "undefined".into()
        };
        let verdict = if !complete {
            format!("over {} of {} pairs: conditional, not an effect estimate", num(n[i], 0), num(seeds[i], 0))
        } else if m == 0.0 && lo == 0.0 && hi == 0.0 {
            "no difference in any pair".into()
        } else if lo > 0.0 || hi < 0.0 {
            resolved.push(format!(
                "with {} ({}), {} is {} [{}, {}] against the scenario",
                versus[i],
                name[i],
                metric[i],
                signed(m, d),
                signed(lo, d),
                signed(hi, d)
            ));
            "the interval excludes 0".into()
        } else {
            "the interval holds 0: not resolved".into()
        };
        rows.push(vec![name[i].clone(), versus[i].clone(), metric[i].clone(), cell, verdict]);
    }
    s = s.with_paragraph(format!(
        "Each effect is the mean difference counterfactual − scenario over {} seed pairs with common random numbers \
         (the same agents, values, costs and arrivals in both worlds), with its 95 % t interval; the counterfactual \
         changes only the keys shown. Pair study folders and every metric: the `study` column of effects.parquet, \
         beside this run's folder.",
        num(seeds.first().copied().unwrap_or(f64::NAN), 0)
    ));
    if !resolved.is_empty() {
        s = s.with_paragraph(format!(
            "Resolved differences (counterfactual − scenario; a rule's own effect has the opposite sign, since the \
             counterfactual changes or removes it): {}. With ten metrics per effect, about one interval in twenty \
             excludes 0 by chance alone: treat a difference on a metric not chosen in advance, or one whose interval \
             nearly touches 0, as a lead to check on new seeds.",
            resolved.join("; ")
        ));
    }
    // An effect that leaves every behavioural metric unchanged in every pair moves only tokens.
    let zero = |i: usize| mean[i] == 0.0 && low[i] == 0.0 && high[i] == 0.0;
    let (mut inert, mut nothing): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for effect in name.iter() {
        if inert.contains(effect) || nothing.contains(effect) {
            continue;
        }
        let of = |i: &usize| &name[*i] == effect;
        let behaviour: Vec<usize> = (0..e.len())
            .filter(of)
            .filter(|&i| crate::versus::BEHAVIOURAL_METRICS.contains(&metric[i].as_str()))
            .collect();
        let all: Vec<usize> = (0..e.len()).filter(of).collect();
        if all.iter().all(|&i| zero(i)) {
            nothing.push(effect.clone());
        } else if !behaviour.is_empty() && behaviour.iter().all(|&i| zero(i)) {
            inert.push(effect.clone());
        }
    }
    if !inert.is_empty() {
        s = s.with_paragraph(format!(
            "{}: no behavioural metric (fill rate, prices, efficiency, SLA compliance, reputation shares) changed in \
             any pair. The agents do not respond to this rule here; it only moves tokens (between the agents and the \
             treasury).",
            inert.join(", ")
        ));
    }
    if !nothing.is_empty() {
        s = s.with_paragraph(format!(
            "{}: no headline metric changed in any pair: in this scenario the change makes no difference that these \
             metrics see.",
            nothing.join(", ")
        ));
    }
    let header = ["effect", "counterfactual", "metric", "difference [95 % CI]", "reading"];
    s.with_table(
        Table::new(header.iter().map(|x| x.to_string()).collect(), rows)
            .with_caption("Paired differences (counterfactual − scenario)"),
    )
}

fn escrow_section(t: &Tables) -> Section {
    let h = |k: &str| t.headline(k);
    let disputes = if h(S::disputes_raised) > 0.0 {
        format!(
            "{} disputes were raised and {} resolved ({} released, {} refunded, {} split); arbitration matched the \
             ground truth in {} of them.",
            num(h(S::disputes_raised), 0),
            num(h(S::disputes_resolved), 0),
            num(h(S::disputes_release), 0),
            num(h(S::disputes_refund), 0),
            num(h(S::disputes_split), 0),
            pct(h(S::arbitration_accuracy))
        )
    } else {
        "No disputes were raised, so arbitration accuracy is not defined in this run.".to_string()
    };
    Section::new("Escrow and disputes")
        .with_paragraph(format!(
            "Escrow held at most {} tokens and {} at the end. Released escrows paid out a median {} after completion \
             (95 %: {}).",
            num(h(S::escrow_balance_peak), 0),
            num(h(S::escrow_balance_final), 0),
            dur(h(S::completion_to_release_p50_ms)),
            dur(h(S::completion_to_release_p95_ms))
        ))
        .with_paragraph(disputes)
}

/// Plural label of a ground-truth kind for sentences.
fn violation_label(kind: &str) -> &'static str {
    GroundTruthKind::from_name(kind).map_or("other violations", GroundTruthKind::plural)
}

fn compliance_section(t: &Tables) -> Section {
    let h = |k: &str| t.headline(k);
    let c = &t.compliance;
    let kinds = c.str(C::KIND);
    let col = |name: &str| c.f64(name);
    let (att, det, und, earned, lost) = (
        col(C::ATTEMPTED),
        col(C::DETECTED),
        col(C::UNDETECTED),
        col(C::TOKENS_EARNED_BY_VIOLATORS),
        col(C::HONEST_LOSS),
    );
    let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(f64::NAN);
    let ground: Vec<usize> = (0..kinds.len()).filter(|&i| GroundTruthKind::from_name(&kinds[i]).is_some()).collect();
    let mut s = Section::new("Compliance");
    if h(S::violations_attempted) > 0.0 {
        s = s.with_paragraph(format!(
            "Agents attempted {} violations (ground truth); the market detected {} of them ({}) and {} went \
             undetected.",
            num(h(S::violations_attempted), 0),
            num(h(S::violations_detected), 0),
            pct(h(S::violations_detected) / h(S::violations_attempted)),
            num(h(S::violations_undetected), 0)
        ));
        let tried: Vec<String> = ground
            .iter()
            .filter(|&&i| at(&att, i) > 0.0)
            .map(|&i| {
                format!("{} {} ({} detected)", num(at(&att, i), 0), violation_label(&kinds[i]), num(at(&det, i), 0))
            })
            .collect();
        let none: Vec<&str> =
            ground.iter().filter(|&&i| at(&att, i) == 0.0).map(|&i| violation_label(&kinds[i])).collect();
        let mut p = format!("By kind: {}.", tried.join("; "));
        if !none.is_empty() {
            p.push_str(&format!(" No {} were attempted.", none.join(", ")));
        }
        let unseen: Vec<&str> = ground
            .iter()
            .filter(|&&i| at(&att, i) > 0.0 && at(&det, i) == 0.0)
            .map(|&i| violation_label(&kinds[i]))
            .collect();
        if !unseen.is_empty() {
            p.push_str(&format!(" None of the {} was detected.", unseen.join(", ")));
        }
        s = s.with_paragraph(p);
    } else {
        s = s.with_paragraph("No agent attempted a violation in this run (the ground truth is empty).".to_string());
    }
    let mut earners: Vec<(f64, &str)> = ground
        .iter()
        .filter(|&&i| at(&earned, i) > 0.0)
        .map(|&i| (at(&earned, i), violation_label(&kinds[i])))
        .collect();
    earners.sort_by(|a, b| b.0.total_cmp(&a.0));
    if earners.is_empty() {
        s = s.with_paragraph("Violators earned nothing on their violating trades.".to_string());
    } else {
        s = s.with_paragraph(format!(
            "Violators earned {} tokens on their violating trades: {}. Detected relay, resale and key-sharing tasks \
             earn nothing (their escrow is forfeited and the provider banned).",
            num(h(S::tokens_earned_by_violators), 0),
            earners.iter().map(|(v, l)| format!("{} on {l}", num(*v, 0))).collect::<Vec<_>>().join(", ")
        ));
    }
    let row = |k: &str| kinds.iter().position(|x| x == k);
    let lost_by = |k: &str| row(k).map_or(f64::NAN, |i| at(&lost, i));
    let cnt = |k: &str, v: &[f64]| row(k).map_or(f64::NAN, |i| at(v, i));
    s = s.with_paragraph(format!(
        "Honest agents lost {} tokens moved against the evidence ({} through abusive disputes, {} through corrupt \
         votes; an escrow hit by both counts once). {} privacy incidents occurred ({} private, {} confidential \
         payloads leaked); they are counted, not priced.",
        num(h(S::honest_loss), 0),
        num(lost_by(GroundTruthKind::DisputeAbuse.as_str()), 0),
        num(lost_by(GroundTruthKind::CorruptVote.as_str()), 0),
        num(h(S::privacy_incidents), 0),
        num(cnt("privacy_incident_private", &att), 0),
        num(cnt("privacy_incident_confidential", &att), 0)
    ));
    s = s.with_paragraph(format!(
        "{} peers were banned. Usage-cap breaches: {} (must be 0). Unauthorised calls refused: {}; forged \
         signatures refused: {}.",
        num(h(S::banned_peers), 0),
        num(h(S::usage_cap_breaches), 0),
        num(h(S::unauthorised_calls_rejected), 0),
        num(h(S::forged_signatures_rejected), 0)
    ));
    let opt = |v: f64| if v.is_finite() { num(v, 0) } else { "–".to_string() };
    let rows = (0..kinds.len())
        .map(|i| {
            vec![
                kinds[i].clone(),
                opt(at(&att, i)),
                opt(at(&det, i)),
                opt(at(&und, i)),
                opt(at(&earned, i)),
                opt(at(&lost, i)),
            ]
        })
        .collect();
    let header = ["kind", "attempted", "detected", "undetected", "earned by violators", "honest loss"];
    s.with_table(
        Table::new(header.iter().map(|x| x.to_string()).collect(), rows)
            .with_caption("Compliance by kind (tokens; – = not applicable or not observable)"),
    )
}

fn welfare_section(t: &Tables) -> Section {
    let h = |k: &str| t.headline(k);
    let w = &t.welfare;
    let (role, strat, agents, surplus) = (w.str(W::ROLE), w.str(W::STRATEGY), w.f64(W::AGENTS), w.f64(W::SURPLUS));
    // League table by (role, strategy), in order of first appearance.
    let mut league: Vec<(String, String, f64, f64)> = Vec::new();
    for i in 0..role.len().min(strat.len()) {
        if role[i] == Role::Arbitrator.as_str() {
            continue;
        }
        let (a, s) = (agents.get(i).copied().unwrap_or(0.0), surplus.get(i).copied().unwrap_or(0.0));
        match league.iter_mut().find(|l| l.0 == role[i] && l.1 == strat[i]) {
            Some(l) => (l.2, l.3) = (l.2 + a, l.3 + s),
            None => league.push((role[i].clone(), strat[i].clone(), a, s)),
        }
    }
    let rows =
        league.iter().map(|l| vec![l.0.clone(), l.1.clone(), num(l.2, 0), num(l.3, 0), num(l.3 / l.2, 0)]).collect();
    let header = ["role", "strategy", "agents", "surplus / profit (tokens)", "per agent"];
    let best = |r: &str| {
        league
            .iter()
            .filter(|l| l.0 == r && l.2 > 0.0)
            .max_by(|a, b| (a.3 / a.2).total_cmp(&(b.3 / b.2)))
            .map_or("n/a".to_string(), |l| l.1.clone())
    };
    Section::new("Welfare")
        .with_paragraph(format!(
            "Requesters gained a surplus of {} tokens and providers a profit of {} tokens; the treasury collected {} \
             tokens of fees. Per agent, the best requester strategy was {} and the best provider strategy {}. The \
             Gini coefficient of final wealth is {}.",
            num(h(S::requester_surplus), 0),
            num(h(S::provider_profit), 0),
            num(h(S::treasury_income), 0),
            best(Role::Requester.as_str()),
            best(Role::Provider.as_str()),
            num(h(S::wealth_gini), 3)
        ))
        .with_table(
            Table::new(header.iter().map(|x| x.to_string()).collect(), rows).with_caption("League table by strategy"),
        )
}

/// The escrow release rule in the scenario file's words (`single`, `both_parties`, `2 of 3
/// arbitrators`, `time-locked 2h`).
fn escrow_release(m: &synmarket_engine::MultiSigType) -> String {
    use synmarket_engine::MultiSigType as M;
    match m {
        M::Arbitrators { required, total } => format!("{} ({required} of {total} arbitrators)", m.as_str()),
        M::TimeLocked { release_after_ms } => {
            format!("{} ({})", m.as_str(), synmarket_engine::duration::format_ms(*release_after_ms))
        }
        M::Single | M::BothParties => m.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(num(1234567.891, 2), "1,234,567.89");
        assert_eq!(num(-1234.0, 0), "-1,234");
        assert_eq!(num(f64::NAN, 0), "n/a");
        assert_eq!(pct(0.5291), "52.9 %");
        assert_eq!(dur(30_000.0), "30 s");
        assert_eq!(dur(3.6e6 * 5.0), "5.0 h");
        assert_eq!(dur(3.6e6), "1.0 h");
        assert_eq!(dur(86_400_000.0 * 3.0), "3.0 days");
    }
}
