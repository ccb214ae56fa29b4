"""Compiled kernels of the contiguous-cut dynamic programs (numba).

Why
    The latency-balanced cut (the ``balanced`` solver, the exact solver's hint, the learned
    solver's normaliser ``T_ref`` and its boundary refinement) fills an ``(n+1)×(n+1)`` matrix of
    segment costs and runs two ``O(k·n²)`` dynamic programs over it. In numpy that is ~15 passes
    over a 2 MB matrix (~15 ms for a 500-layer DenseNet); fused loops touch each entry once or
    twice (~1 ms).

Equivalence
    The kernels perform the same floating-point operations in the same order as the numpy
    formulation they replace (prefix-sum differences, the 2-D cumulative sum of the receive
    difference array row-major after column-major, ``argmin`` taking the first minimum), so every
    solver returns the same partition as before; ``tests/test_pipeline_fast.py`` checks them
    against the cost model and brute force.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def segment_matrix_t(c_pre: np.ndarray, p_pre: np.ndarray, h_pre: np.ndarray, prev: np.ndarray, cons: np.ndarray,
                     w: np.ndarray, mem: float, pbw: float, lbw: float) -> np.ndarray:
    """The *transpose* ``T[b, a]`` of :func:`scheduler.pipeline.heuristic.segment_times`.

    Transposed because the dynamic programs scan all starts ``a`` of a segment ending at ``b``:
    contiguous that way. ``(prev, cons, w)`` are the receive rectangles: a segment ``a..b-1``
    with ``prev < a <= cons < b`` pays ``w`` (a producer's tensor first met inside the segment).
    """
    n1 = c_pre.shape[0]
    diff = np.zeros((n1 + 1, n1 + 1))
    for e in range(prev.shape[0]):  # two passes, in the order np.add.at adds them
        diff[prev[e] + 1, cons[e] + 1] += w[e]
    for e in range(prev.shape[0]):
        diff[cons[e] + 1, cons[e] + 1] -= w[e]
    # cumulative sum over rows (axis 0), then over columns (axis 1), as np.cumsum twice
    for a in range(1, n1):
        for b in range(n1):
            diff[a, b] += diff[a - 1, b]
    t = np.empty((n1, n1))
    for a in range(n1):
        run = 0.0
        for b in range(n1):
            run += diff[a, b]
            if b < a:
                t[b, a] = np.inf
            elif b == a:
                t[b, a] = 0.0
            else:
                recv = (h_pre[b] - h_pre[a]) + run
                stream = max((p_pre[b] - p_pre[a]) - mem, 0.0) / pbw
                t[b, a] = (c_pre[b] - c_pre[a]) + stream + recv / lbw
    return t


@njit(cache=True, nogil=True)
def _backtrack(arg: np.ndarray, end: int) -> np.ndarray:
    k = arg.shape[0]
    bounds = np.zeros(k + 1, dtype=np.int64)
    bounds[k] = end
    for j in range(k - 1, -1, -1):
        bounds[j] = arg[j, bounds[j + 1]]
    return bounds


@njit(cache=True, nogil=True)
def _segment_dp(cost_t: np.ndarray, max_t: np.ndarray, cap: float, k: int, additive: bool) -> tuple[float, np.ndarray]:
    """The one cut DP behind both objectives: ``k`` segments, stage costs ``cost_t[b, a]`` combined by max
    (``additive=False``) or by sum over segments whose ``max_t[b, a] <= cap`` (``additive=True``)."""
    n1 = cost_t.shape[0]
    best = np.full(n1, np.inf)
    best[0] = 0.0
    new = np.empty(n1)
    arg = np.zeros((k, n1), dtype=np.int64)
    for j in range(k):
        for b in range(n1):
            m = np.inf
            am = 0
            for a in range(0, b + 1):
                if additive:
                    c = best[a] + (cost_t[b, a] if max_t[b, a] <= cap else np.inf)
                else:
                    c = max(best[a], cost_t[b, a])
                if c < m or a == 0:
                    m = c
                    am = a
            new[b] = m
            arg[j, b] = am
        best[:] = new
    return best[n1 - 1], _backtrack(arg, n1 - 1)


@njit(cache=True, nogil=True)
def minmax_cuts(cost_t: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Min over cuts ``0=b0<=..<=bk=n`` of ``max_j cost[b_{j-1}, b_j]``; (value, boundaries).

    ``cost_t[b, a] = cost[a, b]``, ``inf`` for ``a > b`` (so only ``a <= b`` is scanned: a
    start after the end can never be the first strict minimum).
    """
    return _segment_dp(cost_t, cost_t, np.inf, k, False)


@njit(cache=True, nogil=True)
def minsum_capped_cuts(max_t: np.ndarray, stage_t: np.ndarray, cap: float, k: int) -> np.ndarray:
    """Cuts minimising the sum of stage costs over segments whose max-cost is ``<= cap``.

    Both matrices transposed (``[b, a]``) and ``inf`` for ``a > b``, as in :func:`minmax_cuts`.
    """
    return _segment_dp(stage_t, max_t, cap, k, True)[1]


_WARM: list[bool] = []


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel once, on a 2-layer case.

    Solvers call it before they start their clocks: compiling is a one-off per process, like
    importing a library, not part of solving.
    """
    if _WARM:
        return
    from scheduler.pipeline.eval_kernel import warm_up as warm_eval

    warm_eval()
    pre = np.array([0.0, 1.0, 2.0])
    t = segment_matrix_t(pre, pre, pre, np.array([0]), np.array([1]), np.array([1.0]), 0.0, 1.0, 1.0)
    value, _ = minmax_cuts(t, 2)
    minsum_capped_cuts(t, t, value, 2)
    _WARM.append(True)
