"""The single exception type for user errors.

Every package raises :class:`MascotError` when the *input* is wrong (a broken ONNX file, an
invalid YAML spec, a trace that does not match a table...). The CLI prints its message without a
traceback and exits with status 2, so the message itself must say what is wrong, where (file,
node, field) and what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class MascotError(Exception):
    """A user error: bad input, described well enough to fix it without reading code."""

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None):
        self.path = str(path) if path is not None else None
        self.hint = hint
        parts = []
        if self.path:
            parts.append(f"{self.path}: ")
        parts.append(message)
        if hint:
            parts.append(f"\n  hint: {hint}")
        super().__init__("".join(parts))
