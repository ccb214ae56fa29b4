"""Keyword spotting: the MLPerf Tiny DS-CNN (Hello Edge "DS-CNN", MLPerf Tiny v0.5 reference).

Input: 49 MFCC frames × 10 coefficients, one channel (NCHW ``1×1×49×10``).
Layers: conv 64 filters 10×4 stride 2 'same' + BN + ReLU; four blocks of (depthwise 3×3 stride 1
'same' + BN + ReLU, pointwise 1×1 to 64 + BN + ReLU); global average pool; fully connected to 12
classes; softmax. Every conv has a bias (as in the Keras reference).

Published figures: 23,756 trainable parameters (BN scale/shift included, running statistics not)
and about 2.7 M MACs: conv 320,000 + 4 × (depthwise 72,000 + pointwise 512,000) + FC 768
= 2,656,768 MACs.
"""

from __future__ import annotations

import onnx

from workloads.zoo.onnx_graph import GraphBuilder


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'same' padding (extra pixel at the end) → (before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def ds_cnn(frames: int = 49, coeffs: int = 10, filters: int = 64, blocks: int = 4, classes: int = 12) -> onnx.ModelProto:
    g = GraphBuilder("kws", "input", (1, 1, frames, coeffs))
    top, bottom = _same_pads(frames, 10, 2)
    left, right = _same_pads(coeffs, 4, 2)
    x = g.conv("input", "conv0", filters, (10, 4), stride=2, pads=(top, left, bottom, right))
    x = g.act(g.batchnorm(x, "conv0"), "conv0", "relu")
    for b in range(1, blocks + 1):
        dw, pw = f"block{b}.dw", f"block{b}.pw"
        x = g.conv(x, dw, filters, (3, 3), groups=filters)
        x = g.act(g.batchnorm(x, dw), dw, "relu")
        x = g.conv(x, pw, filters, (1, 1))
        x = g.act(g.batchnorm(x, pw), pw, "relu")
    x = g.flatten(g.global_avgpool(x, "pool"), "pool")
    x = g.softmax(g.gemm(x, "fc", classes), "fc")
    return g.model([x], "MLPerf Tiny keyword spotting DS-CNN (49x10 MFCC, 12 classes), defined from the MLPerf Tiny "
                        "reference architecture; weights stripped")
