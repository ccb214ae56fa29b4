"""The pipelined-partitioning problem and its cost model (RESPECT, DAC'23).

A DNN's layer DAG is cut into ``k`` pipeline stages, one per device (k identical accelerators of
one SA class, e.g. Coral Edge TPUs chained through a host). Layers are numbered in one
topological order ``0..n-1``; ``assign[v]`` is the stage of layer ``v``.

Feasibility
    every edge goes forward: ``assign[u] <= assign[v]`` for each edge ``u -> v`` (a stage may
    be empty: that device idles).

Stage time (seconds), for stage ``j`` with layer set ``L_j``::

    T_j = sum_{v in L_j} compute_time_s[v]                                  (compute)
        + max(0, sum_{v in L_j} param_bytes[v] - param_mem_bytes) / param_bw_bytes_per_s
                                                                            (parameter streaming)
        + (sum_{u in X_j} out_bytes[u] + sum_{v in L_j} host_in_bytes[v]) / link_bw_bytes_per_s
                                                                            (activation receive)

where ``X_j = {u : assign[u] < j and some consumer v of u has assign[v] == j}``: the output
tensor of a layer placed in an earlier stage is received once by every later stage that
consumes it (through the host link; a tensor read by two layers of the same stage crosses
once). ``host_in_bytes[v]`` is the network input a layer reads from the host (the image fed to
the first stage). Parameters that do not fit the device's on-chip parameter memory are streamed
from host memory on *every* inference, which is why a single Edge TPU is slow on large models
and why pipelining across several devices pays off.

Objective
    minimise the bottleneck ``max_j T_j`` (the pipeline's throughput is ``1 / max_j T_j``);
    among equal bottlenecks, minimise the total latency ``sum_j T_j`` (one inference walking
    through all stages).

All arrays are numpy; :func:`evaluate_batch` scores many assignments at once (vectorised), which
the learned solver uses to pick the best of its sampled candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mascot.errors import MascotError

#: relative tolerance under which two bottlenecks count as equal (ties go to total latency)
TIE_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class PipelineProblem:
    """One instance: per-layer costs of a model on one SA class, and ``n_stages`` devices.

    ``edges`` is an ``(E, 2)`` int array of ``(producer, consumer)`` layer indices; layer indices
    must already be in a topological order (``u < v`` on every edge), which the builders
    guarantee (:func:`scheduler.pipeline.costs.problem_from_graph` uses ``LayerGraph.layers``).
    """

    compute_time_s: np.ndarray
    param_bytes: np.ndarray
    out_bytes: np.ndarray
    edges: np.ndarray
    n_stages: int
    param_mem_bytes: float
    param_bw_bytes_per_s: float
    link_bw_bytes_per_s: float
    host_in_bytes: np.ndarray | None = None
    names: tuple[str, ...] = field(default_factory=tuple)
    name: str = "problem"

    def __post_init__(self) -> None:
        c = np.asarray(self.compute_time_s, dtype=np.float64)
        n = c.shape[0]
        object.__setattr__(self, "compute_time_s", c)
        object.__setattr__(self, "param_bytes", np.asarray(self.param_bytes, dtype=np.float64))
        object.__setattr__(self, "out_bytes", np.asarray(self.out_bytes, dtype=np.float64))
        hin = np.zeros(n) if self.host_in_bytes is None else np.asarray(self.host_in_bytes, dtype=np.float64)
        object.__setattr__(self, "host_in_bytes", hin)
        e = np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)
        object.__setattr__(self, "edges", e)
        if not self.names:
            object.__setattr__(self, "names", tuple(f"layer{i}" for i in range(n)))
        for label, arr in (("param_bytes", self.param_bytes), ("out_bytes", self.out_bytes),
                           ("host_in_bytes", self.host_in_bytes)):
            if arr.shape != (n,):
                raise MascotError(f"problem {self.name}: {label} has shape {arr.shape}, expected ({n},)",
                                  hint="give one value per layer, in the same order as compute_time_s")
        if n == 0:
            raise MascotError(f"problem {self.name}: the model has no layers")
        for label, arr in (("compute_time_s", c), ("param_bytes", self.param_bytes),
                           ("out_bytes", self.out_bytes), ("host_in_bytes", self.host_in_bytes)):
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise MascotError(f"problem {self.name}: {label} must be finite and >= 0")
        if e.size and (e.min() < 0 or e.max() >= n or np.any(e[:, 0] >= e[:, 1])):
            raise MascotError(f"problem {self.name}: edges must index layers in topological order (u < v)",
                              hint="number the layers in a topological order of the DAG")
        if self.n_stages < 1:
            raise MascotError(f"problem {self.name}: n_stages must be >= 1, got {self.n_stages}")
        for label in ("param_bw_bytes_per_s", "link_bw_bytes_per_s"):
            if not getattr(self, label) > 0:
                raise MascotError(f"problem {self.name}: {label} must be > 0")
        if self.param_mem_bytes < 0:
            raise MascotError(f"problem {self.name}: param_mem_bytes must be >= 0")

    @property
    def n_layers(self) -> int:
        return int(self.compute_time_s.shape[0])

    def with_stages(self, n_stages: int) -> "PipelineProblem":
        """The same model on a different number of devices."""
        return PipelineProblem(self.compute_time_s, self.param_bytes, self.out_bytes, self.edges, n_stages,
                               self.param_mem_bytes, self.param_bw_bytes_per_s, self.link_bw_bytes_per_s,
                               self.host_in_bytes, self.names, self.name)

    @cached_property
    def unique_out_edges(self) -> np.ndarray:
        """Edges with duplicates removed (a multi-input layer may read one tensor twice), sorted by
        (producer, consumer): ``np.unique(edges, axis=0)``, computed on one integer key per edge
        (several times faster than the row-wise unique, which sorts a structured view)."""
        if not self.edges.size:
            return self.edges
        n = np.int64(self.n_layers)
        u, v = np.divmod(np.unique(self.edges[:, 0] * n + self.edges[:, 1]), n)
        return np.stack([u, v], axis=1)

    @cached_property
    def pred_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """Predecessors as CSR arrays: those of layer ``v`` are ``idx[ptr[v]:ptr[v+1]]``, ascending."""
        e = self.unique_out_edges  # sorted by (producer, consumer): a stable sort by consumer
        order = np.argsort(e[:, 1], kind="stable") if e.size else np.zeros(0, dtype=np.int64)
        ptr = np.zeros(self.n_layers + 1, dtype=np.int64)
        if e.size:
            ptr[1:] = np.cumsum(np.bincount(e[:, 1], minlength=self.n_layers))
        return ptr, np.ascontiguousarray(e[order, 0] if e.size else order, dtype=np.int64)

    @cached_property
    def preds(self) -> list[np.ndarray]:
        """Predecessor indices of every layer (used by decoders for the precedence mask)."""
        ptr, idx = self.pred_csr
        return np.split(idx, ptr[1:-1])


class _StageTimes:
    """Bottleneck and total latency of anything with per-stage times ``stage_time_s`` (the objective, then its tie-break)."""

    stage_time_s: np.ndarray

    @property
    def bottleneck_s(self) -> float:
        return float(self.stage_time_s.max())

    @property
    def total_latency_s(self) -> float:
        return float(self.stage_time_s.sum())


@dataclass(frozen=True)
class StageBreakdown(_StageTimes):
    """Stage times of one assignment, split into their three terms (seconds, per stage)."""

    compute_s: np.ndarray
    param_stream_s: np.ndarray
    receive_s: np.ndarray
    param_bytes: np.ndarray
    receive_bytes: np.ndarray

    @property
    def stage_time_s(self) -> np.ndarray:
        return self.compute_s + self.param_stream_s + self.receive_s


def check_assignment(problem: PipelineProblem, assign: np.ndarray) -> np.ndarray:
    """Validate an assignment (shape, stage range, precedence); return it as an int array."""
    a = np.asarray(assign)
    if a.shape != (problem.n_layers,):
        raise MascotError(f"assignment has shape {a.shape}, expected ({problem.n_layers},)")
    a = a.astype(np.int64)
    if a.min() < 0 or a.max() >= problem.n_stages:
        raise MascotError(f"stage indices must lie in 0..{problem.n_stages - 1}")
    if problem.edges.size:
        bad = a[problem.edges[:, 0]] > a[problem.edges[:, 1]]
        if bad.any():
            u, v = problem.edges[np.argmax(bad)]
            raise MascotError(
                f"edge {problem.names[u]} -> {problem.names[v]} goes backwards "
                f"(stage {a[u]} -> {a[v]})", hint="every consumer must sit in the same or a later stage")
    return a


def is_feasible(problem: PipelineProblem, assign: np.ndarray) -> bool:
    try:
        check_assignment(problem, assign)
    except MascotError:
        return False
    return True


def _receive_bytes(problem: PipelineProblem, assigns: np.ndarray) -> np.ndarray:
    """(B, k) bytes every stage receives from the host link, for B assignments.

    The numpy reference of the compiled kernel that :func:`breakdown_batch` uses (the tests
    compare both).
    """
    b, n = assigns.shape
    k = problem.n_stages
    out = np.zeros((b, k))
    rows = np.arange(b)
    # network input read from the host by the stage holding the layer
    np.add.at(out, (np.repeat(rows, n), assigns.ravel()), np.tile(problem.host_in_bytes, b))
    e = problem.unique_out_edges
    if e.size == 0:
        return out
    su = assigns[:, e[:, 0]]
    sv = assigns[:, e[:, 1]]
    cross = su < sv
    if not cross.any():
        return out
    bi, ei = np.nonzero(cross)
    u = e[ei, 0]
    j = sv[bi, ei]
    # one tensor is received once per (assignment, producer, receiving stage)
    keys = np.unique((bi * n + u) * k + j)
    bi_u, j = np.divmod(keys, k)
    bi, u = np.divmod(bi_u, n)
    np.add.at(out, (bi, j), problem.out_bytes[u])
    return out


def breakdown_batch(problem: PipelineProblem, assigns: np.ndarray) -> StageBreakdown:
    """Stage-time terms of ``B`` assignments at once; arrays have shape ``(B, k)``.

    One compiled pass per assignment (:mod:`scheduler.pipeline.eval_kernel`); the result equals
    the numpy formulation of :func:`_receive_bytes` and ``np.bincount`` bit for bit.
    """
    from scheduler.pipeline.eval_kernel import stage_terms

    a = np.ascontiguousarray(assigns, dtype=np.int64)
    if a.ndim == 1:
        a = a[None, :]
    k = problem.n_stages
    if a.size and (a.min() < 0 or a.max() >= k):
        raise MascotError(f"stage indices must lie in 0..{k - 1}")
    e = problem.unique_out_edges
    compute, params, recv = stage_terms(a, problem.compute_time_s, problem.param_bytes, problem.host_in_bytes,
                                        problem.out_bytes, np.ascontiguousarray(e[:, 0]),
                                        np.ascontiguousarray(e[:, 1]), k)
    stream = np.maximum(params - problem.param_mem_bytes, 0.0) / problem.param_bw_bytes_per_s
    return StageBreakdown(compute, stream, recv / problem.link_bw_bytes_per_s, params, recv)


def breakdown(problem: PipelineProblem, assign: np.ndarray) -> StageBreakdown:
    """Stage-time terms of one feasible assignment (arrays of shape ``(k,)``)."""
    a = check_assignment(problem, assign)
    bd = breakdown_batch(problem, a[None, :])
    return StageBreakdown(bd.compute_s[0], bd.param_stream_s[0], bd.receive_s[0], bd.param_bytes[0],
                          bd.receive_bytes[0])


def evaluate_batch(problem: PipelineProblem, assigns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bottleneck_s, total_latency_s)`` of ``B`` assignments (feasibility is not checked)."""
    t = breakdown_batch(problem, assigns).stage_time_s
    return t.max(axis=1), t.sum(axis=1)


def best_index(bottleneck_s: np.ndarray, total_s: np.ndarray) -> int:
    """Index of the lexicographic best (bottleneck first, ties within TIE_RTOL by total latency)."""
    best = float(bottleneck_s.min())
    tied = np.nonzero(bottleneck_s <= best * (1 + TIE_RTOL) + 1e-18)[0]
    return int(tied[np.argmin(total_s[tied])])


@dataclass(frozen=True)
class Partition(_StageTimes):
    """A solver's answer: the stage of every layer, its stage times and how it was found.

    ``lower_bound_s`` is a proven lower bound on the optimal bottleneck when the solver has one
    (the exact solver); ``gap`` = (bottleneck - bound) / bottleneck (0 when proven optimal).
    """

    assign: np.ndarray
    stage_time_s: np.ndarray
    solver: str
    solve_time_s: float
    status: str = "feasible"
    lower_bound_s: float | None = None
    breakdown: StageBreakdown | None = None

    @property
    def throughput_per_s(self) -> float:
        return 1.0 / self.bottleneck_s if self.bottleneck_s > 0 else float("inf")

    @property
    def gap(self) -> float | None:
        if self.lower_bound_s is None:
            return None
        return max(0.0, (self.bottleneck_s - self.lower_bound_s) / self.bottleneck_s) if self.bottleneck_s else 0.0

    def to_dict(self) -> dict:
        return {
            "solver": self.solver,
            "status": self.status,
            "bottleneck_s": self.bottleneck_s,
            "total_latency_s": self.total_latency_s,
            "throughput_per_s": self.throughput_per_s,
            "solve_time_s": self.solve_time_s,
            "lower_bound_s": self.lower_bound_s,
            "gap": self.gap,
            "stage_time_s": [float(x) for x in self.stage_time_s],
            "assign": [int(x) for x in self.assign],
        }


def make_partition(problem: PipelineProblem, assign: np.ndarray, solver: str, solve_time_s: float,
                   status: str = "feasible", lower_bound_s: float | None = None) -> Partition:
    """Score a feasible assignment with the cost model and wrap it as a :class:`Partition`."""
    bd = breakdown(problem, assign)
    return Partition(np.asarray(assign, dtype=np.int64), bd.stage_time_s, solver, solve_time_s, status,
                     lower_bound_s, bd)
