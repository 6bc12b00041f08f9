//! The run report (charts and pages). Placeholder wiring: filled in by the report work.

use std::path::Path;

use anyhow::Result;

use crate::scenario::Scenario;

/// Writes charts and report pages of a run into `dir`; returns the files written.
pub fn write_report(_dir: &Path, _s: &Scenario) -> Result<Vec<String>> {
    Ok(Vec::new())
}

/// Rebuilds charts and report of a run folder from its tables.
pub fn rebuild(dir: &Path) -> Result<Vec<String>> {
    anyhow::bail!("report rebuilding is not available yet for {}", dir.display())
}
