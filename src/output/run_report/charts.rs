//! The charts of a run report, built only from the run folder's tables (so `synmarket report`
//! can redraw them): each function returns a [`Figure`] (file stem, chart, one-line caption).
//! Time axes are in hours or days ([`TimeAxis`]); interval values are drawn at the end of their
//! interval. Empty tables give charts with "no data" frames, never an error.

use crate::charts::{
    Band, BarChart, BarSeries, Chart, LineChart, LineSeries, MAX_SCATTER_POINTS, PanelChart, RefLine, ScatterSeries,
    XMark,
};
use crate::metrics::ALL;
use crate::metrics::compliance::column as C;
use crate::metrics::equilibrium::column as PD;
use crate::metrics::quality::column as Q;
use crate::metrics::summary::column as S;
use crate::metrics::timeseries::column as TS;
use crate::metrics::welfare::column as W;
use crate::output::raw_tables::column as A;
use synmarket_agents::{GroundTruthKind, Role};

use super::read::{Tables, TimeAxis};
use crate::output::Frame;

/// The report section a chart is placed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Price convergence and efficiency.
    Convergence,
    /// Liquidity.
    Liquidity,
    /// SLA enforcement.
    Sla,
    /// Reputation.
    Reputation,
    /// Escrow and disputes.
    Escrow,
    /// Compliance.
    Compliance,
    /// Welfare.
    Welfare,
}

/// One chart to render: its file stem (`charts/<stem>.png|svg`), the section it is shown in, the
/// chart and its one-line caption. Adding a chart to the run report is a function here, listed in
/// [`figures`] (and a line in reports/README.md).
pub struct Figure {
    pub stem: &'static str,
    pub place: Place,
    pub chart: Chart,
    pub caption: String,
}

/// Finite `(x, y)` pairs.
fn points(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(a, b)| (*a, *b)).collect()
}

/// Interval end times (axis units) and values of `col` for the rows of `task_type`.
fn by_type(ts: &Frame, axis: TimeAxis, task_type: &str, col: &str) -> Vec<(f64, f64)> {
    let rows = ts.rows_where(TS::TASK_TYPE, task_type);
    let x: Vec<f64> = ts.pick(TS::TIME_END_MS, &rows).into_iter().map(|t| axis.x(t)).collect();
    points(&x, &ts.pick(col, &rows))
}

/// A y range of [0, 1] for a count chart whose values are all zero (or missing), instead of the
/// renderer's symmetric padding around zero.
fn counts_range(c: LineChart) -> LineChart {
    let top = c.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    if top > 0.0 { c.y_from_zero() } else { c.with_y_range(0.0, 1.0) }
}

fn scaled(p: Vec<(f64, f64)>, k: f64) -> Vec<(f64, f64)> {
    p.into_iter().map(|(x, y)| (x, y * k)).collect()
}

/// Period studies with more periods than this are not marked: the lines would hide the data
/// (economic_simulation has 100 one-hour periods).
const MAX_MARKED_PERIODS: f64 = 40.0;

/// The ends of every period but the last (axis units) when the run is a period study
/// (`1 < scenario.periods ≤ MAX_MARKED_PERIODS`): the market restarts there, so each is marked
/// on time axes.
fn period_boundaries(t: &Tables, axis: TimeAxis) -> Vec<f64> {
    let periods = t.headline(S::periods);
    if !(periods.is_finite() && periods > 1.0 && periods <= MAX_MARKED_PERIODS && axis.end.is_finite()) {
        return Vec::new();
    }
    let n = periods as u64;
    (1..n).map(|k| axis.end * k as f64 / n as f64).collect()
}

/// `chart`, or an empty frame saying `note` when none of its values is other than zero (a flat
/// zero line looks like a measurement; "no disputes in this run" is one).
fn unless_all_zero(chart: LineChart, note: &str) -> LineChart {
    if chart.has_nonzero_value() { chart } else { chart.with_note(note) }
}

/// `chart`, or an empty frame saying `note` when no series has a single finite point.
fn if_no_points(chart: LineChart, note: &str) -> LineChart {
    if chart.series.iter().any(|s| s.points.iter().any(|p| p.1.is_finite())) { chart } else { chart.with_note(note) }
}

/// A series whose every value is 0 lies on the x axis, where no one can see it: its legend
/// label says so ("expired (0 throughout)") instead of naming a line that is not there (for
/// names used by one panel only; a task type shared by several panels keeps its entry).
fn name_flat_zero_lines(chart: &mut Chart) {
    let panels: Vec<&mut LineChart> = match chart {
        Chart::Line(c) => vec![c],
        Chart::Panels(p) => p.panels.iter_mut().collect(),
        Chart::Bar(_) => Vec::new(),
    };
    // A name shared by several panels (a task type) keeps its one legend entry and colour.
    let mut uses: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for panel in &panels {
        for s in &panel.series {
            *uses.entry(s.name.clone()).or_default() += 1;
        }
    }
    for panel in panels {
        for s in panel.series.iter_mut().filter(|s| uses.get(&s.name) == Some(&1)) {
            let mut finite = s.points.iter().map(|p| p.1).filter(|y| y.is_finite()).peekable();
            if finite.peek().is_some() && finite.all(|y| y == 0.0) {
                s.name = format!("{} (0 throughout)", s.name);
            }
        }
    }
}

/// Every chart of the report, in report order.
pub fn figures(t: &Tables, axis: TimeAxis) -> Vec<Figure> {
    let mut figures = all_figures(t, axis);
    for f in &mut figures {
        name_flat_zero_lines(&mut f.chart);
    }
    figures
}

fn all_figures(t: &Tables, axis: TimeAxis) -> Vec<Figure> {
    vec![
        price_convergence(t, axis),
        efficiency(t, axis),
        price_dispersion(t, axis),
        liquidity(t, axis),
        sla_over_time(t, axis),
        sla_by_tier(t),
        reputation(t, axis),
        escrow(t, axis),
        compliance(t),
        welfare(t),
    ]
}

fn price_convergence(t: &Tables, axis: TimeAxis) -> Figure {
    let ts = &t.timeseries;
    let a = &t.assignments;
    let (at, price, tt) = (a.f64(A::ASSIGNED_AT_MS), a.f64(A::PRICE_PER_UNIT), a.str(A::TASK_TYPE));
    let types = t.task_types();
    // Stacked while the panels stay tall enough to read; two columns beyond three task types.
    let columns = if types.len() <= 3 { 1 } else { 2 };
    let mut chart =
        PanelChart::new("Price convergence: trade prices vs the competitive equilibrium").with_columns(columns);
    // One stride for every panel, so that the legend names one "trade price" series.
    let most = types.iter().map(|n| tt.iter().filter(|x| *x == n).count()).max().unwrap_or(0);
    let stride = most.div_ceil(MAX_SCATTER_POINTS).max(1);
    let dots = if stride > 1 { format!("trade price (1 in {stride} shown)") } else { "trade price".to_string() };
    let boundaries = period_boundaries(t, axis);
    for name in types {
        let rows = ts.rows_where(TS::TASK_TYPE, &name);
        let x: Vec<f64> = ts.pick(TS::TIME_END_MS, &rows).into_iter().map(|v| axis.x(v)).collect();
        let (lo, hi) = (ts.pick(TS::P_STAR_LOW, &rows), ts.pick(TS::P_STAR_HIGH, &rows));
        let band: Vec<(f64, f64, f64)> = (0..x.len())
            .filter(|&i| x[i].is_finite() && lo[i].is_finite() && hi[i].is_finite())
            .map(|i| (x[i], lo[i], hi[i]))
            .collect();
        let trades: Vec<(f64, f64)> = (0..tt.len().min(at.len()).min(price.len()))
            .filter(|&i| tt[i] == name && at[i].is_finite() && price[i].is_finite())
            .map(|i| (axis.x(at[i]), price[i]))
            .step_by(stride)
            .collect();
        let mut panel = axis.chart(format!("task type: {name}"), "tokens / unit");
        for x in &boundaries {
            panel = panel.with_x_mark(XMark::new("period boundary", *x));
        }
        chart = chart.with_panel(
            panel
                .with_scatter(ScatterSeries::new(dots.clone(), trades).with_color(6))
                .with_series(
                    LineSeries::new("P* (equilibrium midpoint)", points(&x, &ts.pick(TS::P_STAR, &rows)))
                        .dashed()
                        .with_color(1)
                        .with_band(Band::new(band).labelled("equilibrium price range [P* low, P* high]")),
                )
                .with_series(LineSeries::new("VWAP per interval", points(&x, &ts.pick(TS::VWAP, &rows))).with_color(0)),
        );
    }
    Figure {
        stem: "price_convergence",
        place: Place::Convergence,
        chart: chart.into(),
        caption: "Trade prices (dots), their VWAP per interval and the competitive equilibrium P* computed from \
                  private values and costs without the eligibility constraints (the constrained P* is in \
                  price_discovery.parquet; reports/README.md, \"Constrained equilibrium\"), one panel per task type."
            .into(),
    }
}

fn efficiency(t: &Tables, axis: TimeAxis) -> Figure {
    let pd = &t.price_discovery;
    let mut eff = axis
        .chart("Allocative efficiency per period (against the unconstrained maximum)", "realised / maximum surplus")
        .with_y_range(0.0, 1.05)
        .with_ref_line(RefLine::new("100 % (maximum surplus)", 1.0));
    let mut alpha = axis.chart("Smith's alpha per period", "alpha (% of P*)").y_from_zero();
    for name in t.task_types() {
        eff = eff.with_series(LineSeries::new(name.clone(), by_type(pd, axis, &name, PD::ALLOCATIVE_EFFICIENCY)));
        alpha = alpha.with_series(LineSeries::new(name.clone(), by_type(pd, axis, &name, PD::SMITH_ALPHA)));
    }
    Figure {
        stem: "efficiency",
        place: Place::Convergence,
        chart: PanelChart::new("Efficiency and price dispersion around P*")
            .with_columns(1)
            .with_panel(eff)
            .with_panel(alpha)
            .into(),
        caption: "Allocative efficiency (realised surplus of completed work over the unconstrained maximum at Q*; \
                  against the maximum under the eligibility rules see price_discovery.parquet, \
                  allocative_efficiency_constrained) and Smith's alpha (RMS deviation of trade prices from the \
                  unconstrained P*, in % of P*) per period and task type."
            .into(),
    }
}

fn price_dispersion(t: &Tables, axis: TimeAxis) -> Figure {
    let ts = &t.timeseries;
    let mut c = axis
        .chart(
            "Price dispersion per interval (coefficient of variation of trade prices)",
            "standard deviation / mean of trade prices",
        )
        .y_from_zero();
    for name in t.task_types() {
        c = c.with_series(LineSeries::new(name.clone(), by_type(ts, axis, &name, TS::PRICE_CV)));
    }
    Figure {
        stem: "price_dispersion",
        place: Place::Convergence,
        chart: c.into(),
        caption: "How far trade prices of one interval spread around their mean (coefficient of variation, each \
                  trade counted once), per task type: prices that converge also stop dispersing."
            .into(),
    }
}

fn liquidity(t: &Tables, axis: TimeAxis) -> Figure {
    let ts = &t.timeseries;
    let mut fill = axis.chart("Fill rate of requests placed", "units filled / units requested").with_y_range(0.0, 1.0);
    let mut depth = axis.chart("Resting depth", "offer units resting").y_from_zero();
    let mut spread = axis
        .chart("Spread (best ask − best bid; < 0: crossed, not matchable)", "tokens per unit")
        .with_ref_line(RefLine::new("zero spread", 0.0));
    for name in t.task_types() {
        fill = fill.with_series(LineSeries::new(name.clone(), by_type(ts, axis, &name, TS::FILL_RATE)));
        depth = depth.with_series(LineSeries::new(name.clone(), by_type(ts, axis, &name, TS::RESTING_UNITS)));
        spread = spread.with_series(LineSeries::new(name.clone(), by_type(ts, axis, &name, TS::SPREAD)));
    }
    let to_min = 1.0 / 60_000.0;
    let wait = axis
        .chart("Time to first match (all task types)", "minutes")
        .y_from_zero()
        .with_series(LineSeries::new(
            "p50 wait",
            scaled(by_type(ts, axis, ALL, TS::TIME_TO_FIRST_MATCH_P50_MS), to_min),
        ))
        .with_series(LineSeries::new(
            "p95 wait",
            scaled(by_type(ts, axis, ALL, TS::TIME_TO_FIRST_MATCH_P95_MS), to_min),
        ));
    Figure {
        stem: "liquidity",
        place: Place::Liquidity,
        chart: PanelChart::new("Liquidity")
            .with_columns(2)
            .with_panel(fill)
            .with_panel(depth)
            .with_panel(spread)
            .with_panel(wait)
            .into(),
        caption:
            "Fill rate of the requests placed in each interval, offer units resting at its end, the spread between \
                  the best resting ask and the best open bid, and the time from placement to first match."
                .into(),
    }
}

fn sla_over_time(t: &Tables, axis: TimeAxis) -> Figure {
    let ts = &t.timeseries;
    let mut c = axis
        .chart("SLA compliance over time", "completed without violation / settled")
        .with_y_range(0.0, 1.0)
        .with_series(LineSeries::new("all task types", by_type(ts, axis, ALL, TS::SLA_COMPLIANCE_RATE)).with_color(0));
    // With one task type its line is the "all" line, hidden under it: drawn only for several.
    let types = t.task_types();
    for (i, name) in types.iter().enumerate().filter(|_| types.len() > 1) {
        c = c.with_series(
            LineSeries::new(name.clone(), by_type(ts, axis, name, TS::SLA_COMPLIANCE_RATE)).with_color(i + 1).dashed(),
        );
    }
    Figure {
        stem: "sla_over_time",
        place: Place::Sla,
        chart: c.into(),
        caption: "Share of the tasks settled in each interval that completed without any SLA violation.".into(),
    }
}

fn sla_by_tier(t: &Tables) -> Figure {
    let sla = &t.sla;
    let rows: Vec<usize> = (0..sla.len()).filter(|&i| sla.str(Q::TIER).get(i).is_some_and(|x| x != ALL)).collect();
    let tiers: Vec<String> = rows.iter().filter_map(|&i| sla.str(Q::TIER).get(i).cloned()).collect();
    let all = sla.rows_where(Q::TIER, ALL);
    let mut c = BarChart::new(
        "SLA compliance, volume share and price premium by provider reputation tier at match time",
        "provider reputation tier at match time",
        "fraction",
        tiers,
    )
    .with_series(BarSeries::new("SLA compliance rate", sla.pick(Q::SLA_COMPLIANCE_RATE, &rows)))
    .with_series(BarSeries::new("share of volume (units)", sla.pick(Q::VOLUME_SHARE, &rows)))
    .with_series(BarSeries::new("price premium vs all trades", sla.pick(Q::PRICE_PREMIUM, &rows)));
    if let Some(v) = sla.pick(Q::SLA_COMPLIANCE_RATE, &all).first().filter(|v| v.is_finite()) {
        c = c.with_ref_line(RefLine::new(format!("compliance, all tiers: {:.0} %", v * 100.0), *v));
    }
    Figure {
        stem: "sla_by_tier",
        place: Place::Sla,
        chart: c.into(),
        caption: "By the provider's reputation tier when matched: SLA compliance rate, share of traded units won, and \
                  VWAP relative to all trades minus one."
            .into(),
    }
}

fn reputation(t: &Tables, axis: TimeAxis) -> Figure {
    let ts = &t.timeseries;
    let p10 = by_type(ts, axis, ALL, TS::REPUTATION_P10);
    let p90 = by_type(ts, axis, ALL, TS::REPUTATION_P90);
    let band: Vec<(f64, f64, f64)> = p10.iter().zip(&p90).map(|(a, b)| (a.0, a.1, b.1)).collect();
    let q = axis
        .chart("Provider reputation", "reputation score")
        .y_from_zero()
        .with_series(
            LineSeries::new("median", by_type(ts, axis, ALL, TS::REPUTATION_P50))
                .with_band(Band::new(band).labelled("10 %–90 % quantile band")),
        )
        .with_series(LineSeries::new("mean", by_type(ts, axis, ALL, TS::REPUTATION_MEAN)).dashed());
    let g = axis
        .chart("Inequality of provider reputation", "Gini coefficient")
        .with_y_range(0.0, 1.0)
        .with_series(LineSeries::new("Gini", by_type(ts, axis, ALL, TS::REPUTATION_GINI)));
    Figure {
        stem: "reputation",
        place: Place::Reputation,
        chart: PanelChart::new("Reputation distribution over time").with_columns(1).with_panel(q).with_panel(g).into(),
        caption: "Quantiles and mean of provider reputation at the end of each interval, and their Gini coefficient."
            .into(),
    }
}

fn escrow(t: &Tables, axis: TimeAxis) -> Figure {
    let e = &t.escrows;
    let x: Vec<f64> = e.f64(Q::TIME_END_MS).into_iter().map(|v| axis.x(v)).collect();
    let line = |col: &str| points(&x, &e.f64(col));
    let bal = axis
        .chart("Funds in escrow", "tokens")
        .y_from_zero()
        .with_series(LineSeries::new("escrow balance", line(Q::ESCROW_BALANCE)).with_color(0));
    let settle = unless_all_zero(
        counts_range(
            axis.chart("Escrow settlements per interval", "escrows")
                .with_series(LineSeries::new("released", line(Q::ESCROWS_RELEASED)).with_color(2))
                .with_series(LineSeries::new("refunded", line(Q::ESCROWS_REFUNDED)).with_color(1))
                .with_series(LineSeries::new("expired", line(Q::ESCROWS_EXPIRED)).with_color(3)),
        ),
        "no escrow settled in this run",
    );
    let disputes = unless_all_zero(
        counts_range(
            axis.chart("Disputes per interval", "disputes")
                .with_series(LineSeries::new("disputes raised", line(Q::DISPUTES_RAISED)).with_color(4))
                .with_series(LineSeries::new("disputes resolved", line(Q::ESCROWS_RESOLVED)).with_color(5))
                .with_series(
                    LineSeries::new("resolved as the evidence says", line(Q::DISPUTES_CORRECT)).with_color(6).dashed(),
                ),
        ),
        "no disputes in this run",
    );
    // Zeros here are measurements (a release at completion), so only an empty series is noted.
    let delay = if_no_points(
        counts_range(
            axis.chart("Completion to release (median)", "minutes").with_series(
                LineSeries::new(
                    "median completion → release",
                    scaled(line(Q::COMPLETION_TO_RELEASE_P50_MS), 1.0 / 60_000.0),
                )
                .with_color(0)
                .dashed(),
            ),
        ),
        "no escrow released after a completion in this run",
    );
    Figure {
        stem: "escrow",
        place: Place::Escrow,
        chart: PanelChart::new("Escrow and disputes")
            .with_columns(2)
            .with_panel(bal)
            .with_panel(settle)
            .with_panel(disputes)
            .with_panel(delay)
            .into(),
        caption: "Tokens held in escrow, escrows settled and disputes raised per interval, and the median time from \
                  task completion to release."
            .into(),
    }
}

fn compliance(t: &Tables) -> Figure {
    let c = &t.compliance;
    let kinds = c.str(C::KIND);
    let ground_truth: Vec<&str> = GroundTruthKind::ALL.iter().map(|k| k.as_str()).collect();
    let rows: Vec<usize> = (0..kinds.len()).filter(|&i| ground_truth.contains(&kinds[i].as_str())).collect();
    let names: Vec<String> = rows.iter().map(|&i| kinds[i].replace('_', " ")).collect();
    let (attempted, detected) = (c.pick(C::ATTEMPTED, &rows), c.pick(C::DETECTED, &rows));
    let top = attempted.iter().chain(&detected).copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
    let chart = BarChart::new(
        "Compliance: violations attempted (ground truth) vs detected by the market",
        "kind of violation",
        "count",
        names,
    );
    let chart = if top > 0.0 { chart } else { chart.with_note("no violations attempted or detected in this run") };
    let chart = chart
        .with_series(BarSeries::new("attempted (ground truth)", attempted))
        .with_series(BarSeries::new("detected (audit, refusal or dispute outcome)", detected));
    Figure {
        stem: "compliance",
        place: Place::Compliance,
        chart: chart.into(),
        caption: "Per kind of violation: attempts the simulation recorded as ground truth, and those the market \
                  detected (receipt audits for relay, resale and key sharing; bad-signature refusals for forgery; \
                  disputes still decided by the evidence for dispute abuse and corrupt votes). Sybil re-entries, ring \
                  feedback and leaks are not detectable by the market."
            .into(),
    }
}

fn welfare(t: &Tables) -> Figure {
    let w = &t.welfare;
    let rows: Vec<usize> =
        (0..w.len()).filter(|&i| w.str(W::ROLE).get(i).is_some_and(|r| r != Role::Arbitrator.as_str())).collect();
    let (pop, strat) = (w.str(W::POPULATION), w.str(W::STRATEGY));
    let cats: Vec<String> = rows
        .iter()
        .map(|&i| format!("{} ({})", pop.get(i).map_or("", String::as_str), strat.get(i).map_or("", String::as_str)))
        .collect();
    let roles = w.str(W::ROLE);
    let value = w.pick(W::SURPLUS_PER_AGENT, &rows);
    let of_role = |role: Role| -> Vec<f64> {
        rows.iter()
            .zip(&value)
            .map(|(&i, v)| if roles.get(i).is_some_and(|r| r == role.as_str()) { *v } else { f64::NAN })
            .collect()
    };
    let chart = BarChart::new("Welfare by population and strategy", "population (strategy)", "tokens per agent", cats)
        .disjoint()
        .with_series(
            BarSeries::new("surplus per requester (value − price paid)", of_role(Role::Requester)).with_color(0),
        )
        .with_series(
            BarSeries::new("profit per provider (price received − cost)", of_role(Role::Provider)).with_color(1),
        );
    Figure {
        stem: "welfare",
        place: Place::Welfare,
        chart: chart.into(),
        caption:
            "Surplus per requester (value of delivered work − tokens paid) and profit per provider (tokens received \
                  − private cost of delivered work), by population."
                .into(),
    }
}
