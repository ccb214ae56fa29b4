"""Terminal output shared by every package's CLI: rich tables, progress bars, JSON."""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table


def _log_width(stream: Any) -> int | None:
    """A wide page when output goes to a file or pipe (logs, CI), so tables are not folded to 80 columns.

    Rich falls back to 80 columns off a terminal; a study's Pareto table then wraps every cell. ``COLUMNS``
    still wins when the user sets it.
    """
    if os.environ.get("COLUMNS") or getattr(stream, "isatty", lambda: False)():
        return None
    return 160


console = Console(width=_log_width(sys.stdout))
err_console = Console(stderr=True, width=_log_width(sys.stderr))


def format_value(value: Any) -> str:
    """Human-friendly cell text: thousands separators for ints, 4 significant digits for floats."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return f"{int(value):,}"
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f"):
        v = float(value)
        if math.isnan(v):
            return "-"
        if v != 0 and (abs(v) >= 1e7 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"
    return str(value)


def frame_table(df: Any, title: str | None = None, max_rows: int | None = None) -> Table:
    """A rich Table from a pandas DataFrame (numbers right-aligned)."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for col in df.columns:
        numeric = getattr(df[col].dtype, "kind", "O") in "iuf"
        table.add_column(str(col), justify="right" if numeric else "left")
    rows = df.itertuples(index=False)
    for i, row in enumerate(rows):
        if max_rows is not None and i >= max_rows:
            table.add_row(*["..." for _ in df.columns])
            break
        table.add_row(*[format_value(v) for v in row])
    return table


def print_frame(df: Any, title: str | None = None, max_rows: int | None = None) -> None:
    console.print(frame_table(df, title=title, max_rows=max_rows))


def print_json(obj: Any) -> None:
    """Machine-readable output on stdout (no rich markup, no wrapping)."""
    from mascot.io import _json_default

    print(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))


def progress(transient: bool = False, disable: bool = False) -> Progress:
    """The progress bar every long job uses (use as a context manager)."""
    return Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=err_console,
        transient=transient,
        disable=disable,
    )
