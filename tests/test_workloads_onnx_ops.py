"""Operator semantics of load_onnx on small graphs built with onnx.helper."""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mascot.errors import MascotError
from workloads.layer import LayerKind
from workloads.onnx_import import UnknownOperatorWarning, load_onnx

F = TensorProto.FLOAT


def _w(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.random.default_rng(0).standard_normal(shape).astype(np.float32), name)


def _i64(name: str, values) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _save(tmp_path, nodes, inputs, outputs, inits=(), name="m", opset=17, value_info=()) -> str:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits), value_info=list(value_info))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return str(path)


def _io(name, *shape):
    return helper.make_tensor_value_info(name, F, list(shape))


def test_bn_not_folded_when_conv_output_is_shared(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"], name="bn"),
             helper.make_node("Relu", ["bn"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "c"], ["y"], name="add")]
    inits = [_w("w", 8, 3, 3, 3), _w("s", 8), _w("b", 8), _w("m", 8), _w("v", 8)]
    g = load_onnx(_save(tmp_path, nodes, [_io("x", 1, 3, 8, 8)], [_io("y", 1, 8, 8, 8)], inits))
    # the conv feeds BN and the Add: nothing is fused; activations fuse only into MAC layers, so Relu stays
    assert [layer.op_type for layer in g.layers] == ["Conv", "BatchNormalization", "Relu", "Add"]
    assert g["conv"].fused == () and g["bn"].fused == ()
    bn = g["bn"]
    assert bn.kind is LayerKind.VECTOR and bn.weight_elements == 16 and bn.vector_ops == 2 * 512
    assert set(g.predecessors("add")) == {"conv", "relu"}


def test_fusion_chain_bn_activation_bias(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"]),
             helper.make_node("Mul", ["bn", "scale"], ["sc"]),
             helper.make_node("LeakyRelu", ["sc"], ["y"], alpha=0.1)]
    inits = [_w("w", 4, 3, 1, 1), _w("s", 4), _w("b", 4), _w("m", 4), _w("v", 4), _w("scale", 4, 1, 1)]
    g = load_onnx(_save(tmp_path, nodes, [_io("x", 1, 3, 5, 5)], [_io("y", 1, 4, 5, 5)], inits))
    assert len(g) == 1
    conv = g["conv"]
    assert conv.fused == ("BatchNormalization", "Mul", "LeakyRelu")
    out = 4 * 25
    assert conv.vector_ops == 1 * out + 1 * out + 2 * out
    assert conv.weight_elements == 12 + 8 + 4


def test_no_fusion_into_graph_output(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"), helper.make_node("Relu", ["c"], ["y"], name="r")]
    path = _save(tmp_path, nodes, [_io("x", 1, 3, 5, 5)], [_io("c", 1, 4, 5, 5), _io("y", 1, 4, 5, 5)],
                 [_w("w", 4, 3, 1, 1)])
    g = load_onnx(path)
    assert g["conv"].fused == () and g["r"].vector_ops == 100 and g.predecessors("r") == ["conv"]


def test_transpose_and_expand_moving_or_not(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("GlobalAveragePool", ["c"], ["p"], name="gap"),
             helper.make_node("Transpose", ["p"], ["t1"], perm=[0, 2, 3, 1], name="t_free"),  # [1,1,1,8]: no move
             helper.make_node("Reshape", ["t1", "shape"], ["r"], name="reshape"),  # [1, 8]
             helper.make_node("Expand", ["r", "eshape"], ["e"], name="e_copy"),  # [4, 8]: copies
             helper.make_node("Unsqueeze", ["e", "ax"], ["u"], name="unsq"),  # [4, 8, 1]
             helper.make_node("Expand", ["u", "eshape3"], ["e2"], name="e_free"),  # [1, 4, 8, 1]: no copy
             helper.make_node("Squeeze", ["e2"], ["sq"], name="sq"),  # [4, 8]
             helper.make_node("Transpose", ["sq"], ["y"], perm=[1, 0], name="t_move")]
    inits = [_w("w", 8, 3, 1, 1), _i64("shape", [1, 8]), _i64("eshape", [4, 8]), _i64("ax", [2]),
             _i64("eshape3", [1, 4, 8, 1])]
    g = load_onnx(_save(tmp_path, nodes, [_io("x", 1, 3, 4, 4)], [_io("y", 8, 4)], inits))
    assert [layer.name for layer in g.layers] == ["conv", "gap", "e_copy", "t_move"]
    assert g.predecessors("e_copy") == ["gap"] and g.predecessors("t_move") == ["e_copy"]
    assert g["e_copy"].vector_ops == 32 and g["t_move"].vector_ops == 32


def test_weights_from_constant_nodes_and_matmul_with_constant_first_operand(tmp_path):
    wc = numpy_helper.from_array(np.ones((16, 8), np.float32), "wc")
    nodes = [helper.make_node("Constant", [], ["W"], value=wc),
             helper.make_node("MatMul", ["W", "x"], ["y"], name="mm")]  # [16,8] @ [8,5]
    g = load_onnx(_save(tmp_path, nodes, [_io("x", 8, 5)], [_io("y", 16, 5)]))
    mm = g["mm"]
    assert (mm.N, mm.P, mm.C, mm.M) == (1, 5, 8, 16)
    assert mm.weight_elements == 128 and mm.input_elements == 40 and mm.macs == 16 * 8 * 5


def test_gemm_transposes_and_bias(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "b"], ["y"], name="g", transA=1, transB=1)]
    inits = [_w("b", 7, 6)]
    path = _save(tmp_path, [helper.make_node("Gemm", ["x", "b", "c"], ["y"], name="g", transA=1, transB=1)],
                 [_io("x", 6, 3)], [_io("y", 3, 7)], inits + [_w("c", 7)])
    g = load_onnx(path)["g"]
    assert (g.P, g.C, g.M, g.macs, g.weight_elements) == (3, 6, 7, 3 * 6 * 7, 49)
    bad = _save(tmp_path, nodes, [_io("x", 5, 3)], [_io("y", 3, 7)], inits, name="bad")
    with pytest.raises(MascotError, match=r"bad.onnx: ONNX shape inference failed.*Gemm, node name: g.*mismatch"):
        load_onnx(bad)


def test_conv_1d_3d_and_transpose(tmp_path):
    n1 = [helper.make_node("Conv", ["x", "w"], ["y"], name="c1d", strides=[2], pads=[1, 1])]
    g1 = load_onnx(_save(tmp_path, n1, [_io("x", 1, 4, 16)], [_io("y", 1, 6, 8)], [_w("w", 6, 4, 3)], name="c1"))
    c = g1["c1d"]
    assert (c.R, c.S, c.P, c.Q, c.stride_w) == (1, 3, 1, 8, 2) and c.macs == 6 * 8 * 4 * 3
    n3 = [helper.make_node("Conv", ["x", "w"], ["y"], name="c3d")]
    g3 = load_onnx(_save(tmp_path, n3, [_io("x", 1, 2, 5, 6, 7)], [_io("y", 1, 3, 3, 4, 5)], [_w("w", 3, 2, 3, 3, 3)],
                         name="c3"))
    c = g3["c3d"]
    assert (c.R, c.S, c.P, c.Q) == (9, 3, 12, 5) and c.macs == 3 * 3 * 4 * 5 * 2 * 27
    nt = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="ct", strides=[2, 2], pads=[1, 1, 1, 1])]
    gt = load_onnx(_save(tmp_path, nt, [_io("x", 1, 8, 5, 5)], [_io("y", 1, 4, 10, 10)], [_w("w", 8, 4, 4, 4)],
                         name="ct"))
    c = gt["ct"]
    assert (c.C, c.M, c.R, c.S, c.P, c.Q, c.stride_h) == (8, 4, 4, 4, 10, 10, 1)
    assert c.macs == 4 * 10 * 10 * 8 * 16  # equivalent direct conv over the zero-inserted input


def test_vector_op_estimates(tmp_path):
    emb = _w("emb", 50, 8)
    nodes = [
        helper.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),  # [1, 6, 8]
        helper.make_node("Softmax", ["e"], ["s"], name="softmax", axis=-1),
        helper.make_node("ReduceMean", ["s", "axes"], ["rm"], name="rmean", keepdims=1),  # [1, 6, 1]
        helper.make_node("Sub", ["s", "rm"], ["d"], name="sub"),
        helper.make_node("Split", ["d", "split"], ["a", "b"], name="split", axis=2),  # 2 x [1, 6, 4]
        helper.make_node("Concat", ["b", "a"], ["cat"], name="cat", axis=1),  # [1, 12, 4]
        helper.make_node("Unsqueeze", ["cat", "ax0"], ["c4"], name="u"),  # [1, 1, 12, 4]
        helper.make_node("Resize", ["c4", "", "scales"], ["rs"], name="resize", mode="linear"),  # [1, 1, 24, 8]
        helper.make_node("Pad", ["rs", "pads"], ["pd"], name="pad"),  # [1, 1, 26, 10]
        helper.make_node("Slice", ["pd", "st", "en", "sax"], ["sl"], name="slice"),  # [1, 1, 24, 8]
        helper.make_node("SpaceToDepth", ["sl"], ["y"], name="s2d", blocksize=2),  # [1, 4, 12, 4]
    ]
    inits = [emb, _i64("axes", [2]), _i64("split", [4, 4]), _i64("ax0", [0]),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
             _i64("pads", [0, 0, 1, 1, 0, 0, 1, 1]), _i64("st", [1, 1]), _i64("en", [25, 9]), _i64("sax", [2, 3])]
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 6])
    g = load_onnx(_save(tmp_path, nodes, [ids], [_io("y", 1, 4, 12, 4)], inits))
    ops = {layer.name: (layer.vector_ops, layer.output_elements) for layer in g.layers}
    assert ops == {"embed": (48, 48), "softmax": (8 * 48, 48), "rmean": (48 + 6, 6), "sub": (48, 48),
                   "split": (48, 48), "cat": (48, 48), "resize": (4 * 192, 192), "pad": (260, 260),
                   "slice": (192, 192), "s2d": (192, 192)}
    assert g["embed"].weight_elements == 400 and g.params == 400
    assert all(layer.kind is LayerKind.VECTOR for layer in g.layers)
    assert g.predecessors("sub") == ["softmax", "rmean"]


def test_unknown_operators_listed_at_once(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Mystery", ["c"], ["m"], name="odd1", domain="custom.ops"),
             helper.make_node("Conv", ["m", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Enigma", ["c2"], ["y"], name="odd2", domain="custom.ops")]
    graph = helper.make_graph(nodes, "u", [_io("x", 1, 3, 8, 8)], [helper.make_tensor_value_info("y", F, None)],
                              initializer=[_w("w", 4, 3, 1, 1), _w("w2", 6, 4, 3, 3)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom.ops", 1)])
    path = tmp_path / "unknown.onnx"
    onnx.save(model, str(path))
    with pytest.raises(MascotError) as err:
        load_onnx(path)
    msg = str(err.value)
    assert "unknown.onnx" in msg and "'odd1' (custom.ops.Mystery)" in msg and "'odd2' (custom.ops.Enigma)" in msg
    assert "--allow-unknown" in msg
    with pytest.warns(UnknownOperatorWarning, match="Enigma, Mystery"):
        g = load_onnx(path, allow_unknown=True)
    # inference knows nothing of the custom ops: our own propagation assumed their output keeps the input shape
    assert (g["conv2"].C, g["conv2"].M, g["conv2"].P, g["conv2"].Q) == (4, 6, 8, 8)
    assert g["odd1"].kind is LayerKind.VECTOR and g["odd1"].output_elements == 256 == g["odd1"].vector_ops
    assert g.predecessors("conv2") == ["odd1"]


def test_standard_but_unmodelled_op_is_unknown(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"), helper.make_node("NonZero", ["r"], ["y"], name="nz")]
    path = _save(tmp_path, nodes, [_io("x", 2, 3)], [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    with pytest.raises(MascotError, match=r"'nz' \(NonZero\)"):
        load_onnx(path)


def test_symbolic_batch_dims(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    x = helper.make_tensor_value_info("x", F, ["N", 5, "batch_size", 8])
    path = _save(tmp_path, nodes, [x], [helper.make_tensor_value_info("y", F, None)], [_w("w", 8, 3)])
    mm = load_onnx(path, batch=4)["mm"]
    assert (mm.N, mm.P, mm.C, mm.M) == (4 * 5, 4, 8, 3)
    assert load_onnx(path, input_shapes={"x": (1, 5, 2, 8)})["mm"].N == 5


def test_input_shape_errors(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    y = helper.make_tensor_value_info("y", F, None)
    path = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, ["b", "h"])], [y])
    with pytest.raises(MascotError, match=r"'x' dim 1 is 'h'; pass --input-shape x=d0,d1"):
        load_onnx(path)
    with pytest.raises(MascotError, match=r"not inputs of the model.*\n.*inputs are: x"):
        load_onnx(path, input_shapes={"nope": (1, 2)})
    with pytest.raises(MascotError, match="rank 2 but --input-shape gives 3"):
        load_onnx(path, input_shapes={"x": (1, 2, 3)})
    with pytest.raises(MascotError, match="non-positive"):
        load_onnx(path, input_shapes={"x": (0, 2)})
    assert load_onnx(path, input_shapes={"x": (3, 7)}).layers[0].output_elements == 21
    # a declared output shape that contradicts the input shape asked for
    declared = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", F, ["b", "h"])], [_io("y", 1, 1)], name="d")
    with pytest.raises(MascotError, match=r"shape inference failed.*Relu, node name: r"):
        load_onnx(declared, input_shapes={"x": (3, 7)})


def _weight_model() -> onnx.ModelProto:
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)]
    inits = [_w("w", 16, 3, 3, 3), _w("b", 16), _w("fw", 10, 16 * 64), _w("fb", 10)]
    graph = helper.make_graph(nodes, "w", [_io("x", 1, 3, 8, 8)], [_io("y", 1, 10)], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_shape_only_files(tmp_path):
    model = _weight_model()
    full = tmp_path / "full.onnx"
    onnx.save(model, str(full))
    expected = load_onnx(full)
    assert expected.macs == 16 * 64 * 27 + 16 * 64 * 10 and expected.params == 448 + 10250
    # 1) weights in an external file that is not there (never read)
    ext = tmp_path / "ext" / "ext.onnx"
    ext.parent.mkdir()
    onnx.save(model, str(ext), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin",
              size_threshold=0)
    (ext.parent / "weights.bin").unlink()
    # 2) weights declared as graph inputs with no initializer at all
    stripped = onnx.ModelProto()
    stripped.CopyFrom(model)
    for t in stripped.graph.initializer:
        stripped.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    del stripped.graph.initializer[:]
    inputs = tmp_path / "inputs.onnx"
    onnx.save(stripped, str(inputs))
    for path in (ext, inputs):
        g = load_onnx(path)
        assert (g.macs, g.params, list(g.input_shapes)) == (expected.macs, expected.params, ["x"])
        assert [layer.to_dict() for layer in g.layers] == [layer.to_dict() for layer in expected.layers]
    assert inputs.stat().st_size < 1000


def test_frame_and_summary(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(_weight_model(), str(path))
    g = load_onnx(path)
    df = g.to_frame()
    assert list(df["op_type"]) == ["Conv", "Gemm"] and list(df["macs"]) == [16 * 64 * 27, 16 * 64 * 10]
    assert df["fused"].tolist() == ["Relu", ""] and df["preds"].tolist() == [[], [0]]
    s = g.summary()
    assert s["macs"] == g.macs and s["mac_layers"] == 2 and s["inputs"] == "x=1x3x8x8"
    assert math.isclose(s["vector_ops"], g.vector_ops)
