//! Reading a run folder's Parquet tables back for charts and report text: [`Tables`] holds
//! every table the report needs (the metric tables and the raw `assignments`), each a
//! [`Frame`].

use crate::charts::LineChart;
use std::path::Path;

use crate::metrics::timeseries::column as TS;
use crate::output::{Frame, IoError, table};

fn load(dir: &Path, name: &str) -> Result<Frame, IoError> {
    Frame::read(&dir.join(format!("{name}.parquet")))
}

/// Every table the report reads.
pub struct Tables {
    /// `summary.parquet`.
    pub summary: Frame,
    /// `timeseries.parquet`.
    pub timeseries: Frame,
    /// `price_discovery.parquet`.
    pub price_discovery: Frame,
    /// `escrows.parquet`.
    pub escrows: Frame,
    /// `sla.parquet`.
    pub sla: Frame,
    /// `compliance.parquet`.
    pub compliance: Frame,
    /// `welfare.parquet`.
    pub welfare: Frame,
    /// `assignments.parquet` (raw).
    pub assignments: Frame,
    /// The scenario's measured `[[effect]]` pair studies (`effects.parquet`), when it has any.
    pub effects: Option<Frame>,
}

impl Tables {
    /// Reads the tables of the run folder `dir`.
    pub fn load(dir: &Path) -> Result<Self, IoError> {
        Ok(Tables {
            summary: load(dir, table::SUMMARY)?,
            timeseries: load(dir, table::TIMESERIES)?,
            price_discovery: load(dir, table::PRICE_DISCOVERY)?,
            escrows: load(dir, table::ESCROWS)?,
            sla: load(dir, table::SLA)?,
            compliance: load(dir, table::COMPLIANCE)?,
            welfare: load(dir, table::WELFARE)?,
            assignments: load(dir, table::ASSIGNMENTS)?,
            effects: if dir.join(format!("{}.parquet", table::EFFECTS)).is_file() {
                Some(load(dir, table::EFFECTS)?)
            } else {
                None
            },
        })
    }

    /// Task types in table order (every distinct `task_type` of `timeseries` except `all`).
    pub fn task_types(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in self.timeseries.str(TS::TASK_TYPE) {
            if t != crate::metrics::ALL && !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// A summary value (NaN when missing or null).
    pub fn headline(&self, name: &str) -> f64 {
        self.summary.first(name)
    }
}

/// The time axis of a run's charts: hours for runs up to three days, days beyond.
#[derive(Debug, Clone, Copy)]
pub struct TimeAxis {
    /// Milliseconds per axis unit.
    pub ms: f64,
    /// Axis label.
    pub label: &'static str,
    /// The run's end in axis units (NaN when unknown): time axes span `0 ..= end`, so both ends
    /// are labelled and every chart of one run shares one axis.
    pub end: f64,
}

impl TimeAxis {
    /// The axis for a run of `duration_ms`.
    pub fn for_duration(duration_ms: f64) -> Self {
        let (ms, label) = if duration_ms.is_finite() && duration_ms > 3.0 * 86_400_000.0 {
            (86_400_000.0, "simulated time (days)")
        } else {
            (3_600_000.0, "simulated time (hours)")
        };
        let end = if duration_ms.is_finite() && duration_ms > 0.0 { duration_ms / ms } else { f64::NAN };
        TimeAxis { ms, label, end }
    }

    /// A line chart over this time axis (x from 0 to the run's end).
    pub fn chart(&self, title: impl Into<String>, y_label: impl Into<String>) -> LineChart {
        let chart = LineChart::new(title, self.label, y_label).with_x_ends_labelled();
        if self.end.is_finite() { chart.with_x_range(0.0, self.end) } else { chart }
    }

    /// `ms` in axis units.
    pub fn x(&self, ms: f64) -> f64 {
        ms / self.ms
    }
}
