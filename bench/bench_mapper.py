"""Mapper speed: wall time per (layer, SA) over the zoo networks on the four Table-1 SA classes.

    .venv/bin/python bench/bench_mapper.py [--models alexnet,resnet50,...] [--objective delay] [--seed 0]
    .venv/bin/python bench/bench_mapper.py --calibration --objective edp   # fidelity + quality vs Timeloop

Every distinct MAC-layer shape of each model is mapped once per SA (identical shapes are the
table builder's cache hits, so timing them again would flatter the figures); vector layers are
costed too but reported apart (they need no search). Prints the median, p95 and max per (layer,
SA), and the slowest cases. Targets: median <= 50 ms, p95 <= 250 ms on the 2-core dev machine.

Models come from ``workloads.zoo.load_model`` when the zoo is installed; otherwise a built-in list
of the networks' layer shapes (AlexNet, ResNet-50, SqueezeNet, YOLO-Lite, DS-CNN KWS) is used.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hwmodel.backends.analytical import AnalyticalBackend  # noqa: E402
from hwmodel.spec import load_accelerator  # noqa: E402
from mascot.errors import MascotError  # noqa: E402
from workloads.layer import Layer, LayerKind  # noqa: E402

SA_CLASSES = ("eyeriss_small", "eyeriss_large", "simba_small", "simba_large")
PAPER_MODELS = ("squeezenet", "yolo-lite", "kws", "alexnet", "inceptionv3", "resnet50", "yolov2")


def _conv(name: str, c: int, m: int, r: int, p: int, stride: int = 1, groups: int = 1, s: int | None = None) -> Layer:
    return Layer(name=name, op_type="Conv", kind=LayerKind.CONV, C=c, M=m, R=r, S=s or r, P=p, Q=p,
                 stride_h=stride, stride_w=stride, groups=groups)


def _fc(name: str, c: int, m: int) -> Layer:
    return Layer(name=name, op_type="Gemm", kind=LayerKind.MATMUL, C=c, M=m)


def builtin_layers() -> dict[str, list[Layer]]:
    """Layer shapes of the paper's light and heavy networks (used when the zoo is absent)."""
    alexnet = [_conv("conv1", 3, 96, 11, 55, 4), _conv("conv2", 48, 128, 5, 27, groups=1),
               _conv("conv3", 256, 384, 3, 13), _conv("conv4", 192, 192, 3, 13), _conv("conv5", 192, 128, 3, 13),
               _fc("fc6", 9216, 4096), _fc("fc7", 4096, 4096), _fc("fc8", 4096, 1000)]
    resnet = [_conv("conv1", 3, 64, 7, 112, 2)]
    for i, (cin, mid, cout, p, n) in enumerate([(64, 64, 256, 56, 3), (256, 128, 512, 28, 4),
                                                 (512, 256, 1024, 14, 6), (1024, 512, 2048, 7, 3)]):
        resnet += [_conv(f"l{i}_a", cin, mid, 1, p), _conv(f"l{i}_b", mid, mid, 3, p),
                   _conv(f"l{i}_c", mid, cout, 1, p), _conv(f"l{i}_d", cout, mid, 1, p),
                   _conv(f"l{i}_down", cin, cout, 1, p)]
    resnet.append(_fc("fc", 2048, 1000))
    squeeze = [_conv("conv1", 3, 96, 7, 111, 2)]
    for i, (cin, s1, e) in enumerate([(96, 16, 64), (128, 16, 64), (128, 32, 128), (256, 32, 128),
                                      (256, 48, 192), (384, 48, 192), (384, 64, 256), (512, 64, 256)]):
        p = 55 if i < 3 else (27 if i < 7 else 13)
        squeeze += [_conv(f"f{i}_sq", cin, s1, 1, p), _conv(f"f{i}_e1", s1, e, 1, p), _conv(f"f{i}_e3", s1, e, 3, p)]
    squeeze.append(_conv("conv10", 512, 1000, 1, 13))
    yolo_lite = [_conv("c1", 3, 16, 3, 224), _conv("c2", 16, 32, 3, 112), _conv("c3", 32, 64, 3, 56),
                 _conv("c4", 64, 128, 3, 28), _conv("c5", 128, 128, 3, 14), _conv("c6", 128, 256, 3, 7),
                 _conv("c7", 256, 125, 1, 7)]
    kws = [_conv("c1", 1, 64, 10, 25, 2, s=4)]
    for i in range(4):
        kws += [_conv(f"dw{i}", 64, 64, 3, 25, groups=64), _conv(f"pw{i}", 64, 64, 1, 25)]
    kws.append(_fc("fc", 64, 12))
    return {"alexnet": alexnet, "resnet50": resnet, "squeezenet": squeeze, "yolo-lite": yolo_lite, "kws": kws}


def load_layers(models: list[str] | None) -> tuple[dict[str, list[Layer]], str]:
    """Layers per model, and where they came from (the zoo, or the built-in shapes)."""
    try:
        from workloads.zoo import load_model  # type: ignore[attr-defined]

        out = {name: list(load_model(name).layers) for name in models or PAPER_MODELS}
        return out, "zoo"
    except (ImportError, MascotError, FileNotFoundError) as exc:
        table = builtin_layers()
        names = models or list(table)
        return {n: table[n] for n in names if n in table}, f"built-in shapes (zoo unavailable: {str(exc).splitlines()[0]})"


def calibration_report(objective: str, seed: int, effort: str = "fast") -> None:
    """Fidelity and mapper quality on the 18 Timeloop calibration rows (tests/data/calibration)."""
    import pandas as pd

    from hwmodel.mapper import MapperConfig, best_mapping
    from hwmodel.mapping import Mapping
    from hwmodel.nest import Problem, evaluate_mapping

    rows = pd.read_csv(Path(__file__).resolve().parent.parent / "tests" / "data" / "calibration" / "timeloop_rows.csv")
    print(f"{'arch':12s} {'layer':14s} {'cycles err':>10s} {'energy err':>11s} | {'TL s':>5s} {'ours ms':>7s} "
          f"{'cyc ratio':>9s} {'E ratio':>8s} {'EDP ratio':>9s}")
    for r in rows.itertuples():
        spec = load_accelerator(r.arch)
        pb = Problem(N=r.N, C=r.C, M=r.M, R=r.R, S=r.S, P=r.P, Q=r.Q, stride_h=r.stride, stride_w=r.stride,
                     dilation_h=r.dilation, dilation_w=r.dilation)
        res = evaluate_mapping(pb, spec, Mapping.from_compact(r.timeloop_mapping))
        cyc_err = (res.cycles[0] - r.cycles) / r.cycles
        en_err = (res.energy_pj[0] - r.energy_pj) / r.energy_pj
        t0 = time.perf_counter()
        found = best_mapping(pb, spec, objective=objective, seed=seed, config=MapperConfig.preset(effort))
        ms = (time.perf_counter() - t0) * 1e3
        cap = "*" if r.mapper_termination != "victory" else " "
        print(f"{r.arch:12s} {r.layer:14s} {cyc_err:10.1e} {en_err:11.1e} | {r.mapper_wall_s:4.0f}{cap} {ms:7.0f} "
              f"{found.cycles / r.cycles:9.3f} {found.energy_pj / r.energy_pj:8.3f} "
              f"{found.cycles * found.energy_pj / (r.cycles * r.energy_pj):9.3f}")
    print("errors: our model on Timeloop's own mapping; ratios: our mapper's best / Timeloop mapper's best "
          "(* = Timeloop stopped at its 60 s cap)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="comma-separated zoo names (default: the paper's seven)")
    ap.add_argument("--objective", default="delay", choices=["delay", "energy", "edp"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--effort", default="fast", choices=["fast", "thorough"])
    ap.add_argument("--calibration", action="store_true",
                    help="instead: fidelity + EDP ratio vs Timeloop on the 18 calibration rows")
    args = ap.parse_args()
    if args.calibration:
        calibration_report(args.objective, args.seed, args.effort)
        return
    models = [m for m in args.models.split(",") if m] or None
    layers, source = load_layers(models)
    backend = AnalyticalBackend(objective=args.objective, seed=args.seed, effort=args.effort)
    times_ms: list[tuple[float, str]] = []
    vec_ms: list[float] = []
    cpu_ms: list[float] = []  # process CPU time: what the search costs when the machine is shared
    for sa in SA_CLASSES:
        spec = load_accelerator(sa)
        backend.evaluate(layers[next(iter(layers))][0], spec)  # warm-up (imports, caches)
        for model, ls in layers.items():
            seen = set()
            for layer in ls:
                if layer.shape_key in seen:
                    continue
                seen.add(layer.shape_key)
                t0, c0 = time.perf_counter(), time.process_time()
                backend.evaluate(layer, spec)
                dt = (time.perf_counter() - t0) * 1e3
                if layer.is_mac:
                    times_ms.append((dt, f"{sa} {model}/{layer.name}"))
                    cpu_ms.append((time.process_time() - c0) * 1e3)
                else:
                    vec_ms.append(dt)
    ts = sorted(t for t, _ in times_ms)
    p95 = ts[min(len(ts) - 1, int(round(0.95 * (len(ts) - 1))))]
    print(f"layers from {source}")
    print(f"models: {', '.join(layers)}; SAs: {', '.join(SA_CLASSES)}; objective {args.objective}")
    print(f"MAC (layer, SA) pairs: {len(ts)}  median {statistics.median(ts):.1f} ms  p95 {p95:.1f} ms  "
          f"max {ts[-1]:.1f} ms  total {sum(ts) / 1e3:.2f} s")
    cs = sorted(cpu_ms)
    print(f"  CPU time per pair: median {statistics.median(cs):.1f} ms  p95 {cs[min(len(cs) - 1, int(round(0.95 * (len(cs) - 1))))]:.1f} ms"
          f"  (wall > CPU means other processes shared the cores)")
    if vec_ms:
        print(f"vector (layer, SA) pairs: {len(vec_ms)}  median {statistics.median(vec_ms):.2f} ms")
    print("slowest:")
    for t, what in sorted(times_ms, reverse=True)[:5]:
        print(f"  {t:7.1f} ms  {what}")


if __name__ == "__main__":
    main()
