"""The SA-selection heuristic of FCFS-H and PREMA-H: earliest estimated finish time.

SJs are visited in the order the policy will run them; each goes to the SA instance on which it
would finish first, given (a) when that SA becomes free (its remaining busy time plus the SJs
already placed on it in this pass) and (b) when the SJ's predecessors are estimated to finish
(already placed RQ entries, or SJs running now). Contention is ignored: it is an estimate.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim.view import PeriodView


def earliest_finish_assignment(view: PeriodView, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(SA per RQ entry, estimated finish time per RQ entry), visiting entries in ``order``."""
    R, M = view.n_rq, view.n_sa
    now = float(view.now_s)
    busy = view.sa_busy_s.tolist()
    avail = [now + b for b in busy]
    est = [now] * R + avail[:]
    lat = view.lat_s.tolist()
    ptr = view.pred_ptr.tolist()
    pos = view.pred_pos.tolist()
    out = [0] * R
    rng_m = range(M)
    for i in order.tolist():
        rt = now
        for q in pos[ptr[i] : ptr[i + 1]]:
            e = est[q]
            if e > rt:
                rt = e
        li = lat[i]
        best = float("inf")
        bm = 0
        for m in rng_m:
            a = avail[m]
            f = (a if a > rt else rt) + li[m]
            if f < best:
                best = f
                bm = m
        out[i] = bm
        est[i] = best
        avail[bm] = best
    return np.asarray(out, dtype=np.int64), np.asarray(est[:R], dtype=float)
