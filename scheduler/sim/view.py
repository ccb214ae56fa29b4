"""What a policy sees at a scheduling period, and what it answers.

:class:`PeriodView` is a read-only snapshot taken at the start of a period: the ready queue (RQ)
sorted by absolute deadline (ties by SJ id, i.e. job then topological layer order), each SA's
remaining busy time, and per-RQ-entry arrays gathered from the table (latency, bandwidth, energy
on every SA instance). Pred links inside the period (``pred_ptr`` / ``pred_pos``) are computed on
demand with numpy: position ``p < R`` is an RQ entry, ``R + m`` the SJ now running on SA ``m``;
finished predecessors are omitted.

:class:`Decision` is the policy's answer: one SA index and one priority per RQ entry (higher
priority runs first on its SA; ties keep RQ order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from scheduler.sim.jobs import JobSet
from scheduler.table import SimTable

if TYPE_CHECKING:  # pragma: no cover
    from scheduler.sim.engine import Simulator


@dataclass(frozen=True)
class Decision:
    """SA index (0..M-1) and priority per RQ entry, aligned with ``PeriodView.rq_sj``."""

    sa: np.ndarray
    priority: np.ndarray


@dataclass(frozen=True, eq=False)
class PeriodView:
    """Snapshot of the simulator at the start of one scheduling period."""

    now_s: float
    period_s: float
    period_index: int
    rq_sj: np.ndarray  # [R]
    table: SimTable
    jobs: JobSet
    sa_busy_s: np.ndarray  # [M] remaining (unstalled) time of the SJ running on each SA, 0 if idle
    sa_running_sj: np.ndarray  # [M] SJ id running on each SA, -1 if idle
    sj_state: np.ndarray  # [N] 0 waiting, 1 running, 2 done, 3 dropped (read-only view)
    sj_sa: np.ndarray  # [N] SA an SJ ran / runs on (-1 = not started)
    dram_gbps: float
    _sim: Any = field(default=None, repr=False)

    # --- sizes ------------------------------------------------------------------------------
    @property
    def n_rq(self) -> int:
        return len(self.rq_sj)

    @property
    def n_sa(self) -> int:
        return self.table.n_sa

    # --- per RQ entry -------------------------------------------------------------------------
    @cached_property
    def rq_job(self) -> np.ndarray:
        return self.jobs.sj_job[self.rq_sj]

    @cached_property
    def rq_glayer(self) -> np.ndarray:
        return self.jobs.sj_glayer[self.rq_sj]

    @cached_property
    def rq_model(self) -> np.ndarray:
        return self.jobs.model[self.rq_job]

    @cached_property
    def rq_layer(self) -> np.ndarray:
        """Layer index inside the model (topological position)."""
        return self.rq_sj - self.jobs.base[self.rq_job]

    @cached_property
    def rq_deadline_s(self) -> np.ndarray:
        return self.jobs.deadline_s[self.rq_job]

    @cached_property
    def rq_arrival_s(self) -> np.ndarray:
        return self.jobs.arrival_s[self.rq_job]

    @cached_property
    def rq_isolated_s(self) -> np.ndarray:
        return self.jobs.isolated_s[self.rq_job]

    @cached_property
    def rq_qos_level(self) -> np.ndarray:
        """0 = low, 1 = medium, 2 = high (unknown names count as medium)."""
        return self.jobs.qos_level[self.rq_job]

    @cached_property
    def lat_s(self) -> np.ndarray:
        """[R, M] latency of each RQ entry on each SA instance (unstalled)."""
        return self.table.lat_s[self.rq_glayer]

    @cached_property
    def solo_lat_s(self) -> np.ndarray:
        """[R, M] latency alone on the system (stretched when the SJ alone exceeds the DRAM)."""
        return self.table.solo_lat_s[self.rq_glayer]

    @cached_property
    def bw_gbps(self) -> np.ndarray:
        """[R, M] DRAM bandwidth each RQ entry needs on each SA to run unstalled."""
        return self.table.bw_gbps[self.rq_glayer]

    @cached_property
    def energy_pj(self) -> np.ndarray:
        return self.table.energy_pj[self.rq_glayer]

    @cached_property
    def running_glayer(self) -> np.ndarray:
        """[M] global layer of the SJ running on each SA (-1 if idle)."""
        out = np.full(self.n_sa, -1, dtype=np.int64)
        busy = self.sa_running_sj >= 0
        out[busy] = self.jobs.sj_glayer[self.sa_running_sj[busy]]
        return out

    # --- precedence inside the period --------------------------------------------------------
    @cached_property
    def _preds(self) -> tuple[np.ndarray, np.ndarray]:
        return _pred_csr(self)

    @property
    def pred_ptr(self) -> np.ndarray:
        """[R+1] CSR row pointers into :attr:`pred_pos`."""
        return self._preds[0]

    @property
    def pred_pos(self) -> np.ndarray:
        """Unfinished predecessors: RQ position (< R) or ``R + m`` for the SJ running on SA ``m``."""
        return self._preds[1]

    @cached_property
    def rq_ready(self) -> np.ndarray:
        """[R] True when every predecessor has finished (the SJ could start now)."""
        return np.diff(self.pred_ptr) == 0

    @cached_property
    def job_remaining_min_s(self) -> np.ndarray:
        """[R] sum over the job's waiting SJs of their fastest latency (a job-length estimate)."""
        best = self.solo_lat_s.min(axis=1)
        totals = np.bincount(self.rq_job, weights=best, minlength=self.jobs.n_jobs)
        return totals[self.rq_job]

    # --- what-if --------------------------------------------------------------------------
    def forecast(self, decision: Decision) -> "Any":
        """Run ``decision`` forward to the period's end on a clone (no new arrivals)."""
        if self._sim is None:
            raise RuntimeError("this view is not attached to a simulator")
        return self._sim.forecast(decision)

    def batch_forecaster(self) -> "Any":
        """A vectorised evaluator of many candidate decisions for this period (MAGMA's fitness)."""
        from scheduler.sim.forecast import BatchForecaster

        return BatchForecaster(self)


def _pred_csr(view: PeriodView) -> tuple[np.ndarray, np.ndarray]:
    """For every RQ entry, the RQ positions (or ``R + SA`` if running) of its unfinished preds."""
    from scheduler.sim import kernels

    flat_g, ptr_g = table_pred_flat(view.table)
    jobs = view.jobs
    return kernels.pred_csr(
        np.ascontiguousarray(view.rq_sj, dtype=np.int64), jobs.sj_job, jobs.sj_glayer, jobs.base, ptr_g, flat_g,
        view.sj_state, view.sj_sa, _scratch(view),
    )


def _scratch(view: PeriodView) -> np.ndarray:
    sim = view._sim
    if sim is not None:
        buf = getattr(sim, "_pos_scratch", None)
        if buf is None:
            buf = np.empty(view.jobs.n_sj, dtype=np.int64)
            sim._pos_scratch = buf
        return buf
    return np.empty(view.jobs.n_sj, dtype=np.int64)


def table_pred_counts(table: SimTable) -> np.ndarray:
    c = table._lists.get("pred_counts")
    if c is None:
        c = np.array([len(p) for p in table.preds_local], dtype=np.int64)
        table._lists["pred_counts"] = c
    return c


def table_pred_flat(table: SimTable) -> tuple[np.ndarray, np.ndarray]:
    f = table._lists.get("pred_flat")
    if f is None:
        counts = table_pred_counts(table)
        flat = np.array([q for p in table.preds_local for q in p], dtype=np.int64)
        ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        f = (flat, ptr)
        table._lists["pred_flat"] = f
    return f


def table_succ_flat(table: SimTable) -> tuple[np.ndarray, np.ndarray]:
    """Successors of every global layer as CSR (local indices): (flat, ptr)."""
    f = table._lists.get("succ_flat")
    if f is None:
        counts = np.array([len(p) for p in table.succs_local], dtype=np.int64)
        flat = np.array([q for p in table.succs_local for q in p], dtype=np.int64)
        ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        f = (flat, ptr)
        table._lists["succ_flat"] = f
    return f
