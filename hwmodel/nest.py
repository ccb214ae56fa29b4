"""Timeloop-style access counting, cycles and energy, vectorised over a batch of mappings.

The rules are Timeloop v3.0.3's (checked level by level against the reference numbers):

* The tile a level instance holds spans every loop of that level and below (temporal and spatial).
  Spatial loops of a level fan out to its children; within a level they sit inside its temporal
  loops. Problem index strides follow from that nest order.
* **Fills / tile loads.** Walking the temporal loops above a level from the innermost outwards:
  a step brings nothing while only loops irrelevant to the tensor have moved (reuse), and the
  whole tile otherwise, except for the innermost moving loop above the level when it slides an
  input window (``stride`` / ``dilation``): its steps bring only the non-overlapping part
  (AlexNet conv1: 37455 = (11 + 54·4)·3·55). Input tiles are bounding boxes (Timeloop's AAHRs).
  ``tests/test_hwmodel_nest_reference.py`` checks the closed forms against a loop-by-loop walk.
* **Parent reads** = the children's fills × the spatial loops between them that are relevant to
  the tensor: children that need the same tile (a spatial loop irrelevant to it) get it by one
  multicast read. Partly overlapping windows (Eyeriss' diagonal input reuse) are NOT merged, as
  in Timeloop's legacy network model. The innermost keeper of a tensor serves the MACs: one
  read per compute step and distinct operand (no reuse inside the MAC).
* **Outputs.** Children's write-backs are the parent's updates; spatial loops irrelevant to the
  outputs reduce in the network (one update). Reads = updates − distinct outputs held (the first
  write of an output needs no read); fills = tile loads − distinct outputs (a first visit brings
  nothing). DRAM output updates therefore equal the output size when no partial sum spills.
* **Energy** per level and tensor = (⌈reads/block⌉·E_read + ⌈fills/block⌉·E_write +
  ⌈updates/block⌉·E_write) per instance × utilised instances; for a level whose instances are
  accessed in clusters (``cluster_size > 1``) the energy is per cluster access, × utilised
  clusters = min(utilised instances, instances / cluster_size), as Timeloop counts them.
  MAC energy = MACs × E_mac.
* **Cycles.** compute = product of all temporal factors; each level with a bandwidth limit is
  slowed by min(1, spec / demand) for reads and for writes (fills + updates) per instance; the
  layer takes the max over levels of ⌈compute / slowdown⌉.

Arrays have shape ``[B, L, D]``: B candidate mappings, L storage levels (innermost first), D = 7
problem dimensions (``N C M R S P Q``); tensors are indexed ``W, I, O``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from hwmodel.mapping import DIMS, TENSORS, LevelMapping, Mapping
from hwmodel.spec import AcceleratorSpec
from workloads.layer import Layer

D = len(DIMS)
N_, C_, M_, R_, S_, P_, Q_ = range(D)
W_T, I_T, O_T = range(3)
# relevance of each dimension to each tensor (rows W, I, O)
RELEVANT = np.array(
    [
        [0, 1, 1, 1, 1, 0, 0],  # Weights: C M R S
        [1, 1, 0, 1, 1, 1, 1],  # Inputs: N C (P,R)->H (Q,S)->W
        [1, 0, 1, 0, 0, 1, 1],  # Outputs: N M P Q
    ],
    dtype=bool,
)


@dataclass(frozen=True)
class Problem:
    """One convolution group in Timeloop's CNN-Layer form (P pairs with R and stride_h)."""

    N: int = 1
    C: int = 1
    M: int = 1
    R: int = 1
    S: int = 1
    P: int = 1
    Q: int = 1
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    groups: int = 1  # the layer runs `groups` times this problem

    @classmethod
    def from_layer(cls, layer: Layer) -> "Problem":
        """A MAC layer's per-group problem (grouped convolutions: one group, cost × groups)."""
        g = max(1, layer.groups)
        return cls(
            N=layer.N, C=layer.C // g, M=layer.M // g, R=layer.R, S=layer.S, P=layer.P, Q=layer.Q,
            stride_h=layer.stride_h, stride_w=layer.stride_w,
            dilation_h=layer.dilation_h, dilation_w=layer.dilation_w, groups=g,
        )

    @property
    def dims(self) -> tuple[int, ...]:
        return (self.N, self.C, self.M, self.R, self.S, self.P, self.Q)

    def dim_map(self) -> dict[str, int]:
        return dict(zip(DIMS, self.dims))

    @property
    def macs(self) -> int:
        """MACs of one group."""
        return int(np.prod(self.dims))

    @property
    def input_h(self) -> int:
        return (self.P - 1) * self.stride_h + (self.R - 1) * self.dilation_h + 1

    @property
    def input_w(self) -> int:
        return (self.Q - 1) * self.stride_w + (self.S - 1) * self.dilation_w + 1

    def tensor_words(self) -> dict[str, int]:
        return {
            "Weights": self.C * self.M * self.R * self.S,
            "Inputs": self.N * self.C * self.input_h * self.input_w,
            "Outputs": self.N * self.M * self.P * self.Q,
        }


@dataclass(frozen=True, eq=False)
class ArchArrays:
    """The numbers of an :class:`AcceleratorSpec` the nest model needs, as numpy arrays."""

    names: tuple[str, ...]
    mac_name: str
    instances: np.ndarray  # [L]
    fanout_x: np.ndarray  # [L] children per instance along X (level 0: MAC units)
    fanout_y: np.ndarray  # [L]
    size_words: np.ndarray  # [L] (inf = unbounded)
    block: np.ndarray  # [L]
    read_e: np.ndarray  # [L] pJ per vector access
    write_e: np.ndarray  # [L]
    cluster: np.ndarray  # [L]
    read_bw: np.ndarray  # [L] words/cycle per instance (inf = unlimited)
    write_bw: np.ndarray  # [L]
    word_bits: np.ndarray  # [L]
    keep: np.ndarray  # [L, 3] bool
    mac_units: int
    mac_energy_pj: float

    @property
    def n_levels(self) -> int:
        return len(self.names)

    @property
    def fanout(self) -> np.ndarray:
        return self.fanout_x * self.fanout_y


def _mesh(instances: int, mesh_x: int | None) -> tuple[int, int]:
    x = mesh_x if mesh_x else instances
    return x, instances // x


@lru_cache(maxsize=256)
def _arch_arrays_cached(spec: AcceleratorSpec) -> ArchArrays:
    if not spec.is_resolved:
        spec = spec.resolved()
    lv = spec.levels
    L = len(lv)
    mac_x = spec.pe_array.x
    mac_y = spec.mac_units // mac_x
    fx = np.ones(L, np.int64)
    fy = np.ones(L, np.int64)
    for i in range(L):
        px, py = _mesh(lv[i].instances, lv[i].mesh_x)
        if i == 0:
            cx, cy = mac_x, mac_y
            total = spec.mac_units // lv[0].instances
        else:
            cx, cy = _mesh(lv[i - 1].instances, lv[i - 1].mesh_x)
            total = lv[i - 1].instances // lv[i].instances
        if cx % px == 0 and cy % py == 0 and (cx // px) * (cy // py) == total:
            fx[i], fy[i] = cx // px, cy // py
        else:  # meshes do not nest: treat the fan-out as one row
            fx[i], fy[i] = total, 1
    inf = np.inf
    return ArchArrays(
        names=tuple(x.name for x in lv),
        mac_name=spec.mac_name,
        instances=np.array([x.instances for x in lv], np.float64),
        fanout_x=fx,
        fanout_y=fy,
        size_words=np.array([inf if x.size_words is None else x.size_words for x in lv], np.float64),
        block=np.array([x.block_size for x in lv], np.float64),
        read_e=np.array([x.read_energy_pj or 0.0 for x in lv], np.float64),
        write_e=np.array([x.write_energy_pj or 0.0 for x in lv], np.float64),
        cluster=np.array([getattr(x, "cluster_size", 1) for x in lv], np.float64),
        read_bw=np.array([inf if x.read_bw is None else x.read_bw for x in lv], np.float64),
        write_bw=np.array([inf if x.write_bw is None else x.write_bw for x in lv], np.float64),
        word_bits=np.array([x.word_bits for x in lv], np.float64),
        keep=np.array([[t in x.keep for t in TENSORS] for x in lv], bool),
        mac_units=spec.mac_units,
        mac_energy_pj=float(spec.mac_energy_pj or 0.0),
    )


def arch_arrays(spec: AcceleratorSpec) -> ArchArrays:
    """Numeric view of a spec (cached: specs are frozen)."""
    return _arch_arrays_cached(spec)


@dataclass(frozen=True, eq=False)
class MappingBatch:
    """B candidate mappings as arrays. ``order[b, l, r]`` = dim index at rank r (innermost first)."""

    temporal: np.ndarray  # [B, L, D] int
    spatial_x: np.ndarray  # [B, L, D] int
    spatial_y: np.ndarray  # [B, L, D] int
    order: np.ndarray  # [B, L, D] int
    keep: np.ndarray | None = None  # [L, 3] bool; None = the spec's keep
    spatial_id: np.ndarray | None = None  # [B] the mapper's spatial-assignment index of each candidate

    @property
    def size(self) -> int:
        return self.temporal.shape[0]

    @classmethod
    def from_mappings(cls, mappings: list[Mapping]) -> "MappingBatch":
        t = np.array([[lv.temporal for lv in m.levels] for m in mappings], np.int64)
        x = np.array([[lv.spatial_x for lv in m.levels] for m in mappings], np.int64)
        y = np.array([[lv.spatial_y for lv in m.levels] for m in mappings], np.int64)
        o = np.array([[[DIMS.index(c) for c in lv.permutation] for lv in m.levels] for m in mappings], np.int64)
        keep = np.array([[t_ in lv.keep for t_ in TENSORS] for lv in mappings[0].levels], bool)
        return cls(t, x, y, o, keep)

    def mapping(self, b: int, names: tuple[str, ...], keep: np.ndarray) -> Mapping:
        """Candidate ``b`` as a :class:`Mapping` record."""
        k = self.keep if self.keep is not None else keep
        levels = []
        for li, name in enumerate(names):
            levels.append(LevelMapping(
                name=name,
                temporal=tuple(int(v) for v in self.temporal[b, li]),
                spatial_x=tuple(int(v) for v in self.spatial_x[b, li]),
                spatial_y=tuple(int(v) for v in self.spatial_y[b, li]),
                permutation="".join(DIMS[int(d)] for d in self.order[b, li]),
                keep=tuple(t for ti, t in enumerate(TENSORS) if k[li, ti]),
            ))
        return Mapping(tuple(levels))


@dataclass(frozen=True, eq=False)
class NestResult:
    """Per-candidate counts and costs (all per group of a grouped layer)."""

    reads: np.ndarray  # [B, L, 3] scalar reads per utilised instance
    fills: np.ndarray  # [B, L, 3]
    updates: np.ndarray  # [B, L, 3]
    utilized: np.ndarray  # [B, L] utilised instances
    tile_words: np.ndarray  # [B, L, 3] words of each tensor one instance holds
    capacity_ok: np.ndarray  # [B]
    fanout_ok: np.ndarray  # [B]
    compute_cycles: np.ndarray  # [B]
    cycles: np.ndarray  # [B]
    level_energy_pj: np.ndarray  # [B, L]
    tensor_energy_pj: np.ndarray  # [B, L, 3]
    mac_energy_pj: np.ndarray  # [B]
    energy_pj: np.ndarray  # [B]
    utilized_macs: np.ndarray  # [B]
    dram_read_words: np.ndarray  # [B]
    dram_write_words: np.ndarray  # [B]
    macs: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def valid(self) -> np.ndarray:
        return self.capacity_ok & self.fanout_ok

    def take(self, i: int) -> "NestResult":
        """Candidate ``i`` as a batch of one (the mapper keeps its best without re-evaluating)."""
        sl = slice(i, i + 1)
        return NestResult(
            reads=self.reads[sl], fills=self.fills[sl], updates=self.updates[sl], utilized=self.utilized[sl],
            tile_words=self.tile_words[sl], capacity_ok=self.capacity_ok[sl], fanout_ok=self.fanout_ok[sl],
            compute_cycles=self.compute_cycles[sl], cycles=self.cycles[sl], level_energy_pj=self.level_energy_pj[sl],
            tensor_energy_pj=self.tensor_energy_pj[sl], mac_energy_pj=self.mac_energy_pj[sl],
            energy_pj=self.energy_pj[sl], utilized_macs=self.utilized_macs[sl],
            dram_read_words=self.dram_read_words[sl], dram_write_words=self.dram_write_words[sl], macs=self.macs,
        )


def _tensor_volume(ext: np.ndarray, t: int, pb: Problem) -> np.ndarray:
    """Words of tensor ``t`` spanned by tiles with per-dimension extents ``ext`` [..., D]."""
    if t == W_T:
        return ext[..., C_] * ext[..., M_] * ext[..., R_] * ext[..., S_]
    if t == O_T:
        return ext[..., N_] * ext[..., M_] * ext[..., P_] * ext[..., Q_]
    h = (ext[..., P_] - 1) * pb.stride_h + (ext[..., R_] - 1) * pb.dilation_h + 1
    w = (ext[..., Q_] - 1) * pb.stride_w + (ext[..., S_] - 1) * pb.dilation_w + 1
    return ext[..., N_] * ext[..., C_] * h * w


class _Nest:
    """Loop-sequence arrays shared by every (tensor, level) count of one batch.

    Sequence positions k = 0 .. L·D-1 list the temporal loops innermost first (level by level,
    each level's permutation). ``prefix[:, k]`` is the product of the factors of positions < k, so
    the product of any run of loops is a ratio of two prefix entries (exact in float64: every
    value is an integer below 2**53).
    """

    def __init__(self, pb: Problem, T: np.ndarray, S: np.ndarray, order: np.ndarray):
        B, L, _ = T.shape
        self.pb, self.B, self.L = pb, B, L
        self.ext = np.cumprod(T * S, axis=1)  # [B, L, D] tile extents at each level (incl. its spatial)
        stride = self.ext / T  # index stride of each level's temporal loop per dim
        # Factor-1 loops never move: push them outward within their level (the relative order of
        # the moving loops is all that matters) and drop the ranks no candidate uses.
        flat = order + (np.arange(B * L, dtype=np.int64) * D).reshape(B, L, 1)
        f_ord = T.ravel()[flat]
        rank_key = np.where(f_ord > 1, 0, D) + np.arange(D)
        perm = np.argsort(rank_key, axis=2, kind="stable")
        flat = np.take_along_axis(flat, perm, axis=2)
        order = flat % D
        f_ord = T.ravel()[flat]
        used = np.maximum((f_ord > 1).sum(axis=2).max(axis=0), 0)  # [L] ranks in use per level
        self.level_start = np.concatenate([[0], np.cumsum(used)]).astype(np.int64)  # [L+1]
        K = int(self.level_start[-1])
        self.K = K
        sel_l = np.repeat(np.arange(L), used)
        sel_r = np.concatenate([np.arange(u) for u in used]) if K else np.zeros(0, np.int64)
        self.dk = order[:, sel_l, sel_r]
        self.f = f_ord[:, sel_l, sel_r]
        self.s = stride.ravel()[flat[:, sel_l, sel_r]]
        self.prefix = np.ones((B, K + 1))
        np.cumprod(self.f, axis=1, out=self.prefix[:, 1:])
        self.total = self.prefix[:, K]
        moving = self.f > 1
        self.moving = moving
        self._positions = np.arange(K)
        self.next_moving = self._next_index(moving)
        self._rows = np.arange(B)

    def _next_index(self, mask: np.ndarray) -> np.ndarray:
        """``out[:, k]`` = first position >= k where ``mask`` holds (K when none); shape [B, K+1]."""
        idx = np.where(mask, self._positions, self.K)
        out = np.full((self.B, self.K + 1), self.K, dtype=np.int64)
        out[:, :-1] = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
        return out

    def relevant_next(self, t: int) -> np.ndarray:
        return self._next_index(RELEVANT[t][self.dk] & self.moving)

    def loads(self, c: int, ext: np.ndarray, t: int, next_rel: np.ndarray, vol: np.ndarray) -> np.ndarray:
        """Words brought into one tile of extents ``ext`` by the temporal loops above level ``c``.

        A step of a loop brings nothing while only loops irrelevant to the tensor have moved
        (reuse), and the whole tile once a relevant loop is at or inside it: loads = tile × the
        product of the loops from the innermost relevant moving one outwards. Exception: when that
        innermost relevant loop is also the innermost moving loop above the level and slides an
        input window, each of its steps brings only the non-overlapping part (Timeloop applies the
        sliding window to that loop only; an outer step re-fetches the whole tile even when the
        loops inside it are irrelevant).
        """
        start = int(self.level_start[c + 1])
        if start >= self.K:
            return vol
        rows = self._rows
        k0 = next_rel[:, start]
        loads = vol * self.total / self.prefix[rows, k0]
        if t != I_T:
            return loads
        k0c = np.minimum(k0, self.K - 1)
        d0 = self.dk[rows, k0c]
        sliding = (k0 < self.K) & (self.next_moving[:, start] == k0) & (d0 >= R_)  # R S P Q slide
        if not sliding.any():
            return loads
        pb = self.pb
        s0 = self.s[rows, k0c]
        dh = np.where(d0 == P_, s0 * pb.stride_h, np.where(d0 == R_, s0 * pb.dilation_h, 0.0))
        dw = np.where(d0 == Q_, s0 * pb.stride_w, np.where(d0 == S_, s0 * pb.dilation_w, 0.0))
        h = (ext[:, P_] - 1) * pb.stride_h + (ext[:, R_] - 1) * pb.dilation_h + 1
        w = (ext[:, Q_] - 1) * pb.stride_w + (ext[:, S_] - 1) * pb.dilation_w + 1
        overlap = ext[:, N_] * ext[:, C_] * np.maximum(h - dh, 0.0) * np.maximum(w - dw, 0.0)
        steps = (self.f[rows, k0c] - 1.0) * self.total / self.prefix[rows, np.minimum(k0 + 1, self.K)]
        return np.where(sliding, loads - steps * overlap, loads)


def _colprod(X: np.ndarray, dims) -> np.ndarray:  # noqa: ANN001
    """Product over the given dims of a [B, L, D] array → [B, L] (column products are cheap)."""
    out = X[:, :, dims[0]].copy()
    for d in dims[1:]:
        out *= X[:, :, d]
    return out


def _suffix_excl(X: np.ndarray) -> np.ndarray:
    """``out[:, l]`` = product of ``X[:, l+1:]`` along axis 1."""
    out = np.ones_like(X)
    if X.shape[1] > 1:
        out[:, :-1] = np.cumprod(X[:, :0:-1], axis=1)[:, ::-1]
    return out


_REL_DIMS = [tuple(int(d) for d in np.nonzero(RELEVANT[t])[0]) for t in range(3)]


def evaluate_batch(pb: Problem, spec: AcceleratorSpec | ArchArrays, batch: MappingBatch) -> NestResult:
    """Counts, cycles and energy of every candidate in ``batch`` (one group of the layer)."""
    arch = spec if isinstance(spec, ArchArrays) else arch_arrays(spec)
    keep = batch.keep if batch.keep is not None else arch.keep
    T = batch.temporal.astype(np.float64)
    SX = batch.spatial_x.astype(np.float64)
    SY = batch.spatial_y.astype(np.float64)
    S = SX * SY
    B, L, _ = T.shape
    if L != arch.n_levels:
        raise ValueError(f"mapping has {L} levels, the SA has {arch.n_levels}")
    nest = _Nest(pb, T, S, batch.order)
    compute = nest.total  # compute cycles = product of all temporal factors
    s_lvl = _colprod(S, tuple(range(D)))  # [B, L]
    utilized = _suffix_excl(s_lvl)  # instances of level l in use: fan-out of every level above it
    utilized_macs = utilized[:, 0] * s_lvl[:, 0]

    reads = np.zeros((B, L, 3))
    fills = np.zeros((B, L, 3))
    updates = np.zeros((B, L, 3))
    tile = np.zeros((B, L, 3))
    top = L - 1
    for t in range(3):
        keepers = [c for c in range(L) if keep[c, t]]
        if not keepers:
            continue
        rel_dims = _REL_DIMS[t]
        next_rel = nest.relevant_next(t)
        own_loads: dict[int, np.ndarray] = {}
        s_rel_cum = np.cumprod(_colprod(S, rel_dims), axis=1)  # relevant spatial at levels <= l
        vols = _tensor_volume(nest.ext, t, pb)  # [B, L] tile words at every level
        t_rel_above = _suffix_excl(_colprod(T, rel_dims)) if t == O_T else None
        for j, c in enumerate(keepers):
            ext_c = nest.ext[:, c, :]
            vol = vols[:, c]
            tile[:, c, t] = vol
            if j == 0:
                child = compute * s_rel_cum[:, c]  # MAC operands: no reuse inside the MAC
            else:
                cc = keepers[j - 1]
                # every child's own loads; identical tiles (irrelevant spatial loops) multicast
                child = own_loads[cc] * (s_rel_cum[:, c] / s_rel_cum[:, cc])
            loads = nest.loads(c, ext_c, t, next_rel, vol) if c != top else None
            if loads is not None:
                own_loads[c] = loads
            if t == O_T:
                partition = vol * t_rel_above[:, c]
                updates[:, c, t] = child
                reads[:, c, t] = child - partition
                if loads is not None:
                    fills[:, c, t] = loads - partition
            else:
                reads[:, c, t] = child
                if loads is not None:
                    fills[:, c, t] = loads

    # energy
    blk = arch.block[None, :, None]
    vec = np.ceil(reads / blk) * arch.read_e[None, :, None] + (np.ceil(fills / blk) + np.ceil(updates / blk)) * arch.write_e[None, :, None]
    mult = utilized
    if (arch.cluster > 1).any():
        n_clusters = arch.instances / arch.cluster
        mult = np.where((arch.cluster > 1)[None, :], np.minimum(utilized, n_clusters[None, :]), utilized)
    tensor_energy = vec * mult[:, :, None]
    level_energy = tensor_energy.sum(axis=2)
    macs = float(pb.macs)
    mac_energy = np.full(B, macs * arch.mac_energy_pj)
    energy = level_energy.sum(axis=1) + mac_energy

    # cycles with bandwidth throttling (levels with a finite read or write bandwidth)
    cycles = compute.copy()
    for li in range(L):
        for bw, words in ((arch.read_bw[li], reads[:, li, :]), (arch.write_bw[li], fills[:, li, :] + updates[:, li, :])):
            if np.isfinite(bw):
                demand = words.sum(axis=1)
                slowed = np.ceil(demand / bw - 1e-9)  # = ceil(compute / (bw / (demand / compute)))
                cycles = np.maximum(cycles, slowed)

    tile_words = tile * keep[None, :, :]
    capacity_ok = np.all(tile_words.sum(axis=2) <= arch.size_words[None, :], axis=1)
    fanout_ok = np.all(
        (_colprod(SX, tuple(range(D))) <= arch.fanout_x[None, :]) & (_colprod(SY, tuple(range(D))) <= arch.fanout_y[None, :]),
        axis=1,
    )
    dram_reads = reads[:, top, :].sum(axis=1)
    dram_writes = updates[:, top, :].sum(axis=1) + fills[:, top, :].sum(axis=1)
    return NestResult(
        reads=reads, fills=fills, updates=updates, utilized=utilized, tile_words=tile_words,
        capacity_ok=capacity_ok, fanout_ok=fanout_ok, compute_cycles=compute, cycles=cycles,
        level_energy_pj=level_energy, tensor_energy_pj=tensor_energy, mac_energy_pj=mac_energy,
        energy_pj=energy, utilized_macs=utilized_macs, dram_read_words=dram_reads,
        dram_write_words=dram_writes, macs=int(macs),
    )


def check_mapping(pb: Problem, spec: AcceleratorSpec, mapping: Mapping) -> None:
    """Raise ``ValueError`` naming what is wrong when ``mapping`` does not fit ``pb`` on ``spec``."""
    names = [lv.name for lv in spec.levels]
    got = [lv.name for lv in mapping.levels]
    if got != names:
        raise ValueError(f"mapping levels {got} do not match the SA's levels {names} (innermost first)")
    prods = mapping.dim_products()
    bad = {d: (prods[d], v) for d, v in pb.dim_map().items() if prods[d] != v}
    if bad:
        text = ", ".join(f"{d}: factors multiply to {a}, problem has {b}" for d, (a, b) in bad.items())
        raise ValueError(f"mapping does not tile the problem exactly ({text})")


def evaluate_mapping(pb: Problem, spec: AcceleratorSpec, mapping: Mapping) -> NestResult:
    """Evaluate one mapping (checked for exact tiling first)."""
    check_mapping(pb, spec, mapping)
    return evaluate_batch(pb, spec, MappingBatch.from_mappings([mapping]))
