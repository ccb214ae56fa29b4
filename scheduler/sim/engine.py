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

The per-SJ work runs in the numba kernels of :mod:`scheduler.sim.kernels` over flat numpy arrays
indexed by int; Python only orchestrates periods and calls the policy. No pandas, no per-event
objects.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from scheduler.sim import kernels
from scheduler.sim.jobs import JobSet
from scheduler.sim.view import Decision, PeriodView, table_pred_counts, table_succ_flat
from scheduler.table import SimTable

WAITING, RUNNING, DONE, DROPPED = 0, 1, 2, 3
J_PENDING, J_ACTIVE, J_HIT, J_LATE, J_DROPPED = 0, 1, 2, 3, 4


class Simulator:
    """One simulation of a trace on a table's platform under a policy.

    ``policy`` is any object with ``schedule(view: PeriodView) -> Decision`` (and optionally
    ``reset(seed)``). ``record_dram`` keeps the piecewise-constant DRAM demand log (for checks and
    plots). ``seed`` is handed to the policy's ``reset`` so stochastic policies are reproducible.
    """

    _STATE = (
        "s_state", "s_npred", "s_sa", "s_asg", "s_rank", "s_period", "s_start", "s_end",
        "j_status", "j_left", "j_finish", "run_sj", "run_rem", "run_bw", "busy_s", "acc",
        "by_rank", "sa_ptr", "sa_items", "head", "log_n", "_j_skip",
    )

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
        skip_idle: bool = True,
        fused: bool = True,
    ) -> None:
        if not (period_s > 0 and math.isfinite(period_s)):
            raise MascotError(f"scheduling period must be > 0 s, got {period_s}")
        self.table = table
        self.jobs = trace if isinstance(trace, JobSet) else JobSet.from_trace(trace, table, source=trace_source)
        self.policy = policy
        self.period_s = float(period_s)
        self.seed = int(seed)
        self.record_dram = record_dram
        self.skip_idle = skip_idle
        self.fused = fused
        self.fused_run = False
        self.capacity_gbps = float(table.platform.dram_gbps)
        self._lat = np.ascontiguousarray(table.lat_s)
        self._bw = np.ascontiguousarray(table.bw_gbps)
        self._en = np.ascontiguousarray(table.energy_pj)
        self._succ_flat, self._succ_ptr = table_succ_flat(table)
        M = table.n_sa
        jobs = self.jobs
        N, J = jobs.n_sj, jobs.n_jobs
        self.M = M
        self._sj_job = np.ascontiguousarray(jobs.sj_job, dtype=np.int64)
        self._sj_glayer = np.ascontiguousarray(jobs.sj_glayer, dtype=np.int64)
        self._j_base = np.ascontiguousarray(jobs.base, dtype=np.int64)
        self._j_nl = np.ascontiguousarray(jobs.n_layers, dtype=np.int64)
        self._j_deadline = np.ascontiguousarray(jobs.deadline_s, dtype=float)
        # --- per SJ ---
        self.s_state = np.zeros(N, dtype=np.uint8)
        self.s_npred = table_pred_counts(table)[self._sj_glayer].astype(np.int32)
        self.s_sa = np.full(N, -1, dtype=np.int32)
        self.s_asg = np.full(N, -1, dtype=np.int32)
        self.s_rank = np.zeros(N, dtype=np.int32)
        self.s_period = np.full(N, -1, dtype=np.int32)
        self.s_start = np.full(N, np.nan)
        self.s_end = np.full(N, np.nan)
        # --- per job ---
        self.j_status = np.zeros(J, dtype=np.uint8)
        self.j_left = self._j_nl.astype(np.int32)
        self.j_finish = np.full(J, np.nan)
        # --- per SA ---
        self.run_sj = np.full(M, -1, dtype=np.int64)
        self.run_rem = np.zeros(M)
        self.run_bw = np.zeros(M)
        self.busy_s = np.zeros(M)
        # --- this period's queues ---
        self.by_rank = np.zeros(N, dtype=np.int64)
        self.sa_ptr = np.zeros(M + 1, dtype=np.int64)
        self.sa_items = np.zeros(N, dtype=np.int64)
        self.head = np.zeros(M, dtype=np.int64)
        self._rq_buf = np.zeros(N, dtype=np.int64)
        self._j_skip = np.zeros(J, dtype=np.int64)
        # --- clocks and accumulators ---
        self.t = 0.0
        self.k = 0
        self.n_running = 0
        self.acc = np.zeros(2)  # dynamic energy (pJ), DRAM traffic (GB)
        self.log = np.zeros((1024 if record_dram else 1, 4))
        self.log_n = np.array([0, 1 if record_dram else 0], dtype=np.int64)
        self.next_job = 0
        self.active = np.zeros(0, dtype=np.int64)
        self.rq = np.zeros(0, dtype=np.int64)
        self.decision_s: list[float] = []
        self.rq_lengths: list[int] = []
        self.n_periods = 0
        self._done = False

    # ------------------------------------------------------------------------------------------
    @property
    def state_np(self) -> np.ndarray:
        return self.s_state

    @property
    def dyn_energy_pj(self) -> float:
        return float(self.acc[0])

    @property
    def dram_gb(self) -> float:
        return float(self.acc[1])

    @property
    def dram_log(self) -> np.ndarray:
        return self.log[: int(self.log_n[0])]

    # ------------------------------------------------------------------------------------------
    def run(self, progress: Any = None) -> "Any":
        """Simulate the whole trace; returns a :class:`scheduler.sim.metrics.SimResult`."""
        from scheduler.sim.metrics import collect_result

        if hasattr(self.policy, "reset"):
            self.policy.reset(self.seed)
        if self.fused and getattr(self.policy, "fused", None) == "fcfs" and not self.record_dram and self.n_periods == 0 and progress is None:
            self._run_fused_fcfs()
        while not self._done:
            self.step(progress)
        return collect_result(self)

    def _run_fused_fcfs(self) -> None:
        """FCFS-H as one compiled loop (:func:`scheduler.sim.fused.simulate_fcfs`): same results, no per-period
        Python round trip. Policy decision time is then not measured per period (NaN)."""
        from scheduler.sim.fused import simulate_fcfs
        from scheduler.sim.view import table_pred_flat

        flat_g, ptr_g = table_pred_flat(self.table)
        counters = np.zeros(3, dtype=np.int64)
        self.n_running = int(
            simulate_fcfs(
                self.period_s, self.skip_idle, self.capacity_gbps, np.ascontiguousarray(self.jobs.arrival_s, dtype=float),
                self._j_deadline, self._j_base, self._j_nl, self.j_status, self.j_left, self.j_finish,
                self._sj_job, self._sj_glayer, self.s_state, self.s_npred, self.s_start, self.s_end, self.s_sa,
                self.s_period, self.s_asg, self.s_rank, self._lat, self._bw, self._en,
                np.ascontiguousarray(self.table.solo_lat_s), self._succ_ptr, self._succ_flat, ptr_g, flat_g,
                self.run_sj, self.run_rem, self.run_bw, self.busy_s, self.acc, self.log, self.log_n,
                self.by_rank, self.sa_ptr, self.sa_items, self.head, counters,
            )
        )
        self.k = int(counters[2])
        self.t = self.k * self.period_s
        self.n_periods = int(counters[0])
        self._rq_sum = int(counters[1])
        self.fused_run = True
        self.next_job = self.jobs.n_jobs
        self.active = self.active[:0]
        self._done = True

    def rq_length_mean(self) -> float:
        """Mean RQ length over the periods in which the policy was called."""
        if self.fused_run:
            return self._rq_sum / max(self.n_periods, 1)
        return float(np.mean(self.rq_lengths)) if self.rq_lengths else 0.0

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
        """Admit arrivals, drop overdue jobs, build the RQ; returns the policy's view (None = end).

        With ``skip_idle`` (default), stretches of periods in which no SA could start anything
        (the RQ is empty, or until the next finish every SA is busy or no waiting SJ is ready)
        are run through in one go
        without calling the policy: its decision could not change anything there. The jump stops
        at the next arrival and the next deadline boundary, so results are exactly those of
        period-by-period stepping for any policy whose decisions do not depend on being called.
        """
        while True:
            view = self._begin_one()
            if view is None or not self.skip_idle or self.n_running == 0:
                return view
            K = self._skip_target(view.n_rq)
            if K <= self.k:
                return view
            self.rq = self.rq[:0]
            self.sa_ptr[:] = 0
            self.head[:] = 0
            self._advance_to(K)

    def _skip_target(self, n_rq: int) -> int:
        """Last boundary up to which nothing can start (<= self.k: no skip)."""
        Ts = self.period_s
        INF = 1 << 62
        if n_rq:
            # something could start now if an SA is idle and some waiting SJ is ready
            if (self.run_sj < 0).any() and (self.s_npred[self.rq] == 0).any():
                return self.k
            _, rate, mn, _ = kernels.contention(self.M, self.capacity_gbps, self.run_sj, self.run_bw, self.run_rem)
            K = kernels.floor_boundary_before(self.t + mn / rate, Ts)
        else:
            K = INF
        if self.next_job < self.jobs.n_jobs:  # a new job brings ready SJs
            K = min(K, kernels.ceil_boundary(float(self.jobs.arrival_s[self.next_job]), Ts))
        if len(self.active):
            K = min(K, kernels.ceil_boundary(float(self._j_deadline[self.active].min()), Ts))
        return K if K < INF else self.k

    def _advance_to(self, K: int) -> None:
        """Run the running SJs (no new starts) from now to boundary ``K``."""
        self.rq_lengths.pop()
        self.n_periods -= 1
        self._run_until(K * self.period_s)
        self.k = K

    def _begin_one(self) -> PeriodView | None:
        jobs = self.jobs
        J = jobs.n_jobs
        if len(self.active):
            self.active = self.active[self.j_status[self.active] == J_ACTIVE]
        if self.next_job >= J and self.n_running == 0 and len(self.active) == 0:
            self._done = True
            return None
        if self.n_running == 0 and len(self.active) == 0:
            # idle system: jump to the first period boundary at or after the next arrival
            self.k = max(self.k, kernels.ceil_boundary(float(jobs.arrival_s[self.next_job]), self.period_s))
        t = self.k * self.period_s
        self.t = t
        hi = int(np.searchsorted(jobs.arrival_s, t, side="right"))
        if hi > self.next_job:
            new = np.arange(self.next_job, hi)
            self.j_status[new] = J_ACTIVE
            self.active = np.concatenate([self.active, new]) if len(self.active) else new
            self.next_job = hi
        if len(self.active):
            overdue = self._j_deadline[self.active] <= t
            if overdue.any():
                for j in self.active[overdue].tolist():
                    kernels.drop_job(j, self.s_state, self.j_status, self._j_base, self._j_nl)
                self.active = self.active[~overdue]
        n = kernels.build_rq(self.active, self._j_deadline, self._j_base, self._j_nl, self.s_state, self._rq_buf, self._j_skip)
        rq = self._rq_buf[:n].copy()
        self.rq = rq
        self.rq_lengths.append(n)
        self.n_periods += 1
        return self._view(rq, self.s_state)

    def _view(self, rq: np.ndarray, state: np.ndarray) -> PeriodView:
        return PeriodView(
            now_s=self.t,
            period_s=self.period_s,
            period_index=self.k,
            rq_sj=rq,
            table=self.table,
            jobs=self.jobs,
            sa_busy_s=np.where(self.run_sj >= 0, self.run_rem, 0.0),
            sa_running_sj=self.run_sj.copy(),
            sj_state=state,
            sj_sa=self.s_sa,
            dram_gbps=self.capacity_gbps,
            _sim=self,
        )

    def apply_decision(self, view: PeriodView, decision: Decision) -> None:
        """Validate the policy's answer and build each SA's queue (in rank order) for the period."""
        R = view.n_rq
        sa = np.asarray(decision.sa)
        prio = np.asarray(decision.priority, dtype=float)
        if sa.shape != (R,) or prio.shape != (R,):
            raise ValueError(f"policy returned shapes {sa.shape}, {prio.shape}; expected ({R},)")
        if R and (not np.issubdtype(sa.dtype, np.integer) or sa.min() < 0 or sa.max() >= self.M):
            raise ValueError(f"policy returned SA indices outside 0..{self.M - 1}")
        if not np.isfinite(prio).all():
            raise ValueError("policy returned non-finite priorities")
        kernels.apply_decision(
            view.rq_sj, sa.astype(np.int64), prio, self.k, self.M, self.s_period, self.s_asg, self.s_rank,
            self.by_rank, self.sa_ptr, self.sa_items, self.head,
        )

    def run_period(self) -> None:
        """Advance from the period start to its end (the numba kernel)."""
        if not len(self.rq):
            self.sa_ptr[:] = 0
            self.head[:] = 0
        self._run_until((self.k + 1) * self.period_s)
        self.k += 1

    def _run_until(self, end: float) -> None:
        if self.record_dram:
            need = int(self.log_n[0]) + 2 * (len(self.rq) + self.M) + 4
            if need > len(self.log):
                grown = np.zeros((max(need, 2 * len(self.log)), 4))
                grown[: len(self.log)] = self.log
                self.log = grown
        self.n_running = int(
            kernels.run_period(
                self.t, end, self.M, self.capacity_gbps, self.by_rank, self.sa_ptr, self.sa_items, self.head,
                self.s_state, self.s_npred, self.s_start, self.s_end, self.s_sa,
                self._sj_job, self._sj_glayer, self.j_status, self.j_left, self.j_finish, self._j_base, self._j_nl,
                self._j_deadline, self._lat, self._bw, self._en, self._succ_ptr, self._succ_flat,
                self.run_sj, self.run_rem, self.run_bw, self.busy_s, self.acc, self.log, self.log_n,
            )
        )
        self.t = end

    # ------------------------------------------------------------------------------------------
    def clone(self) -> "Simulator":
        """An independent copy of the mutable state (the policy object is shared)."""
        c = object.__new__(Simulator)
        c.__dict__.update(self.__dict__)
        for name in self._STATE:
            setattr(c, name, getattr(self, name).copy())
        c.log = self.log.copy()
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
        view = c._view(self.rq, c.s_state)
        c.apply_decision(view, decision)
        c.run_period()
        return ForecastOutcome.from_finish_times(
            rq_sj=self.rq, sj_end_s=c.s_end[self.rq], running_sj=self.run_sj.copy(),
            running_end_s=np.array([c.s_end[s] if s >= 0 else np.nan for s in self.run_sj.tolist()]),
            jobs=self.jobs, job_left=self.j_left,
            start_s=self.t, end_s=(self.k + 1) * self.period_s,
        )
