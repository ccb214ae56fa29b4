"""Benchmark of the ONNX importer on the onnx package's light model zoo.

Prints, per model: load time (best of 5), layers, MACs computed by ``load_onnx``, the independent
reference count (shape inference: output elements × reduction size per Conv/Gemm/MatMul node), and
the published figure where one exists. Run: ``.venv/bin/python bench/bench_onnx_import.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import onnx

from workloads.onnx_import import load_onnx
from workloads.onnx_reference import reference_macs

LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
#: published MACs (input shape override, figure, source)
PUBLISHED = {
    "light_vgg19": (None, 19.63e9, "VGG-19, torchvision"),
    "light_resnet50": (None, 4089.2e6, "ResNet-50 v1, torchvision"),
    "light_squeezenet": (None, 349.2e6, "SqueezeNet 1.1, torchvision"),
    "light_densenet121": (None, 2.83e9, "DenseNet-121, torchvision"),
    "light_bvlc_alexnet": ((1, 3, 227, 227), 724e6, "AlexNet at 227x227, Sze et al."),
    "light_inception_v1": (None, 1.5e9, "GoogLeNet, 'about 1.5 G', Szegedy et al."),
    "light_inception_v2": (None, 2.0e9, "BN-Inception, about 2.0 G"),
}


def main() -> None:
    print(f"{'model':22s} {'load ms':>8s} {'layers':>6s} {'MACs (mascot)':>16s} {'reference':>16s} "
          f"{'published':>10s}  note")
    for path in sorted(LIGHT_DIR.glob("light_*.onnx")):
        load_onnx(path)
        best = min(_time(path) for _ in range(5))
        graph = load_onnx(path)
        ref = reference_macs(path)
        pub = PUBLISHED.get(path.stem)
        note = ""
        if pub:
            shape, figure, source = pub
            macs = graph.macs if shape is None else load_onnx(
                path, input_shapes={n: shape for n in graph.input_shapes}).macs
            note = f"{source}: mascot {macs / 1e6:,.1f} M ({100 * (macs / figure - 1):+.2f} %)"
        print(f"{path.stem:22s} {best * 1e3:8.1f} {len(graph):6d} {graph.macs:16,d} {ref:16,d} "
              f"{(pub[1] / 1e6 if pub else float('nan')):9,.0f}M  {note}")


def _time(path: Path) -> float:
    t0 = time.perf_counter()
    load_onnx(path)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
