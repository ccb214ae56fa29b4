"""A tiny ONNX graph builder for the networks the zoo defines itself (Darknet, DS-CNN).

Darknet's YOLO networks and the MLPerf Tiny keyword-spotting DS-CNN have no pip-installable
definition, and they are plain chains of convolutions; writing them straight as ONNX nodes keeps
the generator free of an exporter (and its version quirks) and makes the output byte-stable.

Weights are declared as initializers with their real dims and dtype but *no data*: they point at an
external-data file that is never shipped (see :mod:`workloads.zoo.strip`), which is exactly what a
weight-free zoo file looks like after :func:`workloads.zoo.strip.strip_weights`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import onnx
from onnx import TensorProto, helper

#: the opset every zoo file is written for (LayerNormalization needs ≥ 17)
ZOO_OPSET = 17


class GraphBuilder:
    """Collect nodes and shape-only initializers; :meth:`model` wraps them in a ModelProto.

    Tensor and node names are derived from a running layer index, so the same sequence of calls
    always yields the same file. Spatial sizes are tracked to keep the builder honest about
    padding and strides (a wrong size raises at build time instead of producing a broken file).
    """

    def __init__(self, name: str, input_name: str, input_shape: Sequence[int]):
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        # the batch dimension is symbolic, so the loader can build the graph for any batch
        self.input = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", *list(input_shape)[1:]])
        self.shapes: dict[str, tuple[int, ...]] = {input_name: tuple(int(d) for d in input_shape)}
        self.outputs: list[str] = []

    # --- primitives --------------------------------------------------------------------
    def weight(self, name: str, dims: Sequence[int]) -> str:
        """A float32 parameter with dims only (its data lives nowhere: the zoo ships no weights)."""
        t = TensorProto()
        t.name = name
        t.data_type = TensorProto.FLOAT
        t.dims.extend(int(d) for d in dims)
        self.initializers.append(t)
        return name

    def node(self, op: str, inputs: Sequence[str], output: str, shape: Sequence[int], **attrs) -> str:
        self.nodes.append(helper.make_node(op, list(inputs), [output], name=output, **attrs))
        self.shapes[output] = tuple(int(d) for d in shape)
        return output

    # --- layers ------------------------------------------------------------------------
    def conv(self, x: str, tag: str, filters: int, kernel: tuple[int, int], stride: int = 1,
             pads: tuple[int, int, int, int] | None = None, groups: int = 1, bias: bool = True) -> str:
        """Conv2d (NCHW); ``pads`` = (top, left, bottom, right), default 'same' for odd kernels."""
        n, c, h, w = self.shapes[x]
        kh, kw = kernel
        if pads is None:
            pads = (kh // 2, kw // 2, kh // 2, kw // 2)
        oh = (h + pads[0] + pads[2] - kh) // stride + 1
        ow = (w + pads[1] + pads[3] - kw) // stride + 1
        inputs = [x, self.weight(f"{tag}.weight", (filters, c // groups, kh, kw))]
        if bias:
            inputs.append(self.weight(f"{tag}.bias", (filters,)))
        return self.node("Conv", inputs, f"{tag}.conv", (n, filters, oh, ow), kernel_shape=[kh, kw],
                         strides=[stride, stride], pads=list(pads), group=groups, dilations=[1, 1])

    def batchnorm(self, x: str, tag: str) -> str:
        c = self.shapes[x][1]
        params = [self.weight(f"{tag}.bn.{p}", (c,)) for p in ("scale", "bias", "mean", "var")]
        return self.node("BatchNormalization", [x, *params], f"{tag}.bn", self.shapes[x], epsilon=1e-5)

    def act(self, x: str, tag: str, kind: str) -> str:
        if kind == "linear":
            return x
        if kind == "leaky":  # Darknet's leaky ReLU slope
            return self.node("LeakyRelu", [x], f"{tag}.leaky", self.shapes[x], alpha=0.1)
        if kind == "relu":
            return self.node("Relu", [x], f"{tag}.relu", self.shapes[x])
        raise ValueError(f"unknown activation {kind!r}")

    def maxpool(self, x: str, tag: str, size: int, stride: int) -> str:
        n, c, h, w = self.shapes[x]
        # Darknet pads on the bottom/right so that out = ceil(in / stride)
        oh, ow = math.ceil(h / stride), math.ceil(w / stride)
        ph, pw = max((oh - 1) * stride + size - h, 0), max((ow - 1) * stride + size - w, 0)
        return self.node("MaxPool", [x], f"{tag}.maxpool", (n, c, oh, ow), kernel_shape=[size, size],
                         strides=[stride, stride], pads=[0, 0, ph, pw])

    def space_to_depth(self, x: str, tag: str, block: int) -> str:
        n, c, h, w = self.shapes[x]
        return self.node("SpaceToDepth", [x], f"{tag}.reorg", (n, c * block * block, h // block, w // block),
                         blocksize=block)

    def concat(self, xs: Sequence[str], tag: str) -> str:
        shapes = [self.shapes[x] for x in xs]
        n, _, h, w = shapes[0]
        return self.node("Concat", list(xs), f"{tag}.concat", (n, sum(s[1] for s in shapes), h, w), axis=1)

    def global_avgpool(self, x: str, tag: str) -> str:
        n, c = self.shapes[x][:2]
        return self.node("GlobalAveragePool", [x], f"{tag}.gap", (n, c, 1, 1))

    def flatten(self, x: str, tag: str) -> str:
        n = self.shapes[x][0]
        return self.node("Flatten", [x], f"{tag}.flatten", (n, math.prod(self.shapes[x][1:])), axis=1)

    def gemm(self, x: str, tag: str, units: int) -> str:
        n, k = self.shapes[x]
        w = self.weight(f"{tag}.weight", (units, k))
        b = self.weight(f"{tag}.bias", (units,))
        return self.node("Gemm", [x, w, b], f"{tag}.gemm", (n, units), transB=1)

    def softmax(self, x: str, tag: str) -> str:
        return self.node("Softmax", [x], f"{tag}.softmax", self.shapes[x], axis=-1)

    # --- result ------------------------------------------------------------------------
    def model(self, outputs: Sequence[str], doc: str) -> onnx.ModelProto:
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["batch", *list(self.shapes[o])[1:]])
                for o in outputs]
        graph = helper.make_graph(self.nodes, self.name, [self.input], outs, initializer=self.initializers)
        model = helper.make_model(graph, producer_name="mascot.workloads.zoo",
                                  opset_imports=[helper.make_opsetid("", ZOO_OPSET)])
        model.ir_version = 8
        model.doc_string = doc
        return model
