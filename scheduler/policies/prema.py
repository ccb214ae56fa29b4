"""PREMA-H: PREMA's token scheme for the order, the earliest-finish heuristic for the SA.

PREMA (Choi & Rhu, HPCA 2020) targets one NPU; like the RELMAS paper we pair its ordering with the
FCFS-H SA heuristic. Per job (the unit PREMA schedules):

1. A job enters with ``token = w`` where ``w`` is its QoS weight (low 1, medium 3, high 9, PREMA's
   priority levels). At every period the token grows by ``w × (time waited since the last period
   / the job's isolated latency)``: starving and urgent jobs gain tokens fastest.
2. Threshold = the largest weight among the jobs in the RQ. Jobs whose token reaches it are the
   *candidates*.
3. Candidates run first, shortest estimated remaining job first (sum of the fastest latencies of
   its waiting SJs, PREMA's SJF step); the other jobs follow in decreasing token order.
SJs of one job keep the RQ (topological) order.

``prema-h-late`` (:class:`PremaHLate`, not in the paper) runs the jobs that can no longer meet
their deadline last.
"""

from __future__ import annotations

import numpy as np

from scheduler.policies.base import Policy, priority_from_order
from scheduler.policies.heuristics import earliest_finish_assignment
from scheduler.sim.view import Decision, PeriodView

QOS_WEIGHTS = (1.0, 3.0, 9.0)  # low, medium, high


class PremaH(Policy):
    name = "prema-h"

    def __init__(self, weights: tuple[float, float, float] = QOS_WEIGHTS) -> None:
        self.weights = np.asarray(weights, dtype=float)
        self.reset(0)

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.tokens = np.zeros(0)
        self.last_s = np.zeros(0)

    def schedule(self, view: PeriodView) -> Decision:
        order = self.order(view)
        return Decision(sa=self.assign(view, order), priority=priority_from_order(order))

    def assign(self, view: PeriodView, order: np.ndarray) -> np.ndarray:
        """SA per RQ entry for the execution ``order`` (earliest finish). A RELMAS residual that
        reorders the base's jobs places them with this (:mod:`scheduler.relmas.codec`)."""
        return earliest_finish_assignment(view, order)[0]

    def order(self, view: PeriodView) -> np.ndarray:
        """RQ positions in PREMA's execution order (updates the tokens: call once per period)."""
        R = view.n_rq
        J = view.jobs.n_jobs
        if len(self.tokens) != J:  # a new trace: one token slot per job, NaN = not seen yet
            self.tokens = np.full(J, np.nan)
            self.last_s = np.zeros(J)
        jobs, first = np.unique(view.rq_job, return_index=True)
        w = self.weights[view.rq_qos_level[first]]
        iso = view.rq_isolated_s[first]
        now = view.now_s
        fresh = np.isnan(self.tokens[jobs])
        self.tokens[jobs[fresh]] = w[fresh]
        self.last_s[jobs[fresh]] = view.rq_arrival_s[first][fresh]
        self.tokens[jobs] += w * (now - self.last_s[jobs]) / iso
        self.last_s[jobs] = now
        tok = self.tokens[jobs]
        threshold = w.max()
        cand = tok >= threshold
        remaining = view.job_remaining_min_s[first]
        # job order: candidates by remaining time, then the rest by token (descending)
        key_primary = np.where(cand, 0, 1)
        key_secondary = np.where(cand, remaining, -tok)
        job_order = np.lexsort((jobs, key_secondary, key_primary))
        job_rank = np.empty(len(jobs), dtype=np.int64)
        job_rank[job_order] = np.arange(len(jobs))
        rank_of_entry = job_rank[np.searchsorted(jobs, view.rq_job)]
        return np.lexsort((np.arange(R), rank_of_entry))


class PremaHLate(PremaH):
    """PREMA-H, except that jobs which can no longer meet their deadline run last.

    A job is *late* when the fastest-SA latencies of its waiting SJs add up to more than the time
    left to its deadline: even alone on the system it would miss. PREMA keeps feeding such jobs
    (their tokens keep growing) until the simulator drops them at the deadline; moving them behind
    every job that can still make it frees the SAs for those. Not in the RELMAS paper: it measures
    how much an order change that PREMA-H lacks can gain (a reference for the learned residual).
    """

    name = "prema-h-late"

    def order(self, view: PeriodView) -> np.ndarray:
        order = super().order(view)
        late = (view.rq_deadline_s - view.now_s) < view.job_remaining_min_s
        return np.concatenate([order[~late[order]], order[late[order]]])
