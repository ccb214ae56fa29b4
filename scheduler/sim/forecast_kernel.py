"""The compiled batch forecast: P candidate decisions of one period, replayed by the engine's rules."""

from __future__ import annotations

import numpy as np

from scheduler.sim.kernels import EPS_S, njit


@njit(cache=True)
def forecast_batch(sa, prio, t0, end, cap, lat, bw, deadline, npred0, succ_ptr, succ_flat, run0_rem, run0_bw, run0):
    """Finish time of every entity (R RQ entries, then the M SJs running at ``t0``) for each of
    the P candidate decisions ``sa`` / ``prio`` [P, R], run to ``end`` with the engine's rules
    (no arrivals). ``lat`` / ``bw`` are the RQ entries' [R, M] rows. NaN = not finished."""
    P = sa.shape[0]
    R = sa.shape[1]
    M = lat.shape[1]
    out = np.full((P, R + M), np.nan)
    by_rank = np.empty(R, dtype=np.int64)
    items = np.empty(R, dtype=np.int64)
    ptr = np.zeros(M + 1, dtype=np.int64)
    head = np.zeros(M, dtype=np.int64)
    started = np.zeros(R, dtype=np.bool_)
    npred = np.empty(R, dtype=np.int64)
    cur = np.empty(M, dtype=np.int64)
    rem = np.empty(M)
    rbw = np.empty(M)
    for p in range(P):
        order = np.argsort(-prio[p], kind="mergesort")
        counts = np.zeros(M + 1, dtype=np.int64)
        for r in range(R):
            i = order[r]
            by_rank[r] = i
            counts[sa[p, i] + 1] += 1
        for m in range(M):
            ptr[m + 1] = ptr[m] + counts[m + 1]
            head[m] = ptr[m]
        fill = ptr[:M].copy()
        for r in range(R):
            m = sa[p, by_rank[r]]
            items[fill[m]] = by_rank[r]
            fill[m] += 1
        for i in range(R):
            started[i] = False
            npred[i] = npred0[i]
        n_running = 0
        for m in range(M):
            if run0[m]:
                cur[m] = R + m
                rem[m] = run0_rem[m]
                rbw[m] = run0_bw[m]
                n_running += 1
            else:
                cur[m] = -1
                rem[m] = 0.0
                rbw[m] = 0.0
        t = t0
        while True:
            # dispatch idle SAs
            for m in range(M):
                if cur[m] < 0:
                    i = head[m]
                    stop = ptr[m + 1]
                    while i < stop and started[items[i]]:
                        i += 1
                    head[m] = i
                    while i < stop:
                        e = items[i]
                        if not started[e] and npred[e] == 0 and deadline[e] > t:
                            started[e] = True
                            cur[m] = e
                            rem[m] = lat[e, m]
                            rbw[m] = bw[e, m]
                            n_running += 1
                            break
                        i += 1
            if n_running == 0:
                break
            demand = 0.0
            for m in range(M):
                if cur[m] >= 0:
                    demand += rbw[m]
            rate = 1.0 if demand <= cap else cap / demand
            mn = np.inf
            fm = -1
            for m in range(M):
                if cur[m] >= 0 and rem[m] < mn:
                    mn = rem[m]
                    fm = m
            dt = mn / rate
            if t + dt > end:
                break
            for m in range(M):
                if cur[m] >= 0:
                    rem[m] -= mn
            rem[fm] = 0.0
            t = t + dt
            tol = EPS_S * rate
            for m in range(M):
                e = cur[m]
                if e >= 0 and rem[m] <= tol:
                    out[p, e] = t
                    cur[m] = -1
                    rem[m] = 0.0
                    rbw[m] = 0.0
                    n_running -= 1
                    for q in range(succ_ptr[e], succ_ptr[e + 1]):
                        npred[succ_flat[q]] -= 1
    return out
