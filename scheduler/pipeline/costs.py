"""Build a :class:`~scheduler.pipeline.model.PipelineProblem` from a LayerGraph and an SA spec.

Device figures come from the accelerator spec (``arch_specs/accelerators/edge_tpu.yaml``):

* on-chip parameter memory = the total size of the ``sram`` levels that keep ``Weights``
  (8 MiB on the Edge TPU);
* host-link bandwidth = the ``dram`` level's ``read_bw`` (words/cycle) × word bytes × clock
  (500 MB/s on the Edge TPU); parameters that do not fit stream over the same link, so both
  bandwidths default to it;
* bytes per element = the spec's ``word_bits`` / 8 (int8 on the Edge TPU).

Per-layer compute times come from one of three sources (``compute=``):

* ``"roofline"`` (default): a first-order model of a weight-stationary C×M systolic array, kept
  here so pipelining works without a layer table: a conv/matmul layer takes
  ``N·P·Q·R·S·groups·ceil(C_g/X)·ceil(M_g/Y)`` cycles (``X×Y`` PE array, ``C_g``, ``M_g`` the
  channels per group); a grouped layer may instead map its groups on X,
  ``N·P·Q·R·S·ceil(groups/X)·ceil(M_g/Y)·C_g`` (a depthwise 3×3 then uses all 64 columns),
  and the cheaper of the two counts; a vector layer takes
  ``ceil(max(vector_ops, output elements) / vector_lanes)`` cycles;
* a :class:`hwmodel.tables.LayerTable` (or its Parquet/CSV file): the ``latency_s`` column of
  the rows of this model and SA class, in ``layer_index`` order;
* an explicit array of seconds per layer (``compute_time_s=``), for any other source.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from hwmodel.spec import AcceleratorSpec, load_accelerator
from mascot.errors import MascotError
from scheduler.pipeline.model import PipelineProblem
from workloads.graph import LayerGraph
from workloads.layer import Layer


def device_figures(spec: AcceleratorSpec) -> dict[str, float]:
    """On-chip parameter bytes, host-link bytes/s and bytes per element of an SA spec."""
    param_mem_bytes = sum((lv.size_bits or 0) / 8 * lv.instances for lv in spec.levels
                          if lv.kind == "sram" and "Weights" in lv.keep)
    dram = spec.levels[-1]
    if dram.read_bw is None:
        raise MascotError(f"accelerator {spec.name}: the dram level {dram.name!r} has no read_bw",
                          hint="set read_bw (words/cycle) of the outermost level: it is the host-link bandwidth")
    link = dram.read_bw * dram.word_bits / 8 * spec.clock_ghz * 1e9
    return {"param_mem_bytes": float(param_mem_bytes), "link_bw_bytes_per_s": float(link),
            "bytes_per_element": spec.word_bits / 8}


def roofline_cycles(layer: Layer, spec: AcceleratorSpec) -> int:
    """Cycles of one layer on a weight-stationary ``X×Y`` systolic array (see module doc)."""
    x, y = spec.pe_array.x, spec.pe_array.y * spec.macs_per_pe
    if layer.is_mac:
        cg, mg = layer.C // layer.groups, layer.M // layer.groups
        outer = layer.N * layer.P * layer.Q * layer.R * layer.S
        grouped = outer * layer.groups * math.ceil(cg / x) * math.ceil(mg / y)
        channel_mapped = outer * math.ceil(layer.groups / x) * math.ceil(mg / y) * cg if layer.groups > 1 else grouped
        return int(max(1, min(grouped, channel_mapped)))
    lanes = spec.vector_lanes or spec.mac_units
    work = max(layer.vector_ops, layer.output_elements, 1)
    return int(math.ceil(work / lanes))


def roofline_times_s(graph: LayerGraph, spec: AcceleratorSpec) -> np.ndarray:
    hz = spec.clock_ghz * 1e9
    return np.array([roofline_cycles(layer, spec) / hz for layer in graph.layers])


def table_times_s(graph: LayerGraph, spec: AcceleratorSpec, table: object) -> np.ndarray:
    """``latency_s`` of this model's layers on ``spec.name`` from a LayerTable, frame or file."""
    source = str(table) if isinstance(table, (str, Path)) else "layer table"
    if isinstance(table, (str, Path)):
        from hwmodel.tables import LayerTable

        frame = LayerTable.load(table).frame
    elif isinstance(table, pd.DataFrame):
        frame = table
    else:
        frame = getattr(table, "frame", None)
        if frame is None:
            raise MascotError("compute table must be a LayerTable, a DataFrame or a file path")
    missing = {"model", "layer_index", "sa_class", "latency_s"} - set(frame.columns)
    if missing:
        raise MascotError(f"layer table lacks columns {sorted(missing)}", path=source,
                          hint="build it with `mascot tables build`")
    rows = frame[(frame["model"] == graph.name) & (frame["sa_class"] == spec.name)].sort_values("layer_index")
    if len(rows) != len(graph):
        raise MascotError(
            f"layer table has {len(rows)} rows for model {graph.name!r} on SA class {spec.name!r}, "
            f"the graph has {len(graph)} layers", path=source,
            hint="build the table for this model and SA class")
    return rows["latency_s"].to_numpy(dtype=np.float64)


def problem_from_graph(graph: LayerGraph, spec: AcceleratorSpec | str, n_stages: int,
                       compute: str | object = "roofline", compute_time_s: np.ndarray | None = None,
                       link_bw_bytes_per_s: float | None = None,
                       param_bw_bytes_per_s: float | None = None) -> PipelineProblem:
    """The pipelining problem of ``graph`` on ``n_stages`` devices of class ``spec``."""
    if isinstance(spec, str):
        spec = load_accelerator(spec)
    fig = device_figures(spec)
    layers = graph.layers
    index = graph.index
    if compute_time_s is None:
        if isinstance(compute, str) and compute == "roofline":
            compute_time_s = roofline_times_s(graph, spec)
        else:
            compute_time_s = table_times_s(graph, spec, compute)
    bpe = fig["bytes_per_element"]
    edges = np.array([(index[u], index[v]) for u, v in graph.graph.edges], dtype=np.int64).reshape(-1, 2)
    sources = {name for name in graph.graph.nodes if graph.graph.in_degree(name) == 0}
    host_in = np.array([layer.input_elements * bpe if layer.name in sources else 0.0 for layer in layers])
    link = link_bw_bytes_per_s or fig["link_bw_bytes_per_s"]
    return PipelineProblem(
        compute_time_s=np.asarray(compute_time_s, dtype=np.float64),
        param_bytes=np.array([layer.params * bpe for layer in layers], dtype=np.float64),
        out_bytes=np.array([layer.output_elements * bpe for layer in layers], dtype=np.float64),
        edges=edges, n_stages=n_stages, param_mem_bytes=fig["param_mem_bytes"],
        param_bw_bytes_per_s=param_bw_bytes_per_s or link, link_bw_bytes_per_s=link,
        host_in_bytes=host_in, names=tuple(layer.name for layer in layers), name=graph.name)


def load_graph(model: str | Path) -> LayerGraph:
    """A zoo model by name, or an ONNX file by path."""
    p = Path(model)
    if p.suffix == ".onnx" or p.exists():
        from workloads.onnx_import import load_onnx

        return load_onnx(p)
    try:
        from workloads.zoo import load_model
    except ImportError as exc:  # the zoo package is optional in a broken install
        raise MascotError(f"cannot load zoo model {model!r}: {exc}", hint="give an ONNX file path") from None
    return load_model(str(model))
