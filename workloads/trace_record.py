"""The request-trace record (:class:`Trace`) and the checks every trace table passes.

A trace is one row per inference request (a *job*): ``job_id``, ``arrival_s``, ``model``,
``qos``, ``qos_factor`` (see :data:`COLUMNS`), plus how it was drawn. Every way of making one
(drawing it, loading a file, building a DataFrame by hand) goes through :func:`validate_frame`,
so the scheduler can rely on the dtypes, the numbering and the arrival order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from workloads.trace_qos import QOS_LEVELS, deadlines_s

COLUMNS: tuple[str, ...] = ("job_id", "arrival_s", "model", "qos", "qos_factor")
FORMAT_NAME = "mascot.trace"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Trace:
    """A request trace: a DataFrame (one row per job, arrival order) plus how it was made.

    Columns: ``job_id`` (int64, 0..n-1 in arrival order), ``arrival_s`` (float64 seconds,
    non-decreasing), ``model`` (str), ``qos`` (``low`` / ``medium`` / ``high``), ``qos_factor``
    (float64 deadline multiplier). Metadata fields are ``None`` for hand-made traces whose
    origin is unknown. Construction validates the frame (see :meth:`validate_frame`).
    """

    frame: pd.DataFrame
    workload_set: str | None = None
    models: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    qos_mix: tuple[tuple[str, float], ...] = ()
    pareto_shape: float | None = None
    mean_interarrival_s: float | None = None
    medium_qos_factor: float | None = None
    duration_s: float | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", validate_frame(self.frame))
        object.__setattr__(self, "models", tuple(str(m) for m in self.models))
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "qos_mix", tuple((str(k), float(v)) for k, v in self.qos_mix))

    # --- views -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frame)

    @property
    def n_requests(self) -> int:
        return len(self.frame)

    @property
    def span_s(self) -> float:
        """The time the trace covers: its duration when known, else the last arrival."""
        if self.duration_s is not None:
            return float(self.duration_s)
        return float(self.frame["arrival_s"].iloc[-1]) if len(self.frame) else 0.0

    @property
    def arrival_rate_per_s(self) -> float:
        """Requests per second over :attr:`span_s` (0 for an empty trace)."""
        span = self.span_s
        return len(self.frame) / span if span > 0 else 0.0

    def metadata(self) -> dict[str, Any]:
        """Everything but the rows, JSON-serialisable (stored next to the rows on disk)."""
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "workload_set": self.workload_set,
            "models": list(self.models),
            "weights": list(self.weights),
            "qos_mix": {k: v for k, v in self.qos_mix},
            "pareto_shape": self.pareto_shape,
            "mean_interarrival_s": self.mean_interarrival_s,
            "medium_qos_factor": self.medium_qos_factor,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "extra": dict(self.extra),
        }

    def deadlines_s(self, isolated_latency_s: Mapping[str, float]) -> np.ndarray:
        """Absolute deadlines ``arrival_s + qos_factor × isolated latency`` (seconds), one per job.

        ``isolated_latency_s`` maps each model of the trace to its latency alone on the idle
        system (the hardware-dependent part, which the scheduler computes).
        """
        return deadlines_s(self.frame, isolated_latency_s)

    def equals(self, other: "Trace") -> bool:
        """Bit-identical rows and identical metadata."""
        return self.metadata() == other.metadata() and self.frame.equals(other.frame)

    def summary(self) -> pd.DataFrame:
        """Requests per model and QoS level, with each model's share and arrival rate."""
        df = self.frame
        if df.empty:
            return pd.DataFrame({"model": list(self.models), **{level: 0 for level in QOS_LEVELS},
                                 "requests": 0, "share": 0.0, "rate_per_s": 0.0})
        counts = pd.crosstab(df["model"], df["qos"]).reindex(columns=list(QOS_LEVELS), fill_value=0)
        models = list(self.models) or sorted(df["model"].unique())
        extra = [m for m in counts.index if m not in models]
        counts = counts.reindex(models + extra, fill_value=0)
        out = pd.DataFrame({"model": counts.index.astype(str)})
        for level in QOS_LEVELS:
            out[level] = counts[level].to_numpy(dtype=np.int64)
        out["requests"] = counts.sum(axis=1).to_numpy(dtype=np.int64)
        total = max(len(df), 1)
        out["share"] = out["requests"] / total
        span = self.span_s
        out["rate_per_s"] = out["requests"] / span if span > 0 else 0.0
        return out.reset_index(drop=True)


def validate_frame(df: pd.DataFrame, *, path: str | Path | None = None) -> pd.DataFrame:
    """Check that ``df`` is a trace table and return it with canonical dtypes.

    Raises :class:`MascotError` naming ``path`` and the offending column: what a trace file
    written by hand (or by another tool) most often gets wrong.
    """
    if not isinstance(df, pd.DataFrame):
        raise MascotError(f"a trace needs a pandas DataFrame, got {type(df).__name__}", path=path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise MascotError(
            f"not a request trace: column(s) {', '.join(missing)} missing (has: {', '.join(map(str, df.columns))})",
            path=path,
            hint=f"a trace has the columns {', '.join(COLUMNS)}; make one with `mascot workload generate`",
        )
    if len(df) == 0:  # no values to check; JSON gives empty columns no dtype
        return pd.DataFrame({"job_id": np.empty(0, np.int64), "arrival_s": np.empty(0, np.float64),
                             "model": pd.Series([], dtype="str"), "qos": pd.Series([], dtype="str"),
                             "qos_factor": np.empty(0, np.float64)})
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))

    job_id = df["job_id"]
    if not pd.api.types.is_integer_dtype(job_id.dtype):
        raise MascotError(f"column job_id must hold integers, found {job_id.dtype}", path=path)
    job = job_id.to_numpy(dtype=np.int64)
    if not np.array_equal(job, np.arange(len(df), dtype=np.int64)):
        raise MascotError("column job_id must number the jobs 0..n-1 in row order", path=path,
                          hint="sort the rows by arrival_s and renumber job_id")
    out["job_id"] = job

    for col in ("arrival_s", "qos_factor"):
        s = df[col]
        if not (pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype)) or \
                pd.api.types.is_bool_dtype(s.dtype):
            raise MascotError(f"column {col} must hold numbers (seconds / a factor), found {s.dtype}", path=path)
        values = s.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise MascotError(f"column {col} holds NaN or infinite values", path=path)
        out[col] = values
    arrival = out["arrival_s"].to_numpy()
    if len(arrival) and (arrival[0] < 0 or np.any(np.diff(arrival) < 0)):
        raise MascotError("column arrival_s must be non-negative and non-decreasing (arrival order)", path=path)
    if np.any(out["qos_factor"].to_numpy() <= 0):
        raise MascotError("column qos_factor must be > 0 (deadline = qos_factor × isolated latency)", path=path)

    for col in ("model", "qos"):
        s = df[col]
        kind = pd.api.types.infer_dtype(s, skipna=False) if len(s) else "string"
        if kind not in ("string", "empty"):
            raise MascotError(f"column {col} must hold strings, found {kind} values ({s.dtype})", path=path)
        if s.isna().any():
            raise MascotError(f"column {col} holds missing values", path=path)
        s = s.astype("str")
        if col == "qos":
            bad = sorted(set(s.unique().tolist()) - set(QOS_LEVELS))
            if bad:
                raise MascotError(f"column qos holds unknown QoS level(s) {', '.join(map(repr, bad))}", path=path,
                                  hint=f"use one of {', '.join(QOS_LEVELS)}")
        elif (s.str.len() == 0).any():
            raise MascotError("column model holds an empty model name", path=path)
        out[col] = s.reset_index(drop=True)
    return out[list(COLUMNS)]
