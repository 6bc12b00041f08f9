"""`synmarket.parallel`: a PettingZoo parallel environment where several populations learn at once.

``MarketParallelEnv(scenario=None, populations=("learning_provider", "learning_requester"))``
makes every agent of the named populations external (``Simulation::set_external``); the default
scenario is the one of :mod:`synmarket.gym`. The agents are named ``"<population>_<k>"``.

**A parallel step** takes one action per agent (the action space of :mod:`synmarket.gym`:
``Box(0, 1, (2,))`` for price and units) and runs the kernel until every agent has arrived at
least once and placed its order at its arrival. An agent that arrives again before the others
have re-quotes the same action. Arrivals are each agent's own Poisson times, so a step covers
one decision per agent and a stretch of simulated time the agents share.

After each step every agent gets the observation of :mod:`synmarket.gym`, taken at the end of
the step, and its realised surplus since the previous step as its reward. All agents terminate
together at the end of the scenario. ``reset(seed=s)`` repeats an episode exactly.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from . import _synmarket
from .gym import DEFAULT_SCENARIO

__all__ = ["MarketParallelEnv"]


class MarketParallelEnv(ParallelEnv):
    """Several learning populations at once (module docs)."""

    metadata = {"render_modes": [], "name": "synmarket_market_v0"}

    def __init__(
        self,
        scenario: Any = None,
        populations: Sequence[str] = ("learning_provider", "learning_requester"),
        overrides: Optional[Mapping[str, Any]] = None,
        max_units: int = 4,
    ) -> None:
        self._scenario = DEFAULT_SCENARIO if scenario is None else scenario
        self._populations = list(populations)
        self._overrides = dict(overrides) if overrides else None
        self._max_units = int(max_units)
        if self._max_units < 1:
            raise ValueError(f"max_units: {max_units} is below 1")
        self._kernel = self._build(None)
        names = []
        for population in self._populations:
            count = _synmarket.Kernel(self._scenario, [population], None, self._overrides, 1).learners()
            names.extend(f"{population}_{k}" for k in range(count))
        self.possible_agents = names
        self.agents: list[str] = []
        self._spaces_obs = {a: spaces.Box(0.0, 1.0, shape=(8,), dtype=np.float32) for a in names}
        self._spaces_act = {a: spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32) for a in names}
        self._pending: Optional[int] = None
        self._last = np.zeros(len(names))
        self._done = True

    def _build(self, seed: Optional[int]):
        return _synmarket.Kernel(self._scenario, self._populations, seed, self._overrides, self._max_units)

    def observation_space(self, agent: str) -> spaces.Box:
        return self._spaces_obs[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self._spaces_act[agent]

    def _observations(self) -> dict[str, np.ndarray]:
        return {a: np.asarray(self._kernel.observe(i), dtype=np.float32) for i, a in enumerate(self.possible_agents)}

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**63 - 1))
        self._kernel = self._build(int(seed))
        self.agents = list(self.possible_agents)
        self._last = np.zeros(len(self.possible_agents))
        nxt = self._kernel.step()
        self._pending = None if nxt is None else nxt[0]
        self._done = nxt is None
        if self._done:
            self.agents = []
        return self._observations(), {a: {"time_ms": self._kernel.now()} for a in self.possible_agents}

    def step(self, actions: Mapping[str, Any]):
        if self._done:
            raise RuntimeError("the episode has ended: call reset()")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"no action for {', '.join(missing)}")
        lo, hi, max_units = self._kernel.bounds()
        orders = []
        for a in self.possible_agents:
            x = np.asarray(actions[a], dtype=np.float32)
            if x.shape != (2,) or not np.all(np.isfinite(x)) or not self._spaces_act[a].contains(x):
                raise ValueError(f"{a}: action {actions[a]!r} is outside the action space Box(0, 1, (2,))")
            orders.append((max(1, int(round(lo + float(x[0]) * (hi - lo)))), 1 + int(round(float(x[1]) * (max_units - 1)))))
        acted = [False] * len(orders)
        while self._pending is not None and not all(acted):
            i = self._pending
            self._kernel.act(*orders[i])
            acted[i] = True
            nxt = self._kernel.step()
            self._pending = None if nxt is None else nxt[0]
        self._done = self._pending is None
        surplus = np.array([self._kernel.surplus(i) for i in range(len(orders))])
        rewards = surplus - self._last
        self._last = surplus
        observations = self._observations()
        names = self.possible_agents
        terminations = {a: self._done for a in names}
        truncations = {a: False for a in names}
        infos = {a: {"time_ms": self._kernel.now(), "surplus": float(surplus[i])} for i, a in enumerate(names)}
        rewards_d = {a: float(rewards[i]) for i, a in enumerate(names)}
        if self._done:
            self.agents = []
        return observations, rewards_d, terminations, truncations, infos
