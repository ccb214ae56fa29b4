"""`mascot models ...` and `mascot workload ...` end to end, through `mascot.cli.main`."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from mascot.cli import main
from workloads.traces import generate_trace, load_trace

# conv 3→4 (3×3, pad 1) on 8×8, then global pool and a 4→10 Gemm; no biases
CONV_MACS = 4 * 8 * 8 * 3 * 3 * 3
GEMM_MACS = 4 * 10
PARAMS = 4 * 3 * 3 * 3 + 4 * 10


def tiny_cnn(path, dims=("batch", 3, 8, 8)):
    """A small CNN with a symbolic batch (and optionally other symbolic dims), weights as initializers."""
    rng = np.random.default_rng(0)
    w1 = helper.make_tensor("w1", TensorProto.FLOAT, [4, 3, 3, 3], rng.standard_normal(108).astype(np.float32))
    w2 = helper.make_tensor("w2", TensorProto.FLOAT, [4, 10], rng.standard_normal(40).astype(np.float32))
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu1"),
        helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w2"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        initializer=[w1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return path


def run_json(capsys, argv):
    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)


# --- mascot models show ------------------------------------------------------------------
def test_models_show_file_totals(tmp_path, capsys):
    path = tiny_cnn(tmp_path / "tiny.onnx")
    doc = run_json(capsys, ["models", "show", str(path), "--json"])
    assert doc["summary"]["macs"] == CONV_MACS + GEMM_MACS
    assert doc["summary"]["params"] == PARAMS
    conv = next(layer for layer in doc["layers"] if layer["op_type"] == "Conv")
    assert (conv["C"], conv["M"], conv["R"], conv["S"], conv["P"], conv["Q"]) == (3, 4, 3, 3, 8, 8)
    assert conv["macs"] == CONV_MACS


def test_models_show_batch_scales_macs(tmp_path, capsys):
    path = tiny_cnn(tmp_path / "tiny.onnx")
    doc = run_json(capsys, ["models", "show", str(path), "--batch", "4", "--json"])
    assert doc["summary"]["macs"] == 4 * (CONV_MACS + GEMM_MACS)


def test_models_show_layers_table(tmp_path, capsys):
    path = tiny_cnn(tmp_path / "tiny.onnx")
    assert main(["models", "show", str(path), "--layers"]) == 0
    out = capsys.readouterr().out
    assert "Conv" in out and "Gemm" in out
    assert f"{CONV_MACS + GEMM_MACS:,}" in out  # exact total
    assert "6.912 k" in out  # the conv's MACs, compact in the layer table


def test_layer_rows_give_op_dims_and_sizes(tmp_path):
    from workloads.cli_models import layer_rows
    from workloads.onnx_import import load_onnx

    rows = layer_rows(load_onnx(tiny_cnn(tmp_path / "tiny.onnx"))).set_index("name")
    assert rows.loc["conv1", "dims"] == "N1 C3 M4 R3S3 P8Q8"
    assert rows.loc["conv1", "op"].startswith("Conv")
    assert (rows.loc["conv1", "MACs"], rows.loc["conv1", "weights"]) == (CONV_MACS, 108)
    assert (rows.loc["conv1", "inputs"], rows.loc["conv1", "outputs"]) == (3 * 8 * 8, 4 * 8 * 8)
    assert rows.loc["fc", "dims"] == "N1 C4 M10 P1Q1"


def test_models_show_input_shape_resolves_symbolic_dims(tmp_path, capsys):
    path = tiny_cnn(tmp_path / "sym.onnx", dims=("batch", 3, "height", "width"))
    doc = run_json(capsys, ["models", "show", str(path), "--input-shape", "x=2,3,16,16", "--json"])
    assert doc["summary"]["macs"] == 2 * (4 * 16 * 16 * 27 + GEMM_MACS)


def custom_op_model(path):
    node = helper.make_node("Frobnicate", ["x"], ["y"], name="frob", domain="com.example")
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x0"], ["x"], name="relu"), node], "custom",
        [helper.make_tensor_value_info("x0", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    onnx.save(model, path)
    return path


def test_models_show_allow_unknown(tmp_path, capsys):
    path = custom_op_model(tmp_path / "custom.onnx")
    assert main(["models", "show", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "frob" in err and "Frobnicate" in err and "--allow-unknown" in err
    assert main(["models", "show", str(path), "--allow-unknown"]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "Frobnicate" in " ".join(captured.err.split())
    assert "custom" in captured.out


# --- mascot models list / show NAME / export / build-zoo ---------------------------------------
def test_models_list_shows_the_zoo(capsys):
    from workloads.zoo import model_names

    rows = run_json(capsys, ["models", "list", "--json"])
    names = [r["name"] for r in rows]
    assert names == model_names()
    assert {"resnet50", "alexnet"} <= set(names)
    resnet = next(r for r in rows if r["name"] == "resnet50")
    assert resnet["macs"] == pytest.approx(4_089.2e6, rel=0.005)
    assert main(["models", "list"]) == 0
    assert "resnet50" in capsys.readouterr().out


def test_models_show_zoo_name(capsys):
    doc = run_json(capsys, ["models", "show", "resnet50", "--json"])
    assert doc["summary"]["macs"] == pytest.approx(4_089.2e6, rel=0.005)


def test_models_export_copies_the_zoo_file(tmp_path, capsys):
    from workloads.zoo import model_path

    out = tmp_path / "out" / "r50.onnx"
    assert main(["models", "export", "resnet50", "-o", str(out)]) == 0
    assert out.read_bytes() == model_path("resnet50").read_bytes()
    assert [p.name for p in out.parent.iterdir()] == ["r50.onnx"]


# --- mascot workload ---------------------------------------------------------------------------
def test_workload_generate_and_show(tmp_path, capsys):
    out = tmp_path / "trace.parquet"
    argv = ["workload", "generate", "--set", "mixed", "--qos", "medium", "--duration-ms", "1000",
            "--mean-interarrival-ms", "2", "--seed", "0", "-o", str(out)]
    assert main(argv) == 0
    assert "requests per model" in capsys.readouterr().out
    trace = load_trace(out)
    expected = generate_trace("mixed", qos="medium", duration_s=1.0, mean_interarrival_s=0.002, seed=0)
    assert trace.equals(expected)

    doc = run_json(capsys, ["workload", "show", str(out), "--json"])
    assert doc["requests"] == len(expected)
    assert doc["workload_set"] == "mixed" and doc["seed"] == 0
    assert sum(row["requests"] for row in doc["per_model"]) == len(expected)
    assert doc["arrival_rate_per_s"] == pytest.approx(len(expected) / 1.0)

    assert main(["workload", "show", str(out), "--rows", "3"]) == 0
    text = capsys.readouterr().out
    assert "first 3 of" in text and "arrival_s" in text


def test_workload_generate_models_weights_and_options(tmp_path, capsys):
    out = tmp_path / "trace.json"
    argv = ["workload", "generate", "--models", "resnet50,alexnet", "--weights", "1,3", "--qos", "mixed",
            "--pareto-shape", "3", "--qos-factor", "2", "--duration-ms", "500", "--mean-interarrival-ms", "1",
            "--seed", "5", "-o", str(out)]
    assert main(argv) == 0
    trace = load_trace(out)
    expected = generate_trace(["resnet50", "alexnet"], weights=[1, 3], qos="mixed", pareto_shape=3.0,
                              medium_qos_factor=2.0, duration_s=0.5, mean_interarrival_s=0.001, seed=5)
    assert trace.equals(expected)
    assert set(trace.frame["qos_factor"]) <= {2.4, 2.0, 1.6}


def test_workload_generate_without_output_prints_only(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = run_json(capsys, ["workload", "generate", "--set", "light", "--json", "--duration-ms", "100"])
    assert doc["path"] is None and doc["workload_set"] == "light"
    assert list(tmp_path.iterdir()) == []


# --- mascot models build-zoo -------------------------------------------------------------------
def test_build_zoo_writes_files_and_manifest(tmp_path, capsys):
    out = tmp_path / "zoo"
    assert main(["models", "build-zoo", "-o", str(out), "--only", "kws,yolo-lite"]) == 0
    assert {"kws.onnx", "yolo-lite.onnx", "manifest.json"} <= {p.name for p in out.iterdir()}
    manifest = json.loads((out / "manifest.json").read_text())
    rows = {row["name"]: row for row in manifest["models"]}
    assert rows["kws"]["macs"] == pytest.approx(2.7e6, rel=0.05)
    assert rows["yolo-lite"]["macs"] == pytest.approx(240.0e6, rel=0.005)
    assert "kws" in capsys.readouterr().out


def test_build_zoo_without_the_zoo_extra(tmp_path, capsys, monkeypatch):
    """A library network needs pytorchcv: without it, a MascotError tells how to install the extra."""
    import sys

    for name in [m for m in sys.modules if m == "pytorchcv" or m.startswith("pytorchcv.")] + ["pytorchcv"]:
        monkeypatch.setitem(sys.modules, name, None)  # what an interpreter without the package sees
    assert main(["models", "build-zoo", "-o", str(tmp_path / "zoo"), "--only", "resnet18"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "pytorchcv" in err and "make zoo" in err


# --- startup cost ----------------------------------------------------------------------------
def _modules_after(code: str) -> set[str]:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_cli_import_path_stays_light():
    """Registering `mascot models` / `mascot workload` must not import pandas, numpy, onnx or torch."""
    ours = _modules_after("import workloads.cli, workloads.cli_models, workloads.cli_workload")
    assert not {"pandas", "numpy", "onnx", "torch", "xgboost", "optuna"} & ours


def test_transformer_zoo_models_refuse_other_batches(capsys):
    assert main(["models", "show", "bert-base", "--batch", "2"]) == 2
    assert "batch" in capsys.readouterr().err


def test_workload_generate_accepts_zoo_aliases(tmp_path, capsys):
    out = tmp_path / "t.parquet"
    argv = ["workload", "generate", "--models", "SqueezeNet,yolo-lite,kws", "--duration-ms", "50", "-o", str(out)]
    assert main(argv) == 0
    assert load_trace(out).models == ("squeezenet1_1", "yolo-lite", "kws")
