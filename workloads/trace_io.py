"""Trace files: Parquet (metadata in the schema) or JSON, written atomically, read with checks.

Parquet keeps the rows typed and compact; the trace's metadata (how it was drawn) travels in the
Parquet schema metadata under ``mascot.trace``. JSON is for eyes and other tools: the metadata
fields at the top level and the rows column-wise under ``requests``. Reading either goes through
:func:`~workloads.trace_record.validate_frame`, so a hand-written file fails with a message that
names the file and the column, never with a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mascot.errors import MascotError
from mascot.io import atomic_write, atomic_write_text
from workloads.trace_record import COLUMNS, FORMAT_NAME, FORMAT_VERSION, Trace, validate_frame

_META_KEY = FORMAT_NAME.encode()


def trace_format(path: str | Path) -> str:
    """``"parquet"`` or ``"json"`` from the file name; anything else is a MascotError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".json":
        return "json"
    raise MascotError(f"unsupported trace format {suffix or '(no suffix)'!r}", path=path,
                      hint="use a .parquet or .json file name")


def save_trace(trace: Trace, path: str | Path) -> Path:
    """Write ``trace`` atomically as Parquet (metadata in the schema) or JSON, by suffix."""
    path = Path(path)
    fmt = trace_format(path)
    meta = trace.metadata()
    if fmt == "json":
        rows = trace.frame.to_dict(orient="list")
        doc = {**meta, "requests": {c: rows[c] for c in COLUMNS}}
        return atomic_write_text(path, json.dumps(doc, indent=1) + "\n")

    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("job_id", pa.int64()), ("arrival_s", pa.float64()), ("model", pa.string()),
                        ("qos", pa.string()), ("qos_factor", pa.float64())])
    table = pa.Table.from_pandas(trace.frame, schema=schema, preserve_index=False)
    table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    return atomic_write(path, lambda p: pq.write_table(table, p))


def _trace_from(frame: pd.DataFrame, meta: Mapping[str, Any], path: Path) -> Trace:
    if not isinstance(meta, Mapping):
        raise MascotError("trace metadata is not a JSON object", path=path)
    version = meta.get("version", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise MascotError(f"trace format version {version!r} is newer than this mascot reads ({FORMAT_VERSION})",
                          path=path, hint="upgrade mascot")
    frame = validate_frame(frame, path=path)
    try:
        qos_mix = meta.get("qos_mix") or {}
        return Trace(
            frame=frame,
            workload_set=meta.get("workload_set"),
            models=tuple(meta.get("models") or ()),
            weights=tuple(meta.get("weights") or ()),
            qos_mix=tuple(dict(qos_mix).items()),
            pareto_shape=_opt_float(meta.get("pareto_shape")),
            mean_interarrival_s=_opt_float(meta.get("mean_interarrival_s")),
            medium_qos_factor=_opt_float(meta.get("medium_qos_factor")),
            duration_s=_opt_float(meta.get("duration_s")),
            seed=None if meta.get("seed") is None else int(meta["seed"]),
            extra=dict(meta.get("extra") or {}),
        )
    except (TypeError, ValueError) as exc:
        raise MascotError(f"trace metadata is malformed ({exc})", path=path) from None


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def load_trace(path: str | Path) -> Trace:
    """Read a trace written by :func:`save_trace` (or any table with the trace columns).

    Parquet files without mascot metadata load with unknown provenance (metadata ``None``).
    """
    path = Path(path)
    fmt = trace_format(path)
    if not path.is_file():
        raise MascotError("trace file not found", path=path, hint="make one with `mascot workload generate`")
    if fmt == "json":
        try:
            doc = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MascotError(f"not a JSON trace ({exc})", path=path) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("requests"), dict):
            raise MascotError("not a JSON trace: no 'requests' object with the trace columns", path=path,
                              hint="make one with `mascot workload generate -o trace.json`")
        requests = doc["requests"]
        lengths = {len(v) for v in requests.values() if isinstance(v, list)}
        if len(lengths) > 1 or not all(isinstance(v, list) for v in requests.values()):
            raise MascotError("JSON trace columns under 'requests' must be lists of equal length", path=path)
        frame = pd.DataFrame(requests)
        return _trace_from(frame, {k: v for k, v in doc.items() if k != "requests"}, path)

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise MascotError(f"not a readable Parquet file ({exc})", path=path) from None
    raw = (table.schema.metadata or {}).get(_META_KEY)
    meta: Any = {}
    if raw is not None:
        try:
            meta = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MascotError("the trace metadata in the Parquet schema is not valid JSON", path=path) from None
    try:
        frame = table.to_pandas()
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise MascotError(f"cannot read the Parquet table ({exc})", path=path) from None
    return _trace_from(frame, meta, path)
