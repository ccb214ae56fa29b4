"""Herald-style layer scheduling for heterogeneous SAs (Kwon et al., HPCA 2021), per period.

Algorithm (re-run at every period on the current RQ):

1. **Preferred SA.** Every SJ first goes to an instance of the SA class it likes best: the fastest
   (``prefer="latency"``, default) or the lowest energy-delay product (``prefer="edp"``). Among
   instances of that class it takes the one with the least load so far (RQ order).
   Load of an SA = its remaining busy time + the latencies of the SJs assigned to it. Latencies
   are the solo ones (:attr:`PeriodView.solo_lat_s`: stretched when an SJ alone needs more DRAM
   bandwidth than the system has).
2. **Load balancing.** Repeatedly take the most loaded SA (the makespan estimate) and the least
   loaded one; among the SJs on the former, find the one whose move minimises
   ``max(load_src − lat_src, load_dst + lat_dst)``; move it if that is below the current makespan,
   otherwise stop (also stop after ``max_moves``). Moving to a slower SA is allowed when it
   shortens the makespan: this is how Herald trades per-layer efficiency for balance.
3. **Order.** Earliest deadline first (the RQ order); a job's layers stay in topological order.
"""

from __future__ import annotations

import numpy as np

from scheduler.policies.base import Policy, priority_from_order
from scheduler.sim import policy_kernels
from scheduler.sim.view import Decision, PeriodView


class Herald(Policy):
    name = "herald"

    def __init__(self, prefer: str = "latency", max_moves: int | None = None) -> None:
        if prefer not in ("latency", "edp"):
            raise ValueError("prefer must be 'latency' or 'edp'")
        self.prefer = prefer
        self.max_moves = max_moves
        self.reset(0)

    def assign(self, view: PeriodView) -> np.ndarray:
        lat = np.ascontiguousarray(view.solo_lat_s)
        cost = lat if self.prefer == "latency" else np.ascontiguousarray(lat * view.energy_pj)
        moves = self.max_moves if self.max_moves is not None else 4 * view.n_rq
        return policy_kernels.herald_assign(cost, lat, np.ascontiguousarray(view.sa_busy_s, dtype=float), int(moves))

    def schedule(self, view: PeriodView) -> Decision:
        return Decision(sa=self.assign(view), priority=priority_from_order(np.arange(view.n_rq)))
