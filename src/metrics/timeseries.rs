//! The `timeseries` table: one row per sampling interval × task type, plus an `all` row per
//! interval, and the convergence rule (docs/metrics.md "Price convergence", "Liquidity").
//!
//! Per row: requests placed in the interval and how they fared by the end of the run (fill rate,
//! match rate, time to first match, units that expired unfilled), trades assigned in the interval
//! (volume, VWAP, price dispersion), the equilibrium of the interval's period and the relative
//! deviation `|VWAP − P*| / P*`, the book at the end of the interval (resting depth, best ask and
//! bid, spread), and SLA outcomes of tasks that finished in the interval. The `all` row sums the
//! task types and also carries the market-wide state sampled at the end of the interval (active
//! providers, escrow balance, treasury, provider reputation quantiles and Gini); those columns are
//! null on per-type rows, and equilibrium and book prices are null on `all` rows.

use polars::prelude::{DataFrame, PolarsResult};

use super::equilibrium::PeriodTable;
use super::stats::{cv, quantile_sorted, ratio, sorted_finite};
use super::{ALL, Ctx};
use crate::output::raw_tables::TableBuilder;
use synmarket_agents::MarketSample;
use synmarket_engine::{OrderStatus, Side, TaskStatus};

/// The column names of `timeseries.parquet`, written here and read by the reports (reports/README.md documents
/// each).
#[allow(missing_docs)]
pub mod column {
    pub const INTERVAL: &str = "interval";
    pub const TIME_START_MS: &str = "time_start_ms";
    pub const TIME_END_MS: &str = "time_end_ms";
    pub const TASK_TYPE: &str = "task_type";
    pub const REQUESTS: &str = "requests";
    pub const REQUESTED_UNITS: &str = "requested_units";
    pub const FILLED_UNITS: &str = "filled_units";
    pub const FILL_RATE: &str = "fill_rate";
    pub const MATCH_RATE: &str = "match_rate";
    pub const TIME_TO_FIRST_MATCH_P50_MS: &str = "time_to_first_match_p50_ms";
    pub const TIME_TO_FIRST_MATCH_P95_MS: &str = "time_to_first_match_p95_ms";
    pub const EXPIRED_UNFILLED_UNITS: &str = "expired_unfilled_units";
    pub const OFFERS: &str = "offers";
    pub const OFFERED_UNITS: &str = "offered_units";
    pub const TRADES: &str = "trades";
    pub const VOLUME_UNITS: &str = "volume_units";
    pub const TURNOVER: &str = "turnover";
    pub const VWAP: &str = "vwap";
    pub const PRICE_MIN: &str = "price_min";
    pub const PRICE_MAX: &str = "price_max";
    pub const PRICE_CV: &str = "price_cv";
    pub const P_STAR: &str = "p_star";
    pub const P_STAR_LOW: &str = "p_star_low";
    pub const P_STAR_HIGH: &str = "p_star_high";
    pub const RELATIVE_DEVIATION: &str = "relative_deviation";
    pub const RESTING_UNITS: &str = "resting_units";
    pub const RESTING_OFFERS: &str = "resting_offers";
    pub const OPEN_AUCTIONS: &str = "open_auctions";
    pub const BEST_ASK: &str = "best_ask";
    pub const BEST_BID: &str = "best_bid";
    pub const SPREAD: &str = "spread";
    pub const SETTLED_TASKS: &str = "settled_tasks";
    pub const CLEAN_TASKS: &str = "clean_tasks";
    pub const SLA_COMPLIANCE_RATE: &str = "sla_compliance_rate";
    pub const ACTIVE_PROVIDERS: &str = "active_providers";
    pub const ESCROW_BALANCE: &str = "escrow_balance";
    pub const TREASURY: &str = "treasury";
    pub const REPUTATION_P10: &str = "reputation_p10";
    pub const REPUTATION_P50: &str = "reputation_p50";
    pub const REPUTATION_P90: &str = "reputation_p90";
    pub const REPUTATION_MEAN: &str = "reputation_mean";
    pub const REPUTATION_GINI: &str = "reputation_gini";
}

/// Default threshold of the relative deviation for "converged" (5 %).
pub const CONVERGENCE_THRESHOLD: f64 = 0.05;

/// A converged stretch holds at least this many intervals with trades.
pub const MIN_CONVERGED_INTERVALS: usize = 5;

/// A converged stretch holds at least this share of the run's intervals with trades.
pub const MIN_CONVERGED_SHARE: f64 = 0.25;

/// Intervals with trades a converged stretch must hold when the run has `with_trades` of them:
/// [`MIN_CONVERGED_INTERVALS`], or [`MIN_CONVERGED_SHARE`] of `with_trades` rounded up if more
/// ([`time_to_converge`]).
pub fn converged_intervals_needed(with_trades: usize) -> usize {
    MIN_CONVERGED_INTERVALS.max((MIN_CONVERGED_SHARE * with_trades as f64).ceil() as usize)
}

/// Time to converge from `(interval end ms, relative deviation)` in time order (docs/metrics.md
/// "Price convergence"; rule in reports/README.md).
///
/// The market has converged at the end of the first interval from which every defined deviation
/// stays below `threshold` until the end of the run, **provided** that stretch holds at least
/// [`MIN_CONVERGED_INTERVALS`] intervals with trades and at least [`MIN_CONVERGED_SHARE`] of all
/// the run's intervals with trades. Intervals without trades (deviation `None`) neither break nor
/// start convergence, and do not count. The minimum stretch keeps noise from being called
/// convergence: prices that wander around P* (zero-intelligence traders without a budget
/// constraint) often end with two or three lucky intervals. `None` when there is no such stretch.
pub fn time_to_converge(series: &[(u64, Option<f64>)], threshold: f64) -> Option<u64> {
    let with_trades = series.iter().filter(|(_, d)| d.is_some()).count();
    let needed = converged_intervals_needed(with_trades);
    let mut since = None;
    let mut stretch = 0;
    for &(end, dev) in series {
        match dev {
            Some(d) if d.is_finite() && d < threshold => {
                since.get_or_insert(end);
                stretch += 1;
            }
            Some(_) => {
                since = None;
                stretch = 0;
            }
            None => {}
        }
    }
    since.filter(|_| stretch >= needed)
}

/// One interval × task type (or `all`).
#[derive(Debug, Clone, Default)]
pub(crate) struct TsRow {
    pub requests: u64,
    pub requested_units: u64,
    pub filled_units: u64,
    pub matched_requests: u64,
    pub match_delays_ms: Vec<f64>,
    pub expired_unfilled_units: u64,
    pub offers: u64,
    pub offered_units: u64,
    pub trades: u64,
    pub volume_units: u64,
    pub turnover: u128,
    pub prices: Vec<f64>,
    pub p_star: Option<f64>,
    pub p_low: Option<f64>,
    pub p_high: Option<f64>,
    pub resting_units: u64,
    pub resting_offers: u64,
    pub open_auctions: u64,
    /// A book sample fell in this interval (samples are taken at interval ends; a last, partial
    /// interval of a run whose duration is not a multiple of the sample interval has none, and
    /// its resting depth is unknown, not zero).
    pub sampled: bool,
    pub best_ask: Option<u64>,
    pub best_bid: Option<u64>,
    pub settled: u64,
    pub clean: u64,
    pub market: Option<MarketSample>,
}

impl TsRow {
    pub fn fill_rate(&self) -> Option<f64> {
        ratio(self.filled_units as f64, self.requested_units as f64)
    }
    pub fn match_rate(&self) -> Option<f64> {
        ratio(self.matched_requests as f64, self.requests as f64)
    }
    pub fn vwap(&self) -> Option<f64> {
        ratio(self.turnover as f64, self.volume_units as f64)
    }
    pub fn deviation(&self) -> Option<f64> {
        let p = self.p_star?;
        ratio((self.vwap()? - p).abs(), p)
    }
    pub fn spread(&self) -> Option<i64> {
        Some(self.best_ask? as i64 - self.best_bid? as i64)
    }
    pub fn sla_rate(&self) -> Option<f64> {
        ratio(self.clean as f64, self.settled as f64)
    }
    fn delay_q(&self, p: f64) -> Option<f64> {
        quantile_sorted(&sorted_finite(self.match_delays_ms.iter().copied()), p)
    }
}

/// Rows indexed `[interval][task type]`, the last column being `all`.
pub(crate) struct Timeseries {
    pub rows: Vec<Vec<TsRow>>,
    pub bounds: Vec<(u64, u64)>,
    pub names: Vec<String>,
}

/// Builds every row.
pub(crate) fn build(ctx: &Ctx, eq: &PeriodTable) -> Timeseries {
    let m = &ctx.r.market;
    let n = ctx.n_types();
    let mut rows: Vec<Vec<TsRow>> = vec![vec![TsRow::default(); n + 1]; ctx.intervals];
    let mut both = |i: usize, t: usize, f: &mut dyn FnMut(&mut TsRow)| {
        f(&mut rows[i][t]);
        f(&mut rows[i][n]);
    };
    for o in m.orders() {
        let t = o.spec.task_type.index();
        if t >= n {
            continue;
        }
        let i = ctx.interval_of(o.placed_at);
        match o.side {
            Side::Buy => both(i, t, &mut |r| {
                r.requests += 1;
                r.requested_units += o.total_units;
                r.filled_units += o.filled_units;
                if let Some(first) = o.first_fill_at {
                    r.matched_requests += 1;
                    r.match_delays_ms.push(first.saturating_sub(o.placed_at) as f64);
                }
                if o.status == OrderStatus::Expired {
                    r.expired_unfilled_units += o.remaining();
                }
            }),
            Side::Sell => both(i, t, &mut |r| {
                r.offers += 1;
                r.offered_units += o.total_units;
            }),
        }
    }
    for a in m.assignments() {
        let t = a.task_type.index();
        if t >= n {
            continue;
        }
        both(ctx.interval_of(a.assigned_at), t, &mut |r| {
            r.trades += 1;
            r.volume_units += a.units;
            r.turnover += a.amount() as u128;
            r.prices.push(a.price_per_unit as f64);
        });
        if let Some(f) = a.finished_at {
            both(ctx.interval_of(f), t, &mut |r| {
                r.settled += 1;
                r.clean += u64::from(a.status == TaskStatus::Completed);
            });
        }
    }
    for s in &ctx.r.type_samples {
        let t = s.task_type.index();
        if t >= n || s.time == 0 {
            continue;
        }
        let i = ctx.interval_of(s.time - 1);
        let r = &mut rows[i][t];
        r.sampled = true;
        r.resting_units = s.resting_units;
        r.resting_offers = s.resting_offers;
        r.open_auctions = s.open_auctions;
        r.best_ask = s.best_ask;
        r.best_bid = s.best_bid;
    }
    for ms in &ctx.r.market_samples {
        if ms.time > 0 {
            rows[ctx.interval_of(ms.time - 1)][n].market = Some(*ms);
        }
    }
    for (i, row) in rows.iter_mut().enumerate() {
        let k = ctx.period_of(ctx.interval_bounds(i).0);
        let (mut units, mut offers, mut auctions) = (0, 0, 0);
        for (t, r) in row.iter_mut().take(n).enumerate() {
            if let Some(e) = eq.get(k).and_then(|p| p.get(t)).and_then(|c| c.eq) {
                (r.p_star, r.p_low, r.p_high) = (Some(e.p_star), Some(e.p_low), Some(e.p_high));
            }
            units += r.resting_units;
            offers += r.resting_offers;
            auctions += r.open_auctions;
        }
        (row[n].resting_units, row[n].resting_offers, row[n].open_auctions) = (units, offers, auctions);
        row[n].sampled = row.iter().take(n).any(|r| r.sampled);
    }
    let mut names = ctx.task_types.clone();
    names.push(ALL.to_string());
    Timeseries { rows, bounds: (0..ctx.intervals).map(|i| ctx.interval_bounds(i)).collect(), names }
}

impl Timeseries {
    /// `(interval end, relative deviation)` of task type `t`, in time order.
    pub fn deviations(&self, t: usize) -> Vec<(u64, Option<f64>)> {
        self.rows.iter().zip(&self.bounds).map(|(r, b)| (b.1, r.get(t).and_then(TsRow::deviation))).collect()
    }

    /// The `timeseries` frame.
    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let flat: Vec<(usize, usize, &TsRow)> =
            self.rows.iter().enumerate().flat_map(|(i, r)| r.iter().enumerate().map(move |(t, x)| (i, t, x))).collect();
        let u = |g: &dyn Fn(&TsRow) -> u64| flat.iter().map(|x| g(x.2)).collect::<Vec<u64>>();
        let f = |g: &dyn Fn(&TsRow) -> Option<f64>| flat.iter().map(|x| g(x.2)).collect::<Vec<Option<f64>>>();
        let ou = |g: &dyn Fn(&TsRow) -> Option<u64>| flat.iter().map(|x| g(x.2)).collect::<Vec<Option<u64>>>();
        let mk = |g: &dyn Fn(&MarketSample) -> f64| {
            flat.iter().map(|x| x.2.market.map(|m| g(&m)).filter(|v| v.is_finite())).collect::<Vec<Option<f64>>>()
        };
        let mu = |g: &dyn Fn(&MarketSample) -> u64| flat.iter().map(|x| x.2.market.map(|m| g(&m))).collect::<Vec<_>>();
        TableBuilder::new()
            .col(column::INTERVAL, flat.iter().map(|x| x.0 as u32).collect::<Vec<u32>>())
            .col(column::TIME_START_MS, flat.iter().map(|x| self.bounds[x.0].0).collect::<Vec<u64>>())
            .col(column::TIME_END_MS, flat.iter().map(|x| self.bounds[x.0].1).collect::<Vec<u64>>())
            .col(column::TASK_TYPE, flat.iter().map(|x| self.names[x.1].as_str()).collect::<Vec<&str>>())
            .col(column::REQUESTS, u(&|r| r.requests))
            .col(column::REQUESTED_UNITS, u(&|r| r.requested_units))
            .col(column::FILLED_UNITS, u(&|r| r.filled_units))
            .col(column::FILL_RATE, f(&|r| r.fill_rate()))
            .col(column::MATCH_RATE, f(&|r| r.match_rate()))
            .col(column::TIME_TO_FIRST_MATCH_P50_MS, f(&|r| r.delay_q(0.5)))
            .col(column::TIME_TO_FIRST_MATCH_P95_MS, f(&|r| r.delay_q(0.95)))
            .col(column::EXPIRED_UNFILLED_UNITS, u(&|r| r.expired_unfilled_units))
            .col(column::OFFERS, u(&|r| r.offers))
            .col(column::OFFERED_UNITS, u(&|r| r.offered_units))
            .col(column::TRADES, u(&|r| r.trades))
            .col(column::VOLUME_UNITS, u(&|r| r.volume_units))
            .col(column::TURNOVER, flat.iter().map(|x| x.2.turnover.min(u64::MAX as u128) as u64).collect::<Vec<u64>>())
            .col(column::VWAP, f(&|r| r.vwap()))
            .col(column::PRICE_MIN, f(&|r| r.prices.iter().copied().reduce(f64::min)))
            .col(column::PRICE_MAX, f(&|r| r.prices.iter().copied().reduce(f64::max)))
            .col(column::PRICE_CV, f(&|r| cv(&r.prices)))
            .col(column::P_STAR, f(&|r| r.p_star))
            .col(column::P_STAR_LOW, f(&|r| r.p_low))
            .col(column::P_STAR_HIGH, f(&|r| r.p_high))
            .col(column::RELATIVE_DEVIATION, f(&|r| r.deviation()))
            .col(column::RESTING_UNITS, ou(&|r| r.sampled.then_some(r.resting_units)))
            .col(column::RESTING_OFFERS, ou(&|r| r.sampled.then_some(r.resting_offers)))
            .col(column::OPEN_AUCTIONS, ou(&|r| r.sampled.then_some(r.open_auctions)))
            .col(column::BEST_ASK, ou(&|r| r.best_ask))
            .col(column::BEST_BID, ou(&|r| r.best_bid))
            .col(column::SPREAD, flat.iter().map(|x| x.2.spread()).collect::<Vec<Option<i64>>>())
            .col(column::SETTLED_TASKS, u(&|r| r.settled))
            .col(column::CLEAN_TASKS, u(&|r| r.clean))
            .col(column::SLA_COMPLIANCE_RATE, f(&|r| r.sla_rate()))
            .col(column::ACTIVE_PROVIDERS, mu(&|m| m.active_providers))
            .col(column::ESCROW_BALANCE, mu(&|m| m.escrow_balance))
            .col(column::TREASURY, mu(&|m| m.treasury))
            .col(column::REPUTATION_P10, mk(&|m| m.reputation_p10))
            .col(column::REPUTATION_P50, mk(&|m| m.reputation_p50))
            .col(column::REPUTATION_P90, mk(&|m| m.reputation_p90))
            .col(column::REPUTATION_MEAN, mk(&|m| m.reputation_mean))
            .col(column::REPUTATION_GINI, mk(&|m| m.reputation_gini))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(devs: &[Option<f64>]) -> Vec<(u64, Option<f64>)> {
        devs.iter().enumerate().map(|(i, d)| (i as u64 + 1, *d)).collect()
    }

    #[test]
    fn convergence_rule() {
        let ok = Some(0.01);
        let s = series(&[Some(0.2), Some(0.04), None, ok, ok, ok, ok]);
        assert_eq!(time_to_converge(&s, 0.05), Some(2), "five intervals with trades, gaps do not count");
        let s = series(&[ok, ok, ok, Some(0.06), ok, ok, ok, ok, ok]);
        assert_eq!(time_to_converge(&s, 0.05), Some(5));
        assert_eq!(time_to_converge(&series(&[ok, ok, ok, ok, ok, Some(0.5)]), 0.05), None);
        assert_eq!(time_to_converge(&series(&[None]), 0.05), None);
    }

    /// The defect: the last interval(s) alone used to be called convergence.
    #[test]
    fn the_last_intervals_alone_are_not_convergence() {
        let noisy = [Some(0.3), Some(0.2), Some(0.4), Some(0.1), Some(0.3), Some(0.2)];
        for tail in 1..MIN_CONVERGED_INTERVALS {
            let mut devs = noisy.to_vec();
            devs.extend(std::iter::repeat_n(Some(0.01), tail));
            assert_eq!(time_to_converge(&series(&devs), 0.05), None, "{tail} final interval(s)");
        }
        // In a long run the stretch must also be a quarter of the intervals with trades.
        let mut devs = vec![Some(0.3); 40];
        devs.extend(std::iter::repeat_n(Some(0.01), 13));
        assert_eq!(time_to_converge(&series(&devs), 0.05), None, "13 of 53 < 25 %");
        devs.push(Some(0.01));
        assert_eq!(time_to_converge(&series(&devs), 0.05), Some(41), "14 of 54 ≥ 25 %");
    }

    /// The count the report's sentence quotes is the one the rule applies (the baseline's 168
    /// intervals with trades need 42, not the minimum of 5).
    #[test]
    fn the_intervals_needed_are_the_rules() {
        assert_eq!(converged_intervals_needed(168), 42);
        assert_eq!(converged_intervals_needed(54), 14);
        assert_eq!(converged_intervals_needed(4), MIN_CONVERGED_INTERVALS);
        for with_trades in [20, 21, 53, 54, 168] {
            let needed = converged_intervals_needed(with_trades);
            for tail in [needed - 1, needed] {
                let mut devs = vec![Some(0.3); with_trades - tail];
                devs.extend(std::iter::repeat_n(Some(0.01), tail));
                let converged = time_to_converge(&series(&devs), 0.05).is_some();
                assert_eq!(converged, tail == needed, "{tail} of {with_trades}");
            }
        }
    }
}
