"""Turn a topologically sorted, shape-annotated ONNX node list into layers and dependency edges.

What happens to each node (documented behaviour of :func:`workloads.onnx_import.load_onnx`):

* **constant folding**: a node none of whose inputs is an activation (it computes on weights,
  shape vectors or other constants: ``ConstantOfShape`` weight producers, an ``Unsqueeze`` of a
  scale vector, a weight ``Transpose``) does no run-time work and is dropped;
* **contraction**: pure reshaping ops (:data:`~workloads.onnx_ops.CONTRACTED_OPS`, and
  ``Transpose``/``Expand`` when they move no data) are dropped, and whoever reads their output
  depends on the layers their inputs came from;
* **fusion** into the directly preceding MAC layer (Conv, ConvTranspose, Gemm, MatMul), when the
  MAC layer's output has that node as its single consumer (and is not a graph output) and the
  node keeps the output shape:

  - ``BatchNormalization`` with constant parameters is folded into the weights (1 vector op per
    element for the new bias, 2 if an activation was fused before it); its scale and shift count
    as weights;
  - a unary element-wise op / activation (Relu, Clip, Sigmoid, Gelu, PRelu, ...) adds its
    per-element cost (:data:`~workloads.onnx_ops.UNARY_COST`);
  - ``Add``/``Sub``/``Mul``/``Div`` with a constant other operand (bias add, scale) adds 1 op per
    element; a non-scalar constant counts as weights;

  the fused op names are recorded in ``Layer.fused`` in order;
* everything else becomes a layer through :data:`~workloads.onnx_ops.HANDLERS`.
"""

from __future__ import annotations

import math

import onnx

from mascot.errors import MascotError
from workloads.layer import Layer, LayerKind
from workloads.onnx_ops import (
    BINARY_COST, CONTRACTED_OPS, HANDLERS, UNARY_COST, Draft, NodeView, unknown,
)
from workloads.onnx_shapes import Shape

_FUSABLE_BINARY = ("Add", "Sub", "Mul", "Div")
_SAME_ELEMENTS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Cast", "CastLike")


def _try_fuse(v: NodeView, owner: dict[str, Draft], consumers: dict[str, int], shapes: dict[str, Shape]) -> Draft | None:
    """Fuse ``v`` into the MAC layer that produced its activation input; return that draft or None."""
    op, node = v.op, v.node
    acts = v.act_inputs()
    if op in UNARY_COST or op == "BatchNormalization":
        if acts != [0]:
            return None
    elif op in _FUSABLE_BINARY:
        if len(acts) != 1 or not (v.has(0) and v.has(1)) or len(node.input) != 2:
            return None
    else:
        return None
    x = node.input[acts[0]]
    draft = owner.get(x)
    if draft is None or draft.kind is LayerKind.VECTOR or consumers.get(x, 0) != 1:
        return None
    out = node.output[0] if node.output else ""
    if not out or shapes.get(out) is None or shapes.get(out) != shapes.get(x):
        return None
    n_out = math.prod(shapes[out])
    if op == "BatchNormalization":
        if draft.weights_are_activations or not v.has(1) or not v.has(2):
            return None
        per, weights = (2 if draft.fused else 1), v.elements(1) + v.elements(2)
    elif op in UNARY_COST:
        per = UNARY_COST[op]
        weights = v.elements(1) if op == "PRelu" and v.has(1) and v.elements(1) > 1 else 0
    else:
        const = 1 - acts[0]
        per, weights = BINARY_COST[op], (v.elements(const) if v.elements(const) > 1 else 0)
    draft.vector_ops += per * n_out
    draft.weight_elements += weights
    draft.fused.append(op)
    owner.pop(x, None)
    owner[out] = draft
    return draft


def _check_same_elements(node: onnx.NodeProto, name: str, shapes: dict[str, Shape], path: str) -> None:
    """A contracted reshape must keep the element count (catches batch sizes baked into the model)."""
    x, y = shapes.get(node.input[0]), shapes.get(node.output[0]) if node.output else None
    if x is not None and y is not None and math.prod(x) != math.prod(y):
        raise MascotError(f"node '{name}' ({node.op_type}) turns {list(x)} ({math.prod(x)} elements) into {list(y)} "
                          f"({math.prod(y)} elements)", path=path,
                          hint="the model bakes in a shape (often batch 1) that contradicts the input shape or batch "
                               "asked for; load it with the shapes it was exported for")


def build_layers(nodes: list[onnx.NodeProto], names: list[str], shapes: dict[str, Shape], act: set[str],
                 consumers: dict[str, int], unknown_ids: set[int], path: str) -> tuple[list[Layer], list[tuple[str, str]]]:
    """Layers (in node order) and their dependency edges; see the module docstring for the rules."""
    producers: dict[str, frozenset[str]] = {}
    owner: dict[str, Draft] = {}
    drafts: list[Draft] = []
    edges: set[tuple[str, str]] = set()
    empty: frozenset[str] = frozenset()
    for node, name in zip(nodes, names):
        ins = [i for i in node.input if i]
        outs = [o for o in node.output if o]
        deps = empty.union(*(producers.get(i, empty) for i in ins))
        if node.op_type in CONTRACTED_OPS and id(node) not in unknown_ids or not any(i in act for i in ins):
            if node.op_type in _SAME_ELEMENTS and ins and ins[0] in act:
                _check_same_elements(node, name, shapes, path)
            for o in outs:
                producers[o] = deps
            continue
        v = NodeView(node, name, shapes, act, path)
        try:
            fused_into = _try_fuse(v, owner, consumers, shapes)
            if fused_into is not None:
                for o in outs:
                    producers[o] = frozenset((fused_into.name,))
                continue
            handler = unknown if id(node) in unknown_ids else HANDLERS[node.op_type]
            draft = handler(v)
        except MascotError:
            raise
        except Exception as exc:  # noqa: BLE001 - malformed attributes must not surface as tracebacks
            raise v.fail(f"cannot interpret the node ({type(exc).__name__}: {exc})",
                         hint="the file is malformed; check it with onnx.checker.check_model") from None
        if draft is None:  # a Transpose / Expand that moves no data
            for o in outs:
                producers[o] = deps
            continue
        drafts.append(draft)
        edges.update((d, name) for d in deps)
        for o in outs:
            producers[o] = frozenset((name,))
        owner[node.output[0]] = draft
    layers = []
    for d in drafts:
        try:
            layers.append(d.freeze())
        except ValueError as exc:
            raise MascotError(f"node '{d.name}' ({d.op_type}): {exc}", path=path) from None
    return layers, sorted(edges)
