"""Trains a PPO provider with Stable-Baselines3 for a few thousand steps on the default
environment, then compares its realised surplus with the ZI-C provider it replaces, on the same
seeds (the learning population plays ZI-C when no environment controls it).

    pip install stable-baselines3   # brings torch
    python python/examples/train_ppo_provider.py
"""

import statistics

import numpy as np
import polars as pl
from stable_baselines3 import PPO

import synmarket
from synmarket.gym import DEFAULT_SCENARIO, ProviderEnv

SEEDS = range(100, 110)

env = ProviderEnv()
model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, seed=0, verbose=0)
model.learn(total_timesteps=5_000)


def ppo_surplus(seed: int) -> float:
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, done, _, _ = env.step(action)
        total += reward
    return total


def zic_surplus(seed: int) -> float:
    r = synmarket.run(DEFAULT_SCENARIO, seed=seed)
    w = r.tables["welfare"].filter(pl.col("population") == "learning_provider")
    return float(w["surplus"][0])


ppo = [ppo_surplus(s) for s in SEEDS]
zic = [zic_surplus(s) for s in SEEDS]
print(f"PPO provider: {statistics.mean(ppo):.1f} tokens per episode (seeds {SEEDS.start}-{SEEDS.stop - 1})")
print(f"ZI-C provider: {statistics.mean(zic):.1f} tokens per episode (same seeds)")
print(f"paired difference: {statistics.mean(np.subtract(ppo, zic)):+.1f}")
