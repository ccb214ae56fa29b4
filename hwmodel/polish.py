"""The mapper's second stage: a deterministic descent that settles ties the random search left open.

Why: under ``delay`` many mappings reach the same minimum cycles (the spatial assignment and the
product of the temporal factors decide them), and which of those the random search happened to
keep decided the energy and the DRAM traffic: two seeds gave the same cycles but up to 2.6x the
energy and 11x the DRAM bytes on the same layer. A surrogate cannot learn that noise, and a
table should not depend on a seed that much. Timeloop's lexicographic
``optimization-metrics: [delay, energy]`` means "the least energy among the fastest mappings";
this stage gets close to that with a search whose moves involve no random numbers:

* **starts** (chosen by :class:`hwmodel.mapper.Mapper`): the random stage's survivors, the best of
  a sample drawn with a fixed seed, and, for each of the most-utilised spatial assignments (a
  seed-independent list), a canonical mapping with every free temporal factor at its outermost
  free level (:func:`canonical_starts`);
* **moves**, all scored in one batched call per round: for each dimension, *every* distribution of
  its free temporal factor over its free levels (ordered factorisations; a large neighbourhood, so
  that descents from different starts meet in the same optimum); for each level, every order of
  its moving loops outside the fixed innermost prefix (up to ``max_perm_loops`` of them; more: every
  single loop moved to another rank);
* **steepest descent** under the objective's lexicographic key (``delay``: cycles, then energy:
  cycles can only go down), until no move improves any start.

Everything here is a function of the starts alone: identical starts give identical results.
Candidates met again (a descent's next neighbourhood repeats every move along the dimension it
just moved) are looked up by a 64-bit fingerprint instead of re-evaluated.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations, permutations

import numpy as np

from hwmodel.mapspace import FREE, MapSpace, Sampler, prime_factors
from hwmodel.nest import D, MappingBatch, evaluate_batch


@lru_cache(maxsize=4096)
def distributions(n: int, k: int) -> np.ndarray:
    """Every way to write ``n`` as an ordered product of ``k`` factors, as an int array [W, k].

    Built from the prime exponents: each prime's exponent is split over the ``k`` slots
    (compositions), and the splits of different primes combine freely.
    """
    exps: dict[int, int] = {}
    for p in prime_factors(n):
        exps[p] = exps.get(p, 0) + 1
    per_prime = []
    for p, e in sorted(exps.items()):
        comps = _compositions(e, k)
        per_prime.append(np.array([[p**x for x in c] for c in comps], np.int64))
    out = np.ones((1, k), np.int64)
    for arr in per_prime:
        out = (out[:, None, :] * arr[None, :, :]).reshape(-1, k)
    out.setflags(write=False)
    return out


def _compositions(e: int, k: int) -> list[tuple[int, ...]]:
    """Every way to split ``e`` into ``k`` ordered non-negative parts (stars and bars)."""
    out = []
    for bars in combinations(range(e + k - 1), k - 1):
        edges = (-1, *bars, e + k - 1)
        out.append(tuple(edges[i + 1] - edges[i] - 1 for i in range(k)))
    return out


def canonical_starts(space: MapSpace, sampler: Sampler, which: np.ndarray) -> MappingBatch:
    """For each spatial assignment in ``which``: every free temporal factor at its outermost free level
    (the smallest tiles, which nearly always fit) and the loops in dimension order after each
    level's fixed prefix. No randomness: the same assignment always gives the same start."""
    n = len(which)
    T = sampler.base[which].copy()
    rows = np.arange(n)
    pd_, pv = sampler.pdim[which], sampler.pval[which]
    for j in range(pd_.shape[1]):
        d = pd_[:, j]
        last = sampler.slots[d, sampler.nfree[d] - 1]
        T[rows, last, d] *= pv[:, j]
    order = np.empty((n, space.n_levels, D), np.int64)
    for li, pre in enumerate(space.perm_prefix):
        order[:, li, :] = list(pre) + [d for d in range(D) if d not in pre]
    return MappingBatch(T, sampler.sx[which].copy(), sampler.sy[which].copy(), order, spatial_id=np.asarray(which))


@lru_cache(maxsize=16)
def _rank_perms(m: int, max_perm_loops: int) -> np.ndarray:
    """Re-orderings of ``m`` moving loops (rows of rank indices, identity excluded): every order when
    ``m <= max_perm_loops``, else every single loop moved to another rank."""
    if m <= max_perm_loops:
        perms = [list(p) for p in permutations(range(m))]
    else:
        perms = []
        for a in range(m):
            rest = [r for r in range(m) if r != a]
            perms.extend(rest[:b] + [a] + rest[b:] for b in range(m))
    ident = list(range(m))
    out = np.array(sorted({tuple(p) for p in perms if p != ident}), np.int64).reshape(-1, m)
    out.setflags(write=False)
    return out


def canonical_orders(space: MapSpace, batch: MappingBatch) -> MappingBatch:
    """Each level's moving loops (factor > 1) right after its fixed prefix, factor-1 loops last.

    Where a factor-1 loop sits changes nothing (the nest model drops it), so this only makes
    equal mappings look equal: one fingerprint, one evaluation, and order moves that permute the
    moving loops alone.
    """
    levels = _free_order_levels(space.perm_prefix)
    if not levels:
        return batch  # every level's order is fixed
    lv = np.array(levels)
    npre = np.array([len(space.perm_prefix[li]) for li in levels])[None, :, None]
    rank = np.arange(D)[None, None, :]
    sub = batch.order[:, lv, :]
    moving = np.take_along_axis(batch.temporal[:, lv, :], sub, axis=2) > 1
    key = np.where(rank < npre, rank, np.where(moving, D + rank, 2 * D + rank))
    order = batch.order.copy()
    order[:, lv, :] = np.take_along_axis(sub, np.argsort(key, axis=2, kind="stable"), axis=2)
    return MappingBatch(batch.temporal, batch.spatial_x, batch.spatial_y, order, batch.keep, batch.spatial_id)


@lru_cache(maxsize=256)
def _free_order_levels(prefixes: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
    """Levels whose loop order the mapper may choose (at least two dims outside the fixed prefix)."""
    return tuple(li for li, pre in enumerate(prefixes) if len(pre) < D - 1)


def _neighbourhood(space: MapSpace, pop: MappingBatch, max_ways: int, max_perm_loops: int) -> tuple[MappingBatch, np.ndarray]:
    """Every move from every parent, and the parent index of each child.

    Parents with the same free factor of a dimension (the same spatial assignment) share its list of
    distributions, so the children are built per (dimension, factor), not per parent.
    """
    T_list, O_list, src = [], [], []
    for d in range(D):
        fs = np.nonzero(space.t_rule[:, d] == FREE)[0]
        if len(fs) < 2:
            continue
        totals = np.prod(pop.temporal[:, fs, d], axis=1)
        for total in np.unique(totals).tolist():
            if total == 1:
                continue
            ways = distributions(int(total), len(fs))
            if len(ways) > max_ways:  # too many: the ones that use at most two levels
                ways = ways[(ways > 1).sum(axis=1) <= 2][:max_ways]
            parents = np.nonzero(totals == total)[0]
            idx = np.repeat(parents, len(ways))
            kids = pop.temporal[idx]
            kids[:, fs, d] = np.tile(ways, (len(parents), 1))
            T_list.append(kids)
            O_list.append(pop.order[idx])
            src.append(idx)
    # loop orders (the population is canonical: a level's moving loops follow its prefix)
    moving = (np.take_along_axis(pop.temporal, pop.order, axis=2) > 1)
    for li in _free_order_levels(space.perm_prefix):
        npre = len(space.perm_prefix[li])
        m_all = moving[:, li, npre:].sum(axis=1)
        for m in np.unique(m_all).tolist():
            if m < 2:
                continue
            perms = _rank_perms(int(m), max_perm_loops)
            parents = np.nonzero(m_all == m)[0]
            idx = np.repeat(parents, len(perms))
            kids_o = pop.order[idx]
            cols = npre + np.tile(perms, (len(parents), 1))
            kids_o[:, li, npre:npre + m] = np.take_along_axis(kids_o[:, li, :], cols, axis=1)
            T_list.append(pop.temporal[idx])
            O_list.append(kids_o)
            src.append(idx)
    if not T_list:
        return _take(pop, np.zeros(0, np.int64)), np.zeros(0, np.int64)
    s = np.concatenate(src)
    batch = MappingBatch(np.concatenate(T_list), pop.spatial_x[s], pop.spatial_y[s], np.concatenate(O_list), pop.keep,
                         pop.spatial_id[s])
    return canonical_orders(space, batch), s


_HASH_W = np.random.default_rng(0x9E3779B9).integers(1, 2**63, size=2 * 16 * D + 1, dtype=np.uint64) | np.uint64(1)


def _hash(batch: MappingBatch) -> np.ndarray:
    """A 64-bit fingerprint of each candidate (temporal factors, loop orders, spatial assignment)."""
    n = batch.size
    flat = np.concatenate([batch.temporal.reshape(n, -1), batch.order.reshape(n, -1), batch.spatial_id.reshape(n, 1)],
                          axis=1).astype(np.uint64)
    w = _HASH_W[: flat.shape[1]] if flat.shape[1] <= len(_HASH_W) else np.resize(_HASH_W, flat.shape[1])
    return (flat * w[None, :]).sum(axis=1, dtype=np.uint64)


class _Scores:
    """Sort keys of every candidate scored so far, by fingerprint: a child met again is not re-evaluated
    (a descent's next neighbourhood repeats every move along the dimension it just moved)."""

    def __init__(self) -> None:
        self.h = np.zeros(0, np.uint64)
        self.k = np.zeros((0, 2))

    def lookup(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.minimum(np.searchsorted(self.h, h), max(len(self.h) - 1, 0))
        found = (self.h[pos] == h) if len(self.h) else np.zeros(len(h), bool)
        keys = np.full((len(h), 2), np.inf)
        keys[found] = self.k[pos[found]]
        return found, keys

    def add(self, h: np.ndarray, k: np.ndarray) -> None:
        hh = np.concatenate([self.h, h])
        kk = np.concatenate([self.k, k])
        order = np.argsort(hh, kind="stable")
        self.h, self.k = hh[order], kk[order]


def _key_less(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise lexicographic ``a < b`` for [n, 2] sort keys."""
    return (a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] < b[:, 1]))


def descend(space: MapSpace, starts: MappingBatch, score_fn, offer, max_rounds: int = 12,  # noqa: ANN001
            max_ways: int = 400, max_perm_loops: int = 4) -> int:
    """Steepest descent from every start at once; each scored batch goes to ``offer(batch, res, keys)``.

    ``score_fn(NestResult) -> [B, 2]`` sort keys (lower is better, invalid = inf). Returns the
    number of candidates scored. Starts that meet the same mapping are merged.
    """
    starts = canonical_orders(space, starts)
    keep = np.nonzero(space.capacity_ok(starts))[0]
    pop = _take(starts, _first_of_each(_hash(starts), keep))
    if pop.size == 0:
        return 0
    res = evaluate_batch(space.pb, space.arch, pop)
    evaluated = pop.size
    keys = score_fn(res)
    offer(pop, res, keys)
    scores = _Scores()
    scores.add(_hash(pop), keys)
    alive = np.nonzero(np.isfinite(keys[:, 0]))[0]
    pop, keys = _take(pop, alive), keys[alive]
    for _ in range(max_rounds):
        if pop.size == 0:
            break
        kids, src = _neighbourhood(space, pop, max_ways, max_perm_loops)
        if kids.size == 0:
            break
        h = _hash(kids)
        seen, kkeys = scores.lookup(h)
        fresh = _first_of_each(h, np.nonzero(~seen & space.capacity_ok(kids))[0])
        if len(fresh):
            batch = _take(kids, fresh)
            kres = evaluate_batch(space.pb, space.arch, batch)
            evaluated += batch.size
            fk = score_fn(kres)
            offer(batch, kres, fk)
            scores.add(h[fresh], fk)
            _, kkeys = scores.lookup(h)  # duplicates within the round get the same keys
        # each parent's best child (ties: the first generated, so the result does not depend on luck)
        order = np.lexsort((np.arange(len(src)), kkeys[:, 1], kkeys[:, 0], src))
        first = order[np.r_[True, src[order][1:] != src[order][:-1]]]
        moved = first[_key_less(kkeys[first], keys[src[first]])]
        if len(moved) == 0:
            break
        keep_idx = _first_of_each(h[moved], np.arange(len(moved)))
        pop, keys = _take(kids, moved[keep_idx]), kkeys[moved[keep_idx]]
    return evaluated


def _first_of_each(h: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The entries of ``idx`` (in order) whose fingerprint ``h[idx]`` has not occurred before in ``idx``."""
    if len(idx) == 0:
        return idx.astype(np.int64)
    _, first = np.unique(h[idx], return_index=True)
    return idx[np.sort(first)]


def _take(batch: MappingBatch, idx: np.ndarray) -> MappingBatch:
    sid = None if batch.spatial_id is None else batch.spatial_id[idx]
    return MappingBatch(batch.temporal[idx], batch.spatial_x[idx], batch.spatial_y[idx], batch.order[idx], batch.keep, sid)

