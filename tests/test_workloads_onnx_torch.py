"""load_onnx on models exported here with torch.onnx.export, checked against the torch modules' own arithmetic."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from mascot.errors import MascotError
from workloads.layer import LayerKind
from workloads.onnx_import import load_onnx


class SmallCNN(nn.Module):
    """Plain, strided, dilated depthwise, pointwise, grouped, squeeze-excite, transposed convs and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=16)
        self.pw = nn.Conv2d(16, 32, 1)
        self.gc = nn.Conv2d(32, 48, (3, 5), stride=(1, 2), padding=(1, 2), groups=4)
        self.se1 = nn.Conv2d(48, 12, 1)
        self.se2 = nn.Conv2d(12, 48, 1)
        self.up = nn.ConvTranspose2d(48, 24, 4, stride=2, padding=1, groups=2)
        self.fc = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.b1(self.c1(x)))
        x = nn.functional.relu6(self.dw(x))
        x = self.pw(x)
        x = nn.functional.hardswish(self.gc(x))
        s = torch.sigmoid(self.se2(torch.relu(self.se1(nn.functional.adaptive_avg_pool2d(x, 1)))))
        x = nn.functional.max_pool2d(x * s, 2)
        x = self.up(x)
        return self.fc(x.mean(dim=(2, 3)))


class TransformerBlock(nn.Module):
    """Pre-norm encoder block: fused QKV projection, multi-head attention, GELU MLP, residuals."""

    def __init__(self, d: int = 32, heads: int = 4, ff: int = 64) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, dh).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(dh)
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


def _export(module: nn.Module, example: torch.Tensor, path, dynamic: dict, opset: int = 17) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the TorchScript exporter works offline in well under a second; no constant folding keeps BatchNormalization
        torch.onnx.export(module, (example,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          opset_version=opset, dynamic_axes={"x": dynamic}, do_constant_folding=False)


def _torch_shapes(module: nn.Module, x: torch.Tensor) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Input and output shape of every leaf module in one forward pass."""
    seen: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    hooks = [m.register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n, (tuple(i[0].shape), tuple(o.shape))))
             for name, m in module.named_modules() if name]
    with torch.no_grad():
        module(x)
    for h in hooks:
        h.remove()
    return seen


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    torch.manual_seed(0)
    module = SmallCNN().eval()
    path = tmp_path_factory.mktemp("cnn") / "cnn.onnx"
    _export(module, torch.randn(2, 3, 32, 32), path, {0: "batch"})
    return module, path


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    torch.manual_seed(0)
    module = TransformerBlock().eval()
    path = tmp_path_factory.mktemp("block") / "block.onnx"
    _export(module, torch.randn(2, 8, 32), path, {0: "batch", 1: "seq"})
    return module, path


@pytest.mark.parametrize("batch", [1, 3])
def test_cnn_layers_match_torch(cnn, batch):
    module, path = cnn
    graph = load_onnx(path, batch=batch)
    seen = _torch_shapes(module, torch.randn(batch, 3, 32, 32))
    expected_total = 0
    for name, m in module.named_modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            transposed = isinstance(m, nn.ConvTranspose2d)
            layer = graph[f"/{name}/{'ConvTranspose' if transposed else 'Conv'}"]
            (_, out) = seen[name]
            assert (layer.N, layer.C, layer.M, layer.groups) == (batch, m.in_channels, m.out_channels, m.groups)
            assert (layer.R, layer.S, layer.P, layer.Q) == (*m.kernel_size, *out[2:])
            if transposed:  # the equivalent direct conv on the zero-inserted input: stride 1
                assert (layer.stride_h, layer.stride_w) == (1, 1)
            else:
                assert (layer.stride_h, layer.stride_w, layer.dilation_h, layer.dilation_w) == (*m.stride, *m.dilation)
            macs = math.prod(out) * (m.in_channels // m.groups) * math.prod(m.kernel_size)
            assert layer.macs == macs
            assert layer.weight_elements == m.weight.numel() + (m.bias.numel() if m.bias is not None else 0) + \
                (2 * m.out_channels if name == "c1" else 0)  # c1 absorbs its BatchNorm's scale and shift
            expected_total += macs
        elif isinstance(m, nn.Linear):
            layer = graph[f"/{name}/Gemm"]
            assert (layer.N, layer.P, layer.C, layer.M) == (1, batch, m.in_features, m.out_features)
            assert layer.macs == batch * m.in_features * m.out_features
            expected_total += layer.macs
    assert graph.macs == expected_total
    assert graph.params == sum(p.numel() for p in module.parameters())
    assert graph.input_shapes == {"x": (batch, 3, 32, 32)}


def test_cnn_fusion_and_vector_layers(cnn):
    _, path = cnn
    graph = load_onnx(path)
    assert graph["/c1/Conv"].fused == ("BatchNormalization", "Relu")
    assert graph["/dw/Conv"].fused == ("Clip",)  # relu6
    assert graph["/dw/Conv"].groups == graph["/dw/Conv"].C == 16  # depthwise
    assert graph["/gc/Conv"].fused == ("HardSwish",)
    assert graph["/se2/Conv"].fused == ("Sigmoid",)
    # gc's output feeds both the squeeze-excite branch and the Mul: HardSwish fused, Mul is a vector layer
    ops = [layer.op_type for layer in graph.layers if layer.kind is LayerKind.VECTOR]
    assert sorted(ops) == ["GlobalAveragePool", "MaxPool", "Mul", "ReduceMean"]
    mul = next(layer for layer in graph.layers if layer.op_type == "Mul")
    preds = {graph[p].op_type for p in graph.predecessors(mul.name)}
    assert preds == {"Conv"} and len(graph.predecessors(mul.name)) == 2
    pool = next(layer for layer in graph.layers if layer.op_type == "MaxPool")
    assert (pool.R, pool.S, pool.P, pool.Q, pool.C) == (2, 2, 8, 4, 48)
    assert pool.vector_ops == pool.output_elements * 4


def test_transformer_block_layers_match_torch(block):
    module, path = block
    b, t, d, h, ff = 2, 8, 32, 4, 64
    graph = load_onnx(path, input_shapes={"x": (b, t, d)})
    dh = d // h
    for name, (k, n) in {"qkv": (d, 3 * d), "proj": (d, d), "fc1": (d, ff), "fc2": (ff, d)}.items():
        layer = graph[f"/{name}/MatMul"]
        assert (layer.N, layer.P, layer.C, layer.M) == (b, t, k, n)
        assert layer.fused == ("Add",)  # the Linear's bias
        assert layer.weight_elements == k * n + n and not layer.weights_are_activations
    att = [layer for layer in graph.layers if layer.weights_are_activations]
    assert len(att) == 2 and all(layer.params == 0 for layer in att)
    scores, context = sorted(att, key=lambda layer: graph.index[layer.name])
    assert (scores.N, scores.P, scores.C, scores.M) == (b * h, t, dh, t)
    assert scores.fused == ("Div",)  # the 1/sqrt(dh) scale
    assert (context.N, context.P, context.C, context.M) == (b * h, t, t, dh)
    torch_macs = b * t * (d * 3 * d + d * d + d * ff + ff * d) + 2 * b * h * t * t * dh
    assert graph.macs == torch_macs
    assert graph.params == sum(p.numel() for p in module.parameters())
    kinds = {layer.op_type for layer in graph.layers if layer.kind is LayerKind.VECTOR}
    assert {"LayerNormalization", "Softmax", "Split", "Transpose", "Add", "Erf"} <= kinds
    softmax = next(layer for layer in graph.layers if layer.op_type == "Softmax")
    assert softmax.output_elements == b * h * t * t and softmax.vector_ops == 8 * b * h * t * t


def test_transformer_symbolic_sequence_needs_input_shape(block):
    _, path = block
    with pytest.raises(MascotError, match=r"(?s)'x' dim 1 is 'seq'.*--input-shape x="):
        load_onnx(path)
    longer = load_onnx(path, input_shapes={"x": (1, 16, 32)})
    assert longer["/qkv/MatMul"].P == 16


def test_transformer_decomposed_layernorm_same_macs(tmp_path):
    """Opset 14 has no LayerNormalization: the decomposed form (ReduceMean, Sub, Pow, Sqrt, Div) loads too."""
    torch.manual_seed(0)
    module = TransformerBlock().eval()
    path = tmp_path / "block14.onnx"
    _export(module, torch.randn(2, 8, 32), path, {0: "batch"}, opset=14)
    graph = load_onnx(path, batch=2)
    assert graph.macs == 2 * 8 * (32 * 96 + 32 * 32 + 32 * 64 + 64 * 32) + 2 * 2 * 4 * 8 * 8 * 8
    assert {"ReduceMean", "Pow", "Sqrt"} <= {layer.op_type for layer in graph.layers}


class PadShuffle(nn.Module):
    """F.pad exports as a runtime-computed pads vector that ONNX shape inference cannot follow."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = nn.Conv2d(4, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.pad(self.c1(x), (1, 2, 3, 4))
        y = nn.functional.pixel_shuffle(y, 2)
        y = nn.functional.interpolate(y, scale_factor=2, mode="nearest")
        return self.c2(y)


def test_runtime_pads_filled_by_own_propagation(tmp_path):
    torch.manual_seed(0)
    module = PadShuffle().eval()
    path = tmp_path / "pad.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(1, 3, 8, 8),), str(path), dynamo=False, input_names=["x"],
                          opset_version=17)
    graph = load_onnx(path)
    seen = _torch_shapes(module, torch.randn(1, 3, 8, 8))
    c2 = graph["/c2/Conv"]
    assert (c2.C, c2.M, c2.P, c2.Q) == (4, 8, *seen["c2"][1][2:])
    assert graph.macs == math.prod(seen["c1"][1]) * 27 + math.prod(seen["c2"][1]) * 36
    pad = next(layer for layer in graph.layers if layer.op_type == "Pad")
    assert pad.output_elements == 16 * (8 + 7) * (8 + 3)
    assert [layer.op_type for layer in graph.layers] == ["Conv", "Pad", "DepthToSpace", "Resize", "Conv"]
