"""Turn an ONNX model into a weight-free, byte-stable zoo file.

Weights: every floating-point initializer with more than one element (and every integer one with
more than :data:`KEEP_INT_ELEMENTS`) keeps its name, dims and dtype but loses its data, which is
declared as *external data* in a file that is never shipped (``<model>.weights.bin``, with the
offsets and lengths a real weight file would have). This is ONNX's own mechanism for data kept
outside the protobuf, so ``onnx.checker`` accepts the file, shape inference works, and
``onnx.load(path, load_external_data=False)`` (what :func:`workloads.onnx_import.load_onnx` does)
reads it. Small integer tensors (shape vectors, axes, indices) and scalars keep their values:
shape inference needs them. Large ``Constant`` nodes become initializers first, so they are
stripped too.

Stability: doc strings, metadata and exporter version stamps are cleared and ``value_info`` is
dropped (the loader re-infers shapes), so rebuilding with the same library versions gives the
same bytes.
"""

from __future__ import annotations

import math

import onnx
from onnx import TensorProto

#: integer tensors up to this many elements keep their data (the loader tracks ≤ 64-element values)
KEEP_INT_ELEMENTS = 64
_FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
_ITEM_BYTES = {TensorProto.FLOAT: 4, TensorProto.FLOAT16: 2, TensorProto.DOUBLE: 8, TensorProto.BFLOAT16: 2,
               TensorProto.INT64: 8, TensorProto.INT32: 4, TensorProto.INT16: 2, TensorProto.INT8: 1,
               TensorProto.UINT8: 1, TensorProto.BOOL: 1}
_ALIGN = 4096  # what onnx's own external-data writer aligns large tensors to


def _should_strip(t: TensorProto) -> bool:
    n = math.prod(t.dims)
    if t.data_type in _FLOAT_TYPES:
        return n > 1
    return n > KEEP_INT_ELEMENTS


def _clear_data(t: TensorProto) -> None:
    for fld in ("raw_data", "float_data", "double_data", "int32_data", "int64_data", "uint64_data", "string_data"):
        t.ClearField(fld)
    t.ClearField("external_data")


def _constants_to_initializers(graph: onnx.GraphProto) -> None:
    """Replace ``Constant`` nodes holding a strippable tensor by an initializer of the same name."""
    keep = []
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            t = TensorProto()
            t.CopyFrom(node.attribute[0].t)
            if _should_strip(t):
                t.name = node.output[0]
                graph.initializer.append(t)
                continue
        keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)


def strip_weights(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """A weight-free, canonical copy of ``model`` named ``name`` (see the module docstring)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    _constants_to_initializers(g)
    location = f"{name}.weights.bin"
    offset = 0
    for t in g.initializer:
        if not _should_strip(t):
            continue
        _clear_data(t)
        length = math.prod(t.dims) * _ITEM_BYTES.get(t.data_type, 4)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        offset += -(-length // _ALIGN) * _ALIGN
    # initializers listed as graph inputs (old exporters) are not model inputs
    inits = {t.name for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in inits]
    del g.input[:]
    g.input.extend(inputs)
    _canonicalise(m, name)
    return m


def _canonicalise(m: onnx.ModelProto, name: str) -> None:
    g = m.graph
    g.name = name
    g.doc_string = ""
    del g.value_info[:]
    for node in g.node:
        node.doc_string = ""
        del node.metadata_props[:]
    for vi in list(g.input) + list(g.output):
        vi.doc_string = ""
        del vi.metadata_props[:]
    for t in g.initializer:
        t.doc_string = ""
        del t.metadata_props[:]
    del m.metadata_props[:]
    m.producer_name = "mascot.workloads.zoo"
    m.producer_version = "1"
    m.domain = ""
    m.model_version = 1
    # keep only the default-domain opset (the zoo uses no custom ops)
    opsets = [o for o in m.opset_import if o.domain in ("", "ai.onnx")]
    del m.opset_import[:]
    m.opset_import.extend(opsets)


def is_weight_free(model: onnx.ModelProto) -> bool:
    """True when no initializer that :func:`strip_weights` would strip carries data."""
    return all(t.data_location == TensorProto.EXTERNAL and not t.raw_data for t in model.graph.initializer
               if _should_strip(t))


__all__ = ["KEEP_INT_ELEMENTS", "strip_weights", "is_weight_free"]
