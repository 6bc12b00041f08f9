//! The merged statistics of a sweep: what `merge.rs` computes and the sweep report reads.

use super::folder::BuildRecord;
use super::plan::Plan;
use super::spec::Sweep;
use super::stats::Interval;

/// The merged data, also used by the report.
pub(crate) struct Merged<'a> {
    pub sweep: &'a Sweep,
    pub plan: Plan,
    pub metrics: Vec<String>,
    /// values[metric][run position]
    pub values: Vec<Vec<Option<f64>>>,
    /// summary[point index][metric]
    pub summary: Vec<Vec<Interval>>,
    /// (baseline point index, paired[point index][metric]; `None` for the baseline itself).
    pub paired: Option<(usize, Vec<Option<Vec<Interval>>>)>,
    /// The builds that wrote the runs.
    pub builds: Vec<BuildRecord>,
}
