"""ONNX file → :class:`~workloads.graph.LayerGraph`.

``load_onnx`` reads the protobuf without external data (weights are never needed: only their
shapes, which initializers, graph inputs, or ``Constant``/``ConstantOfShape`` producers carry),
checks the graph (every tensor produced once, no dangling reference, no cycle), fixes the model
inputs' symbolic dimensions, runs ONNX shape inference with data propagation, fills the shapes it
could not infer with :func:`workloads.onnx_shapes.fill_gaps`, and hands the nodes to
:func:`workloads.onnx_build.build_layers` (fusion and contraction rules are documented there;
per-op vector-work estimates in :mod:`workloads.onnx_ops`).

Model inputs vs weights: a graph input that is not an initializer is a *model input* unless every
use of it is a weight or parameter slot (a Conv weight, a BatchNormalization statistic, a Reshape
shape, ...): weight-stripped files that declare their weights as graph inputs therefore work.
"""

from __future__ import annotations

import heapq
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import onnx
from onnx import shape_inference

from mascot.errors import MascotError
from workloads.graph import LayerGraph
from workloads.onnx_build import build_layers
from workloads.onnx_ops import CONTRACTED_OPS, HANDLERS, PARAM_SLOTS, WEIGHT_SLOTS
from workloads.onnx_shapes import SMALL_CONST_ELEMENTS, Shape, collect_shapes, fill_gaps, small_constants

_STANDARD_DOMAINS = ("", "ai.onnx")
#: dims with these names (any case) are the batch dimension wherever they appear
_BATCH_NAME = re.compile(r"^(n|b|bs|batch|batch_?size|.*batch.*)$", re.IGNORECASE)


class UnknownOperatorWarning(UserWarning):
    """Operators mascot does not model were counted as vector layers sized by their outputs."""


def _read(path: Path) -> onnx.ModelProto:
    if not path.exists():
        raise MascotError("file not found", path=path, hint="give the path of an .onnx file")
    if not path.is_file():
        raise MascotError("not a regular file", path=path, hint="give the path of an .onnx file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types on garbage
        raise MascotError(f"not a readable ONNX model ({type(exc).__name__}: {exc})", path=path,
                          hint="the file is truncated or not an ONNX protobuf; export it again") from None
    if not model.HasField("graph") or len(model.graph.node) == 0:
        raise MascotError("the file holds no ONNX graph nodes", path=path,
                          hint="the file is truncated or not an ONNX model; export it again")
    if len(model.functions):
        try:
            model = onnx.inliner.inline_local_functions(model)
        except Exception as exc:  # noqa: BLE001
            raise MascotError(f"cannot inline the model's local functions ({exc})", path=path) from None
    return model


def _check_text(graph: onnx.GraphProto, path: Path) -> None:
    """Names that are not valid UTF-8 come back from protobuf as bytes: a corrupted file."""
    strings = [graph.name]
    for node in graph.node:
        strings += [node.name, node.op_type, node.domain, *node.input, *node.output]
    for coll in (graph.input, graph.output, graph.value_info, graph.initializer):
        strings += [x.name for x in coll]
    if not all(isinstance(x, str) for x in strings):
        raise MascotError("the file holds names that are not valid UTF-8", path=path,
                          hint="the file is corrupted; export it again")


def _label(node: onnx.NodeProto, idx: int) -> str:
    return node.name or f"#{idx} {node.op_type}"


def _topo_order(graph: onnx.GraphProto, path: Path) -> list[int]:
    """Node indices in a stable topological order; errors for dangling tensors and cycles."""
    nodes = graph.node
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | \
        {t.values.name for t in graph.sparse_initializer}
    producer: dict[str, int] = {}
    for idx, node in enumerate(nodes):
        for o in node.output:
            if not o:
                continue
            if o in producer or o in available:
                raise MascotError(f"tensor '{o}' is produced twice (node '{_label(node, idx)}')", path=path,
                                  hint="every ONNX tensor must have exactly one producer; the file is malformed")
            producer[o] = idx
    waiting = [0] * len(nodes)
    users: list[list[int]] = [[] for _ in nodes]
    dangling = []
    for idx, node in enumerate(nodes):
        for i in set(node.input):
            if not i or i in available:
                continue
            if i not in producer:
                dangling.append(f"'{i}' (read by node '{_label(node, idx)}')")
                continue
            waiting[idx] += 1
            users[producer[i]].append(idx)
    if dangling:
        raise MascotError(f"tensors used but never defined: {', '.join(dangling[:10])}"
                          + (f" and {len(dangling) - 10} more" if len(dangling) > 10 else ""), path=path,
                          hint="they are neither graph inputs, initializers nor node outputs; the file is malformed")
    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        idx = heapq.heappop(ready)
        order.append(idx)
        for u in users[idx]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    if len(order) < len(nodes):
        stuck = [_label(nodes[i], i) for i, w in enumerate(waiting) if w > 0]
        raise MascotError(f"the graph has a cycle through nodes {', '.join(stuck[:10])}"
                          + (f" and {len(stuck) - 10} more" if len(stuck) > 10 else ""), path=path,
                          hint="ONNX graphs must be acyclic; the file is malformed")
    return order


def _model_inputs(graph: onnx.GraphProto) -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    """(model inputs, weight inputs) among the graph inputs that are not initializers."""
    inits = {t.name for t in graph.initializer} | {t.values.name for t in graph.sparse_initializer}
    uses: dict[str, list[bool]] = {}
    for node in graph.node:
        slots = WEIGHT_SLOTS.get(node.op_type, ()) + PARAM_SLOTS.get(node.op_type, ())
        for k, i in enumerate(node.input):
            if i:
                uses.setdefault(i, []).append(k in slots)
    data, weights = [], []
    for vi in graph.input:
        if vi.name in inits or vi.name not in uses:
            continue
        (weights if all(uses[vi.name]) else data).append(vi)
    return data, weights


def _resolve_inputs(graph: onnx.GraphProto, input_shapes: Mapping[str, Sequence[int]], batch: int,
                    path: Path) -> dict[str, Shape]:
    """Write concrete dims into the model's inputs; return the model inputs' final shapes."""
    data, weights = _model_inputs(graph)
    known = {vi.name for vi in data + weights}
    bad = [n for n in input_shapes if n not in known]
    if bad:
        raise MascotError(f"--input-shape names {bad}, which are not inputs of the model", path=path,
                          hint=f"the model inputs are: {', '.join(vi.name for vi in data) or '(none)'}")
    resolved: dict[str, Shape] = {}
    data_names = {vi.name for vi in data}
    problems = []
    for vi in data + weights:
        is_data = vi.name in data_names
        tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if tt is None:
            problems.append(f"'{vi.name}' is not a tensor")
            continue
        if vi.name in input_shapes:
            try:
                given = tuple(int(d) for d in input_shapes[vi.name])
            except (TypeError, ValueError):
                problems.append(f"the shape given for '{vi.name}' ({input_shapes[vi.name]!r}) is not a list of integers")
                continue
            if any(d < 1 for d in given):
                problems.append(f"--input-shape {vi.name}={','.join(map(str, given))} has a non-positive dim")
                continue
            if tt.HasField("shape") and len(tt.shape.dim) != len(given):
                problems.append(f"'{vi.name}' has rank {len(tt.shape.dim)} but --input-shape gives {len(given)} dims")
                continue
            dims = list(given)
        elif not tt.HasField("shape"):
            problems.append(f"'{vi.name}' has no shape; pass --input-shape {vi.name}=d0,d1,...")
            continue
        else:
            dims = []
            for k, d in enumerate(tt.shape.dim):
                if d.HasField("dim_value") and d.dim_value > 0:
                    dims.append(int(d.dim_value))
                elif is_data and (k == 0 or (d.HasField("dim_param") and _BATCH_NAME.match(d.dim_param))):
                    dims.append(batch)
                else:
                    what = (f"'{d.dim_param}'" if d.HasField("dim_param")
                            else str(d.dim_value) if d.HasField("dim_value") else "unknown")
                    problems.append(f"'{vi.name}' dim {k} is {what}; pass --input-shape {vi.name}="
                                    + ",".join(str(x.dim_value) if x.dim_value > 0 else "d" + str(j)
                                               for j, x in enumerate(tt.shape.dim)))
                    dims = []
                    break
            if not dims and len(tt.shape.dim):
                continue
        tt.ClearField("shape")
        for d in dims:
            tt.shape.dim.add().dim_value = d
        if is_data:
            resolved[vi.name] = tuple(dims)
    if problems:
        raise MascotError("cannot fix the model input shapes: " + "; ".join(problems), path=path,
                          hint="give each input's full shape with --input-shape NAME=d0,d1,... "
                               "(input_shapes={'NAME': (d0, d1, ...)} in Python); the batch dim defaults to --batch")
    return resolved


def _drop_symbolic_annotations(graph: onnx.GraphProto) -> None:
    """Forget declared shapes with symbolic dims so inference replaces them with concrete ones."""
    keep = [vi for vi in graph.value_info if _concrete(vi)]
    del graph.value_info[:]
    graph.value_info.extend(keep)
    for vi in graph.output:
        if vi.type.HasField("tensor_type") and not _concrete(vi):
            vi.type.tensor_type.ClearField("shape")


def _drop_weight_data(graph: onnx.GraphProto) -> None:
    """Forget the data of large initializers: only their dims matter, and inference copies the model.

    Keeps big models (even above protobuf's 2 GB serialisation limit) cheap to infer; small integer
    tensors (shape vectors, axes) keep their values because shape inference reads them.
    """
    for t in graph.initializer:
        if t.data_location != onnx.TensorProto.EXTERNAL and math.prod(t.dims) > SMALL_CONST_ELEMENTS:
            for fld in ("raw_data", "float_data", "double_data", "int32_data", "int64_data", "uint64_data",
                        "string_data"):
                t.ClearField(fld)


def _concrete(vi: onnx.ValueInfoProto) -> bool:
    tt = vi.type.tensor_type
    return tt.HasField("shape") and all(d.HasField("dim_value") and d.dim_value >= 0 for d in tt.shape.dim)


def _layer_names(nodes: list[onnx.NodeProto]) -> list[str]:
    names, seen = [], set()
    for idx, node in enumerate(nodes):
        name = node.name or f"{node.op_type}_{idx}"
        base, k = name, 1
        while name in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name)
        names.append(name)
    return names


def load_onnx(path: str | Path, input_shapes: Mapping[str, Sequence[int]] | None = None, batch: int = 1,
              allow_unknown: bool = False) -> LayerGraph:
    """Load an ONNX model as a :class:`LayerGraph` of canonical layers.

    ``input_shapes`` maps model input names to full shapes (overriding what the file declares);
    symbolic batch dims (the first dim of a model input, or a dim named like ``batch`` / ``N``)
    become ``batch``; any other symbolic dim is an error asking for ``--input-shape``. Operators
    mascot does not model are an error listing all of them, unless ``allow_unknown``, which counts
    them as vector layers sized by their outputs and emits an :class:`UnknownOperatorWarning`.
    Every problem with the file raises :class:`~mascot.errors.MascotError`.
    """
    path = Path(path)
    if int(batch) < 1:
        raise MascotError(f"batch must be ≥ 1, got {batch}", path=path)
    model = _read(path)
    graph = model.graph
    _check_text(graph, path)
    order = _topo_order(graph, path)
    in_shapes = _resolve_inputs(graph, dict(input_shapes or {}), int(batch), path)
    if not in_shapes:
        raise MascotError("the model has no input that any node reads", path=path,
                          hint="a model without run-time inputs computes only constants; export it with its inputs")
    _drop_symbolic_annotations(graph)
    _drop_weight_data(graph)
    try:
        model = shape_inference.infer_shapes(model, check_type=False, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises InferenceError, ValidationError, RuntimeError...
        raise MascotError(f"ONNX shape inference failed: {exc}", path=path,
                          hint="the shapes in the file contradict each other; check the model with "
                               "onnx.checker.check_model(..., full_check=True)") from None
    graph = model.graph
    nodes = [graph.node[i] for i in order]

    act: set[str] = set(in_shapes)
    consumers: dict[str, int] = {}
    unknown: list[onnx.NodeProto] = []
    for node in nodes:
        for i in node.input:
            if i:
                consumers[i] = consumers.get(i, 0) + 1
        if node.op_type in ("Shape", "Size") and node.domain in _STANDARD_DOMAINS:
            continue  # static shapes: their outputs are constants
        if any(i in act for i in node.input if i):
            act.update(o for o in node.output if o)
            std = node.domain in _STANDARD_DOMAINS
            if not std or (node.op_type not in HANDLERS and node.op_type not in CONTRACTED_OPS):
                unknown.append(node)
    for o in graph.output:
        consumers[o.name] = consumers.get(o.name, 0) + 1
    if unknown and not allow_unknown:
        listed = ", ".join(f"'{n.name or '(unnamed)'}' ({(n.domain + '.') if n.domain not in _STANDARD_DOMAINS else ''}"
                           f"{n.op_type})" for n in unknown)
        raise MascotError(f"unsupported operators in {len(unknown)} node(s): {listed}", path=path,
                          hint="pass --allow-unknown (allow_unknown=True) to count them as vector layers sized by "
                               "their outputs")
    unknown_ids = {id(n) for n in unknown}

    shapes = collect_shapes(graph)
    assumed: list[str] = []
    if any(o and o not in shapes for n in nodes for o in n.output):
        assumed = fill_gaps(nodes, shapes, small_constants(graph), unknown_ids)
    if unknown:
        ops = sorted({n.op_type for n in unknown})
        msg = (f"{path}: {len(unknown)} node(s) with operators mascot does not model ({', '.join(ops)}) are counted "
               "as vector layers sized by their outputs")
        if assumed:
            msg += f"; the shape of {len(assumed)} of their outputs was unknown and assumed equal to their first input"
        warnings.warn(msg, UnknownOperatorWarning, stacklevel=2)

    layers, edges = build_layers(nodes, _layer_names(nodes), shapes, act, consumers, unknown_ids, str(path))
    if not layers:
        raise MascotError("no layer does run-time work on the model inputs", path=path,
                          hint="the graph only reshapes its inputs; nothing to schedule")
    return LayerGraph.from_layers(path.stem, layers, edges, input_shapes=in_shapes, source=str(path))
