"""An SA spec and a layer in ZigZag's input vocabulary (hardware, mapping and workload YAML).

Why a converter: ZigZag (KU Leuven's ``zigzag-dse``) describes hardware differently from Timeloop.
Its accelerator is an *operational array* (MAC units laid out along ``D1``, ``D2``, ...) and a
memory hierarchy in which every memory names the operands it keeps (``I1`` inputs, ``I2``
weights, ``O`` outputs) and the array dimensions an instance is shared along
(``served_dimensions``). This module derives both from mascot's spec, without ZigZag installed, so
the YAML can be written, inspected and tested anywhere:

* **array dimensions** come from the fan-out chain of the storage levels: walking from DRAM down to
  the MACs, every growth of the instance mesh in X or Y is one array dimension (eyeriss_like:
  ``shared_glb`` 1 → ``DummyBuffer`` 14 in X → the scratchpads 14×12: ``D1 = 14``, ``D2 = 12``);
  MAC units beyond the innermost level's instances (``macs_per_pe``) add a last dimension;
* a level's ``served_dimensions`` are the array dimensions that fan out *below* it; levels that
  keep nothing (Timeloop's ``DummyBuffer``) exist in ZigZag only as those dimensions;
* port bandwidths are ``read_bw`` / ``write_bw`` words per cycle (``None`` = unbounded: a wide
  port), the access granularity (``bandwidth_min``) is one ``block_size`` vector, and the per-access
  cost is scaled so that the energy *per bit* equals mascot's per-vector energy;
* the **spatial mapping hint** per array dimension lists the loop dimensions the spec's spatial
  constraints allow on that fan-out (eyeriss_like row-stationary: ``D1: OX, K`` and
  ``D2: FX, C, K``); without constraints the dataflow's textbook choice is used. ZigZag's own
  spatial generator then picks the unrolling factors, mixing dimensions on one array axis.

Temporal constraints are not carried over: ZigZag's LOMA engine enumerates loop orders and memory
allocations itself (it has no per-level factor constraints), so the comparison is of two mappers
under the same hardware and spatial dataflow, not of one fixed mapping.

Dimension names: mascot (Timeloop) ``N C M R S P Q`` are ZigZag ``B C K FY FX OY OX``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mascot.errors import MascotError
from workloads.layer import Layer

from hwmodel.spec import DIMS, AcceleratorSpec, StorageLevel

ZIGZAG_DIM: dict[str, str] = {"N": "B", "C": "C", "M": "K", "R": "FY", "S": "FX", "P": "OY", "Q": "OX"}
MEM_OPERAND: dict[str, str] = {"Inputs": "I1", "Weights": "I2", "Outputs": "O"}
# The port width given to a level with no bandwidth limit (DRAM in most specs). Wide enough not to
# stall an SA, narrow enough for ZigZag's access counts: it truncates (int) the number of
# port-wide accesses per level, so a very wide port loses small transfers' energy.
UNBOUNDED_WORDS_PER_CYCLE = 64
DRAM_SIZE_BITS = 2**40
EQUATION = "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]"
# loop dimensions per dataflow when the spec has no spatial constraints: (X fan-out, Y fan-out)
DATAFLOW_HINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "row_stationary": (("OX", "OY", "K"), ("FY", "FX", "C", "K")),
    "weight_stationary": (("C", "FX", "FY"), ("K",)),
    "output_stationary": (("OX", "OY"), ("K", "OY")),
    "input_stationary": (("OX", "OY", "C"), ("K",)),
    "custom": (("K", "C", "OX", "OY"), ("K", "C", "OX", "OY")),
}


@dataclass(frozen=True)
class ArrayDim:
    """One operational-array dimension: its size, the level whose fan-out creates it, and its axis."""

    name: str  # D1, D2, ...
    size: int
    parent_level: int  # index (innermost first) of the level whose children the fan-out creates
    axis: str  # "x" or "y" of the instance mesh


def array_dims(spec: AcceleratorSpec) -> list[ArrayDim]:
    """The operational array's dimensions, outermost fan-out first (see the module docstring)."""
    dims: list[ArrayDim] = []
    levels = spec.levels
    for i in range(len(levels) - 1, -1, -1):  # the fan-out below level i, as hwmodel.nest counts it
        px, py = levels[i].mesh_x_resolved, levels[i].mesh_y
        if i == 0:
            cx, cy = spec.pe_array.x, spec.mac_units // spec.pe_array.x
            fan = spec.mac_units // levels[0].instances
        else:
            cx, cy = levels[i - 1].mesh_x_resolved, levels[i - 1].mesh_y
            fan = levels[i - 1].instances // levels[i].instances
        if cx % px == 0 and cy % py == 0 and (cx // px) * (cy // py) == fan:
            fx, fy = cx // px, cy // py
        else:  # meshes that do not nest: one dimension for the whole fan-out
            fx, fy = fan, 1
        for size, axis in ((fx, "x"), (fy, "y")):
            if size > 1:
                dims.append(ArrayDim(f"D{len(dims) + 1}", size, i, axis))
    if not dims:  # a single MAC unit: ZigZag still needs one array dimension
        dims.append(ArrayDim("D1", 1, len(levels) - 1, "x"))
    return dims


def spatial_hints(spec: AcceleratorSpec, dims: list[ArrayDim] | None = None) -> dict[str, list[str]]:
    """Per array dimension, the ZigZag loop dimensions the spec lets that fan-out unroll.

    A spatial constraint on level L describes the fan-out below L: dimensions fixed to 1 are
    excluded; with a ``split``, dimensions before it go to the X fan-out and the rest to Y. A
    fan-out without a constraint takes the dataflow's default choice.
    """
    dims = dims if dims is not None else array_dims(spec)
    merged = spec.merged_constraints("spatial", include_mapspace=False)
    default_x, default_y = DATAFLOW_HINTS[spec.dataflow]
    hints: dict[str, list[str]] = {}
    for d in dims:
        parent = spec.levels[d.parent_level].name
        c = merged.get(parent)
        if c is None:
            hints[d.name] = list(default_x if d.axis == "x" else default_y)
            continue
        order = list(c.permutation) if c.permutation else list(DIMS)
        order += [x for x in DIMS if x not in order]
        if c.split is not None:
            side = order[: c.split] if d.axis == "x" else order[c.split :]
        else:
            side = order
        allowed = [ZIGZAG_DIM[x] for x in side if c.factors.get(x, -1) != 1]
        hints[d.name] = allowed or list(default_x if d.axis == "x" else default_y)
    return hints


def _port_bits(level: StorageLevel, words_per_cycle: float | None) -> tuple[int, int]:
    """(bandwidth_min, bandwidth_max) in bits: one vector access, and the port width per cycle."""
    access = level.access_bits
    if words_per_cycle is None:
        width = max(access, UNBOUNDED_WORDS_PER_CYCLE * level.word_bits)
    else:
        width = max(1, int(round(words_per_cycle * level.word_bits)))
    return min(access, width), width


def hardware_dict(spec: AcceleratorSpec) -> dict[str, Any]:
    """ZigZag's accelerator description (the content of its hardware YAML) for a resolved SA."""
    spec = spec if spec.is_resolved else spec.resolved()
    dims = array_dims(spec)
    memories: dict[str, Any] = {}
    for i, lv in enumerate(spec.levels):
        if not lv.keep:
            continue  # a dummy level: only its fan-out matters, and that is an array dimension
        served = [d.name for d in dims if d.parent_level <= i]  # the fan-outs below this level
        rmin, rmax = _port_bits(lv, lv.read_bw)
        wmin, wmax = _port_bits(lv, lv.write_bw)
        ops = [MEM_OPERAND[t] for t in ("Inputs", "Weights", "Outputs") if t in lv.keep]
        read_alloc = [f"{op}, tl" for op in ops] + (["O, th"] if "O" in ops else [])
        write_alloc = [f"{op}, fh" for op in ops] + (["O, fl"] if "O" in ops else [])
        area_um2 = lv.area_um2 if lv.area_um2 is not None else 0.0
        memories[lv.name] = {
            "size": DRAM_SIZE_BITS if lv.size_bits is None else int(lv.size_bits),
            # ZigZag charges r_cost per access of bandwidth_max bits: scale mascot's per-vector energy
            "r_cost": float(lv.read_energy_pj or 0.0) * rmax / lv.access_bits,
            "w_cost": float(lv.write_energy_pj or 0.0) * wmax / lv.access_bits,
            "area": float(area_um2) * 1e-6,  # mm2 per instance
            "latency": 1,
            "operands": ops,
            "ports": [
                {"name": "r_port_1", "type": "read", "bandwidth_min": rmin, "bandwidth_max": rmax,
                 "allocation": read_alloc},
                {"name": "w_port_1", "type": "write", "bandwidth_min": wmin, "bandwidth_max": wmax,
                 "allocation": write_alloc},
            ],
            "served_dimensions": served,
        }
    return {
        "name": spec.name,
        "memories": memories,
        "operational_array": {
            "unit_energy": float(spec.mac_energy_pj or 0.0),
            "unit_area": float(spec.mac_area_um2 or 0.0) * 1e-6,
            "dimensions": [d.name for d in dims],
            "sizes": [d.size for d in dims],
        },
    }


def mapping_list(spec: AcceleratorSpec) -> list[dict[str, Any]]:
    """ZigZag's mapping file: the spatial hints and operand links for ``default``, ``Conv`` and ``Gemm``.

    The two operator entries repeat the default: ZigZag warns for every layer whose operator has
    no entry of its own.
    """
    hints = spatial_hints(spec)
    return [{"name": name, "spatial_mapping_hint": {k: list(v) for k, v in hints.items()},
             "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}
            for name in ("default", "Conv", "Gemm")]


def workload_list(layer: Layer, word_bits: int = 16, layer_id: int = 0) -> list[dict[str, Any]]:
    """One MAC layer (one group of it) as a ZigZag workload: a convolution in ZigZag's equation form.

    Matrix products are convolutions with ``FY = FX = OX = 1`` (mascot already puts their rows in
    P), so one equation covers both. Outputs and partial sums use the SA's word width, as the other
    backends do.
    """
    if not layer.is_mac:
        raise MascotError(f"layer {layer.name!r} is a vector layer ({layer.op_type}): ZigZag only costs MAC layers")
    g = max(1, layer.groups)
    sizes = {"B": layer.N, "K": layer.M // g, "C": layer.C // g, "OY": layer.P, "OX": layer.Q,
             "FY": layer.R, "FX": layer.S}
    return [{
        "id": layer_id,
        "name": layer.name or f"layer{layer_id}",
        "operator_type": "Conv" if layer.kind.value == "conv" else "Gemm",
        "equation": EQUATION,
        "dimension_relations": [f"ix={layer.stride_w}*ox+{layer.dilation_w}*fx",
                                f"iy={layer.stride_h}*oy+{layer.dilation_h}*fy"],
        "loop_dims": list(sizes),
        "loop_sizes": [int(v) for v in sizes.values()],
        "operand_precision": {"W": word_bits, "I": word_bits, "O": word_bits, "O_final": word_bits},
        "operand_source": {"W": layer_id},
    }]


def write_zigzag(spec: AcceleratorSpec, folder: str | Path, layer: Layer | None = None) -> dict[str, Path]:
    """Write ``hardware.yaml`` and ``mapping.yaml`` (and ``workload.yaml`` for a layer) into ``folder``."""
    from mascot.io import atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "hardware": atomic_write_text(folder / "hardware.yaml", yaml.safe_dump(hardware_dict(spec), sort_keys=False)),
        "mapping": atomic_write_text(folder / "mapping.yaml", yaml.safe_dump(mapping_list(spec), sort_keys=False)),
    }
    if layer is not None:
        files["workload"] = atomic_write_text(
            folder / "workload.yaml", yaml.safe_dump(workload_list(layer, spec.word_bits), sort_keys=False))
    return files
