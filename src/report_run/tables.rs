//! Reading the run folder's Parquet tables back for charts and report text.
//!
//! [`Tables`] loads every table the report needs (metric tables and the raw `assignments`) with
//! [`crate::io::read_parquet`]; [`Frame`] reads columns as plain vectors: numbers as `f64` with
//! null → NaN, strings as `String` with null → "". A missing column reads as empty, so a table
//! written by an older version gives an emptier chart, never a panic.

use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::{DataFrame, DataType};

use crate::io::read_parquet;

/// One table read back.
pub struct Frame {
    df: DataFrame,
}

impl Frame {
    /// Reads `<dir>/<name>.parquet`.
    pub fn load(dir: &Path, name: &str) -> Result<Self> {
        let df = read_parquet(dir.join(format!("{name}.parquet"))).with_context(|| format!("reading table {name}"))?;
        Ok(Frame { df })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.df.height()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A numeric column as `f64` (null → NaN); empty when missing or not numeric.
    pub fn f64(&self, name: &str) -> Vec<f64> {
        let Ok(col) = self.df.column(name) else { return Vec::new() };
        let Ok(cast) = col.cast(&DataType::Float64) else { return Vec::new() };
        match cast.f64() {
            Ok(ca) => ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A string column (null → ""); empty when missing.
    pub fn str(&self, name: &str) -> Vec<String> {
        let Ok(col) = self.df.column(name) else { return Vec::new() };
        let Ok(cast) = col.cast(&DataType::String) else { return Vec::new() };
        match cast.str() {
            Ok(ca) => ca.iter().map(|v| v.unwrap_or("").to_string()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// First value of a numeric column (NaN when missing).
    pub fn first(&self, name: &str) -> f64 {
        self.f64(name).first().copied().unwrap_or(f64::NAN)
    }

    /// Row indices where string column `key` equals `value`.
    pub fn rows_where(&self, key: &str, value: &str) -> Vec<usize> {
        self.str(key).iter().enumerate().filter(|(_, v)| *v == value).map(|(i, _)| i).collect()
    }

    /// Values of numeric column `name` at `rows`.
    pub fn pick(&self, name: &str, rows: &[usize]) -> Vec<f64> {
        let col = self.f64(name);
        rows.iter().map(|&i| col.get(i).copied().unwrap_or(f64::NAN)).collect()
    }
}

/// Every table the report reads.
pub struct Tables {
    pub summary: Frame,
    pub timeseries: Frame,
    pub price_discovery: Frame,
    pub escrows: Frame,
    pub sla: Frame,
    pub compliance: Frame,
    pub welfare: Frame,
    pub assignments: Frame,
    /// The scenario's measured `[[effect]]` pair studies (`effects.parquet`), when it has any.
    pub effects: Option<Frame>,
}

impl Tables {
    /// Reads the tables of the run folder `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        Ok(Tables {
            summary: Frame::load(dir, "summary")?,
            timeseries: Frame::load(dir, "timeseries")?,
            price_discovery: Frame::load(dir, "price_discovery")?,
            escrows: Frame::load(dir, "escrows")?,
            sla: Frame::load(dir, "sla")?,
            compliance: Frame::load(dir, "compliance")?,
            welfare: Frame::load(dir, "welfare")?,
            assignments: Frame::load(dir, "assignments")?,
            effects: if dir.join("effects.parquet").is_file() { Some(Frame::load(dir, "effects")?) } else { None },
        })
    }

    /// Task types in table order (every distinct `task_type` of `timeseries` except `all`).
    pub fn task_types(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in self.timeseries.str("task_type") {
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
}

impl TimeAxis {
    /// The axis for a run of `duration_ms`.
    pub fn for_duration(duration_ms: f64) -> Self {
        if duration_ms.is_finite() && duration_ms > 3.0 * 86_400_000.0 {
            TimeAxis { ms: 86_400_000.0, label: "simulated time (days)" }
        } else {
            TimeAxis { ms: 3_600_000.0, label: "simulated time (hours)" }
        }
    }

    /// `ms` in axis units.
    pub fn x(&self, ms: f64) -> f64 {
        ms / self.ms
    }
}
