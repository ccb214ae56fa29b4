"""The one interface every scheduling policy implements.

A policy is called at every scheduling period with a :class:`~scheduler.sim.view.PeriodView`
(the ready queue sorted by deadline, SA busy times, per-SA latencies and bandwidths) and answers a
:class:`~scheduler.sim.view.Decision`: an SA index and a priority per RQ entry. ``reset(seed)`` is
called once before a simulation so that stochastic policies (random, MAGMA) are reproducible and
stateful ones (PREMA's tokens) start clean.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from scheduler.sim.view import Decision, PeriodView


class Policy(ABC):
    """Base class: subclasses set ``name`` and implement :meth:`schedule`."""

    name: str = "policy"

    def reset(self, seed: int = 0) -> None:
        """Forget per-run state; reseed randomness."""
        self.rng = np.random.default_rng(seed)

    @abstractmethod
    def schedule(self, view: PeriodView) -> Decision:
        """SA and priority for every RQ entry of ``view``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def priority_from_order(order: np.ndarray) -> np.ndarray:
    """Priorities that make ``order`` (RQ positions, first = runs first) the execution order."""
    R = len(order)
    prio = np.empty(R, dtype=float)
    prio[order] = -np.arange(R, dtype=float)
    return prio
