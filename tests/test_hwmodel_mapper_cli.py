"""``mascot timeloop-model``, ``mascot timeloop-mapper`` and ``mascot map`` on real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper

from hwmodel.mapping import Mapping
from hwmodel.spec import load_accelerator
from hwmodel.timeloop_format import write_timeloop
from mascot.cli import main

CONV1 = "DRAM[WIO]: Q55 C3 | shared_glb[IO]: P55 M12X | DummyBuffer[]: S11Y | ifmap_spad[I]: - | weights_spad[W]: R11 | psum_spad[O]: M8"
# Timeloop v3.0.3 on this mapping (tests/data/calibration/timeloop_rows.csv)
CONV1_CYCLES, CONV1_ENERGY_PJ = 798600, 859660996.18
PROBLEM = """\
problem:
  shape:
    name: CNN-Layer
    dimensions: [C, M, R, S, N, P, Q]
  instance: {C: 3, M: 96, R: 11, S: 11, N: 1, P: 55, Q: 55, Hstride: 4, Wstride: 4, Hdilation: 1, Wdilation: 1}
"""


@pytest.fixture()
def timeloop_files(tmp_path: Path) -> dict[str, Path]:
    files = write_timeloop(load_accelerator("eyeriss_like"), tmp_path)
    files["problem"] = tmp_path / "conv1.yaml"
    files["problem"].write_text(PROBLEM)
    files["mapping"] = tmp_path / "conv1.map.yaml"
    files["mapping"].write_text(Mapping.from_compact(CONV1).to_timeloop_yaml())
    files["mapper"] = tmp_path / "mapper.yaml"
    files["mapper"].write_text("mapper:\n  optimization-metrics: [edp]\n  algorithm: random-pruned\n")
    return files


def _json_out(capsys) -> dict:  # noqa: ANN001
    return json.loads(capsys.readouterr().out)


def test_timeloop_model_reproduces_timeloop(timeloop_files, capsys) -> None:
    f = timeloop_files
    argv = ["timeloop-model", str(f["arch"]), str(f["constraints"]), str(f["problem"]), str(f["mapping"]),
            "--ert", str(f["ert"]), "--json"]
    assert main(argv) == 0
    out = _json_out(capsys)
    assert out["cycles"] == CONV1_CYCLES
    assert out["energy_pj"] == pytest.approx(CONV1_ENERGY_PJ, rel=1e-6)
    assert out["utilization"] == pytest.approx(132 / 168)
    assert sum(out["energy_breakdown_pj"].values()) == pytest.approx(out["energy_pj"])
    assert out["dram_read_bytes"] == 2 * 2328645 and out["dram_write_bytes"] == 2 * 290400
    assert {"level": "ifmap_spad", "tensor": "Inputs", "fills": 37455} .items() <= next(
        r for r in out["levels"] if r["level"] == "ifmap_spad").items()
    # the rich table form works too
    assert main(argv[:-1]) == 0
    assert "798,600" in capsys.readouterr().out


def test_timeloop_mapper_writes_a_mapping_timeloop_model_reads(timeloop_files, tmp_path, capsys) -> None:
    f = timeloop_files
    out_map = tmp_path / "best.map.yaml"
    argv = ["timeloop-mapper", str(f["arch"]), str(f["constraints"]), str(f["mapper"]), str(f["problem"]),
            "--ert", str(f["ert"]), "-o", str(out_map), "--json"]
    assert main(argv) == 0
    found = _json_out(capsys)
    assert found["objective"] == "edp"  # from the mapper file's optimization-metrics
    assert found["cycles"] * found["energy_pj"] <= 1.05 * CONV1_CYCLES * CONV1_ENERGY_PJ
    assert "mapping" in yaml.safe_load(out_map.read_text())
    assert main(["timeloop-model", str(f["arch"]), str(f["problem"]), str(out_map), "--ert", str(f["ert"]), "--json"]) == 0
    again = _json_out(capsys)
    assert again["cycles"] == found["cycles"] and again["energy_pj"] == pytest.approx(found["energy_pj"])


def test_timeloop_bad_inputs_name_file_and_field(timeloop_files, tmp_path, capsys) -> None:
    f = timeloop_files
    bad = tmp_path / "bad_problem.yaml"
    bad.write_text("problem:\n  instance: {C: three, M: 96}\n")
    assert main(["timeloop-model", str(f["arch"]), str(bad), str(f["mapping"])]) == 2
    assert "bad_problem.yaml" in capsys.readouterr().err
    wrong = tmp_path / "wrong.map.yaml"
    wrong.write_text(Mapping.from_compact(CONV1.replace("Q55 C3", "Q11 C3")).to_timeloop_yaml())
    assert main(["timeloop-model", str(f["arch"]), str(f["problem"]), str(wrong)]) == 2
    err = capsys.readouterr().err
    assert "wrong.map.yaml" in err and "Q: factors multiply to 11" in err
    junk = tmp_path / "junk.yaml"
    junk.write_text("hello: 1\n")
    assert main(["timeloop-model", str(f["arch"]), str(junk), str(f["mapping"])]) == 2
    assert "not a Timeloop input file" in capsys.readouterr().err
    assert main(["timeloop-mapper", str(f["arch"]), str(f["problem"]), "--objective", "speed"]) == 2


def _tiny_onnx(path: Path) -> Path:
    def w(name, shape):  # noqa: ANN001, ANN202
        return helper.make_tensor(name, TensorProto.FLOAT, shape, np.zeros(int(np.prod(shape)), np.float32))

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("MaxPool", ["c1"], ["r1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="pool1"),
        helper.make_node("Conv", ["r1", "w2"], ["y"], kernel_shape=[1, 1], name="conv2"),
    ]
    graph = helper.make_graph(
        nodes, "tinymap",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 16, 16])],
        initializer=[w("w1", [16, 8, 3, 3]), w("w2", [16, 16, 1, 1])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_map_command(tmp_path, capsys) -> None:
    model = _tiny_onnx(tmp_path / "tiny.onnx")
    out_map = tmp_path / "conv1.map.yaml"
    argv = ["map", "--model", str(model), "--layer", "conv1", "--accelerator", "eyeriss_small",
            "--objective", "edp", "--timeloop-yaml", str(out_map), "--json"]
    assert main(argv) == 0
    out = _json_out(capsys)
    assert out["macs"] == 16 * 8 * 9 * 16 * 16
    assert out["cycles"] >= out["macs"] / 256 and 0 < out["utilization"] <= 1
    assert out["mapping"].startswith("DRAM[WIO]:") and out_map.exists()
    assert main(["map", "--model", str(model), "--layer", "pool1", "--accelerator", "simba_small", "--json"]) == 0
    vec = _json_out(capsys)
    assert vec["cycles"] >= 1 and vec["energy_pj"] > 0
    assert main(["map", "--model", str(model), "--accelerator", "simba_small"]) == 0  # lists the layers
    assert "conv2" in capsys.readouterr().out
    assert main(["map", "--model", str(model), "--layer", "nope", "--accelerator", "simba_small"]) == 2
    assert "no layer 'nope'" in capsys.readouterr().err
