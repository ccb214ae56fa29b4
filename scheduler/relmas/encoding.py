"""RELMAS state encoding: one feature row per SJ, F = 4 + 2M, with a documented normalisation.

The layout is the paper's (Sec. 4.1, Fig. 2.5 and 2.7) and the env's
(:func:`scheduler.sim.encoding.encode_rq`): row 0 is the *primer* (all zeros except the M
compute-time slots, which hold each SA's remaining busy time), then one row per RQ entry in
deadline order::

    [model id, layer id, time to deadline, waiting time, c_1..c_M, b_1..b_M]

The env's encoding passes raw model / layer indices and times divided by the period. Those raw
numbers span orders of magnitude here (a keyword-spotting layer takes microseconds, a YOLOv2 layer
milliseconds; RQ waiting times grow without bound under overload), which saturates LSTM gates. This
adapter keeps the layout and normalises each feature to O(1) (why: the same network must read light
and heavy models):

* **model id** = (position of the model's name in the policy's model vocabulary + 1) / K, so it is
  tied to the model *name*, not to a table's row order; a model the policy never saw gets 0;
* **layer id** = topological index / (layers of the model − 1): the relative depth in [0, 1];
* **times** (time to deadline, waiting time, compute times c_m, primer busy times) are
  ``log1p(t / τ)`` with τ the scheduling period: monotone, 0 at 0, about 0.7 at one period and
  only about 4.6 at a hundred periods;
* **bandwidths** b_m = the DRAM bandwidth the SJ needs on SA m / the DRAM capacity (1.0 = the
  whole DRAM), as in the env.

**Extension (``features="extended"``, beyond the paper).** The F = 4 + 2M base columns stay where
they are; E = 5 columns are appended to every row (zeros in the primer), so the actor sees what the
heuristics it competes with use (why: with the paper's features alone the actor must rediscover
job lengths and PREMA's tokens from a few thousand transitions):

* **remaining work** ``log1p(W / τ)`` with W = the job's waiting SJs at their fastest latency
  (:attr:`PeriodView.job_remaining_min_s`, PREMA's SJF key);
* **slack** = deadline − now − W, signed: ``sign(x) log1p(|x| / τ)`` (negative = the job cannot
  make its deadline even alone on the system);
* **token** ``log(token / threshold)`` clipped to [−3, 3], with PREMA's token
  ``w (1 + waiting / isolated latency)`` in closed form (w = 1 / 3 / 9 for low / medium / high)
  and the threshold the largest w in the RQ: ≥ 0 means PREMA would run the job as a candidate;
* **QoS level** / 2 (0, 0.5, 1);
* **base rank**: the entry's position in the base heuristic's execution order / (R − 1), 0 when
  the policy has no base (the residual formulation, :mod:`scheduler.relmas.residual`, fills it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mascot.errors import MascotError
from scheduler.sim.view import PeriodView


def feature_size(n_sa: int) -> int:
    """F = 4 + 2M features per SJ (paper Sec. 4.1)."""
    return 4 + 2 * n_sa


EXTRA_FEATURES: tuple[str, ...] = ("remaining_work", "slack", "token", "qos_level", "base_rank")
FEATURE_SETS: tuple[str, ...] = ("paper", "extended")
_QOS_WEIGHTS = np.array([1.0, 3.0, 9.0])  # PREMA's low / medium / high weights


def action_size(n_sa: int) -> int:
    """G = 1 + M outputs per SJ: a priority and one score per SA."""
    return 1 + n_sa


@dataclass(frozen=True)
class Encoder:
    """Turns a :class:`PeriodView` into the normalised ``[1 + n, F]`` float32 RELMAS state."""

    models: tuple[str, ...]  # the policy's model vocabulary (names)
    n_sa: int
    time_scale_s: float  # τ of the log1p time compression (the scheduling period)
    features: str = "paper"  # "paper": F = 4 + 2M; "extended": + EXTRA_FEATURES (ours)
    _codes: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.features not in FEATURE_SETS:
            raise MascotError(f"unknown RELMAS feature set {self.features!r}", hint=f"use one of {', '.join(FEATURE_SETS)}")

    @property
    def n_features(self) -> int:
        return feature_size(self.n_sa) + (len(EXTRA_FEATURES) if self.features == "extended" else 0)

    @property
    def n_actions(self) -> int:
        return action_size(self.n_sa)

    def to_dict(self) -> dict[str, Any]:
        return {"models": list(self.models), "n_sa": int(self.n_sa), "time_scale_s": float(self.time_scale_s),
                "features": self.features}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Encoder":
        return cls(models=tuple(d["models"]), n_sa=int(d["n_sa"]), time_scale_s=float(d["time_scale_s"]),
                   features=str(d.get("features", "paper")))  # format-1 files: the paper's features

    def _model_codes(self, view: PeriodView) -> np.ndarray:
        """Per table model index, its normalised id in this encoder's vocabulary (cached per table)."""
        key = id(view.table)
        codes = self._codes.get(key)
        if codes is None or len(codes) != len(view.table.models):
            K = max(len(self.models), 1)
            index = {m: i for i, m in enumerate(self.models)}
            codes = np.array([(index[m] + 1) / K if m in index else 0.0 for m in view.table.models], dtype=np.float32)
            self._codes[key] = codes
        return codes

    def check(self, view: PeriodView) -> None:
        """Refuse a system with another number of SAs than the policy was trained for."""
        if view.n_sa != self.n_sa:
            raise MascotError(
                f"the RELMAS policy was trained for {self.n_sa} sub-accelerators, the system has {view.n_sa}",
                hint="train a policy for this system with `mascot train relmas --system ...`",
            )

    def encode(self, view: PeriodView, rows: np.ndarray | None = None, max_rq: int | None = None,
               base_rank: np.ndarray | None = None) -> np.ndarray:
        """State matrix: the primer row, then the RQ entries ``rows`` (default: all, in RQ order).

        ``max_rq`` truncates to the first ``max_rq`` entries (the most urgent ones). ``base_rank``
        ([R], position of every RQ entry in the base heuristic's order) feeds the extended set's
        last column."""
        M = self.n_sa
        tau = float(self.time_scale_s)
        idx = np.arange(view.n_rq) if rows is None else np.asarray(rows, dtype=np.int64)
        if max_rq is not None:
            idx = idx[:max_rq]
        n = len(idx)
        out = np.zeros((1 + n, self.n_features), dtype=np.float32)
        out[0, 4 : 4 + M] = np.log1p(np.maximum(view.sa_busy_s, 0.0) / tau)
        if n == 0:
            return out
        job = view.rq_job[idx]
        nl = view.jobs.n_layers[job]
        out[1:, 0] = self._model_codes(view)[view.jobs.model[job]]
        out[1:, 1] = view.rq_layer[idx] / np.maximum(nl - 1, 1)
        out[1:, 2] = np.log1p(np.maximum(view.rq_deadline_s[idx] - view.now_s, 0.0) / tau)
        out[1:, 3] = np.log1p(np.maximum(view.now_s - view.rq_arrival_s[idx], 0.0) / tau)
        glayer = view.rq_glayer[idx]
        out[1:, 4 : 4 + M] = np.log1p(view.table.lat_s[glayer] / tau)
        out[1:, 4 + M : 4 + 2 * M] = view.table.bw_gbps[glayer] / float(view.dram_gbps)
        if self.features == "extended":
            self._extended(view, idx, out[1:, 4 + 2 * M :], tau, base_rank)
        return out

    @staticmethod
    def _extended(view: PeriodView, idx: np.ndarray, out: np.ndarray, tau: float, base_rank: np.ndarray | None) -> None:
        """The E extension columns (module doc) for RQ entries ``idx``, written into ``out``."""
        work = view.job_remaining_min_s[idx]
        out[:, 0] = np.log1p(work / tau)
        slack = (view.rq_deadline_s[idx] - view.now_s - work) / tau
        out[:, 1] = np.sign(slack) * np.log1p(np.abs(slack))
        level = view.rq_qos_level
        w = _QOS_WEIGHTS[level]
        wait = np.maximum(view.now_s - view.rq_arrival_s, 0.0)
        token = w * (1.0 + wait / np.maximum(view.rq_isolated_s, 1e-15))
        out[:, 2] = np.clip(np.log(token[idx] / w.max()), -3.0, 3.0)
        out[:, 3] = level[idx] / 2.0
        if base_rank is not None:
            out[:, 4] = np.asarray(base_rank, dtype=float)[idx] / max(view.n_rq - 1, 1)
