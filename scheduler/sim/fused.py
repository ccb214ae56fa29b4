"""FCFS-H simulated as one compiled loop (no Python round trip per period).

:func:`simulate_fcfs` performs exactly the steps of :class:`~scheduler.sim.engine.Simulator`
(admission, deadline drops, idle-period skipping, the RQ, FCFS-H's order and SA heuristic, the
period's event loop) inside numba, so the simulator's throughput is not bounded by Python's
per-period overhead. Tests check that its schedule equals the generic period-by-period path.

Why it is faster than chaining the generic kernels (same arithmetic, so the same bits):

* the active jobs are kept in two lists maintained incrementally: by (deadline, job) for the RQ,
  which :func:`~scheduler.sim.kernels.build_rq` otherwise argsorts every period, and by arrival
  (job order) for FCFS, which otherwise argsorts the RQ's job blocks every period;
* the FCFS-H heuristic reads the predecessors' estimates straight from the table's predecessor
  lists (no per-period CSR of the RQ's predecessors);
* only the prefix of the FCFS order that holds every SJ able to start in the period is decided
  (:func:`_startable_prefix`) and only those SJs enter the SA queues: the other SJs cannot start,
  so their SA choice changes nothing and they are re-decided next period anyway. Their decision
  records (``s_asg``, ``s_rank``, ``s_period``) therefore keep an older period's values; for every
  SJ that runs they equal the generic path's;
* while every SA is busy the RQ is not built, only tested for emptiness;
* every per-period buffer is allocated once per run, not once per period.
"""

from __future__ import annotations

import numpy as np

from scheduler.sim.kernels import drop_job, njit, run_period


@njit(cache=True)
def _ceil_boundary(x, Ts):
    k = int(np.ceil(x / Ts))
    if k * Ts < x:
        k += 1
    return k


@njit(cache=True)
def _rq_from_sorted(act_d, n_active, j_base, j_nl, s_state, out, j_skip, pos, blk_first, blk_len):
    """:func:`~scheduler.sim.kernels.build_rq` over jobs already in (deadline, job) order; also
    records each SJ's RQ position and each job's block (first position, length)."""
    n = 0
    for a in range(n_active):
        j = act_d[a]
        b = j_base[j]
        e = b + j_nl[j]
        s = b + j_skip[j]
        while s < e and s_state[s] != 0:
            s += 1
        j_skip[j] = s - b
        blk_first[j] = n
        while s < e:
            if s_state[s] == 0:
                out[n] = s
                pos[s] = n
                n += 1
            s += 1
        blk_len[j] = n - blk_first[j]
    return n


@njit(cache=True)
def _any_waiting(act_d, n_active, j_base, j_nl, s_state, j_skip):
    """Whether the RQ :func:`_rq_from_sorted` would build is non-empty (without building it)."""
    for a in range(n_active):
        j = act_d[a]
        b = j_base[j]
        e = b + j_nl[j]
        s = b + j_skip[j]
        while s < e and s_state[s] != 0:
            s += 1
        j_skip[j] = s - b
        if s < e:
            return True
    return False


@njit(cache=True)
def _fcfs_order(act_a, n_arr, arrival, j_status, blk_first, blk_len, tmp, order):
    """FCFS order of the RQ positions: job blocks by arrival, ties by RQ (deadline) position, the
    stable argsort of the blocks' arrivals that the generic path computes. ``act_a`` holds the
    active jobs in job order (= arrival order: the trace is sorted by arrival, then job id)."""
    nb = 0
    for a in range(n_arr):
        j = act_a[a]
        if j_status[j] == 1 and blk_len[j] > 0:
            tmp[nb] = j
            nb += 1
    # equal arrivals: order by block position (insertion sort; such runs are short and rare)
    for b in range(1, nb):
        j = tmp[b]
        c = b
        while c > 0 and arrival[tmp[c - 1]] == arrival[j] and blk_first[tmp[c - 1]] > blk_first[j]:
            tmp[c] = tmp[c - 1]
            c -= 1
        tmp[c] = j
    r = 0
    for b in range(nb):
        j = tmp[b]
        f = blk_first[j]
        for i in range(f, f + blk_len[j]):
            order[r] = i
            r += 1


@njit(cache=True)
def _startable_prefix(order, n, rq, t, end, run_rem, min_lat, sj_job, sj_glayer, j_base, pred_ptr_g, pred_flat_g,
                      s_state, s_sa, pos, lb_fin):
    """Length of the shortest prefix of the FCFS ``order`` that holds every RQ entry able to start
    before ``end``. Why it is exact: an entry's SA depends only on the entries before it in the
    order, and an SA dispatches only ready entries, so entries that cannot become ready in the
    period change nothing in it (the SA estimates of the prefix are unchanged; the rest are
    re-decided next period, as the generic path re-decides every unstarted SJ).

    "Cannot become ready" uses a lower bound of each entry's start: a running predecessor ends no
    sooner than ``t`` + its remaining work (DRAM contention only slows it), a waiting one no sooner
    than its own bound + its fastest latency. The bound is compared with a margin far above the
    rounding of the event loop's clock, so an entry in doubt stays in the prefix."""
    lim = end + 1e-9 * (1.0 + abs(end))
    for i in range(n):
        s = rq[i]
        g = sj_glayer[s]
        base = j_base[sj_job[s]]
        lb = t
        for p in range(pred_ptr_g[g], pred_ptr_g[g + 1]):
            q = base + pred_flat_g[p]
            st = s_state[q]
            if st == 0:
                pq = pos[q]
                e = lb_fin[pq] if pq < i else t  # not yet bounded: no bound
            elif st == 1:
                e = t + run_rem[s_sa[q]]
            else:
                continue
            if e > lb:
                lb = e
        lb_fin[i] = lb + min_lat[g] if lb <= lim else np.inf
    P = 0
    for r in range(n):
        if lb_fin[order[r]] < np.inf:
            P = r + 1
    return P


@njit(cache=True)
def _earliest_finish_rq(order, P, n, rq, now, busy_now, solo, sj_job, sj_glayer, j_base, pred_ptr_g, pred_flat_g,
                        s_state, s_sa, pos, avail, avail0, est, sa):
    """:func:`~scheduler.sim.policy_kernels.earliest_finish` with the predecessors looked up in
    the table (a waiting pred: its estimate; a running one: its SA's initial free time). Only the
    first ``P`` entries of ``order`` are assigned; estimates of all ``n`` RQ entries start at ``now``."""
    M = solo.shape[1]
    for m in range(M):
        avail[m] = now + busy_now[m]
        avail0[m] = avail[m]
    for i in range(n):
        est[i] = now
    for oi in range(P):
        i = order[oi]
        s = rq[i]
        g = sj_glayer[s]
        base = j_base[sj_job[s]]
        rt = now
        for p in range(pred_ptr_g[g], pred_ptr_g[g + 1]):
            q = base + pred_flat_g[p]
            st = s_state[q]
            if st == 0:
                e = est[pos[q]]
            elif st == 1:
                e = avail0[s_sa[q]]
            else:
                continue
            if e > rt:
                rt = e
        best = np.inf
        bm = 0
        for m in range(M):
            a = avail[m]
            f = (a if a > rt else rt) + solo[g, m]
            if f < best:
                best = f
                bm = m
        sa[i] = bm
        est[i] = best
        avail[bm] = best


@njit(cache=True)
def _queues(order, n, rq, sa, lb_fin, k, M, s_period, s_asg, s_rank, by_rank, sa_ptr, sa_items, head):
    """:func:`~scheduler.sim.kernels.apply_order` without its scratch allocations, for the first
    ``n`` entries of ``order``; an entry that cannot start this period (``lb_fin`` infinite) keeps
    its rank but is left out of its SA's queue: the dispatcher would only step over it."""
    for m in range(M + 1):
        sa_ptr[m] = 0
    for r in range(n):
        i = order[r]
        s = rq[i]
        s_rank[s] = r
        s_period[s] = k
        s_asg[s] = sa[i]
        by_rank[r] = s
        if lb_fin[i] < np.inf:
            sa_ptr[sa[i] + 1] += 1
    for m in range(M):
        sa_ptr[m + 1] += sa_ptr[m]
        head[m] = sa_ptr[m]
    for r in range(n):
        i = order[r]
        if lb_fin[i] < np.inf:
            m = sa[i]
            sa_items[head[m]] = r
            head[m] += 1
    for m in range(M):
        head[m] = sa_ptr[m]


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
    N = len(sj_job)
    act_d = np.empty(J, dtype=np.int64)  # active jobs by (deadline, job)
    act_a = np.empty(J, dtype=np.int64)  # active jobs by job (= arrival) order; may hold dropped ones
    n_active = 0
    n_arr = 0
    next_job = 0
    k = 0
    n_running = 0
    busy_now = np.zeros(M)
    j_skip = np.zeros(J, dtype=np.int64)
    blk_first = np.zeros(J, dtype=np.int64)
    blk_len = np.zeros(J, dtype=np.int64)
    tmp = np.empty(J, dtype=np.int64)
    order = np.empty(N, dtype=np.int64)
    sa = np.empty(N, dtype=np.int64)
    est = np.empty(N)
    avail = np.empty(M)
    avail0 = np.empty(M)
    lb_fin = np.empty(N)
    min_lat = np.empty(lat.shape[0])
    for g in range(lat.shape[0]):
        v = np.inf
        for m in range(M):
            if lat[g, m] < v:
                v = lat[g, m]
        min_lat[g] = v
    while True:
        # ---- period start: forget finished (and dropped) jobs ----
        w = 0
        for a in range(n_active):
            if j_status[act_d[a]] == 1:
                act_d[w] = act_d[a]
                w += 1
        n_active = w
        w = 0
        for a in range(n_arr):
            if j_status[act_a[a]] == 1:
                act_a[w] = act_a[a]
                w += 1
        n_arr = w
        if next_job >= J and n_running == 0 and n_active == 0:
            break
        if n_running == 0 and n_active == 0:
            ka = _ceil_boundary(arrival[next_job], Ts)
            if ka > k:
                k = ka
        t = k * Ts
        while next_job < J and arrival[next_job] <= t:
            j = next_job
            j_status[j] = 1
            act_a[n_arr] = j
            n_arr += 1
            d = deadline[j]
            c = n_active
            while c > 0 and deadline[act_d[c - 1]] > d:
                act_d[c] = act_d[c - 1]
                c -= 1
            act_d[c] = j
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
        need_rq = True
        if skip_idle and n_running > 0:
            if n_running == M:  # every SA busy: only whether the RQ is empty matters here
                n = 1 if _any_waiting(act_d, n_active, j_base, j_nl, s_state, j_skip) else 0
            else:
                n = _rq_from_sorted(act_d, n_active, j_base, j_nl, s_state, rq_buf, j_skip, pos, blk_first, blk_len)
                need_rq = False
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
                kd = _ceil_boundary(deadline[act_d[0]], Ts)  # the earliest deadline
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
        if need_rq:
            n = _rq_from_sorted(act_d, n_active, j_base, j_nl, s_state, rq_buf, j_skip, pos, blk_first, blk_len)
        counters[0] += 1
        counters[1] += n
        if n > 0:
            _fcfs_order(act_a, n_arr, arrival, j_status, blk_first, blk_len, tmp, order)
            for m in range(M):
                busy_now[m] = run_rem[m] if run_sj[m] >= 0 else 0.0
            P = _startable_prefix(order, n, rq_buf, t, (k + 1) * Ts, run_rem, min_lat, sj_job, sj_glayer, j_base,
                                  pred_ptr_g, pred_flat_g, s_state, s_sa, pos, lb_fin)
            _earliest_finish_rq(order, P, n, rq_buf, t, busy_now, solo, sj_job, sj_glayer, j_base, pred_ptr_g,
                                pred_flat_g, s_state, s_sa, pos, avail, avail0, est, sa)
            _queues(order, P, rq_buf, sa, lb_fin, k, M, s_period, s_asg, s_rank, by_rank, sa_ptr, sa_items, head)
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
