//! Metrics of a run (docs/metrics.md), computed from the final market state and the kernel's samples
//! into seven tables. [`compute`] is pure (no I/O); [`write_metric_tables`] writes each table as
//! `<name>.parquet` in the run folder. Column names, types and units are documented in
//! `reports/README.md`; names are snake_case with the unit last (`_ms`, `_units`) and are stable,
//! because sweeps aggregate `summary` and `timeseries`.
//!
//! Files:
//! * `stats.rs` – quantiles, CV, Gini, Pearson (NaN- and empty-safe).
//! * `equilibrium.rs` – supply/demand step curves, `P*`, `Q*`, max surplus; table `price_discovery`.
//! * `constrained.rs` – the maximum surplus and `Q*` under the market's eligibility constraints.
//! * `timeseries.rs` – one row per sampling interval × task type (plus `all`); convergence.
//! * `quality.rs` – SLA by reputation tier (`sla`) and escrow/dispute time series (`escrows`).
//! * `compliance.rs` – violations by kind from the kernel's ground truth: attempted, detected,
//!   undetected, tokens earned by violators, honest loss (`compliance`).
//! * `welfare.rs` – surplus and profit by population and strategy (`welfare`).
//! * `summary.rs` – the one-row `summary` of headline metrics.
//!
//! # Decisions (also in `reports/README.md`)
//! * **Interval** = the scenario's `sample_interval`; interval `i` covers `[i·Δ, (i+1)·Δ)`; an
//!   event at exactly the end of the run belongs to the last interval. Kernel samples taken at
//!   `(i+1)·Δ` describe the state at the end of interval `i`.
//! * **Period** = a trading period when the scenario sets `periods`, otherwise one interval.
//! * **Active agents and curves**: the demand of a period (per task type) is every request placed
//!   in the period, counted with its `total_units` at its requester's private `value_per_unit`,
//!   plus every older request that traded in the period, counted with the units it traded in the
//!   period. Supply likewise from offers at the provider's `cost_per_unit`. A quota trader counts
//!   once per period with its quota; one with a schedule of unit values with each unit of its list
//!   at its own value, and its trades are valued unit by unit (`Ctx::traded_value`). An agent is active in
//!   a period when it has at least one such order. Because every trade of the period is then a
//!   feasible matching of these curves, allocative efficiency is at most 1.
//! * **Trades** are assignments, dated by `assigned_at`; prices are per unit; VWAP is
//!   Σ price·units / Σ units; dispersion and Smith's alpha weight every trade once.
//! * **Undefined values are null** (no trades, no settled tasks, zero denominators), never NaN.
//! * Rows are sorted by time, then task type in scenario order (`all` last), then the table's
//!   own key; reruns give byte-identical files.

pub mod compliance;
pub mod constrained;
pub mod equilibrium;
pub mod quality;
pub mod stats;
pub mod summary;
pub mod timeseries;
pub mod welfare;

use std::path::Path;

use polars::prelude::DataFrame;

use synmarket_agents::{AgentRecord, SimResult};
use synmarket_engine::{PeerId, TaskStatus};

use crate::output::{IoError, TableError, table, write_parquet_atomic};
use crate::scenario::Scenario;

pub use constrained::{Constrained, MAX_PAIRS as CONSTRAINED_MAX_PAIRS, Step as ConstrainedStep, constrained};
pub use equilibrium::{Equilibrium, equilibrium};
pub use summary::Summary;
pub use timeseries::{
    CONVERGENCE_THRESHOLD, MIN_CONVERGED_INTERVALS, MIN_CONVERGED_SHARE, converged_intervals_needed, time_to_converge,
};

/// Name of the aggregate row in tables that are otherwise per task type.
pub const ALL: &str = "all";

/// The metric tables of one run.
#[derive(Debug, Clone)]
pub struct RunMetrics {
    /// One row per sampling interval × task type (plus `all`): prices, liquidity, SLA, and the
    /// market-wide state (escrow, reputation, active providers) on the `all` rows.
    pub timeseries: DataFrame,
    /// One row per period × task type: `P*`, `Q*`, Smith's alpha, allocative efficiency.
    pub price_discovery: DataFrame,
    /// One row per interval: funds in escrow, escrow transitions, disputes and outcomes.
    pub escrows: DataFrame,
    /// One row per provider reputation tier at match time (plus `all`): SLA outcomes, volume
    /// share and price premium.
    pub sla: DataFrame,
    /// One row per violation kind: attempted (ground truth), detected, undetected, tokens earned by
    /// violators, honest loss.
    pub compliance: DataFrame,
    /// One row per population: surplus (requesters) or profit (providers), wealth.
    pub welfare: DataFrame,
    /// One row: scenario, seed and every headline metric.
    pub summary: DataFrame,
    /// The same row, typed.
    pub headline: Summary,
}

impl RunMetrics {
    /// `(table name, frame)` in the order they are written.
    pub fn tables_mut(&mut self) -> [(&'static str, &mut DataFrame); 7] {
        [
            (table::TIMESERIES, &mut self.timeseries),
            (table::PRICE_DISCOVERY, &mut self.price_discovery),
            (table::ESCROWS, &mut self.escrows),
            (table::SLA, &mut self.sla),
            (table::COMPLIANCE, &mut self.compliance),
            (table::WELFARE, &mut self.welfare),
            (table::SUMMARY, &mut self.summary),
        ]
    }
}

/// Names of the metric tables (files are `<name>.parquet`).
pub const TABLES: [&str; 7] = [
    table::TIMESERIES,
    table::PRICE_DISCOVERY,
    table::ESCROWS,
    table::SLA,
    table::COMPLIANCE,
    table::WELFARE,
    table::SUMMARY,
];

/// Computes every metric table of a run (pure).
pub fn compute(s: &Scenario, r: &SimResult) -> Result<RunMetrics, TableError> {
    let ctx = Ctx::new(s, r);
    let eq = equilibrium::per_period(&ctx);
    let ts = timeseries::build(&ctx, &eq);
    let sla = quality::sla_by_tier(&ctx);
    let escrows = quality::escrow_series(&ctx);
    let compliance = compliance::build(&ctx);
    let welfare = welfare::build(&ctx);
    let headline = summary::build(&ctx, &eq, &ts, &sla, &escrows, &compliance, &welfare);
    Ok(RunMetrics {
        timeseries: ts.frame().map_err(TableError::of(table::TIMESERIES))?,
        price_discovery: equilibrium::frame(&ctx, &eq).map_err(TableError::of(table::PRICE_DISCOVERY))?,
        escrows: escrows.frame().map_err(TableError::of(table::ESCROWS))?,
        sla: sla.frame().map_err(TableError::of(table::SLA))?,
        compliance: compliance.frame().map_err(TableError::of(table::COMPLIANCE))?,
        welfare: welfare.frame().map_err(TableError::of(table::WELFARE))?,
        summary: headline.frame().map_err(TableError::of(table::SUMMARY))?,
        headline,
    })
}

/// Writes the metric tables of a run into `dir`, appending file names to `files`.
/// Returns the typed summary row.
pub fn write_metric_tables(
    dir: &Path,
    s: &Scenario,
    r: &SimResult,
    files: &mut Vec<String>,
) -> Result<Summary, MetricsError> {
    let mut m = compute(s, r)?;
    for (name, df) in m.tables_mut() {
        let file = format!("{name}.parquet");
        write_parquet_atomic(dir.join(&file), df)?;
        files.push(file);
    }
    Ok(m.headline)
}

/// Why the metric tables of a run could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A table could not be built.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A table could not be written.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// What every metric needs: the run, its time grid and lookups by peer.
pub(crate) struct Ctx<'a> {
    pub s: &'a Scenario,
    pub r: &'a SimResult,
    /// Sampling interval (ms, ≥ 1).
    pub interval_ms: u64,
    /// Number of intervals (≥ 1).
    pub intervals: usize,
    /// Period length (ms, ≥ 1).
    pub period_ms: u64,
    /// Number of periods (≥ 1).
    pub periods: usize,
    /// Task type names, by engine id (scenario order).
    pub task_types: Vec<String>,
    /// Agent record by peer index.
    agents: Vec<Option<&'a AgentRecord>>,
    /// By assignment: the requester's value and the provider's cost per unit of the units it
    /// traded (the entries of a schedule it traded them at, averaged; see [`Ctx::traded_values`]).
    traded: Vec<(Option<f64>, Option<f64>)>,
}

impl<'a> Ctx<'a> {
    fn new(s: &'a Scenario, r: &'a SimResult) -> Self {
        let interval_ms = s.sample_interval_ms.max(1);
        let duration = r.duration_ms.max(1);
        let intervals = duration.div_ceil(interval_ms).max(1) as usize;
        let period_ms = if s.periods.is_some() { r.period_ms.max(1) } else { interval_ms };
        let periods = duration.div_ceil(period_ms).max(1) as usize;
        let v = r.market.vocabulary();
        let task_types = r.task_types.iter().map(|t| v.task_type_name(t.id).to_string()).collect();
        // Every identity of an agent (a Sybil re-enters under new peer ids) maps to its record.
        let agents: Vec<Option<&AgentRecord>> =
            (0..r.market.peer_count()).map(|i| r.agent_of(PeerId(i as u32))).collect();
        let mut ctx = Ctx { s, r, interval_ms, intervals, period_ms, periods, task_types, agents, traded: Vec::new() };
        ctx.traded = ctx.traded_values();
        ctx
    }

    /// The value and cost per unit of every assignment. A trader with a drawn value trades
    /// every unit at it. A trader with a schedule (`value_per_unit = { schedule = ... }`)
    /// trades its units in list order, counted from each period start exactly as the agent
    /// counts them (`SimResult::period_start_assignments`), so unit `k` of a period is traded
    /// at entry `k` of its list.
    fn traded_values(&self) -> Vec<(Option<f64>, Option<f64>)> {
        let starts = &self.r.period_start_assignments;
        // Per agent record (by its first peer): (period, units traded in it).
        let mut count: Vec<(usize, u64)> = vec![(0, 0); self.r.agents.len()];
        let mut unit = |p: PeerId, id: u64, units: u64, drawn: Option<f64>| -> Option<f64> {
            let Some((rec, list)) = self.agent(p).and_then(|a| self.schedule_of(a).map(|l| (a, l))) else {
                return drawn;
            };
            let period = starts.partition_point(|&s| s <= id);
            let c = count.get_mut(rec.peer.index())?;
            if c.0 != period {
                *c = (period, 0);
            }
            let from = c.1 as usize;
            c.1 += units;
            let last = list.len().saturating_sub(1);
            let sum: f64 = (0..units as usize).map(|j| list.get((from + j).min(last)).copied().unwrap_or(0.0)).sum();
            Some(sum / units.max(1) as f64)
        };
        self.r
            .market
            .assignments()
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let v = unit(a.requester, i as u64, a.units, self.value(a.requester));
                let c = unit(a.provider, i as u64, a.units, self.cost(a.provider));
                (v, c)
            })
            .collect()
    }

    /// The list of unit values (or costs) of an agent whose population writes a schedule.
    pub fn schedule_of(&self, a: &AgentRecord) -> Option<&'a [f64]> {
        let pop = self.s.populations.get(a.population as usize)?;
        pop.schedule()?.get(a.index as usize).map(Vec::as_slice)
    }

    /// Most units an agent trades per period (`units_per_period`, or its schedule's length).
    pub fn quota_of(&self, p: PeerId) -> Option<u64> {
        let a = self.agent(p)?;
        self.s.populations.get(a.population as usize)?.units_per_period(a.index)
    }

    /// The requester's value per unit of assignment `i`'s units.
    pub fn traded_value(&self, i: usize) -> Option<f64> {
        self.traded.get(i).and_then(|t| t.0).filter(|v| v.is_finite())
    }

    /// The provider's cost per unit of assignment `i`'s units.
    pub fn traded_cost(&self, i: usize) -> Option<f64> {
        self.traded.get(i).and_then(|t| t.1).filter(|v| v.is_finite())
    }

    /// Interval of a time (the end of the run belongs to the last interval).
    pub fn interval_of(&self, t: u64) -> usize {
        ((t / self.interval_ms) as usize).min(self.intervals - 1)
    }

    /// Period of a time.
    pub fn period_of(&self, t: u64) -> usize {
        ((t / self.period_ms) as usize).min(self.periods - 1)
    }

    /// `[start, end)` of interval `i` in ms (the last one ends at the end of the run).
    pub fn interval_bounds(&self, i: usize) -> (u64, u64) {
        let start = i as u64 * self.interval_ms;
        (start, (start + self.interval_ms).min(self.r.duration_ms.max(start)))
    }

    /// `[start, end)` of period `k` in ms.
    pub fn period_bounds(&self, k: usize) -> (u64, u64) {
        let start = k as u64 * self.period_ms;
        (start, (start + self.period_ms).min(self.r.duration_ms.max(start)))
    }

    /// The agent behind a peer.
    pub fn agent(&self, p: PeerId) -> Option<&'a AgentRecord> {
        self.agents.get(p.index()).copied().flatten()
    }

    /// Private value per unit of a requester.
    pub fn value(&self, p: PeerId) -> Option<f64> {
        self.agent(p).and_then(|a| a.profile.value_per_unit).filter(|v| v.is_finite())
    }

    /// Private cost per unit of a provider.
    pub fn cost(&self, p: PeerId) -> Option<f64> {
        self.agent(p).and_then(|a| a.profile.cost_per_unit).filter(|v| v.is_finite())
    }

    /// Number of task types.
    pub fn n_types(&self) -> usize {
        self.task_types.len()
    }
}

/// Work was delivered (completed, with or without an SLA violation).
pub fn delivered(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::Completed | TaskStatus::SlaViolated)
}

/// Settled task: completed, violated or failed (the denominator of SLA compliance).
pub fn settled(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::Completed | TaskStatus::SlaViolated | TaskStatus::Failed)
}
