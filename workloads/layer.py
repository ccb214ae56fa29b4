"""One DNN operator in canonical loop-nest form.

Convolution-like layers use the Timeloop problem dimensions so that a cost model can take them
as they are:

=====  =============================================  =====================================
dim    meaning                                        MatMul / Gemm
=====  =============================================  =====================================
N      batch                                          batch dims of a batched MatMul
C      input channels (all groups together)           reduction dim K
M      output channels (all groups together)          output columns
R, S   filter height, width                           1, 1
P, Q   output height, width                           P = output rows, Q = 1
=====  =============================================  =====================================

``groups`` splits C and M into independent convolutions (depthwise: ``groups == C == M``).
Every convolution-like layer does ``N * M * P * Q * (C / groups) * R * S`` MACs.

Layers that do no multiply-accumulate work (pooling, element-wise ops, softmax, normalisation,
resize, concat, data-moving transposes) are ``vector`` layers: they carry element counts and an
operation count, because they cost time and energy on real hardware and must never be free.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class LayerKind(str, Enum):
    CONV = "conv"  # Conv / ConvTranspose (as the equivalent direct convolution)
    MATMUL = "matmul"  # Gemm / MatMul (weights or two activations)
    VECTOR = "vector"  # no MACs: element-wise lanes, reductions, data movement


@dataclass(frozen=True)
class Layer:
    """A frozen record of one (possibly fused) operator.

    ``fused`` names the ONNX ops folded into this layer (a BatchNormalization after a conv, an
    activation right after a MAC layer): they add ``vector_ops`` but no extra traffic.
    ``weights_are_activations`` marks MatMuls whose second operand is computed at run time (the
    attention ``Q @ K^T`` and ``softmax @ V``): they have no parameters, but the cost model still
    has to move that operand like a weight tensor.
    """

    name: str
    op_type: str
    kind: LayerKind
    N: int = 1
    C: int = 1
    M: int = 1
    R: int = 1
    S: int = 1
    P: int = 1
    Q: int = 1
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    groups: int = 1
    input_elements: int = 0
    output_elements: int = 0
    weight_elements: int = 0
    vector_ops: int = 0
    weights_are_activations: bool = False
    fused: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, LayerKind):
            object.__setattr__(self, "kind", LayerKind(self.kind))
        object.__setattr__(self, "fused", tuple(self.fused))
        if self.kind is not LayerKind.VECTOR and (self.C % self.groups or self.M % self.groups):
            raise ValueError(f"layer {self.name}: C={self.C} and M={self.M} must be divisible by groups={self.groups}")

    @property
    def is_mac(self) -> bool:
        return self.kind is not LayerKind.VECTOR

    @property
    def macs(self) -> int:
        """Multiply-accumulates; 0 for vector layers."""
        if not self.is_mac:
            return 0
        return self.N * self.M * self.P * self.Q * (self.C // self.groups) * self.R * self.S

    @property
    def params(self) -> int:
        """Trainable parameters (weights and bias); 0 when the 'weights' are activations."""
        return 0 if self.weights_are_activations else self.weight_elements

    @property
    def shape_key(self) -> tuple:
        """What a cost model needs to know: two layers with the same key cost the same."""
        return (
            self.kind.value, self.N, self.C, self.M, self.R, self.S, self.P, self.Q,
            self.stride_h, self.stride_w, self.dilation_h, self.dilation_w, self.groups,
            self.input_elements, self.output_elements, self.weight_elements, self.vector_ops,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["fused"] = list(self.fused)
        d["macs"] = self.macs
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Layer":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**d)
