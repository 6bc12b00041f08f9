"""synmarket.run and synmarket.sweep against the CLI."""

import json
import subprocess

import polars as pl
import pytest

import synmarket

BASELINE_DIGEST = "ee9ea70c0d0b988f2b62e500c0b32988"  # README and the CLI's manifest


def test_dataframes_equal_the_cli_parquet_tables_and_the_digest_matches(root, cli, tmp_path):
    scenario = root / "scenarios/studies/gode_sunder.toml"
    subprocess.run([cli, "run", str(scenario), "--seed", "5", "--out", str(tmp_path), "--quiet"], check=True)
    run_dir = tmp_path / "gode_sunder" / "seed-5"
    r = synmarket.run(scenario, seed=5)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert r.ledger_digest == manifest["ledger_digest"]
    assert set(r.tables) == {p.stem for p in run_dir.glob("*.parquet")}
    for name, df in r.tables.items():
        cli_df = pl.read_parquet(run_dir / f"{name}.parquet")
        assert df.schema == cli_df.schema, name
        assert df.equals(cli_df, null_equal=True), name
    assert r.summary["allocative_efficiency"] == cli_df_value(run_dir, "allocative_efficiency")


def cli_df_value(run_dir, column):
    return pl.read_parquet(run_dir / "summary.parquet")[column][0]


def test_the_baseline_gives_the_readme_digest(root):
    r = synmarket.run(str(root / "scenarios/baseline.toml"))
    assert r.ledger_digest == BASELINE_DIGEST
    assert r.seed == 42 and r.name == "baseline"
    assert r.tables["timeseries"].height > 0
    # to_pandas works where pandas is installed; the frames are plain polars frames.
    assert isinstance(r.tables["orders"], pl.DataFrame)


def test_a_dict_scenario_and_overrides_give_the_cli_messages(root):
    text = (root / "scenarios/studies/gode_sunder.toml").read_text()
    r1 = synmarket.run(text, overrides={"population[0].count": 10, "population[1].count": 10})
    assert r1.tables["agents"].height == 20
    with pytest.raises(ValueError, match=r"market\.fee_bps: expected a whole number ≥ 0, found -1"):
        synmarket.run(root / "scenarios/baseline.toml", overrides={"market.fee_bps": -1})
    with pytest.raises(ValueError, match=r"<dict>: scenario: missing key `duration`"):
        synmarket.run({"scenario": {"name": "x"}})
    with pytest.raises(ValueError, match=r"market\.no_such_key"):
        synmarket.run(root / "scenarios/baseline.toml", overrides={"market.no_such_key": 1})
    with pytest.raises(TypeError, match=r"market\.fee_bps: a NoneType cannot be written"):
        synmarket.run(root / "scenarios/baseline.toml", overrides={"market.fee_bps": None})
    with pytest.raises(ValueError, match=r"no_such_file\.toml"):
        synmarket.run("no_such_file.toml")
    with pytest.raises(ValueError, match=r"seed: -1 is not a whole number"):
        synmarket.run(root / "scenarios/baseline.toml", seed=-1)


def test_out_writes_the_run_folder_with_charts_and_report(root, tmp_path):
    r = synmarket.run(root / "scenarios/studies/gode_sunder.toml", out=tmp_path)
    assert r.run_dir == tmp_path / "gode_sunder" / "seed-1993"
    assert (r.run_dir / "report.html").exists() and r.charts()


def test_sweep_runs_and_merges_identically_on_any_thread_count(root, tmp_path):
    spec = root / "scenarios/sweeps/gode_sunder_schedule.toml"
    a = synmarket.sweep(spec, out=tmp_path / "a", threads=1, progress=True)
    b = synmarket.sweep(spec, out=tmp_path / "b", threads=2, progress=False)
    assert a.summary.equals(b.summary) and a.periods.equals(b.periods)
    assert a.runs.height == 80
    with pytest.raises(ValueError, match="threads"):
        synmarket.sweep(spec, out=tmp_path / "c", threads=0)
    assert a.paired is not None and a.paired.height > 0
    # A second call finds every run done and only merges again: the same tables.
    again = synmarket.sweep(spec, out=tmp_path / "a", threads=2)
    assert again.summary.equals(a.summary)
