"""The zoo generator: weight stripping, byte-stable rebuilds, manifest rows.

The Darknet and DS-CNN networks are written by the project itself, so their rebuilds run
without the ``zoo`` extra; the pytorchcv rebuild is skipped when the extra is not installed.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mascot.errors import MascotError
from workloads.onnx_import import load_onnx
from workloads.zoo import ZOO_DIR, list_models
from workloads.zoo.build import build_model, build_zoo, generator_versions
from workloads.zoo.specs import SPECS
from workloads.zoo.strip import is_weight_free, strip_weights


def _committed(name: str) -> dict:
    return next(r for r in list_models() if r["name"] == name)


def _small_model() -> onnx.ModelProto:
    """Conv (real weights) → Reshape (shape constant) → MatMul with a weight held by a Constant node."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b")
    shape = numpy_helper.from_array(np.array([1, 8 * 6 * 6], dtype=np.int64), "shape")
    fc = helper.make_node("Constant", [], ["fc"], value=numpy_helper.from_array(
        rng.standard_normal((288, 10)).astype(np.float32), "fc"))
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], doc_string="from torch"),
        helper.make_node("Reshape", ["c", "shape"], ["r"]),
        fc,
        helper.make_node("MatMul", ["r", "fc"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], [w, b, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.metadata_props.add(key="exporter", value="something volatile")
    return model


def test_strip_weights_keeps_dims_and_shape_constants(tmp_path):
    model = _small_model()
    stripped = strip_weights(model, "tiny")
    assert is_weight_free(stripped) and not is_weight_free(model)
    inits = {t.name: t for t in stripped.graph.initializer}
    assert list(inits["w"].dims) == [8, 3, 3, 3] and inits["w"].data_location == TensorProto.EXTERNAL
    assert {e.key: e.value for e in inits["w"].external_data}["location"] == "tiny.weights.bin"
    assert numpy_helper.to_array(inits["shape"]).tolist() == [1, 288]  # shape vectors keep their values
    assert "fc" in inits and all(n.op_type != "Constant" for n in stripped.graph.node)
    assert not stripped.metadata_props and not any(n.doc_string for n in stripped.graph.node)
    path = tmp_path / "tiny.onnx"
    path.write_bytes(stripped.SerializeToString())
    original = tmp_path / "orig.onnx"
    original.write_bytes(model.SerializeToString())
    a, b = load_onnx(path), load_onnx(original)
    assert a.macs == b.macs == 8 * 6 * 6 * 27 + 288 * 10
    assert a.params == b.params == 8 * 27 + 8 + 2880
    assert len(path.read_bytes()) < len(original.read_bytes()) / 4


@pytest.mark.parametrize("name", ["yolov2", "yolo-lite", "kws"])
def test_self_defined_networks_rebuild_byte_identical(name):
    data = build_model(SPECS[name]).SerializeToString()
    assert hashlib.sha256(data).hexdigest() == _committed(name)["sha256"]


def test_build_zoo_writes_files_and_manifest(tmp_path):
    df = build_zoo(out_dir=tmp_path, names=["kws", "YOLO-Lite"], show_progress=False)
    assert list(df["name"]) == ["kws", "yolo-lite"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    rows = {r["name"]: r for r in manifest["models"]}
    assert set(rows) == {"kws", "yolo-lite"}
    for name, row in rows.items():
        assert row == _committed(name)
        assert (tmp_path / row["file"]).read_bytes() == (ZOO_DIR / row["file"]).read_bytes()
    # a partial rebuild keeps the other rows
    build_zoo(out_dir=tmp_path, names=["kws"], show_progress=False)
    again = json.loads((tmp_path / "manifest.json").read_text())
    assert [r["name"] for r in again["models"]] == ["yolo-lite", "kws"]  # zoo order


def test_build_zoo_rejects_unknown_names(tmp_path):
    with pytest.raises(MascotError, match="unknown zoo model 'resnet-9000'"):
        build_zoo(out_dir=tmp_path, names=["resnet-9000"], show_progress=False)


def _check_rebuild(name: str, tmp_path) -> None:
    """Same bytes when built with the library versions the manifest records, same structure otherwise."""
    row = _committed(name)
    data = build_model(SPECS[name]).SerializeToString()
    if generator_versions(SPECS[name]) == row["generator"]:
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
    path = tmp_path / row["file"]
    path.write_bytes(data)
    graph = load_onnx(path)
    assert (graph.macs, graph.params, len(graph)) == (row["macs"], row["params"], row["layers"])


def test_pytorchcv_rebuild_matches_committed_file(tmp_path):
    pytest.importorskip("pytorchcv")
    pytest.importorskip("torch")
    _check_rebuild("squeezenet1_1", tmp_path)


@pytest.mark.slow
def test_transformers_rebuild_matches_committed_file(tmp_path):
    pytest.importorskip("transformers")
    _check_rebuild("vit-b16", tmp_path)
