//! The canonical run list of a sweep: every (point, replication) with its seed and run id, sorted
//! by (point id, replication); shards; the `_plan.parquet` table; parameter columns.
//!
//! Seeds (64-bit words of a SHA-256, `synmarket_engine::seed::text_seed`):
//! - `common`:      `H("synmarket-seed-v1\ncommon\n<base seed>\n<r>")`: the same at every point;
//! - `independent`: `H("synmarket-seed-v1\nindependent\n<base seed>\n<point canonical>\n<r>")`.
//!
//! Run id: `hex12(SHA-256("synmarket-run-v1\n<point canonical>\n<r>\n<seed>"))`, so a run file
//! names exactly one computation and a changed base seed can never reuse an old file.
//!
//! Shard K of N holds the runs at positions i of the canonical list with `i % N == K`
//! (round-robin, which balances points of different cost across shards).

use polars::prelude::{Column, DataFrame, NamedFrom, Series};

use super::SweepError;
use synmarket_engine::seed::text_seed;

use super::point::{ParamKind, Point, hex_id, param_kind, param_number, param_text};
use super::shard::Shard;
use super::spec::{SeedMode, Sweep};

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// Run id (12 hex digits).
    pub run_id: String,
    /// Point id (12 hex digits).
    pub point_id: String,
    /// Index of the point in [`Sweep::points`].
    pub point_index: usize,
    /// Replication number, from 0.
    pub replication: u64,
    /// The scenario seed of the run.
    pub seed: u64,
}

impl RunSpec {
    /// The summary file, relative to the sweep folder: `point=<id>/run-<id>.parquet`.
    pub fn summary_file(&self) -> String {
        format!("point={}/run-{}.parquet", self.point_id, self.run_id)
    }

    /// The time series file, relative to the sweep folder.
    pub fn timeseries_file(&self) -> String {
        format!("point={}/run-{}.timeseries.parquet", self.point_id, self.run_id)
    }

    /// The per-period file (the run's `price_discovery` table), relative to the sweep folder.
    pub fn periods_file(&self) -> String {
        format!("point={}/run-{}.periods.parquet", self.point_id, self.run_id)
    }

    /// The first of the run's files that is missing or damaged in `dir` (what an incomplete
    /// sweep names), `None` when the run is done: the summary file first, the one written last
    /// that marks a run done, so a run never started is named by it.
    pub fn first_missing_file(&self, dir: &std::path::Path) -> Option<String> {
        [self.summary_file(), self.timeseries_file(), self.periods_file()]
            .into_iter()
            .find(|f| !looks_like_parquet(&dir.join(f)))
    }

    /// Whether the run is done in sweep folder `dir`: all three of its files are there and look like
    /// whole Parquet files (the `PAR1` magic at both ends). Runs are committed by rename, so a
    /// file that fails this was damaged outside synmarket (a full disk on a network file system,
    /// a hand edit); such a run is redone instead of being counted, and merged, as done.
    pub fn is_done(&self, dir: &std::path::Path) -> bool {
        looks_like_parquet(&dir.join(self.summary_file()))
            && looks_like_parquet(&dir.join(self.timeseries_file()))
            && looks_like_parquet(&dir.join(self.periods_file()))
    }
}

/// `PAR1` at the start and the end of a file of at least 12 bytes (the Parquet framing).
fn looks_like_parquet(path: &std::path::Path) -> bool {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    let Ok(len) = f.metadata().map(|m| m.len()) else { return false };
    if len < 12 {
        return false;
    }
    let (mut head, mut tail) = ([0u8; 4], [0u8; 4]);
    f.read_exact(&mut head).is_ok()
        && f.seek(SeekFrom::End(-4)).is_ok()
        && f.read_exact(&mut tail).is_ok()
        && &head == b"PAR1"
        && &tail == b"PAR1"
}

/// The seed of replication `r` of `point`.
pub fn run_seed(base_seed: u64, mode: SeedMode, point: &Point, r: u64) -> u64 {
    match mode {
        SeedMode::Common => text_seed(&format!("synmarket-seed-v1\ncommon\n{base_seed}\n{r}")),
        SeedMode::Independent => {
            text_seed(&format!("synmarket-seed-v1\nindependent\n{base_seed}\n{}\n{r}", point.canonical()))
        }
    }
}

/// The id of replication `r` of `point` with `seed`.
pub fn run_id(point: &Point, r: u64, seed: u64) -> String {
    hex_id(&format!("synmarket-run-v1\n{}\n{r}\n{seed}", point.canonical()))
}

/// The canonical run list.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Every run, sorted by (point id, replication).
    pub runs: Vec<RunSpec>,
}

impl Plan {
    /// The plan of `sweep` (its points are already sorted by id).
    pub fn new(sweep: &Sweep) -> Plan {
        let mut runs = Vec::with_capacity(sweep.points.len() * sweep.replications as usize);
        for (point_index, p) in sweep.points.iter().enumerate() {
            let point_id = p.id();
            for r in 0..sweep.replications {
                let seed = run_seed(sweep.base_seed, sweep.seed_mode, p, r);
                runs.push(RunSpec {
                    run_id: run_id(p, r, seed),
                    point_id: point_id.clone(),
                    point_index,
                    replication: r,
                    seed,
                });
            }
        }
        runs.sort_by(|a, b| (&a.point_id, a.replication).cmp(&(&b.point_id, b.replication)));
        Plan { runs }
    }

    /// The runs of one shard, in canonical order.
    pub fn shard(&self, shard: Shard) -> Vec<&RunSpec> {
        self.runs.iter().enumerate().filter(|(i, _)| shard.owns(*i)).map(|(_, r)| r).collect()
    }

    /// The shard (of `n`) that owns run position `i`.
    pub fn shard_of(i: usize, n: usize) -> usize {
        i % n.max(1)
    }
}

/// Parameter columns for `rows` (one point per row) over `keys`: numbers as f64, booleans as
/// bool, anything else (or a key whose values mix kinds) as text; missing values are null.
pub fn param_columns(keys: &[String], rows: &[&Point]) -> Vec<Column> {
    keys.iter()
        .map(|key| {
            let values: Vec<Option<&toml::Value>> = rows.iter().map(|p| p.params.get(key)).collect();
            let kinds: Vec<ParamKind> = values.iter().flatten().map(|v| param_kind(v)).collect();
            let kind = match kinds.first() {
                Some(k) if kinds.iter().all(|x| x == k) => *k,
                _ => ParamKind::Text,
            };
            let name = key.as_str().into();
            let series = match kind {
                ParamKind::Number => {
                    Series::new(name, values.iter().map(|v| v.and_then(param_number)).collect::<Vec<Option<f64>>>())
                }
                ParamKind::Bool => {
                    Series::new(name, values.iter().map(|v| v.and_then(|v| v.as_bool())).collect::<Vec<_>>())
                }
                ParamKind::Text => {
                    Series::new(name, values.iter().map(|v| v.map(param_text)).collect::<Vec<Option<String>>>())
                }
            };
            Column::from(series)
        })
        .collect()
}

/// Identity columns of runs: run_id, point_id, replication, seed.
pub fn identity_columns(runs: &[&RunSpec]) -> Vec<Column> {
    vec![
        Column::from(Series::new("run_id".into(), runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>())),
        Column::from(Series::new("point_id".into(), runs.iter().map(|r| r.point_id.as_str()).collect::<Vec<_>>())),
        Column::from(Series::new("replication".into(), runs.iter().map(|r| r.replication).collect::<Vec<u64>>())),
        Column::from(Series::new("seed".into(), runs.iter().map(|r| r.seed).collect::<Vec<u64>>())),
    ]
}

/// Names of the identity columns (never metrics).
pub const IDENTITY_COLUMNS: [&str; 4] = ["run_id", "point_id", "replication", "seed"];

/// `_plan.parquet`: every run with its identity, file and parameters, in canonical order.
pub fn plan_frame(sweep: &Sweep, plan: &Plan) -> Result<DataFrame, SweepError> {
    let runs: Vec<&RunSpec> = plan.runs.iter().collect();
    let points: Vec<&Point> = runs.iter().filter_map(|r| sweep.points.get(r.point_index)).collect();
    let mut columns = identity_columns(&runs);
    columns
        .push(Column::from(Series::new("file".into(), runs.iter().map(|r| r.summary_file()).collect::<Vec<String>>())));
    columns.extend(param_columns(&sweep.param_keys(), &points));
    DataFrame::new_infer_height(columns).map_err(|e| SweepError::table("_plan", e))
}
