"""The compiled batch forecast: P candidate decisions of one period, replayed by the engine itself.

Each candidate is run by :func:`scheduler.sim.kernels.run_period`, the engine's own event loop
(starts, finishes, DRAM contention, deadline drops), on a compact per-period state, so the
forecast cannot drift from the simulator: there is no second copy of the loop to keep in step.

The compact state has one *entity* per RQ entry (0..R-1) and one per SA for the SJ running on it
at the period start (R..R+M-1). For the kernel every entity is its own one-SJ "job" and its own
"layer": its job's deadline is the entity's deadline, and its successors are stored as offsets
from itself. Dropping such a job drops only that entity, which gives the same finish times as
dropping the real job: every SJ of a job has the job's deadline, so each of them is refused at
its own dispatch just as the real job's remaining SJs would have been dropped with it.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim.kernels import apply_decision, njit, run_period


@njit(cache=True)
def forecast_batch(sa, prio, t0, end, cap, lat, bw, deadline, npred0, succ_ptr, succ_flat, run0_rem, run0_bw, run0):
    """Finish time of every entity (R RQ entries, then the M SJs running at ``t0``) for each of
    the P candidate decisions ``sa`` / ``prio`` [P, R], run to ``end`` with the engine's rules
    (no arrivals). ``lat`` / ``bw`` are the RQ entries' [R, M] rows; ``succ_ptr`` / ``succ_flat``
    the entities' successors (CSR over R+M entities). NaN = not finished."""
    P = sa.shape[0]
    R = sa.shape[1]
    M = lat.shape[1]
    E = R + M
    out = np.full((P, E), np.nan)
    # --- the compact problem, shared by all candidates ---
    ent = np.arange(E)
    rq = ent[:R]
    one = np.ones(E, dtype=np.int64)
    lat_e = np.zeros((E, M))
    bw_e = np.zeros((E, M))
    lat_e[:R] = lat
    bw_e[:R] = bw
    en_e = np.zeros((E, M))
    dl_e = np.full(E, np.inf)
    dl_e[:R] = deadline
    succ_rel = np.empty(len(succ_flat), dtype=np.int64)  # successor offsets from the entity itself
    for e in range(E):
        for p in range(succ_ptr[e], succ_ptr[e + 1]):
            succ_rel[p] = succ_flat[p] - e
    # --- per-candidate state (reset below) and scratch ---
    s_state = np.empty(E, dtype=np.uint8)
    s_npred = np.empty(E, dtype=np.int64)
    s_start = np.zeros(E)
    s_end = np.empty(E)
    s_sa = np.empty(E, dtype=np.int64)
    s_asg = np.empty(E, dtype=np.int64)
    s_rank = np.empty(E, dtype=np.int64)
    s_period = np.empty(E, dtype=np.int64)
    j_status = np.empty(E, dtype=np.uint8)
    j_left = np.empty(E, dtype=np.int64)
    j_finish = np.empty(E)
    by_rank = np.empty(R, dtype=np.int64)
    sa_items = np.empty(R, dtype=np.int64)
    sa_ptr = np.zeros(M + 1, dtype=np.int64)
    head = np.zeros(M, dtype=np.int64)
    run_sj = np.empty(M, dtype=np.int64)
    run_rem = np.empty(M)
    run_bw = np.empty(M)
    busy = np.zeros(M)
    acc = np.zeros(2)
    log = np.zeros((1, 4))
    log_n = np.zeros(2, dtype=np.int64)  # no DRAM log
    for p in range(P):
        for e in range(E):
            s_state[e] = 0 if e < R else 2
            s_npred[e] = npred0[e] if e < R else 0
            s_end[e] = np.nan
            j_status[e] = 1
            j_left[e] = 1
        for m in range(M):
            if run0[m]:
                s_state[R + m] = 1
                run_sj[m] = R + m
                run_rem[m] = run0_rem[m]
                run_bw[m] = run0_bw[m]
            else:
                run_sj[m] = -1
                run_rem[m] = 0.0
                run_bw[m] = 0.0
        apply_decision(rq, sa[p], prio[p], 0, M, s_period, s_asg, s_rank, by_rank, sa_ptr, sa_items, head)
        run_period(
            t0, end, M, cap, by_rank, sa_ptr, sa_items, head, s_state, s_npred, s_start, s_end, s_sa,
            ent, ent, j_status, j_left, j_finish, ent, one, dl_e, lat_e, bw_e, en_e, succ_ptr, succ_rel,
            run_sj, run_rem, run_bw, busy, acc, log, log_n,
        )
        for e in range(E):
            out[p, e] = s_end[e]
    return out
