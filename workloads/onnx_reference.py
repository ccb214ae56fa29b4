"""An independent MAC count of an ONNX file, to cross-check ``load_onnx``.

Why a second counter: the importer derives MACs from its own per-op shape rules (``onnx_ops``,
``onnx_shapes``); this one trusts only ONNX's shape inference and counts, per MAC node, output
elements × reduction size. Agreement of the two on real networks is the importer's acceptance test
(``tests/test_workloads_onnx_light.py``) and benchmark (``bench/bench_onnx_import.py``).

Conv: |Y| · (C/group)·kH·kW (= |Y| · prod(W.shape[1:])); Gemm: |Y| · K (transA honoured);
MatMul: |Y| · K. Weight shapes come from initializers or from the ConstantOfShape producers
weight-free models use.
"""

from __future__ import annotations

import math
from pathlib import Path

import onnx
from onnx import numpy_helper, shape_inference


def reference_macs(path: str | Path) -> int:
    """MACs of the Conv / Gemm / MatMul nodes of the ONNX file at ``path``, from shape inference alone."""
    model = shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False))
    g = model.graph
    shapes = {t.name: tuple(t.dims) for t in g.initializer}
    for vi in (*g.input, *g.value_info, *g.output):
        shapes.setdefault(vi.name, tuple(d.dim_value for d in vi.type.tensor_type.shape.dim))
    values = {t.name: numpy_helper.to_array(t) for t in g.initializer if t.data_type == onnx.TensorProto.INT64}
    for node in g.node:  # a weight-free model's weight is ConstantOfShape(an int64 shape initializer)
        if node.op_type == "ConstantOfShape" and node.input[0] in values:
            shapes[node.output[0]] = tuple(int(v) for v in values[node.input[0]])
    total = 0
    for node in g.node:
        out = math.prod(shapes[node.output[0]])
        if node.op_type == "Conv":
            total += out * math.prod(shapes[node.input[1]][1:])
        elif node.op_type == "Gemm":
            a = shapes[node.input[0]]
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            total += out * (a[0] if trans_a else a[1])
        elif node.op_type == "MatMul":
            total += out * shapes[node.input[0]][-1]
    return total
