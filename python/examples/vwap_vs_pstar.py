"""Runs the baseline and compares the VWAP of each trading period with the competitive
equilibrium price P*, from the DataFrames (no files). With matplotlib installed it also writes
vwap_vs_pstar.png.

    python python/examples/vwap_vs_pstar.py
"""

from pathlib import Path

import polars as pl

import synmarket

ROOT = Path(__file__).resolve().parents[2]

r = synmarket.run(ROOT / "scenarios" / "baseline.toml")
pd = r.tables["price_discovery"].filter(pl.col("task_type") != "all")
table = pd.group_by("task_type").agg(
    pl.col("vwap").mean().alias("vwap"),
    pl.col("p_star").mean().alias("p_star"),
    pl.col("smith_alpha").mean().alias("smith_alpha"),
).sort("task_type")
print(f"baseline, seed {r.seed}, ledger digest {r.ledger_digest}")
print(table)

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("(install matplotlib for the chart)")
else:
    fig, ax = plt.subplots(figsize=(8, 4))
    for (task_type,), g in pd.sort("period").group_by("task_type", maintain_order=True):
        line, = ax.plot(g["period"], g["vwap"], label=f"{task_type} VWAP")
        ax.plot(g["period"], g["p_star"], linestyle="--", color=line.get_color(), label=f"{task_type} P*")
    ax.set_xlabel("period (sampling interval)")
    ax.set_ylabel("tokens per unit")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig("vwap_vs_pstar.png", dpi=120)
    print("wrote vwap_vs_pstar.png")
