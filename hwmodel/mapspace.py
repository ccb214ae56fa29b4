"""The mapspace an SA's constraints allow for one problem, and vectorised sampling from it.

Timeloop's constraint vocabulary (``hwmodel.spec.Constraint``) is read as follows:

* temporal ``factors``: ``D=1`` forbids a temporal ``D`` loop at the level, ``D=k`` fixes it
  (cut to what is left when k does not divide it, see ``_fit``), ``D=0`` gives the level
  the whole remaining dimension (what the other levels leave);
* spatial ``factors``: the same for the loops a level fans out to its children; ``permutation`` +
  ``split`` put the dims before ``split`` on the mesh X axis and the rest on Y (without a split, a
  one-axis fan-out decides, and a 2-D fan-out lets the mapper choose per dim);
* ``permutation`` (temporal): the named dims are the innermost loops, in that order; the others
  are free outside them;
* ``scope: mapspace`` constraints only prune the search (Timeloop's ``mapspace_constraints``); the
  mapper drops them when they leave no valid mapping, and then the architecture's factor
  constraints too (also trying no spatial fan-out at all), so that every layer gets a mapping;
  :class:`hwmodel.mapper.MapperResult` says which level of constraints the mapping honours.

Keep / bypass is the levels' ``keep`` (fixed per SA).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import gcd, prod

import numpy as np

from hwmodel.mapping import DIMS
from hwmodel.nest import D, ArchArrays, MappingBatch, Problem, arch_arrays
from hwmodel.spec import AcceleratorSpec

FREE, FIXED, FULL, FORBID = 0, 1, 2, 3


@lru_cache(maxsize=4096)
def prime_factors(n: int) -> tuple[int, ...]:
    """Prime factors of ``n`` with multiplicity, ascending."""
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return tuple(out)


@lru_cache(maxsize=4096)
def divisors(n: int) -> tuple[int, ...]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return tuple(sorted(set(small + [n // d for d in small])))


@dataclass(frozen=True, eq=False)
class MapSpace:
    """Slots of one (problem, SA): what may vary where."""

    pb: Problem
    arch: ArchArrays
    t_rule: np.ndarray  # [L, D] FREE / FIXED / FULL / FORBID for temporal loops
    t_value: np.ndarray  # [L, D] the fixed factor (FIXED)
    s_rule: np.ndarray  # [L, D] for spatial loops
    s_value: np.ndarray  # [L, D]
    s_axis: np.ndarray  # [L, D] 0 = X, 1 = Y, 2 = either
    perm_prefix: tuple[tuple[int, ...], ...]  # per level: dims forced innermost, in order
    level: str  # "mapspace" | "architecture" | "relaxed": which constraints were honoured

    @property
    def n_levels(self) -> int:
        return len(self.arch.names)

    @classmethod
    def build(cls, spec: AcceleratorSpec, pb: Problem, level: str = "mapspace") -> "MapSpace":
        arch = arch_arrays(spec)
        L = len(spec.levels)
        names = [lv.name for lv in spec.levels]
        t_rule = np.full((L, D), FREE)
        t_value = np.ones((L, D), np.int64)
        s_rule = np.full((L, D), FREE)
        s_value = np.ones((L, D), np.int64)
        s_axis = np.zeros((L, D), np.int64)
        prefix: list[tuple[int, ...]] = [() for _ in range(L)]
        honour_factors = level != "relaxed"
        include_mapspace = level == "mapspace"
        temporal = spec.merged_constraints("temporal", include_mapspace=include_mapspace)
        spatial = spec.merged_constraints("spatial", include_mapspace=include_mapspace)
        for li, name in enumerate(names):
            fx, fy = int(arch.fanout_x[li]), int(arch.fanout_y[li])
            if fx * fy == 1:
                s_rule[li, :] = FORBID
            else:
                s_axis[li, :] = 0 if fy == 1 else (1 if fx == 1 else 2)
            mc = spatial.get(name)
            if mc is not None and fx * fy > 1:
                if mc.permutation is not None and mc.split is not None:
                    for pos, dname in enumerate(mc.permutation):
                        s_axis[li, DIMS.index(dname)] = 0 if pos < mc.split else 1
                if honour_factors:
                    for dname, v in mc.factors.items():
                        di = DIMS.index(dname)
                        s_rule[li, di], s_value[li, di] = _rule(v)
            mt = temporal.get(name)
            if mt is not None:
                if mt.permutation:
                    prefix[li] = tuple(DIMS.index(dname) for dname in mt.permutation)
                if honour_factors:
                    for dname, v in mt.factors.items():
                        di = DIMS.index(dname)
                        t_rule[li, di], t_value[li, di] = _rule(v)
        # a dim with size 1 has nothing to place
        for di, size in enumerate(pb.dims):
            if size == 1:
                t_rule[:, di] = np.where(t_rule[:, di] == FREE, FORBID, t_rule[:, di])
                s_rule[:, di] = np.where(s_rule[:, di] == FREE, FORBID, s_rule[:, di])
        # every dim must have somewhere to go: DRAM's temporal loop takes what is left
        for di in range(D):
            if not np.any(t_rule[:, di] != FORBID) and not np.any(s_rule[:, di] != FORBID):
                t_rule[L - 1, di] = FREE
        return cls(pb, arch, t_rule, t_value, s_rule, s_value, s_axis, tuple(prefix), level)

    # ------------------------------------------------------------------------------------------
    def spatial_options(self, limit: int = 40000) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every spatial assignment (X and Y factors per level and dim) within the fan-outs.

        Depth-first over the (level, axis, dim) slots with each dim's remaining divisors; capped
        at ``limit`` nodes. Returns (sx, sy) pairs of [L, D] arrays.
        """
        L = self.n_levels
        remaining = list(self.pb.dims)
        for di in range(D):  # fixed temporal factors are not available to spatial loops
            for li in np.nonzero(self.t_rule[:, di] == FIXED)[0]:
                v = int(self.t_value[li, di])
                if remaining[di] % v:
                    return []
                remaining[di] //= v
        sx = np.ones((L, D), np.int64)
        sy = np.ones((L, D), np.int64)
        budget_x = self.arch.fanout_x.astype(np.int64).copy()
        budget_y = self.arch.fanout_y.astype(np.int64).copy()
        free_slots: list[tuple[int, int, int]] = []
        forced: list[tuple[int, int, int, int]] = []  # (level, axis, dim, value; 0 = whole remaining)
        for li in range(L):
            for di in range(D):
                rule = int(self.s_rule[li, di])
                if rule == FORBID:
                    continue
                axis = int(self.s_axis[li, di])
                if rule in (FIXED, FULL):
                    ax = axis if axis < 2 else int(budget_y[li] > budget_x[li])
                    forced.append((li, ax, di, int(self.s_value[li, di]) if rule == FIXED else 0))
                else:
                    free_slots.extend((li, ax, di) for ax in ((0, 1) if axis == 2 else (axis,)))
        for li, ax, di, v in sorted(forced, key=lambda x: x[3] == 0):
            # a fixed factor that does not fit what is left is cut (_fit); 0 takes all that is left
            v = _fit(v, remaining[di]) if v else remaining[di]
            budget = budget_x if ax == 0 else budget_y
            if v > budget[li]:
                return []
            (sx if ax == 0 else sy)[li, di] *= v
            budget[li] //= v
            remaining[di] //= v
        out: list[tuple[np.ndarray, np.ndarray]] = []
        nodes = 0

        def dfs(i: int) -> None:
            nonlocal nodes
            nodes += 1
            if nodes > limit:
                return
            if i == len(free_slots):
                out.append((sx.copy(), sy.copy()))
                return
            li, ax, di = free_slots[i]
            budget = budget_x if ax == 0 else budget_y
            arr = sx if ax == 0 else sy
            cap = int(budget[li])
            for v in divisors(remaining[di]):
                if v > cap:
                    break
                arr[li, di] = v
                budget[li] = cap // v
                remaining[di] //= v
                dfs(i + 1)
                remaining[di] *= v
                budget[li] = cap
                arr[li, di] = 1

        dfs(0)
        return out

    # ------------------------------------------------------------------------------------------
    def sampler(self, spatial: list[tuple[np.ndarray, np.ndarray]]) -> "Sampler":
        """Per spatial assignment: the forced temporal factors and the prime factors left to deal."""
        L = self.n_levels
        dims = self.pb.dims
        n_opt = len(spatial)
        sxa = np.stack([o[0] for o in spatial])
        sya = np.stack([o[1] for o in spatial])
        sp_prod = np.prod(sxa * sya, axis=1).tolist()  # [O][D] spatial product per dim
        rules = self.t_rule.T.tolist()  # [D][L]
        values = self.t_value.T.tolist()
        fixed = [[li for li in range(L) if rules[d][li] == FIXED] for d in range(D)]
        full = [next((li for li in range(L) if rules[d][li] == FULL), None) for d in range(D)]
        has_free = [any(r == FREE for r in rules[d]) for d in range(D)]
        base = np.ones((n_opt, L, D), np.int64)
        ok = np.ones(n_opt, bool)
        primes: list[list[tuple[int, int]]] = []
        for oi in range(n_opt):
            plist: list[tuple[int, int]] = []
            for di in range(D):
                rem = dims[di] // int(sp_prod[oi][di])
                for li in fixed[di]:
                    v = _fit(int(values[di][li]), rem)
                    base[oi, li, di] = v
                    rem //= v
                if full[di] is not None:
                    base[oi, full[di], di] *= rem
                    continue
                if not has_free[di]:
                    ok[oi] = ok[oi] and rem == 1
                    continue
                plist.extend((di, p) for p in prime_factors(rem))
            primes.append(plist)
        J = max(1, max(len(p) for p in primes))
        pdim = np.zeros((n_opt, J), np.int64)
        pval = np.ones((n_opt, J), np.int64)
        for oi, plist in enumerate(primes):
            for j, (di, p) in enumerate(plist):
                pdim[oi, j], pval[oi, j] = di, p
        free = self.t_rule == FREE  # [L, D]
        nfree = free.sum(axis=0)
        slots = np.zeros((D, max(1, int(nfree.max()))), np.int64)
        for di in range(D):
            idx = np.nonzero(free[:, di])[0]
            slots[di, : len(idx)] = idx
        return Sampler(self, sxa[ok], sya[ok], base[ok], pdim[ok], pval[ok], slots, np.maximum(nfree, 1))

    def random_orders(self, n: int, rng: np.random.Generator) -> np.ndarray:
        L = self.n_levels
        keys = rng.random((n, L, D))
        for li, pre in enumerate(self.perm_prefix):
            for pos, di in enumerate(pre):
                keys[:, li, di] = pos - 100.0
        return np.argsort(keys, axis=2, kind="stable")

    def capacity_ok(self, batch: MappingBatch) -> np.ndarray:
        """Cheap pre-check (before scoring): every level's kept tiles fit its size."""
        pb = self.pb
        ext = np.cumprod(batch.temporal * batch.spatial_x * batch.spatial_y, axis=1).astype(np.float64)
        keep = self.arch.keep
        w = ext[..., 1] * ext[..., 2] * ext[..., 3] * ext[..., 4]
        h = (ext[..., 5] - 1) * pb.stride_h + (ext[..., 3] - 1) * pb.dilation_h + 1
        wd = (ext[..., 6] - 1) * pb.stride_w + (ext[..., 4] - 1) * pb.dilation_w + 1
        i = ext[..., 0] * ext[..., 1] * h * wd
        o = ext[..., 0] * ext[..., 2] * ext[..., 5] * ext[..., 6]
        words = w * keep[None, :, 0] + i * keep[None, :, 1] + o * keep[None, :, 2]
        return np.all(words <= self.arch.size_words[None, :], axis=1)

    def utilization(self, sx: np.ndarray, sy: np.ndarray) -> float:
        return float(prod(int(v) for v in (sx * sy).ravel())) / self.arch.mac_units


def _fit(v: int, remaining: int) -> int:
    """A fixed factor ``v`` applied to ``remaining``: itself when it divides, all of ``remaining``
    when it is larger (Simba's "C=4" gives C3 on a 3-channel layer, as in Timeloop), else the
    common part."""
    if remaining % v == 0:
        return v
    return remaining if remaining < v else gcd(v, remaining)


def _rule(v: int) -> tuple[int, int]:
    if v == 0:
        return FULL, 1
    if v == 1:
        return FORBID, 1
    return FIXED, v


@dataclass(frozen=True, eq=False)
class Sampler:
    """Vectorised random mappings over a fixed list of spatial assignments."""

    space: MapSpace
    sx: np.ndarray  # [O, L, D]
    sy: np.ndarray
    base: np.ndarray  # [O, L, D] forced temporal factors
    pdim: np.ndarray  # [O, J] dim of each prime left to deal (prime 1 = padding)
    pval: np.ndarray  # [O, J]
    slots: np.ndarray  # [D, max_free] free temporal levels per dim
    nfree: np.ndarray  # [D]

    @property
    def n_options(self) -> int:
        return self.sx.shape[0]

    @property
    def utilization(self) -> np.ndarray:
        """Spatial product (PEs in use) of each assignment, [O]."""
        return np.prod((self.sx * self.sy).reshape(self.n_options, -1), axis=1).astype(np.float64)

    def sample(self, n: int, rng: np.random.Generator, which: np.ndarray | None = None) -> MappingBatch:
        """``n`` random mappings (``which``: the spatial assignment of each; default uniform)."""
        if which is None:
            which = rng.integers(0, self.n_options, size=n)
        T = self.base[which].copy()
        rows = np.arange(n)
        pd_ = self.pdim[which]
        pv = self.pval[which]
        for j in range(pd_.shape[1]):
            d = pd_[:, j]
            k = (rng.random(n) * self.nfree[d]).astype(np.int64)
            T[rows, self.slots[d, k], d] *= pv[:, j]
        order = self.space.random_orders(n, rng)
        return MappingBatch(T, self.sx[which].copy(), self.sy[which].copy(), order, spatial_id=np.asarray(which))
