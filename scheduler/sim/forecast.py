"""What-if forecasts of one scheduling period, and the SLA fitness MAGMA optimises.

A forecast runs a candidate decision from the period start to its end on a copy of the state,
without new arrivals. Two implementations share the same rules as the engine:

* :meth:`scheduler.sim.engine.Simulator.forecast`: the real engine on a cloned state (exact, one
  candidate at a time);
* :class:`BatchForecaster`: ``P`` candidates at once on the period's compact problem (the ``R``
  RQ entries + the SJs running now, precedence as CSR): a numba kernel runs the engine's own
  event loop (:func:`scheduler.sim.kernels.run_period`) for each candidate (``finish_times``,
  :mod:`scheduler.sim.forecast_kernel`); ``finish_times_numpy`` is the same in numpy
  lock-step over the population (every step dispatches the idle SAs of every candidate and jumps
  to its next finish), kept as a reference. This is what makes MAGMA's 10,000 forecasts per
  period affordable. Tests check both against the exact engine.

**Fitness** (:func:`sla_fitness`, higher is better) scores the period's outcome for the SLA:
``jobs completed by their deadline − jobs that miss (completed late, or deadline within the
period and not completed)`` plus the RELMAS per-SJ reward (α = 0.10 for an SJ finishing by its
job's deadline, −β = −0.11 otherwise, + γ = 0.05 × normalised slack (deadline − finish) / q; SJs
still unfinished get δ = 0.01 × (−β) if their deadline falls inside the period). The job term
decides; the SJ term rewards progress on urgent jobs when no job can finish within the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scheduler.sim.jobs import JobSet

if TYPE_CHECKING:  # pragma: no cover
    from scheduler.sim.view import PeriodView

ALPHA, BETA, GAMMA, DELTA = 0.10, 0.11, 0.05, 0.01
_EPS_S = 1e-13


@dataclass(frozen=True)
class _Groups:
    """Entities (R RQ entries + M running SJs) grouped by job, for per-job reductions."""

    perm: np.ndarray  # entity order grouped by job
    starts: np.ndarray  # group starts in perm order
    need: np.ndarray  # [U] SJs of the job not done at the period start (all must finish)
    deadline_s: np.ndarray  # [U]
    ent_deadline_s: np.ndarray  # [E]
    ent_q_s: np.ndarray  # [E] latency requirement (deadline − arrival)
    valid: np.ndarray  # [E] entity exists (idle SAs have no running SJ)


def _groups(rq_sj: np.ndarray, running_sj: np.ndarray, jobs: JobSet, job_left: np.ndarray) -> _Groups:
    ent_sj = np.concatenate([rq_sj, running_sj])
    valid = ent_sj >= 0
    ent_job = np.where(valid, jobs.sj_job[np.where(valid, ent_sj, 0)], -1)
    perm = np.argsort(ent_job, kind="stable")
    perm = perm[valid[perm]]
    sorted_jobs = ent_job[perm]
    if len(perm):
        starts = np.flatnonzero(np.r_[True, sorted_jobs[1:] != sorted_jobs[:-1]])
        uj = sorted_jobs[starts]
    else:
        starts = np.zeros(0, dtype=np.int64)
        uj = np.zeros(0, dtype=np.int64)
    safe = np.where(valid, ent_job, 0)
    return _Groups(
        perm=perm,
        starts=starts,
        need=np.asarray(job_left)[uj].astype(np.int64),
        deadline_s=jobs.deadline_s[uj],
        ent_deadline_s=np.where(valid, jobs.deadline_s[safe], np.inf),
        ent_q_s=np.where(valid, (jobs.deadline_s - jobs.arrival_s)[safe], 1.0),
        valid=valid,
    )


def sla_fitness(finish_s: np.ndarray, groups: _Groups, end_s: float) -> np.ndarray:
    """Fitness of each row of ``finish_s`` ([P, E] finish time per entity, NaN = unfinished)."""
    finish_s = np.atleast_2d(finish_s)
    P = finish_s.shape[0]
    done = ~np.isnan(finish_s) & groups.valid
    f = np.where(done, finish_s, 0.0)
    on_time = f <= groups.ent_deadline_s
    slack = (groups.ent_deadline_s - f) / groups.ent_q_s
    sj_term = np.where(done, np.where(on_time, ALPHA, -BETA) + GAMMA * slack, 0.0)
    late_pending = ~done & groups.valid & (groups.ent_deadline_s <= end_s)
    sj_term = sj_term + np.where(late_pending, -DELTA * BETA, 0.0)
    score = sj_term.sum(axis=1)
    if len(groups.starts) == 0:
        return score
    d = done[:, groups.perm].astype(np.int64)
    n_done = np.add.reduceat(d, groups.starts, axis=1)
    last = np.maximum.reduceat(np.where(done, f, -np.inf)[:, groups.perm], groups.starts, axis=1)
    complete = n_done >= groups.need
    hit = complete & (last <= groups.deadline_s)
    miss = (complete & ~hit) | (~complete & (groups.deadline_s <= end_s))
    return score + hit.sum(axis=1) - miss.sum(axis=1) + np.zeros(P)


@dataclass(frozen=True)
class ForecastOutcome:
    """Result of one exact forecast: finish times inside the period and the fitness."""

    rq_end_s: np.ndarray  # [R] finish time of each RQ entry (NaN = not finished in the period)
    running_end_s: np.ndarray  # [M]
    fitness: float

    @classmethod
    def from_finish_times(
        cls,
        rq_sj: np.ndarray,
        sj_end_s: np.ndarray,
        running_sj: np.ndarray,
        running_end_s: np.ndarray,
        jobs: JobSet,
        job_left: np.ndarray,
        start_s: float,
        end_s: float,
    ) -> "ForecastOutcome":
        g = _groups(rq_sj, running_sj, jobs, job_left)
        fin = np.concatenate([sj_end_s, running_end_s])
        fit = float(sla_fitness(fin[None, :], g, end_s)[0])
        return cls(rq_end_s=np.asarray(sj_end_s, dtype=float), running_end_s=np.asarray(running_end_s), fitness=fit)


class BatchForecaster:
    """Forecast many candidate decisions of one period at once (numpy lock-step)."""

    def __init__(self, view: "PeriodView") -> None:
        self.view = view
        R, M = view.n_rq, view.n_sa
        self.R, self.M = R, M
        self.lat = np.ascontiguousarray(view.lat_s)
        self.bw = np.ascontiguousarray(view.bw_gbps)
        self.cap = float(view.dram_gbps)
        self.start_s = float(view.now_s)
        self.end_s = float(view.now_s + view.period_s)
        self.deadline = np.ascontiguousarray(view.rq_deadline_s, dtype=float)
        ptr, pos = view.pred_ptr, view.pred_pos
        self.npred0 = np.diff(ptr).astype(np.int32)
        # successors CSR over entities (R RQ entries + M running SJs)
        owner = np.repeat(np.arange(R), np.diff(ptr))
        order = np.argsort(pos, kind="stable")
        self.succ_flat = owner[order]
        self.succ_ptr = np.zeros(R + M + 1, dtype=np.int64)
        np.cumsum(np.bincount(pos, minlength=R + M), out=self.succ_ptr[1:])
        self.run0 = view.sa_running_sj >= 0
        self.rem0 = np.where(self.run0, view.sa_busy_s, 0.0)
        rg = view.running_glayer
        self.bw0 = np.where(self.run0, view.table.bw_gbps[np.maximum(rg, 0), np.arange(M)], 0.0)
        job_left = view._sim.j_left if view._sim is not None else view.jobs.n_layers
        self.groups = _groups(view.rq_sj, view.sa_running_sj, view.jobs, job_left)

    def finish_times(self, sa: np.ndarray, priority: np.ndarray) -> np.ndarray:
        """[P, R+M] finish time of every entity inside the period (NaN = not finished)."""
        from scheduler.sim.forecast_kernel import forecast_batch

        sa = np.ascontiguousarray(np.atleast_2d(sa), dtype=np.int64)
        prio = np.ascontiguousarray(np.atleast_2d(priority), dtype=float)
        return forecast_batch(
            sa, prio, self.start_s, self.end_s, self.cap, self.lat, self.bw, self.deadline,
            self.npred0.astype(np.int64), self.succ_ptr, self.succ_flat.astype(np.int64),
            self.rem0.astype(float), self.bw0.astype(float), self.run0,
        )

    def finish_times_numpy(self, sa: np.ndarray, priority: np.ndarray) -> np.ndarray:
        """The same as :meth:`finish_times`, in numpy lock-step over the population (reference)."""
        sa = np.asarray(sa, dtype=np.int64)
        prio = np.asarray(priority, dtype=float)
        P, R = sa.shape
        M = self.M
        ar = np.arange(P)
        order = np.lexsort((np.broadcast_to(np.arange(R), (P, R)), -prio), axis=1)
        score = np.empty((P, R), dtype=np.int64)
        np.put_along_axis(score, order, -np.arange(R)[None, :].repeat(P, 0), axis=1)
        NEG = np.iinfo(np.int64).min
        t = np.full(P, self.start_s)
        live = np.ones(P, dtype=bool)
        cur = np.where(self.run0, R + np.arange(M), -1)[None, :].repeat(P, 0)
        rem = self.rem0[None, :].repeat(P, 0).astype(float)
        rbw = self.bw0[None, :].repeat(P, 0).astype(float)
        started = np.zeros((P, R), dtype=bool)
        npred = self.npred0[None, :].repeat(P, 0)
        finish = np.full((P, R + M), np.nan)
        lat, bw = self.lat, self.bw
        sa_masks = [sa == m for m in range(M)]
        while live.any():
            # 1. dispatch idle SAs of live candidates
            eligible = ~started & (npred == 0) & (self.deadline[None, :] > t[:, None]) & live[:, None]
            if eligible.any():
                sc = np.where(eligible, score, NEG)
                for m in range(M):
                    idle = (cur[:, m] < 0) & live
                    if not idle.any():
                        continue
                    cand = np.where(sa_masks[m], sc, NEG)
                    best = cand.argmax(axis=1)
                    ok = idle & (cand[ar, best] > NEG)
                    if ok.any():
                        p = ar[ok]
                        b = best[ok]
                        cur[p, m] = b
                        started[p, b] = True
                        sc[p, b] = NEG
                        rem[p, m] = lat[b, m]
                        rbw[p, m] = bw[b, m]
            running = cur >= 0
            any_run = running.any(axis=1)
            live &= any_run
            if not live.any():
                break
            demand = rbw.sum(axis=1)
            rate = np.where(demand <= self.cap, 1.0, self.cap / np.maximum(demand, 1e-300))
            rr = np.where(running, rem, np.inf)
            first = rr.argmin(axis=1)
            mn = rr[ar, first]
            dt = mn / rate
            over = live & (t + dt > self.end_s)
            live &= ~over
            if not live.any():
                break
            step = live[:, None] & running
            rem = np.where(step, rem - mn[:, None], rem)
            t = np.where(live, t + dt, t)
            fin = step & (rem <= (_EPS_S * rate)[:, None])
            fin[ar[live], first[live]] = True
            if fin.any():
                fp, fm = np.nonzero(fin)
                ent = cur[fp, fm]
                finish[fp, ent] = t[fp]
                cur[fp, fm] = -1
                rem[fp, fm] = 0.0
                rbw[fp, fm] = 0.0
                cnt = self.succ_ptr[ent + 1] - self.succ_ptr[ent]
                if cnt.sum():
                    rows = np.repeat(fp, cnt)
                    offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                    cols = self.succ_flat[np.repeat(self.succ_ptr[ent], cnt) + offs]
                    np.subtract.at(npred, (rows, cols), 1)
        return finish

    def evaluate(self, sa: np.ndarray, priority: np.ndarray) -> np.ndarray:
        """[P] SLA fitness of each candidate (see module docstring)."""
        return sla_fitness(self.finish_times(sa, priority), self.groups, self.end_s)
