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

    The receive term is the 2-D prefix sum of a sparse difference array ``diff`` (``+w`` at
    ``(prev+1, cons+1)``, ``-w`` at ``(cons+1, cons+1)``), summed over rows, then over columns, as
    ``np.cumsum`` twice would. Instead of materialising ``diff``, the nonzero cells are grouped by
    column (each cell summed in the order ``np.add.at`` adds its updates) and the matrix is
    filled one output row ``b`` at a time, carrying the column-wise running sums: the same
    additions in the same order (bit-identical), but one contiguous pass over the output instead
    of three strided passes over two ``n²`` arrays.
    """
    n1 = c_pre.shape[0]
    n_e = prev.shape[0]
    # the updates in np.add.at order (all +w, then all -w), stably sorted by (column, row)
    rows = np.empty(2 * n_e, dtype=np.int64)
    cols = np.empty(2 * n_e, dtype=np.int64)
    vals = np.empty(2 * n_e)
    for e in range(n_e):
        rows[e], cols[e], vals[e] = prev[e] + 1, cons[e] + 1, w[e]
        rows[n_e + e], cols[n_e + e], vals[n_e + e] = cons[e] + 1, cons[e] + 1, -w[e]
    order = np.argsort(cols * (n1 + 2) + rows, kind="mergesort")
    # one summed value per distinct cell, cells of column c at cell_ptr[c]:cell_ptr[c+1]
    cell_row = np.empty(2 * n_e, dtype=np.int64)
    cell_val = np.empty(2 * n_e)
    cell_ptr = np.zeros(n1 + 2, dtype=np.int64)
    n_cells = 0
    for i in range(2 * n_e):
        u = order[i]
        if i > 0 and rows[order[i - 1]] == rows[u] and cols[order[i - 1]] == cols[u]:
            cell_val[n_cells - 1] += vals[u]  # x - w in np.add.at is x + (-w), bit for bit
        else:
            cell_row[n_cells] = rows[u]
            cell_val[n_cells] = 0.0 + vals[u]
            cell_ptr[cols[u] + 1] += 1
            n_cells += 1
    for c in range(n1 + 1):
        cell_ptr[c + 1] += cell_ptr[c]
    run = np.zeros(n1)  # run[a]: receive prefix of row a up to the previous column
    t = np.empty((n1, n1))
    for b in range(n1):
        col_sum = 0.0  # diff summed over rows <= a in column b
        q, q_end = cell_ptr[b], cell_ptr[b + 1]
        for a in range(n1):
            while q < q_end and cell_row[q] == a:
                col_sum += cell_val[q]
                q += 1
            run[a] += col_sum
        for a in range(b):
            recv = (h_pre[b] - h_pre[a]) + run[a]
            stream = max((p_pre[b] - p_pre[a]) - mem, 0.0) / pbw
            t[b, a] = (c_pre[b] - c_pre[a]) + stream + recv / lbw
        t[b, b] = 0.0
        for a in range(b + 1, n1):
            t[b, a] = np.inf
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
    (``additive=False``) or by sum over segments whose ``max_t[b, a] <= cap`` (``additive=True``).

    ``best[j, b]``: the best value of ``b`` layers in ``j`` segments. Entry ``(j, b)`` needs
    ``best[j-1, a]`` for ``a <= b`` only, so the loops run end ``b`` outermost and all ``k``
    segment counts inside: row ``b`` of the ``n²`` matrix is read ``k`` times while it is in L1,
    instead of the whole matrix being streamed ``k`` times from memory (the DP is
    bandwidth-bound). Each entry is the same scan as before (first minimum over ascending ``a``),
    so the result is unchanged; the first segment can only start at 0.
    """
    n1 = cost_t.shape[0]
    best = np.full((k + 1, n1), np.inf)
    best[0, 0] = 0.0
    arg = np.zeros((k, n1), dtype=np.int64)
    for b in range(n1):
        for j in range(k):
            prev = best[j]
            if j == 0:  # prev[a] = inf for a > 0: start 0 is the first minimum
                if additive:
                    best[1, b] = prev[0] + (cost_t[b, 0] if max_t[b, 0] <= cap else np.inf)
                else:
                    best[1, b] = max(prev[0], cost_t[b, 0])
                continue
            m = np.inf
            am = 0
            for a in range(0, b + 1):
                if additive:
                    c = prev[a] + (cost_t[b, a] if max_t[b, a] <= cap else np.inf)
                else:
                    c = max(prev[a], cost_t[b, a])
                if c < m or a == 0:
                    m = c
                    am = a
            best[j + 1, b] = m
            arg[j, b] = am
    return best[k, n1 - 1], _backtrack(arg, n1 - 1)


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
