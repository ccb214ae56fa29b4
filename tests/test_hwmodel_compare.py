"""Cross-backend comparison: joining, ratios, summary, files and the ``mascot tables compare`` CLI.

The first tests compare two settings of the analytical backend (no extra needed); the ZigZag ones
skip without the ``zigzag`` extra and use layers small enough for ZigZag's search to take seconds.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from hwmodel.backends.analytical import AnalyticalBackend
from hwmodel.compare import METRICS, compare_backends
from mascot.errors import MascotError
from workloads.graph import LayerGraph
from workloads.layer import Layer, LayerKind


def _tiny_graph(name: str = "tiny") -> LayerGraph:
    """conv (C4 → M14, 3x3, 2x7 output) → max pool → fc: one layer of each kind."""
    layers = [
        Layer(name="conv", op_type="Conv", kind=LayerKind.CONV, C=4, M=14, R=3, S=3, P=2, Q=7,
              input_elements=4 * 4 * 9, output_elements=14 * 14, weight_elements=4 * 14 * 9),
        Layer(name="pool", op_type="MaxPool", kind=LayerKind.VECTOR, C=14, M=14, P=1, Q=7,
              input_elements=14 * 14, output_elements=14 * 7, vector_ops=14 * 7 * 2),
        Layer(name="fc", op_type="Gemm", kind=LayerKind.MATMUL, C=98, M=16, P=1,
              input_elements=98, output_elements=16, weight_elements=98 * 16),
    ]
    return LayerGraph.from_layers(name, layers, [("conv", "pool"), ("pool", "fc")])


@pytest.fixture(scope="module")
def two_analytical():
    backends = {"delay": AnalyticalBackend(objective="delay"), "energy": AnalyticalBackend(objective="energy")}
    return compare_backends([_tiny_graph()], ["eyeriss_like"], backends, progress=False)


def test_join_ratios_and_summary(two_analytical):
    cmp = two_analytical
    assert cmp.backends == ["delay", "energy"] and cmp.reference == "delay"
    df = cmp.frame
    assert list(df["layer"]) == ["conv", "pool", "fc"]
    for m in METRICS:
        expect = df[f"{m}@energy"] / df[f"{m}@delay"]
        np.testing.assert_allclose(df[f"{m}_ratio@energy"], expect)
    # the energy-objective mapper never spends more energy than the delay one on a MAC layer
    mac = df[df["kind"] != "vector"]
    assert (mac["energy_pj@energy"] <= mac["energy_pj@delay"] * (1 + 1e-9)).all()
    s = cmp.summary.set_index("backend")
    assert s.loc["delay", "mac_layers"] == 2  # the pool is not in the statistics
    assert s.loc["delay", "cycles_total"] == mac["cycles@delay"].sum()
    assert s.loc["energy", "energy_pj_total_ratio"] == pytest.approx(
        mac["energy_pj@energy"].sum() / mac["energy_pj@delay"].sum())
    r = mac["cycles_ratio@energy"].to_numpy()
    assert s.loc["energy", "cycles_gmean_ratio"] == pytest.approx(float(np.exp(np.log(r).mean())))
    assert s.loc["energy", "cycles_min_ratio"] == pytest.approx(r.min())
    assert (s["wall_time_s"] > 0).all()


def test_save_writes_every_file(two_analytical, tmp_path):
    files = two_analytical.save(tmp_path / "cmp")
    back = pd.read_csv(files["comparison"])
    assert list(back["layer"]) == ["conv", "pool", "fc"] and "cycles_ratio@energy" in back
    meta = json.loads(files["json"].read_text())
    assert meta["reference"] == "delay" and set(meta["wall_time_s"]) == {"delay", "energy"}
    assert files["parity"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from hwmodel.tables import LayerTable

    assert len(LayerTable.load(files["table_energy"])) == 3


def test_bad_backend_lists():
    with pytest.raises(MascotError, match="at least two"):
        compare_backends([_tiny_graph()], ["eyeriss_like"], ["analytical"], progress=False)
    with pytest.raises(MascotError, match="twice"):
        compare_backends([_tiny_graph()], ["eyeriss_like"], ["analytical", "analytical"], progress=False)
    with pytest.raises(MascotError, match="unknown cost backend"):
        compare_backends([_tiny_graph()], ["eyeriss_like"], ["analytical", "nosuch"], progress=False)


def test_save_refuses_a_file_as_folder(two_analytical, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("")
    with pytest.raises(MascotError, match="folder"):
        two_analytical.save(f)


# --- with ZigZag -----------------------------------------------------------------------------

def _tiny_onnx(path):
    """conv 4→14 (3x3, no padding) on a 4x9 input → relu → global average pool."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [14, 4, 3, 3], np.zeros(14 * 4 * 9, np.float32))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["y"], name="gap")]
    graph = helper.make_graph(nodes, "tinyzz", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 9])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 14, 1, 1])], initializer=[w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.zigzag
def test_analytical_against_zigzag():
    pytest.importorskip("zigzag", reason="needs the zigzag extra (pip install 'mascot[zigzag]')")
    cmp = compare_backends([_tiny_graph()], ["eyeriss_like"], ["analytical", "zigzag"], progress=False)
    df = cmp.frame.set_index("layer")
    assert list(df["source@zigzag"]) == ["zigzag", "analytical", "zigzag"]  # the pool is analytical in both
    assert df.loc["pool", "cycles_ratio@zigzag"] == 1.0
    for layer in ("conv", "fc"):
        # two independent models of the same hardware agree within an order of magnitude
        for m in METRICS:
            assert 0.1 < df.loc[layer, f"{m}_ratio@zigzag"] < 10, (layer, m)
    # the runs keep each backend's full table: ZigZag writes every output to DRAM exactly once (16-bit words)
    zz = {r.backend: r.table.frame.set_index("layer") for r in cmp.runs}["zigzag"]
    assert zz.loc["conv", "dram_write_bytes"] == 14 * 2 * 7 * 2
    assert zz.loc["fc", "dram_write_bytes"] == 16 * 2
    assert (cmp.summary["wall_time_s"] > 0).all()


@pytest.mark.zigzag
def test_cli_tables_compare(tmp_path):
    pytest.importorskip("zigzag", reason="needs the zigzag extra (pip install 'mascot[zigzag]')")
    import typer

    from hwmodel.cli_compare import register
    from hwmodel.cli_tables import register as register_tables

    app = typer.Typer()
    register_tables(app)
    register(app)
    model = _tiny_onnx(tmp_path / "tinyzz.onnx")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["tables", "compare", "--backends", "analytical,zigzag", "--models", str(model),
                                      "--accelerator", "eyeriss_like", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "ratio to analytical" in result.output and "wall" in result.output
    for name in ("comparison.csv", "summary.csv", "comparison.json", "parity.png", "tables/zigzag.parquet"):
        assert (out / name).is_file(), name
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["backend"]) == ["analytical", "zigzag"]


def test_cli_errors_name_the_fix(tmp_path):
    import typer

    from hwmodel.cli_compare import register
    from hwmodel.cli_tables import register as register_tables

    app = typer.Typer()
    register_tables(app)
    register(app)
    runner = CliRunner()
    common = ["--models", "alexnet", "--accelerator", "eyeriss_like", "-o", str(tmp_path / "c")]
    result = runner.invoke(app, ["tables", "compare", "--backends", "analytical", *common])
    assert isinstance(result.exception, MascotError) and "at least two" in str(result.exception)
    result = runner.invoke(app, ["tables", "compare", "--backends", "analytical,zigzag",
                                 "--timeloop-bin", str(tmp_path), *common])
    assert isinstance(result.exception, MascotError) and "--timeloop-bin" in str(result.exception)
    result = runner.invoke(app, ["tables", "compare", "--backends", "analytical,analytical", *common])
    assert isinstance(result.exception, MascotError) and "twice" in str(result.exception)


def test_missing_timeloop_fails_before_any_backend_runs():
    import shutil

    if shutil.which("timeloop-mapper"):
        pytest.skip("timeloop-mapper is installed here")
    with pytest.raises(MascotError, match="timeloop-mapper"):
        # zigzag is never run (nor needed): every backend is resolved before the first table is built
        compare_backends([_tiny_graph()], ["eyeriss_like"], ["analytical", "timeloop"], progress=False)
