"""FCFS-H simulated as one compiled loop (no Python round trip per period).

:func:`simulate_fcfs` performs exactly the steps of :class:`~scheduler.sim.engine.Simulator`
(admission, deadline drops, idle-period skipping, the RQ, FCFS-H's order and SA heuristic, the
period's event loop) inside numba, so the simulator's throughput is not bounded by Python's
per-period overhead. Tests check that its schedule equals the generic period-by-period path.

Why it is faster than chaining the generic kernels (same arithmetic, so the same bits):

* FCFS-H needs the RQ only in FCFS order (jobs by arrival; equal arrivals by the RQ's (deadline,
  job) order; a job's layers in topological order). The active jobs are kept in that order
  incrementally, so one scan of their waiting SJs yields the decision order directly: the
  deadline-sorted RQ, its per-period argsort and the FCFS argsort of the generic path are never
  built. The per-SJ scratch (start lower bound, finish estimate) is indexed by SJ id, so no RQ
  position map is needed either;
* only the prefix of the FCFS order that holds every SJ able to start in the period is decided
  (the start lower bound below) and only those SJs enter the SA queues: the other SJs cannot
  start, so their SA choice changes nothing and they are re-decided next period anyway. Their
  decision records (``s_asg``, ``s_rank``, ``s_period``) therefore keep an older period's values;
  for every SJ that runs they equal the generic path's;
* the idle-skip test stops at the first ready SJ instead of building the RQ;
* every per-period buffer is allocated once per run, not once per period.

The period's event loop is :func:`scheduler.sim.kernels.run_period` itself, the SA heuristic's
inner step :func:`scheduler.sim.policy_kernels.best_sa`: the fused loop copies neither.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim.kernels import ceil_boundary, contention, drop_job, first_waiting, floor_boundary_before, njit, run_period
from scheduler.sim.policy_kernels import best_sa

NO_WAITING, WAITING_NOT_READY, READY = 0, 1, 2


@njit(cache=True, inline="always")
def _scan_ready(act, n_act, j_base, j_nl, s_state, s_npred, j_skip, want_ready):
    """Whether the active jobs have waiting SJs (``WAITING_NOT_READY``) and, with ``want_ready``,
    whether one of them has every predecessor done (``READY``, returned at the first one found)."""
    found = NO_WAITING
    for a in range(n_act):
        j = act[a]
        e = j_base[j] + j_nl[j]
        s = first_waiting(j, j_base, j_nl, s_state, j_skip)
        if s < e:
            if not want_ready:
                return WAITING_NOT_READY
            found = WAITING_NOT_READY
            for q in range(s, e):
                if s_state[q] == 0 and s_npred[q] == 0:
                    return READY
    return found


@njit(cache=True, inline="always")
def _fcfs_scan(act_a, n_arr, t, end, j_status, j_base, j_nl, s_state, s_sa, j_skip, run_rem, min_lat,
               sj_glayer, pred_ptr_g, pred_flat_g, lb_sj, ord_sj, nP):
    """The RQ in FCFS order into ``ord_sj`` (returns its length) and, in ``nP[0]``, the length of
    the shortest prefix of that order holding every SJ able to start before ``end``.

    Why the prefix is exact: an entry's SA depends only on the entries before it in the order,
    and an SA dispatches only ready entries, so entries that cannot become ready in the period
    change nothing in it (the rest are re-decided next period, as the generic path re-decides
    every unstarted SJ). "Cannot become ready" uses a lower bound of each entry's start: a running
    predecessor ends no sooner than ``t`` + its remaining work (DRAM contention only slows it), a
    waiting one no sooner than its own bound + its fastest latency. ``lb_sj[s]`` is that bound
    + the SJ's fastest latency, infinite when the start bound passes ``end`` (with a margin far
    above the rounding of the event loop's clock, so an entry in doubt stays in the prefix)."""
    lim = end + 1e-9 * (1.0 + abs(end))
    n = 0
    P = 0
    for a in range(n_arr):
        j = act_a[a]
        if j_status[j] != 1:
            continue
        base = j_base[j]
        for s in range(first_waiting(j, j_base, j_nl, s_state, j_skip), base + j_nl[j]):
            if s_state[s] != 0:
                continue
            g = sj_glayer[s]
            lb = t
            for p in range(pred_ptr_g[g], pred_ptr_g[g + 1]):
                q = base + pred_flat_g[p]
                st = s_state[q]
                if st == 0:
                    e = lb_sj[q]  # a waiting pred precedes s in this scan: bounded already
                elif st == 1:
                    e = t + run_rem[s_sa[q]]
                else:
                    continue
                if e > lb:
                    lb = e
            fin = lb + min_lat[g] if lb <= lim else np.inf
            lb_sj[s] = fin
            ord_sj[n] = s
            n += 1
            if fin < np.inf:
                P = n
    nP[0] = P
    return n


@njit(cache=True, inline="always")
def _fcfs_assign(ord_sj, P, now, busy_now, solo, sj_job, sj_glayer, j_base, pred_ptr_g, pred_flat_g, s_state, s_sa,
                 lb_sj, est_sj, avail, avail0, cand, k, M, s_period, s_asg, s_rank, by_rank, sa_ptr, sa_items, head):
    """FCFS-H's earliest-finish SA heuristic over the first ``P`` entries of ``ord_sj`` (a waiting
    pred: its estimate; a running one: its SA's initial free time), then the SA queues in rank
    order (:func:`~scheduler.sim.kernels.apply_order` without its scratch allocations). An entry
    that cannot start this period (``lb_sj`` infinite) keeps its rank but stays out of its SA's
    queue: the dispatcher would only step over it."""
    for m in range(M):
        avail[m] = now + busy_now[m]
        avail0[m] = avail[m]
    for m in range(M + 1):
        sa_ptr[m] = 0
    nc = 0
    for r in range(P):
        s = ord_sj[r]
        g = sj_glayer[s]
        base = j_base[sj_job[s]]
        rt = now
        for p in range(pred_ptr_g[g], pred_ptr_g[g + 1]):
            q = base + pred_flat_g[p]
            st = s_state[q]
            if st == 0:
                e = est_sj[q]
            elif st == 1:
                e = avail0[s_sa[q]]
            else:
                continue
            if e > rt:
                rt = e
        best, bm = best_sa(avail, rt, solo, g)
        est_sj[s] = best
        avail[bm] = best
        s_rank[s] = r
        s_period[s] = k
        s_asg[s] = bm
        by_rank[r] = s
        if lb_sj[s] < np.inf:
            sa_ptr[bm + 1] += 1
            cand[nc] = r
            nc += 1
    for m in range(M):
        sa_ptr[m + 1] += sa_ptr[m]
        head[m] = sa_ptr[m]
    for c in range(nc):
        r = cand[c]
        m = s_asg[by_rank[r]]
        sa_items[head[m]] = r
        head[m] += 1
    for m in range(M):
        head[m] = sa_ptr[m]


@njit(cache=True, inline="always")
def _admit(j, n_arr, n_active, act_a, act_d, arrival, deadline):
    """Insert job ``j`` (jobs come in arrival order) into the FCFS list (arrival, then deadline,
    then job) and the deadline list (deadline, then job)."""
    d = deadline[j]
    c = n_arr
    while c > 0 and arrival[act_a[c - 1]] == arrival[j] and deadline[act_a[c - 1]] > d:
        act_a[c] = act_a[c - 1]
        c -= 1
    act_a[c] = j
    c = n_active
    while c > 0 and deadline[act_d[c - 1]] > d:
        act_d[c] = act_d[c - 1]
        c -= 1
    act_d[c] = j


@njit(cache=True, inline="always")
def _keep_active(act, n, j_status):
    """Compact ``act[:n]`` to its active jobs (order kept); returns the new length."""
    w = 0
    for a in range(n):
        if j_status[act[a]] == 1:
            act[w] = act[a]
            w += 1
    return w


@njit(cache=True, inline="always")
def _skip_target(k, t, Ts, cap, M, n_running, act_d, n_active, next_job, J, arrival, deadline, j_base, j_nl,
                 s_state, s_npred, j_skip, run_sj, run_rem, run_bw):
    """:meth:`~scheduler.sim.engine.Simulator._skip_target`: the last boundary up to which no SA
    can start anything (``k`` = no skip)."""
    INF = 1 << 62
    w = _scan_ready(act_d, n_active, j_base, j_nl, s_state, s_npred, j_skip, n_running < M)
    if w == READY:  # an idle SA and a ready SJ: the policy must be called now
        return k
    if w == WAITING_NOT_READY:  # nothing starts before the next finish
        demand, rate, mn, first = contention(M, cap, run_sj, run_bw, run_rem)
        K = floor_boundary_before(t + mn / rate, Ts)
    else:
        K = INF
    if K > k and next_job < J:  # a new job brings ready SJs
        ka = ceil_boundary(arrival[next_job], Ts)
        if ka < K:
            K = ka
    if K > k and n_active > 0:
        kd = ceil_boundary(deadline[act_d[0]], Ts)  # the earliest deadline
        if kd < K:
            K = kd
    return k if K >= INF else K


@njit(cache=True)
def simulate_fcfs(
    Ts, skip_idle, cap, arrival, deadline, j_base, j_nl, j_status, j_left, j_finish,
    sj_job, sj_glayer, s_state, s_npred, s_start, s_end, s_sa, s_period, s_asg, s_rank,
    lat, bw, en, solo, succ_ptr, succ_flat, pred_ptr_g, pred_flat_g,
    run_sj, run_rem, run_bw, busy, acc, log, log_n, by_rank, sa_ptr, sa_items, head, counters,
):
    """The whole simulation under FCFS-H in one compiled loop (the same steps as
    :class:`~scheduler.sim.engine.Simulator` with :class:`~scheduler.policies.fcfs.FCFSH`, without
    a Python round trip per period). ``counters`` = [periods, Σ RQ length, last boundary k]."""
    J = len(arrival)
    M = lat.shape[1]
    N = len(sj_job)
    act_d = np.empty(J, dtype=np.int64)  # active jobs by (deadline, job)
    act_a = np.empty(J, dtype=np.int64)  # active jobs in FCFS order; may hold jobs ended mid-period
    n_active = 0
    n_arr = 0
    next_job = 0
    k = 0
    n_running = 0
    busy_now = np.zeros(M)
    j_skip = np.zeros(J, dtype=np.int64)
    ord_sj = np.empty(N, dtype=np.int64)
    cand = np.empty(N, dtype=np.int64)
    lb_sj = np.empty(N)
    est_sj = np.empty(N)
    avail = np.empty(M)
    avail0 = np.empty(M)
    nP = np.zeros(1, dtype=np.int64)
    min_lat = np.empty(lat.shape[0])
    for g in range(lat.shape[0]):
        v = np.inf
        for m in range(M):
            if lat[g, m] < v:
                v = lat[g, m]
        min_lat[g] = v
    while True:
        # ---- period start: forget finished (and dropped) jobs ----
        n_active = _keep_active(act_d, n_active, j_status)
        n_arr = _keep_active(act_a, n_arr, j_status)
        if next_job >= J and n_running == 0 and n_active == 0:
            break
        if n_running == 0 and n_active == 0:
            ka = ceil_boundary(arrival[next_job], Ts)
            if ka > k:
                k = ka
        t = k * Ts
        while next_job < J and arrival[next_job] <= t:
            j_status[next_job] = 1
            _admit(next_job, n_arr, n_active, act_a, act_d, arrival, deadline)
            n_arr += 1
            n_active += 1
            next_job += 1
        # overdue jobs are a prefix of the deadline order
        c = 0
        while c < n_active and deadline[act_d[c]] <= t:
            drop_job(act_d[c], s_state, j_status, j_base, j_nl)
            c += 1
        if c > 0:
            for a in range(c, n_active):
                act_d[a - c] = act_d[a]
            n_active -= c
        # ---- skip stretches where nothing can start ----
        if skip_idle and n_running > 0:
            K = _skip_target(k, t, Ts, cap, M, n_running, act_d, n_active, next_job, J, arrival, deadline, j_base,
                             j_nl, s_state, s_npred, j_skip, run_sj, run_rem, run_bw)
            if K > k:
                for m in range(M + 1):
                    sa_ptr[m] = 0
                for m in range(M):
                    head[m] = 0
                n_running = run_period(
                    t, K * Ts, M, cap, by_rank, sa_ptr, sa_items, head, s_state, s_npred, s_start, s_end, s_sa,
                    sj_job, sj_glayer, j_status, j_left, j_finish, j_base, j_nl, deadline, lat, bw, en,
                    succ_ptr, succ_flat, run_sj, run_rem, run_bw, busy, acc, log, log_n,
                )
                k = K
                continue
        # ---- the policy's period: FCFS order, start bounds, SA heuristic, queues ----
        end = (k + 1) * Ts
        n = _fcfs_scan(act_a, n_arr, t, end, j_status, j_base, j_nl, s_state, s_sa, j_skip, run_rem, min_lat,
                       sj_glayer, pred_ptr_g, pred_flat_g, lb_sj, ord_sj, nP)
        counters[0] += 1
        counters[1] += n
        for m in range(M):
            busy_now[m] = run_rem[m] if run_sj[m] >= 0 else 0.0
        _fcfs_assign(ord_sj, nP[0], t, busy_now, solo, sj_job, sj_glayer, j_base, pred_ptr_g, pred_flat_g, s_state,
                     s_sa, lb_sj, est_sj, avail, avail0, cand, k, M, s_period, s_asg, s_rank, by_rank, sa_ptr,
                     sa_items, head)
        n_running = run_period(
            t, end, M, cap, by_rank, sa_ptr, sa_items, head, s_state, s_npred, s_start, s_end, s_sa,
            sj_job, sj_glayer, j_status, j_left, j_finish, j_base, j_nl, deadline, lat, bw, en,
            succ_ptr, succ_flat, run_sj, run_rem, run_bw, busy, acc, log, log_n,
        )
        k += 1
    counters[2] = k
    return n_running
