"""Malformed ONNX input gives MascotError (naming file, node and fix), never a traceback; fuzzed bytes too."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from mascot.errors import MascotError
from workloads.graph import LayerGraph
from workloads.onnx_import import load_onnx

F = TensorProto.FLOAT


def _io(name, *shape):
    return helper.make_tensor_value_info(name, F, list(shape) if shape else None)


def _w(name, *shape):
    return numpy_helper.from_array(np.full(shape, 0.5, np.float32), name)


def _model(nodes, inputs, outputs, inits=(), check=False) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if check:
        onnx.checker.check_model(model)
    return model


def _small_valid() -> onnx.ModelProto:
    """A few-hundred-byte model touching the main code paths: conv, BN fusion, pool, reshape, gemm, softmax."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1], group=2),
             helper.make_node("BatchNormalization", ["c", "s", "b", "s", "s"], ["n"], name="bn"),
             helper.make_node("Relu", ["n"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p", "shape"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fw"], ["g"], name="fc", transB=1),
             helper.make_node("Softmax", ["g"], ["y"], name="sm")]
    inits = [_w("w", 4, 1, 3, 3), _w("s", 4), _w("b", 4), numpy_helper.from_array(np.array([1, 16], np.int64), "shape"),
             _w("fw", 3, 16)]
    return _model(nodes, [_io("x", 1, 2, 4, 4)], [_io("y", 1, 3)], inits, check=True)


VALID_BYTES = _small_valid().SerializeToString()


def _write(tmp_path: Path, data: bytes | onnx.ModelProto, name: str = "bad.onnx") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.SerializeToString())
    return path


def test_small_valid_model_loads(tmp_path):
    g = load_onnx(_write(tmp_path, VALID_BYTES, "ok.onnx"))
    assert [layer.name for layer in g.layers] == ["conv", "pool", "fc", "sm"]
    assert g.macs == 4 * 16 * 9 + 3 * 16


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(MascotError, match="nope.onnx: file not found"):
        load_onnx(tmp_path / "nope.onnx")
    with pytest.raises(MascotError, match="not a regular file"):
        load_onnx(tmp_path)


@pytest.mark.parametrize("data", [b"", b"hello, not a protobuf \x00\xff\xfe", bytes(range(256)) * 4,
                                  VALID_BYTES[: len(VALID_BYTES) // 2], VALID_BYTES[:7]],
                         ids=["empty", "text", "binary", "half", "head"])
def test_garbage_and_truncated(tmp_path, data):
    with pytest.raises(MascotError) as err:
        load_onnx(_write(tmp_path, data))
    assert "bad.onnx" in str(err.value) and "hint:" in str(err.value)


def test_cycle(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second"),
             helper.make_node("Relu", ["b"], ["y"], name="third")]
    with pytest.raises(MascotError, match="cycle through nodes first, second"):
        load_onnx(_write(tmp_path, _model(nodes, [_io("x", 2)], [_io("y", 2)])))


def test_dangling_and_duplicate_tensors(tmp_path):
    nodes = [helper.make_node("Add", ["x", "ghost"], ["y"], name="adder")]
    with pytest.raises(MascotError, match="'ghost' \\(read by node 'adder'\\)"):
        load_onnx(_write(tmp_path, _model(nodes, [_io("x", 2)], [_io("y", 2)])))
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="a"), helper.make_node("Relu", ["x"], ["y"], name="b")]
    with pytest.raises(MascotError, match="tensor 'y' is produced twice"):
        load_onnx(_write(tmp_path, _model(nodes, [_io("x", 2)], [_io("y", 2)])))


def test_missing_input_shape(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    with pytest.raises(MascotError, match="'x' has no shape; pass --input-shape x="):
        load_onnx(_write(tmp_path, _model(nodes, [_io("x")], [_io("y")])))


def test_wrong_rank_and_inconsistent_conv(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c")]
    bad_rank = _model(nodes, [_io("x", 1, 3, 8)], [_io("y")], [_w("w", 4, 3, 3, 3)])
    with pytest.raises(MascotError, match="node name: c|node 'c'"):
        load_onnx(_write(tmp_path, bad_rank))
    rank2 = _model([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], [_io("x", 1, 3)], [_io("y")],
                   [_w("w", 4, 3)])
    with pytest.raises(MascotError, match=r"Conv, node name: c\).*at least 3 dimensions"):
        load_onnx(_write(tmp_path, rank2))
    channels = _model(nodes, [_io("x", 1, 5, 8, 8)], [_io("y")], [_w("w", 4, 3, 3, 3)])
    with pytest.raises(MascotError, match="c"):
        load_onnx(_write(tmp_path, channels))
    zero_group = _model([helper.make_node("Conv", ["x", "w"], ["y"], name="c", group=0)], [_io("x", 1, 3, 8, 8)],
                        [_io("y")], [_w("w", 4, 3, 3, 3)])
    with pytest.raises(MascotError):
        load_onnx(_write(tmp_path, zero_group))


def test_bad_batch_and_inputless_graph(tmp_path):
    path = _write(tmp_path, VALID_BYTES, "ok.onnx")
    with pytest.raises(MascotError, match="batch must be"):
        load_onnx(path, batch=0)
    c = numpy_helper.from_array(np.ones(3, np.float32), "c")
    nodes = [helper.make_node("Constant", [], ["k"], value=c), helper.make_node("Relu", ["k"], ["y"])]
    with pytest.raises(MascotError, match="no input that any node reads"):
        load_onnx(_write(tmp_path, _model(nodes, [], [_io("y", 3)])))


# --- fuzzing -----------------------------------------------------------------------------------------
_mutation = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, len(VALID_BYTES) - 1), st.just(0)),
    st.tuples(st.just("flip"), st.integers(0, len(VALID_BYTES) - 1), st.integers(1, 255)),
    st.tuples(st.just("delete"), st.integers(0, len(VALID_BYTES) - 1), st.integers(1, 16)),
    st.tuples(st.just("insert"), st.integers(0, len(VALID_BYTES)), st.integers(0, 255)),
)


def _mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for kind, pos, arg in ops:
        pos = min(pos, len(buf))
        if kind == "truncate":
            del buf[pos:]
        elif kind == "flip" and pos < len(buf):
            buf[pos] ^= arg
        elif kind == "delete":
            del buf[pos:pos + arg]
        elif kind == "insert":
            buf[pos:pos] = bytes([arg])
    return bytes(buf)


_FUZZ_DIR = Path(tempfile.mkdtemp(prefix="mascot-onnx-fuzz-"))


@settings(max_examples=int(os.environ.get("MASCOT_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_mutation, min_size=1, max_size=4))
def test_fuzzed_bytes_give_graph_or_mascot_error(ops):
    path = _FUZZ_DIR / "fuzz.onnx"
    path.write_bytes(_mutate(VALID_BYTES, ops))
    try:
        result = load_onnx(path)
    except MascotError as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(result, LayerGraph) and len(result) > 0


_VALID = _small_valid()
_NAMES = sorted({n for node in _VALID.graph.node for n in (*node.input, *node.output)} | {"x", "nowhere"})
_OPS = ["Conv", "Relu", "MaxPool", "Gemm", "MatMul", "Reshape", "Transpose", "Softmax", "Add", "ConvTranspose",
        "BatchNormalization", "Concat", "GlobalAveragePool", "Resize", "Split", "Pad", "Gather", "Mystery"]
_ATTRS = ["group", "strides", "pads", "kernel_shape", "dilations", "perm", "transA", "transB", "axis", "blocksize"]
_edit = st.one_of(
    st.tuples(st.just("attr"), st.integers(0, 6), st.sampled_from(_ATTRS),
              st.one_of(st.integers(-3, 9), st.lists(st.integers(-3, 9), max_size=5))),
    st.tuples(st.just("dims"), st.integers(0, 4), st.lists(st.integers(-1, 8), max_size=5)),
    st.tuples(st.just("rewire"), st.integers(0, 6), st.integers(0, 4), st.sampled_from(_NAMES)),
    st.tuples(st.just("op"), st.integers(0, 6), st.sampled_from(_OPS)),
    st.tuples(st.just("input_shape"), st.lists(st.integers(0, 6), min_size=0, max_size=5)),
)


def _edit_model(edits) -> onnx.ModelProto:
    model = onnx.ModelProto()
    model.CopyFrom(_VALID)
    g = model.graph
    for e in edits:
        if e[0] == "attr":
            node = g.node[e[1]]
            keep = [a for a in node.attribute if a.name != e[2]]
            del node.attribute[:]
            attr_type = onnx.AttributeProto.INTS if isinstance(e[3], list) else onnx.AttributeProto.INT
            node.attribute.extend(keep + [helper.make_attribute(e[2], e[3], attr_type=attr_type)])
        elif e[0] == "dims":
            t = g.initializer[e[1]]
            del t.dims[:]
            t.dims.extend(e[2])
        elif e[0] == "rewire":
            node = g.node[e[1]]
            if e[2] < len(node.input):
                node.input[e[2]] = e[3]
            else:
                node.input.append(e[3])
        elif e[0] == "op":
            g.node[e[1]].op_type = e[2]
        else:
            tt = g.input[0].type.tensor_type
            tt.ClearField("shape")
            for d in e[1]:
                tt.shape.dim.add().dim_value = d
    return model


@settings(max_examples=int(os.environ.get("MASCOT_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.filterwarnings("ignore::workloads.onnx_import.UnknownOperatorWarning")
@given(st.lists(_edit, min_size=1, max_size=3))
def test_fuzzed_structure_gives_graph_or_mascot_error(edits):
    """Edits that keep the protobuf valid (attributes, dims, wiring, op types) reach the op handlers."""
    path = _FUZZ_DIR / "edit.onnx"
    path.write_bytes(_edit_model(edits).SerializeToString())
    try:
        result = load_onnx(path, allow_unknown=True)
    except MascotError as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(result, LayerGraph) and len(result) > 0
