"""The best spatial assignment of a layer on the Table-1 dataflows: the analytical floor of its cycles.

Why a module of its own: the surrogate learns each target relative to a cheap analytical
quantity (see :data:`surrogate.features.OFFSET_FEATURES`), and for cycles that quantity is the
compute time of the best perfect-factor spatial assignment the SA's constraints allow -- what the
analytical mapper always reaches. This enumerates that assignment jointly over the array axes for
row stationary (Eyeriss: X holds Q × M, Y holds S × C × M, extra MACs per PE take one more
factor) and weight stationary (Simba: 4 C lanes × 4 M lanes per PE, then C × M over the PEs), in
plain Python over *distinct* rows only (tables and data sets repeat shapes), cached.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np

from hwmodel.mapspace import divisors


_KEY_WEIGHTS = np.random.default_rng(0xD1F).integers(1, 2**63, size=16, dtype=np.uint64) | np.uint64(1)


def _unique_int_rows(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct rows, inverse)`` of a small-width int64 matrix: one sort of a 64-bit row hash,
    verified exactly (a collision falls back to ``np.unique(axis=0)``)."""
    if len(cols) <= 16:
        return cols, np.arange(len(cols))
    with np.errstate(over="ignore"):
        key = (cols.astype(np.uint64) * _KEY_WEIGHTS[: cols.shape[1]]).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    uniq, inverse = cols[first], inverse.reshape(-1)
    if not np.array_equal(uniq[inverse], cols):
        uniq, inverse = np.unique(cols, axis=0, return_inverse=True)
    return uniq, np.asarray(inverse).reshape(-1)


@lru_cache(maxsize=65536)
def _best_divisor(n: int, cap: int) -> int:
    """The largest divisor of ``n`` that is at most ``cap`` (1 when ``cap`` < 1 is impossible: 0)."""
    if cap < 1:
        return 0
    if n <= cap:
        return n
    return max(d for d in divisors(n) if d <= cap)


@lru_cache(maxsize=65536)
def _best_pair(a: int, b: int, cap: int) -> int:
    """The largest ``da × db <= cap`` with ``da | a`` and ``db | b`` (two dims sharing one array axis)."""
    if cap < 1:
        return 0
    best = 1
    for da in divisors(a):
        if da > cap:
            break
        best = max(best, da * _best_divisor(b, cap // da))
        if best == cap:
            break
    return best


def _fit_fixed(v: int, remaining: int) -> int:
    """A fixed spatial factor applied to a dim (the mapspace's rule: itself, all of a smaller dim, or the gcd)."""
    if remaining % v == 0:
        return v
    return remaining if remaining < v else gcd(v, remaining)


@lru_cache(maxsize=65536)
def _split_pair(a: int, b: int, cap: int) -> tuple[int, int]:
    """``(da, db)`` with ``da | a``, ``db | b``, ``da × db <= cap`` and the largest product; among
    equal products the largest ``da`` (for row stationary, Q on the array reuses each weight)."""
    best, split = 0, (1, 1)
    for da in reversed(divisors(a)):
        if da > cap:
            continue
        db = _best_divisor(b, cap // da)
        if da * db > best:
            best, split = da * db, (da, db)
    return split


@lru_cache(maxsize=65536)
def _used_ws(cg: int, mg: int, pe_x: int) -> tuple[int, int, int, int, int]:
    """Weight stationary (Simba): C and M fill 4 lanes each (the mapspace's C=4 / M=4), then share the PEs.

    Returns ``(MAC units used, 1, 1, C on the array, M on the array)`` (the ``_used_rs`` layout)."""
    lc, lm = _fit_fixed(4, cg), _fit_fixed(4, mg)
    c_pe, m_pe = _split_pair(cg // lc, mg // lm, pe_x)
    return lc * lm * c_pe * m_pe, 1, 1, lc * c_pe, lm * m_pe


@lru_cache(maxsize=65536)
def _used_rs_pe(cg: int, mg: int, s: int, q: int, pe_x: int, pe_y: int) -> tuple[int, int, int, int, int]:
    """Row stationary (Eyeriss), one MAC per PE: X holds Q × M_x, Y holds S (whole) × C × M_y.

    Returns ``(MAC units used, Q on X, S on Y, C on Y, M on both axes)``; ties keep the most Q on X."""
    if s > pe_y:  # the whole filter row does not fit a column: the mapper relaxes the constraint
        qx, mx = _split_pair(q, mg, pe_x)
        sy = max(_best_divisor(s, pe_y), 1)
        return qx * mx * sy, qx, sy, 1, mx
    best = (1, 1, 1, 1, 1)
    for my in divisors(mg):
        if s * my > pe_y:
            break
        cy = max(_best_divisor(cg, pe_y // (s * my)), 1)
        qx, mx = _split_pair(q, mg // my, pe_x)
        used = qx * mx * s * my * cy
        if used > best[0] or (used == best[0] and qx > best[1]):
            best = (used, qx, s, cy, mx * my)
    return best


@lru_cache(maxsize=65536)
def _used_rs(cg: int, mg: int, s: int, q: int, p: int, pe_x: int, pe_y: int, mpp: int) -> tuple[int, int, int, int, int]:
    """Row stationary with ``mpp`` MACs per PE: the MACs inside a PE take a factor of C, M, P or Q
    (whichever gives the most busy MACs overall), the PE array as in :func:`_used_rs_pe`."""
    best = _used_rs_pe(cg, mg, s, q, pe_x, pe_y)
    if mpp <= 1:
        return best
    for dim in range(4):
        vals = [cg, mg, q, p]
        f = _best_divisor(vals[dim], mpp)
        if f <= 1:
            continue
        vals[dim] //= f
        u, qx, sy, cy, m = _used_rs_pe(vals[0], vals[1], s, vals[2], pe_x, pe_y)
        if u * f > best[0]:
            best = (u * f, qx * (f if dim == 2 else 1), sy, cy * (f if dim == 0 else 1), m * (f if dim == 1 else 1))
    return best


def exact_spatial_macs(cg: np.ndarray, mg: np.ndarray, s: np.ndarray, q: np.ndarray, p: np.ndarray, pe_x: np.ndarray,
                       pe_y: np.ndarray, macs_per_pe: np.ndarray, row_stationary: np.ndarray) -> np.ndarray:
    """The best spatial assignment of the Table-1 dataflows, [n, 5]: MAC units kept busy (per
    group), then the Q, S, C and M factors on the array (see ``_used_rs`` / ``_used_ws``).

    Why: compute cycles are MACs / units in use, and the analytical mapper always reaches the
    best perfect-factor assignment its constraints allow; the ``div_*`` features above treat the
    axes separately (M counted on both, Simba's lanes ignored), this enumerates the joint split.
    Which dims sit on the array also sets how often DRAM re-sends the weights (the dominant
    energy term of a delay-first mapping). Evaluated once per distinct row.
    """
    cols = np.stack([np.asarray(a, dtype=np.int64) for a in (cg, mg, s, q, p, pe_x, pe_y, macs_per_pe, row_stationary)],
                    axis=1)
    uniq, inverse = _unique_int_rows(cols)
    vals = np.array([_used_rs(*map(int, r[:8])) if r[8] else _used_ws(int(r[0]), int(r[1]), int(r[5]) * int(r[6]))
                     for r in uniq], dtype=np.float64).reshape(-1, 5)
    return vals[np.asarray(inverse).reshape(-1)]
