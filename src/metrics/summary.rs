//! The one-row `summary` table: scenario, seed and every headline metric of the run, each a
//! numeric column (`u64` counts; `f64` rates and prices, null where undefined). Sweeps stack
//! these rows, so names are stable. Run-level definitions that are not a sum of table rows:
//!
//! * `time_to_converge_ms`: the latest per-task-type time to converge (the market has converged
//!   when every task type that traded has; rule: `timeseries::time_to_converge`); null if one
//!   never does. `converged` is 1 when it is defined, else 0, so a sweep's mean of `converged` is
//!   the share of runs that converged, and the mean of `time_to_converge_ms` is over those runs
//!   only (its `n` says how many). `converged_task_types` counts the task types that did.
//! * `escrow_balance_peak`: the most tokens ever in escrow, from the ledger after each instant
//!   (`escrow_peak`), not the largest sampled `escrow_balance`. With `market.retain_ledger =
//!   false` there is no ledger to replay: the largest sampled (or final) balance, a lower bound.
//! * `smith_alpha_last_period`: Smith's alpha in the last period where it is defined (mean over
//!   the task types that traded in it): where a period study ends up (Cliff 1997 reports alpha
//!   by period).
//! * `relative_deviation_mean`, `price_cv_mean`, `smith_alpha_mean`, `spread_mean`: means over
//!   the per-type intervals (or periods) where the value is defined.
//! * `allocative_efficiency`: Σ realised surplus / Σ maximum surplus over all periods and types.
//!   `allocative_efficiency_constrained`: the same against the maximum under the market's
//!   eligibility constraints (`constrained.rs`), over the cells where it was solved.
//! * `high_reputation_*`: "high" is a provider reputation at match time of at least
//!   [`HIGH_REPUTATION`] (tier Reliable and above). The price premium is VWAP(high) / VWAP(rest)
//!   − 1 per task type, averaged with the high tier's units as weights (so the task-type mix does
//!   not pose as a premium).
//! * `reputation_reliability_corr`: Pearson correlation, over settled assignments, between the
//!   provider's reputation at match time and 1 if the task completed without violation else 0.
//! * `violations_attempted` / `_detected` / `_undetected` / `tokens_earned_by_violators`: sums
//!   over the nine ground-truth rows of `compliance` (privacy breakdown rows excluded);
//!   `privacy_incidents` = the `leak` row's attempts; `honest_loss` = tokens moved against the
//!   evidence by abusive disputes and corrupt votes, each escrow once; `relay_*`, `resale_*`,
//!   `key_sharing_*` (`attempted`, `detected`, `tokens_earned`) and `dispute_abuse_*`,
//!   `corrupt_votes_*` (`attempted`, `detected`) repeat single rows for sweeps.

use polars::prelude::{Column, DataFrame, NamedFrom, PolarsResult, Series};

use crate::output::Frame;

use super::compliance::ComplianceTable;
use super::equilibrium::PeriodTable;
use super::quality::{EscrowSeries, SlaTable};
use super::stats::{gini, mean, pearson, quantile_sorted, ratio, sorted_finite};
use super::timeseries::{CONVERGENCE_THRESHOLD, Timeseries, time_to_converge};
use super::welfare::WelfareTable;
use super::{Ctx, settled};
use synmarket_agents::Role;
use synmarket_engine::{Account, LedgerEntry, Side, TaskStatus};

/// Declares the one-row `summary` table once: the [`Summary`] struct the metric code fills, its
/// frame (columns in declaration order, named after the fields), reading it back, and the
/// [`column`] name constants that readers use, so that a misspelt metric does not compile.
/// `text` columns are strings, `count` columns `u64`, `value` columns `f64` (null where
/// undefined); the literal after the kind is the column's unit ([`Summary::unit`]).
macro_rules! summary_table {
    ($($field:ident: $kind:ident $unit:literal,)+) => {
        /// The headline metrics of one run: one field per column of `summary.parquet`
        /// (reports/README.md documents each).
        #[derive(Debug, Clone, PartialEq, Default)]
        #[allow(missing_docs)]
        pub struct Summary {
            $(pub $field: summary_table!(@type $kind),)+
        }

        /// The column names of `summary.parquet`, as constants named after the fields.
        #[allow(non_upper_case_globals, missing_docs)]
        pub mod column {
            $(pub const $field: &str = stringify!($field);)+
        }

        impl Summary {
            /// Every column name, in table order.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            /// The unit of column `name` ("ms", "tokens", "fraction", "count", …; empty for text
            /// and seeds), or `None` for a name that is not a summary column. Charts and
            /// reports label axes with it.
            pub fn unit(name: &str) -> Option<&'static str> {
                match name {
                    $(stringify!($field) => Some($unit),)+
                    _ => None,
                }
            }

            /// The one-row table.
            pub fn frame(&self) -> PolarsResult<DataFrame> {
                DataFrame::new_infer_height(vec![
                    $(Column::from(Series::new(stringify!($field).into(), [self.$field.clone()])),)+
                ])
            }

            /// Reads the first row of a `summary` table back (a missing column reads as empty, 0
            /// or null).
            pub fn from_frame(f: &Frame) -> Self {
                Summary { $($field: summary_table!(@read $kind, f, stringify!($field)),)+ }
            }
        }
    };
    (@type text) => { String };
    (@type count) => { u64 };
    (@type value) => { Option<f64> };
    (@read text, $f:ident, $n:expr) => { $f.str($n).into_iter().next().unwrap_or_default() };
    (@read count, $f:ident, $n:expr) => { $f.u64($n).first().copied().flatten().unwrap_or(0) };
    (@read value, $f:ident, $n:expr) => { Some($f.first($n)).filter(|x| x.is_finite()) };
}

summary_table! {
    scenario: text "",
    seed: count "",
    duration_ms: count "ms",
    sample_interval_ms: count "ms",
    periods: count "periods",
    agents: count "agents",
    requesters: count "agents",
    providers: count "agents",
    arbitrators: count "agents",
    orders: count "count",
    requests: count "count",
    offers: count "count",
    trades: count "count",
    requested_units: count "units",
    filled_units: count "units",
    fill_rate: value "fraction",
    match_rate: value "fraction",
    time_to_first_match_p50_ms: value "ms",
    time_to_first_match_p95_ms: value "ms",
    expired_unfilled_units: count "units",
    volume_units: count "units",
    vwap: value "tokens / unit",
    price_cv_mean: value "ratio",
    relative_deviation_mean: value "ratio",
    converged: count "1 = converged",
    time_to_converge_ms: value "ms",
    converged_task_types: count "task types",
    smith_alpha_mean: value "% of P*",
    smith_alpha_last_period: value "% of P*",
    allocative_efficiency: value "fraction",
    allocative_efficiency_mean: value "fraction",
    allocative_efficiency_constrained: value "fraction",
    resting_units_mean: value "units",
    spread_mean: value "tokens / unit",
    active_providers_mean: value "providers",
    settled_tasks: count "count",
    sla_compliance_rate: value "fraction",
    sla_violations: count "count",
    violations_response: count "count",
    violations_duration: count "count",
    violations_uptime: count "count",
    violations_quality: count "count",
    penalties: count "tokens",
    no_shows: count "count",
    abandoned: count "count",
    reputation_p50_final: value "reputation score",
    reputation_gini_final: value "Gini coefficient",
    high_reputation_volume_share: value "fraction",
    high_reputation_price_premium: value "VWAP ratio − 1",
    reputation_reliability_corr: value "correlation",
    escrow_balance_peak: count "tokens",
    escrow_balance_final: count "tokens",
    disputes_raised: count "count",
    disputes_resolved: count "count",
    disputes_release: count "count",
    disputes_refund: count "count",
    disputes_split: count "count",
    arbitration_accuracy: value "fraction",
    completion_to_release_p50_ms: value "ms",
    completion_to_release_p95_ms: value "ms",
    violations_attempted: count "count",
    violations_detected: count "count",
    violations_undetected: count "count",
    tokens_earned_by_violators: count "tokens",
    privacy_incidents: count "count",
    honest_loss: count "tokens",
    relay_attempted: count "count",
    relay_detected: count "count",
    relay_tokens_earned: count "tokens",
    resale_attempted: count "count",
    resale_detected: count "count",
    resale_tokens_earned: count "tokens",
    key_sharing_attempted: count "count",
    key_sharing_detected: count "count",
    key_sharing_tokens_earned: count "tokens",
    banned_peers: count "agents",
    usage_cap_breaches: count "count",
    unauthorised_calls_rejected: count "count",
    forged_signatures_rejected: count "count",
    orders_rejected: count "count",
    calls_refused: count "count",
    dispute_abuse_attempted: count "count",
    dispute_abuse_detected: count "count",
    corrupt_votes_attempted: count "count",
    corrupt_votes_detected: count "count",
    requester_surplus: value "tokens",
    provider_profit: value "tokens",
    treasury_income: count "tokens",
    total_surplus: value "tokens",
    wealth_gini: value "Gini coefficient",
}

/// The most tokens ever held in escrow: the running balance of the escrow accounts in the ledger,
/// taken after each instant's entries (a fund and a release in the same millisecond are one
/// instant). Sampled states would miss peaks between samples: 77,174 sampled against 115,544 held
/// in economic_simulation.
pub(crate) fn escrow_peak(entries: &[LedgerEntry]) -> u64 {
    let (mut balance, mut peak) = (0i128, 0i128);
    for (i, e) in entries.iter().enumerate() {
        if matches!(e.to, Account::Escrow(_)) {
            balance += i128::from(e.amount);
        }
        if matches!(e.from, Account::Escrow(_)) {
            balance -= i128::from(e.amount);
        }
        if entries.get(i + 1).is_none_or(|next| next.time != e.time) {
            peak = peak.max(balance);
        }
    }
    u64::try_from(peak).unwrap_or(u64::MAX)
}

/// Reputation at match time from which a provider counts as "high reputation".
pub const HIGH_REPUTATION: f64 = 100.0;

fn premium(ctx: &Ctx) -> (Option<f64>, Option<f64>) {
    let n = ctx.n_types();
    // [type] -> (high units, high turnover, low units, low turnover)
    let mut acc = vec![(0u64, 0u128, 0u64, 0u128); n];
    for a in ctx.r.market.assignments() {
        let Some(x) = acc.get_mut(a.task_type.index()) else { continue };
        if a.provider_reputation >= HIGH_REPUTATION {
            x.0 += a.units;
            x.1 += a.amount() as u128;
        } else {
            x.2 += a.units;
            x.3 += a.amount() as u128;
        }
    }
    let high: u64 = acc.iter().map(|x| x.0).sum();
    let all: u64 = acc.iter().map(|x| x.0 + x.2).sum();
    let (mut w, mut s) = (0.0, 0.0);
    for x in &acc {
        let hv = ratio(x.1 as f64, x.0 as f64);
        let lv = ratio(x.3 as f64, x.2 as f64);
        if let (Some(h), Some(l)) = (hv, lv)
            && let Some(p) = ratio(h, l)
        {
            w += x.0 as f64;
            s += x.0 as f64 * (p - 1.0);
        }
    }
    (ratio(high as f64, all as f64), ratio(s, w))
}

pub(crate) fn build(
    ctx: &Ctx,
    eq: &PeriodTable,
    ts: &Timeseries,
    sla: &SlaTable,
    esc: &EscrowSeries,
    comp: &ComplianceTable,
    welfare: &WelfareTable,
) -> Summary {
    let (r, m) = (ctx.r, &ctx.r.market);
    let n = ctx.n_types();
    let orders = m.orders();
    let requests = || orders.iter().filter(|o| o.side == Side::Buy);
    let requested: u64 = requests().map(|o| o.total_units).sum();
    let filled: u64 = requests().map(|o| o.filled_units).sum();
    let matched = requests().filter(|o| o.first_fill_at.is_some()).count() as f64;
    let delays =
        sorted_finite(requests().filter_map(|o| o.first_fill_at.map(|f| f.saturating_sub(o.placed_at) as f64)));
    let a = m.assignments();
    let volume: u64 = a.iter().map(|x| x.units).sum();
    let turnover: u128 = a.iter().map(|x| x.amount() as u128).sum();
    let role_count = |role: Role| r.agents.iter().filter(|x| x.role == role).count() as u64;

    let converge: Vec<Option<u64>> = (0..n)
        .filter(|&t| ts.rows.iter().any(|row| row[t].trades > 0))
        .map(|t| time_to_converge(&ts.deviations(t), CONVERGENCE_THRESHOLD))
        .collect();
    let time_to_converge_ms = if converge.is_empty() || converge.iter().any(Option::is_none) {
        None
    } else {
        converge.iter().flatten().max()
    };
    let per_type = || ts.rows.iter().flat_map(|row| row.iter().take(n));
    let cells = || eq.iter().flat_map(|p| p.iter());
    let (realised, max): (f64, f64) = cells()
        .filter(|c| c.eq.is_some_and(|e| e.max_surplus > 0.0))
        .map(|c| (c.realised_surplus, c.eq.map_or(0.0, |e| e.max_surplus)))
        .fold((0.0, 0.0), |acc, x| (acc.0 + x.0, acc.1 + x.1));
    let (realised_c, max_c): (f64, f64) = cells()
        .filter(|c| c.constrained.is_some_and(|e| e.max_surplus > 0.0))
        .map(|c| (c.realised_surplus, c.constrained.map_or(0.0, |e| e.max_surplus)))
        .fold((0.0, 0.0), |acc, x| (acc.0 + x.0, acc.1 + x.1));
    let all_rows = || ts.rows.iter().filter_map(|row| row.get(n));
    let samples = &r.market_samples;
    let last = samples.last();

    let all = sla.all();
    let su = |g: &dyn Fn(&super::quality::SlaRow) -> u64| all.map_or(0, g);
    let (high_share, high_premium) = premium(ctx);
    let corr = pearson(
        a.iter()
            .filter(|x| settled(x.status))
            .map(|x| (x.provider_reputation, if x.status == TaskStatus::Completed { 1.0 } else { 0.0 })),
    );
    let disputes_resolved = esc.total(|e| e.outcome_release + e.outcome_refund + e.outcome_split);
    let release = esc.release_delays();
    let totals = comp.totals();
    let comp_get =
        |k: &str, g: &dyn Fn(&super::compliance::ComplianceRow) -> Option<u64>| comp.get(k).and_then(g).unwrap_or(0);
    let treasury = m.treasury();
    let req_surplus = welfare.surplus_of("requester");
    let prov_profit = welfare.surplus_of("provider");

    Summary {
        scenario: ctx.s.name.clone(),
        seed: ctx.s.seed,
        duration_ms: r.duration_ms,
        sample_interval_ms: ctx.interval_ms,
        periods: ctx.s.periods.unwrap_or(1) as u64,
        agents: r.agents.len() as u64,
        requesters: role_count(Role::Requester),
        providers: role_count(Role::Provider),
        arbitrators: role_count(Role::Arbitrator),
        orders: orders.len() as u64,
        requests: requests().count() as u64,
        offers: orders.iter().filter(|o| o.side == Side::Sell).count() as u64,
        trades: a.len() as u64,
        requested_units: requested,
        filled_units: filled,
        fill_rate: ratio(filled as f64, requested as f64),
        match_rate: ratio(matched, requests().count() as f64),
        time_to_first_match_p50_ms: quantile_sorted(&delays, 0.5),
        time_to_first_match_p95_ms: quantile_sorted(&delays, 0.95),
        expired_unfilled_units: all_rows().map(|x| x.expired_unfilled_units).sum(),
        volume_units: volume,
        vwap: ratio(turnover as f64, volume as f64),
        price_cv_mean: mean(per_type().filter_map(|x| super::stats::cv(&x.prices))),
        relative_deviation_mean: mean(per_type().filter_map(|x| x.deviation())),
        converged: u64::from(time_to_converge_ms.is_some()),
        time_to_converge_ms: time_to_converge_ms.map(|t| *t as f64),
        converged_task_types: converge.iter().flatten().count() as u64,
        smith_alpha_mean: mean(cells().filter_map(|c| c.smith_alpha())),
        // Where convergence ends: the mean over task types of alpha in the last period with one.
        smith_alpha_last_period: eq
            .iter()
            .rev()
            .map(|p| mean(p.iter().filter_map(|c| c.smith_alpha())))
            .find_map(|a| a),
        allocative_efficiency: if max > 0.0 { ratio(realised, max) } else { None },
        allocative_efficiency_mean: mean(cells().filter_map(|c| c.efficiency())),
        allocative_efficiency_constrained: if max_c > 0.0 { ratio(realised_c, max_c) } else { None },
        resting_units_mean: mean(all_rows().filter(|x| x.sampled).map(|x| x.resting_units as f64)),
        spread_mean: mean(per_type().filter_map(|x| x.spread().map(|s| s as f64))),
        active_providers_mean: mean(samples.iter().map(|s| s.active_providers as f64)),
        settled_tasks: su(&|x| x.settled),
        sla_compliance_rate: all.and_then(|x| x.compliance()),
        sla_violations: su(&|x| x.violations()),
        violations_response: su(&|x| x.v_response),
        violations_duration: su(&|x| x.v_duration),
        violations_uptime: su(&|x| x.v_uptime),
        violations_quality: su(&|x| x.v_quality),
        penalties: su(&|x| x.penalties),
        no_shows: su(&|x| x.no_shows),
        abandoned: su(&|x| x.abandoned),
        reputation_p50_final: last.map(|s| s.reputation_p50).filter(|x| x.is_finite()),
        reputation_gini_final: last.map(|s| s.reputation_gini).filter(|x| x.is_finite()),
        high_reputation_volume_share: high_share,
        high_reputation_price_premium: high_premium,
        reputation_reliability_corr: corr,
        // Without the ledger (`market.retain_ledger = false`) the peak between samples is not
        // known: the largest sampled balance (a lower bound) stands in, never 0.
        escrow_balance_peak: if m.config().retain_ledger {
            escrow_peak(m.bank().entries())
        } else {
            samples.iter().map(|s| s.escrow_balance).max().unwrap_or(0).max(m.bank().escrow_total())
        },
        escrow_balance_final: m.bank().escrow_total(),
        disputes_raised: esc.total(|e| e.disputes_raised),
        disputes_resolved,
        disputes_release: esc.total(|e| e.outcome_release),
        disputes_refund: esc.total(|e| e.outcome_refund),
        disputes_split: esc.total(|e| e.outcome_split),
        arbitration_accuracy: ratio(esc.total(|e| e.correct) as f64, disputes_resolved as f64),
        completion_to_release_p50_ms: quantile_sorted(&release, 0.5),
        completion_to_release_p95_ms: quantile_sorted(&release, 0.95),
        violations_attempted: totals.attempted,
        violations_detected: totals.detected,
        violations_undetected: totals.undetected,
        tokens_earned_by_violators: totals.tokens_earned,
        privacy_incidents: comp_get("leak", &|c| c.attempted),
        honest_loss: comp.honest_loss,
        relay_attempted: comp_get("relay", &|c| c.attempted),
        relay_detected: comp_get("relay", &|c| c.detected),
        relay_tokens_earned: comp_get("relay", &|c| c.tokens_earned),
        resale_attempted: comp_get("resale", &|c| c.attempted),
        resale_detected: comp_get("resale", &|c| c.detected),
        resale_tokens_earned: comp_get("resale", &|c| c.tokens_earned),
        key_sharing_attempted: comp_get("key_sharing", &|c| c.attempted),
        key_sharing_detected: comp_get("key_sharing", &|c| c.detected),
        key_sharing_tokens_earned: comp_get("key_sharing", &|c| c.tokens_earned),
        banned_peers: comp.banned_peers,
        usage_cap_breaches: comp_get("usage_cap", &|c| c.undetected),
        unauthorised_calls_rejected: comp_get("unauthorised_call", &|c| c.detected),
        forged_signatures_rejected: comp_get("forged_signature", &|c| c.detected),
        orders_rejected: m.counters().orders_rejected,
        calls_refused: m.counters().calls_refused,
        dispute_abuse_attempted: comp_get("dispute_abuse", &|c| c.attempted),
        dispute_abuse_detected: comp_get("dispute_abuse", &|c| c.detected),
        corrupt_votes_attempted: comp_get("corrupt_vote", &|c| c.attempted),
        corrupt_votes_detected: comp_get("corrupt_vote", &|c| c.detected),
        requester_surplus: Some(req_surplus),
        provider_profit: Some(prov_profit),
        treasury_income: treasury,
        total_surplus: Some(req_surplus + prov_profit + treasury as f64),
        wealth_gini: gini(welfare.wealth.iter().copied()),
    }
}
