"""Concrete tensor shapes of an ONNX graph.

ONNX shape inference (run by :mod:`workloads.onnx_import`) fills most shapes. It leaves gaps
behind operators it does not know (custom domains, loaded with ``allow_unknown``) and behind ops
whose output shape depends on values it could not see; :func:`fill_gaps` closes those gaps with
our own propagation for the common operators, tracking the values of small integer and float
tensors (shape vectors, axes, pads, resize scales) further than ONNX's data propagation does (it
stops at integer Div, ConstantOfShape, reversed Slices: the way torch exports ``F.pad``). A shape that stays unknown is
reported later, by the operator handler that needs it, naming the node.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import onnx
from onnx import helper, numpy_helper

Shape = tuple[int, ...]

#: integer tensors up to this many elements have their values tracked (shape vectors, axes)
SMALL_CONST_ELEMENTS = 64
_INT_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT16, onnx.TensorProto.INT8,
              onnx.TensorProto.UINT8, onnx.TensorProto.UINT16, onnx.TensorProto.UINT32, onnx.TensorProto.UINT64}
_FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16}

SAME_SHAPE_OPS = frozenset({
    "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Gelu", "LeakyRelu", "PRelu", "Elu",
    "Selu", "Celu", "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Neg", "Abs", "Exp", "Log", "Sqrt",
    "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Not", "IsNaN", "IsInf", "Identity",
    "Dropout", "Cast", "CastLike", "BatchNormalization", "LayerNormalization", "InstanceNormalization",
    "GroupNormalization", "LpNormalization", "MeanVarianceNormalization", "LRN", "Softmax", "LogSoftmax",
    "Hardmax", "Swish", "CumSum", "Trilu", "QuantizeLinear", "DequantizeLinear",
})
BROADCAST_OPS = frozenset({
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Where", "Equal", "Less", "Greater",
    "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Mod", "BitShift",
})


#: integer arithmetic on shape values (all non-negative, so floor division is ONNX's truncation)
_ARITH = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.floor_divide}


def shape_from_type(tp: onnx.TypeProto) -> Shape | None:
    """The concrete shape of a tensor type, or None when it is absent or has symbolic dims."""
    if not tp.HasField("tensor_type") or not tp.tensor_type.HasField("shape"):
        return None
    dims = []
    for d in tp.tensor_type.shape.dim:
        if not d.HasField("dim_value") or d.dim_value < 0:
            return None
        dims.append(int(d.dim_value))
    return tuple(dims)


def collect_shapes(graph: onnx.GraphProto) -> dict[str, Shape]:
    """Shapes known after inference: initializer dims first (authoritative), then declared types."""
    shapes: dict[str, Shape] = {}
    for t in graph.initializer:
        if all(d >= 0 for d in t.dims):
            shapes[t.name] = tuple(int(d) for d in t.dims)
    for st in graph.sparse_initializer:
        if all(d >= 0 for d in st.dims):
            shapes[st.values.name] = tuple(int(d) for d in st.dims)
    for vi in (*graph.input, *graph.value_info, *graph.output):
        if vi.name not in shapes:
            s = shape_from_type(vi.type)
            if s is not None:
                shapes[vi.name] = s
    return shapes


def _small_value(t: onnx.TensorProto) -> np.ndarray | None:
    """int64 / float64 value of a small integer or float tensor (shape vectors, axes, scales), else None."""
    if math.prod(t.dims) > SMALL_CONST_ELEMENTS or t.data_location == onnx.TensorProto.EXTERNAL:
        return None
    if t.data_type not in _INT_TYPES and t.data_type not in _FLOAT_TYPES:
        return None
    try:
        arr = numpy_helper.to_array(t)
    except Exception:  # noqa: BLE001 - a malformed constant is just an unknown value
        return None
    return arr.astype(np.int64 if t.data_type in _INT_TYPES else np.float64)


def small_constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Values of small integer / float initializers whose data is in the file (never external data)."""
    out: dict[str, np.ndarray] = {}
    for t in graph.initializer:
        v = _small_value(t)
        if v is not None:
            out[t.name] = v
    return out


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _ints(values: Iterable) -> list[int]:
    return [int(v) for v in values]


def _conv_out(size: int, k: int, s: int, d: int, pb: int, pe: int, auto_pad: str, ceil: bool = False) -> int:
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return -(-size // s)
    if auto_pad == "VALID":
        pb = pe = 0
    span = size + pb + pe - d * (k - 1) - 1
    return (-(-span // s) if ceil else span // s) + 1


def _spatial(node: onnx.NodeProto, x: Shape, kernel: list[int], transpose: bool = False) -> Shape | None:
    nsp = len(kernel)
    strides = _ints(_attr(node, "strides", [1] * nsp))
    dil = _ints(_attr(node, "dilations", [1] * nsp))
    pads = _ints(_attr(node, "pads", [0] * (2 * nsp)))
    auto_pad = _attr(node, "auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    ceil = bool(_attr(node, "ceil_mode", 0))
    if len(strides) != nsp or len(dil) != nsp or len(pads) != 2 * nsp or len(x) != nsp + 2:
        return None
    out = []
    for i in range(nsp):
        if transpose:
            outpad = _ints(_attr(node, "output_padding", [0] * nsp))
            o = strides[i] * (x[2 + i] - 1) + (outpad[i] if i < len(outpad) else 0) + \
                (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[nsp + i]
            if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
                o = x[2 + i] * strides[i]
        else:
            if strides[i] <= 0:
                return None
            o = _conv_out(x[2 + i], kernel[i], strides[i], dil[i], pads[i], pads[nsp + i], auto_pad, ceil)
        if o < 0:
            return None
        out.append(o)
    return tuple(out)


def _norm_axis(axis: int, rank: int) -> int | None:
    axis = axis + rank if axis < 0 else axis
    return axis if 0 <= axis < rank else None


def _infer_one(node: onnx.NodeProto, ins: list[Shape | None], vals: list[np.ndarray | None],
               unknown_same_shape: bool) -> tuple[list[Shape | None], list[np.ndarray | None]]:
    """Output shapes (and small integer values) of one node from its input shapes and values."""
    op = node.op_type
    n_out = len(node.output)
    none: list = [None] * n_out
    x = ins[0] if ins else None
    if op == "Constant":
        for a in node.attribute:
            if a.name == "value":
                return [tuple(int(d) for d in a.t.dims)], [_small_value(a.t)]
            if a.name in ("value_int", "value_float"):
                return [()], [np.array(a.i, dtype=np.int64) if a.name == "value_int" else None]
            if a.name in ("value_ints", "value_floats"):
                n = len(a.ints) if a.name == "value_ints" else len(a.floats)
                return [(n,)], [np.array(list(a.ints), dtype=np.int64) if a.name == "value_ints" else None]
        return none, none
    if op == "Shape" and x is not None:
        start, end = _attr(node, "start", 0), _attr(node, "end", len(x))
        v = np.array(x[start:end], dtype=np.int64)
        return [tuple(v.shape)], [v]
    if op == "Size" and x is not None:
        return [()], [np.array(math.prod(x), dtype=np.int64)]
    if op in SAME_SHAPE_OPS:
        return [x] + [None] * (n_out - 1), [vals[0] if vals and op in ("Identity", "Cast") else None] + [None] * (n_out - 1)
    if op in _ARITH and len(vals) == 2 and vals[0] is not None and vals[1] is not None:
        a, b = vals
        if op == "Div" and not np.all(b):
            return none, none
        v = (np.true_divide if op == "Div" and (a.dtype.kind == "f" or b.dtype.kind == "f") else _ARITH[op])(a, b)
        return [tuple(v.shape)], [v]
    if op in BROADCAST_OPS:
        present = [s for s in ins if s is not None]
        if len(present) != len(ins):
            return none, none
        try:
            return [tuple(np.broadcast_shapes(*present))], [None]
        except ValueError:
            return none, none
    if op == "ConstantOfShape" and vals and vals[0] is not None:
        out = tuple(int(v) for v in vals[0].reshape(-1))
        fill = _attr(node, "value")
        v = None
        if math.prod(out) <= SMALL_CONST_ELEMENTS and (fill is None or fill.data_type in _INT_TYPES):
            v = np.full(out, 0 if fill is None else int(numpy_helper.to_array(fill).reshape(-1)[0]), dtype=np.int64)
        return [out], [v]
    if x is None:
        return none, none
    if op in ("Conv", "ConvInteger", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"):
        if op in ("Conv", "ConvInteger", "ConvTranspose"):
            w = ins[1] if len(ins) > 1 else None
            if w is None or len(w) != len(x):
                return none, none
            k = _ints(_attr(node, "kernel_shape", w[2:]))
            g = int(_attr(node, "group", 1))
            ch = w[1] * g if op == "ConvTranspose" else w[0]
        else:
            k = _ints(_attr(node, "kernel_shape", []))
            ch = x[1] if len(x) > 1 else 0
        sp = _spatial(node, x, k, transpose=op == "ConvTranspose")
        return ([None if sp is None else (x[0], ch, *sp)] + [None] * (n_out - 1)), none
    if op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"):
        return [tuple(x[:2]) + (1,) * (len(x) - 2)], [None]
    if op in ("Gemm", "MatMul", "MatMulInteger") and len(ins) > 1 and ins[1] is not None:
        a, b = list(x), list(ins[1])
        if op == "Gemm":
            if len(a) != 2 or len(b) != 2:
                return none, none
            rows = a[1] if _attr(node, "transA", 0) else a[0]
            cols = b[0] if _attr(node, "transB", 0) else b[1]
            return [(rows, cols)], [None]
        if not a or not b:
            return none, none
        batch_a, batch_b = a[:-2], b[:-2]
        try:
            batch = tuple(np.broadcast_shapes(tuple(batch_a), tuple(batch_b)))
        except ValueError:
            return none, none
        out = list(batch) + ([a[-2]] if len(a) > 1 else []) + ([b[-1]] if len(b) > 1 else [])
        return [tuple(out)], [None]
    if op == "Concat":
        axis = _norm_axis(int(_attr(node, "axis", 0)), len(x))
        if axis is None or any(s is None or len(s) != len(x) for s in ins):
            return none, none
        out = list(x)
        out[axis] = sum(s[axis] for s in ins)  # type: ignore[index]
        v = None
        if len(x) == 1 and all(v_ is not None for v_ in vals):
            v = np.concatenate([v_.reshape(-1) for v_ in vals])  # type: ignore[union-attr]
        return [tuple(out)], [v]
    if op == "Flatten":
        axis = int(_attr(node, "axis", 1))
        axis = axis + len(x) if axis < 0 else axis
        return [(math.prod(x[:axis]), math.prod(x[axis:]))], [None]
    if op == "Transpose":
        perm = _ints(_attr(node, "perm", list(range(len(x)))[::-1]))
        if sorted(perm) != list(range(len(x))):
            return none, none
        return [tuple(x[p] for p in perm)], [None if vals[0] is None else np.transpose(vals[0], perm)]
    if op == "Slice":
        return _slice(node, x, vals)
    if op == "Pad":
        pads = _attr(node, "pads") if len(vals) < 2 or vals[1] is None else vals[1].reshape(-1).tolist()
        axes = list(range(len(x))) if len(vals) < 4 or vals[3] is None else vals[3].reshape(-1).tolist()
        if pads is None or len(pads) != 2 * len(axes):
            return none, none
        out = list(x)
        for j, a in enumerate(axes):
            out[_norm_axis(int(a), len(x))] += int(pads[j]) + int(pads[j + len(axes)])  # type: ignore[index]
        return [tuple(out)], [None]
    if op == "Tile" and len(vals) > 1 and vals[1] is not None and vals[1].size == len(x):
        return [tuple(d * int(r) for d, r in zip(x, vals[1].reshape(-1)))], [None]
    if op == "TopK" and len(vals) > 1 and vals[1] is not None:
        axis = _norm_axis(int(_attr(node, "axis", -1)), len(x))
        out = list(x)
        out[axis] = int(vals[1].reshape(-1)[0])  # type: ignore[index]
        return [tuple(out), tuple(out)], [None, None]
    if op == "Reshape" and len(vals) > 1 and vals[1] is not None:
        target = [int(t) for t in vals[1].reshape(-1)]
        out = [x[i] if t == 0 and i < len(x) else t for i, t in enumerate(target)]
        if out.count(-1) == 1:
            known = math.prod(t for t in out if t != -1)
            out[out.index(-1)] = math.prod(x) // known if known else 0
        if any(t < 0 for t in out) or math.prod(out) != math.prod(x):
            return none, none
        return [tuple(out)], [vals[0].reshape(out) if vals[0] is not None else None]
    if op in ("Squeeze", "Unsqueeze"):
        axes = _attr(node, "axes")
        if axes is None and len(vals) > 1 and vals[1] is not None:
            axes = vals[1].reshape(-1).tolist()
        if op == "Squeeze" and axes is None:
            out = tuple(d for d in x if d != 1)
        elif axes is None:
            return none, none
        elif op == "Squeeze":
            ax = {_norm_axis(int(a), len(x)) for a in axes}
            out = tuple(d for i, d in enumerate(x) if i not in ax)
        else:
            rank = len(x) + len(axes)
            ax = {_norm_axis(int(a), rank) for a in axes}
            it = iter(x)
            out = tuple(1 if i in ax else next(it, 1) for i in range(rank))
        v = vals[0].reshape(out) if vals[0] is not None and math.prod(out) == vals[0].size else None
        return [out], [v]
    if op == "Gather" and len(ins) > 1 and ins[1] is not None:
        axis = _norm_axis(int(_attr(node, "axis", 0)), len(x))
        if axis is None:
            return none, none
        out = tuple(x[:axis]) + tuple(ins[1]) + tuple(x[axis + 1:])
        v = None
        if vals[0] is not None and len(vals) > 1 and vals[1] is not None and vals[0].ndim == 1:
            try:
                v = vals[0][vals[1]]
            except IndexError:
                v = None
        return [out], [v]
    if op == "Expand" and len(vals) > 1 and vals[1] is not None:
        try:
            return [tuple(np.broadcast_shapes(tuple(x), tuple(int(t) for t in vals[1].reshape(-1))))], [None]
        except ValueError:
            return none, none
    if op.startswith("Reduce") or op in ("ArgMax", "ArgMin"):
        axes = _attr(node, "axes")
        if axes is None and op != "ArgMax" and op != "ArgMin" and len(vals) > 1 and vals[1] is not None:
            axes = vals[1].reshape(-1).tolist()
        if op in ("ArgMax", "ArgMin"):
            axes = [int(_attr(node, "axis", 0))]
        keep = int(_attr(node, "keepdims", 1))
        ax = set(range(len(x))) if not axes else {_norm_axis(int(a), len(x)) for a in axes}
        out = tuple((1 if i in ax else d) for i, d in enumerate(x) if keep or i not in ax)
        return [out], [None]
    if op in ("Resize", "Upsample"):
        scales = sizes = None
        if op == "Upsample" or len(node.input) == 2:  # Upsample, or opset-10 Resize(X, scales)
            scales = _attr(node, "scales") or (vals[1].tolist() if len(vals) > 1 and vals[1] is not None else None)
        else:
            if len(vals) > 3 and vals[3] is not None and vals[3].size:
                sizes = vals[3].reshape(-1).tolist()
            if len(vals) > 2 and vals[2] is not None and vals[2].size:
                scales = vals[2].reshape(-1).tolist()
        if sizes and len(sizes) == len(x):
            return [tuple(int(s) for s in sizes)], [None]
        if scales and len(scales) == len(x):
            return [tuple(int(math.floor(d * s)) for d, s in zip(x, scales))], [None]
        return none, none
    if op in ("SpaceToDepth", "DepthToSpace") and len(x) == 4:
        b = int(_attr(node, "blocksize", 1))
        if b <= 0:
            return none, none
        if op == "SpaceToDepth":
            return [(x[0], x[1] * b * b, x[2] // b, x[3] // b)], [None]
        return [(x[0], x[1] // (b * b), x[2] * b, x[3] * b)], [None]
    if unknown_same_shape:
        return [x] + [None] * (n_out - 1), [None] * n_out
    return none, none


def _slice(node: onnx.NodeProto, x: Shape, vals: list[np.ndarray | None]):
    """Slice's output shape (and value, for small integer tensors) from constant starts/ends/axes/steps."""
    def arg(i: int, name: str):
        if len(vals) > i and vals[i] is not None:
            return [int(v) for v in vals[i].reshape(-1)]
        if i == 0 or len(node.input) <= i or not node.input[i]:
            a = _attr(node, name)
            return None if a is None else _ints(a)
        return "unknown"
    starts, ends = arg(1, "starts"), arg(2, "ends")
    axes, steps = arg(3, "axes"), arg(4, "steps")
    if starts in (None, "unknown") or ends in (None, "unknown") or axes == "unknown" or steps == "unknown":
        return [None], [None]
    axes = axes or list(range(len(starts)))
    steps = steps or [1] * len(starts)
    index = [slice(None)] * len(x)
    out = list(x)
    for st_, en, ax, sp in zip(starts, ends, axes, steps):
        a = _norm_axis(ax, len(x))
        if a is None or sp == 0:
            return [None], [None]
        index[a] = slice(st_, en, sp)
        out[a] = len(range(*index[a].indices(x[a])))
    v = vals[0][tuple(index)] if vals and vals[0] is not None else None
    return [tuple(out)], [v]


def fill_gaps(nodes: list[onnx.NodeProto], shapes: dict[str, Shape], consts: dict[str, np.ndarray],
              unknown_nodes: set[int]) -> list[str]:
    """Propagate shapes through ``nodes`` (topological order) where inference left gaps.

    ``shapes`` and ``consts`` are updated in place. Nodes in ``unknown_nodes`` (``id()`` of nodes whose
    op we do not model, accepted with ``allow_unknown``) are assumed to keep the shape of their
    first input when nothing better is known. Returns the outputs whose shape was assumed that way,
    so the caller can say so in its warning.
    """
    assumed: list[str] = []
    for node in nodes:
        outs = [o for o in node.output if o]
        if not outs:
            continue
        needs_value = node.op_type in ("Constant", "Shape", "Size", "Concat", "Gather", "Unsqueeze", "Squeeze",
                                       "Cast", "Identity", "Reshape", "ConstantOfShape", "Slice", "Transpose", *_ARITH)
        if all(o in shapes for o in outs) and not needs_value:
            continue
        ins = [shapes.get(i) if i else None for i in node.input]
        vals = [consts.get(i) if i else None for i in node.input]
        try:
            out_shapes, out_vals = _infer_one(node, ins, vals, id(node) in unknown_nodes)
        except Exception:  # noqa: BLE001 - propagation is best effort; the handler reports what stays unknown
            continue
        for o, s, v in zip(node.output, out_shapes, out_vals):
            if not o:
                continue
            if o not in shapes and s is not None and all(isinstance(d, int) and d >= 0 for d in s):
                shapes[o] = tuple(s)
                if id(node) in unknown_nodes:
                    assumed.append(o)
            if v is not None and o not in consts and v.size <= SMALL_CONST_ELEMENTS:
                consts[o] = v
    return assumed
