"""The vectorised closed forms of hwmodel.nest against a plain loop-by-loop walk of the same rules.

The walk enumerates every step of the temporal loops above a level, keeps the tile's actual
point set and counts what a step brings in:

* nothing when the tile is unchanged (only loops irrelevant to the tensor moved);
* the set difference |new \\ old| when the step is taken by the innermost moving loop above the
  level (Timeloop's sliding window; for weights and outputs this is the whole tile anyway);
* the whole tile otherwise (an outer step re-fetches, even when the inner loops are irrelevant).

Random small problems and random mappings on a toy 3-level SA exercise strides, dilations,
splits of one dimension over several levels, spatial fan-out and factor-1 loops.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwmodel.mapping import DIMS, TENSORS
from hwmodel.nest import RELEVANT, MappingBatch, Problem, evaluate_batch
from hwmodel.spec import AcceleratorSpec

TOY = AcceleratorSpec.model_validate({
    "name": "toy", "dataflow": "custom", "pe_array": {"x": 4, "y": 2}, "macs_per_pe": 2, "mac_energy_pj": 1.0,
    "levels": [
        {"name": "rf", "kind": "regfile", "size_words": 4096, "instances": 4, "mesh_x": 4,
         "read_energy_pj": 0.1, "write_energy_pj": 0.1},
        {"name": "glb", "kind": "sram", "size_words": 1 << 20, "block_size": 2, "instances": 1,
         "read_energy_pj": 2.0, "write_energy_pj": 3.0},
        {"name": "DRAM", "kind": "dram", "block_size": 4, "instances": 1, "read_energy_pj": 100.0,
         "write_energy_pj": 100.0},
    ],
})


def _split(n: int, parts: int, rng: np.random.Generator) -> list[int]:
    """Random ordered factorisation of n into `parts` factors."""
    out = [1] * parts
    p, m = 2, n
    primes = []
    while p * p <= m:
        while m % p == 0:
            primes.append(p)
            m //= p
        p += 1
    if m > 1:
        primes.append(m)
    for q in primes:
        out[int(rng.integers(parts))] *= q
    return out


def _random_case(rng: np.random.Generator):
    pb = Problem(N=int(rng.choice([1, 2])), C=int(rng.choice([1, 2, 3, 4])), M=int(rng.choice([2, 4, 6])),
                 R=int(rng.choice([1, 2, 3])), S=int(rng.choice([1, 3])), P=int(rng.choice([2, 3, 4, 6])),
                 Q=int(rng.choice([1, 2, 4])), stride_h=int(rng.choice([1, 2])), stride_w=int(rng.choice([1, 3])),
                 dilation_h=int(rng.choice([1, 2])), dilation_w=1)
    L = 3
    T = np.ones((L, 7), np.int64)
    SX = np.ones((L, 7), np.int64)
    SY = np.ones((L, 7), np.int64)
    # spatial: level 0 fans out 4 x 2 to the MACs; put a factor of one or two dims there
    for di, size in enumerate(pb.dims):
        slots = _split(size, 4, rng)  # rf temporal, rf spatial, glb temporal, DRAM temporal
        T[0, di], T[1, di], T[2, di] = slots[0], slots[2], slots[3]
        SX[0, di] = slots[1]
    # keep the spatial product within the 4 x 2 fan-out: fold the excess back into DRAM
    for di in range(7):
        while np.prod(SX[0]) > 4 and SX[0, di] > 1:
            p = min(q for q in range(2, SX[0, di] + 1) if SX[0, di] % q == 0)
            SX[0, di] //= p
            T[2, di] *= p
    order = np.array([rng.permutation(7) for _ in range(L)])
    keep = np.ones((L, 3), bool)
    if rng.random() < 0.5:
        keep[1, 0] = False  # glb bypasses weights half of the time
    return pb, MappingBatch(T[None], SX[None], SY[None], order[None], keep)


def _points(t: int, origin: dict[int, int], ext: np.ndarray, pb: Problem) -> set:
    """The tensor points a tile with loop-index origin `origin` and extents `ext` touches.

    Input tiles are axis-aligned boxes, as in Timeloop (AAHR): with a stride larger than the
    filter extent the rows in between count too.
    """
    rng_ = {d: range(origin[d], origin[d] + int(ext[d])) for d in range(7)}
    pts = set()
    for n, c, m, r, s, p, q in itertools.product(*(rng_[d] for d in range(7))):
        if t == 0:
            pts.add((c, m, r, s))
        elif t == 2:
            pts.add((n, m, p, q))
        else:
            pts.add((n, c, p * pb.stride_h + r * pb.dilation_h, q * pb.stride_w + s * pb.dilation_w))
    if t == 1:  # fill the bounding box
        hs = [p[2] for p in pts]
        ws = [p[3] for p in pts]
        nc = {(p[0], p[1]) for p in pts}
        pts = {(n, c, h, w) for n, c in nc for h in range(min(hs), max(hs) + 1) for w in range(min(ws), max(ws) + 1)}
    return pts


def _reference_loads(pb: Problem, batch: MappingBatch, c: int, t: int) -> int:
    T = batch.temporal[0]
    S = batch.spatial_x[0] * batch.spatial_y[0]
    L = T.shape[0]
    ext = np.prod(T[: c + 1] * S[: c + 1], axis=0)
    # loops above c, innermost first, with their index strides (spatial loops sit inside a level's temporal ones)
    loops = []
    for lv in range(c + 1, L):
        below = np.prod(T[:lv] * S[:lv], axis=0) * S[lv]
        for d in batch.order[0, lv]:
            if T[lv, d] > 1:
                loops.append((int(d), int(T[lv, d]), int(below[d])))
    if not loops:
        return len(_points(t, dict.fromkeys(range(7), 0), ext, pb))
    total, prev = 0, None
    # enumerate steps, outermost loop slowest
    for idx in itertools.product(*(range(f) for _, f, _ in reversed(loops))):
        idx = idx[::-1]  # innermost first
        origin = dict.fromkeys(range(7), 0)
        for (d, _, s), i in zip(loops, idx):
            origin[d] += i * s
        pts = _points(t, origin, ext, pb)
        if prev is None:
            total += len(pts)
        else:
            prev_idx, prev_pts = prev
            moved = max(k for k in range(len(loops)) if idx[k] != prev_idx[k])  # the loop that stepped
            relevant_change = any(
                RELEVANT[t][loops[k][0]] and idx[k] != prev_idx[k] for k in range(len(loops))
            )
            if not relevant_change:
                pass
            elif moved == 0:
                total += len(pts - prev_pts)
            else:
                total += len(pts)
        prev = (idx, pts)
    return total


@pytest.mark.parametrize("seed", range(40))
def test_closed_forms_match_the_loop_walk(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pb, batch = _random_case(rng)
    res = evaluate_batch(pb, TOY, batch)
    S = batch.spatial_x[0] * batch.spatial_y[0]
    compute = int(np.prod(batch.temporal[0]))
    assert res.cycles[0] == compute and res.utilized_macs[0] == np.prod(S)
    for t in range(3):
        keepers = [c for c in range(3) if batch.keep[c, t]]
        loads = {c: _reference_loads(pb, batch, c, t) for c in keepers}
        for j, c in enumerate(keepers):
            rel_sp = np.prod(np.where(RELEVANT[t][None, :], S, 1)[: c + 1])
            if j == 0:
                child = compute * rel_sp
            else:
                cc = keepers[j - 1]
                child = loads[cc] * np.prod(np.where(RELEVANT[t][None, :], S, 1)[cc + 1: c + 1])
            top = c == 2
            where = f"seed {seed} {TENSORS[t]} at level {c}"
            if t == 2:
                outer = np.prod(np.where(RELEVANT[t][None, :], batch.temporal[0], 1)[c + 1:])
                partition = res.tile_words[0, c, t] * outer
                assert res.updates[0, c, t] == child, where
                assert res.reads[0, c, t] == child - partition, where
                assert res.fills[0, c, t] == (0 if top else loads[c] - partition), where
            else:
                assert res.reads[0, c, t] == child, where
                assert res.fills[0, c, t] == (0 if top else loads[c]), where


def test_factor_one_loops_and_orders_do_not_matter() -> None:
    """Permuting only factor-1 loops, or batching, never changes a count."""
    rng = np.random.default_rng(123)
    pb, batch = _random_case(rng)
    T = batch.temporal[0]
    orders = []
    for _ in range(6):
        o = batch.order[0].copy()
        for lv in range(3):
            ones = [r for r in range(7) if T[lv, o[lv, r]] == 1]
            o[lv, ones] = o[lv, rng.permutation(ones)]
        orders.append(o)
    many = MappingBatch(np.repeat(batch.temporal, 6, 0), np.repeat(batch.spatial_x, 6, 0),
                        np.repeat(batch.spatial_y, 6, 0), np.stack(orders), batch.keep)
    res = evaluate_batch(pb, TOY, many)
    for field in (res.reads, res.fills, res.updates, res.level_energy_pj):
        assert np.all(field == field[:1])
    assert DIMS == ("N", "C", "M", "R", "S", "P", "Q")
