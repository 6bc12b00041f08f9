//! `synmarket._synmarket`: the Rust half of the Python package (`python/synmarket/`).
//!
//! The Python modules wrap these functions into the documented API (`synmarket.run`,
//! `synmarket.sweep`, `synmarket.Market`); see `python/README.md`. Decisions:
//!
//! * **Scenarios** are a path, TOML text or a dict. A dict is converted to a TOML value tree and
//!   validated by the same loader as the CLI, so errors carry the same TOML path and reason; they
//!   are raised as `ValueError`. `overrides` is a dict of dotted keys (`"market.fee_bps"`) to
//!   values, applied like the CLI's `--set` (an unknown key is an error).
//! * **Tables** cross the boundary as Arrow IPC streams in memory (no file is written unless
//!   `out` is given): the DataFrames the CLI writes to Parquet, in Arrow's own layout, read by
//!   polars on the Python side without conversion; the values equal those of `synmarket run`'s
//!   files. (`ipc_streaming` is a workspace-wide polars feature, so every crate shares one build
//!   of polars.)
//! * **The GIL** is released for the whole simulation, metric computation and encoding.
//! * **Errors** never panic across the boundary: every engine refusal is a
//!   `synmarket.MarketError` with the engine's code and message; a Rust panic (a bug) becomes a
//!   Python `PanicException` through PyO3, never an abort.

use std::path::PathBuf;

use polars::prelude::{DataFrame, IpcStreamWriter, SerWriter};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use synmarket::scenario::{Scenario, apply_overrides, parse_document, read_document};
use synmarket_engine as engine;

create_exception!(_synmarket, MarketError, PyException, "A call the market engine refused; `code` names the rule.");

/// A Python value as a TOML value; `at` names it in errors.
fn to_toml(v: &Bound<'_, PyAny>, at: &str) -> PyResult<toml::Value> {
    if v.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        let i: i64 = v.extract().map_err(|_| PyValueError::new_err(format!("{at}: integer out of range")))?;
        return Ok(toml::Value::Integer(i));
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(v.extract()?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, x) in d.iter() {
            let k: String =
                k.extract().map_err(|_| PyTypeError::new_err(format!("{at}: keys must be strings, found {k}")))?;
            let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            t.insert(k, to_toml(&x, &path)?);
        }
        return Ok(toml::Value::Table(t));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = v.try_iter()?.collect::<PyResult<_>>()?;
        let values =
            items.iter().enumerate().map(|(i, x)| to_toml(x, &format!("{at}[{i}]"))).collect::<PyResult<_>>()?;
        return Ok(toml::Value::Array(values));
    }
    let kind = v.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "{}: a {kind} cannot be written in a scenario (use str, int, float, bool, list or dict)",
        if at.is_empty() { "scenario" } else { at }
    )))
}

/// The scenario's document and its name in errors.
fn document(scenario: &Bound<'_, PyAny>) -> PyResult<(toml::Value, String)> {
    let bad = |e: synmarket::scenario::ScenarioError| PyValueError::new_err(e.to_string());
    if scenario.is_instance_of::<PyDict>() {
        let v = to_toml(scenario, "")?;
        return Ok((v, "<dict>".to_string()));
    }
    let text: String = if scenario.is_instance_of::<PyString>() {
        scenario.extract()?
    } else {
        // os.PathLike
        let os = scenario.py().import("os")?;
        os.call_method1("fspath", (scenario,))
            .map_err(|_| PyTypeError::new_err("scenario: expected a path, TOML text or a dict"))?
            .extract()?
    };
    if text.contains('\n') || text.trim_start().starts_with('[') {
        let v = parse_document(&text, "<string>").map_err(bad)?;
        Ok((v, "<string>".to_string()))
    } else {
        let v = read_document(&text).map_err(bad)?;
        Ok((v, text))
    }
}

/// Loads and validates a scenario with overrides and a seed, as the CLI's `--set` and `--seed`.
fn load(scenario: &Bound<'_, PyAny>, seed: Option<u64>, overrides: Option<&Bound<'_, PyDict>>) -> PyResult<Scenario> {
    let (mut value, file) = document(scenario)?;
    let mut sets: Vec<(String, toml::Value)> = Vec::new();
    if let Some(o) = overrides {
        for (k, v) in o.iter() {
            let k: String = k.extract().map_err(|_| PyTypeError::new_err("overrides: keys must be dotted strings"))?;
            let v = to_toml(&v, &k)?;
            sets.push((k, v));
        }
    }
    if let Some(seed) = seed {
        let v =
            i64::try_from(seed).map(toml::Value::Integer).unwrap_or_else(|_| toml::Value::String(format!("{seed:#x}")));
        sets.push(("scenario.seed".to_string(), v));
    }
    apply_overrides(&mut value, &sets).map_err(|e| PyValueError::new_err(format!("{file}: {e}")))?;
    Scenario::from_value(&value, &file).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// A table as an Arrow IPC stream in memory.
fn arrow(mut df: DataFrame) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    IpcStreamWriter::new(&mut buf).finish(&mut df).map_err(|e| e.to_string())?;
    Ok(buf)
}

/// What one run hands to Python.
struct RunOut {
    tables: Vec<(String, Vec<u8>)>,
    digest: String,
    scenario_toml: String,
    dir: Option<PathBuf>,
    seed: u64,
    name: String,
    /// Wall-clock seconds of the Rust side: simulation, metrics, encoding (never in results).
    seconds: f64,
}

fn run_one(s: &Scenario, out: Option<PathBuf>, force: bool) -> Result<RunOut, String> {
    let started = std::time::Instant::now();
    let r = synmarket::run::simulate(s, &mut |_| {}).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let names: Vec<String> = s.populations.iter().map(|p| p.name.clone()).collect();
    let mut tables = Vec::new();
    use synmarket::output::raw_tables as raw;
    for (name, df) in [
        ("orders", raw::orders(&r)),
        ("assignments", raw::assignments(&r)),
        ("ledger", raw::ledger(&r)),
        ("agents", raw::agents(&r, &names)),
    ] {
        tables.push((name.to_string(), arrow(df.map_err(|e| format!("table {name}: {e}"))?)?));
    }
    let mut m = synmarket::metrics::compute(s, &r).map_err(|e| e.to_string())?;
    for (name, df) in m.tables_mut() {
        tables.push((name.to_string(), arrow(df.clone())?));
    }
    let dir = match out {
        Some(out) => Some(synmarket::run::write_run(&out, s, &r, seconds, force).map_err(|e| e.to_string())?.dir),
        None => None,
    };
    Ok(RunOut {
        seconds: started.elapsed().as_secs_f64(),
        tables,
        digest: r.market.ledger_digest(),
        scenario_toml: s.to_toml_string(),
        dir,
        seed: s.seed,
        name: s.name.clone(),
    })
}

fn run_dict<'py>(py: Python<'py>, o: RunOut) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let t = PyDict::new(py);
    for (name, bytes) in o.tables {
        t.set_item(name, PyBytes::new(py, &bytes))?;
    }
    d.set_item("tables", t)?;
    d.set_item("ledger_digest", o.digest)?;
    d.set_item("scenario_toml", o.scenario_toml)?;
    d.set_item("run_dir", o.dir.map(|p| p.display().to_string()))?;
    d.set_item("seed", o.seed)?;
    d.set_item("name", o.name)?;
    d.set_item("rust_seconds", o.seconds)?;
    Ok(d)
}

/// Runs one scenario; see `synmarket.run` for the documented API.
#[pyfunction]
#[pyo3(signature = (scenario, seed=None, overrides=None, out=None, force=false))]
fn run<'py>(
    py: Python<'py>,
    scenario: &Bound<'py, PyAny>,
    seed: Option<u64>,
    overrides: Option<&Bound<'py, PyDict>>,
    out: Option<PathBuf>,
    force: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let s = load(scenario, seed, overrides)?;
    let o = py.detach(|| run_one(&s, out, force)).map_err(pyo3::exceptions::PyRuntimeError::new_err)?;
    run_dict(py, o)
}

/// Checks a scenario without running it; returns its resolved TOML text.
#[pyfunction]
#[pyo3(signature = (scenario, seed=None, overrides=None))]
fn resolve(scenario: &Bound<'_, PyAny>, seed: Option<u64>, overrides: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    Ok(load(scenario, seed, overrides)?.to_toml_string())
}

/// Runs (the missing runs of) a sweep file and merges it; returns the sweep folder.
#[pyfunction]
#[pyo3(signature = (spec, out, threads=None, shard=None, baseline=None))]
fn sweep(
    py: Python<'_>,
    spec: PathBuf,
    out: PathBuf,
    threads: Option<usize>,
    shard: Option<String>,
    baseline: Option<String>,
) -> PyResult<String> {
    use synmarket::sweep::{self as sw, RunOptions, Shard, Sweep};
    let s = Sweep::load(&spec).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let shard = match shard.as_deref() {
        Some(text) => Shard::parse(text).map_err(|e| PyValueError::new_err(e.to_string()))?,
        None => Shard::WHOLE,
    };
    // The CLI's rule: at least 1 and at most `MAX_THREADS`; by default Slurm's CPUs or the cores.
    let threads = sw::default_threads(threads, &|k| std::env::var(k).ok())
        .map_err(|e| PyValueError::new_err(format!("threads: {e}")))?;
    py.detach(|| -> Result<String, String> {
        let opts = RunOptions::new(&out, shard, threads);
        sw::run_shard(&s, &opts).map_err(|e| e.to_string())?;
        if shard == Shard::WHOLE {
            sw::merge(&s, &out, baseline.as_deref()).map_err(|e| e.to_string())?;
        }
        Ok(sw::sweep_dir(&out, &s).display().to_string())
    })
    .map_err(pyo3::exceptions::PyRuntimeError::new_err)
}

/// `(runs done, runs in the sweep)` of a sweep folder (for progress bars; the folder may not
/// exist yet).
#[pyfunction]
fn sweep_progress(spec: PathBuf, out: PathBuf) -> PyResult<(usize, usize)> {
    use synmarket::sweep::{self as sw, Plan, Sweep};
    let s = Sweep::load(&spec).map_err(|e| PyValueError::new_err(e.to_string()))?;
    match sw::status(&s, &out) {
        Ok(st) => Ok((st.done(), st.plan.runs.len())),
        Err(_) => Ok((0, Plan::new(&s).runs.len())),
    }
}

// ----- the engine --------------------------------------------------------------------------

fn refused(e: engine::MarketError) -> PyErr {
    MarketError::new_err((e.code(), e.to_string()))
}

fn side(text: &str) -> PyResult<engine::Side> {
    match text {
        "buy" | "bid" | "request" => Ok(engine::Side::Buy),
        "sell" | "ask" | "offer" => Ok(engine::Side::Sell),
        other => Err(PyValueError::new_err(format!("side: {other:?} is not \"buy\" or \"sell\""))),
    }
}

fn privacy(text: &str) -> PyResult<engine::PrivacyLevel> {
    match text {
        "public" => Ok(engine::PrivacyLevel::Public),
        "private" => Ok(engine::PrivacyLevel::Private),
        "confidential" => Ok(engine::PrivacyLevel::Confidential),
        other => Err(PyValueError::new_err(format!(
            "privacy_level: {other:?} is not \"public\", \"private\" or \"confidential\""
        ))),
    }
}

/// The market engine for interactive use; see `synmarket.Market`.
#[pyclass(name = "Market", module = "synmarket._synmarket")]
struct PyMarket {
    m: engine::Market,
}

#[pymethods]
impl PyMarket {
    #[new]
    #[pyo3(signature = (config=None))]
    fn new(config: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let c: engine::MarketConfig = match config {
            None => engine::MarketConfig::default(),
            Some(c) => {
                let v = if c.is_instance_of::<PyString>() {
                    let text: String = c.extract()?;
                    toml::from_str::<toml::Value>(&text).map_err(|e| PyValueError::new_err(format!("market: {e}")))?
                } else {
                    to_toml(c, "market")?
                };
                let keys: Vec<String> = v.as_table().map(|t| t.keys().cloned().collect()).unwrap_or_default();
                let c: engine::MarketConfig = v
                    .try_into()
                    .map_err(|e: toml::de::Error| PyValueError::new_err(format!("market: {}", e.message())))?;
                c.check_written_keys(keys.iter().map(String::as_str))
                    .map_err(|e| PyValueError::new_err(format!("market.{}: {}", e.field, e.reason)))?;
                c
            }
        };
        let m = engine::Market::new(c).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyMarket { m })
    }

    /// Registers a task type by name (idempotent); returns its id.
    fn register_task_type(&mut self, name: &str) -> PyResult<u16> {
        self.m.register_task_type(name).map(|t| t.0).map_err(refused)
    }

    /// Registers a peer; returns its id.
    #[pyo3(signature = (endowment=0, account=None, usage_cap_units=None, initial_reputation=None, arbitrator=false, now=None))]
    fn register_peer(
        &mut self,
        endowment: u64,
        account: Option<u64>,
        usage_cap_units: Option<u64>,
        initial_reputation: Option<f64>,
        arbitrator: bool,
        now: Option<u64>,
    ) -> PyResult<u32> {
        let spec = engine::PeerSpec {
            endowment,
            account: account.map(engine::AccountId),
            usage_cap_units,
            initial_reputation,
            arbitrator,
            verifying_key: None,
        };
        let now = now.unwrap_or(self.m.now());
        self.m.register_peer(spec, now).map(|p| p.0).map_err(refused)
    }

    /// Places an order; returns its id.
    #[pyo3(signature = (side, trader, price_per_unit, units, task_type, capabilities=Vec::new(), min_reputation=0.0, privacy_level="public", ttl_ms=None, now=None))]
    #[allow(clippy::too_many_arguments)]
    fn place_order(
        &mut self,
        side: &str,
        trader: u32,
        price_per_unit: u64,
        units: u64,
        task_type: u16,
        capabilities: Vec<String>,
        min_reputation: f64,
        privacy_level: &str,
        ttl_ms: Option<u64>,
        now: Option<u64>,
    ) -> PyResult<u64> {
        let caps = self.m.capabilities(capabilities.iter().map(String::as_str)).map_err(refused)?;
        let mut spec = engine::ComputeTaskSpec::new(engine::TaskTypeId(task_type), caps);
        spec.compute_units = units;
        spec.min_reputation = min_reputation;
        spec.privacy_level = privacy(privacy_level)?;
        let now = now.unwrap_or(self.m.now());
        let mut order = engine::NewOrder::new(self::side(side)?, engine::PeerId(trader), price_per_unit, units, spec);
        order.expires_at = ttl_ms.map(|t| now.saturating_add(t));
        self.m.place_order(order, now).map(|o| o.0).map_err(refused)
    }

    /// Cancels an open order of `trader`.
    #[pyo3(signature = (order, trader, now=None))]
    fn cancel_order(&mut self, order: u64, trader: u32, now: Option<u64>) -> PyResult<()> {
        let now = now.unwrap_or(self.m.now());
        self.m.cancel_order(engine::OrderId(order), engine::PeerId(trader), now).map_err(refused)
    }

    /// Advances the clock to `now` (ms), firing every timer due.
    fn advance_to(&mut self, now: u64) -> PyResult<()> {
        self.m.advance_to(now).map_err(refused)
    }

    /// The provider starts an assigned task.
    #[pyo3(signature = (assignment, provider, now=None))]
    fn start_task(&mut self, assignment: u64, provider: u32, now: Option<u64>) -> PyResult<()> {
        let now = now.unwrap_or(self.m.now());
        self.m.start_task(engine::AssignmentId(assignment), engine::PeerId(provider), now).map_err(refused)
    }

    /// The provider completes a task, run on `account` with `uptime` in [0, 1].
    #[pyo3(signature = (assignment, provider, account, uptime=1.0, now=None))]
    fn complete_task(
        &mut self,
        assignment: u64,
        provider: u32,
        account: u64,
        uptime: f64,
        now: Option<u64>,
    ) -> PyResult<()> {
        let now = now.unwrap_or(self.m.now());
        let mut c = engine::Completion::on(engine::AccountId(account));
        c.uptime = uptime;
        self.m.complete_task(engine::AssignmentId(assignment), engine::PeerId(provider), c, now).map_err(refused)
    }

    /// A party approves the release of an escrow (unsigned).
    #[pyo3(signature = (escrow, approver, now=None))]
    fn approve_release(&mut self, escrow: u64, approver: u32, now: Option<u64>) -> PyResult<()> {
        let now = now.unwrap_or(self.m.now());
        self.m.approve_release(engine::EscrowId(escrow), engine::PeerId(approver), None, now).map_err(refused)
    }

    /// Simulated time, ms.
    #[getter]
    fn now(&self) -> u64 {
        self.m.now()
    }

    /// `(available, locked)` tokens of a peer.
    fn wallet(&self, peer: u32) -> (u64, u64) {
        let w = self.m.wallet(engine::PeerId(peer));
        (w.available, w.locked)
    }

    /// A peer's reputation score.
    fn reputation(&self, peer: u32) -> f64 {
        self.m.reputation(engine::PeerId(peer))
    }

    /// Lowest resting ask of a task type, if any.
    fn best_ask(&self, task_type: u16) -> Option<u64> {
        self.m.best_ask(engine::TaskTypeId(task_type))
    }

    /// Highest open bid of a task type, if any.
    fn best_bid(&self, task_type: u16) -> Option<u64> {
        self.m.best_bid(engine::TaskTypeId(task_type))
    }

    /// VWAP of the task type's price window, if it has trades.
    fn vwap(&self, task_type: u16) -> Option<f64> {
        self.m.price_stats(engine::TaskTypeId(task_type)).map(|p| p.vwap)
    }

    /// The ledger's hash-chain digest (the manifest's `ledger_digest`).
    fn ledger_digest(&self) -> String {
        self.m.ledger_digest()
    }

    /// The events since the last drain, as JSON text (one object per event; the Python wrapper
    /// parses it).
    fn drain_events_json(&mut self) -> PyResult<String> {
        let events: Vec<engine::MarketEvent> = self.m.drain_events().collect();
        serde_json::to_string(&events).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Runs the engine's invariant checker (money conserved, books consistent, ...).
    fn check_invariants(&self) -> PyResult<()> {
        self.m.check_invariants().map_err(|e| pyo3::exceptions::PyAssertionError::new_err(e.to_string()))
    }
}

// ----- the kernel, for the Gymnasium environments ---------------------------------------------

/// One learning agent: its agent index, peer, private value or cost, and its accounting.
struct Learner {
    agent: u32,
    side: engine::Side,
    /// Value (requester) or cost (provider) per unit (learners with schedules are refused).
    limit: f64,
    open: Option<engine::OrderId>,
    /// Its assignments that are not final yet (open trades), by id: the escrow has not settled
    /// or the task has not reached a settled status (both are final once reached: lifecycle.rs).
    /// Steps cost what is open, not the learner's whole history.
    open_trades: Vec<engine::AssignmentId>,
    /// Over its final assignments: tokens paid to it (provider) or by it (requester), and units
    /// delivered; exact integers, so rounding comes only at the end (two f64 operations).
    final_tokens: u128,
    final_units: u128,
    /// The next assignment id to look at.
    seen: usize,
}

/// A scenario's kernel with external agents: `step` runs to the next decision of one of them.
#[pyclass(name = "Kernel", module = "synmarket._synmarket", unsendable)]
struct PyKernel {
    sim: Option<synmarket_agents::kernel::Simulation>,
    learners: Vec<Learner>,
    /// The learner whose decision is pending.
    pending: Option<usize>,
    task_type: engine::TaskTypeId,
    duration_ms: u64,
    rep_max: f64,
    max_price: f64,
    min_price: f64,
    max_units: u64,
    ttl_ms: Option<u64>,
    finished: bool,
}

#[pymethods]
impl PyKernel {
    /// Builds the kernel of `scenario` with every agent of the populations `learners` external.
    #[new]
    #[pyo3(signature = (scenario, learners, seed=None, overrides=None, max_units=4))]
    fn new(
        scenario: &Bound<'_, PyAny>,
        learners: Vec<String>,
        seed: Option<u64>,
        overrides: Option<&Bound<'_, PyDict>>,
        max_units: u64,
    ) -> PyResult<Self> {
        let s = load(scenario, seed, overrides)?;
        let mut sim = synmarket_agents::kernel::Simulation::new(synmarket::run::simulation_spec(&s))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let mut out = Vec::new();
        let (mut min_price, mut max_price, mut ttl_ms) = (1.0f64, 1.0f64, None);
        for name in &learners {
            let Some(pi) = s.populations.iter().position(|p| &p.name == name) else {
                let names: Vec<&str> = s.populations.iter().map(|p| p.name.as_str()).collect();
                return Err(PyValueError::new_err(format!(
                    "learner population {name:?} is not in the scenario (it has {})",
                    names.join(", ")
                )));
            };
            let pop = &s.populations[pi];
            if pop.schedule().is_some() {
                // The environment values every unit at one limit and does not keep the quota.
                return Err(PyValueError::new_err(format!(
                    "learner population {name:?} writes a schedule of unit values: the environments \
                     support one value or cost per trader (a drawn or fixed `value_per_unit` / `cost_per_unit`) \
                     and no `units_per_period` yet"
                )));
            }
            if pop.trading.units_per_period.is_some() {
                return Err(PyValueError::new_err(format!(
                    "learner population {name:?} sets `units_per_period`: the environments do not keep quotas yet"
                )));
            }
            let side = match pop.role {
                synmarket_agents::Role::Requester => engine::Side::Buy,
                synmarket_agents::Role::Provider => engine::Side::Sell,
                synmarket_agents::Role::Arbitrator => {
                    return Err(PyValueError::new_err(format!("learner population {name:?} is an arbitrator")));
                }
            };
            min_price = pop.trading.min_price.max(1.0);
            max_price = pop.trading.max_price.max(min_price);
            ttl_ms = pop.trading.order_ttl_ms;
            for (i, rec) in sim.agents().iter().enumerate() {
                if rec.population as usize == pi {
                    let limit = match side {
                        engine::Side::Buy => rec.profile.value_per_unit.unwrap_or(0.0),
                        engine::Side::Sell => rec.profile.cost_per_unit.unwrap_or(0.0),
                    };
                    out.push(Learner {
                        agent: i as u32,
                        side,
                        limit,
                        open: None,
                        open_trades: Vec::new(),
                        final_tokens: 0,
                        final_units: 0,
                        seen: 0,
                    });
                }
            }
        }
        for l in &out {
            sim.set_external(l.agent);
        }
        let task_type = sim.task_types().first().map(|t| t.id).unwrap_or(engine::TaskTypeId(0));
        let rep_max = s.market.reputation.max;
        Ok(PyKernel {
            sim: Some(sim),
            learners: out,
            pending: None,
            task_type,
            duration_ms: s.duration_ms,
            rep_max,
            max_price,
            min_price,
            max_units: max_units.max(1),
            ttl_ms,
            finished: false,
        })
    }

    /// Runs to the next decision; returns the learner's index among the learners and the time,
    /// or `None` at the end of the run.
    fn step(&mut self, py: Python<'_>) -> PyResult<Option<(usize, u64)>> {
        if let Some(l) = self.pending {
            return Ok(Some((l, self.now())));
        }
        if self.finished {
            return Ok(None);
        }
        let Some(sim) = self.sim.as_mut() else { return Ok(None) };
        let step = py
            .detach(|| sim.step(&mut |_| {}))
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        match step {
            synmarket_agents::kernel::Step::Finished => {
                self.finished = true;
                Ok(None)
            }
            synmarket_agents::kernel::Step::Decision { agent, time } => {
                let l = self.learners.iter().position(|l| l.agent == agent).unwrap_or(0);
                self.pending = Some(l);
                Ok(Some((l, time)))
            }
        }
    }

    /// The pending learner quotes `price_per_unit` for `units` (its previous open order is
    /// withdrawn first), or stays out with `units = 0`.
    fn act(&mut self, price_per_unit: u64, units: u64) -> PyResult<()> {
        let Some(li) = self.pending.take() else {
            return Err(PyValueError::new_err("no decision is pending: call step first"));
        };
        let Some(sim) = self.sim.as_mut() else { return Ok(()) };
        let l = &mut self.learners[li];
        let peer = sim.peer_of(l.agent).unwrap_or(engine::PeerId(l.agent));
        let mut actions = Vec::with_capacity(2);
        if let Some(id) = l.open.take()
            && sim.market().order(id).is_some_and(|o| o.trader == peer && o.status.is_open())
        {
            actions.push(synmarket_agents::Action::Cancel(id));
        }
        if units > 0 && price_per_unit > 0 {
            let caps = match l.side {
                engine::Side::Sell => sim.agents()[l.agent as usize].profile.capabilities,
                engine::Side::Buy => engine::CapabilitySet::EMPTY,
            };
            let mut spec = engine::ComputeTaskSpec::new(self.task_type, caps);
            spec.compute_units = units;
            actions.push(synmarket_agents::Action::PlaceOrder {
                side: l.side,
                price_per_unit,
                units,
                spec,
                sla: None,
                ttl_ms: self.ttl_ms,
            });
            l.open = Some(engine::OrderId(sim.market().orders().len() as u64));
        }
        sim.resume(&actions);
        Ok(())
    }

    /// The observation of learner `l` (documented in `synmarket.gym`), each entry in [0, 1].
    fn observe(&self, l: usize) -> Vec<f64> {
        let Some(sim) = self.sim.as_ref() else { return vec![0.0; 8] };
        let m = sim.market();
        let lr = &self.learners[l];
        let peer = sim.peer_of(lr.agent).unwrap_or(engine::PeerId(lr.agent));
        let price = |p: Option<f64>| p.map_or(0.0, |p| (p / self.max_price).clamp(0.0, 1.0));
        let backlog: u64 =
            lr.open.and_then(|id| m.order(id)).filter(|o| o.status.is_open()).map_or(0, |o| o.remaining());
        // Final assignments are settled: only the open ones can be busy.
        let busy: u64 = lr
            .open_trades
            .iter()
            .filter_map(|&a| m.assignment(a))
            .filter(|a| !synmarket::metrics::settled(a.status))
            .map(|a| a.units)
            .sum();
        vec![
            price(m.price_stats(self.task_type).map(|p| p.vwap)),
            price(m.best_bid(self.task_type).map(|p| p as f64)),
            price(m.best_ask(self.task_type).map(|p| p as f64)),
            (m.reputation(peer) / self.rep_max.max(1e-9)).clamp(0.0, 1.0),
            ((backlog + busy) as f64 / self.max_units as f64).clamp(0.0, 1.0),
            (m.resting_units(self.task_type) as f64 / 1000.0).clamp(0.0, 1.0),
            (m.now() as f64 / self.duration_ms.max(1) as f64).clamp(0.0, 1.0),
            (lr.limit / self.max_price).clamp(0.0, 1.0),
        ]
    }

    /// Learner `l`'s realised surplus since the start, tokens: settled trades only (a provider
    /// is paid what its escrow released minus its cost of the units delivered; a requester
    /// gains its value of the units delivered minus what it paid). O(new assignments + the
    /// learner's open ones) per call: final assignments are folded into exact running sums.
    fn surplus(&mut self, l: usize) -> f64 {
        let Some(sim) = self.sim.as_ref() else { return 0.0 };
        let m = sim.market();
        let lr = &mut self.learners[l];
        let peer = sim.peer_of(lr.agent).unwrap_or(engine::PeerId(lr.agent));
        let all = m.assignments();
        for a in &all[lr.seen.min(all.len())..] {
            let me = match lr.side {
                engine::Side::Sell => a.provider == peer,
                engine::Side::Buy => a.requester == peer,
            };
            if me {
                lr.open_trades.push(a.id);
            }
        }
        lr.seen = all.len();
        // (tokens, delivered units, final) of a trade whose escrow has settled; None before.
        let side = lr.side;
        let settled = |aid: engine::AssignmentId| -> Option<(u128, u128, bool)> {
            let a = m.assignment(aid)?;
            let e = m.escrow(engine::EscrowId(aid.0))?;
            e.settled_at?;
            let units = if synmarket::metrics::delivered(a.status) { a.units as u128 } else { 0 };
            let tokens = match side {
                engine::Side::Sell => e.paid_provider as u128,
                engine::Side::Buy => e.amount.saturating_sub(e.paid_requester) as u128,
            };
            Some((tokens, units, synmarket::metrics::settled(a.status)))
        };
        // Final trades leave `open_trades` for the running sums; settled open ones count this once.
        let (mut tokens, mut units) = (0u128, 0u128);
        let Learner { open_trades, final_tokens, final_units, .. } = lr;
        open_trades.retain(|&aid| match settled(aid) {
            Some((t, u, true)) => {
                *final_tokens += t;
                *final_units += u;
                false
            }
            Some((t, u, false)) => {
                tokens += t;
                units += u;
                true
            }
            None => true,
        });
        let (tokens, units) = (tokens + lr.final_tokens, units + lr.final_units);
        let value = lr.limit * units as f64;
        match lr.side {
            engine::Side::Sell => tokens as f64 - value,
            engine::Side::Buy => value - tokens as f64,
        }
    }

    /// Simulated time, ms.
    fn now(&self) -> u64 {
        self.sim.as_ref().map_or(0, |s| s.market().now())
    }

    /// `(min_price, max_price, max_units)` of the learners' action space.
    fn bounds(&self) -> (f64, f64, u64) {
        (self.min_price, self.max_price, self.max_units)
    }

    /// Number of learners.
    fn learners(&self) -> usize {
        self.learners.len()
    }

    /// The ledger digest so far.
    fn ledger_digest(&self) -> String {
        self.sim.as_ref().map_or_else(String::new, |s| s.market().ledger_digest())
    }
}

/// The module.
#[pymodule]
fn _synmarket(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_progress, m)?)?;
    m.add_class::<PyMarket>()?;
    m.add_class::<PyKernel>()?;
    m.add("MarketError", m.py().get_type::<MarketError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
