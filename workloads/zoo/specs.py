"""What the zoo holds: one :class:`ZooSpec` per network, with where it comes from and the published
complexity figure its MAC count is checked against.

Pure data (no torch): the zoo API, the manifest and the tests read it without the ``zoo`` extra.

MACs are counted as :func:`workloads.onnx_import.load_onnx` counts them: multiply-accumulates of
Conv / ConvTranspose / Gemm / MatMul layers only (no pooling, normalisation or element-wise work),
which is what torchvision's model tables ("GFLOPS", computed as MACs), the SqueezeNet / MobileNet
papers and Darknet's ``BFLOPs / 2`` report. pytorchcv's own table ("FLOPs/2") also counts
non-MAC work, so it reads 0.5-1.5 % higher; it is used only where nothing else is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZooSpec:
    """One zoo network.

    ``builder`` names the generator (``darknet:yolov2``, ``kws:ds_cnn``, ``torch:<key>``);
    ``reference_macs`` is the published figure, ``reference_tolerance`` the relative deviation
    allowed (0.5 % unless the figure itself is rounded coarser, which ``reference_source`` says).
    """

    name: str
    variant: str
    builder: str
    inputs: dict[str, tuple[int, ...]]
    source: str
    reference_macs: float
    reference_source: str
    reference_tolerance: float = 0.005
    reference_params: int | None = None
    dynamic_batch: bool = True
    aliases: tuple[str, ...] = field(default_factory=tuple)


def _img(size: int) -> dict[str, tuple[int, ...]]:
    return {"input": (1, 3, size, size)}


_PTCV = "pytorchcv {fn} (imgclsmob), exported with torch.onnx; weights stripped"
_TV = "torchvision model table (GFLOPS column, counted as MACs)"

ZOO_SPECS: tuple[ZooSpec, ...] = (
    # --- the RELMAS study's networks ---------------------------------------------------
    ZooSpec("squeezenet1_0", "SqueezeNet 1.0, 224x224, ImageNet", "torch:squeezenet1_0", _img(224),
            _PTCV.format(fn="squeezenet_v1_0") + " (Iandola et al. 2016; torchvision layout)",
            818.9e6, "SqueezeNet 1.0: 818.9 M MACs (torchvision layout)", reference_params=1_248_424),
    ZooSpec("squeezenet1_1", "SqueezeNet 1.1, 224x224, ImageNet", "torch:squeezenet1_1", _img(224),
            _PTCV.format(fn="squeezenet_v1_1") + " (SqueezeNet v1.1, 2.4x less computation than 1.0)",
            349.2e6, "SqueezeNet 1.1: 349.2 M MACs (torchvision layout)", reference_params=1_235_496,
            aliases=("squeezenet",)),
    ZooSpec("yolo-lite", "YOLO-Lite trial 3 no batch-norm, 224x224, VOC", "darknet:yolo_lite", _img(224),
            "defined in workloads/zoo/darknet.py from the YOLO-Lite paper's Darknet cfg "
            "(Pedoeem & Huang 2018, 'trial 3 no batch')",
            240.0e6, "YOLO-Lite paper: 482 MFLOPs = 240.0 M MACs"),
    ZooSpec("kws", "MLPerf Tiny DS-CNN, 49x10 MFCC, 12 classes", "kws:ds_cnn", {"input": (1, 1, 49, 10)},
            "defined in workloads/zoo/kws.py from the MLPerf Tiny keyword-spotting reference (DS-CNN, "
            "Hello Edge)",
            2.7e6, "MLPerf Tiny: about 2.7 M MACs (2 significant digits, so +-0.05 M = 1.9 %; the layer list "
            "gives exactly 2,656,768)", reference_tolerance=0.019, reference_params=23_756),
    ZooSpec("alexnet", "AlexNet (torchvision layout), 224x224, ImageNet", "torch:alexnet", _img(224),
            _PTCV.format(fn="alexnetb") + " ('one weird trick' AlexNet = torchvision layout)",
            714.2e6, "torchvision AlexNet: 714.2 M MACs", reference_params=61_100_840),
    ZooSpec("inceptionv3", "Inception v3, 299x299, ImageNet (no aux head)", "torch:inceptionv3", _img(299),
            _PTCV.format(fn="inceptionv3") + " (Szegedy et al. 2016)",
            5713e6, "torchvision Inception v3: 5,713 M MACs", reference_params=23_834_568),
    ZooSpec("resnet50", "ResNet-50 v1.5 (stride in 3x3), 224x224, ImageNet", "torch:resnet50", _img(224),
            _PTCV.format(fn="resnet50b") + " (ResNet-50 v1.5 = torchvision layout)",
            4089.2e6, "torchvision ResNet-50: 4,089.2 M MACs", reference_params=25_557_032),
    ZooSpec("yolov2", "YOLOv2 (Darknet, COCO), 416x416", "darknet:yolov2", _img(416),
            "defined in workloads/zoo/darknet.py from YOLO9000 (Redmon & Farhadi 2017) / Darknet yolov2.cfg "
            "(reorg = SpaceToDepth, route = Concat)",
            29.47e9 / 2, "Darknet: 29.47 BFLOPs at 416x416 = 14.735 G MACs"),
    # --- more networks of the design card ------------------------------------------------
    ZooSpec("mobilenetv2", "MobileNetV2 1.0, 224x224, ImageNet", "torch:mobilenetv2", _img(224),
            _PTCV.format(fn="mobilenetv2b_w1") + " (Sandler et al. 2018; first block without expansion conv, "
            "as in the paper and torchvision)",
            300e6, "MobileNetV2 paper: 300 M multiply-adds (torchvision: 0.30 GFLOPS)"),
    ZooSpec("resnet18", "ResNet-18, 224x224, ImageNet", "torch:resnet18", _img(224),
            _PTCV.format(fn="resnet18") + " (He et al. 2016)",
            1.81e9, f"{_TV}: ResNet-18 1.81 G", reference_params=11_689_512),
    ZooSpec("vgg16", "VGG-16, 224x224, ImageNet", "torch:vgg16", _img(224),
            _PTCV.format(fn="vgg16") + " (Simonyan & Zisserman 2015)",
            15.47e9, f"{_TV}: VGG-16 15.47 G", reference_params=138_357_544),
    ZooSpec("bert-base", "BERT-base encoder + pooler, sequence 128", "torch:bert-base", {"input_ids": (1, 128)},
            "transformers BertModel(BertConfig()) (Devlin et al. 2019: L=12, H=768, A=12, FFN 3072), "
            "exported with torch.onnx for batch 1; weights stripped",
            11_174_215_680, "BERT-base at sequence 128: 12 x (4*128*768^2 + 2*128*768*3072 + 2*128^2*768) + 768^2 "
            "= 11,174,215,680 MACs (analytic count from the paper's sizes)", dynamic_batch=False),
    ZooSpec("vit-b16", "ViT-B/16 encoder + pooler, 224x224", "torch:vit-b16", {"pixel_values": (1, 3, 224, 224)},
            "transformers ViTModel(ViTConfig()) (Dosovitskiy et al. 2021: patch 16, L=12, H=768), exported with "
            "torch.onnx for batch 1; weights stripped",
            17.56e9, f"{_TV}: ViT-B/16 17.56 G", dynamic_batch=False),
    # --- the ten ImageNet networks of the pipeline-partitioning study (RESPECT) ------------
    ZooSpec("resnet101", "ResNet-101 v1.5, 224x224, ImageNet", "torch:resnet101", _img(224),
            _PTCV.format(fn="resnet101b"), 7.80e9, f"{_TV}: ResNet-101 7.80 G", reference_params=44_549_160),
    ZooSpec("resnet152", "ResNet-152 v1.5, 224x224, ImageNet", "torch:resnet152", _img(224),
            _PTCV.format(fn="resnet152b"), 11.51e9, f"{_TV}: ResNet-152 11.51 G", reference_params=60_192_808),
    ZooSpec("densenet121", "DenseNet-121, 224x224, ImageNet", "torch:densenet121", _img(224),
            _PTCV.format(fn="densenet121") + " (Huang et al. 2017)", 2.83e9, f"{_TV}: DenseNet-121 2.83 G",
            reference_params=7_978_856),
    ZooSpec("densenet169", "DenseNet-169, 224x224, ImageNet", "torch:densenet169", _img(224),
            _PTCV.format(fn="densenet169"), 3.36e9, f"{_TV}: DenseNet-169 3.36 G", reference_params=14_149_480),
    ZooSpec("densenet201", "DenseNet-201, 224x224, ImageNet", "torch:densenet201", _img(224),
            _PTCV.format(fn="densenet201"), 4.29e9, f"{_TV}: DenseNet-201 4.29 G", reference_params=20_013_928),
    ZooSpec("xception", "Xception, 299x299, ImageNet", "torch:xception", _img(299),
            _PTCV.format(fn="xception") + " (Chollet 2017)",
            8403.63e6, "pytorchcv table: 8,403.63 M 'FLOPs/2', which also counts BN/ReLU/add work (about 0.5 % "
            "of it here), hence 1 % tolerance; the Xception paper gives only the parameter count",
            reference_tolerance=0.01, reference_params=22_855_952),
    ZooSpec("mobilenetv1", "MobileNet 1.0, 224x224, ImageNet", "torch:mobilenetv1", _img(224),
            _PTCV.format(fn="mobilenet_w1") + " (Howard et al. 2017)",
            569e6, "MobileNets paper: 569 M mult-adds, 4.2 M parameters", reference_params=4_231_976),
)

SPECS: dict[str, ZooSpec] = {s.name: s for s in ZOO_SPECS}
ALIASES: dict[str, str] = {a: s.name for s in ZOO_SPECS for a in s.aliases}

#: the RELMAS paper's workload sets (``squeezenet`` is the alias of ``squeezenet1_1``)
WORKLOAD_SETS: dict[str, list[str]] = {
    "light": ["squeezenet", "yolo-lite", "kws"],
    "heavy": ["alexnet", "inceptionv3", "resnet50", "yolov2"],
}
WORKLOAD_SETS["mixed"] = WORKLOAD_SETS["light"] + WORKLOAD_SETS["heavy"]

#: the ten ImageNet networks of the RESPECT pipeline-partitioning benchmark
PIPELINE_BENCH_MODELS: list[str] = ["resnet50", "resnet101", "resnet152", "densenet121", "densenet169",
                                    "densenet201", "inceptionv3", "xception", "mobilenetv1", "mobilenetv2"]
