"""Compiled inner loops of the baseline policies (numba; plain Python without it).

* :func:`earliest_finish`: FCFS-H / PREMA-H's SA heuristic (earliest estimated finish), its
  per-SJ step :func:`best_sa` shared with the fused FCFS-H loop;
* :func:`order_by_key`: a stable order and the priorities that realise it;
* :func:`herald_assign`: Herald's preferred-SA assignment and load balancing.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim.kernels import njit


@njit(cache=True, inline="always")
def best_sa(avail, ready_s, lat, g):
    """The SA on which layer ``g`` would finish first when it can start at ``ready_s`` and SA
    ``m`` is free from ``avail[m]``: (that finish time, the SA; ties: the lowest index)."""
    best = np.inf
    bm = 0
    for m in range(lat.shape[1]):
        a = avail[m]
        f = (a if a > ready_s else ready_s) + lat[g, m]
        if f < best:
            best = f
            bm = m
    return best, bm


@njit(cache=True)
def earliest_finish(order, now, busy, lat, glayer, pred_ptr, pred_pos):
    """FCFS-H / PREMA-H SA heuristic: visit RQ entries in ``order``; each goes to the SA where it
    would finish first (SA free time and predecessors' estimated finish). ``lat`` is the table's
    [G, M] latency, ``glayer`` the RQ entries' global layers. Returns (sa, est)."""
    R = len(glayer)
    M = lat.shape[1]
    avail = np.empty(M)
    est = np.empty(R + M)
    for m in range(M):
        avail[m] = now + busy[m]
        est[R + m] = avail[m]
    for i in range(R):
        est[i] = now
    sa = np.zeros(R, dtype=np.int64)
    for oi in range(len(order)):
        i = order[oi]
        rt = now
        for p in range(pred_ptr[i], pred_ptr[i + 1]):
            e = est[pred_pos[p]]
            if e > rt:
                rt = e
        best, bm = best_sa(avail, rt, lat, glayer[i])
        sa[i] = bm
        est[i] = best
        avail[bm] = best
    return sa, est[:R]


@njit(cache=True)
def order_by_key(key):
    """Stable ascending order of ``key`` and priorities that realise it (first = highest)."""
    order = np.argsort(key, kind="mergesort")
    prio = np.empty(len(key))
    for r in range(len(order)):
        prio[order[r]] = -r
    return order, prio


@njit(cache=True)
def herald_assign(cost, lat, busy, max_moves):
    """Herald: preferred SA (min ``cost``; least-loaded among equals), then move SJs from the
    most to the least loaded SA while that lowers the makespan estimate. Returns SA per entry."""
    R = lat.shape[0]
    M = lat.shape[1]
    load = busy.copy()
    sa = np.zeros(R, dtype=np.int64)
    for i in range(R):
        best = np.inf
        for m in range(M):
            if cost[i, m] < best:
                best = cost[i, m]
        bm = -1
        for m in range(M):
            if cost[i, m] <= best * (1 + 1e-9) and (bm < 0 or load[m] < load[bm]):
                bm = m
        sa[i] = bm
        load[bm] += lat[i, bm]
    for _ in range(max_moves):
        src = 0
        dst = 0
        for m in range(M):
            if load[m] > load[src]:
                src = m
            if load[m] < load[dst]:
                dst = m
        if src == dst:
            break
        bi = -1
        bval = load[src] - 1e-15
        for i in range(R):
            if sa[i] == src:
                a = load[src] - lat[i, src]
                b = load[dst] + lat[i, dst]
                v = a if a > b else b
                if v < bval:
                    bval = v
                    bi = i
        if bi < 0:
            break
        load[src] -= lat[bi, src]
        load[dst] += lat[bi, dst]
        sa[bi] = dst
    return sa
