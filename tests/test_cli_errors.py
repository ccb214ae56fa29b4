"""Bad input to `mascot models` / `mascot workload` → exit status 2 and one message naming the culprit.

Never a traceback: each case runs through `mascot.cli.main` (what the console script calls) and
checks the message names the file / option / field and says how to fix it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mascot.cli import main


def fails(capsys, argv: list[str], *words: str) -> str:
    capsys.readouterr()
    status = main(argv)
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())  # rich may wrap long lines
    assert status == 2, (status, captured.out, captured.err)
    assert err.startswith("error:"), captured.err
    assert "Traceback" not in captured.err + captured.out
    for word in words:
        assert word in err, (word, captured.err)
    return err


def test_broken_onnx_file(tmp_path, capsys):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07this is not a protobuf model" * 3)
    fails(capsys, ["models", "show", str(path)], str(path))


def test_truncated_onnx_file(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    data = helper.make_model(graph).SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(Exception):  # the bytes really are broken for onnx itself
        onnx.load_from_string(data[: len(data) // 2])
    fails(capsys, ["models", "show", str(path)], str(path))


def test_missing_onnx_file(tmp_path, capsys):
    fails(capsys, ["models", "show", str(tmp_path / "nope.onnx")], "nope.onnx", "not found")


def test_unknown_zoo_name(capsys):
    err = fails(capsys, ["models", "show", "resnet5O"], "resnet5O", "mascot models list")
    assert "resnet50" in err  # close match suggested / zoo names listed
    fails(capsys, ["models", "export", "nosuchnet", "-o", "x.onnx"], "nosuchnet")


@pytest.mark.parametrize("spec", ["x", "x=", "=1,2", "x=1,a,3", "x=1,0,3", "x=1,-3"])
def test_bad_input_shape(tmp_path, capsys, spec):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"")  # never read: the option is checked first
    fails(capsys, ["models", "show", str(path), "--input-shape", spec], "--input-shape", "NAME=d0,d1")


def test_non_trace_parquet(tmp_path, capsys):
    path = tmp_path / "table.parquet"
    pd.DataFrame({"layer": ["conv1"], "cycles": [10]}).to_parquet(path, index=False)
    fails(capsys, ["workload", "show", str(path)], str(path), "job_id", "workload generate")


def test_trace_with_unknown_qos_level(tmp_path, capsys):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"job_id": [0], "arrival_s": [0.0], "model": ["kws"], "qos": ["urgent"],
                  "qos_factor": [1.0]}).to_parquet(path, index=False)
    fails(capsys, ["workload", "show", str(path)], str(path), "qos", "urgent", "low, medium, high")


def test_not_a_parquet_trace(tmp_path, capsys):
    path = tmp_path / "junk.parquet"
    path.write_text("hello")
    fails(capsys, ["workload", "show", str(path)], str(path), "Parquet")


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--set", "medium-ish"], ["medium-ish", "light"]),
        (["--set", "light", "--models", "kws"], ["--set", "--models"]),
        (["--models", "resnet50,notanet"], ["notanet", "mascot models list"]),
        (["--models", "resnet50,", "--weights", "1"], ["--models"]),
        (["--models", "resnet50,alexnet", "--weights", "1,x"], ["--weights", "'x'"]),
        (["--models", "resnet50,alexnet", "--weights", "1"], ["1 weight(s) for 2 model(s)"]),
        (["--qos", "urgent"], ["--qos", "urgent", "mixed"]),
        (["--qos", "low=2,top=1"], ["--qos", "top"]),
        (["--pareto-shape", "0.9"], ["--pareto-shape", "> 1"]),
        (["--mean-interarrival-ms", "0"], ["--mean-interarrival-ms"]),
        (["--duration-ms", "-5"], ["--duration-ms"]),
        (["--qos-factor", "-1"], ["--qos-factor"]),
        (["-o", "trace.csv"], ["trace.csv", ".parquet"]),
    ],
)
def test_bad_workload_generate_options(tmp_path, capsys, monkeypatch, extra, words):
    monkeypatch.chdir(tmp_path)
    fails(capsys, ["workload", "generate", "--duration-ms", "10", *extra], *words)
    assert list(tmp_path.iterdir()) == []
