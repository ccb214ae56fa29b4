"""MAGMA (Kao & Krishna, HPCA 2022) run online: a genetic algorithm at every period.

Genome: one gene per RQ entry with two rows, the SA index and a priority in [0, 1) (the
"accelerator selection" and "job prioritisation" rows of MAGMA's encoding). Per period:

* **Initial population**: one individual from the earliest-finish heuristic on the EDF order
  (a warm start, so the search never starts below a simple heuristic) + random individuals.
* **Fitness**: the SLA fitness of the period's forecast (:mod:`scheduler.sim.forecast`),
  evaluated for the whole population at once by :class:`~scheduler.sim.forecast.BatchForecaster`.
* **Next generation**: the ``elite_ratio`` best survive unchanged; the rest are children of two
  parents drawn from the best half, made by one of MAGMA's crossovers, then mutated:
  - *crossover-gen*: single-point crossover of ONE gene row (SA row or priority row);
  - *crossover-rg*: a range of whole genes (both rows) copied from the second parent;
  - *crossover-accel*: the second parent's whole queue of one accelerator (its SJs keep that SA
    and their priorities) is copied into the first parent;
  - *mutation*: every gene, with probability ``mutation_rate``, gets a random SA / priority.
All operators are vectorised over the population. ``population × generations`` defaults to the
paper's 100 × 100 (10,000 forecasts per period).
"""

from __future__ import annotations

import numpy as np

from scheduler.policies.base import Policy
from scheduler.policies.heuristics import earliest_finish_assignment
from scheduler.sim.view import Decision, PeriodView


class Magma(Policy):
    name = "magma"

    def __init__(
        self,
        population: int = 100,
        generations: int = 100,
        elite_ratio: float = 0.1,
        mutation_rate: float = 0.05,
        seed: int | None = None,
    ) -> None:
        if population < 2 or generations < 1:
            raise ValueError("MAGMA needs population >= 2 and generations >= 1")
        self.population = int(population)
        self.generations = int(generations)
        self.elite_ratio = float(elite_ratio)
        self.mutation_rate = float(mutation_rate)
        self._fixed_seed = seed
        self.last_fitness: float = float("nan")
        self.reset(0 if seed is None else seed)

    def reset(self, seed: int = 0) -> None:
        super().reset(self._fixed_seed if self._fixed_seed is not None else seed)

    def _children(self, sa: np.ndarray, pr: np.ndarray, n: int, M: int) -> tuple[np.ndarray, np.ndarray]:
        rng = self.rng
        P, R = sa.shape
        half = max(2, P // 2)
        a = rng.integers(0, half, size=n)
        b = rng.integers(0, half, size=n)
        op = rng.integers(0, 3, size=n)
        cols = np.arange(R)[None, :]
        # crossover-gen: one row, single point
        cut = rng.integers(0, R + 1, size=n)[:, None]
        row = rng.integers(0, 2, size=n)[:, None]
        tail = cols >= cut
        gen_sa = (op[:, None] == 0) & tail & (row == 0)
        gen_pr = (op[:, None] == 0) & tail & (row == 1)
        # crossover-rg: a range of whole genes
        lo = rng.integers(0, R, size=n)[:, None]
        hi = lo + rng.integers(1, R + 1, size=n)[:, None]
        rg = (op[:, None] == 1) & (cols >= lo) & (cols < hi)
        # crossover-accel: one accelerator's queue of parent b
        acc = rng.integers(0, M, size=n)[:, None]
        ac = (op[:, None] == 2) & (sa[b] == acc)
        take_sa = gen_sa | rg | ac
        take_pr = gen_pr | rg | ac
        csa = np.where(take_sa, sa[b], sa[a])
        cpr = np.where(take_pr, pr[b], pr[a])
        mut = rng.random((n, R)) < self.mutation_rate
        csa = np.where(mut, rng.integers(0, M, size=(n, R)), csa)
        mut = rng.random((n, R)) < self.mutation_rate
        cpr = np.where(mut, rng.random((n, R)), cpr)
        return csa, cpr

    def schedule(self, view: PeriodView) -> Decision:
        R, M = view.n_rq, view.n_sa
        P = self.population
        rng = self.rng
        heur_sa, _ = earliest_finish_assignment(view, np.arange(R))
        sa = rng.integers(0, M, size=(P, R))
        pr = rng.random((P, R))
        sa[0] = heur_sa
        pr[0] = 1.0 - (np.arange(R) + 0.5) / R  # EDF order
        fc = view.batch_forecaster()
        n_elite = max(1, int(round(self.elite_ratio * P)))
        fit = fc.evaluate(sa, pr)
        for _ in range(self.generations - 1):
            order = np.argsort(-fit, kind="stable")
            sa, pr, fit = sa[order], pr[order], fit[order]
            csa, cpr = self._children(sa, pr, P - n_elite, M)
            cfit = fc.evaluate(csa, cpr)
            sa = np.concatenate([sa[:n_elite], csa])
            pr = np.concatenate([pr[:n_elite], cpr])
            fit = np.concatenate([fit[:n_elite], cfit])
        best = int(np.argmax(fit))
        self.last_fitness = float(fit[best])
        return Decision(sa=sa[best].astype(np.int64), priority=pr[best].astype(float))
