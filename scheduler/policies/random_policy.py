"""Random: a uniformly random SA and priority per SJ (a floor every policy should beat)."""

from __future__ import annotations

import numpy as np

from scheduler.policies.base import Policy
from scheduler.sim.view import Decision, PeriodView


class RandomPolicy(Policy):
    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self._fixed_seed = seed
        self.reset(0 if seed is None else seed)

    def reset(self, seed: int = 0) -> None:
        super().reset(self._fixed_seed if self._fixed_seed is not None else seed)

    def schedule(self, view: PeriodView) -> Decision:
        R = view.n_rq
        return Decision(sa=self.rng.integers(0, view.n_sa, size=R), priority=self.rng.random(R))
