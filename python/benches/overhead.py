"""The Python front's costs (BENCHMARKS.md, "Python"): the call overhead of synmarket.run on the
baseline (the time outside Rust: argument conversion, building the DataFrames from the tables'
bytes, the summary dict) as a share of the run, and the step throughput of the environments.

    pip install ./python && python python/benches/overhead.py   # a release build

Figures are medians of repeated measurements in one process (shared machines are noisy).
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

import synmarket
from synmarket.gym import ProviderEnv, RequesterEnv

ROOT = Path(__file__).resolve().parents[2]


def main(repeats: int = 7) -> None:
    baseline = ROOT / "scenarios" / "baseline.toml"
    synmarket.run(baseline)  # warm up
    total, rust = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        r = synmarket.run(baseline)
        total.append(time.perf_counter() - t)
        rust.append(r.rust_seconds)
    t_med, r_med = statistics.median(total), statistics.median(rust)
    over = [a - b for a, b in zip(total, rust)]
    o_med = statistics.median(over)
    print(f"synmarket.run(baseline): {t_med * 1000:.1f} ms per call, {r_med * 1000:.1f} ms in Rust, "
          f"overhead {o_med * 1000:.1f} ms = {100 * o_med / r_med:.1f} % of the run")
    for env_class in (ProviderEnv, RequesterEnv):
        env = env_class()
        rng = np.random.default_rng(0)
        rates = []
        for seed in range(repeats):
            env.reset(seed=seed)
            steps, done, t = 0, False, time.perf_counter()
            while not done:
                _, _, done, _, _ = env.step(rng.random(2, dtype=np.float32))
                steps += 1
            rates.append(steps / (time.perf_counter() - t))
        print(f"{env_class.__name__}: {statistics.median(rates):,.0f} steps/s (episodes of about {steps} steps)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
