"""Vectorised mapper: the best mapping of one layer on one SA under an objective.

Search, all of it batched through :func:`hwmodel.nest.evaluate_batch`:

1. enumerate the spatial assignments the fan-outs and constraints allow and keep the ones with
   the highest PE utilisation (delay is dominated by it);
2. sample random temporal factorisations (prime factors dealt to the free temporal slots) and
   loop orders over those spatial assignments; drop candidates whose tiles overflow a buffer
   *before* scoring;
3. (``n_rounds`` > 0, the ``thorough`` preset) steepest-descent local search, batched: every
   single move from each kept candidate (a dimension's smallest prime factor or its whole factor
   moved to the next free temporal level up or down (any other free level with ``all_pairs``);
   two adjacent loops of a level swapped) plus a few random multi-moves and fresh samples, all
   scored in one call per round; the best distinct candidates survive, with seats reserved for
   the most-utilised spatial assignments and at most two per assignment, so the search does not
   collapse onto one array shape. It stops when every survivor is a local optimum.
4. the polish (:mod:`hwmodel.polish`): a deterministic descent with large moves (every
   distribution of a dimension's factor over its levels, every order of a level's loops) from the
   survivors, canonical starts on the most-utilised spatial assignments and the best of a sample
   drawn with a fixed seed. Under ``delay`` it keeps the minimum cycles and settles the ties among
   them by energy, as Timeloop's ``optimization-metrics: [delay, energy]``; before it, two seeds
   gave equal cycles but up to 2.6x the energy (11x the DRAM bytes) on the same layer.

Objectives: ``delay`` (cycles, then energy), ``energy`` (energy, then cycles) and ``edp``.
Steps 2-3 draw from one ``numpy.random.Generator(seed)``: same seed, same mapping; the polish
makes different seeds agree (the same energy within 10 % on >= 98 % of the held-out zoo pairs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hwmodel.mapping import Mapping
from hwmodel.mapspace import FREE, MapSpace, Sampler, prime_factors
from hwmodel.nest import D, MappingBatch, NestResult, Problem, evaluate_batch
from hwmodel.polish import canonical_starts, descend
from hwmodel.spec import AcceleratorSpec
from mascot.errors import MascotError

Objective = Literal["delay", "energy", "edp"]
OBJECTIVES: tuple[str, ...] = ("delay", "energy", "edp")
POLISH_SEED = 20261123  # the polish stage's own sample: the same whatever the mapper's seed


@dataclass(frozen=True)
class MapperConfig:
    """Search effort. The defaults meet the ~50 ms per layer target on a 2-core machine.

    The defaults spend little on the seeded random stage (a sample, no hill climb) and most on the
    deterministic polish (:mod:`hwmodel.polish`), whose descent is both stronger and seed-independent.
    """

    n_spatial: int = 24  # spatial assignments kept (best utilisation first)
    n_samples: int = 100  # random candidates drawn (with the mapper's seed) before the local search
    n_parents: int = 3  # candidates the hill climb keeps (and hands to the polish)
    n_children: int = 4  # random mutants per parent per round (besides the full neighbourhood)
    random_kicks: bool = True  # add the random mutants (escape local optima)
    n_rounds: int = 0  # at most this many random-stage hill-climb rounds (0: the polish does the climbing)
    util_seeds: int = 3  # parents reserved for the best of the most-utilised spatial assignments
    per_spatial: int = 2  # parents kept per spatial assignment (keeps the climb from collapsing)
    all_pairs: bool = False  # factor moves between any two free levels (else: to the adjacent ones)
    polish: bool = True  # second stage: deterministic descent (hwmodel.polish) settles the ties left open
    polish_spatial: int = 6  # canonical polish starts: this many of the most-utilised spatial assignments
    polish_rounds: int = 12  # at most this many descent rounds
    polish_samples: int = 300  # polish starts: the best of this many mappings drawn with POLISH_SEED

    @classmethod
    def preset(cls, effort: str) -> "MapperConfig":
        """``fast`` (the default: tens of ms per layer) or ``thorough`` (~5x the work, for one-off searches)."""
        if effort == "fast":
            return cls()
        if effort == "thorough":
            return cls(n_samples=3000, n_parents=12, n_rounds=30, util_seeds=6, per_spatial=3, all_pairs=True,
                       polish_spatial=12, polish_samples=1000)
        raise ValueError(f"unknown effort {effort!r}; choose fast or thorough")


EFFORTS: tuple[str, ...] = ("fast", "thorough")


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
    sid = None if batch.spatial_id is None else batch.spatial_id[idx]
    return MappingBatch(batch.temporal[idx], batch.spatial_x[idx], batch.spatial_y[idx], batch.order[idx], batch.keep, sid)


def _concat(a: MappingBatch, b: MappingBatch) -> MappingBatch:
    return MappingBatch(
        np.concatenate([a.temporal, b.temporal]), np.concatenate([a.spatial_x, b.spatial_x]),
        np.concatenate([a.spatial_y, b.spatial_y]), np.concatenate([a.order, b.order]), a.keep,
        np.concatenate([a.spatial_id, b.spatial_id]),
    )


def _smallest_prime_factor(values: np.ndarray) -> np.ndarray:
    """Vectorised smallest prime factor (values >= 1; 1 maps to 1)."""
    out = values.copy()
    todo = values > 1
    p = 2
    while todo.any() and p * p <= int(values[todo].max()):
        hit = todo & (values % p == 0)
        out[hit] = p
        todo &= ~hit
        p += 1 if p == 2 else 2
    return out


class _Best:
    """The best candidate scored so far, with its counts (no re-evaluation at the end)."""

    def __init__(self) -> None:
        self.key: tuple[float, float] = (np.inf, np.inf)
        self.batch: MappingBatch | None = None
        self.result: NestResult | None = None

    def offer(self, batch: MappingBatch, res: NestResult, s: np.ndarray) -> None:
        i = int(np.lexsort((s[:, 1], s[:, 0]))[0])
        key = (float(s[i, 0]), float(s[i, 1]))
        if np.isfinite(key[0]) and key < self.key:
            self.key, self.batch, self.result = key, _take(batch, np.array([i])), res.take(i)


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
        raise MascotError(
            f"no valid mapping of the layer (N C M R S P Q = {pb.dims}) on SA {self.spec.name!r}: "
            "a buffer cannot hold even the smallest tiles",
            hint="each on-chip level must hold at least one word of every tensor it keeps; enlarge size_words",
        )

    # ------------------------------------------------------------------------------------------
    def _search_space(self, space: MapSpace, rng: np.random.Generator) -> MapperResult | None:
        cfg = self.config
        options = space.spatial_options()
        if options:
            util = np.prod(np.stack([sx * sy for sx, sy in options]).reshape(len(options), -1), axis=1)
            rank = np.argsort(-util, kind="stable")
            options = [options[i] for i in rank[: cfg.n_spatial]]
        if space.level == "relaxed":  # last resort: also try no spatial fan-out (smallest tiles)
            ones = np.ones((space.n_levels, D), np.int64)
            options.append((ones, ones.copy()))
        if not options:
            return None
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
        opt_util = sampler.utilization
        s0 = score(res, self.objective)
        best = _Best()
        best.offer(batch, res, s0)
        pop, pop_s = self._select(batch, s0, opt_util)
        if pop is None:
            return None
        expanded: set[bytes] = set()
        for _ in range(cfg.n_rounds):
            kids = self._neighbours(space, pop, expanded)
            if kids is None:
                break  # every parent is a local optimum
            if cfg.random_kicks:
                kids = _concat(kids, self._mutate(space, pop, sampler, rng))
            kids = _take(kids, np.nonzero(space.capacity_ok(kids))[0])
            if kids.size == 0:
                continue
            kres = evaluate_batch(space.pb, space.arch, kids)
            evaluated += kids.size
            ks = score(kres, self.objective)
            best.offer(kids, kres, ks)
            pop, pop_s = self._select(_concat(pop, kids), np.concatenate([pop_s, ks]), opt_util)
        if cfg.polish:
            evaluated += self._polish(space, sampler, pop, best)
        mapping = best.batch.mapping(0, space.arch.names, space.arch.keep)
        res1 = best.result
        return MapperResult(
            mapping=mapping, cycles=int(res1.cycles[0]), energy_pj=float(res1.energy_pj[0]), result=res1,
            evaluated=evaluated, constraint_level=space.level,
        )

    def _polish(self, space: MapSpace, sampler: Sampler, pop: MappingBatch, best: _Best) -> int:
        """Second stage (:mod:`hwmodel.polish`): descend from the survivors, the best so far, canonical
        starts on the most-utilised spatial assignments and the best of a sample drawn with a fixed
        seed (not the mapper's: the stage should reach the same optima whatever the seed); returns the
        candidates scored."""
        cfg = self.config
        evaluated = 0
        util = sampler.utilization
        top = np.argsort(-util, kind="stable")[: cfg.polish_spatial]
        sids = np.unique(np.concatenate([top, best.batch.spatial_id])) if best.batch is not None else top
        starts = canonical_starts(space, sampler, sids)
        if cfg.polish_samples:
            fixed = sampler.sample(cfg.polish_samples, np.random.default_rng(POLISH_SEED))
            fixed = _take(fixed, np.nonzero(space.capacity_ok(fixed))[0])
            if fixed.size:
                fres = evaluate_batch(space.pb, space.arch, fixed)
                evaluated += fixed.size
                fs = score(fres, self.objective)
                best.offer(fixed, fres, fs)
                fpop, _ = self._select(fixed, fs, sampler.utilization)
                if fpop is not None:
                    starts = _concat(starts, fpop)
        if best.batch is not None:
            starts = _concat(best.batch, starts)
        starts = _concat(starts, pop)
        return evaluated + descend(space, starts, lambda r: score(r, self.objective), best.offer,
                                   max_rounds=cfg.polish_rounds)

    def _select(self, batch: MappingBatch, s: np.ndarray, opt_util: np.ndarray) -> tuple[MappingBatch | None, np.ndarray]:
        """The best distinct candidates, at most ``per_spatial`` per spatial assignment (diversity).

        The best candidate of each of the ``util_seeds`` most-utilised spatial assignments gets a
        seat first, so the climb always explores the fastest arrays (EDP / energy may still prefer
        others).
        """
        cfg = self.config
        order = np.lexsort((s[:, 1], s[:, 0]))
        order = order[np.isfinite(s[order, 0])]
        if len(order) == 0:
            return None, s[:0]
        ids = batch.spatial_id
        if cfg.util_seeds:
            uniq, first = np.unique(ids[order], return_index=True)
            rank = np.lexsort((first, -opt_util[uniq]))[: cfg.util_seeds]
            order = np.concatenate([order[first[rank]], order])
        keep_idx: list[int] = []
        seen: set[bytes] = set()
        per: dict[int, int] = {}
        for i in order.tolist():
            sid = int(ids[i])
            if per.get(sid, 0) >= cfg.per_spatial:
                continue
            key = batch.temporal[i].tobytes() + batch.order[i].tobytes() + sid.to_bytes(4, "little")
            if key in seen:
                continue
            seen.add(key)
            per[sid] = per.get(sid, 0) + 1
            keep_idx.append(i)
            if len(keep_idx) == cfg.n_parents:
                break
        idx = np.array(keep_idx)
        return _take(batch, idx), s[idx]

    def _outer_heavy(self, space: MapSpace, sampler: Sampler, rng: np.random.Generator) -> MappingBatch:
        """Candidates with every free temporal factor at the outermost free level (smallest tiles)."""
        batch = sampler.sample(sampler.n_options, rng, which=np.arange(sampler.n_options))
        T = batch.temporal.copy()
        for di in range(D):
            free = np.nonzero(space.t_rule[:, di] == FREE)[0]
            if len(free) < 2:
                continue
            prodf = np.prod(T[:, free, di], axis=1)
            T[:, free, di] = 1
            T[:, free[-1], di] = prodf
        return MappingBatch(T, batch.spatial_x, batch.spatial_y, batch.order, batch.keep, batch.spatial_id)

    def _neighbours(self, space: MapSpace, pop: MappingBatch, expanded: set[bytes]) -> MappingBatch | None:
        """Every single move from each parent not expanded before (steepest-descent neighbourhood).

        Moves: a dimension's smallest prime factor, or its whole factor, from one free temporal
        level to the adjacent free one above or below (any other with ``all_pairs``); two adjacent
        moving loops of a level swapped (outside its fixed innermost prefix).
        """
        cfg = self.config
        free_slots = [np.nonzero(space.t_rule[:, d] == FREE)[0].tolist() for d in range(D)]
        moves: list[tuple[int, int, int, int, int]] = []  # (parent, dim, from level, to level, amount)
        swaps: list[tuple[int, int, int, int]] = []  # (parent, level, rank x, rank y)
        for i in range(pop.size):
            key = pop.temporal[i].tobytes() + pop.order[i].tobytes() + int(pop.spatial_id[i]).to_bytes(4, "little")
            if key in expanded:
                continue
            expanded.add(key)
            T = pop.temporal[i].tolist()
            O = pop.order[i].tolist()
            for d in range(D):
                slots = free_slots[d]
                if len(slots) < 2:
                    continue
                for ai, a in enumerate(slots):
                    v = T[a][d]
                    if v == 1:
                        continue
                    p = prime_factors(v)[0]
                    targets = slots if cfg.all_pairs else slots[max(ai - 1, 0): ai] + slots[ai + 1: ai + 2]
                    for b in targets:
                        if b != a:
                            moves.append((i, d, a, b, p))
                            if p != v:
                                moves.append((i, d, a, b, v))
            for li, pre in enumerate(space.perm_prefix):
                seq = [r for r in range(D) if O[li][r] not in pre and T[li][O[li][r]] > 1]
                swaps.extend((i, li, x, y) for x, y in zip(seq, seq[1:]))
        if not moves and not swaps:
            return None
        mv = np.array(moves, dtype=np.int64).reshape(-1, 5)
        sw = np.array(swaps, dtype=np.int64).reshape(-1, 4)
        src = np.concatenate([mv[:, 0], sw[:, 0]])
        T2 = pop.temporal[src].copy()
        O2 = pop.order[src].copy()
        r = np.arange(len(mv))
        T2[r, mv[:, 2], mv[:, 1]] //= mv[:, 4]
        T2[r, mv[:, 3], mv[:, 1]] *= mv[:, 4]
        r = np.arange(len(mv), len(src))
        ox = O2[r, sw[:, 1], sw[:, 2]].copy()
        O2[r, sw[:, 1], sw[:, 2]] = O2[r, sw[:, 1], sw[:, 3]]
        O2[r, sw[:, 1], sw[:, 3]] = ox
        return MappingBatch(T2, pop.spatial_x[src], pop.spatial_y[src], O2, pop.keep, pop.spatial_id[src])

    def _mutate(self, space: MapSpace, pop: MappingBatch, sampler: Sampler, rng: np.random.Generator) -> MappingBatch:
        cfg = self.config
        n = pop.size * cfg.n_children
        src = np.repeat(np.arange(pop.size), cfg.n_children)
        T = pop.temporal[src].copy()
        SX = pop.spatial_x[src].copy()
        SY = pop.spatial_y[src].copy()
        O = pop.order[src].copy()
        SID = pop.spatial_id[src].copy()
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
            SID[idx] = fresh.spatial_id
        return MappingBatch(T, SX, SY, O, pop.keep, SID)


def best_mapping(pb: Problem, spec: AcceleratorSpec, objective: str = "delay", seed: int = 0,
                 config: MapperConfig | None = None) -> MapperResult:
    """Convenience wrapper: search and return the best mapping of ``pb`` on ``spec``."""
    return Mapper(spec, objective=objective, seed=seed, config=config).search(pb)
