"""Contiguous-segment partitioners: the Edge TPU compiler's rule and a latency-balanced variant.

Both cut the layers, in the problem's topological order, into ``k`` contiguous segments (any
such cut is feasible: every edge points forward in a topological order).

* :func:`solve_param_balanced` (``heuristic``) mimics what ``edgetpu_compiler --num_segments k``
  does by default: segments with balanced *parameter size* (it minimises the largest segment's
  parameter bytes), blind to compute and to the activations crossing the cuts.
* :func:`solve_latency_balanced` (``balanced``) minimises the bottleneck of the full stage-time
  model of :mod:`scheduler.pipeline.model` (compute + parameter streaming + activation receive)
  over all contiguous cuts of that order, ties broken by total latency. It is optimal among
  contiguous cuts of *this* order, not among all precedence-feasible assignments: layers of
  parallel branches (Inception, DenseNet) can be interleaved differently, which is what the
  exact solver and the learned one may exploit.

Both use one dynamic program over a precomputed ``(n+1, n+1)`` matrix of segment costs, so they
take milliseconds even for 700-layer networks (the matrix and the programs are compiled loops,
:mod:`scheduler.pipeline.dp_kernels`).
"""

from __future__ import annotations

import time

import numpy as np

from scheduler.pipeline.dp_kernels import minmax_cuts, minsum_capped_cuts, segment_matrix_t
from scheduler.pipeline.model import TIE_RTOL, Partition, PipelineProblem, make_partition


def _segment_times_t(problem: PipelineProblem, order: np.ndarray | None = None) -> np.ndarray:
    """The transpose ``T[b, a]`` of :func:`segment_times` (contiguous for the DP kernels).

    With ``order`` (a topological order), the segments are those of the layers taken in that
    order (as if the problem had been renumbered; no new problem is built).
    """
    c, p, h, out = problem.compute_time_s, problem.param_bytes, problem.host_in_bytes, problem.out_bytes
    e = problem.unique_out_edges  # sorted by (producer, consumer)
    if order is not None:
        order = np.asarray(order, dtype=np.int64)
        pos = np.empty_like(order)
        pos[order] = np.arange(order.size)
        c, p, h, out = c[order], p[order], h[order], out[order]
        if e.size:
            e = pos[e]
            e = e[np.argsort(e[:, 0] * np.int64(problem.n_layers) + e[:, 1])]
    c_pre = np.concatenate([[0.0], np.cumsum(c)])
    p_pre = np.concatenate([[0.0], np.cumsum(p)])
    h_pre = np.concatenate([[0.0], np.cumsum(h)])
    if e.size:
        # For producer u with consumers c1 < c2 < ..., a segment starting at a in (c_{i-1}, c_i]
        # (c_0 = u) first meets the tensor at c_i, so it pays out_bytes[u] iff b > c_i: a
        # rectangle rows (c_{i-1}, c_i] x columns (c_i, n], summed with a 2-D difference array.
        u, v = e[:, 0], e[:, 1]
        prev = np.where(np.r_[False, u[1:] == u[:-1]], np.r_[0, v[:-1]], u)
        w = out[u]
    else:
        prev = v = np.zeros(0, dtype=np.int64)
        w = np.zeros(0)
    return segment_matrix_t(c_pre, p_pre, h_pre, np.ascontiguousarray(prev, dtype=np.int64),
                            np.ascontiguousarray(v, dtype=np.int64), np.ascontiguousarray(w, dtype=np.float64),
                            float(problem.param_mem_bytes), float(problem.param_bw_bytes_per_s),
                            float(problem.link_bw_bytes_per_s))


def segment_times(problem: PipelineProblem) -> np.ndarray:
    """``T[a, b]``: stage time of the segment of layers ``a..b-1`` (``inf`` where ``b < a``).

    The receive term counts the output of every layer ``u < a`` whose first consumer at or after
    ``a`` lies inside the segment, plus the host input of the segment's layers. Computed by a
    compiled kernel (:mod:`scheduler.pipeline.dp_kernels`) in one pass over the matrix.
    """
    return _segment_times_t(problem).T


def _lexicographic(max_t: np.ndarray, stage_t: np.ndarray, k: int) -> np.ndarray:
    """Cuts minimising the largest ``max`` cost, then the sum of ``stage`` costs (both ``[b, a]``)."""
    value, _ = minmax_cuts(max_t, k)
    return minsum_capped_cuts(max_t, stage_t, value * (1 + TIE_RTOL) + 1e-18, k)


def boundaries_to_assign(bounds: np.ndarray, n: int) -> np.ndarray:
    """Stage boundaries ``0=b0<=..<=bk=n`` → stage index per layer."""
    assign = np.zeros(n, dtype=np.int64)
    for j in range(len(bounds) - 1):
        assign[bounds[j]: bounds[j + 1]] = j
    return assign


def solve_param_balanced(problem: PipelineProblem) -> Partition:
    """Edge TPU compiler style: contiguous segments minimising the largest parameter size.

    Among cuts with the same largest segment parameter size, the one with the lowest total
    latency is kept (the compiler's choice among those is unspecified; this is the kindest one).
    """
    start = time.perf_counter()
    n = problem.n_layers
    p_pre = np.concatenate([[0.0], np.cumsum(problem.param_bytes)])
    params_t = p_pre[:, None] - p_pre[None, :]  # [b, a]: parameter bytes of layers a..b-1
    idx = np.arange(n + 1)
    params_t[idx[:, None] < idx[None, :]] = np.inf
    stage_t = _segment_times_t(problem)
    bounds = _lexicographic(params_t, stage_t, problem.n_stages)
    assign = boundaries_to_assign(bounds, n)
    return make_partition(problem, assign, "heuristic", time.perf_counter() - start)


def solve_latency_balanced(problem: PipelineProblem) -> Partition:
    """Contiguous segments minimising the bottleneck stage time, ties by total latency."""
    start = time.perf_counter()
    stage_t = _segment_times_t(problem)
    bounds = _lexicographic(stage_t, stage_t, problem.n_stages)
    assign = boundaries_to_assign(bounds, problem.n_layers)
    return make_partition(problem, assign, "balanced", time.perf_counter() - start)


def balanced_cuts_in_order(problem: PipelineProblem, order: np.ndarray) -> np.ndarray:
    """Latency-balanced contiguous cuts of the layers taken in ``order`` (a topological order).

    Returns a stage per layer (original indexing). The learned solver uses it to place the stage
    boundaries optimally along the layer order its policy chose.
    """
    order = np.asarray(order, dtype=np.int64)
    pos = np.empty_like(order)
    pos[order] = np.arange(order.size)
    stage_t = _segment_times_t(problem, order)
    bounds = _lexicographic(stage_t, stage_t, problem.n_stages)
    return boundaries_to_assign(bounds, problem.n_layers)[pos]
