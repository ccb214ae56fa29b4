"""What the surrogate is trained on: random layer shapes × hardware variants of the Table-1 SA classes.

Why sample instead of enumerating: a cost model is smooth in log-space almost everywhere, so a
log-uniform sample of the dimensions covers the space far better than a grid of the same size.
Real layers are not uniform, though (3×3 convolutions with 2^k channels dominate), so the data
set adds every layer of the zoo on top (see :mod:`surrogate.dataset`).

Layer families and ranges (all drawn log-uniformly between the bounds, then rounded; channel and feature
counts C, M are rounded to 4 significant bits with probability 0.75, :func:`_channels`):

=================  ======================================================================
conv               C 3-2048, M 8-2048, P=Q 1-448 (10 % non-square), R=S ∈ {1,3,5,7,11},
                   1×k / k×1 (k ∈ {3,5,7}, a quarter of them), stride 1 (2 with p=0.3, 4 with p=0.05), dilation 1
pointwise          1×1 conv, C 8-2048, M 8-2048, P=Q 1-112
depthwise          groups = C = M 8-2048, R=S ∈ {3,5,7}, P=Q 4-112, stride 1 or 2
grouped            groups ∈ {2,4,8,16,32}, C/groups and M/groups 4-128, R=S ∈ {1,3}
fc                 Gemm: C 64-25088, M 10-4096, batch N 1-8
attention          MatMul with ``weights_are_activations``: heads N 1-16, seq P 16-1024,
                   head dim (C or M) 32-128 (``Q @ K^T``: C = head dim, M = seq; ``@ V``: C = seq)
linear-seq         token-wise MatMul: P (tokens) 16-1024, C, M 64-4096
vector             element-wise / pooling / normalisation: elements 10^2-10^7, ops 1-8 per element
=================  ======================================================================

Hardware (:class:`HardwareConfig`): each variant starts from one of the four RELMAS Table-1 SA
classes and changes only sizes (energies come from the technology table of :mod:`hwmodel.energy`):

===================  ===============================================  ==========================
parameter            eyeriss_* (row stationary)                       simba_* (weight stationary)
===================  ===============================================  ==========================
PE array X × Y       X ∈ {8,12,14,16,24,32}, Y ∈ {8,12,16}            X ∈ {4,8,16,32,64}, Y = 1
MACs per PE          1 or 2                                           16 (4 lanes × 4 MACs)
global buffer        base × {1/4, 1/2, 1, 2, 4} (16-256 KiB)          same
PE buffers           each scratchpad × {1/2, 1, 2}                    each PE buffer × {1/2, 1, 2}
word bits            8 or 16                                          8 or 16
DRAM bandwidth       unlimited (p=0.6) or 2-64 bytes/cycle log-uniform  same
===================  ===============================================  ==========================

With probability ``base_share`` a sample runs on one of the four classes unchanged: these are the
SAs studies use, so the model must be most accurate there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from hwmodel.spec import AcceleratorSpec, load_accelerator
from workloads.layer import Layer, LayerKind

BASE_CLASSES: tuple[str, ...] = ("eyeriss_small", "eyeriss_large", "simba_small", "simba_large")

# --- hardware ranges (documented above; the model's metadata records the ranges actually seen) -----
EYERISS_PE_X = (8, 12, 14, 16, 24, 32)
EYERISS_PE_Y = (8, 12, 16)
EYERISS_MACS_PER_PE = (1, 2)
SIMBA_PE_X = (4, 8, 16, 32, 64)
GLB_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
PE_BUFFER_SCALES = (0.5, 1.0, 2.0)
WORD_BITS = (8, 16)
DRAM_UNLIMITED_SHARE = 0.6
DRAM_BYTES_PER_CYCLE = (2.0, 64.0)


@dataclass(frozen=True)
class HardwareConfig:
    """One SA: a Table-1 base class plus the sizes a variant changes (``None`` = as the base).

    ``pe_buffer_words`` maps a PE-level buffer name to its new size in words. ``dram_bytes_per_cycle``
    = None leaves DRAM bandwidth unlimited (as in the base specs: contention is the scheduler's job).
    """

    base: str
    pe_x: int | None = None
    pe_y: int | None = None
    macs_per_pe: int | None = None
    glb_words: int | None = None
    pe_buffer_words: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    word_bits: int | None = None
    dram_bytes_per_cycle: float | None = None

    @property
    def is_base(self) -> bool:
        return self == HardwareConfig(self.base)

    def to_json(self) -> str:
        d = asdict(self)
        d["pe_buffer_words"] = [list(x) for x in self.pe_buffer_words]
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "HardwareConfig":
        d = json.loads(text)
        d["pe_buffer_words"] = tuple((str(k), int(v)) for k, v in d.get("pe_buffer_words", []))
        return cls(**d)

    def build(self) -> AcceleratorSpec:
        """The resolved :class:`AcceleratorSpec` (energies, area, power from the technology tables)."""
        return build_spec(self)


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def build_spec(cfg: HardwareConfig) -> AcceleratorSpec:
    """Derive the variant from the *unresolved* base spec, so every energy the change touches is refilled."""
    base = load_accelerator(cfg.base, resolve=False)
    if cfg.is_base:
        return load_accelerator(cfg.base)
    old_bits = base.word_bits
    bits = cfg.word_bits or old_bits
    levels = []
    for lv in base.levels:
        d = lv.model_dump()
        if bits != old_bits:
            if lv.word_bits == old_bits:
                d["word_bits"] = bits
            elif lv.kind != "dram":  # wider accumulators keep their margin over the operand width
                d["word_bits"] = lv.word_bits - old_bits + bits
            d.update(read_energy_pj=None, write_energy_pj=None, area_um2=None)
        if lv.kind == "dram":
            bw = None if cfg.dram_bytes_per_cycle is None else cfg.dram_bytes_per_cycle * 8 / bits
            d.update(read_bw=bw, write_bw=bw)
        levels.append(d)
    macs = cfg.macs_per_pe or base.macs_per_pe
    spec = base.with_updates(
        levels=levels, word_bits=bits, macs_per_pe=macs,
        mac_energy_pj=None if (bits != old_bits or macs != base.macs_per_pe) else base.mac_energy_pj,
        name=f"{cfg.base}_variant",
    )
    sizes = dict(cfg.pe_buffer_words)
    if cfg.glb_words is not None:
        sizes[base.levels[-2].name] = cfg.glb_words
    return spec.variant(pe_x=cfg.pe_x, pe_y=cfg.pe_y, sizes_words=sizes or None)


def sample_hardware(rng: np.random.Generator, base: str | None = None) -> HardwareConfig:
    """A random variant of a Table-1 class (``base`` or a random one)."""
    base = base or BASE_CLASSES[int(rng.integers(len(BASE_CLASSES)))]
    spec = load_accelerator(base, resolve=False)
    eyeriss = spec.dataflow == "row_stationary"
    if eyeriss:
        pe_x = int(rng.choice(EYERISS_PE_X))
        pe_y = int(rng.choice(EYERISS_PE_Y))
        macs = int(rng.choice(EYERISS_MACS_PER_PE))
    else:
        pe_x, pe_y, macs = int(rng.choice(SIMBA_PE_X)), 1, spec.macs_per_pe
    glb = spec.levels[-2]
    glb_words = _round_to(glb.size_words * float(rng.choice(GLB_SCALES)), glb.block_size)
    pe_sizes = []
    for lv in spec.levels[:-2]:
        if lv.kind == "dummy" or not lv.keep or (lv.size_words or 0) <= 1:
            continue
        scale = float(rng.choice(PE_BUFFER_SCALES))
        pe_sizes.append((lv.name, _round_to(lv.size_words * scale, lv.block_size)))
    bits = int(rng.choice(WORD_BITS))
    dram = None
    if rng.random() >= DRAM_UNLIMITED_SHARE:
        lo, hi = np.log(DRAM_BYTES_PER_CYCLE[0]), np.log(DRAM_BYTES_PER_CYCLE[1])
        dram = float(np.round(np.exp(rng.uniform(lo, hi)), 2))
    return HardwareConfig(base=base, pe_x=pe_x, pe_y=pe_y, macs_per_pe=macs, glb_words=glb_words,
                          pe_buffer_words=tuple(pe_sizes), word_bits=bits, dram_bytes_per_cycle=dram)


# ---------------------------------------------------------------------------------------------------
# layers


def _logu(rng: np.random.Generator, lo: float, hi: float) -> int:
    return int(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi))))))


NICE_SHARE = 0.75  # channel counts rounded to 4 significant bits (what real networks use)


def _nice(v: int) -> int:
    """``v`` rounded to 4 significant bits: 1218 → 1280, 59 → 60, 183 → 176 (a multiple of 2^(⌊log2 v⌋ − 3))."""
    if v < 16:
        return v
    step = 1 << (v.bit_length() - 4)
    return max(step, int(round(v / step)) * step)


def _channels(rng: np.random.Generator, lo: float, hi: float) -> int:
    """A channel / feature count: log-uniform, rounded to 4 significant bits with probability :data:`NICE_SHARE`.

    Why: real networks use 64, 192, 288, 1280, ... (few, small prime factors), and whether a count
    splits evenly over the PE array and the buffers decides the mapping: with raw log-uniform
    integers (1218, 59, 1512, ...) most samples forced the mapper into odd tilings, 1x1 convs at
    8x8 re-read their weights 3-60x from DRAM on Eyeriss, while InceptionV3's (C 1280-2048, M
    192-448) read them once, and the surrogate learned the odd cases. A quarter stay raw so that
    awkward counts are still covered.
    """
    v = _logu(rng, lo, hi)
    return _nice(v) if rng.random() < NICE_SHARE else v


def _conv(name: str, n: int, c: int, m: int, r: int, s: int, p: int, q: int, stride: int = 1, groups: int = 1,
          op_type: str = "Conv") -> Layer:
    ih, iw = (p - 1) * stride + r, (q - 1) * stride + s
    return Layer(
        name=name, op_type=op_type, kind=LayerKind.CONV, N=n, C=c, M=m, R=r, S=s, P=p, Q=q,
        stride_h=stride, stride_w=stride, groups=groups,
        input_elements=n * c * ih * iw, output_elements=n * m * p * q,
        weight_elements=m * (c // groups) * r * s + m, vector_ops=2 * n * m * p * q,
    )


def _matmul(name: str, n: int, c: int, m: int, p: int, activations: bool = False, op_type: str = "MatMul") -> Layer:
    return Layer(
        name=name, op_type=op_type, kind=LayerKind.MATMUL, N=n, C=c, M=m, P=p,
        input_elements=n * c * p, output_elements=n * m * p,
        weight_elements=n * c * m if activations else c * m + m, vector_ops=0 if activations else n * m * p,
        weights_are_activations=activations,
    )


# factorised 1×k / k×1 kernels are a whole family of real networks (InceptionV3/V4, Inception-ResNet)
# and map differently from square ones on a row-stationary array: at 10 % the model saw too few
ASYMMETRIC_KERNEL_SHARE = 0.25
# detection and segmentation inputs reach 416-448 pixels (YOLOv2, SSD): trees do not extrapolate
CONV_MAX_SIDE = 448

LAYER_FAMILIES: tuple[tuple[str, float], ...] = (
    ("conv", 0.30), ("pointwise", 0.15), ("depthwise", 0.10), ("grouped", 0.06), ("fc", 0.09),
    ("attention", 0.07), ("linear_seq", 0.08), ("vector", 0.15),
)


def sample_layer(rng: np.random.Generator, name: str = "sampled") -> Layer:
    """One random layer of a family drawn with the weights of :data:`LAYER_FAMILIES`."""
    fams, weights = zip(*LAYER_FAMILIES)
    fam = fams[int(rng.choice(len(fams), p=np.asarray(weights) / sum(weights)))]
    name = f"{name}:{fam}"
    if fam == "conv":
        k = int(rng.choice([1, 3, 3, 3, 5, 7, 11]))
        r, s = k, k
        if rng.random() < ASYMMETRIC_KERNEL_SHARE:
            k = int(rng.choice([3, 5, 7]))
            r, s = (1, k) if rng.random() < 0.5 else (k, 1)
        u = rng.random()
        stride = 4 if u < 0.05 else (2 if u < 0.35 else 1)
        p = _logu(rng, 1, CONV_MAX_SIDE)
        q = p if rng.random() < 0.9 else _logu(rng, 1, CONV_MAX_SIDE)
        return _conv(name, 1, _channels(rng, 3, 2048), _channels(rng, 8, 2048), r, s, p, q, stride)
    if fam == "pointwise":
        p = _logu(rng, 1, 112)
        return _conv(name, 1, _channels(rng, 8, 2048), _channels(rng, 8, 2048), 1, 1, p, p, 1)
    if fam == "depthwise":
        c = _channels(rng, 8, 2048)
        k = int(rng.choice([3, 3, 5, 7]))
        p = _logu(rng, 4, 112)
        return _conv(name, 1, c, c, k, k, p, p, int(rng.choice([1, 2])), groups=c)
    if fam == "grouped":
        g = int(rng.choice([2, 4, 8, 16, 32]))
        k = int(rng.choice([1, 3]))
        p = _logu(rng, 4, 112)
        return _conv(name, 1, g * _channels(rng, 4, 128), g * _channels(rng, 4, 128), k, k, p, p, 1, groups=g)
    if fam == "fc":
        return _matmul(name, _logu(rng, 1, 8), _channels(rng, 64, 25088), _channels(rng, 10, 4096), 1, op_type="Gemm")
    if fam == "attention":
        heads, seq, dim = _logu(rng, 1, 16), _logu(rng, 16, 1024), _logu(rng, 32, 128)
        if rng.random() < 0.5:  # Q @ K^T: (seq × dim) @ (dim × seq)
            return _matmul(name, heads, dim, seq, seq, activations=True)
        return _matmul(name, heads, seq, dim, seq, activations=True)  # softmax @ V
    if fam == "linear_seq":
        return _matmul(name, 1, _channels(rng, 64, 4096), _channels(rng, 64, 4096), _logu(rng, 16, 1024))
    # vector
    elements = _logu(rng, 100, 10_000_000)
    ins = elements * int(rng.choice([1, 1, 2, 4]))  # element-wise, binary op, pooling windows
    outs = elements
    params = int(rng.choice([0, 0, 0, 2 * _logu(rng, 8, 4096)]))
    ops = outs * int(rng.choice([1, 1, 2, 4, 8]))
    return Layer(name=name, op_type="Vector", kind=LayerKind.VECTOR, input_elements=ins, output_elements=outs,
                 weight_elements=params, vector_ops=ops)
