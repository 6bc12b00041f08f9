//! The sweep's charts and report page, written by `sweep merge` into the sweep folder:
//! `charts/<parameter>[-<k>].{png,svg}` (each metric's mean against the parameter with 95 % CI
//! error bars, six metrics per image), `charts/paired-<parameter>[-<k>].{png,svg}` (mean paired
//! difference against the baseline with its interval and a zero line), `report.html` and
//! `report.md`.
//!
//! Decisions: numeric parameters with at least two values get charts against the parameter; a
//! sweep with no such parameter (institutions, strategies) gets charts by point instead
//! (`charts/points[-<k>]`, `charts/paired-points[-<k>]`: one error bar per point, named in the
//! legend, for 2 to 8 points, numbered in display order over the whole sweep so that a number
//! and colour name the same point in every chart: `point_numbers`). When several parameters vary, each chart has one series per
//! combination of the other parameters (the first `MAX_SERIES` (8) combinations in label order). Metrics whose mean is undefined at every point are left out of charts.

use std::collections::BTreeMap;
use std::path::Path;

use crate::charts::{Band, Chart, LineChart, LineSeries, PanelChart, RefLine, render_files};
use crate::metrics::summary::column as S;
use crate::output::page::{ChartRef, Report, Section, Table, write_html, write_markdown};
use crate::sweep::SweepError;
use crate::sweep::merged::Merged;
use crate::sweep::point::{Point, canonical_value, display_order, param_number};
use crate::sweep::stats::Interval;

/// Metrics per chart image.
const METRICS_PER_CHART: usize = 6;
/// Longest point label written in a legend of charts by point (longer ones: the point id).
const MAX_LEGEND_LABEL: usize = 56;
/// Most series per chart.
const MAX_SERIES: usize = 8;
/// Metrics charted when the summary has them (docs/metrics.md headline metrics, then the compliance
/// metrics that audit and enforcement sweeps move), in this order.
const CHART_METRICS: [&str; 18] = [
    S::fill_rate,
    S::vwap,
    S::trades,
    S::allocative_efficiency,
    S::sla_compliance_rate,
    S::total_surplus,
    S::requester_surplus,
    S::provider_profit,
    S::treasury_income,
    S::high_reputation_volume_share,
    S::reputation_gini_final,
    S::time_to_first_match_p50_ms,
    S::relay_detected,
    S::relay_tokens_earned,
    S::violations_detected,
    S::violations_undetected,
    S::tokens_earned_by_violators,
    S::honest_loss,
];

/// Point columns per results table (more tables when the sweep has more points).
const POINTS_PER_TABLE: usize = 3;

/// Whether metric `m` takes more than one value over the runs (config echoes such as
/// `duration_ms` do not).
fn varies(merged: &Merged, m: usize) -> bool {
    let mut vals = merged.values[m].iter().flatten();
    let first = vals.next();
    first.is_some_and(|a| vals.any(|b| b != a))
}

/// The metrics to chart: the headline list when the summary has them, else the first twelve
/// that vary; either way only metrics that vary.
fn chart_metrics(merged: &Merged) -> Vec<usize> {
    let pos = |name: &str| merged.metrics.iter().position(|m| m == name);
    let listed: Vec<usize> = CHART_METRICS.iter().filter_map(|n| pos(n)).filter(|&m| varies(merged, m)).collect();
    if !listed.is_empty() {
        return listed;
    }
    (0..merged.metrics.len()).filter(|&m| varies(merged, m)).take(CHART_METRICS.len()).collect()
}

fn fmt(v: Option<f64>) -> String {
    match v {
        Some(x) if x == x.trunc() && x.abs() < 1e9 => format!("{x:.0}"),
        Some(x) if x.abs() >= 1e6 || x.abs() < 1e-3 => format!("{x:.3e}"),
        Some(x) if x.abs() >= 100.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.4}"),
        None => "–".into(),
    }
}

/// `mean [low, high]`; when the metric is undefined in some of the point's `runs` (e.g. a time
/// to converge in runs that never converged), the mean is over fewer runs and the cell says so:
/// `… (n of N runs)`.
fn cell(iv: &Interval, runs: u64) -> String {
    let value = match (iv.mean, iv.low, iv.high) {
        (Some(m), Some(lo), Some(hi)) => {
            // One precision for the three numbers, chosen from the largest (`125.7 [83.4, 167.9]`,
            // never `125.7 [83.4120, 167.9]`).
            let top = m.abs().max(lo.abs()).max(hi.abs());
            let all_whole = [m, lo, hi].iter().all(|x| *x == x.trunc());
            let f = |x: f64| match () {
                _ if all_whole && top < 1e9 => format!("{x:.0}"),
                _ if !(1e-3..1e6).contains(&top) => format!("{x:.3e}"),
                _ if top >= 100.0 => format!("{x:.1}"),
                _ => format!("{x:.4}"),
            };
            format!("{} [{}, {}]", f(m), f(lo), f(hi))
        }
        (m, _, _) => fmt(m),
    };
    if iv.n < runs && iv.n > 0 { format!("{value} ({} of {runs} runs)", iv.n) } else { value }
}

fn file_stem(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// Numeric parameters with at least two distinct values.
fn chart_params(merged: &Merged) -> Vec<String> {
    merged
        .sweep
        .param_keys()
        .into_iter()
        .filter(|k| {
            let mut xs: Vec<f64> = Vec::new();
            for p in &merged.sweep.points {
                match p.params.get(k).map(param_number) {
                    Some(Some(x)) => xs.push(x),
                    Some(None) => return false,
                    None => {}
                }
            }
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            xs.len() >= 2
        })
        .collect()
}

/// Label of a point's other parameters (the series name).
fn others_label(p: &Point, key: &str) -> String {
    let parts: Vec<String> = p
        .params
        .iter()
        .filter(|(k, _)| k.as_str() != key)
        .map(|(k, v)| format!("{k}={}", canonical_value(v)))
        .collect();
    parts.join(", ")
}

/// The y axis label of a metric's panel: what is drawn (`mean`, `difference`) and its unit.
fn y_label(metric: &str, what: &str) -> String {
    match crate::metrics::summary::Summary::unit(metric) {
        Some(unit) if !unit.is_empty() => format!("{what} ({unit})"),
        _ => what.to_string(),
    }
}

/// One panel chart per group of metrics for parameter `key`; `get(point, metric)` gives the
/// interval to plot (`None`: leave the point out).
fn param_charts(
    merged: &Merged,
    key: &str,
    paired: bool,
    get: &dyn Fn(usize, usize) -> Option<Interval>,
) -> Vec<(Chart, String, usize)> {
    let sweep = merged.sweep;
    let mut groups: BTreeMap<String, Vec<(f64, usize)>> = BTreeMap::new();
    for (i, p) in sweep.points.iter().enumerate() {
        if let Some(x) = p.params.get(key).and_then(param_number) {
            groups.entry(others_label(p, key)).or_default().push((x, i));
        }
    }
    let metrics: Vec<usize> = chart_metrics(merged)
        .into_iter()
        .filter(|&m| (0..sweep.points.len()).any(|p| get(p, m).and_then(|iv| iv.mean).is_some()))
        .collect();
    let what = if paired { "difference" } else { "mean" };
    // x range padded by 6 % each side; several series are dodged sideways so that their error
    // bars do not hide each other.
    let xs: Vec<f64> = groups.values().flatten().map(|(x, _)| *x).collect();
    let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n_series = groups.len().min(MAX_SERIES);
    let title = match (paired, merged.paired.as_ref().and_then(|(b, _)| sweep.points.get(*b))) {
        (true, Some(b)) => {
            // Short enough for one title line at 1200 px: the baseline's label only when it is
            // short, else its point id (the report names the baseline in full).
            let name = if b.label().len() <= 32 { b.label() } else { format!("point {}", b.id()) };
            format!("Paired difference to {name} (mean, 95 % CI) against {key}")
        }
        _ => format!("Mean with 95 % CI against {key} ({} replications)", sweep.replications),
    };
    let mut out = Vec::new();
    for (k, chunk) in metrics.chunks(METRICS_PER_CHART).enumerate() {
        let mut chart = PanelChart::new(title.clone()).with_columns(3);
        for &m in chunk {
            let metric = &merged.metrics[m];
            // The panel title names the metric; the axis says what is drawn and in which unit.
            let y_label = y_label(metric, what);
            // Ticked at the swept values, so every grid value is labelled.
            let mut panel = LineChart::new(metric.clone(), key, y_label)
                .with_x_range(lo - 0.06 * span, hi + 0.06 * span)
                .with_x_ticks(xs.clone());
            for (s, (label, pts)) in groups.iter().take(MAX_SERIES).enumerate() {
                let dodge = (s as f64 - (n_series as f64 - 1.0) / 2.0) * 0.015 * span;
                let mut pts = pts.clone();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut line = Vec::new();
                let mut band = Vec::new();
                for (x, p) in pts {
                    let x = x + dodge;
                    if let Some(iv) = get(p, m)
                        && let Some(mean) = iv.mean
                    {
                        line.push((x, mean));
                        if let (Some(lo), Some(hi)) = (iv.low, iv.high) {
                            band.push((x, lo, hi));
                        }
                    }
                }
                let name = if label.is_empty() { "mean with 95 % CI".to_string() } else { label.clone() };
                panel = panel.with_series(LineSeries::new(name, line).with_band(Band::new(band).error_bars()));
            }
            if paired {
                panel = panel.with_ref_line(RefLine::new("no difference", 0.0));
            }
            chart = chart.with_panel(panel);
        }
        out.push((Chart::Panels(chart), format!("{}{}", if paired { "paired-" } else { "" }, file_stem(key)), k));
    }
    out
}

/// Charts for sweeps without a numeric parameter (an institution, a strategy): one series per
/// point in display order (at most [`MAX_SERIES`], the paired baseline left out), each a mean with
/// its 95 % CI error bar at its own x position, named in the legend.
/// The number and index of each point a chart by point draws: points are numbered 1, 2, … in
/// display order over the whole sweep, and a chart that leaves a point out (the paired chart
/// leaves out its baseline, `skip`) keeps the others' numbers and colours, so that a number
/// means the same point in every chart of the report.
fn point_numbers(points: &[Point], skip: Option<usize>) -> Vec<(usize, usize)> {
    display_order(points).into_iter().enumerate().map(|(i, p)| (i + 1, p)).filter(|&(_, p)| Some(p) != skip).collect()
}

fn point_charts(
    merged: &Merged,
    paired: bool,
    get: &dyn Fn(usize, usize) -> Option<Interval>,
) -> Vec<(Chart, String, usize)> {
    let sweep = merged.sweep;
    let baseline = merged.paired.as_ref().map(|(b, _)| *b);
    let all = sweep.points.len();
    let numbered = point_numbers(&sweep.points, if paired { baseline } else { None });
    let points: Vec<usize> = numbered.iter().map(|&(_, p)| p).collect();
    if points.len() < if paired { 1 } else { 2 } || points.len() > MAX_SERIES {
        return Vec::new();
    }
    let metrics: Vec<usize> = chart_metrics(merged)
        .into_iter()
        .filter(|&m| points.iter().any(|&p| get(p, m).and_then(|iv| iv.mean).is_some()))
        .collect();
    let what = if paired { "difference" } else { "mean" };
    let xs: Vec<f64> = numbered.iter().map(|&(n, _)| n as f64).collect();
    let title = match (paired, baseline.and_then(|b| sweep.points.get(b))) {
        (true, Some(b)) => {
            let name = if b.label().len() <= 40 { b.label() } else { format!("point {}", b.id()) };
            format!("Paired difference to {name} (mean, 95 % CI), by point")
        }
        _ => format!("Mean with 95 % CI by point ({} replications)", sweep.replications),
    };
    let mut out = Vec::new();
    for (k, chunk) in metrics.chunks(METRICS_PER_CHART).enumerate() {
        let mut chart = PanelChart::new(title.clone()).with_columns(3);
        for &m in chunk {
            let metric = &merged.metrics[m];
            let y_label = y_label(metric, what);
            let mut panel = LineChart::new(metric.clone(), "point (see legend)", y_label)
                .with_x_range(0.5, all as f64 + 0.5)
                .with_x_ticks(xs.clone());
            for &(number, p) in &numbered {
                let x = number as f64;
                let (mut line, mut band) = (Vec::new(), Vec::new());
                if let Some(iv) = get(p, m)
                    && let Some(mean) = iv.mean
                {
                    line.push((x, mean));
                    if let (Some(lo), Some(hi)) = (iv.low, iv.high) {
                        band.push((x, lo, hi));
                    }
                }
                // A label too long for a legend line names the point by id (the report's points
                // table gives its parameters), never cut.
                let label = sweep.points[p].label();
                let name = if label.chars().count() <= MAX_LEGEND_LABEL {
                    format!("{number}: {label}")
                } else {
                    format!("{number}: point {}", sweep.points[p].id())
                };
                let series = LineSeries::new(name, line).with_color(number - 1);
                panel = panel.with_series(series.with_band(Band::new(band).error_bars()));
            }
            if paired {
                panel = panel.with_ref_line(RefLine::new("no difference", 0.0));
            }
            chart = chart.with_panel(panel);
        }
        out.push((Chart::Panels(chart), if paired { "paired-points" } else { "points" }.to_string(), k));
    }
    out
}

fn render(
    dir: &Path,
    charts: Vec<(Chart, String, usize)>,
    caption: &str,
    files: &mut Vec<String>,
) -> Result<Vec<ChartRef>, SweepError> {
    let n = charts.len();
    let mut refs = Vec::new();
    for (chart, stem, k) in charts {
        let stem = if n > 1 { format!("{stem}-{:02}", k + 1) } else { stem };
        let rendered = render_files(&chart, dir.join("charts"), &stem)?;
        files.push(format!("charts/{stem}.png"));
        files.push(format!("charts/{stem}.svg"));
        let part = if n > 1 { format!(" (part {} of {n})", k + 1) } else { String::new() };
        refs.push(ChartRef::from_rendered(&rendered, "charts", format!("{caption}{part}")));
    }
    Ok(refs)
}

/// Writes the charts and the report pages; returns the files written (relative to `dir`).
pub(crate) fn write_report(dir: &Path, merged: &Merged) -> Result<Vec<String>, SweepError> {
    let sweep = merged.sweep;
    let mut files = Vec::new();
    let keys = sweep.param_keys();
    let runs = merged.plan.runs.len();
    let mut report = Report::new(format!("Sweep {}", sweep.name)).with_subtitle(format!(
        "{} points × {} replications = {runs} runs of {}; seeds: {} (base seed {})",
        sweep.points.len(),
        sweep.replications,
        sweep.scenario_ref,
        sweep.seed_mode.as_str(),
        sweep.base_seed
    ));

    let mut header = vec!["Point".to_string()];
    header.extend(keys.iter().cloned());
    let order = display_order(&sweep.points);
    let rows = order
        .iter()
        .filter_map(|&i| sweep.points.get(i))
        .map(|p| {
            let mut row = vec![p.id()];
            row.extend(keys.iter().map(|k| p.params.get(k).map(canonical_value).unwrap_or_else(|| "–".into())));
            row
        })
        .collect();
    let fixed: Vec<String> = sweep.fixed.iter().map(|(k, v)| format!("{k} = {}", canonical_value(v))).collect();
    let mut points = Section::new("Points").with_table(Table::new(header, rows));
    if !fixed.is_empty() {
        points = points.with_paragraph(format!("Every point also sets: {}.", fixed.join(", ")));
    }
    let builds: Vec<String> = merged
        .builds
        .iter()
        .map(|b| {
            let dirty = if b.dirty == "true" { ", uncommitted changes" } else { "" };
            format!("{} (commit {}{dirty})", b.id, b.commit.get(..12).unwrap_or(&b.commit))
        })
        .collect();
    points = points.with_paragraph(match builds.len() {
        0 => "The builds that wrote the runs are not recorded.".to_string(),
        1 => format!("Every run was written by build {}.", builds[0]),
        _ => format!(
            "Warning: the runs were written by {} different builds ({}), added with --allow-build-change; results \
             of different code are mixed in these statistics.",
            builds.len(),
            builds.join("; ")
        ),
    });
    report = report.with_section(points);

    let mut results = Section::new("Results").with_paragraph(
        "Mean of each metric over the replications with its 95 % Student-t confidence interval \
         [low, high]; undefined values (e.g. no trades, a time to converge in a run that never \
         converged) are left out of the mean, and such a cell says over how many runs it is. \
         `converged` is 1 for a run that converged, so its mean is the share of runs that did. \
         Full table: summary.parquet (`n` = runs in each mean); every run: runs.parquet.",
    );
    let constant: Vec<String> = (0..merged.metrics.len())
        .filter(|&m| !varies(merged, m))
        .map(|m| format!("{} = {}", merged.metrics[m], fmt(merged.values[m].iter().flatten().next().copied())))
        .collect();
    if !constant.is_empty() {
        results = results.with_paragraph(format!("The same in every run: {}.", constant.join(", ")));
    }
    if sweep.points.len() <= 12 {
        // At most POINTS_PER_TABLE point columns per table, so that a table fits the page
        // (each cell is `mean [low, high]`, about 24 characters).
        let parts: Vec<&[usize]> = order.chunks(POINTS_PER_TABLE).collect();
        for (k, part) in parts.iter().enumerate() {
            let mut header = vec!["Metric".to_string()];
            header.extend(part.iter().filter_map(|&i| sweep.points.get(i)).map(|p| p.label()));
            let rows = (0..merged.metrics.len())
                .filter(|&m| varies(merged, m))
                .map(|m| {
                    let mut row = vec![merged.metrics[m].clone()];
                    row.extend(part.iter().map(|&p| cell(&merged.summary[p][m], sweep.replications)));
                    row
                })
                .collect();
            let caption = if parts.len() > 1 {
                format!("mean [95 % CI] by point (table {} of {})", k + 1, parts.len())
            } else {
                "mean [95 % CI] by point".to_string()
            };
            results = results.with_table(Table::new(header, rows).with_caption(caption));
        }
    } else {
        results = results.with_paragraph(format!("{} points: see summary.parquet for the table.", sweep.points.len()));
    }
    let numeric = chart_params(merged);
    for key in &numeric {
        let charts = param_charts(merged, key, false, &|p, m| merged.summary.get(p)?.get(m).copied());
        for r in render(dir, charts, &format!("Each metric against {key}, mean with 95 % CI"), &mut files)? {
            results = results.with_chart(r);
        }
    }
    if numeric.is_empty() {
        let charts = point_charts(merged, false, &|p, m| merged.summary.get(p)?.get(m).copied());
        for r in render(dir, charts, "Each metric by point, mean with 95 % CI", &mut files)? {
            results = results.with_chart(r);
        }
    }
    report = report.with_section(results);

    if let Some((b, paired)) = &merged.paired {
        let base = sweep.points.get(*b);
        let label = base.map(|p| format!("{} ({})", p.id(), p.label())).unwrap_or_default();
        let mut section = Section::new("Paired differences").with_paragraph(format!(
            "Common random numbers: replication r uses the same seed at every point, so each point is \
             compared with the baseline {label} replication by replication. Shown: the mean \
             difference (point − baseline) with its 95 % t interval; an interval that excludes 0 \
             is a difference the sweep resolves. With many metrics, about 1 in 20 intervals \
             excludes 0 by chance alone: a star on a metric not chosen in advance is a lead to \
             test on new seeds, not a finding. A difference over fewer pairs than replications \
             (\"n of N runs\") compares only the pairs where both runs define the metric, which \
             the change itself may select: it is not starred. Table: paired.parquet."
        ));
        let get = |p: usize, m: usize| -> Option<Interval> {
            if p == *b {
                return Some(Interval { n: 0, mean: Some(0.0), sd: None, low: None, high: None });
            }
            paired.get(p)?.as_ref()?.get(m).copied()
        };
        for key in &numeric {
            let charts = param_charts(merged, key, true, &get);
            for r in render(dir, charts, &format!("Difference to the baseline against {key}"), &mut files)? {
                section = section.with_chart(r);
            }
        }
        if numeric.is_empty() {
            let charts = point_charts(merged, true, &get);
            for r in render(dir, charts, "Difference to the baseline by point", &mut files)? {
                section = section.with_chart(r);
            }
        }
        let others: Vec<usize> = order.iter().copied().filter(|p| p != b).collect();
        if !others.is_empty() && others.len() <= 12 {
            let mut header = vec!["Metric".to_string()];
            header.extend(
                others.iter().filter_map(|&i| sweep.points.get(i)).map(|p| format!("{} − baseline", p.label())),
            );
            let rows = (0..merged.metrics.len())
                .filter(|&m| varies(merged, m))
                .filter(|&m| {
                    others.iter().any(|&p| paired.get(p).and_then(|x| x.as_ref()?.get(m)).is_some_and(|iv| iv.n > 0))
                })
                .map(|m| {
                    let mut row = vec![merged.metrics[m].clone()];
                    row.extend(others.iter().map(|&p| {
                        paired
                            .get(p)
                            .and_then(|x| x.as_ref()?.get(m))
                            .map(|iv| {
                                // Over fewer pairs than replications the difference is conditional on both
                                // runs defining the metric (an outcome of the change): never starred.
                                let resolved = iv.n == sweep.replications
                                    && matches!((iv.low, iv.high), (Some(lo), Some(hi)) if lo > 0.0 || hi < 0.0);
                                format!("{}{}", cell(iv, sweep.replications), if resolved { " *" } else { "" })
                            })
                            .unwrap_or_else(|| "–".into())
                    }));
                    row
                })
                .collect();
            section = section.with_table(
                Table::new(header, rows).with_caption("mean paired difference [95 % CI]; * = the interval excludes 0"),
            );
        }
        report = report.with_section(section);
    }
    write_html(&report, dir.join("report.html"))?;
    write_markdown(&report, dir.join("report.md"))?;
    files.push("report.html".into());
    files.push("report.md".into());
    Ok(files)
}
