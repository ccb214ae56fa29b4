"""ONNX operator → :class:`~workloads.layer.Layer` handlers, and the vector-work estimates.

Each handler looks at one node whose inputs include at least one activation (nodes computing on
constants only are folded away by the builder) and returns a :class:`Draft` of the layer, or
``None`` when the op moves no data and is contracted away.

Vector work (``vector_ops``) is an *estimate* of elementary operations a vector unit executes, so
that a cost model never sees these layers as free. The rule is "elements × operations per
element", with these per-element costs (tables below):

* element-wise: 1 for simple arithmetic / comparisons / Relu, 2 for LeakyRelu/PRelu/Clip, 3-5 for
  piece-wise or short-formula activations (HardSigmoid, HardSwish, Elu, Selu, Softplus), 4 for a
  transcendental (exp, log, sqrt, reciprocal, erf, tanh, sigmoid, sin, cos), 8-9 for Gelu/Mish;
  variadic ops (Sum, Max, Min, Mean) count one op per extra operand;
* normalisation per element: BatchNormalization 2 (scale, shift), Layer/Instance/Group norm 8
  (mean, variance, normalise, scale, shift), LRN ``2·size + 5``; Softmax 8 (max, subtract, exp,
  sum, divide), LogSoftmax 9;
* reductions: 1 per input element (+ a per-output finish: mean divide 1, sqrt/log 4);
* pooling: kernel area per output element (+1 for the average's divide); global pooling: 1 per
  input element (+1 per output for the average);
* data movement (Concat, Split, Slice, Gather, Pad, Tile, moving Transpose/Expand,
  Space/DepthToSpace, Scatter): 1 per output element;
* Resize: per output element 1 (nearest), ``2^r`` (linear), ``4^r`` (cubic), r = resized axes;
* an unknown op accepted with ``allow_unknown``: 1 per output element.

A convolution's or Gemm's own bias initialises the accumulator and adds no vector ops.
Constant operands of vector layers with more than one element (normalisation scale/shift, bias
tensors, embedding tables, PRelu slopes) count as their weights; scalars are immediates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper

from mascot.errors import MascotError
from workloads.layer import Layer, LayerKind
from workloads.onnx_shapes import Shape

UNARY_COST: dict[str, int] = {
    "Relu": 1, "ThresholdedRelu": 1, "Neg": 1, "Abs": 1, "Floor": 1, "Ceil": 1, "Round": 1, "Sign": 1,
    "Not": 1, "IsNaN": 1, "IsInf": 1, "LeakyRelu": 2, "PRelu": 2, "Clip": 2, "DequantizeLinear": 2,
    "HardSigmoid": 3, "Elu": 3, "Softsign": 3, "QuantizeLinear": 3, "HardSwish": 4, "Selu": 4, "Celu": 4,
    "Sigmoid": 4, "Tanh": 4, "Erf": 4, "Exp": 4, "Log": 4, "Sqrt": 4, "Reciprocal": 4, "Sin": 4, "Cos": 4,
    "Softplus": 5, "Swish": 5, "Gelu": 8, "Mish": 9,
}
BINARY_COST: dict[str, int] = {
    "Add": 1, "Sub": 1, "Mul": 1, "Div": 1, "Max": 1, "Min": 1, "Sum": 1, "Mean": 1, "Where": 1, "Equal": 1,
    "Less": 1, "Greater": 1, "LessOrEqual": 1, "GreaterOrEqual": 1, "And": 1, "Or": 1, "Xor": 1,
    "BitShift": 1, "Pow": 4, "Mod": 4,
}
NORM_COST: dict[str, int] = {
    "BatchNormalization": 2, "LayerNormalization": 8, "InstanceNormalization": 8, "GroupNormalization": 8,
    "MeanVarianceNormalization": 8, "LpNormalization": 4, "Softmax": 8, "LogSoftmax": 9, "Hardmax": 2,
}
#: (ops per input element, ops per output element)
REDUCE_COST: dict[str, tuple[int, int]] = {
    "ReduceSum": (1, 0), "ReduceMean": (1, 1), "ReduceMax": (1, 0), "ReduceMin": (1, 0), "ReduceProd": (1, 0),
    "ReduceL1": (2, 0), "ReduceL2": (2, 4), "ReduceSumSquare": (2, 0), "ReduceLogSum": (1, 4),
    "ReduceLogSumExp": (5, 4), "ArgMax": (1, 0), "ArgMin": (1, 0), "CumSum": (1, 0), "TopK": (2, 0),
}
MOVE_OPS = frozenset({
    "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Pad", "Tile", "SpaceToDepth",
    "DepthToSpace", "ScatterND", "ScatterElements", "OneHot", "Trilu", "ReverseSequence", "Compress",
})
POOL_OPS = frozenset({"MaxPool", "AveragePool", "LpPool"})
GLOBAL_POOL_OPS = frozenset({"GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool"})
#: ops removed without a trace (their dependencies are kept); Transpose/Expand only when they move no data
CONTRACTED_OPS = frozenset({
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Cast", "CastLike", "Shape", "Size",
    "Constant", "ConstantOfShape", "Optional", "OptionalGetElement", "EyeLike", "Range",
})
#: input slots that hold weights (used to tell weight graph inputs from model inputs)
WEIGHT_SLOTS: dict[str, tuple[int, ...]] = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "ConvInteger": (1, 3), "QLinearConv": (3, 4, 5, 8), "Gemm": (1, 2),
    "BatchNormalization": (1, 2, 3, 4), "LayerNormalization": (1, 2), "InstanceNormalization": (1, 2),
    "GroupNormalization": (1, 2), "PRelu": (1,),
}
#: input slots that hold shape vectors, axes, scales and other small parameters
PARAM_SLOTS: dict[str, tuple[int, ...]] = {
    "Reshape": (1,), "Expand": (1,), "Tile": (1,), "ConstantOfShape": (0,), "Slice": (1, 2, 3, 4),
    "Pad": (1, 2, 3), "Resize": (1, 2, 3), "Upsample": (1,), "Unsqueeze": (1,), "Squeeze": (1,), "Split": (1,),
    "Clip": (1, 2), "TopK": (1,), "ReduceSum": (1,), "ReduceMean": (1,), "ReduceMax": (1,), "ReduceMin": (1,),
    "ReduceProd": (1,), "ReduceL1": (1,), "ReduceL2": (1,), "ReduceSumSquare": (1,), "ReduceLogSum": (1,),
    "ReduceLogSumExp": (1,), "CumSum": (1,), "OneHot": (1, 2),
}
#: vector layers whose constant operands in these slots are weights (parameters)
VECTOR_WEIGHT_SLOTS: dict[str, tuple[int, ...]] = {
    "BatchNormalization": (1, 2), "LayerNormalization": (1, 2), "InstanceNormalization": (1, 2),
    "GroupNormalization": (1, 2), "PRelu": (1,), "Gather": (0,), "Where": (1, 2),
    **{op: (0, 1) for op in BINARY_COST if op not in ("Where",)},
}
CONV_SLOTS: dict[str, tuple[int, int, int | None]] = {"Conv": (0, 1, 2), "ConvInteger": (0, 1, None),
                                                      "QLinearConv": (0, 3, 8)}
MATMUL_SLOTS: dict[str, tuple[int, int]] = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}


@dataclass
class Draft:
    """A layer under construction: mutable while the builder fuses ops into it."""

    name: str
    op_type: str
    kind: LayerKind
    dims: dict[str, int] = field(default_factory=dict)
    input_elements: int = 0
    output_elements: int = 0
    weight_elements: int = 0
    vector_ops: int = 0
    weights_are_activations: bool = False
    fused: list[str] = field(default_factory=list)

    def freeze(self) -> Layer:
        return Layer(name=self.name, op_type=self.op_type, kind=self.kind, **self.dims,
                     input_elements=self.input_elements, output_elements=self.output_elements,
                     weight_elements=self.weight_elements, vector_ops=self.vector_ops,
                     weights_are_activations=self.weights_are_activations, fused=tuple(self.fused))


class NodeView:
    """One node with its shapes and which inputs are activations; errors name the node and file."""

    def __init__(self, node: onnx.NodeProto, name: str, shapes: dict[str, Shape], act: set[str], path: str):
        self.node, self.name, self.op = node, name, node.op_type
        self._shapes, self._act, self.path = shapes, act, path

    def fail(self, message: str, hint: str | None = None) -> MascotError:
        return MascotError(f"node '{self.name}' ({self.op}): {message}", path=self.path, hint=hint)

    def has(self, i: int) -> bool:
        return i < len(self.node.input) and bool(self.node.input[i])

    def is_act(self, i: int) -> bool:
        return self.has(i) and self.node.input[i] in self._act

    def act_inputs(self) -> list[int]:
        return [i for i in range(len(self.node.input)) if self.is_act(i)]

    def known(self, tensor: str) -> bool:
        return tensor in self._shapes

    def _get(self, tensor: str, what: str) -> Shape:
        s = self._shapes.get(tensor)
        if s is None:
            raise self.fail(f"the shape of {what} '{tensor}' is unknown after shape inference",
                            hint="check the model with onnx.checker.check_model(..., full_check=True); give every "
                                 "model input a concrete shape (--input-shape NAME=d0,d1,...)")
        return s

    def shape(self, i: int) -> Shape:
        if not self.has(i):
            raise self.fail(f"input {i} is missing", hint="the operator needs it; the file is malformed")
        return self._get(self.node.input[i], f"input {i}")

    def out_shape(self, i: int = 0) -> Shape:
        if i >= len(self.node.output) or not self.node.output[i]:
            raise self.fail(f"output {i} is missing", hint="the file is malformed")
        return self._get(self.node.output[i], f"output {i}")

    def elements(self, i: int) -> int:
        return math.prod(self.shape(i))

    def elements_out(self) -> int:
        return math.prod(self.out_shape())

    def attr(self, name: str, default=None):
        for a in self.node.attribute:
            if a.name == name:
                value = helper.get_attribute_value(a)
                if value is None:
                    raise self.fail(f"attribute '{name}' has no value of a known type", hint="the file is malformed")
                return value
        return default

    def int_attr(self, name: str, default: int) -> int:
        value = self.attr(name, default)
        if not isinstance(value, int):
            raise self.fail(f"attribute '{name}' must be an integer, got {value!r}", hint="the file is malformed")
        return value

    def ints_attr(self, name: str, default: list[int]) -> list[int]:
        value = self.attr(name, default)
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, int) for x in value):
            raise self.fail(f"attribute '{name}' must be a list of integers, got {value!r}",
                            hint="the file is malformed")
        return list(value)

    def rank(self, i: int, allowed: tuple[int, ...], what: str) -> Shape:
        s = self.shape(i)
        if len(s) not in allowed:
            raise self.fail(f"{what} (input {i}) has rank {len(s)} {list(s)}, expected rank "
                            f"{' or '.join(map(str, allowed))}", hint="the file is malformed or the op is misused")
        return s


def _positive(v: NodeView, name: str, values: list[int]) -> list[int]:
    values = [int(x) for x in values]
    if any(x < 1 for x in values):
        raise v.fail(f"attribute {name}={values} must be positive")
    return values


def _strides_dilations(v: NodeView, nsp: int) -> tuple[list[int], list[int]]:
    """A sliding-window op's ``strides`` and ``dilations`` (default 1), checked: positive, one per spatial axis."""
    strides = _positive(v, "strides", v.ints_attr("strides", [1] * nsp))
    dil = _positive(v, "dilations", v.ints_attr("dilations", [1] * nsp))
    if len(strides) != nsp or len(dil) != nsp:
        raise v.fail(f"strides {strides} / dilations {dil} must have {nsp} entries")
    return strides, dil


def _spatial_dims(v: NodeView, k: list[int], out: Shape, strides: list[int], dil: list[int]) -> dict[str, int]:
    """Map 1-D/2-D/3-D spatial sizes to Timeloop R, S, P, Q (3-D: depth folded into R and P)."""
    if len(k) == 1:
        return dict(R=1, S=k[0], P=1, Q=out[0], stride_w=strides[0], dilation_w=dil[0])
    if len(k) == 2:
        return dict(R=k[0], S=k[1], P=out[0], Q=out[1], stride_h=strides[0], stride_w=strides[1],
                    dilation_h=dil[0], dilation_w=dil[1])
    return dict(R=math.prod(k[:-1]), S=k[-1], P=math.prod(out[:-1]), Q=out[-1], stride_h=strides[-2],
                stride_w=strides[-1], dilation_h=dil[-2], dilation_w=dil[-1])


def conv(v: NodeView) -> Draft:
    xi, wi, bi = CONV_SLOTS[v.op]
    x = v.rank(xi, (3, 4, 5), "the data tensor")
    w = v.rank(wi, (len(x),), "the weight tensor")
    y = v.out_shape()
    nsp = len(x) - 2
    g = v.int_attr("group", 1)
    if g < 1 or w[1] * g != x[1] or w[0] % g or len(y) != len(x) or y[1] != w[0]:
        raise v.fail(f"inconsistent shapes: input {list(x)}, weight {list(w)}, output {list(y)}, group={g}",
                     hint="weight must be [M, C/group, kH, kW] with M divisible by group")
    strides, dil = _strides_dilations(v, nsp)
    bias = math.prod(v.shape(bi)) if bi is not None and v.has(bi) else 0
    dims = dict(N=x[0], C=x[1], M=w[0], groups=g, **_spatial_dims(v, list(w[2:]), y[2:], strides, dil))
    return Draft(v.name, v.op, LayerKind.CONV, dims, input_elements=math.prod(x), output_elements=math.prod(y),
                 weight_elements=math.prod(w) + bias, weights_are_activations=v.is_act(wi))


def conv_transpose(v: NodeView) -> Draft:
    """ConvTranspose as the equivalent direct convolution over the zero-inserted, padded input.

    That convolution has stride 1, the same kernel, dilation and groups, C = the input channels,
    M = the output channels and P×Q = the output size, so its MAC count
    ``N·M·P·Q·(C/g)·R·S`` includes the multiplications by inserted zeros (about stride² times the
    useful work): that is what a direct-convolution accelerator executes.
    """
    x = v.rank(0, (3, 4, 5), "the data tensor")
    w = v.rank(1, (len(x),), "the weight tensor")
    y = v.out_shape()
    nsp = len(x) - 2
    g = v.int_attr("group", 1)
    if g < 1 or w[0] != x[1] or x[1] % g or len(y) != len(x) or y[1] != w[1] * g:
        raise v.fail(f"inconsistent shapes: input {list(x)}, weight {list(w)}, output {list(y)}, group={g}",
                     hint="ConvTranspose weight must be [C, M/group, kH, kW]")
    dil = _positive(v, "dilations", v.ints_attr("dilations", [1] * nsp))
    if len(dil) != nsp:
        raise v.fail(f"dilations {dil} must have {nsp} entries")
    bias = math.prod(v.shape(2)) if v.has(2) else 0
    dims = dict(N=x[0], C=x[1], M=y[1], groups=g, **_spatial_dims(v, list(w[2:]), y[2:], [1] * nsp, dil))
    return Draft(v.name, v.op, LayerKind.CONV, dims, input_elements=math.prod(x), output_elements=math.prod(y),
                 weight_elements=math.prod(w) + bias, weights_are_activations=v.is_act(1))


def _matmul_draft(v: NodeView, batch: int, rows: int, k: int, cols: int, a_i: int, b_i: int,
                  extra_weights: int = 0) -> Draft:
    """out[batch, rows, cols] = A[batch, rows, k] @ B[batch, k, cols] → N=batch, P=rows, C=k, M=cols.

    When only A is constant (``W @ x``) the problem is transposed so the constant is the weight.
    """
    a_act, b_act = v.is_act(a_i), v.is_act(b_i)
    a_el, b_el = v.elements(a_i), v.elements(b_i)
    if b_act and not a_act:
        rows, cols, a_el, b_el = cols, rows, b_el, a_el
    dims = dict(N=batch, C=k, M=cols, P=rows)
    return Draft(v.name, v.op, LayerKind.MATMUL, dims, input_elements=a_el, output_elements=v.elements_out(),
                 weight_elements=b_el + extra_weights, weights_are_activations=a_act and b_act)


def gemm(v: NodeView) -> Draft:
    a = v.rank(0, (2,), "A")
    b = v.rank(1, (2,), "B")
    rows, k = (a[1], a[0]) if v.int_attr("transA", 0) else (a[0], a[1])
    k2, cols = (b[1], b[0]) if v.int_attr("transB", 0) else (b[0], b[1])
    if k != k2:
        raise v.fail(f"A {list(a)} and B {list(b)} disagree on the reduction size ({k} vs {k2})",
                     hint="check transA/transB")
    bias = math.prod(v.shape(2)) if v.has(2) and not v.is_act(2) else 0
    return _matmul_draft(v, 1, rows, k, cols, 0, 1, bias)


def matmul(v: NodeView) -> Draft:
    ai, bi = MATMUL_SLOTS[v.op]
    a, b = list(v.shape(ai)), list(v.shape(bi))
    if not a or not b:
        raise v.fail("MatMul operands must have rank ≥ 1")
    a2 = [1] + a if len(a) == 1 else a
    b2 = b + [1] if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise v.fail(f"operands {a} and {b} disagree on the reduction size ({a2[-1]} vs {b2[-2]})")
    try:
        batch = math.prod(np.broadcast_shapes(tuple(a2[:-2]), tuple(b2[:-2])))
    except ValueError:
        raise v.fail(f"batch dims of {a} and {b} do not broadcast") from None
    return _matmul_draft(v, batch, a2[-2], a2[-1], b2[-1], ai, bi)


def _vector(v: NodeView, ops: int, out_elements: int | None = None, dims: dict[str, int] | None = None) -> Draft:
    act = v.act_inputs()
    weights = 0
    for i in VECTOR_WEIGHT_SLOTS.get(v.op, ()):
        if v.has(i) and not v.is_act(i):
            n = v.elements(i)
            weights += n if n > 1 else 0
    out = v.elements_out() if out_elements is None else out_elements
    return Draft(v.name, v.op, LayerKind.VECTOR, dict(dims or {}), input_elements=sum(v.elements(i) for i in act),
                 output_elements=out, weight_elements=weights, vector_ops=ops)


def pool(v: NodeView) -> Draft:
    x = v.rank(0, (3, 4, 5), "the data tensor")
    y = v.out_shape()
    k = _positive(v, "kernel_shape", v.ints_attr("kernel_shape", []))
    nsp = len(x) - 2
    if len(k) != nsp or len(y) != len(x):
        raise v.fail(f"kernel_shape {k} does not match the {nsp}-D input {list(x)}")
    strides, dil = _strides_dilations(v, nsp)
    out = math.prod(y)
    per = {"MaxPool": math.prod(k), "AveragePool": math.prod(k) + 1, "LpPool": 2 * math.prod(k) + 4}[v.op]
    dims = dict(N=x[0], C=x[1], M=x[1], **_spatial_dims(v, k, y[2:], strides, dil))
    return _vector(v, per * out, out, dims)


def global_pool(v: NodeView) -> Draft:
    x = v.rank(0, (3, 4, 5), "the data tensor")
    n_in, n_out = math.prod(x), x[0] * x[1]
    ops = {"GlobalMaxPool": n_in, "GlobalAveragePool": n_in + n_out, "GlobalLpPool": 2 * n_in + 4 * n_out}[v.op]
    dims = dict(N=x[0], C=x[1], M=x[1], R=math.prod(x[2:-1]) if len(x) > 3 else 1, S=x[-1])
    return _vector(v, ops, n_out, dims)


def transpose(v: NodeView) -> Draft | None:
    """Contracted when only singleton axes move (no element changes place), else data movement."""
    x = v.shape(0)
    perm = v.ints_attr("perm", list(range(len(x)))[::-1])
    if sorted(perm) != list(range(len(x))):
        raise v.fail(f"perm {perm} is not a permutation of the {len(x)} axes of {list(x)}")
    order = [p for p in perm if x[p] != 1]
    if order == sorted(order):
        return None
    return _vector(v, math.prod(x), math.prod(x))


def expand(v: NodeView) -> Draft | None:
    """Contracted when it adds only singleton axes (no data copied), else a broadcast copy."""
    n_in, n_out = v.elements(0), v.elements_out()
    return None if n_in == n_out else _vector(v, n_out, n_out)


def elementwise(v: NodeView) -> Draft:
    out = v.elements_out()
    if v.op in UNARY_COST:
        return _vector(v, UNARY_COST[v.op] * out)
    n_operands = sum(1 for i in range(len(v.node.input)) if v.has(i))
    if v.op == "Where":
        return _vector(v, out)
    extra = 1 if v.op == "Mean" else 0
    return _vector(v, BINARY_COST[v.op] * max(n_operands - 1 + extra, 1) * out)


def normalization(v: NodeView) -> Draft:
    x = v.shape(0)
    if v.op == "BatchNormalization" and (len(x) < 2 or (v.has(1) and v.shape(1) != (x[1],))):
        raise v.fail(f"scale {list(v.shape(1)) if v.has(1) else None} does not match the channels of {list(x)}")
    if v.op == "LRN":
        size = v.int_attr("size", 1)
        return _vector(v, (2 * max(size, 1) + 5) * math.prod(x))
    return _vector(v, NORM_COST[v.op] * math.prod(x))


def reduction(v: NodeView) -> Draft:
    per_in, per_out = REDUCE_COST[v.op]
    return _vector(v, per_in * v.elements(0) + per_out * v.elements_out())


def data_movement(v: NodeView) -> Draft:
    outs = [i for i, o in enumerate(v.node.output) if o] if v.op == "Split" else [0]
    n = sum(math.prod(v.out_shape(i)) for i in outs)
    return _vector(v, n, n)


def resize(v: NodeView) -> Draft:
    x, y = v.shape(0), v.out_shape()
    mode = v.attr("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    r = sum(1 for a, b in zip(x, y) if a != b)
    per = {"nearest": 1, "linear": 2 ** r, "bilinear": 2 ** r, "cubic": 4 ** r}.get(mode, 1)
    return _vector(v, per * math.prod(y))


def unknown(v: NodeView) -> Draft:
    outs = [i for i, o in enumerate(v.node.output) if o and v.known(o)]
    if not outs:
        raise v.fail("unknown operator with no known output shape")
    n = sum(math.prod(v.out_shape(i)) for i in outs)
    return _vector(v, n, n)


HANDLERS = {
    **{op: conv for op in CONV_SLOTS}, "ConvTranspose": conv_transpose, "Gemm": gemm,
    **{op: matmul for op in MATMUL_SLOTS}, **{op: pool for op in POOL_OPS},
    **{op: global_pool for op in GLOBAL_POOL_OPS}, "Transpose": transpose, "Expand": expand,
    **{op: elementwise for op in (*UNARY_COST, *BINARY_COST)}, **{op: normalization for op in NORM_COST},
    "LRN": normalization, **{op: reduction for op in REDUCE_COST}, **{op: data_movement for op in MOVE_OPS},
    "Resize": resize, "Upsample": resize,
}
MAC_OPS = frozenset({*CONV_SLOTS, "ConvTranspose", "Gemm", *MATMUL_SLOTS})
