//! Metrics of a run (METRICS.md). Placeholder wiring: filled in by the metrics work.

use std::path::Path;

use anyhow::Result;
use synmarket_agents::SimResult;

use crate::scenario::Scenario;

/// Writes the metric tables of a run into `dir`, appending file names to `files`.
pub fn write_metric_tables(_dir: &Path, _s: &Scenario, _r: &SimResult, _files: &mut Vec<String>) -> Result<()> {
    Ok(())
}
