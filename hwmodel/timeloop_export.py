"""Export a native SA spec as Timeloop v0.3 architecture + constraints and Accelergy ERT / ART YAML.

Why: the ``timeloop`` cost backend and users who want to check a design with real Timeloop need
the SA in Timeloop's own files; :func:`hwmodel.timeloop_format.import_timeloop` reads them back to
the identical spec (a tested round trip).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hwmodel.spec import TENSORS, AcceleratorSpec
from mascot.io import atomic_write_text

_EXPORT_CLASS = {"regfile": "smartbuffer_RF", "sram": "smartbuffer_SRAM", "dummy": "regfile", "dram": "DRAM"}


@dataclass(frozen=True)
class TimeloopExport:
    """The Timeloop v0.3 files of one SA, as YAML text."""

    arch: str
    constraints: str
    ert: str
    art: str


def _storage_component(lv: Any, count_here: int) -> dict:
    name = f"{lv.name}[0..{count_here - 1}]" if count_here > 1 else lv.name
    attrs: dict[str, Any] = {"word-bits": lv.word_bits, "block-size": lv.block_size}
    if lv.kind == "dram":
        attrs = {"type": "LPDDR4", "width": lv.access_bits * lv.cluster_size, **attrs}
    else:
        depth_key, width_key = ("depth", "width") if lv.kind == "dummy" else ("memory_depth", "memory_width")
        attrs[depth_key] = (lv.size_words or 0) // lv.block_size
        attrs[width_key] = lv.access_bits * lv.cluster_size
    if lv.cluster_size > 1:
        attrs["cluster-size"] = lv.cluster_size
    if lv.read_bw is not None:
        attrs["read_bandwidth"] = lv.read_bw
    if lv.write_bw is not None:
        attrs["write_bandwidth"] = lv.write_bw
    if lv.mesh_x is not None:
        attrs["meshX"] = lv.mesh_x
    return {"name": name, "class": _EXPORT_CLASS[lv.kind], "attributes": attrs}


def export_timeloop(spec: AcceleratorSpec) -> TimeloopExport:
    """Timeloop v0.3 architecture, constraints, ERT and ART for ``spec`` (resolved first).

    The tree is ``system`` (DRAM) → ``<spec.name>`` (levels with fewer instances than PEs) →
    ``PE[0..P-1]`` (per-PE levels and the MACs). SA-level figures Timeloop has no field for
    (dataflow, clock, area, static power) ride along as ``mascot_*`` node attributes, which Timeloop
    ignores and :func:`import_timeloop` reads back.
    """
    spec = spec.resolved()
    pes = spec.pe_array.count
    onchip = list(reversed(spec.levels[:-1]))  # outer first
    split = next((i for i, lv in enumerate(onchip) if lv.instances >= pes and lv.instances % pes == 0), len(onchip))
    outer, inner = onchip[:split], onchip[split:]
    pe_node = f"PE[0..{pes - 1}]" if pes > 1 else "PE"
    mac_attrs: dict[str, Any] = {"datawidth": spec.word_bits}
    if spec.pe_array.y > 1:
        mac_attrs["meshX"] = spec.pe_array.x
    mac_local = f"{spec.mac_name}[0..{spec.macs_per_pe - 1}]" if spec.macs_per_pe > 1 else spec.mac_name
    meta: dict[str, Any] = {
        "technology": spec.technology,
        "mascot_name": spec.name,
        "mascot_description": spec.description,
        "mascot_dataflow": spec.dataflow,
        "mascot_clock_ghz": spec.clock_ghz,
        "mascot_area_mm2": spec.area_mm2,
        "mascot_static_power_mw": spec.static_power_mw,
    }
    if spec.vector_lanes is not None:
        meta["mascot_vector_lanes"] = spec.vector_lanes
    arch = {
        "architecture": {
            "version": 0.3,
            "subtree": [
                {
                    "name": "system",
                    "attributes": {"technology": spec.technology},
                    "local": [_storage_component(spec.dram, 1)],
                    "subtree": [
                        {
                            "name": spec.name,
                            "attributes": meta,
                            "local": [_storage_component(lv, lv.instances) for lv in outer],
                            "subtree": [
                                {
                                    "name": pe_node,
                                    "local": [_storage_component(lv, lv.instances // pes) for lv in inner]
                                    + [{"name": mac_local, "class": "intmac", "attributes": mac_attrs}],
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    }
    arch_targets: list[dict] = []
    map_targets: list[dict] = []
    for lv in reversed(spec.levels):
        if set(lv.keep) != set(TENSORS):
            arch_targets.append(
                {"target": lv.name, "type": "bypass", "keep": list(lv.keep), "bypass": [t for t in TENSORS if t not in lv.keep]}
            )
    for c in spec.constraints:
        entry = {k: v for k, v in c.model_dump(exclude={"scope"}).items() if v is not None}
        for k in ("keep", "bypass"):
            if k in entry:
                entry[k] = list(entry[k])
        (map_targets if c.scope == "mapspace" else arch_targets).append(entry)
    constraints: dict[str, Any] = {"architecture_constraints": {"targets": arch_targets}}
    if map_targets:
        constraints["mapspace_constraints"] = {"targets": map_targets}

    def path_of(lv: Any) -> str:
        if lv.kind == "dram":
            return f"system.{lv.name}"
        if lv in outer:
            n = lv.instances
            return f"system.{spec.name}.{lv.name}" + (f"[0..{n - 1}]" if n > 1 else "")
        n = lv.instances // pes
        return f"system.{spec.name}.{pe_node}.{lv.name}" + (f"[0..{n - 1}]" if n > 1 else "")

    mac_path = f"system.{spec.name}.{pe_node}.{mac_local}"
    ert_tables = [
        {
            "name": path_of(lv),
            "actions": [
                {"name": "read", "arguments": None, "energy": lv.read_energy_pj},
                {"name": "write", "arguments": None, "energy": lv.write_energy_pj},
            ],
        }
        for lv in spec.levels
    ]
    ert_tables.append({"name": mac_path, "actions": [{"name": "mac_random", "arguments": None, "energy": spec.mac_energy_pj}]})
    from hwmodel.area import level_area_um2, mac_area_um2

    art_tables = [{"name": path_of(lv), "area": level_area_um2(lv)} for lv in spec.levels]
    art_tables.append(
        {"name": mac_path, "area": spec.mac_area_um2 if spec.mac_area_um2 is not None else mac_area_um2(spec.word_bits)}
    )
    header = f"# {spec.name}: exported by mascot (hwmodel.timeloop_format) in Timeloop v0.3 format\n"
    dump = lambda obj: header + yaml.safe_dump(obj, sort_keys=False, default_flow_style=None, width=110)  # noqa: E731
    return TimeloopExport(
        arch=dump(arch),
        constraints=dump(constraints),
        ert=dump({"ERT": {"version": 0.3, "tables": ert_tables}}),
        art=dump({"ART": {"version": 0.3, "tables": art_tables}}),
    )


def write_timeloop(spec: AcceleratorSpec, out_dir: str | Path, stem: str | None = None) -> dict[str, Path]:
    """Write ``{stem}.arch.yaml``, ``.constraints.yaml``, ``.ERT.yaml``, ``.ART.yaml`` atomically."""
    out = Path(out_dir)
    stem = stem or spec.name
    ex = export_timeloop(spec)
    files = {
        "arch": out / f"{stem}.arch.yaml",
        "constraints": out / f"{stem}.constraints.yaml",
        "ert": out / f"{stem}.ERT.yaml",
        "art": out / f"{stem}.ART.yaml",
    }
    for key, p in files.items():
        atomic_write_text(p, getattr(ex, key))
    return files


def spec_to_yaml(spec: AcceleratorSpec, header: str = "") -> str:
    """Native YAML text of ``spec`` (null fields dropped), for ``import-timeloop -o``."""
    data = spec.model_dump(mode="json", exclude_none=True)
    lines = "".join(f"# {h}\n" for h in header.splitlines()) if header else ""
    return lines + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110)
