"""The Gymnasium environments."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from synmarket.gym import ProviderEnv, RequesterEnv


@pytest.mark.parametrize("env_class", [ProviderEnv, RequesterEnv])
def test_check_env_passes(env_class):
    check_env(env_class(), skip_render_check=True)


def rollout(env, seed):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(1)
    trace = [obs.tolist()]
    done = False
    while not done:
        obs, reward, done, truncated, info = env.step(rng.random(2, dtype=np.float32))
        trace.append((obs.tolist(), reward, info["time_ms"]))
    return trace


@pytest.mark.parametrize("env_class", [ProviderEnv, RequesterEnv])
def test_reset_seed_7_repeats_the_episode_exactly(env_class):
    env = env_class()
    a, b = rollout(env, 7), rollout(env, 7)
    assert a == b
    assert len(a) > 20
    assert rollout(env, 8) != a


def test_a_provider_quoting_its_cost_never_loses():
    env = ProviderEnv()
    obs, _ = env.reset(seed=3)
    lo, hi, _ = 1.0, 120.0, 4
    cost = 40.0  # the default scenario's learning provider
    total, done = 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(np.array([(cost + 10 - lo) / (hi - lo), 0.0], dtype=np.float32))
        total += reward
        assert info["price_per_unit"] == 50
    assert total >= 0.0


def test_actions_outside_the_space_raise_and_bad_setups_are_refused():
    env = ProviderEnv()
    env.reset(seed=1)
    for bad in ([1.5, 0.0], [0.5], [np.nan, 0.5], [-0.1, 0.2]):
        with pytest.raises(ValueError, match="outside the action space"):
            env.step(np.array(bad, dtype=np.float32))
    with pytest.raises(ValueError, match='learner population "nobody" is not in the scenario'):
        ProviderEnv(population="nobody")
    with pytest.raises(ValueError, match="max_units"):
        ProviderEnv(max_units=0)


def test_learners_with_schedules_or_quotas_are_refused_until_supported():
    import os
    from pathlib import Path

    root = Path(os.environ.get("SYNMARKET_ROOT", Path(__file__).resolve().parents[2]))
    with pytest.raises(ValueError, match='learner population "sellers" writes a schedule of unit values'):
        ProviderEnv(root / "scenarios/studies/gode_sunder_schedule.toml", population="sellers")
    with pytest.raises(ValueError, match='learner population "sellers" sets `units_per_period`'):
        ProviderEnv(root / "scenarios/studies/gode_sunder.toml", population="sellers")


def test_the_parallel_environment_passes_the_pettingzoo_api_test_and_repeats_episodes():
    from pettingzoo.test import parallel_api_test

    from synmarket.parallel import MarketParallelEnv

    env = MarketParallelEnv()
    assert env.possible_agents == ["learning_provider_0", "learning_requester_0"]
    parallel_api_test(env, num_cycles=1000)

    def roll(seed):
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        trace = []
        while env.agents:
            obs, rewards, _, _, infos = env.step({a: rng.random(2, dtype=np.float32) for a in env.agents})
            trace.append((sorted(rewards.items()), [o.tolist() for o in obs.values()], infos["learning_provider_0"]))
        return trace

    a = roll(7)
    assert a == roll(7) and len(a) > 10
    env.reset(seed=1)
    with pytest.raises(ValueError, match="no action for learning_requester_0"):
        env.step({"learning_provider_0": np.zeros(2, dtype=np.float32)})
