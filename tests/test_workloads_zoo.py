"""The committed model zoo: files vs manifest, MAC totals vs published figures, and the zoo API.

Needs no ``zoo`` extra: the files are read with the project's own loader. Published figures are
restated here as literals (with their sources) so that a rebuilt manifest cannot quietly drift.
"""

from __future__ import annotations

import hashlib
import json
import math

import onnx
import pytest

from mascot.errors import MascotError
from workloads.onnx_import import load_onnx
from workloads.zoo import (
    MANIFEST_PATH, PIPELINE_BENCH_MODELS, WORKLOAD_SETS, ZOO_DIR, list_models, load_model, manifest_entry,
    model_names, model_path, resolve_name,
)

#: name → (published MACs, allowed relative deviation, where the figure comes from)
PUBLISHED_MACS: dict[str, tuple[float, float, str]] = {
    "squeezenet1_0": (818.9e6, 0.005, "issue 2 / torchvision layout"),
    "squeezenet1_1": (349.2e6, 0.005, "issue 2 / torchvision layout"),
    "yolo-lite": (240.0e6, 0.005, "YOLO-Lite paper: 482 MFLOPs"),
    # 'about 2.7 M' has two significant digits: +-0.05 M
    "kws": (2.7e6, 0.05e6 / 2.7e6, "MLPerf Tiny DS-CNN"),
    "alexnet": (714.2e6, 0.005, "torchvision AlexNet"),
    "inceptionv3": (5713e6, 0.005, "torchvision Inception v3"),
    "resnet50": (4089.2e6, 0.005, "torchvision ResNet-50 (v1.5)"),
    "yolov2": (29.47e9 / 2, 0.005, "Darknet: 29.47 BFLOPs at 416x416"),
    "mobilenetv2": (300e6, 0.005, "MobileNetV2 paper: 300 M multiply-adds"),
    "resnet18": (1.81e9, 0.005, "torchvision ResNet-18: 1.81 GFLOPS"),
    "vgg16": (15.47e9, 0.005, "torchvision VGG-16: 15.47 GFLOPS"),
    "bert-base": (11.17e9, 0.005, "BERT-base, sequence 128"),
    "vit-b16": (17.56e9, 0.005, "torchvision ViT-B/16: 17.56 GFLOPS"),
    "resnet101": (7.80e9, 0.005, "torchvision ResNet-101: 7.80 GFLOPS"),
    "resnet152": (11.51e9, 0.005, "torchvision ResNet-152: 11.51 GFLOPS"),
    "densenet121": (2.83e9, 0.005, "torchvision DenseNet-121: 2.83 GFLOPS"),
    "densenet169": (3.36e9, 0.005, "torchvision DenseNet-169: 3.36 GFLOPS"),
    "densenet201": (4.29e9, 0.005, "torchvision DenseNet-201: 4.29 GFLOPS"),
    # pytorchcv's 'FLOPs/2' also counts BN/ReLU/add work (~0.5 % here): 1 % tolerance
    "xception": (8403.63e6, 0.01, "pytorchcv table: 8,403.63 M FLOPs/2"),
    "mobilenetv1": (569e6, 0.005, "MobileNets paper: 569 M mult-adds"),
}

#: published parameter counts (weights + biases + BN scale/shift) that the loader must reproduce
PUBLISHED_PARAMS: dict[str, int] = {
    "kws": 23_756, "squeezenet1_0": 1_248_424, "squeezenet1_1": 1_235_496, "alexnet": 61_100_840,
    "resnet18": 11_689_512, "resnet50": 25_557_032, "resnet101": 44_549_160, "resnet152": 60_192_808,
    "vgg16": 138_357_544, "densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928,
    "inceptionv3": 23_834_568, "xception": 22_855_952, "mobilenetv1": 4_231_976,
}

ZOO_NAMES = list(PUBLISHED_MACS)


def _rows() -> dict[str, dict]:
    return {row["name"]: row for row in list_models()}


def test_manifest_lists_exactly_the_zoo():
    assert model_names() == ZOO_NAMES
    data = json.loads(MANIFEST_PATH.read_text())
    assert data["format"] == 1


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_committed_file_matches_manifest_and_loader(name):
    row = _rows()[name]
    path = ZOO_DIR / row["file"]
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == row["sha256"]
    assert len(data) == row["bytes"]
    graph = load_onnx(path)
    assert graph.macs == row["macs"]
    assert graph.params == row["params"]
    assert len(graph) == row["layers"]
    assert graph.num_mac_layers == row["mac_layers"]
    assert {k: list(v) for k, v in graph.input_shapes.items()} == row["input"]


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_macs_match_published_figure(name):
    figure, tol, _source = PUBLISHED_MACS[name]
    macs = _rows()[name]["macs"]
    assert abs(macs / figure - 1) <= tol, f"{name}: {macs:,} MACs vs published {figure:,.0f}"


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_params_match_published_count(name):
    assert _rows()[name]["params"] == PUBLISHED_PARAMS[name]


def test_exact_counts_from_the_published_layer_lists():
    rows = _rows()
    # DS-CNN: conv 10x4 s2 on 49x10 -> 25x5x64; 4 x (dw 3x3 + pw 64->64); FC 64->12
    assert rows["kws"]["macs"] == 25 * 5 * 64 * 40 + 4 * (25 * 5 * 64 * 9 + 25 * 5 * 64 * 64) + 64 * 12
    # YOLO-Lite trial 3: 7 convs on 224 -> 7x7
    yl = (224**2 * 16 * 27 + 112**2 * 32 * 16 * 9 + 56**2 * 64 * 32 * 9 + 28**2 * 128 * 64 * 9
          + 14**2 * 128 * 128 * 9 + 7**2 * 256 * 128 * 9 + 7**2 * 125 * 256)
    assert rows["yolo-lite"]["macs"] == yl
    # BERT-base, L=128: 12 x (Q,K,V,O + FFN + two attention matmuls) + pooler
    L, d = 128, 768
    assert rows["bert-base"]["macs"] == 12 * (4 * L * d * d + 2 * L * d * 4 * d + 2 * L * L * d) + d * d


def test_files_are_weight_free_and_small():
    total = 0
    for row in list_models():
        path = ZOO_DIR / row["file"]
        total += path.stat().st_size
        assert path.stat().st_size < 400_000, row["name"]
        model = onnx.load(str(path), load_external_data=False)
        for t in model.graph.initializer:
            n = math.prod(t.dims)
            if t.data_type == onnx.TensorProto.FLOAT and n > 1:
                assert t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data and not t.float_data, t.name
    assert total < 3_000_000


def test_darknet_structure():
    g = load_model("yolov2")
    ops = [layer.op_type for layer in g.layers]
    assert "SpaceToDepth" in ops and "Concat" in ops
    assert g.num_mac_layers == 23
    last = g.layers[-1]
    assert (last.M, last.P, last.Q) == (425, 13, 13)
    lite = load_model("yolo-lite")
    assert lite.num_mac_layers == 7 and lite.layers[-1].M == 125


def test_kws_structure():
    g = load_model("kws")
    dw = [layer for layer in g.layers if layer.groups > 1]
    assert len(dw) == 4 and all(layer.groups == layer.C == layer.M == 64 for layer in dw)
    first = g.layers[0]
    assert (first.R, first.S, first.P, first.Q, first.stride_h) == (10, 4, 25, 5, 2)


def test_resnet50_is_v1_5():
    g = load_model("resnet50")
    strided = [layer for layer in g.layers if layer.op_type == "Conv" and layer.stride_h == 2]
    # v1.5: the stride of a downsampling bottleneck sits in its 3x3 conv (and the 1x1 shortcut)
    assert {(layer.R, layer.S) for layer in strided} == {(7, 7), (3, 3), (1, 1)}
    assert sum(1 for layer in strided if layer.R == 3) == 3


def test_api_names_aliases_and_errors(tmp_path):
    assert resolve_name("squeezenet") == "squeezenet1_1"
    assert resolve_name("ResNet50") == "resnet50"
    assert manifest_entry("squeezenet")["name"] == "squeezenet1_1"
    assert model_path("squeezenet") == ZOO_DIR / "squeezenet1_1.onnx"
    with pytest.raises(MascotError, match="(?s)resnet50.*zoo models: squeezenet1_0"):
        resolve_name("resnet5O")
    with pytest.raises(MascotError) as err:
        load_model("no-such-net")
    assert "yolo-lite" in str(err.value) and "squeezenet = squeezenet1_1" in str(err.value)
    with pytest.raises(MascotError, match="not found"):
        load_model(tmp_path / "missing.onnx")


def test_load_model_by_path_and_batch():
    by_name = load_model("squeezenet1_1")
    by_path = load_model(model_path("squeezenet1_1"))
    assert by_name.macs == by_path.macs == _rows()["squeezenet1_1"]["macs"]
    for name in ("resnet18", "yolov2", "yolo-lite", "kws"):
        assert load_model(name, batch=4).macs == 4 * _rows()[name]["macs"], name
    with pytest.raises(MascotError, match="batch 1 only"):
        load_model("bert-base", batch=2)


def test_workload_sets():
    assert WORKLOAD_SETS["light"] == ["squeezenet", "yolo-lite", "kws"]
    assert WORKLOAD_SETS["heavy"] == ["alexnet", "inceptionv3", "resnet50", "yolov2"]
    assert WORKLOAD_SETS["mixed"] == WORKLOAD_SETS["light"] + WORKLOAD_SETS["heavy"]
    for names in WORKLOAD_SETS.values():
        for name in names:
            assert model_path(name).is_file()
    assert len(PIPELINE_BENCH_MODELS) == 10
    assert all(resolve_name(n) == n for n in PIPELINE_BENCH_MODELS)
