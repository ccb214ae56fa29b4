"""``MASEnv``: the multi-tenant MAS scheduler as a Gymnasium environment.

One step = one scheduling period. The observation is the RELMAS encoding of the ready queue
(:func:`scheduler.sim.encoding.encode_rq`: a primer row with the SA busy times, then one row per
RQ entry, padded to ``max_rq`` with a mask); the action gives, per RQ entry, a priority and one
score per SA (:func:`~scheduler.sim.encoding.decode_action`); the reward is the RELMAS reward of
the period (:func:`~scheduler.sim.encoding.relmas_reward`). Periods with an empty RQ are run
through without asking the agent. The episode ends when the trace is fully resolved.

Traces: a fixed DataFrame (every episode replays it) or a ``trace_factory(seed) -> DataFrame``
(a new trace per episode, seeded from the episode's RNG) so an agent trains on many scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium import spaces

from scheduler.sim.encoding import RewardWeights, decode_action, encode_rq, feature_size, relmas_reward
from scheduler.sim.engine import Simulator
from scheduler.sim.view import PeriodView
from scheduler.table import SimTable


class MASEnv(gym.Env):
    """Gymnasium environment over :class:`~scheduler.sim.engine.Simulator` (see module doc)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        table: SimTable,
        trace: pd.DataFrame | Callable[[int], pd.DataFrame],
        period_s: float,
        max_rq: int = 64,
        time_scale_s: float | None = None,
        reward_weights: RewardWeights = RewardWeights(),
    ) -> None:
        super().__init__()
        self.table = table
        self.trace = trace
        self.period_s = float(period_s)
        self.max_rq = int(max_rq)
        self.time_scale_s = time_scale_s
        self.weights = reward_weights
        M = table.n_sa
        F = feature_size(M)
        self.observation_space = spaces.Dict(
            {
                "rq": spaces.Box(-np.inf, np.inf, shape=(1 + self.max_rq, F), dtype=np.float32),
                "mask": spaces.MultiBinary(1 + self.max_rq),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.max_rq, 1 + M), dtype=np.float32)
        self.sim: Simulator | None = None
        self.view: PeriodView | None = None

    # ------------------------------------------------------------------------------------------
    def _obs(self) -> dict[str, np.ndarray]:
        if self.view is None:
            F = feature_size(self.table.n_sa)
            return {"rq": np.zeros((1 + self.max_rq, F), dtype=np.float32), "mask": np.zeros(1 + self.max_rq, dtype=np.int8)}
        rq, mask = encode_rq(self.view, self.max_rq, self.time_scale_s)
        return {"rq": rq, "mask": mask}

    def _advance(self) -> None:
        """Run periods until one has a non-empty RQ (self.view) or the trace is done (None)."""
        assert self.sim is not None
        while True:
            view = self.sim.begin_period()
            if view is None:
                self.view = None
                return
            if view.n_rq:
                self.view = view
                return
            self.sim.run_period()

    def _info(self) -> dict[str, Any]:
        sim = self.sim
        assert sim is not None
        st = sim.j_status
        return {
            "time_s": float(sim.t),
            "rq_length": 0 if self.view is None else int(self.view.n_rq),
            "jobs_hit": int((st == 2).sum()),
            "jobs_missed": int(((st == 3) | (st == 4)).sum()),
        }

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):  # type: ignore[override]
        super().reset(seed=seed)
        trace = self.trace(int(self.np_random.integers(0, 2**31 - 1))) if callable(self.trace) else self.trace
        self.sim = Simulator(self.table, trace, policy=None, period_s=self.period_s)
        self._advance()
        return self._obs(), self._info()

    def step(self, action: np.ndarray):  # type: ignore[override]
        if self.sim is None:
            raise RuntimeError("call reset() first")
        if self.view is None:
            return self._obs(), 0.0, True, False, self._info()
        view = self.view
        decision = decode_action(view, action)
        self.sim.apply_decision(view, decision)
        self.sim.run_period()
        end = self.sim.s_end[view.rq_sj]
        dropped = self.sim.j_status[view.rq_job] == 4
        reward = relmas_reward(view, end, dropped, self.weights)
        self._advance()
        terminated = self.view is None
        return self._obs(), reward, terminated, False, self._info()

    def result(self) -> Any:
        """Metrics of the episode so far (a :class:`~scheduler.sim.metrics.SimResult`)."""
        from scheduler.sim.metrics import collect_result

        assert self.sim is not None
        return collect_result(self.sim)
