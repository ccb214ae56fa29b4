"""`mascot pipeline solve / bench` end to end on a small ONNX model built here."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mascot.cli import main
from scheduler.pipeline.costs import load_graph, problem_from_graph


def _conv(name: str, inp: str, out: str, c: int, m: int, k: int = 3) -> tuple[onnx.NodeProto, onnx.TensorProto]:
    w = numpy_helper.from_array(np.zeros((m, c, k, k), dtype=np.float32), f"{name}_w")
    node = helper.make_node("Conv", [inp, f"{name}_w"], [out], name=name, pads=[k // 2] * 4)
    return node, w


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory):
    """conv → relu → (conv, conv) → add → conv → global pool: a DAG with one skip."""
    nodes, inits = [], []
    for args in (("c1", "x", "a", 3, 16), ("c2", "r", "b", 16, 32), ("c3", "r", "c", 16, 32), ("c4", "s", "d", 32, 64)):
        n, w = _conv(*args)
        nodes.append(n)
        inits.append(w)
    nodes.insert(1, helper.make_node("Relu", ["a"], ["r"], name="relu"))
    nodes.insert(4, helper.make_node("Add", ["b", "c"], ["s"], name="add"))
    nodes.append(helper.make_node("GlobalAveragePool", ["d"], ["y"], name="gap"))
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    onnx.save(model, path)
    return path


def test_problem_from_onnx_uses_edge_tpu_figures(small_onnx):
    graph = load_graph(small_onnx)
    p = problem_from_graph(graph, "edge_tpu", 2)
    assert p.n_layers == len(graph)
    assert p.param_mem_bytes == 8 * 2**20
    # int8: one byte per parameter and per activation element
    assert p.param_bytes.sum() == graph.params
    first = graph.layers[0]
    assert p.host_in_bytes[0] == first.input_elements
    # roofline: conv 3→16, 3x3, 32x32 outputs on 64x64 PEs = 32*32*9 cycles at 480 MHz
    assert p.compute_time_s[0] == pytest.approx(32 * 32 * 9 / 480e6)


@pytest.mark.parametrize("solver", ["exact", "heuristic", "balanced", "learned"])
def test_solve_json(small_onnx, solver, capsys):
    rc = main(["pipeline", "solve", "--model", str(small_onnx), "--stages", "2", "--solver", solver, "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bottleneck_s"] > 0 and out["solve_time_s"] >= 0
    assert out["bottleneck_s"] == pytest.approx(max(out["stage_time_s"]))
    assert len(out["stage_layers"]) == 2


def test_solve_table_output(small_onnx, capsys):
    assert main(["pipeline", "solve", "--model", str(small_onnx), "--stages", "3", "--solver", "balanced"]) == 0
    text = capsys.readouterr().out
    assert "bottleneck" in text and "tiny on 3" in text


def test_bad_solver_is_a_user_error(small_onnx, capsys):
    assert main(["pipeline", "solve", "--model", str(small_onnx), "--solver", "magic"]) == 2
    assert "unknown solver" in capsys.readouterr().err


def test_bench_writes_table_and_plot(small_onnx, tmp_path, capsys):
    rc = main(["pipeline", "bench", "--models", str(small_onnx), "--stages", "2,3", "--time-limit", "5",
               "--out", str(tmp_path), "--json"])
    assert rc == 0
    head = json.loads(capsys.readouterr().out)
    assert head["cases"] == 2
    for name in ("results.csv", "summary.csv", "summary.md", "summary.png", "headline.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert "learned_gap_pct" in (tmp_path / "summary.md").read_text()
