"""45 nm area and static-power tables for sub-accelerators (SAs).

Why: the design-space exploration trades SLA satisfaction against energy and *area*, and static
power turns idle time into energy. Both must follow from sizes alone, like the per-access energies
of :mod:`hwmodel.energy`.

Sources: the Accelergy 0.3 area reference tables (ART, um² per instance) and the ERT ``idle``
actions (pJ per idle cycle) of Timeloop's ``eyeriss_like`` and ``simba_like`` examples (45 nm;
reference points listed in :mod:`hwmodel.energy`).

Area fits (model/reference - 1 on the reference points, see :func:`area_fit_report`):

* MAC (Aladdin intmac): ``A = 332.25 × (bits/8)^1.89939`` um² (exact on 8-bit 332.25, 16-bit 1239.5).
* Register file with address generators: ``A = 231.254 + 8.26153 × depth^1.138318`` um²; errors
  ifmap -2.3 %, psum +2.5 %, weights -3.3 %, PEAccuBuffer +2.9 %, PEWeightBuffer -0.6 %,
  PEInputBuffer +0.9 % (within :data:`REGFILE_AREA_TOLERANCE`, 3.5 %). Like the energy, Aladdin's
  register-file area does not grow with the row width (free exponent fits to -0.02). A plain
  register file is :data:`PLAIN_REGFILE_AREA_FACTOR` × that; a single register 5.98 um² per 8 bits.
* SRAM (CACTI): ``A = 8543.0 um² per KiB + 1077.5 um² per bit of access width`` (cells plus
  width-proportional periphery), solved exactly on the 128 KiB × 64-bit (1 162 549 um²) and
  64 KiB × 256-bit (822 637 um²) global buffers, i.e. 0.00854 mm² per KiB.
* Per SA: the components above do not include the on-chip network, control, DMA and clocking.
  We add :data:`SA_OVERHEAD_FRACTION` (25 %) of the component area plus :data:`SA_FIXED_OVERHEAD_MM2`
  (0.02 mm²). This is OUR ASSUMPTION, not a fit: Timeloop/Accelergy model none of it, and the
  Eyeriss v1 die (12.25 mm² at 65 nm ≈ 5.9 mm² scaled to 45 nm, vs 2.1 mm² of ART components
  for the 45 nm eyeriss_like) shows real overheads can be larger still (pads, clock tree).

Static power: Accelergy's ``idle`` action is the energy of one idle cycle, so static power at
clock f is ``idle pJ × f GHz`` mW. Idle energies fitted like the areas:

* MAC: ``0.06595 × (bits/16)^1.97218`` pJ/cycle (16-bit Aladdin intmac idle, scaled like the MAC
  energy; the 8-bit lmac has no idle entry).
* Register file: ``0.0177940 + 1.32445e-5 × depth^1.149512`` pJ/cycle (errors within 1.1 %);
  a plain register file 0.3411 × that (DummyBuffer 0.00616 vs psum 0.01806).
* SRAM: the CACTI plug-in's idle (0.018 / 0.015 pJ) is only the address generators' and omits cell
  leakage, so we charge the leakage per bit of the largest reference register file
  (0.4386 pJ / (8192 × 64 bits) = 8.37e-7 pJ per bit per cycle) plus 0.018 pJ for the address
  generators (assumption, stated here so that it can be changed).
* Per SA: the same :data:`SA_OVERHEAD_FRACTION` on top. DRAM static power belongs to the system.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hwmodel.energy import MAC_BITS_EXP as _MAC_ENERGY_EXP
from hwmodel.energy import REFERENCE_POINTS

if TYPE_CHECKING:  # pragma: no cover
    from hwmodel.spec import AcceleratorSpec, StorageLevel

MAC_AREA_REF_BITS = 8
MAC_AREA_REF_UM2 = 332.25
MAC_AREA_BITS_EXP = math.log(1239.5 / 332.25) / math.log(2.0)

REGFILE_AREA_A0_UM2 = 231.2535943968226
REGFILE_AREA_K_UM2 = 8.261526342493243
REGFILE_AREA_DEPTH_EXP = 1.1383177074322124
REGFILE_AREA_TOLERANCE = 0.035
PLAIN_REGFILE_AREA_FACTOR = 235.68 / 414.68
REGISTER_AREA_UM2_PER_BIT = 5.98 / 8

# SRAM: A = a × KiB + b × width_bits, solved on the two CACTI points.
_A1, _S1, _W1 = 1162549.0, 128.0, 64.0
_A2, _S2, _W2 = 822637.0, 64.0, 256.0
SRAM_AREA_UM2_PER_WIDTH_BIT = (_A2 - _A1 * _S2 / _S1) / (_W2 - _W1 * _S2 / _S1)
SRAM_AREA_UM2_PER_KIB = (_A1 - SRAM_AREA_UM2_PER_WIDTH_BIT * _W1) / _S1

SA_OVERHEAD_FRACTION = 0.25
SA_FIXED_OVERHEAD_MM2 = 0.02

MAC_IDLE_REF_PJ = 0.06595  # 16-bit intmac idle
REGFILE_IDLE_E0_PJ = 0.017794005571867076
REGFILE_IDLE_K_PJ = 1.3244480293210435e-05
REGFILE_IDLE_DEPTH_EXP = 1.1495120790057054
PLAIN_REGFILE_IDLE_FACTOR = 0.00616 / 0.01806
LEAKAGE_PJ_PER_BIT_CYCLE = 0.4386 / (8192 * 64)
SRAM_ADDRGEN_IDLE_PJ = 0.018


def mac_area_um2(bits: int) -> float:
    """Area of one MAC unit at ``bits`` precision."""
    return MAC_AREA_REF_UM2 * (bits / MAC_AREA_REF_BITS) ** MAC_AREA_BITS_EXP


def regfile_area_um2(depth: int, width_bits: int = 16, *, plain: bool = False) -> float:
    """Area of one register file of ``depth`` rows (a single register when depth is 1)."""
    if depth <= 1:
        return REGISTER_AREA_UM2_PER_BIT * width_bits
    a = REGFILE_AREA_A0_UM2 + REGFILE_AREA_K_UM2 * depth**REGFILE_AREA_DEPTH_EXP
    return a * PLAIN_REGFILE_AREA_FACTOR if plain else a


def sram_area_um2(size_bytes: float, width_bits: int) -> float:
    """Area of one SRAM of ``size_bytes`` with a ``width_bits``-wide port."""
    return SRAM_AREA_UM2_PER_KIB * size_bytes / 1024 + SRAM_AREA_UM2_PER_WIDTH_BIT * width_bits


def level_area_um2(level: "StorageLevel") -> float:
    """Area of ONE instance of ``level``: its own ``area_um2`` if given, else the table."""
    if level.area_um2 is not None:
        return level.area_um2
    if level.kind == "dram":
        return 0.0
    if level.kind == "sram":
        return sram_area_um2(float(level.size_bytes or 0), level.access_bits)
    return regfile_area_um2(max(1, level.depth or 0), level.access_bits, plain=level.kind == "dummy")


def mac_idle_pj(bits: int) -> float:
    """Idle energy per cycle of one MAC unit."""
    return MAC_IDLE_REF_PJ * (bits / 16) ** _MAC_ENERGY_EXP


def level_idle_pj(level: "StorageLevel") -> float:
    """Idle (leakage) energy per cycle of ONE instance of ``level``."""
    if level.kind == "dram":
        return 0.0
    bits = float(level.size_bits or 0)
    if level.kind == "sram":
        return SRAM_ADDRGEN_IDLE_PJ + LEAKAGE_PJ_PER_BIT_CYCLE * bits
    depth = max(1, level.depth or 0)
    if depth == 1:
        return LEAKAGE_PJ_PER_BIT_CYCLE * bits
    e = REGFILE_IDLE_E0_PJ + REGFILE_IDLE_K_PJ * depth**REGFILE_IDLE_DEPTH_EXP
    return e * PLAIN_REGFILE_IDLE_FACTOR if level.kind == "dummy" else e


def component_area_mm2(spec: "AcceleratorSpec") -> float:
    """Sum of MAC and storage areas (no per-SA overhead)."""
    mac = spec.mac_area_um2 if spec.mac_area_um2 is not None else mac_area_um2(spec.word_bits)
    total_um2 = spec.mac_units * mac + sum(lv.instances * level_area_um2(lv) for lv in spec.levels)
    return total_um2 / 1e6


def estimate_area_mm2(spec: "AcceleratorSpec") -> float:
    """Area of the SA: components plus the per-SA interconnect/control overhead."""
    return component_area_mm2(spec) * (1 + SA_OVERHEAD_FRACTION) + SA_FIXED_OVERHEAD_MM2


def estimate_static_power_mw(spec: "AcceleratorSpec") -> float:
    """Static power of the SA at its clock: idle pJ/cycle × GHz, plus the per-SA overhead."""
    idle_pj = spec.mac_units * mac_idle_pj(spec.word_bits) + sum(lv.instances * level_idle_pj(lv) for lv in spec.levels)
    return idle_pj * spec.clock_ghz * (1 + SA_OVERHEAD_FRACTION)


def fill_area_power(spec: "AcceleratorSpec") -> "AcceleratorSpec":
    """Copy of ``spec`` with per-level / MAC areas, ``area_mm2`` and ``static_power_mw`` filled in."""
    update: dict = {}
    if any(lv.area_um2 is None for lv in spec.levels):
        update["levels"] = tuple(
            lv if lv.area_um2 is not None else lv.model_copy(update={"area_um2": level_area_um2(lv)}) for lv in spec.levels
        )
    if spec.mac_area_um2 is None:
        update["mac_area_um2"] = mac_area_um2(spec.word_bits)
    if spec.area_mm2 is None:
        update["area_mm2"] = round(estimate_area_mm2(spec), 6)
    if spec.static_power_mw is None:
        update["static_power_mw"] = round(estimate_static_power_mw(spec), 6)
    return spec.model_copy(update=update) if update else spec


_REF_AREA_UM2 = {
    "ifmap_spad": 379.68,
    "psum_spad": 414.68,
    "weights_spad": 3634.68,
    "PEAccuBuffer": 2234.68,
    "PEWeightBuffer": 107794.68,
    "PEInputBuffer": 233521.72,
    "DummyBuffer": 235.68,
    "PEWeightRegs(reg)": 5.98,
    "shared_glb": 1162549.0,
    "GlobalBuffer": 822637.0,
    "mac": 1239.5,
    "LMAC": 332.25,
}


def area_fit_report() -> list[dict[str, float | str]]:
    """Per reference component (ART): reference and table area and the relative error."""
    rows: list[dict[str, float | str]] = []
    for p in REFERENCE_POINTS:
        if p.component not in _REF_AREA_UM2:
            continue
        if p.kind == "sram":
            model = sram_area_um2(p.depth * p.width_bits / 8, p.width_bits)
        elif p.kind == "mac":
            model = mac_area_um2(p.width_bits)
        else:
            model = regfile_area_um2(p.depth, p.width_bits, plain=p.kind == "plain_regfile")
        ref = _REF_AREA_UM2[p.component]
        rows.append({"design": p.design, "component": p.component, "kind": p.kind, "area_ref_um2": ref,
                     "area_model_um2": model, "error": model / ref - 1.0})
    return rows
