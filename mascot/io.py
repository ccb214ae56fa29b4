"""Atomic file output and small shared I/O helpers.

Every file mascot writes goes through :func:`atomic_write`: the content is written to a temporary
file in the destination folder and then renamed over the target, so a reader (or a job that is
killed half-way) never sees a truncated file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` when the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp creates 0600; give the file the mode a plain open() would
            os.chmod(tmp_path, _default_file_mode())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _default_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and atomically move the result to ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda p: p.write_bytes(data))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_frame(df: "Any", path: str | Path) -> Path:
    """Write a pandas DataFrame atomically; the suffix picks the format (.parquet or .csv)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        return atomic_write(path, lambda p: df.to_parquet(p, index=False))
    if suffix == ".csv":
        return atomic_write(path, lambda p: df.to_csv(p, index=False))
    from mascot.errors import MascotError

    raise MascotError(f"unsupported table format {suffix!r}", path=path, hint="use a .parquet or .csv file name")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def safe_filename(name: str, max_chars: int | None = None) -> str:
    """``name`` with every character other than letters, digits, ``-`` and ``_`` replaced by ``_``.

    Layer and backend names come from ONNX files and user input (``surrogate:/path/model``, ``conv1/7x7_s2``);
    they must not create sub-folders or odd characters in the files named after them.
    """
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return safe if max_chars is None else safe[:max_chars]
