"""FCFS-H: first-come-first-served priorities + the earliest-finish SA heuristic.

Priority follows the job's arrival time (earlier first; ties keep the RQ's deadline order, which
also keeps a job's layers in topological order); each SJ goes to the SA that minimises its
estimated finish time (:mod:`scheduler.policies.heuristics`).
"""

from __future__ import annotations

from scheduler.policies.base import Policy
from scheduler.sim import policy_kernels
from scheduler.policies.heuristics import earliest_finish_assignment
from scheduler.sim.view import Decision, PeriodView


class FCFSH(Policy):
    name = "fcfs-h"
    #: the simulator may run this policy as one compiled loop (identical results)
    fused = "fcfs"

    def schedule(self, view: PeriodView) -> Decision:
        order, prio = policy_kernels.order_by_key(view.rq_arrival_s)
        sa, _ = earliest_finish_assignment(view, order)
        return Decision(sa=sa, priority=prio)
