"""Zoo networks that come from libraries: pytorchcv CNNs and Hugging Face transformers encoders.

Needs the ``zoo`` extra (``pytorchcv``, ``transformers``, ``onnxscript``). pytorchcv's model
modules are imported one by one (``pytorchcv.models.resnet``...) because the package's top-level
model provider pulls in torchvision, which has no CPU build here. BERT and ViT are built from a
default ``BertConfig`` / ``ViTConfig`` (the base sizes), so nothing is downloaded.

Export: the TorchScript exporter (``dynamo=False``) in ``TrainingMode.PRESERVE`` on an
``eval()`` model, so BatchNormalization stays a node (the loader folds it and counts its
scale/shift as parameters, as the published parameter counts do) instead of being fused into
the convolution weights at export time. Parameters are first overwritten with seeded random
values so that no two initializers are equal: the exporter deduplicates equal initializers
through ``Identity`` nodes, which would make the structure depend on the initial values.
"""

from __future__ import annotations

import importlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import onnx

from workloads.zoo.onnx_graph import ZOO_OPSET


@dataclass(frozen=True)
class TorchNet:
    """How to build one network: a constructor and the input it is exported for."""

    build: Callable[[], "object"]
    inputs: dict[str, tuple[tuple[int, ...], str]]  # name → (shape, dtype: "float32" | "int64")
    outputs: tuple[str, ...]
    #: export with a symbolic batch dimension (the transformers fold their shapes for batch 1)
    dynamic_batch: bool = True


def _pytorchcv(module: str, fn: str) -> Callable[[], object]:
    def build():
        return getattr(importlib.import_module(f"pytorchcv.models.{module}"), fn)()
    return build


def _bert():
    import torch
    from transformers import BertConfig, BertModel

    class BertEncoder(torch.nn.Module):
        """BERT-base encoder + pooler; one ``input_ids`` input (token types 0, no padding mask)."""

        def __init__(self):
            super().__init__()
            self.bert = BertModel(BertConfig(attn_implementation="eager"), add_pooling_layer=True)

        def forward(self, input_ids):
            out = self.bert(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
            return out.last_hidden_state, out.pooler_output

    return BertEncoder()


def _vit():
    import torch
    from transformers import ViTConfig, ViTModel

    class ViTEncoder(torch.nn.Module):
        """ViT-B/16 encoder + pooler on a 224×224 image (patch 16 → 196 tokens + [CLS])."""

        def __init__(self):
            super().__init__()
            self.vit = ViTModel(ViTConfig(attn_implementation="eager"), add_pooling_layer=True)

        def forward(self, pixel_values):
            # ViTModel.forward for the batch-1 export: ``cls_token.expand(batch, -1, -1)`` exports as
            # a Where/Equal chain on constants whose result shape inference cannot see through
            vit, emb = self.vit, self.vit.embeddings
            x = emb.patch_embeddings(pixel_values)
            x = torch.cat((emb.cls_token, x), dim=1) + emb.position_embeddings
            for layer in vit.layers:
                x = layer(x, None)
            x = vit.layernorm(x)
            return x, vit.pooler(x)

    return ViTEncoder()


def _image(size: int) -> dict[str, tuple[tuple[int, ...], str]]:
    return {"input": ((1, 3, size, size), "float32")}


#: builder key (see ``workloads.zoo.specs``) → network
TORCH_NETS: dict[str, TorchNet] = {
    "squeezenet1_0": TorchNet(_pytorchcv("squeezenet", "squeezenet_v1_0"), _image(224), ("output",)),
    "squeezenet1_1": TorchNet(_pytorchcv("squeezenet", "squeezenet_v1_1"), _image(224), ("output",)),
    "alexnet": TorchNet(_pytorchcv("alexnet", "alexnetb"), _image(224), ("output",)),
    "inceptionv3": TorchNet(_pytorchcv("inceptionv3", "inceptionv3"), _image(299), ("output",)),
    "resnet18": TorchNet(_pytorchcv("resnet", "resnet18"), _image(224), ("output",)),
    "resnet50": TorchNet(_pytorchcv("resnet", "resnet50b"), _image(224), ("output",)),
    "resnet101": TorchNet(_pytorchcv("resnet", "resnet101b"), _image(224), ("output",)),
    "resnet152": TorchNet(_pytorchcv("resnet", "resnet152b"), _image(224), ("output",)),
    "mobilenetv1": TorchNet(_pytorchcv("mobilenet", "mobilenet_w1"), _image(224), ("output",)),
    "mobilenetv2": TorchNet(_pytorchcv("mobilenetv2", "mobilenetv2b_w1"), _image(224), ("output",)),
    "vgg16": TorchNet(_pytorchcv("vgg", "vgg16"), _image(224), ("output",)),
    "densenet121": TorchNet(_pytorchcv("densenet", "densenet121"), _image(224), ("output",)),
    "densenet169": TorchNet(_pytorchcv("densenet", "densenet169"), _image(224), ("output",)),
    "densenet201": TorchNet(_pytorchcv("densenet", "densenet201"), _image(224), ("output",)),
    "xception": TorchNet(_pytorchcv("xception", "xception"), _image(299), ("output",)),
    "bert-base": TorchNet(_bert, {"input_ids": ((1, 128), "int64")}, ("last_hidden_state", "pooler_output"),
                          dynamic_batch=False),
    "vit-b16": TorchNet(_vit, {"pixel_values": ((1, 3, 224, 224), "float32")}, ("last_hidden_state", "pooler_output"),
                          dynamic_batch=False),
}


def export_torch(key: str, seed: int = 0) -> onnx.ModelProto:
    """Build network ``key`` and export it to ONNX (weights still inside; strip them afterwards)."""
    import torch

    spec = TORCH_NETS[key]
    torch.manual_seed(seed)
    net = spec.build()
    net.eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in list(net.parameters()) + [b for b in net.buffers() if b.is_floating_point()]:
            t.copy_(torch.rand(t.shape, generator=gen, dtype=torch.float32).to(t.dtype) + 0.5)
    args = tuple(
        torch.zeros(shape, dtype=torch.int64) if dtype == "int64" else torch.zeros(shape, dtype=torch.float32)
        for shape, dtype in spec.inputs.values()
    )
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, args, buf, dynamo=False, opset_version=ZOO_OPSET,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True,
                          input_names=list(spec.inputs), output_names=list(spec.outputs),
                          dynamic_axes=({n: {0: "batch"} for n in (*spec.inputs, *spec.outputs)}
                                        if spec.dynamic_batch else None))
    return onnx.load_from_string(buf.getvalue())
