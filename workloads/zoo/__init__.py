"""The model zoo: weight-free ONNX files of the networks mascot studies, and their manifest.

Files live next to this module (``<name>.onnx``) with ``manifest.json`` (name, variant, input,
MACs, parameters, layers, sha256, architecture source, published MAC figure); they are rebuilt by
:func:`workloads.zoo.build.build_zoo` (``mascot models build-zoo``, needs the ``zoo`` extra) and
read here without any extra.

Names are lower-case zoo keys (``resnet50``, ``yolo-lite``, ``bert-base``...). ``squeezenet`` is an
alias of ``squeezenet1_1``: the RELMAS paper names only "SqueezeNet" for its light set, and 1.1 is
the variant meant for constrained devices (same accuracy as 1.0 at 2.4× less computation).

Weights are not shipped: initializers keep dims and dtype but point at external data that does
not exist, so open the files with ``onnx.load(path, load_external_data=False)``.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from mascot.errors import MascotError
from workloads.graph import LayerGraph
from workloads.zoo.specs import ALIASES, PIPELINE_BENCH_MODELS, SPECS, WORKLOAD_SETS, ZooSpec

ZOO_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = ZOO_DIR / "manifest.json"

__all__ = [
    "ALIASES", "PIPELINE_BENCH_MODELS", "SPECS", "WORKLOAD_SETS", "ZOO_DIR", "ZooSpec", "list_models",
    "load_model", "manifest_entry", "model_names", "model_path", "resolve_name",
]


@lru_cache(maxsize=4)
def _manifest(path: str, mtime_ns: int) -> tuple[dict[str, Any], ...]:
    try:
        data = json.loads(Path(path).read_text())
        return tuple(data["models"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MascotError(f"cannot read the zoo manifest ({exc})", path=path,
                          hint="rebuild the zoo with `mascot models build-zoo` (needs the zoo extra)") from None


def list_models() -> list[dict[str, Any]]:
    """The manifest rows, one per zoo model, in zoo order (copies: safe to modify)."""
    if not MANIFEST_PATH.exists():
        raise MascotError("the zoo manifest is missing", path=MANIFEST_PATH,
                          hint="rebuild the zoo with `mascot models build-zoo` (needs the zoo extra)")
    return [dict(row) for row in _manifest(str(MANIFEST_PATH), MANIFEST_PATH.stat().st_mtime_ns)]


def model_names() -> list[str]:
    """Zoo names (without aliases)."""
    return [row["name"] for row in list_models()]


def resolve_name(name: str) -> str:
    """A zoo name or alias (any case) → the zoo name; unknown names raise MascotError listing the zoo."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    names = model_names()
    if key in names:
        return key
    choices = names + sorted(ALIASES)
    close = difflib.get_close_matches(key, choices, n=3, cutoff=0.5)
    raise MascotError(
        f"unknown zoo model {name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""),
        hint=f"zoo models: {', '.join(names)}; aliases: "
             + ", ".join(f"{a} = {t}" for a, t in sorted(ALIASES.items())),
    )


def manifest_entry(name: str) -> dict[str, Any]:
    """The manifest row of a zoo model (name or alias)."""
    key = resolve_name(name)
    return next(row for row in list_models() if row["name"] == key)


def model_path(name: str) -> Path:
    """Path of a zoo model's weight-free ONNX file (name or alias)."""
    entry = manifest_entry(name)
    path = ZOO_DIR / entry["file"]
    if not path.is_file():
        raise MascotError(f"zoo file of {entry['name']!r} is missing", path=path,
                          hint="rebuild it with `mascot models build-zoo --only " + entry["name"] + "`")
    return path


def load_model(name_or_path: str | Path, batch: int = 1) -> LayerGraph:
    """A zoo model (name or alias) or any ONNX file as a :class:`LayerGraph` for ``batch``.

    Zoo transformers (``bert-base``, ``vit-b16``) are exported for batch 1 only (their reshapes
    are folded for it); asking them for another batch is an error rather than a silent batch 1.
    """
    from workloads.onnx_import import load_onnx

    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or path.suffix.lower() == ".onnx" or path.is_file():
        if not path.is_file():
            raise MascotError("ONNX file not found", path=path,
                              hint="check the path, or give a zoo name (workloads.zoo.model_names())")
        return load_onnx(path, batch=batch)
    entry = manifest_entry(str(name_or_path))
    if batch != 1 and not entry.get("dynamic_batch", True):
        raise MascotError(f"zoo model {entry['name']!r} is exported for batch 1 only (got batch={batch})",
                          path=ZOO_DIR / entry["file"],
                          hint="use batch=1, or export the network yourself with a dynamic batch axis")
    return load_onnx(model_path(entry["name"]), batch=batch)
