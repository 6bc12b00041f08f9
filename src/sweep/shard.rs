//! Which part of a sweep this process runs, and on how many threads.
//!
//! Shard K of N (0 ≤ K < N) comes from, in order:
//! 1. `--shard K/N`;
//! 2. a Slurm job array. When the array is the whole sweep (its task count is the shard count:
//!    `--shards N` absent or equal to `SLURM_ARRAY_TASK_COUNT`), shard
//!    `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`, so an array may
//!    start at 1 (`--array=1-8`); its ids must then be contiguous (a stepped array such as
//!    `0-10:2`, or a list with gaps such as `3,5`, is refused). When `--shards N` names more
//!    shards than the array has tasks, the array resubmits some shards of N and each task id *is*
//!    the shard index: `--array=17,42 … --shards 80` runs shards 17 and 42 of 80, as
//!    `sweep status --shards 80` prints it;
//! 3. a Kubernetes indexed Job: `JOB_COMPLETION_INDEX` of `--shards N` (Kubernetes does not
//!    export the count);
//! 4. Slurm tasks of one step (`srun -n N`): `SLURM_PROCID` of `SLURM_NTASKS`;
//! 5. Open MPI: `OMPI_COMM_WORLD_RANK` of `OMPI_COMM_WORLD_SIZE`;
//! 6. otherwise 0/1 (everything).
//!
//! `--shards N`, when given, overrides the count of sources 2, 4 and 5. Threads: `--threads`,
//! else `SLURM_CPUS_PER_TASK`, else all cores. The environment is passed in as a function so that
//! tests need not touch the process environment.

use super::SweepError;

/// Shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, from 0.
    pub index: usize,
    /// N ≥ 1.
    pub count: usize,
}

/// Where the shard came from (printed by `sweep run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSource {
    /// `--shard`.
    Flag,
    /// `SLURM_ARRAY_TASK_*`.
    SlurmArray,
    /// `JOB_COMPLETION_INDEX`.
    Kubernetes,
    /// `SLURM_PROCID`.
    SlurmTasks,
    /// `OMPI_COMM_WORLD_*`.
    Mpi,
    /// No sharding.
    Whole,
}

impl std::fmt::Display for ShardSource {
    /// Where the shard came from, as `sweep run` prints it ("from --shard", "from SLURM_ARRAY_TASK_ID").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ShardSource::Flag => "from --shard",
            ShardSource::SlurmArray => "from SLURM_ARRAY_TASK_ID",
            ShardSource::Kubernetes => "from JOB_COMPLETION_INDEX",
            ShardSource::SlurmTasks => "from SLURM_PROCID",
            ShardSource::Mpi => "from OMPI_COMM_WORLD_RANK",
            ShardSource::Whole => "the whole sweep",
        })
    }
}

impl Shard {
    /// The whole sweep.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// A checked shard.
    pub fn new(index: usize, count: usize) -> Result<Shard, SweepError> {
        if count == 0 {
            return Err(SweepError::Shard("shard count must be at least 1".into()));
        }
        if index >= count {
            return Err(SweepError::Shard(format!("shard index {index} is not below the shard count {count}")));
        }
        Ok(Shard { index, count })
    }

    /// Parses `K/N`.
    pub fn parse(text: &str) -> Result<Shard, SweepError> {
        let bad = || SweepError::Shard(format!("--shard `{text}`: expected K/N with 0 ≤ K < N, e.g. 0/4"));
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n).map_err(|_| bad())
    }

    /// Whether position `i` of the canonical run list belongs to this shard.
    pub fn owns(&self, i: usize) -> bool {
        i % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn num(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<usize>, SweepError> {
    match env(name) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| SweepError::Shard(format!("environment variable {name}=`{v}` is not a whole number"))),
    }
}

fn pair(
    env: &dyn Fn(&str) -> Option<String>,
    id: &str,
    count: &str,
    shards: Option<usize>,
) -> Result<Option<Shard>, SweepError> {
    let Some(k) = num(env, id)? else { return Ok(None) };
    let n = match shards {
        Some(n) => n,
        None => num(env, count)?.ok_or_else(|| SweepError::Shard(format!("{id} is set but {count} is not")))?,
    };
    Shard::new(k, n).map(Some).map_err(|e| SweepError::Shard(format!("from {id} and {count}: {e}")))
}

/// The shard of this process (see the module header).
pub fn detect_shard(
    flag: Option<Shard>,
    shards: Option<usize>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Shard, ShardSource), SweepError> {
    if let Some(s) = flag {
        if shards.is_some_and(|n| n != s.count) {
            return Err(SweepError::Shard(format!("--shard {s} contradicts --shards {}", shards.unwrap_or(0))));
        }
        return Ok((s, ShardSource::Flag));
    }
    if let Some(id) = num(env, "SLURM_ARRAY_TASK_ID")? {
        let count = num(env, "SLURM_ARRAY_TASK_COUNT")?;
        if let Some(n) = shards
            && count.is_some_and(|c| c != n)
        {
            // A resubmission of some shards of n: the task id is the shard index.
            let s = Shard::new(id, n).map_err(|_| {
                SweepError::Shard(format!(
                    "Slurm array task id {id} is not a shard of --shards {n}: resubmit with ids from `sweep status --shards {n}`"
                ))
            })?;
            return Ok((s, ShardSource::SlurmArray));
        }
        let min = num(env, "SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        if let Some(step) = num(env, "SLURM_ARRAY_TASK_STEP")?
            && step != 1
        {
            return Err(SweepError::Shard(format!("Slurm array step {step}: use a contiguous array such as 0-(N-1)")));
        }
        let k = id.checked_sub(min).ok_or_else(|| {
            SweepError::Shard(format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"))
        })?;
        let n = match (shards, count) {
            (Some(n), _) => n,
            (None, Some(c)) => c,
            (None, None) => {
                return Err(SweepError::Shard("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not".into()));
            }
        };
        if let (Some(max), Some(c)) = (num(env, "SLURM_ARRAY_TASK_MAX")?, count)
            && max.checked_sub(min).and_then(|d| d.checked_add(1)) != Some(c)
        {
            return Err(SweepError::Shard(format!(
                "the Slurm array's ids {min} to {max} have gaps ({c} tasks): to resubmit some shards of a sweep of N shards, pass --shards N (the ids are then the shard indices)"
            )));
        }
        let s = Shard::new(k, n).map_err(|e| SweepError::Shard(format!("from the Slurm array variables: {e}")))?;
        return Ok((s, ShardSource::SlurmArray));
    }
    if let Some(k) = num(env, "JOB_COMPLETION_INDEX")? {
        let n = shards.ok_or_else(|| {
            SweepError::Shard("JOB_COMPLETION_INDEX is set: pass --shards N (the Job's completions)".into())
        })?;
        let s = Shard::new(k, n).map_err(|e| SweepError::Shard(format!("from JOB_COMPLETION_INDEX: {e}")))?;
        return Ok((s, ShardSource::Kubernetes));
    }
    if let Some(s) = pair(env, "SLURM_PROCID", "SLURM_NTASKS", shards)? {
        return Ok((s, ShardSource::SlurmTasks));
    }
    if let Some(s) = pair(env, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", shards)? {
        return Ok((s, ShardSource::Mpi));
    }
    match shards {
        Some(0) => Err(SweepError::Shard("--shards must be at least 1".into())),
        Some(n) if n != 1 => Err(SweepError::Shard(format!(
            "--shards {n} without a shard index: pass --shard K/{n} or run under Slurm, Kubernetes or MPI"
        ))),
        _ => Ok((Shard::WHOLE, ShardSource::Whole)),
    }
}

/// The most worker threads one shard runs (a run each in memory); more cores are better used by
/// more shards.
pub const MAX_THREADS: usize = 1024;

/// Threads for the local pool: the flag (1..=`MAX_THREADS`, 1024), else `SLURM_CPUS_PER_TASK`, else
/// all cores.
pub fn default_threads(flag: Option<usize>, env: &dyn Fn(&str) -> Option<String>) -> Result<usize, SweepError> {
    if let Some(n) = flag {
        if n == 0 {
            return Err(SweepError::Shard("--threads must be at least 1".into()));
        }
        if n > MAX_THREADS {
            return Err(SweepError::Shard(format!(
                "--threads {n}: at most {MAX_THREADS} (each thread holds a run in memory; use more shards instead)"
            )));
        }
        return Ok(n);
    }
    if let Some(n) = num(env, "SLURM_CPUS_PER_TASK")?
        && n > 0
    {
        return Ok(n.min(MAX_THREADS));
    }
    Ok(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}
