"""Rebuild the zoo: weight-free ONNX files plus ``manifest.json`` (``mascot models build-zoo``).

Needs the ``zoo`` extra for the library networks (pytorchcv, transformers); the Darknet and
DS-CNN networks are written directly as ONNX (:mod:`workloads.zoo.darknet`, :mod:`workloads.zoo.kws`).
Every file goes through :func:`workloads.zoo.strip.strip_weights` and is then loaded back with
:func:`workloads.onnx_import.load_onnx`, whose MAC / parameter / layer counts are what the
manifest records, next to the published figure and the relative deviation from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx
import pandas as pd

from mascot.errors import MascotError
from mascot.io import atomic_write_bytes, atomic_write_json
from workloads.onnx_import import load_onnx
from workloads.zoo.specs import ALIASES, SPECS, ZooSpec
from workloads.zoo.strip import strip_weights

ZOO_DIR = Path(__file__).resolve().parent
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


def file_name(name: str) -> str:
    return f"{name}.onnx"


def build_model(spec: ZooSpec) -> onnx.ModelProto:
    """The weight-free ModelProto of one zoo network."""
    kind, _, key = spec.builder.partition(":")
    if kind == "darknet":
        from workloads.zoo import darknet

        model = getattr(darknet, key)()
    elif kind == "kws":
        from workloads.zoo import kws

        model = getattr(kws, key)()
    elif kind == "torch":
        from workloads.zoo.torch_models import export_torch

        model = export_torch(key)
    else:  # pragma: no cover - specs are fixed
        raise ValueError(f"unknown builder {spec.builder!r}")
    return strip_weights(model, spec.name)


def generator_versions(spec: ZooSpec) -> dict[str, str | None]:
    """Versions of the libraries that shaped a file's bytes (a rebuild with others may differ in bytes,
    not in structure)."""
    from importlib.metadata import PackageNotFoundError, version

    kind, _, key = spec.builder.partition(":")
    packages = ["onnx"]
    if kind == "torch":
        packages += ["torch", "transformers" if key in ("bert-base", "vit-b16") else "pytorchcv"]
    out: dict[str, str | None] = {}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def manifest_row(spec: ZooSpec, path: Path) -> dict[str, Any]:
    """Measure a written zoo file with the loader and describe it for the manifest."""
    data = path.read_bytes()
    graph = load_onnx(path)
    macs = graph.macs
    return {
        "name": spec.name,
        "variant": spec.variant,
        "file": path.name,
        "input": {k: list(v) for k, v in graph.input_shapes.items()},
        "dynamic_batch": spec.dynamic_batch,
        "macs": int(macs),
        "params": int(graph.params),
        "layers": len(graph),
        "mac_layers": graph.num_mac_layers,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "source": spec.source,
        "reference_macs": spec.reference_macs,
        "reference_source": spec.reference_source,
        "reference_tolerance": spec.reference_tolerance,
        "macs_deviation": round(macs / spec.reference_macs - 1.0, 6),
        "reference_params": spec.reference_params,
        "aliases": list(spec.aliases),
        "generator": generator_versions(spec),
    }


def _resolve_names(names: Sequence[str] | None) -> list[str]:
    if names is None:
        return list(SPECS)
    out = []
    for n in names:
        key = ALIASES.get(n.lower(), n.lower())
        if key not in SPECS:
            raise MascotError(f"unknown zoo model {n!r}", hint=f"zoo models: {', '.join(SPECS)}")
        if key not in out:
            out.append(key)
    return out


def _read_manifest(out_dir: Path) -> dict[str, dict[str, Any]]:
    import json

    path = out_dir / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text())["models"]
        return {r["name"]: r for r in rows}
    except (ValueError, KeyError, TypeError) as exc:
        raise MascotError(f"cannot read the zoo manifest ({exc})", path=path,
                          hint="delete it and rebuild the whole zoo (`mascot models build-zoo`)") from None


def build_zoo(out_dir: str | Path | None = None, names: Sequence[str] | None = None,
              show_progress: bool = True) -> pd.DataFrame:
    """Write the weight-free ONNX files of ``names`` (default: all) and update ``manifest.json``.

    ``out_dir`` defaults to the zoo package folder. Rows of models not rebuilt are kept from the
    existing manifest. Returns one row per rebuilt model: name, MACs, the published figure, the
    deviation, params, layers, bytes and sha256.
    """
    from mascot.ui import progress

    out = Path(out_dir) if out_dir is not None else ZOO_DIR
    keys = _resolve_names(names)
    rows = _read_manifest(out)
    rebuilt = []
    with progress(disable=not show_progress) as bar:
        task = bar.add_task("building zoo", total=len(keys), status="")
        for key in keys:
            bar.update(task, status=key)
            spec = SPECS[key]
            path = out / file_name(key)
            atomic_write_bytes(path, build_model(spec).SerializeToString())
            rows[key] = manifest_row(spec, path)
            rebuilt.append(rows[key])
            bar.advance(task)
    order = {n: i for i, n in enumerate(SPECS)}
    ordered = sorted(rows.values(), key=lambda r: order.get(r["name"], len(order)))
    atomic_write_json(out / MANIFEST_NAME, {"format": MANIFEST_FORMAT, "models": ordered})
    df = pd.DataFrame(rebuilt)
    cols = ["name", "macs", "reference_macs", "macs_deviation", "params", "layers", "bytes", "sha256"]
    return df[cols] if len(df) else pd.DataFrame(columns=cols)
