"""The SA-selection heuristic of FCFS-H and PREMA-H: earliest estimated finish time.

SJs are visited in the order the policy will run them; each goes to the SA instance on which it
would finish first, given (a) when that SA becomes free (its remaining busy time plus the SJs
already placed on it in this pass) and (b) when the SJ's predecessors are estimated to finish
(already placed RQ entries, or SJs running now). Latencies are the *solo* ones (a layer that
needs more DRAM bandwidth than the system has is stretched accordingly); contention between
tenants is ignored: it is an estimate.
The loop is the numba kernel :func:`scheduler.sim.policy_kernels.earliest_finish`.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim import policy_kernels
from scheduler.sim.view import PeriodView


def earliest_finish_assignment(
    view: PeriodView, order: np.ndarray, solo_lat_s: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(SA per RQ entry, estimated finish time per RQ entry), visiting entries in ``order``.

    ``solo_lat_s`` ([layers, M], default the table's) lets a policy steer the choice: a very large
    latency keeps a layer off an SA (:mod:`scheduler.policies.reserve`)."""
    lat = view.table.solo_lat_s if solo_lat_s is None else solo_lat_s
    return policy_kernels.earliest_finish(
        np.ascontiguousarray(order, dtype=np.int64), float(view.now_s), np.ascontiguousarray(view.sa_busy_s, dtype=float),
        lat, view.rq_glayer, view.pred_ptr, view.pred_pos,
    )
