"""load_onnx on the ONNX package's own light model zoo: MAC totals, published figures, speed."""

from __future__ import annotations

import time
from pathlib import Path

import onnx
import pytest

from workloads.layer import LayerKind
from workloads.onnx_import import load_onnx
from workloads.onnx_reference import reference_macs

LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LIGHT_MODELS = sorted(LIGHT_DIR.glob("light_*.onnx"))

# The names the issue lists; each must be present in the installed onnx package.
EXPECTED_NAMES = {"light_bvlc_alexnet", "light_densenet121", "light_inception_v1", "light_inception_v2",
                  "light_resnet50", "light_shufflenet", "light_squeezenet", "light_vgg19", "light_zfnet512"}


def test_all_light_models_present():
    assert EXPECTED_NAMES <= {p.stem for p in LIGHT_MODELS}


@pytest.mark.parametrize("path", LIGHT_MODELS, ids=lambda p: p.stem)
def test_light_model_macs_match_reference(path: Path):
    graph = load_onnx(path)
    assert graph.macs == reference_macs(path)
    n_mac_nodes = sum(1 for n in onnx.load(str(path)).graph.node if n.op_type in ("Conv", "Gemm", "MatMul"))
    assert graph.num_mac_layers == n_mac_nodes
    assert graph.input_shapes and all(s[0] == 1 for s in graph.input_shapes.values())
    for layer in graph.layers:
        assert layer.output_elements > 0 and layer.input_elements > 0
        assert layer.is_mac or layer.vector_ops > 0  # no vector layer is free


# Published figures (multiply-accumulates at the stated input size), with the tolerance their rounding allows.
PUBLISHED_MACS = {
    # VGG-19: 19.6 G MACs ("19.6 billion FLOPs", Simonyan & Zisserman / torchvision 19.63 GMACs)
    "light_vgg19": (None, 19.63e9, 0.002),
    # ResNet-50 v1: 4.09 G MACs (torchvision table; issue 2 gives 4,089.2 M)
    "light_resnet50": (None, 4089.2e6, 0.0005),
    # SqueezeNet 1.1: 349.2 M MACs (issue 2; torchvision 0.35 G)
    "light_squeezenet": (None, 349.2e6, 0.0005),
    # DenseNet-121: 2.83 G MACs (torchvision table)
    "light_densenet121": (None, 2.83e9, 0.005),
    # bvlc AlexNet with its two-group convs: 724 M MACs at its native 227x227 crop (Eyeriss / Sze et al.)
    "light_bvlc_alexnet": ((1, 3, 227, 227), 724e6, 0.002),
    # GoogLeNet (Inception v1): "around 1.5 billion multiply-adds" (Szegedy et al. 2014). This conversion's pools
    # round down (55x55 after pool1 instead of Caffe's 56x56), so it does 1.43 G: within 5 % of the rounded figure
    "light_inception_v1": (None, 1.5e9, 0.05),
    # BN-Inception (Inception v2): about 2.0 G MACs
    "light_inception_v2": (None, 2.0e9, 0.02),
}


@pytest.mark.parametrize("stem", sorted(PUBLISHED_MACS))
def test_light_model_published_figures(stem: str):
    shape, macs, rel = PUBLISHED_MACS[stem]
    path = LIGHT_DIR / f"{stem}.onnx"
    inputs = {name: shape for name in load_onnx(path).input_shapes} if shape else None
    graph = load_onnx(path, input_shapes=inputs)
    assert graph.macs == pytest.approx(macs, rel=rel)


def test_published_parameter_counts():
    # ResNet-50 25.56 M parameters (BN scale/shift included, as frameworks count them); AlexNet 61 M; VGG-19 143.7 M
    assert load_onnx(LIGHT_DIR / "light_resnet50.onnx").params == pytest.approx(25.557e6, rel=1e-3)
    assert load_onnx(LIGHT_DIR / "light_bvlc_alexnet.onnx").params == pytest.approx(60.97e6, rel=1e-3)
    assert load_onnx(LIGHT_DIR / "light_vgg19.onnx").params == pytest.approx(143.67e6, rel=1e-3)


def test_resnet50_structure_and_fusion():
    graph = load_onnx(LIGHT_DIR / "light_resnet50.onnx")
    first = graph.layers[0]
    assert (first.op_type, first.N, first.C, first.M, first.R, first.S, first.P, first.Q) == \
        ("Conv", 1, 3, 64, 7, 7, 112, 112)
    assert (first.stride_h, first.stride_w) == (2, 2)
    assert first.fused == ("BatchNormalization", "Relu")
    # the residual Sum of each bottleneck block is a vector layer with two producers
    sums = [layer for layer in graph.layers if layer.op_type == "Sum"]
    assert len(sums) == 16
    assert all(len(graph.predecessors(s.name)) == 2 and s.kind is LayerKind.VECTOR for s in sums)
    fc = [layer for layer in graph.layers if layer.op_type == "Gemm"][0]
    assert (fc.N, fc.C, fc.M, fc.P) == (1, 2048, 1000, 1)
    import networkx as nx
    assert nx.is_weakly_connected(graph.graph)


def test_grouped_and_depthwise_convs_in_light_models():
    alex = load_onnx(LIGHT_DIR / "light_bvlc_alexnet.onnx")
    assert [layer.groups for layer in alex.layers if layer.op_type == "Conv"] == [1, 2, 1, 2, 2]
    shuffle = load_onnx(LIGHT_DIR / "light_shufflenet.onnx")
    depthwise = [layer for layer in shuffle.layers if layer.op_type == "Conv" and layer.groups == layer.C == layer.M]
    assert len(depthwise) == 16
    # ShuffleNet's channel shuffle (Reshape, Transpose, Reshape) moves data: one vector layer each
    moves = [layer for layer in shuffle.layers if layer.op_type == "Transpose"]
    assert len(moves) == 16 and all(m.vector_ops == m.output_elements for m in moves)


def test_batch_conflicting_with_baked_reshape_is_reported():
    from mascot.errors import MascotError
    with pytest.raises(MascotError, match=r"(?s)Reshape.*8192 elements.*contradicts"):
        load_onnx(LIGHT_DIR / "light_resnet50.onnx", input_shapes={"gpu_0/data_0": (4, 3, 224, 224)})


def test_resnet50_loads_fast():
    path = LIGHT_DIR / "light_resnet50.onnx"
    load_onnx(path)
    best = min(_timed(path) for _ in range(3))
    assert best < 0.5, f"load_onnx took {best:.3f} s"


def _timed(path: Path) -> float:
    t0 = time.perf_counter()
    load_onnx(path)
    return time.perf_counter() - t0
