"""synmarket: a deterministic simulation and research framework for peer compute markets.

Run a scenario and read its tables as polars DataFrames::

    import synmarket
    r = synmarket.run("scenarios/baseline.toml")
    r.tables["timeseries"].filter(pl.col("task_type") == "all").select("interval", "vwap")
    r.ledger_digest            # the same hex string as the CLI's manifest.json

A scenario is a path, TOML text or a dict (the file's tables as dicts). ``overrides`` sets dotted
keys as the CLI's ``--set`` does. Bad input raises ``ValueError`` with the CLI's message: the
file, the TOML path and the reason. Times are milliseconds, prices tokens per unit.

See ``python/README.md`` for the engine (``synmarket.Market``) and the Gymnasium environments
(``synmarket.gym``).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import polars as pl

from . import _synmarket
from ._synmarket import MarketError

# The rule a refusal broke, as the engine names it (``e.code == e.args[0]``).
MarketError.code = property(lambda e: e.args[0] if e.args else None)

__all__ = ["run", "resolve", "sweep", "RunResult", "SweepResult", "Market", "MarketError", "__version__"]
__version__: str = _synmarket.__version__

Scenario = Union[str, os.PathLike, Mapping[str, Any]]


def _check_seed(seed: Optional[int]) -> None:
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64):
        raise ValueError(f"seed: {seed!r} is not a whole number in [0, 2^64)")


def _frame(data: bytes) -> pl.DataFrame:
    # An Arrow IPC stream written in memory by the extension.
    return pl.read_ipc_stream(io.BytesIO(data))


@dataclass
class RunResult:
    """One run: its tables, summary and ledger digest.

    ``tables`` maps each table name of ``reports/README.md`` (``orders``, ``assignments``,
    ``ledger``, ``agents``, ``timeseries``, ``price_discovery``, ``escrows``, ``sla``,
    ``compliance``, ``welfare``, ``summary``) to a polars DataFrame with the columns and types of
    the CLI's Parquet file. ``summary`` is the one row of ``summary`` as a dict. ``run_dir`` is the
    run folder when ``out`` was given (charts and report included), else ``None``.
    """

    name: str
    seed: int
    ledger_digest: str
    tables: dict[str, pl.DataFrame]
    scenario_toml: str
    run_dir: Optional[Path] = None
    summary: dict[str, Any] = field(default_factory=dict)
    #: Wall-clock seconds spent in Rust (simulation, metrics, encoding); not a result.
    rust_seconds: float = 0.0

    def charts(self) -> list[Path]:
        """The chart files of the run folder (empty without ``out``)."""
        if self.run_dir is None:
            return []
        return sorted((self.run_dir / "charts").glob("*.png"))


def run(
    scenario: Scenario,
    seed: Optional[int] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    out: Optional[Union[str, os.PathLike]] = None,
    force: bool = False,
) -> RunResult:
    """Runs one scenario and returns its tables.

    ``seed`` replaces ``scenario.seed``; ``overrides`` maps dotted keys to values
    (``{"market.fee_bps": 200, "population[0].count": 50}``). With ``out``, the run folder
    ``<out>/<scenario>/seed-<seed>`` is also written exactly as ``synmarket run --out`` writes it.
    The simulation runs without the GIL.

    Raises ``ValueError`` for a bad scenario (the CLI's message), ``TypeError`` for a value that
    TOML cannot hold, ``RuntimeError`` when the run or its output fails.
    """
    _check_seed(seed)
    d = _synmarket.run(scenario, seed, dict(overrides) if overrides else None,
                       os.fspath(out) if out is not None else None, force)
    tables = {name: _frame(data) for name, data in d["tables"].items()}
    summary = tables["summary"].row(0, named=True) if tables["summary"].height else {}
    return RunResult(
        name=d["name"],
        seed=d["seed"],
        ledger_digest=d["ledger_digest"],
        tables=tables,
        scenario_toml=d["scenario_toml"],
        run_dir=Path(d["run_dir"]) if d["run_dir"] else None,
        summary=summary,
        rust_seconds=d["rust_seconds"],
    )


def resolve(scenario: Scenario, seed: Optional[int] = None, overrides: Optional[Mapping[str, Any]] = None) -> str:
    """Validates a scenario and returns its resolved TOML (every default written out)."""
    _check_seed(seed)
    return _synmarket.resolve(scenario, seed, dict(overrides) if overrides else None)


@dataclass
class SweepResult:
    """A sweep folder and its merged tables (``reports/README.md``, sweep folder).

    ``runs`` has one row per run (its summary), ``summary`` the mean and 95 % interval of every
    metric by point, ``paired`` the paired differences against the baseline point (when the
    seeds are common), ``periods`` the per-period metrics.
    """

    dir: Path
    runs: pl.DataFrame
    summary: pl.DataFrame
    paired: Optional[pl.DataFrame]
    periods: Optional[pl.DataFrame]


def _with_progress(spec: str, out: str, work):
    """Runs ``work()`` in a thread (the sweep releases the GIL) and draws a tqdm bar of the runs
    committed so far (``tqdm.auto``: a widget in notebooks, text in terminals)."""
    import threading
    from tqdm.auto import tqdm

    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as e:  # re-raised in the caller's thread
            result["error"] = e

    done, total = _synmarket.sweep_progress(spec, out)
    t = threading.Thread(target=target, daemon=True)
    t.start()
    with tqdm(total=total, initial=done, unit="run", desc=Path(spec).stem) as bar:
        while t.is_alive():
            t.join(0.5)
            now, _ = _synmarket.sweep_progress(spec, out)
            bar.update(max(0, now - bar.n))
    if "error" in result:
        raise result["error"]
    return result["value"]


def sweep(
    spec: Union[str, os.PathLike],
    out: Union[str, os.PathLike] = "reports",
    threads: Optional[int] = None,
    shard: Optional[str] = None,
    baseline: Optional[str] = None,
    progress: Optional[bool] = None,
) -> SweepResult:
    """Runs the missing runs of a sweep file (as ``synmarket sweep run``) and merges them.

    ``shard`` is ``"i/n"`` (then only that shard runs and nothing is merged); ``threads``
    defaults to the machine's cores. Results are identical for any thread count or shard layout.
    ``progress`` draws a bar of the runs done (tqdm; default: when tqdm is installed).
    """
    spec_s, out_s = os.fspath(spec), os.fspath(out)

    def work() -> str:
        return _synmarket.sweep(spec_s, out_s, threads, shard, baseline)

    if progress is None:
        try:
            import tqdm  # noqa: F401
            progress = True
        except ImportError:
            progress = False
    d = Path(_with_progress(spec_s, out_s, work) if progress else work())

    def opt(name: str) -> Optional[pl.DataFrame]:
        p = d / name
        return pl.read_parquet(p) if p.exists() else None

    return SweepResult(dir=d, runs=opt("runs.parquet"), summary=opt("summary.parquet"),
                       paired=opt("paired.parquet"), periods=opt("periods.parquet"))


class Market:
    """The market engine for interactive use (``engine/``, docs/mechanisms.md).

    ``config`` is the ``[market]`` table as a dict or TOML text (default: the engine's defaults).
    Every refused call raises ``MarketError(code, message)``. Times are ms; ``now`` defaults to the
    market's clock.

        m = synmarket.Market({"auction_window": "1m"})
        tt = m.register_task_type("inference")
        buyer, seller = m.register_peer(endowment=10_000), m.register_peer(account=1)
        m.place_order("sell", seller, 40, 2, tt)
        m.place_order("buy", buyer, 50, 2, tt)
        m.drain_events()   # [{"OrderPlaced": {...}}, ..., {"Assigned": {...}}, ...]
    """

    def __init__(self, config: Optional[Union[str, Mapping[str, Any]]] = None) -> None:
        self._m = _synmarket.Market(dict(config) if isinstance(config, Mapping) else config)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._m, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {n for n in dir(self._m) if not n.startswith("_")})

    @property
    def now(self) -> int:
        """Simulated time, ms."""
        return self._m.now

    def drain_events(self) -> list[dict[str, Any]]:
        """The events since the last drain, each a dict ``{kind: fields}``."""
        return json.loads(self._m.drain_events_json())
