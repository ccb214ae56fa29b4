"""The event-driven multi-tenant MAS simulator.

Time is cut into scheduling periods ``[k·Ts, (k+1)·Ts)``. At each period start the simulator

1. admits the jobs that arrived since the last period (all their SJs join the ready queue, RQ),
2. drops every unfinished job whose deadline has passed (its waiting SJs leave the RQ: a miss),
3. calls the policy with the RQ sorted by absolute deadline and each SA's remaining busy time,
4. runs the period event by event: each idle SA starts, non-preemptively, the highest-priority SJ
   assigned to it whose predecessors are done; when an SJ finishes, its successors may become
   ready. Running SJs share the DRAM (:mod:`scheduler.sim.contention`): the progress rate is
   recomputed at every start and finish. SJs still waiting at the period's end form the residual
   RQ of the next period; SJs still running carry on.

A job whose deadline passes while it waits is dropped lazily the moment one of its SJs would start
(and at the next period start at the latest). A job completes when its last SJ finishes; it is a
hit if that is no later than its deadline.

The hot loop works on ``array.array`` / ``bytearray`` buffers indexed by int (fast scalar access
from Python) that are also exposed as numpy views for the vectorised per-period work; no pandas
and no per-event objects.
"""

from __future__ import annotations

import copy
import math
import time
from array import array
from heapq import heappop, heappush
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from scheduler.sim.jobs import JobSet
from scheduler.sim.view import Decision, PeriodView, table_pred_counts
from scheduler.table import SimTable

# a finish closer than this to the current time is simultaneous (seconds; latencies are ≥ ns)
_EPS_S = 1e-13

WAITING, RUNNING, DONE, DROPPED = 0, 1, 2, 3
J_PENDING, J_ACTIVE, J_HIT, J_LATE, J_DROPPED = 0, 1, 2, 3, 4


class Simulator:
    """One simulation of a trace on a table's platform under a policy.

    ``policy`` is any object with ``schedule(view: PeriodView) -> Decision`` (and optionally
    ``reset(seed)``). ``record_dram`` keeps the piecewise-constant DRAM demand log (for checks and
    plots). ``seed`` is handed to the policy's ``reset`` so stochastic policies are reproducible.
    """

    def __init__(
        self,
        table: SimTable,
        trace: pd.DataFrame | JobSet,
        policy: Any,
        period_s: float,
        *,
        seed: int = 0,
        record_dram: bool = False,
        trace_source: str = "",
    ) -> None:
        if not (period_s > 0 and math.isfinite(period_s)):
            raise MascotError(f"scheduling period must be > 0 s, got {period_s}")
        self.table = table
        self.jobs = trace if isinstance(trace, JobSet) else JobSet.from_trace(trace, table, source=trace_source)
        self.policy = policy
        self.period_s = float(period_s)
        self.seed = int(seed)
        self.record_dram = record_dram
        self.capacity_gbps = float(table.platform.dram_gbps)
        self._lat, self._bw, self._en = table.as_lists()
        self._succs = table.succs_local
        M = table.n_sa
        jobs = self.jobs
        N, J = jobs.n_sj, jobs.n_jobs
        self.M = M
        # --- per SJ (array buffers + numpy views) ---
        self.s_state = bytearray(N)
        self.s_npred = array("i", table_pred_counts(table)[jobs.sj_glayer].astype(np.int32).tobytes())
        self.s_sa = array("i", bytes(4 * N))
        self.s_asg = array("i", bytes(4 * N))
        self.s_rank = array("i", bytes(4 * N))
        self.s_period = array("i", (np.full(N, -1, dtype=np.int32)).tobytes())
        self.s_start = array("d", np.full(N, np.nan).tobytes())
        self.s_end = array("d", np.full(N, np.nan).tobytes())
        self._sj_job = jobs.sj_job.tolist()
        self._sj_glayer = jobs.sj_glayer.tolist()
        # --- per job ---
        self.j_status = bytearray(J)
        self.j_left = array("i", jobs.n_layers.astype(np.int32).tobytes())
        self.j_finish = array("d", np.full(J, np.nan).tobytes())
        self._j_base = jobs.base.tolist()
        self._j_deadline = jobs.deadline_s.tolist()
        # --- per SA ---
        self.run_sj = [-1] * M
        self.run_rem = [0.0] * M
        self.run_bw = [0.0] * M
        self.busy_s = [0.0] * M
        self.heaps: list[list[int]] = [[] for _ in range(M)]
        self._by_rank: list[int] = []
        # --- clocks and accumulators ---
        self.t = 0.0
        self.k = 0
        self.n_running = 0
        self.demand = 0.0
        self.dyn_energy_pj = 0.0
        self.dram_gb = 0.0  # ∫ effective bandwidth dt  (GB)
        self.dram_log: list[tuple[float, float, float, float]] = []
        self.next_job = 0
        self.active = np.zeros(0, dtype=np.int64)
        self.rq = np.zeros(0, dtype=np.int64)
        self.decision_s: list[float] = []
        self.rq_lengths: list[int] = []
        self.n_periods = 0
        self._done = False

    # ------------------------------------------------------------------------------------------
    # numpy views of the buffers (zero-copy)
    @property
    def state_np(self) -> np.ndarray:
        return np.frombuffer(self.s_state, dtype=np.uint8)

    def _np(self, buf: Any, dtype: Any) -> np.ndarray:
        return np.frombuffer(buf, dtype=dtype)

    # ------------------------------------------------------------------------------------------
    def run(self, progress: Any = None) -> "Any":
        """Simulate the whole trace; returns a :class:`scheduler.sim.metrics.SimResult`."""
        from scheduler.sim.metrics import collect_result

        if hasattr(self.policy, "reset"):
            self.policy.reset(self.seed)
        while not self._done:
            self.step(progress)
        return collect_result(self)

    def step(self, progress: Any = None) -> PeriodView | None:
        """Simulate one scheduling period (policy call included). Returns the view it used."""
        view = self.begin_period()
        if view is None:
            return None
        if view.n_rq:
            t0 = time.perf_counter()
            decision = self.policy.schedule(view)
            self.decision_s.append(time.perf_counter() - t0)
            self.apply_decision(view, decision)
        self.run_period()
        if progress is not None:
            progress(self)
        return view

    # ------------------------------------------------------------------------------------------
    def begin_period(self) -> PeriodView | None:
        """Admit arrivals, drop overdue jobs, build the RQ; returns the policy's view (None = end)."""
        jobs = self.jobs
        J = jobs.n_jobs
        if len(self.active):
            self.active = self.active[np.frombuffer(self.j_status, dtype=np.uint8)[self.active] == J_ACTIVE]
        if self.next_job >= J and self.n_running == 0 and len(self.active) == 0:
            self._done = True
            return None
        if self.n_running == 0 and len(self.active) == 0:
            # idle system: jump to the first period boundary at or after the next arrival
            a = float(jobs.arrival_s[self.next_job])
            k = int(math.ceil(a / self.period_s))
            if k * self.period_s < a:
                k += 1
            self.k = max(self.k, k)
        t = self.k * self.period_s
        self.t = t
        hi = int(np.searchsorted(jobs.arrival_s, t, side="right"))
        new_sj = None
        if hi > self.next_job:
            new = np.arange(self.next_job, hi)
            jst = np.frombuffer(self.j_status, dtype=np.uint8)
            jst[new] = J_ACTIVE
            first = int(jobs.base[self.next_job])
            last = int(jobs.base[hi - 1] + jobs.n_layers[hi - 1])
            new_sj = np.arange(first, last, dtype=np.int64)
            self.active = np.concatenate([self.active, new])
            self.next_job = hi
        if len(self.active):
            overdue = jobs.deadline_s[self.active] <= t
            if overdue.any():
                for j in self.active[overdue].tolist():
                    self._drop_job(j)
                self.active = self.active[~overdue]
        state = self.state_np
        rq = self.rq[state[self.rq] == WAITING] if len(self.rq) else self.rq
        if new_sj is not None:
            rq = np.concatenate([rq, new_sj])
            # keep only the SJs of jobs that are still active (a new job may already be overdue)
            rq = rq[state[rq] == WAITING]
        if len(rq):
            order = np.lexsort((rq, jobs.deadline_s[jobs.sj_job[rq]]))
            rq = rq[order]
        self.rq = rq
        self.rq_lengths.append(len(rq))
        self.n_periods += 1
        return PeriodView(
            now_s=t,
            period_s=self.period_s,
            period_index=self.k,
            rq_sj=rq,
            table=self.table,
            jobs=jobs,
            sa_busy_s=np.asarray(self.run_rem, dtype=float) * (np.asarray(self.run_sj) >= 0),
            sa_running_sj=np.asarray(self.run_sj, dtype=np.int64),
            sj_state=state,
            dram_gbps=self.capacity_gbps,
            _sim=self,
        )

    def apply_decision(self, view: PeriodView, decision: Decision) -> None:
        """Validate the policy's answer and fill each SA's ready heap for this period."""
        R = view.n_rq
        sa = np.asarray(decision.sa)
        prio = np.asarray(decision.priority, dtype=float)
        if sa.shape != (R,) or prio.shape != (R,):
            raise ValueError(f"policy returned shapes {sa.shape}, {prio.shape}; expected ({R},)")
        if R and (sa.min() < 0 or sa.max() >= self.M or not np.issubdtype(sa.dtype, np.integer)):
            raise ValueError(f"policy returned SA indices outside 0..{self.M - 1}")
        if not np.isfinite(prio).all():
            raise ValueError("policy returned non-finite priorities")
        order = np.lexsort((np.arange(R), -prio))
        rank = np.empty(R, dtype=np.int32)
        rank[order] = np.arange(R, dtype=np.int32)
        rq = view.rq_sj
        np.frombuffer(self.s_period, dtype=np.int32)[rq] = self.k
        np.frombuffer(self.s_asg, dtype=np.int32)[rq] = sa
        np.frombuffer(self.s_rank, dtype=np.int32)[rq] = rank
        self._by_rank = rq[order].tolist()
        ready = np.frombuffer(self.s_npred, dtype=np.int32)[rq] == 0
        r_sa = sa[ready]
        r_rank = rank[ready]
        srt = np.lexsort((r_rank, r_sa))
        r_sa = r_sa[srt]
        r_rank = r_rank[srt]
        bounds = np.searchsorted(r_sa, np.arange(self.M + 1))
        self.heaps = [r_rank[bounds[m] : bounds[m + 1]].tolist() for m in range(self.M)]

    # ------------------------------------------------------------------------------------------
    def _drop_job(self, j: int) -> None:
        self.j_status[j] = J_DROPPED
        b = self._j_base[j]
        seg = self.state_np[b : b + int(self.jobs.n_layers[j])]
        seg[seg == WAITING] = DROPPED

    def run_period(self) -> None:
        """Advance from the period start to its end (the hot loop)."""
        end = (self.k + 1) * self.period_s
        t = self.t
        M = self.M
        cap = self.capacity_gbps
        run_sj, run_rem, run_bw = self.run_sj, self.run_rem, self.run_bw
        heaps = self.heaps
        s_state, s_npred, s_period, s_asg, s_rank = self.s_state, self.s_npred, self.s_period, self.s_asg, self.s_rank
        s_start, s_end, s_sa = self.s_start, self.s_end, self.s_sa
        sj_job, sj_glayer = self._sj_job, self._sj_glayer
        j_status, j_left, j_finish, j_base, j_deadline = (
            self.j_status, self.j_left, self.j_finish, self._j_base, self._j_deadline,
        )
        lat, bw, en, succs = self._lat, self._bw, self._en, self._succs
        by_rank = self._by_rank
        busy = self.busy_s
        k = self.k
        log = self.dram_log if self.record_dram else None
        n_running = self.n_running
        dyn = self.dyn_energy_pj
        dram_gb = self.dram_gb

        def dispatch(m: int, now: float) -> bool:
            h = heaps[m]
            while h:
                sj = by_rank[heappop(h)]
                if s_state[sj] != WAITING:
                    continue
                job = sj_job[sj]
                if j_status[job] != J_ACTIVE:
                    s_state[sj] = DROPPED
                    continue
                if j_deadline[job] <= now:
                    self._drop_job(job)
                    continue
                g = sj_glayer[sj]
                s_state[sj] = RUNNING
                s_start[sj] = now
                s_sa[sj] = m
                run_sj[m] = sj
                run_rem[m] = lat[g][m]
                run_bw[m] = bw[g][m]
                return True
            return False

        for m in range(M):
            if run_sj[m] < 0 and heaps[m] and dispatch(m, t):
                n_running += 1
                dyn += en[sj_glayer[run_sj[m]]][m]
        demand = 0.0
        for m in range(M):
            if run_sj[m] >= 0:
                demand += run_bw[m]
        while n_running:
            rate = 1.0 if demand <= cap else cap / demand
            mn = math.inf
            first = -1
            for m in range(M):
                if run_sj[m] >= 0 and run_rem[m] < mn:
                    mn = run_rem[m]
                    first = m
            dt = mn / rate
            if t + dt > end:
                work = (end - t) * rate
                for m in range(M):
                    if run_sj[m] >= 0:
                        run_rem[m] -= work
                if log is not None and end > t:
                    log.append((t, end, demand, rate))
                dram_gb += demand * rate * (end - t)
                t = end
                break
            work = mn
            for m in range(M):
                if run_sj[m] >= 0:
                    run_rem[m] -= work
            run_rem[first] = 0.0
            if log is not None and dt > 0:
                log.append((t, t + dt, demand, rate))
            dram_gb += demand * rate * dt
            t += dt
            tol = _EPS_S * rate
            for m in range(M):
                sj = run_sj[m]
                if sj >= 0 and run_rem[m] <= tol:
                    # ---- finish ----
                    run_sj[m] = -1
                    run_rem[m] = 0.0
                    run_bw[m] = 0.0
                    n_running -= 1
                    s_state[sj] = DONE
                    s_end[sj] = t
                    busy[m] += t - s_start[sj]
                    job = sj_job[sj]
                    left = j_left[job] - 1
                    j_left[job] = left
                    if left == 0 and j_status[job] == J_ACTIVE:
                        j_finish[job] = t
                        j_status[job] = J_HIT if t <= j_deadline[job] else J_LATE
                    base = j_base[job]
                    for li in succs[sj_glayer[sj]]:
                        s = base + li
                        c = s_npred[s] - 1
                        s_npred[s] = c
                        if c == 0 and s_period[s] == k and s_state[s] == WAITING:
                            heappush(heaps[s_asg[s]], s_rank[s])
            for m in range(M):
                if run_sj[m] < 0 and heaps[m] and dispatch(m, t):
                    n_running += 1
                    dyn += en[sj_glayer[run_sj[m]]][m]
            demand = 0.0
            for m in range(M):
                if run_sj[m] >= 0:
                    demand += run_bw[m]
        else:
            t = end
        self.t = end
        self.n_running = n_running
        self.dyn_energy_pj = dyn
        self.dram_gb = dram_gb
        self.k += 1

    # ------------------------------------------------------------------------------------------
    def clone(self) -> "Simulator":
        """An independent copy of the mutable state (the policy object is shared)."""
        c = copy.copy(self)
        for name in (
            "s_state", "s_npred", "s_sa", "s_asg", "s_rank", "s_period", "s_start", "s_end",
            "j_status", "j_left", "j_finish",
        ):
            setattr(c, name, copy.copy(getattr(self, name)))
        c.run_sj = list(self.run_sj)
        c.run_rem = list(self.run_rem)
        c.run_bw = list(self.run_bw)
        c.busy_s = list(self.busy_s)
        c.heaps = [list(h) for h in self.heaps]
        c.dram_log = list(self.dram_log)
        c.decision_s = list(self.decision_s)
        c.rq_lengths = list(self.rq_lengths)
        return c

    def forecast(self, decision: Decision) -> "Any":
        """What-if: run ``decision`` on a clone to the end of the current period, no arrivals.

        Must be called between :meth:`begin_period` and :meth:`apply_decision` (i.e. from a
        policy's ``schedule``). Returns a :class:`scheduler.sim.forecast.ForecastOutcome`.
        """
        from scheduler.sim.forecast import ForecastOutcome

        c = self.clone()
        view = PeriodView(
            now_s=self.t, period_s=self.period_s, period_index=self.k, rq_sj=self.rq, table=self.table,
            jobs=self.jobs, sa_busy_s=np.zeros(self.M), sa_running_sj=np.asarray(self.run_sj, dtype=np.int64),
            sj_state=c.state_np, dram_gbps=self.capacity_gbps,
        )
        c.apply_decision(view, decision)
        c.run_period()
        end = np.frombuffer(c.s_end, dtype=float)
        return ForecastOutcome.from_finish_times(
            rq_sj=self.rq, sj_end_s=end[self.rq], running_sj=np.asarray(self.run_sj, dtype=np.int64),
            running_end_s=np.array([end[s] if s >= 0 else np.nan for s in self.run_sj]),
            jobs=self.jobs, job_left=np.frombuffer(self.j_left, dtype=np.int32),
            start_s=self.t, end_s=(self.k + 1) * self.period_s,
        )
