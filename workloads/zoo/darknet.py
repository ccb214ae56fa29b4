"""Darknet detection networks of the zoo: YOLOv2 (COCO) and YOLO-Lite (VOC, trial 3, no batch-norm).

Both are written here from their published architectures (the Darknet cfg layer lists of
YOLO9000 / ``yolov2.cfg`` and of YOLO-Lite's "trial 3 no batch" model), as small Python layer
lists interpreted by :func:`darknet_model`. Darknet semantics kept:

* ``conv`` with ``pad=1`` pads ``size // 2`` (so 1×1 convs are unpadded); with batch-norm the
  conv has no bias and is followed by BatchNormalization; ``leaky`` is LeakyRelu(0.1);
* ``maxpool`` 2/2 halves the map (rounding up, Darknet pads bottom/right);
* ``route`` concatenates earlier layer outputs along channels (negative = relative index);
* ``reorg`` stride 2 is SpaceToDepth(2) (Darknet's element order differs, the shapes and the
  work do not);
* the final ``region`` layer (box decoding) is post-processing and not part of the graph.

MACs (conv only, as Darknet counts BFLOPs = 2 × MACs): YOLOv2 at 416×416 ≈ 14.74 G
(Darknet prints 29.47 BFLOPs), YOLO-Lite at 224×224 ≈ 240.0 M (482 MFLOPs).
"""

from __future__ import annotations

from collections.abc import Sequence

import onnx

from workloads.zoo.onnx_graph import GraphBuilder

# (kind, args): conv = (filters, size, stride, batch_norm, activation); maxpool = (size, stride);
# route = (layer indices,); reorg = (stride,)
Layer = tuple[str, tuple]


def _conv(filters: int, size: int, bn: bool = True, act: str = "leaky", stride: int = 1) -> Layer:
    return ("conv", (filters, size, stride, bn, act))


_MAX: Layer = ("maxpool", (2, 2))

#: YOLOv2 (YOLO9000 paper, Darknet-19 backbone + passthrough), COCO head: 5 anchors × (80 + 5) = 425
YOLOV2_COCO: tuple[Layer, ...] = (
    _conv(32, 3), _MAX,                                                    # 0-1
    _conv(64, 3), _MAX,                                                    # 2-3
    _conv(128, 3), _conv(64, 1), _conv(128, 3), _MAX,                      # 4-7
    _conv(256, 3), _conv(128, 1), _conv(256, 3), _MAX,                     # 8-11
    _conv(512, 3), _conv(256, 1), _conv(512, 3), _conv(256, 1), _conv(512, 3), _MAX,   # 12-17
    _conv(1024, 3), _conv(512, 1), _conv(1024, 3), _conv(512, 1), _conv(1024, 3),      # 18-22
    _conv(1024, 3), _conv(1024, 3),                                        # 23-24 (detection head)
    ("route", (-9,)),                                                      # 25: layer 16 (26×26×512)
    _conv(64, 1),                                                          # 26
    ("reorg", (2,)),                                                       # 27: 13×13×256
    ("route", (-1, -4)),                                                   # 28: concat(27, 24)
    _conv(1024, 3),                                                        # 29
    _conv(425, 1, bn=False, act="linear"),                                 # 30
)

#: YOLO-Lite "trial 3, no batch-norm" (Pedoeem & Huang 2018), VOC head: 5 × (20 + 5) = 125
YOLO_LITE_VOC: tuple[Layer, ...] = (
    _conv(16, 3, bn=False), _MAX,
    _conv(32, 3, bn=False), _MAX,
    _conv(64, 3, bn=False), _MAX,
    _conv(128, 3, bn=False), _MAX,
    _conv(128, 3, bn=False), _MAX,
    _conv(256, 3, bn=False),
    _conv(125, 1, bn=False, act="linear"),
)


def darknet_model(name: str, layers: Sequence[Layer], size: int, doc: str) -> onnx.ModelProto:
    """Interpret a Darknet-style layer list on a ``1×3×size×size`` input."""
    g = GraphBuilder(name, "input", (1, 3, size, size))
    outs: list[str] = []
    x = "input"
    for i, (kind, args) in enumerate(layers):
        tag = f"layer{i:02d}"
        if kind == "conv":
            filters, k, stride, bn, act = args
            x = g.conv(x, tag, filters, (k, k), stride=stride, bias=not bn)
            if bn:
                x = g.batchnorm(x, tag)
            x = g.act(x, tag, act)
        elif kind == "maxpool":
            x = g.maxpool(x, tag, *args)
        elif kind == "route":
            srcs = [outs[i + r] if r < 0 else outs[r] for r in args]
            x = srcs[0] if len(srcs) == 1 else g.concat(srcs, tag)
        elif kind == "reorg":
            x = g.space_to_depth(x, tag, args[0])
        else:  # pragma: no cover - the layer lists above are fixed
            raise ValueError(f"unknown Darknet layer kind {kind!r}")
        outs.append(x)
    return g.model([x], doc)


def yolov2(size: int = 416) -> onnx.ModelProto:
    return darknet_model("yolov2", YOLOV2_COCO, size,
                         "YOLOv2 (Darknet, COCO, 80 classes) defined from the YOLO9000 paper / Darknet yolov2.cfg; "
                         "region decoding omitted; weights stripped")


def yolo_lite(size: int = 224) -> onnx.ModelProto:
    return darknet_model("yolo-lite", YOLO_LITE_VOC, size,
                         "YOLO-Lite trial 3 without batch-norm (VOC, 20 classes), defined from the YOLO-Lite "
                         "paper's Darknet cfg; region decoding omitted; weights stripped")
