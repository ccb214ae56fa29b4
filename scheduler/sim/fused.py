"""FCFS-H simulated as one compiled loop (no Python round trip per period).

:func:`simulate_fcfs` performs exactly the steps of :class:`~scheduler.sim.engine.Simulator`
(admission, deadline drops, idle-period skipping, the RQ, FCFS-H's order and SA heuristic, the
period's event loop) inside numba, so the simulator's throughput is not bounded by Python's
per-period overhead. Tests check that its schedule equals the generic period-by-period path.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim.kernels import apply_order, build_rq, drop_job, njit, pred_csr, run_period
from scheduler.sim.policy_kernels import earliest_finish


@njit(cache=True)
def _ceil_boundary(x, Ts):
    k = int(np.ceil(x / Ts))
    if k * Ts < x:
        k += 1
    return k


@njit(cache=True)
def simulate_fcfs(
    Ts, skip_idle, cap, arrival, deadline, j_base, j_nl, j_status, j_left, j_finish,
    sj_job, sj_glayer, s_state, s_npred, s_start, s_end, s_sa, s_period, s_asg, s_rank,
    lat, bw, en, solo, succ_ptr, succ_flat, pred_ptr_g, pred_flat_g,
    run_sj, run_rem, run_bw, busy, acc, log, log_n, by_rank, sa_ptr, sa_items, head, rq_buf, pos, counters,
):
    """The whole simulation under FCFS-H in one compiled loop (the same steps as
    :class:`~scheduler.sim.engine.Simulator` with :class:`~scheduler.policies.fcfs.FCFSH`, without
    a Python round trip per period). ``counters`` = [periods, Σ RQ length, last boundary k]."""
    J = len(arrival)
    M = lat.shape[1]
    active = np.empty(J, dtype=np.int64)
    n_active = 0
    next_job = 0
    k = 0
    n_running = 0
    busy_now = np.zeros(M)
    j_skip = np.zeros(J, dtype=np.int64)
    blk_start = np.empty(J + 1, dtype=np.int64)
    blk_key = np.empty(J + 1)
    while True:
        # ---- period start: forget finished jobs ----
        w = 0
        for a in range(n_active):
            if j_status[active[a]] == 1:
                active[w] = active[a]
                w += 1
        n_active = w
        if next_job >= J and n_running == 0 and n_active == 0:
            break
        if n_running == 0 and n_active == 0:
            ka = _ceil_boundary(arrival[next_job], Ts)
            if ka > k:
                k = ka
        t = k * Ts
        while next_job < J and arrival[next_job] <= t:
            j_status[next_job] = 1
            active[n_active] = next_job
            n_active += 1
            next_job += 1
        w = 0
        for a in range(n_active):
            j = active[a]
            if deadline[j] <= t:
                drop_job(j, s_state, j_status, j_base, j_nl)
            else:
                active[w] = j
                w += 1
        n_active = w
        n = build_rq(active[:n_active], deadline, j_base, j_nl, s_state, rq_buf, j_skip)
        # ---- skip stretches where nothing can start ----
        if skip_idle and n_running > 0:
            K = k
            INF = 1 << 62
            if n > 0:
                all_busy = True
                demand = 0.0
                mn = np.inf
                for m in range(M):
                    if run_sj[m] < 0:
                        all_busy = False
                    demand += run_bw[m]
                    if run_rem[m] < mn:
                        mn = run_rem[m]
                if not all_busy:  # idle SAs matter only if some waiting SJ is ready
                    all_busy = True
                    for i in range(n):
                        if s_npred[rq_buf[i]] == 0:
                            all_busy = False
                            break
                    if all_busy:  # the earliest finish among the running SJs
                        mn = np.inf
                        for m in range(M):
                            if run_sj[m] >= 0 and run_rem[m] < mn:
                                mn = run_rem[m]
                if all_busy:
                    rate = 1.0 if demand <= cap else cap / demand
                    tf = t + mn / rate
                    K = int(np.floor(tf / Ts))
                    if K * Ts >= tf:
                        K -= 1
            else:
                K = INF
            if K > k and next_job < J:  # a new job brings ready SJs
                ka = _ceil_boundary(arrival[next_job], Ts)
                if ka < K:
                    K = ka
            if K > k and n_active > 0:
                dmin = np.inf
                for a in range(n_active):
                    if deadline[active[a]] < dmin:
                        dmin = deadline[active[a]]
                kd = _ceil_boundary(dmin, Ts)
                if kd < K:
                    K = kd
            if K >= INF:
                K = k
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
        counters[0] += 1
        counters[1] += n
        if n > 0:
            rq = rq_buf[:n]
            pptr, ppos = pred_csr(rq, sj_job, sj_glayer, j_base, pred_ptr_g, pred_flat_g, s_state, s_sa, pos)
            # FCFS order = stable sort of the entries by arrival; a job's entries are contiguous in
            # the RQ and share the arrival, so sorting the job blocks gives the same order cheaply
            gl = np.empty(n, dtype=np.int64)
            nb = 0
            for i in range(n):
                gl[i] = sj_glayer[rq[i]]
                j = sj_job[rq[i]]
                if i == 0 or j != sj_job[rq[i - 1]]:
                    blk_start[nb] = i
                    blk_key[nb] = arrival[j]
                    nb += 1
            blk_start[nb] = n
            border = np.argsort(blk_key[:nb], kind="mergesort")
            order = np.empty(n, dtype=np.int64)
            r = 0
            for b in border:
                for i in range(blk_start[b], blk_start[b + 1]):
                    order[r] = i
                    r += 1
            for m in range(M):
                busy_now[m] = run_rem[m] if run_sj[m] >= 0 else 0.0
            sa, _est = earliest_finish(order, t, busy_now, solo, gl, pptr, ppos)
            apply_order(rq, sa, order, k, M, s_period, s_asg, s_rank, by_rank, sa_ptr, sa_items, head)
        else:
            for m in range(M + 1):
                sa_ptr[m] = 0
            for m in range(M):
                head[m] = 0
        n_running = run_period(
            t, (k + 1) * Ts, M, cap, by_rank, sa_ptr, sa_items, head, s_state, s_npred, s_start, s_end, s_sa,
            sj_job, sj_glayer, j_status, j_left, j_finish, j_base, j_nl, deadline, lat, bw, en,
            succ_ptr, succ_flat, run_sj, run_rem, run_bw, busy, acc, log, log_n,
        )
        k += 1
    counters[2] = k
    return n_running
