"""How a RELMAS policy reads a period and turns the actor's output into a decision.

Two modes share the actor and the encoding (:mod:`scheduler.relmas.encoding`):

* ``direct`` (the paper, Sec. 4.1): column 0 of the action is the priority, the SA is the argmax
  of columns 1..M (:func:`scheduler.sim.encoding.decode_action`).
* ``residual`` (ours, beyond the paper): the actor *corrects* a heuristic (PREMA-H by default)
  instead of replacing it. The correction reorders whole **jobs**: with the base's job order as
  evenly spaced keys ``k_base ∈ [-1, 1]`` (first job = 1), a job's key is
  ``k_base + prio_scale · mean(a_0 over its encoded SJs)``; jobs run in key order, a job's SJs
  keep the base's order among themselves. The base's SA rule (its ``assign``; the earliest-finish
  heuristic, :mod:`scheduler.policies.heuristics`, for PREMA-H) then places the entries in that
  order, and the SA is
  ``argmax_m (a_m + sa_bonus · [m = heuristic's SA])``. Why jobs and not SJs: per-SJ priority
  noise interleaves the layers of many jobs, so all of them progress slowly and miss together
  (measured on the light set: a σ = 0.1 per-SJ perturbation of PREMA-H's order took its SLA from
  0.66 to 0.42); finishing jobs one after the other is what PREMA-H gets right. An all-zero action is
  exactly the base policy's decision, so a zero-initialised output layer starts training *at* the
  base, and model selection on validation traces can never ship anything worse than the base
  measured there. Why: on 2 CPU cores DDPG cannot afford to rediscover from scratch what PREMA-H
  already knows (the faithful version stayed below it, 9 / 9 scenarios); a residual spends the
  budget on improving on it.

A :class:`Codec` is stateful in residual mode (PREMA-H's tokens, one trace at a time): call
:meth:`Codec.reset` before each trace, as the simulator does for policies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mascot.errors import MascotError
from scheduler.policies.base import priority_from_order
from scheduler.policies.heuristics import earliest_finish_assignment
from scheduler.relmas.encoding import Encoder
from scheduler.sim.encoding import decode_action
from scheduler.sim.view import Decision, PeriodView

MODES: tuple[str, ...] = ("direct", "residual")


@dataclass(frozen=True)
class ResidualSpec:
    """The residual formulation's knobs (stored in the policy file)."""

    base: str = "prema-h"  # registry name of the heuristic the actor corrects
    prio_scale: float = 0.5  # priority shift at |a_0| = 1, in units of the base's [-1, 1] rank range
    sa_bonus: float = 0.75  # score bonus of the heuristic's SA (a different SA needs a_m − a_h > bonus)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ResidualSpec":
        return cls(base=str(d["base"]), prio_scale=float(d["prio_scale"]), sa_bonus=float(d["sa_bonus"]))


class Codec:
    """Encoder + decoder of one policy: ``encode(view)`` → state, ``decode(view, action)`` → decision."""

    def __init__(self, encoder: Encoder, max_rq: int, mode: str = "direct", residual: ResidualSpec | None = None) -> None:
        if mode not in MODES:
            raise MascotError(f"unknown RELMAS mode {mode!r}", hint=f"use one of {', '.join(MODES)}")
        self.encoder, self.max_rq, self.mode = encoder, int(max_rq), mode
        self.residual = (residual or ResidualSpec()) if mode == "residual" else None
        self._base = None
        if self.residual is not None:
            from scheduler.policies import get_policy

            self._base = get_policy(self.residual.base)
        self._last_view: PeriodView | None = None
        self._last_base: tuple[np.ndarray, Decision] | None = None
        self.reset(0)

    def reset(self, seed: int = 0) -> None:
        """Forget the base heuristic's per-trace state (call before every trace)."""
        if self._base is not None:
            self._base.reset(seed)
        self._last_view, self._last_base = None, None

    def base(self, view: PeriodView) -> tuple[np.ndarray, Decision]:
        """(rank of every RQ entry in the base's execution order, the base's decision), once per view."""
        if self._last_view is view and self._last_base is not None:
            return self._last_base
        d = self._base.schedule(view)  # type: ignore[union-attr]
        R = view.n_rq
        order = np.lexsort((np.arange(R), -np.asarray(d.priority, dtype=float)))
        rank = np.empty(R, dtype=np.int64)
        rank[order] = np.arange(R)
        self._last_view, self._last_base = view, (rank, d)
        return rank, d

    def encode(self, view: PeriodView, rows: np.ndarray | None = None, truncate: bool = True) -> np.ndarray:
        """The ``[1 + n, F]`` state (``rows``: a subset of RQ positions, for the residual RQ)."""
        rank = self.base(view)[0] if self._base is not None and view.n_rq else None
        return self.encoder.encode(view, rows=rows, max_rq=self.max_rq if truncate else None, base_rank=rank)

    def decode(self, view: PeriodView, action: np.ndarray) -> Decision:
        """The decision of ``action`` ([n, G], n ≤ R rows for the first RQ entries)."""
        if self.residual is None:
            return decode_action(view, action)
        R, M = view.n_rq, view.n_sa
        a = np.asarray(action, dtype=float)
        if R == 0:
            return decode_action(view, a)
        n = min(R, a.shape[0])
        rank, base = self.base(view)
        if n == 0 or not np.any(a[:n]):
            return base
        if np.any(a[:n, 0]):
            order = self._job_order(view, rank, a[:n, 0])
            h_sa = self._assign(view, order)
        else:
            order, h_sa = np.argsort(rank, kind="stable"), np.asarray(base.sa)
        score = a[:n, 1 : 1 + M].copy()
        score[np.arange(n), h_sa[:n]] += self.residual.sa_bonus
        sa = np.array(h_sa, dtype=np.int64, copy=True)
        sa[:n] = np.argmax(score, axis=1)
        return Decision(sa=sa, priority=priority_from_order(order))

    def _assign(self, view: PeriodView, order: np.ndarray) -> np.ndarray:
        """The base's SA rule for a reordered RQ (earliest finish when the base has none of its own)."""
        assign = getattr(self._base, "assign", None)
        return assign(view, order) if assign is not None else earliest_finish_assignment(view, order)[0]

    def _job_order(self, view: PeriodView, rank: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """Execution order (RQ positions) with whole jobs moved by the mean of their SJs' ``shift``."""
        R, n = view.n_rq, len(shift)
        jobs, inv = np.unique(view.rq_job, return_inverse=True)
        J = len(jobs)
        first = np.full(J, R, dtype=np.int64)
        np.minimum.at(first, inv, rank)  # a job's place in the base order = its first SJ's
        job_rank = np.empty(J, dtype=np.int64)
        job_rank[np.argsort(first, kind="stable")] = np.arange(J)
        key = 1.0 - 2.0 * job_rank / max(J - 1, 1)
        total = np.bincount(inv[:n], weights=shift, minlength=J)
        count = np.bincount(inv[:n], minlength=J)
        key += self.residual.prio_scale * total / np.maximum(count, 1)  # type: ignore[union-attr]
        return np.lexsort((rank, -key[inv]))

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "residual": None if self.residual is None else self.residual.to_dict()}
