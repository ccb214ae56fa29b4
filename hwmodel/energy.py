"""45 nm energy technology table: energy per access of register files, SRAMs, DRAM and MACs.

Why a table: a user who changes a buffer size or the precision of a sub-accelerator (SA) must get
plausible per-access energies without running Accelergy. The functions below are fitted to the
Accelergy 0.3 energy reference tables (ERTs) that Timeloop v3.0.3 used for its ``eyeriss_like``
and ``simba_like`` example designs (CACTI 7 for SRAM, the Aladdin tables for register files and
MACs, 45 nm). Every energy is what *Timeloop charges* for one vector access, i.e. the MAXIMUM over
the action's argument variants (``data_delta`` × ``address_delta``), which includes the
smart-buffer's address generators.

Reference points (re-expressed from the ERTs; depth/width as Accelergy saw them)::

    design  component        class     depth  width  read pJ    write pJ   idle pJ/cycle  area um^2
    eyeriss ifmap_spad       regfile      12     16   0.23632    0.23632   0.01800        379.68
    eyeriss psum_spad        regfile      16     16   0.25083    0.25083   0.01806        414.68
    eyeriss weights_spad     regfile     192     16   1.58552    1.58552   0.02363       3634.68
    simba   PEAccuBuffer     regfile     128     16   1.00522    1.00522   0.02121       2234.68
    simba   PEWeightBuffer   regfile    4096     16  44.75984   44.75984   0.20383     107794.68
    simba   PEInputBuffer    regfile    8192     64  97.18672   97.18672   0.43860     233521.72
    eyeriss DummyBuffer      plain RF     16     16   0.20203    0.20203   0.00616        235.68
    eyeriss shared_glb       SRAM      16384     64  74.14420   75.21480   0.01824    1162549.0
    simba   GlobalBuffer     SRAM       2048    256 167.09080  182.78580   0.01541     822637.0
    eyeriss mac (16-bit)     intmac                   2.20035 (mac_random)  0.06595       1239.5
    simba   LMAC (8-bit)     intmac                   0.56080 (compute)        -           332.25
    both    DRAM (LPDDR4)                             512 per 64-bit access = 8 pJ/bit

Fits (errors are model/reference - 1 on the points above; see :func:`fit_report`):

* Register file (``smartbuffer_RF``: storage + 2 address generators), least squares in log space:
  ``E = 0.174234 + 0.00344185 × depth^1.137869`` pJ. Errors: ifmap -1.7 %, psum +1.6 %,
  weights -3.0 %, PEAccuBuffer +2.9 %, PEWeightBuffer -0.5 %, PEInputBuffer +0.7 %: within
  :data:`REGFILE_FIT_TOLERANCE` (3.5 %). A free width exponent fits to -0.01: Aladdin's register
  file energy grows with the number of rows, not with the row width, so width is left out (a wider
  block means fewer rows for the same capacity, hence a lower energy per word: a known limit of the
  source tables). A plain ``regfile`` (no address generators: the Eyeriss DummyBuffer) costs
  :data:`PLAIN_REGFILE_FACTOR` × that (exact on the one reference point).
* A single register (depth 1): Aladdin ``reg`` ``access`` = 0.009 pJ per 8 bits, scaled by width.
* SRAM (CACTI): ``E = k × (width/64)^b × sqrt(size / 128 KiB)``, the square-root size law of
  Horowitz (ISSCC 2014: 64-bit reads of 8 KB / 32 KB / 1 MB SRAM at 45 nm cost 10 / 20 / 100 pJ)
  with ``k`` and ``b`` solved on the two CACTI points: read k = 74.1442, b = 0.83624; write
  k = 75.2148, b = 0.89068 (exact on both points; it reads about 1.5-2 × Horowitz because
  Timeloop's max variant includes the address-generator energy).
* MAC (Aladdin intmac): ``E = 0.5608 × (bits/8)^1.97218``, the quadratic-like growth of an array
  multiplier solved on 8-bit 0.5608 pJ and 16-bit 2.20035 pJ (exact on both; 4-bit 0.143 pJ,
  32-bit 8.63 pJ).
* DRAM (LPDDR4): 8 pJ per bit moved (both ERTs: 512 pJ per 64-bit access).

Static (idle) energy per cycle is fitted the same way in :mod:`hwmodel.area`, next to the area
table. :func:`fit_offset_power_law` re-derives every register-file constant from the reference
points (``y = e0 + k × depth^a``, least squares on log y, SciPy's trust-region solver); a test
checks that it reproduces the constants below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from hwmodel.spec import AcceleratorSpec, StorageLevel

TECHNOLOGY = "45nm"

# --- register file (Aladdin, smartbuffer_RF incl. address generators) -------------------------
REGFILE_E0_PJ = 0.17423423504728366
REGFILE_K_PJ = 0.003441854103589223
REGFILE_DEPTH_EXP = 1.1378689465652478
REGFILE_FIT_TOLERANCE = 0.035
PLAIN_REGFILE_FACTOR = 0.20203 / 0.25083  # DummyBuffer regfile / psum_spad smartbuffer_RF, both 16 x 16
REGISTER_PJ_PER_BIT = 0.009 / 8  # Aladdin `reg` access, datawidth 8

# --- SRAM (CACTI 7) -----------------------------------------------------------------------------
SRAM_REF_BYTES = 128 * 1024
SRAM_REF_WIDTH_BITS = 64
SRAM_SIZE_EXP = 0.5
SRAM_READ_K_PJ = 74.1442
SRAM_WRITE_K_PJ = 75.2148
SRAM_READ_WIDTH_EXP = math.log(167.0908 / (74.1442 * math.sqrt(0.5))) / math.log(4.0)
SRAM_WRITE_WIDTH_EXP = math.log(182.7858 / (75.2148 * math.sqrt(0.5))) / math.log(4.0)

# --- MAC (Aladdin intmac) -------------------------------------------------------------------------
MAC_REF_BITS = 8
MAC_REF_PJ = 0.5608
MAC_BITS_EXP = math.log(2.20035 / 0.5608) / math.log(2.0)

# --- DRAM -----------------------------------------------------------------------------------------
DRAM_PJ_PER_BIT = 8.0


def regfile_access_energy_pj(depth: int, width_bits: int = 16, *, plain: bool = False) -> float:
    """Energy of one vector access (read or write) of a ``depth``-row register file.

    ``width_bits`` only matters for a single register (depth 1); see the module docstring.
    ``plain`` drops the smart-buffer address generators (a bare ``regfile`` class).
    """
    if depth <= 0:
        raise ValueError("depth must be > 0")
    if depth == 1:
        return REGISTER_PJ_PER_BIT * width_bits
    e = REGFILE_E0_PJ + REGFILE_K_PJ * depth**REGFILE_DEPTH_EXP
    return e * PLAIN_REGFILE_FACTOR if plain else e


def sram_access_energy_pj(size_bytes: float, width_bits: int, *, write: bool = False) -> float:
    """Energy of one ``width_bits``-wide read (or write) of a ``size_bytes`` SRAM (CACTI fit)."""
    if size_bytes <= 0 or width_bits <= 0:
        raise ValueError("size_bytes and width_bits must be > 0")
    k, b = (SRAM_WRITE_K_PJ, SRAM_WRITE_WIDTH_EXP) if write else (SRAM_READ_K_PJ, SRAM_READ_WIDTH_EXP)
    return k * (width_bits / SRAM_REF_WIDTH_BITS) ** b * (size_bytes / SRAM_REF_BYTES) ** SRAM_SIZE_EXP


def dram_access_energy_pj(access_bits: int, pj_per_bit: float = DRAM_PJ_PER_BIT) -> float:
    """Energy of one DRAM access moving ``access_bits`` bits."""
    return pj_per_bit * access_bits


def mac_energy_pj(bits: int) -> float:
    """Energy of one multiply-accumulate at ``bits`` precision (Aladdin intmac fit)."""
    if bits <= 0:
        raise ValueError("bits must be > 0")
    return MAC_REF_PJ * (bits / MAC_REF_BITS) ** MAC_BITS_EXP


def level_energies_pj(level: "StorageLevel") -> tuple[float, float]:
    """Table (read, write) energy per vector access of ``level`` (its own figures ignored).

    A vector access of a level with ``cluster_size`` c spans the c instances of a cluster, so it
    costs c times one instance's access (Timeloop charges it once per utilised cluster).
    """
    bits = level.access_bits
    c = level.cluster_size
    if level.kind == "dram":
        e = dram_access_energy_pj(bits)
        return e * c, e * c
    depth = max(1, level.depth or 0)
    if level.kind == "sram":
        size = float(level.size_bytes or 0) or bits / 8
        return sram_access_energy_pj(size, bits) * c, sram_access_energy_pj(size, bits, write=True) * c
    e = regfile_access_energy_pj(depth, bits, plain=level.kind == "dummy") * c
    return e, e


def fill_energies(spec: "AcceleratorSpec") -> "AcceleratorSpec":
    """Copy of ``spec`` with missing level energies and MAC energy taken from the table."""
    levels = []
    changed = False
    for lv in spec.levels:
        if lv.read_energy_pj is None or lv.write_energy_pj is None:
            r, w = level_energies_pj(lv)
            lv = lv.model_copy(
                update={
                    "read_energy_pj": lv.read_energy_pj if lv.read_energy_pj is not None else r,
                    "write_energy_pj": lv.write_energy_pj if lv.write_energy_pj is not None else w,
                }
            )
            changed = True
        levels.append(lv)
    update: dict = {}
    if changed:
        update["levels"] = tuple(levels)
    if spec.mac_energy_pj is None:
        update["mac_energy_pj"] = mac_energy_pj(spec.word_bits)
    return spec.model_copy(update=update) if update else spec


def fit_offset_power_law(
    depths: list[float], values: list[float], x0: tuple[float, float, float]
) -> tuple[float, float, float]:
    """Fit ``y = e0 + k × depth^a`` by least squares on ``log y``; returns ``(e0, k, a)``.

    ``x0`` is the starting ``(e0, k, a)``. Log space weighs the 12-word and the 8192-word register
    files alike (relative errors), which is what a per-access energy table needs.
    """
    import numpy as np
    from scipy.optimize import least_squares

    d = np.asarray(depths, dtype=float)
    y = np.asarray(values, dtype=float)

    def residual(p: np.ndarray) -> np.ndarray:
        return np.log(p[0] + np.exp(p[1]) * d ** p[2]) - np.log(y)

    res = least_squares(residual, [x0[0], math.log(x0[1]), x0[2]], xtol=1e-14, ftol=1e-14)
    return float(res.x[0]), float(math.exp(res.x[1])), float(res.x[2])


# ----------------------------------------------------------------------------------------------
# reference points and fit report


@dataclass(frozen=True)
class EnergyRefPoint:
    """One ERT component as Accelergy saw it and the energy Timeloop charged for it."""

    design: str
    component: str
    kind: str  # regfile | plain_regfile | sram | mac | dram
    depth: int
    width_bits: int
    read_pj: float
    write_pj: float


REFERENCE_POINTS: tuple[EnergyRefPoint, ...] = (
    EnergyRefPoint("eyeriss_like", "ifmap_spad", "regfile", 12, 16, 0.23632, 0.23632),
    EnergyRefPoint("eyeriss_like", "psum_spad", "regfile", 16, 16, 0.25083, 0.25083),
    EnergyRefPoint("eyeriss_like", "weights_spad", "regfile", 192, 16, 1.58552, 1.58552),
    EnergyRefPoint("simba_like", "PEAccuBuffer", "regfile", 128, 16, 1.00522, 1.00522),
    EnergyRefPoint("simba_like", "PEWeightBuffer", "regfile", 4096, 16, 44.75984, 44.75984),
    EnergyRefPoint("simba_like", "PEInputBuffer", "regfile", 8192, 64, 97.18672, 97.18672),
    EnergyRefPoint("eyeriss_like", "DummyBuffer", "plain_regfile", 16, 16, 0.20203, 0.20203),
    EnergyRefPoint("simba_like", "PEWeightRegs(reg)", "register", 1, 8, 0.009, 0.009),
    EnergyRefPoint("eyeriss_like", "shared_glb", "sram", 16384, 64, 74.1442, 75.2148),
    EnergyRefPoint("simba_like", "GlobalBuffer", "sram", 2048, 256, 167.0908, 182.7858),
    EnergyRefPoint("eyeriss_like", "mac", "mac", 1, 16, 2.20035, 2.20035),
    EnergyRefPoint("simba_like", "LMAC", "mac", 1, 8, 0.5608, 0.5608),
    EnergyRefPoint("eyeriss_like", "DRAM", "dram", 1, 64, 512.0, 512.0),
    EnergyRefPoint("simba_like", "DRAM", "dram", 1, 64, 512.0, 512.0),
)


def model_energy_pj(point: EnergyRefPoint) -> tuple[float, float]:
    """The table's (read, write) energy for a reference point's geometry."""
    if point.kind in ("regfile", "plain_regfile", "register"):
        e = regfile_access_energy_pj(point.depth, point.width_bits, plain=point.kind == "plain_regfile")
        return e, e
    if point.kind == "sram":
        size = point.depth * point.width_bits / 8
        return (
            sram_access_energy_pj(size, point.width_bits),
            sram_access_energy_pj(size, point.width_bits, write=True),
        )
    if point.kind == "mac":
        e = mac_energy_pj(point.width_bits)
        return e, e
    e = dram_access_energy_pj(point.width_bits)
    return e, e


def fit_report() -> list[dict[str, float | str]]:
    """Per reference component: reference and table energies and the relative error of each."""
    rows: list[dict[str, float | str]] = []
    for p in REFERENCE_POINTS:
        r, w = model_energy_pj(p)
        rows.append(
            {
                "design": p.design,
                "component": p.component,
                "kind": p.kind,
                "depth": p.depth,
                "width_bits": p.width_bits,
                "read_ref_pj": p.read_pj,
                "read_model_pj": r,
                "read_error": r / p.read_pj - 1.0,
                "write_ref_pj": p.write_pj,
                "write_model_pj": w,
                "write_error": w / p.write_pj - 1.0,
            }
        )
    return rows
