"""Area and power of a candidate system, and the SA variants a design point asks for.

Why a module of its own: the per-SA figures already exist (:mod:`hwmodel.area`, 45 nm: MAC units by
precision from the Accelergy/Aladdin tables, register files and SRAMs from the Accelergy ART /
CACTI reference points, plus a per-SA interconnect/control overhead); a DSE needs the *system*
figures built on them and one rule for the DRAM interface, which no SA spec carries:

* area = Σ instances' ``area_mm2`` (hwmodel.area) + the DRAM interface (PHY) area;
* peak power = Σ instances' (static power + the highest dynamic power of any layer in the
  layer table, energy_pj / latency_s) + the DRAM at full bandwidth (GB/s × 8 × pJ/bit).

The DRAM PHY area is an ASSUMPTION (no spec in this project gives one): :data:`DRAM_PHY_MM2_PER_GBPS`
= 0.15 mm² per GB/s, the order of magnitude of published LPDDR4 PHY macros (a x32 channel of
about 17 GB/s takes a few mm²). It exists so that DRAM bandwidth is not free in the search;
pass ``dram_phy_mm2_per_gbps=0`` to leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from hwmodel.spec import AcceleratorSpec, SAGroup, SystemSpec, load_accelerator
from mascot.errors import MascotError

from dse.space import DesignPoint, SAChoice

DRAM_PHY_MM2_PER_GBPS = 0.15
DRAM_ENERGY_PJ_PER_BIT = 8.0  # LPDDR4, as relmas6 and the Timeloop/Accelergy ERTs
NOP_GBPS = 100.0  # network-on-package of relmas6 (RELMAS Table 1)
NOP_ENERGY_PJ_PER_BIT = 1.3


def _scaled_size(size_words: int, scale: float, block: int) -> int:
    """``size × scale`` rounded to a whole number of blocks (at least one)."""
    blocks = max(1, round(size_words * scale / block))
    return int(blocks * block)


def variant_name(choice: SAChoice, spec: AcceleratorSpec) -> str:
    """Readable and content-defining: the same knobs always give the same class name (cache hits)."""
    if (choice.pe_scale, choice.glb_scale, choice.pebuf_scale) == (1.0, 1.0, 1.0):
        return choice.base
    return f"{choice.base}-pe{spec.pe_array.x}x{spec.pe_array.y}-glb{choice.glb_scale:g}-buf{choice.pebuf_scale:g}"


@lru_cache(maxsize=512)
def sa_variant(base: str, pe_scale: float = 1.0, glb_scale: float = 1.0, pebuf_scale: float = 1.0) -> AcceleratorSpec:
    """The shipped class ``base`` with its PE array X, global buffer and per-PE buffers scaled.

    The global buffer is the outermost on-chip SRAM; per-PE buffers are the register-file levels
    of more than one word (single-word registers stay: they are the datapath, not storage).
    Scale 1 everywhere returns the shipped spec itself, so relmas6's classes are in the space.
    """
    spec = load_accelerator(base)
    if (pe_scale, glb_scale, pebuf_scale) == (1.0, 1.0, 1.0):
        return spec
    sizes: dict[str, int] = {}
    on_chip = [lv for lv in spec.levels if lv.kind != "dram"]
    srams = [lv for lv in on_chip if lv.kind == "sram"]
    if glb_scale != 1.0:
        if not srams:
            raise MascotError(f"SA class {base!r} has no SRAM level to scale as its global buffer",
                              hint="leave glb scales at 1 for it (--glb-scales 1)")
        glb = srams[-1]
        sizes[glb.name] = _scaled_size(int(glb.size_words or 0), glb_scale, glb.block_size)
    if pebuf_scale != 1.0:
        for lv in on_chip:
            if lv.kind == "regfile" and (lv.size_words or 0) > 1:
                sizes[lv.name] = _scaled_size(int(lv.size_words or 0), pebuf_scale, lv.block_size)
    pe_x = max(1, round(spec.pe_array.x * pe_scale))
    try:
        out = spec.variant(pe_x=pe_x, sizes_words=sizes)
    except ValueError as exc:
        raise MascotError(f"SA class {base!r} cannot be scaled (pe {pe_scale}, glb {glb_scale}, buffers {pebuf_scale}): {exc}",
                          hint="drop that scale from the search space") from None
    choice = SAChoice(base, 1, pe_scale, glb_scale, pebuf_scale)
    return out.with_updates(name=variant_name(choice, out), description=f"{base} scaled by the DSE: PE array "
                            f"{out.pe_array.x}x{out.pe_array.y}, global buffer x{glb_scale:g}, PE buffers x{pebuf_scale:g}")


def build_system(point: DesignPoint, name: str = "dse_candidate") -> SystemSpec:
    """The :class:`SystemSpec` of a design (SA variants inline, so no file is needed)."""
    groups = []
    for choice in point.used():
        spec = sa_variant(choice.base, choice.pe_scale, choice.glb_scale, choice.pebuf_scale)
        inline = None if spec.name == choice.base else spec
        groups.append(SAGroup(accelerator=spec.name, count=choice.count, spec=inline))
    if not groups:
        raise MascotError("the design has no SA instance (every count is 0)")
    return SystemSpec(
        name=name, accelerators=tuple(groups), dram_gbps=point.dram_gbps,
        dram_energy_pj_per_bit=DRAM_ENERGY_PJ_PER_BIT, nop_gbps=NOP_GBPS, nop_energy_pj_per_bit=NOP_ENERGY_PJ_PER_BIT,
    )


@dataclass(frozen=True)
class SystemCost:
    """Area (mm²) and power (W) of a system; ``peak_power_w`` is NaN until a layer table is known."""

    area_mm2: float
    sa_area_mm2: float
    dram_phy_area_mm2: float
    static_power_w: float
    peak_power_w: float = float("nan")


def system_area(system: SystemSpec, dram_phy_mm2_per_gbps: float = DRAM_PHY_MM2_PER_GBPS) -> SystemCost:
    """Area and static power: Σ instances (hwmodel.area) + the DRAM PHY."""
    sa_area = 0.0
    static_w = 0.0
    for inst in system.instances():
        sa_area += float(inst.spec.area_mm2 or 0.0)
        static_w += float(inst.spec.static_power_mw or 0.0) / 1e3
    phy = dram_phy_mm2_per_gbps * system.dram_gbps
    return SystemCost(area_mm2=sa_area + phy, sa_area_mm2=sa_area, dram_phy_area_mm2=phy, static_power_w=static_w)


def peak_power_w(system: SystemSpec, table: pd.DataFrame, cost: SystemCost) -> SystemCost:
    """Add the peak power: every SA on its most power-hungry layer, the DRAM at full bandwidth.

    A layer's on-chip power is its dynamic energy without the DRAM share, over its latency
    stretched to what the system's DRAM can deliver (the table's latency assumes unlimited DRAM:
    a 2.4 MB element-wise Add would otherwise "run" at 1.5 TB/s and burn 100 W). The DRAM share is
    the table's DRAM breakdown entry when the backend gives one, else bytes × 8 × pJ/bit. The sum
    of per-SA maxima is an upper bound, which is what a power budget needs.
    """
    import json

    dram_level = {inst.class_name: inst.spec.dram.name for inst in system.instances()}
    dram_pj: list[float] = []
    for cls, breakdown, nbytes in zip(table["sa_class"], table["energy_breakdown"] if "energy_breakdown" in table
                                      else [""] * len(table), table["dram_bytes"]):
        parts = json.loads(breakdown) if isinstance(breakdown, str) and breakdown.strip() else {}
        name = dram_level.get(cls)
        dram_pj.append(float(parts[name]) if name in parts else float(nbytes) * 8.0 * system.dram_energy_pj_per_bit)
    on_chip_pj = (table["energy_pj"] - pd.Series(dram_pj, index=table.index)).clip(lower=0.0)
    latency_s = table["latency_s"].clip(lower=1e-15).combine(table["dram_bytes"] / (system.dram_gbps * 1e9), max)
    dyn = (on_chip_pj * 1e-12 / latency_s).groupby(table["sa_class"]).max()
    total = cost.static_power_w
    for inst in system.instances():
        total += float(dyn.get(inst.class_name, 0.0))
    total += system.dram_gbps * 8.0 * system.dram_energy_pj_per_bit * 1e-3  # GB/s × bit/B × pJ/bit → W
    return SystemCost(cost.area_mm2, cost.sa_area_mm2, cost.dram_phy_area_mm2, cost.static_power_w, float(total))
