"""The simulator's hot loops as numba-compiled kernels over flat numpy arrays.

Everything the engine runs per SJ or per RQ entry lives here: building the RQ, turning a decision
into per-SA queues, the event loop of one period (starts, finishes, DRAM contention, lazy deadline
drops) and the precedence links inside a period. The policies' loops are in
:mod:`scheduler.sim.policy_kernels`, the batch forecast in :mod:`scheduler.sim.forecast_kernel`,
the fused FCFS-H simulation in :mod:`scheduler.sim.fused`. The kernels are
plain numpy-and-loops Python: with numba installed they are compiled (``cache=True``, so only the
first process pays the compile time); without it they run as ordinary Python, slowly but with
identical results.

One copy of each rule: the fused FCFS-H loop and the batch forecast call :func:`run_period`
(the only place where SJs start and finish) and :func:`contention` (the DRAM sharing rule); the
helpers marked ``inline="always"`` are inlined by numba into their callers, so sharing them costs
no call (nor the reference counting of a call's array arguments) in the hot loops.

State layout (all indexed by int): per SJ ``s_state`` (0 waiting, 1 running, 2 done, 3 dropped),
``s_npred`` (unfinished predecessors), ``s_sa``, ``s_start``, ``s_end``; per job ``j_status``
(0 pending, 1 active, 2 hit, 3 late, 4 dropped), ``j_left`` (SJs not finished), ``j_finish``;
per SA ``run_sj`` (-1 idle), ``run_rem`` (remaining unstalled seconds), ``run_bw`` (GB/s).
"""

from __future__ import annotations

import numpy as np

try:  # numba is optional: the same code runs (slowly) as Python without it
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is absent
    HAVE_NUMBA = False

    def njit(*args, **kwargs):  # type: ignore[no-redef]
        if args and callable(args[0]):
            return args[0]
        return lambda f: f


EPS_S = 1e-13  # finishes closer than this (× rate) are simultaneous


@njit(cache=True, inline="always")
def ceil_boundary(x, Ts):
    """The first period boundary ``k`` with ``k * Ts >= x`` (robust to ``x / Ts`` rounding down)."""
    k = int(np.ceil(x / Ts))
    if k * Ts < x:
        k += 1
    return k


@njit(cache=True, inline="always")
def floor_boundary_before(x, Ts):
    """The last period boundary ``K`` with ``K * Ts < x``."""
    K = int(np.floor(x / Ts))
    if K * Ts >= x:
        K -= 1
    return K


@njit(cache=True, inline="always")
def drop_job(j, s_state, j_status, j_base, j_nl):
    """Mark job ``j`` dropped and its waiting SJs dropped (running SJs finish normally)."""
    j_status[j] = 4
    b = j_base[j]
    for s in range(b, b + j_nl[j]):
        if s_state[s] == 0:
            s_state[s] = 3


@njit(cache=True, inline="always")
def first_waiting(j, j_base, j_nl, s_state, j_skip):
    """First waiting SJ of job ``j`` (its end ``b + j_nl[j]`` if none); advances ``j_skip[j]``.

    ``j_skip[j]`` counts the job's leading SJs known not to be waiting (they never wait again),
    so the finished prefixes of long models are not rescanned every period."""
    b = j_base[j]
    e = b + j_nl[j]
    s = b + j_skip[j]
    while s < e and s_state[s] != 0:
        s += 1
    j_skip[j] = s - b
    return s


@njit(cache=True)
def build_rq(active, j_deadline, j_base, j_nl, s_state, out, j_skip):
    """Waiting SJs of ``active`` jobs into ``out``, by (deadline, job, layer); returns the count."""
    order = np.argsort(j_deadline[active], kind="mergesort")
    n = 0
    for oi in range(len(order)):
        j = active[order[oi]]
        e = j_base[j] + j_nl[j]
        for s in range(first_waiting(j, j_base, j_nl, s_state, j_skip), e):
            if s_state[s] == 0:
                out[n] = s
                n += 1
    return n


@njit(cache=True)
def apply_decision(rq, sa, prio, k, M, s_period, s_asg, s_rank, by_rank, sa_ptr, sa_items, head):
    """Rank the RQ by priority (ties: RQ order) and build each SA's queue in rank order."""
    apply_order(rq, sa, np.argsort(-prio, kind="mergesort"), k, M, s_period, s_asg, s_rank, by_rank, sa_ptr, sa_items, head)


@njit(cache=True)
def apply_order(rq, sa, order, k, M, s_period, s_asg, s_rank, by_rank, sa_ptr, sa_items, head):
    """:func:`apply_decision` when the execution order (RQ positions, first runs first) is known."""
    R = len(rq)
    counts = np.zeros(M + 1, dtype=np.int64)
    for r in range(R):
        i = order[r]
        s = rq[i]
        s_rank[s] = r
        s_period[s] = k
        s_asg[s] = sa[i]
        by_rank[r] = s
        counts[sa[i] + 1] += 1
    sa_ptr[0] = 0
    for m in range(M):
        sa_ptr[m + 1] = sa_ptr[m] + counts[m + 1]
        head[m] = sa_ptr[m]
    fill = sa_ptr[:M].copy()
    for r in range(R):
        m = s_asg[by_rank[r]]
        sa_items[fill[m]] = r
        fill[m] += 1


@njit(cache=True, inline="always")
def contention(M, cap, run_sj, run_bw, run_rem):
    """The shared-DRAM state of the running SJs: (demand GB/s, common progress rate, remaining
    unstalled time of the SJ that finishes first, its SA). Over capacity every running SJ
    progresses at capacity / demand (the issue's contention rule); the engine, the fused loop
    and the batch forecast all step time with this one function, so they agree to the bit."""
    demand = 0.0
    for m in range(M):
        if run_sj[m] >= 0:
            demand += run_bw[m]
    rate = 1.0 if demand <= cap else cap / demand
    mn = np.inf
    first = -1
    for m in range(M):
        if run_sj[m] >= 0 and run_rem[m] < mn:
            mn = run_rem[m]
            first = m
    return demand, rate, mn, first


@njit(cache=True, inline="always")
def _log_dram(log, log_n, t0, t1, demand, rate):
    n = log_n[0]
    log[n, 0] = t0
    log[n, 1] = t1
    log[n, 2] = demand
    log[n, 3] = rate
    log_n[0] = n + 1


@njit(cache=True)
def run_period(
    t, end, M, cap, by_rank, sa_ptr, sa_items, head,
    s_state, s_npred, s_start, s_end, s_sa,
    sj_job, sj_glayer, j_status, j_left, j_finish, j_base, j_nl, j_deadline,
    lat, bw, en, succ_ptr, succ_flat,
    run_sj, run_rem, run_bw, busy, acc, log, log_n,
):
    """Advance from ``t`` to ``end``. ``acc`` = [dynamic energy pJ, DRAM GB moved]; ``log_n[0]``
    counts DRAM-log rows written to ``log`` (only when ``log_n[1]`` is 1). Returns SJs running.

    ``succ_ptr`` / ``succ_flat`` list each global layer's successors as offsets from its job's
    first SJ (``j_base``); the batch forecast reuses this kernel on a compact per-period state
    whose "layers" are the RQ entries themselves (:mod:`scheduler.sim.forecast_kernel`)."""
    record = log_n[1] == 1
    n_running = 0
    for m in range(M):
        if run_sj[m] >= 0:
            n_running += 1
    while True:
        # every idle SA starts its highest-priority ready SJ (jobs past their deadline are dropped
        # on the way); written out here, not as a helper: this is the innermost loop
        for m in range(M):
            if run_sj[m] >= 0:
                continue
            i = head[m]
            stop = sa_ptr[m + 1]
            while i < stop and s_state[by_rank[sa_items[i]]] != 0:
                i += 1
            head[m] = i
            while i < stop:
                s = by_rank[sa_items[i]]
                i += 1
                if s_state[s] != 0 or s_npred[s] != 0:
                    continue
                j = sj_job[s]
                if j_status[j] != 1:
                    s_state[s] = 3
                elif j_deadline[j] <= t:
                    drop_job(j, s_state, j_status, j_base, j_nl)
                else:
                    g = sj_glayer[s]
                    s_state[s] = 1
                    s_start[s] = t
                    s_sa[s] = m
                    run_sj[m] = s
                    run_rem[m] = lat[g, m]
                    run_bw[m] = bw[g, m]
                    acc[0] += en[g, m]
                    n_running += 1
                    break
        if n_running == 0:
            return 0
        demand, rate, mn, first = contention(M, cap, run_sj, run_bw, run_rem)
        dt = mn / rate
        if t + dt > end:
            work = (end - t) * rate
            for m in range(M):
                if run_sj[m] >= 0:
                    run_rem[m] -= work
            if record and end > t:
                _log_dram(log, log_n, t, end, demand, rate)
            acc[1] += demand * rate * (end - t)
            return n_running
        for m in range(M):
            if run_sj[m] >= 0:
                run_rem[m] -= mn
        run_rem[first] = 0.0
        if record and dt > 0:
            _log_dram(log, log_n, t, t + dt, demand, rate)
        acc[1] += demand * rate * dt
        t = t + dt
        tol = EPS_S * rate
        for m in range(M):
            s = run_sj[m]
            if s >= 0 and run_rem[m] <= tol:
                run_sj[m] = -1
                run_rem[m] = 0.0
                run_bw[m] = 0.0
                n_running -= 1
                s_state[s] = 2
                s_end[s] = t
                busy[m] += t - s_start[s]
                j = sj_job[s]
                left = j_left[j] - 1
                j_left[j] = left
                if left == 0 and j_status[j] == 1:
                    j_finish[j] = t
                    j_status[j] = 2 if t <= j_deadline[j] else 3
                base = j_base[j]
                g = sj_glayer[s]
                for p in range(succ_ptr[g], succ_ptr[g + 1]):
                    s_npred[base + succ_flat[p]] -= 1


@njit(cache=True)
def pred_csr(rq, sj_job, sj_glayer, j_base, pred_ptr_g, pred_flat_g, s_state, s_sa, pos):
    """Unfinished preds of each RQ entry: RQ position, or R + SA for a running one (CSR).

    ``pos`` is an int64 scratch array of one entry per SJ (only RQ entries are written/read)."""
    R = len(rq)
    for i in range(R):
        pos[rq[i]] = i
    total = 0
    for i in range(R):
        g = sj_glayer[rq[i]]
        total += pred_ptr_g[g + 1] - pred_ptr_g[g]
    out = np.empty(total, dtype=np.int64)
    ptr = np.zeros(R + 1, dtype=np.int64)
    n = 0
    for i in range(R):
        s = rq[i]
        g = sj_glayer[s]
        base = j_base[sj_job[s]]
        for p in range(pred_ptr_g[g], pred_ptr_g[g + 1]):
            q = base + pred_flat_g[p]
            st = s_state[q]
            if st == 0:
                out[n] = pos[q]
                n += 1
            elif st == 1:
                out[n] = R + s_sa[q]
                n += 1
        ptr[i + 1] = n
    return ptr, out[:n]
