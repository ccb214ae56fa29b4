"""Layer tables on the real analytical backend, the relmas6 system, and the ``mascot tables`` CLI."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper

from hwmodel.tables import COLUMNS, LayerTable, build_table
from mascot.cli import main
from workloads.graph import LayerGraph
from workloads.layer import Layer, LayerKind

RELMAS6_CLASSES = ["eyeriss_small", "eyeriss_large", "simba_small", "simba_large"]


def _tiny_onnx(path, name="tinynet"):
    """conv 3→8 (3x3) → relu → conv 8→8 (1x1) → add(skip) → global average pool: 16x16 input."""
    def w(name, shape):
        return helper.make_tensor(name, TensorProto.FLOAT, shape, np.zeros(int(np.prod(shape)), np.float32))

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], kernel_shape=[1, 1], name="conv2"),
        helper.make_node("Add", ["c2", "r1"], ["a"], name="add"),
        helper.make_node("GlobalAveragePool", ["a"], ["y"], name="gap"),
    ]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 1, 1])],
        initializer=[w("w1", [8, 3, 3, 3]), w("w2", [8, 8, 1, 1])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _chain(name: str, widths: list[int]) -> LayerGraph:
    """A chain of distinct 3x3 convs (every layer a new shape: exercises the parallel path)."""
    layers, edges = [], []
    for i, (c, m) in enumerate(zip(widths, widths[1:])):
        layers.append(Layer(name=f"conv{i}", op_type="Conv", kind=LayerKind.CONV, C=c, M=m, R=3, S=3, P=8, Q=8,
                            input_elements=c * 100, output_elements=m * 64, weight_elements=c * m * 9))
        if i:
            edges.append((f"conv{i - 1}", f"conv{i}"))
    return LayerGraph.from_layers(name, layers, edges)


def test_relmas6_table_parallel_equals_serial(tmp_path):
    graph = _chain("chain", [3, 8, 16, 24, 32])  # 4 shapes × 4 SA classes = 16 evaluations: the process path
    serial = build_table([graph], "relmas6", cache=False, progress=False, n_jobs=1)
    parallel = build_table([graph], "relmas6", cache=tmp_path, progress=False, n_jobs=2)
    pd.testing.assert_frame_equal(serial.frame, parallel.frame)
    df = serial.frame
    assert list(dict.fromkeys(df.sa_class)) == RELMAS6_CLASSES
    assert (df.cycles > 0).all() and (df.energy_pj > 0).all() and (df.dram_bytes > 0).all()
    assert ((df.utilization > 0) & (df.utilization <= 1)).all()
    assert df.latency_s.tolist() == pytest.approx((df.cycles / 1e9).tolist())  # Table-1 SAs run at 1 GHz
    for bd, e in zip(df.energy_breakdown, df.energy_pj):
        assert sum(json.loads(bd).values()) == pytest.approx(e, rel=1e-6)
    assert df.mapping.str.startswith("DRAM[").all()
    meta = serial.metadata
    assert meta["mascot.system"] == "relmas6" and meta["mascot.backend"] == "analytical"
    assert meta["mascot.objective"] == "delay"
    assert len(meta["mascot.system_hash"]) == 16


def test_cli_build_and_show(tmp_path, capsys):
    onnx_path = _tiny_onnx(tmp_path / "tinynet.onnx")
    out = tmp_path / "table.parquet"
    args = ["tables", "build", "--models", str(onnx_path), "--system", "relmas6", "--cache-dir", str(tmp_path / "c"),
            "--jobs", "1", "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "latency" in printed and "wrote 16 rows" in printed.replace("\n", " ")
    table = LayerTable.load(out)
    assert tuple(table.frame.columns[: len(COLUMNS)]) == COLUMNS
    assert set(table.frame.kind) >= {"conv", "vector"}
    assert table.sa_classes == RELMAS6_CLASSES
    model = table.models[0]
    first = table.for_model(model)
    assert first.groupby("sa_class").size().nunique() == 1  # every layer on every class

    assert main(["tables", "show", str(out)]) == 0
    assert "relmas6" in capsys.readouterr().out
    assert main(["tables", "show", str(out), "--model", model, "--sa", "simba_small"]) == 0
    assert "per-layer" in capsys.readouterr().out

    # CSV output and a warm rebuild give the same numbers
    csv = tmp_path / "table.csv"
    assert main(args[:-1] + [str(csv)]) == 0
    pd.testing.assert_frame_equal(LayerTable.load(csv).frame, table.frame, check_dtype=False)


def test_cli_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"model": ["m"]}).to_parquet(bad)
    assert main(["tables", "show", str(bad)]) == 2
    assert "missing column" in capsys.readouterr().err
    assert main(["tables", "build", "--models", "x.onnx", "-o", str(tmp_path / "t.parquet")]) == 2
    assert "--system" in capsys.readouterr().err
    assert main(["tables", "build", "--models", str(_tiny_onnx(tmp_path / "m.onnx")), "--system", "relmas6",
                 "--backend", "nonexistent", "-o", str(tmp_path / "t.parquet")]) == 2
    assert "unknown cost backend" in capsys.readouterr().err


def test_analytical_version_follows_the_cost_model_source(tmp_path, monkeypatch):
    """The cache key's version is a hash of the mapper/access-counting code, so editing it starts a fresh cache."""
    import hashlib
    from pathlib import Path

    from hwmodel.backends import analytical

    version = analytical.AnalyticalBackend().version
    assert version.startswith("2+") and version == analytical.model_version()
    root = Path(analytical.__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in analytical._MODEL_SOURCES:
        digest.update(name.encode())
        digest.update((root / name).read_bytes())
    assert version == "2+" + digest.hexdigest()[:12]
    # a changed source gives another version
    fake = tmp_path / "hwmodel"
    (fake / "backends").mkdir(parents=True)
    for name in analytical._MODEL_SOURCES:
        (fake / name).write_bytes((root / name).read_bytes())
    (fake / "mapper.py").write_bytes((root / "mapper.py").read_bytes() + b"\n# edited\n")
    monkeypatch.setattr(analytical, "__file__", str(fake / "backends" / "analytical.py"))
    analytical.model_version.cache_clear()
    try:
        assert analytical.model_version() != version
    finally:
        monkeypatch.undo()
        analytical.model_version.cache_clear()
    assert analytical.model_version() == version
