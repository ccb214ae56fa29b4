"""Vectorised mapper: the best mapping of one layer on one SA under an objective.

Search, all of it batched through :func:`hwmodel.nest.evaluate_batch`:

1. enumerate the spatial assignments the fan-outs and constraints allow and keep the ones with
   the highest PE utilisation (delay is dominated by it);
2. sample random temporal factorisations (prime factors dealt to the free temporal slots) and
   loop orders over those spatial assignments; drop candidates whose tiles overflow a buffer
   *before* scoring;
3. hill-climb from the best candidates with batched mutations (move a prime factor between two
   temporal slots of a dimension, trade a factor between a spatial and a temporal loop, swap two
   loops of a level, switch spatial assignment), keeping the best.

Objectives: ``delay`` (cycles, then energy), ``energy`` (energy, then cycles) and ``edp``.
Everything draws from one ``numpy.random.Generator(seed)``: same seed, same mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hwmodel.mapping import Mapping
from hwmodel.mapspace import FREE, MapSpace, Sampler
from hwmodel.nest import D, MappingBatch, NestResult, Problem, evaluate_batch
from hwmodel.spec import AcceleratorSpec

Objective = Literal["delay", "energy", "edp"]
OBJECTIVES: tuple[str, ...] = ("delay", "energy", "edp")


@dataclass(frozen=True)
class MapperConfig:
    """Search effort. The defaults meet the ~50 ms per layer target on a 2-core machine."""

    n_spatial: int = 24  # spatial assignments kept (best utilisation first)
    n_samples: int = 600  # random candidates drawn before the hill climb
    n_parents: int = 6  # candidates the hill climb keeps
    n_children: int = 8  # random mutants per parent per round (besides the full neighbourhood)
    n_random: bool = True
    n_rounds: int = 12
    patience: int = 3  # rounds without improvement before stopping
    util_seeds: int = 3  # parents reserved for the best of the most-utilised spatial assignments
    per_spatial: int = 2  # parents kept per spatial assignment (keeps the climb from collapsing)


@dataclass(frozen=True)
class MapperResult:
    mapping: Mapping
    cycles: int
    energy_pj: float
    result: NestResult  # the chosen mapping's full counts (batch of one)
    evaluated: int  # candidates scored
    constraint_level: str  # which constraints the mapping honours (mapspace/architecture/relaxed)


def score(res: NestResult, objective: str) -> np.ndarray:
    """Sort keys [B, 2] (primary, secondary), lower is better; invalid candidates get +inf.

    ``delay``: cycles then energy; ``energy``: energy then cycles; ``edp``: cycles × energy then
    cycles. Keys are compared lexicographically (never mixed into one float, so a batch-dependent
    scale can never reorder candidates).
    """
    cyc, en = res.cycles, res.energy_pj
    if objective == "delay":
        key = np.stack([cyc, en], axis=1)
    elif objective == "energy":
        key = np.stack([en, cyc], axis=1)
    elif objective == "edp":
        key = np.stack([cyc * en, cyc], axis=1)
    else:
        raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    return np.where(res.valid[:, None], key, np.inf)


def _take(batch: MappingBatch, idx: np.ndarray) -> MappingBatch:
    return MappingBatch(batch.temporal[idx], batch.spatial_x[idx], batch.spatial_y[idx], batch.order[idx], batch.keep)


def _concat(a: MappingBatch, b: MappingBatch) -> MappingBatch:
    return MappingBatch(
        np.concatenate([a.temporal, b.temporal]), np.concatenate([a.spatial_x, b.spatial_x]),
        np.concatenate([a.spatial_y, b.spatial_y]), np.concatenate([a.order, b.order]), a.keep,
    )


def _smallest_prime_factor(values: np.ndarray) -> np.ndarray:
    """Vectorised smallest prime factor (values >= 1; 1 maps to 1)."""
    out = values.copy()
    todo = values > 1
    p = 2
    rem = values.copy()
    while todo.any() and p * p <= int(rem[todo].max()):
        hit = todo & (rem % p == 0)
        out[hit] = p
        todo &= ~hit
        p += 1 if p == 2 else 2
    return out


class Mapper:
    """Search the mapspace of one (problem, SA)."""

    def __init__(self, spec: AcceleratorSpec, objective: str = "delay", seed: int = 0, config: MapperConfig | None = None):
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
        self.spec = spec if spec.is_resolved else spec.resolved()
        self.objective = objective
        self.seed = seed
        self.config = config or MapperConfig()

    def search(self, pb: Problem) -> MapperResult:
        rng = np.random.default_rng(self.seed)
        for level in ("mapspace", "architecture", "relaxed"):
            space = MapSpace.build(self.spec, pb, level)
            found = self._search_space(space, rng)
            if found is not None:
                return found
        raise RuntimeError(f"no valid mapping of {pb} on {self.spec.name}: a buffer cannot hold even the smallest tiles")

    # ------------------------------------------------------------------------------------------
    def _search_space(self, space: MapSpace, rng: np.random.Generator) -> MapperResult | None:
        cfg = self.config
        options = space.spatial_options()
        if not options:
            return None
        util = np.array([float(np.prod(sx * sy)) for sx, sy in options])
        rank = np.argsort(-util, kind="stable")
        options = [options[i] for i in rank[: cfg.n_spatial]]
        sampler = space.sampler(options)
        if sampler.n_options == 0:
            return None
        batch = sampler.sample(cfg.n_samples, rng)
        batch = _take(batch, np.nonzero(space.capacity_ok(batch))[0])
        evaluated = 0
        if batch.size == 0:
            # tiles too big for the sampled splits: retry with everything outside the PEs
            batch = self._outer_heavy(space, sampler, rng)
            batch = _take(batch, np.nonzero(space.capacity_ok(batch))[0])
            if batch.size == 0:
                return None
        res = evaluate_batch(space.pb, space.arch, batch)
        evaluated += batch.size
        pop, pop_s = self._select(batch, score(res, self.objective))
        if pop is None:
            return None
        expanded: set[bytes] = set()
        for _ in range(cfg.n_rounds):
            kids = self._neighbours(space, pop, expanded)
            if kids is None:
                break  # every parent is a local optimum
            if cfg.n_random:
                kids = _concat(kids, self._mutate(space, pop, sampler, rng))
            kids = _take(kids, np.nonzero(space.capacity_ok(kids))[0])
            if kids.size == 0:
                continue
            kres = evaluate_batch(space.pb, space.arch, kids)
            evaluated += kids.size
            pop, pop_s = self._select(_concat(pop, kids), np.concatenate([pop_s, score(kres, self.objective)]))
        top = _take(pop, np.array([0]))
        res1 = evaluate_batch(space.pb, space.arch, top)
        mapping = top.mapping(0, space.arch.names, space.arch.keep)
        return MapperResult(
            mapping=mapping, cycles=int(res1.cycles[0]), energy_pj=float(res1.energy_pj[0]), result=res1,
            evaluated=evaluated, constraint_level=space.level,
        )

    def _select(self, batch: MappingBatch, s: np.ndarray) -> tuple[MappingBatch | None, np.ndarray]:
        """The best distinct candidates, at most ``per_spatial`` per spatial assignment (diversity)."""
        cfg = self.config
        order = np.lexsort((s[:, 1], s[:, 0]))
        finite = order[np.isfinite(s[order, 0])]
        if len(finite) and cfg.util_seeds:
            # the best candidate of each of the most-utilised spatial assignments goes first, so
            # the climb always explores the fastest arrays (EDP / energy may still prefer others)
            util = np.prod(batch.spatial_x[finite] * batch.spatial_y[finite], axis=(1, 2))
            firsts: dict[bytes, tuple[float, int]] = {}
            for pos, i in enumerate(finite):
                skey = batch.spatial_x[i].tobytes() + batch.spatial_y[i].tobytes()
                if skey not in firsts:
                    firsts[skey] = (-float(util[pos]), pos)
            ranked = sorted(firsts.values())[: cfg.util_seeds]
            order = np.concatenate([np.array([finite[pos] for _, pos in ranked], dtype=order.dtype), order])
        keep_idx: list[int] = []
        seen: set[bytes] = set()
        per: dict[bytes, int] = {}
        for i in order:
            if not np.isfinite(s[i, 0]):
                break
            skey = batch.spatial_x[i].tobytes() + batch.spatial_y[i].tobytes()
            if per.get(skey, 0) >= cfg.per_spatial:
                continue
            key = skey + batch.temporal[i].tobytes() + batch.order[i].tobytes()
            if key in seen:
                continue
            seen.add(key)
            per[skey] = per.get(skey, 0) + 1
            keep_idx.append(int(i))
            if len(keep_idx) == cfg.n_parents:
                break
        if not keep_idx:
            return None, s[:0]
        idx = np.array(keep_idx)
        return _take(batch, idx), s[idx]

    def _outer_heavy(self, space: MapSpace, sampler: Sampler, rng: np.random.Generator) -> MappingBatch:
        """Candidates with every free temporal factor at the outermost free level (smallest tiles)."""
        batch = sampler.sample(sampler.n_options, rng, which=np.arange(sampler.n_options))
        T = batch.temporal.copy()
        L = space.n_levels
        for di in range(D):
            free = np.nonzero(space.t_rule[:, di] == FREE)[0]
            if len(free) < 2:
                continue
            prodf = np.prod(T[:, free, di], axis=1)
            T[:, free, di] = 1
            T[:, free[-1], di] = prodf
        del L
        return MappingBatch(T, batch.spatial_x, batch.spatial_y, batch.order, batch.keep)

    def _neighbours(self, space: MapSpace, pop: MappingBatch, expanded: set[bytes]) -> MappingBatch | None:
        """Every single move from each parent not expanded before (steepest-descent neighbourhood).

        Moves: a dimension's smallest prime factor, or its whole factor, from one free temporal
        level to another; two adjacent moving loops of a level swapped (outside its fixed prefix).
        """
        free_slots = [np.nonzero(space.t_rule[:, d] == FREE)[0] for d in range(D)]
        L = space.n_levels
        Ts: list[np.ndarray] = []
        Os: list[np.ndarray] = []
        src: list[int] = []
        for i in range(pop.size):
            key = pop.temporal[i].tobytes() + pop.order[i].tobytes() + pop.spatial_x[i].tobytes() + pop.spatial_y[i].tobytes()
            if key in expanded:
                continue
            expanded.add(key)
            T, O = pop.temporal[i], pop.order[i]
            for d in range(D):
                slots = free_slots[d]
                if len(slots) < 2:
                    continue
                for a in slots:
                    v = int(T[a, d])
                    if v == 1:
                        continue
                    p = int(_smallest_prime_factor(np.array([v]))[0])
                    for b in slots:
                        if b == a:
                            continue
                        for amount in ((p, v) if p != v else (p,)):
                            T2 = T.copy()
                            T2[a, d] //= amount
                            T2[b, d] *= amount
                            Ts.append(T2)
                            Os.append(O)
                            src.append(i)
            for li in range(L):
                pre = set(space.perm_prefix[li])
                seq = [r for r in range(D) if int(O[li, r]) not in pre and T[li, O[li, r]] > 1]
                for x, y in zip(seq, seq[1:]):
                    O2 = O.copy()
                    O2[li, x], O2[li, y] = O[li, y], O[li, x]
                    Ts.append(T)
                    Os.append(O2)
                    src.append(i)
        if not Ts:
            return None
        idx = np.array(src)
        return MappingBatch(np.stack(Ts), pop.spatial_x[idx], pop.spatial_y[idx], np.stack(Os), pop.keep)

    def _mutate(self, space: MapSpace, pop: MappingBatch, sampler: Sampler, rng: np.random.Generator) -> MappingBatch:
        cfg = self.config
        n = pop.size * cfg.n_children
        src = np.repeat(np.arange(pop.size), cfg.n_children)
        T = pop.temporal[src].copy()
        SX = pop.spatial_x[src].copy()
        SY = pop.spatial_y[src].copy()
        O = pop.order[src].copy()
        L = space.n_levels
        rows = np.arange(n)
        kind = rng.integers(0, 20, size=n)  # 0-11 move a prime, 12-18 swap loops, 19 fresh sample
        free = space.t_rule == FREE  # [L, D]
        # --- move a prime factor of one dim between two free temporal slots
        mv = kind <= 11
        if mv.any():
            d = rng.integers(0, D, size=n)
            fr = free[:, d].T  # [n, L]
            has = fr & (T[rows, :, d] > 1)
            key_src = np.where(has, rng.random((n, L)), -1.0)
            a = np.argmax(key_src, axis=1)
            key_dst = np.where(fr, rng.random((n, L)), -1.0)
            key_dst[rows, a] = -1.0
            b = np.argmax(key_dst, axis=1)
            ok = mv & (key_src[rows, a] >= 0) & (key_dst[rows, b] >= 0)
            va = T[rows, a, d]
            p = _smallest_prime_factor(va)
            whole = rng.random(n) < 0.25  # sometimes move the whole factor
            p = np.where(whole, va, p)
            T[rows[ok], a[ok], d[ok]] //= p[ok]
            T[rows[ok], b[ok], d[ok]] *= p[ok]
        # --- swap two loops of one level (dims outside the level's fixed innermost prefix)
        sw = (kind >= 12) & (kind <= 18)
        if sw.any():
            lv = rng.integers(0, L, size=n)
            npre = np.array([len(space.perm_prefix[i]) for i in range(L)])[lv]
            span = D - npre
            ok = sw & (span >= 2)
            i = npre + (rng.random(n) * np.maximum(span, 1)).astype(np.int64)
            j = npre + (rng.random(n) * np.maximum(span, 1)).astype(np.int64)
            r, li, ii, jj = rows[ok], lv[ok], i[ok], j[ok]
            oi, oj = O[r, li, ii].copy(), O[r, li, jj].copy()
            O[r, li, ii], O[r, li, jj] = oj, oi
        # --- another spatial assignment with a fresh temporal split
        ns = kind == 19
        if ns.any():
            idx = rows[ns]
            fresh = sampler.sample(len(idx), rng)
            T[idx], SX[idx], SY[idx], O[idx] = fresh.temporal, fresh.spatial_x, fresh.spatial_y, fresh.order
        return MappingBatch(T, SX, SY, O, pop.keep)


def best_mapping(pb: Problem, spec: AcceleratorSpec, objective: str = "delay", seed: int = 0,
                 config: MapperConfig | None = None) -> MapperResult:
    """Convenience wrapper: search and return the best mapping of ``pb`` on ``spec``."""
    return Mapper(spec, objective=objective, seed=seed, config=config).search(pb)
