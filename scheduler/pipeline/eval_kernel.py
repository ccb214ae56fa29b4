"""The stage-time terms of many assignments, as one compiled loop (numba).

Why
    :func:`scheduler.pipeline.model.breakdown_batch` scores every candidate of every solver (the
    learned solver's rollouts, the exact solver's hint and answer). In numpy it builds a few
    ``B × E`` arrays, deduplicates the received tensors with ``np.unique`` and scatters with
    ``np.add.at``: ~1 ms per call on a 500-layer network. One pass over layers and edges per
    assignment does the same in a few microseconds each.

Equivalence
    Sums are accumulated in the numpy version's order (layers in index order; per receiving
    stage, the received tensors by ascending producer), so the results are bit-identical;
    ``tests/test_pipeline_fast.py`` checks them against the cost model's definition.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def stage_terms(assigns: np.ndarray, compute: np.ndarray, params: np.ndarray, host_in: np.ndarray,
                out_bytes: np.ndarray, eu: np.ndarray, ev: np.ndarray, k: int) -> tuple:
    """``(compute_s, param_bytes, receive_bytes)``, each ``(B, k)``, of ``B`` assignments.

    ``(eu, ev)`` are the deduplicated edges sorted by (producer, consumer); every stage index
    must lie in ``0..k-1`` (the caller checks: this loop does not).
    """
    b_rows, n = assigns.shape
    comp = np.zeros((b_rows, k))
    par = np.zeros((b_rows, k))
    recv = np.zeros((b_rows, k))
    seen = np.full((n, k), -1, dtype=np.int64)  # seen[u, j] == b: stage j already receives u's tensor
    for b in range(b_rows):
        for v in range(n):
            s = assigns[b, v]
            comp[b, s] += compute[v]
            par[b, s] += params[v]
            recv[b, s] += host_in[v]
        for e in range(eu.shape[0]):
            u = eu[e]
            sv = assigns[b, ev[e]]
            if assigns[b, u] < sv and seen[u, sv] != b:
                seen[u, sv] = b
                recv[b, sv] += out_bytes[u]
    return comp, par, recv


_WARM: list[bool] = []


def warm_up() -> None:
    """Compile (or load from the on-disk cache) the kernel once, outside any solver's clock."""
    if _WARM:
        return
    one = np.ones(2)
    stage_terms(np.zeros((1, 2), dtype=np.int64), one, one, one, one, np.array([0], dtype=np.int64),
                np.array([1], dtype=np.int64), 2)
    _WARM.append(True)
