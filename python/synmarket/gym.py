"""Gymnasium environments over synmarket's discrete-event kernel.

``ProviderEnv`` lets one provider learn its ask and capacity, ``RequesterEnv`` one requester its
bid and size; the rest of the market is the scenario's seeded populations. Both can be built with
no arguments (the default scenario ``synmarket/scenarios/gym.toml``: one task type, 30 ZI-C
requesters, 12 ZI-C providers, one learning provider and one learning requester, six simulated
hours) or with a scenario (path, TOML text or dict) and the name of the learning population.

A **decision step** is an arrival of the learning agent (Poisson, its population's
``arrival_rate``): the kernel pauses there (``Simulation::set_external``), the action places one
order (withdrawing the learner's previous open order), and the kernel runs to the next arrival.
Every other event (fills, tasks, escrow releases) is handled by the learner's own honest agent.

**Action** ``Box(0, 1, (2,), float32)``: ``a[0]`` sets the price per unit,
``min_price + a[0] · (max_price − min_price)`` rounded (the population's ``min_price`` and
``max_price``); ``a[1]`` the units, ``1 + round(a[1] · (max_units − 1))``. An action outside the
space raises ``ValueError``.

**Observation** ``Box(0, 1, (8,), float32)``, each entry clipped to [0, 1]:

=====  ==============================================================
index  meaning
=====  ==============================================================
0      VWAP of the task type's price window / ``max_price`` (0: no trade yet)
1      best bid / ``max_price`` (0: none)
2      best ask / ``max_price`` (0: none)
3      the learner's reputation / the market's ``reputation.max``
4      the learner's backlog (units of its open order and of its unfinished tasks) / ``max_units``
5      resting units of the task type / 1000
6      simulated time / the scenario's duration
7      the learner's cost (provider) or value (requester) per unit / ``max_price``
=====  ==============================================================

**Reward**: the learner's realised surplus in tokens since the previous step (settled trades
only: a provider's released payment minus its cost of the units delivered; a requester's value of
the units delivered minus what it paid). The episode terminates at the end of the scenario.
``reset(seed=s)`` runs the scenario with root seed ``s``: the same seed gives the same episode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import _synmarket

DEFAULT_SCENARIO = str(Path(__file__).parent / "scenarios" / "gym.toml")

__all__ = ["ProviderEnv", "RequesterEnv", "DEFAULT_SCENARIO"]


class _LearnerEnv(gym.Env):
    metadata = {"render_modes": []}
    _default_population = ""

    def __init__(
        self,
        scenario: Any = None,
        population: Optional[str] = None,
        overrides: Optional[Mapping[str, Any]] = None,
        max_units: int = 4,
    ) -> None:
        super().__init__()
        self._scenario = DEFAULT_SCENARIO if scenario is None else scenario
        self._population = population or self._default_population
        self._overrides = dict(overrides) if overrides else None
        self._max_units = int(max_units)
        if self._max_units < 1:
            raise ValueError(f"max_units: {max_units} is below 1")
        self.observation_space = spaces.Box(0.0, 1.0, shape=(8,), dtype=np.float32)
        self.action_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        # Check the scenario and the population now, so a bad one fails at construction.
        self._kernel = _synmarket.Kernel(self._scenario, [self._population], None, self._overrides, self._max_units)
        if self._kernel.learners() == 0:
            raise ValueError(f"population {self._population!r} has no agents")
        self._last_surplus = 0.0
        self._obs = np.zeros(8, dtype=np.float32)
        self._done = True

    def _observe(self) -> np.ndarray:
        return np.asarray(self._kernel.observe(0), dtype=np.float32)

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        run_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**63 - 1))
        self._kernel = _synmarket.Kernel(self._scenario, [self._population], run_seed, self._overrides,
                                         self._max_units)
        self._last_surplus = 0.0
        self._done = self._kernel.step() is None
        self._obs = self._observe()
        return self._obs.copy(), {"time_ms": self._kernel.now(), "seed": run_seed}

    def step(self, action):
        if self._done:
            raise RuntimeError("the episode has ended: call reset()")
        a = np.asarray(action, dtype=np.float32)
        if a.shape != (2,) or not np.all(np.isfinite(a)) or not self.action_space.contains(a):
            raise ValueError(f"action {action!r} is outside the action space Box(0, 1, (2,))")
        lo, hi, max_units = self._kernel.bounds()
        price = max(1, int(round(lo + float(a[0]) * (hi - lo))))
        units = 1 + int(round(float(a[1]) * (max_units - 1)))
        self._kernel.act(price, units)
        terminated = self._kernel.step() is None
        self._done = terminated
        self._obs = self._observe()
        surplus = self._kernel.surplus(0)
        reward = surplus - self._last_surplus
        self._last_surplus = surplus
        info = {"time_ms": self._kernel.now(), "price_per_unit": price, "units": units, "surplus": surplus}
        return self._obs.copy(), float(reward), terminated, False, info


class ProviderEnv(_LearnerEnv):
    """One learning provider sets its ask and capacity at each of its arrivals (module docs)."""

    _default_population = "learning_provider"


class RequesterEnv(_LearnerEnv):
    """One learning requester sets its bid and size at each of its arrivals (module docs)."""

    _default_population = "learning_requester"
