"""Multi-tenant request traces: who asks for which model, when, and how urgently.

A :class:`Trace` is what the scheduler replays: one row per inference request (a *job*) with
its arrival time, the model it asks for and its QoS level. The deadline itself is not stored,
because it depends on the hardware: the simulator computes it as
``arrival_s + qos_factor × isolated latency`` (the job alone on the idle system).

How a trace is drawn (:func:`generate_trace`), following the RELMAS study (DAC'24, Sec. 5.1):

* **Arrivals** form a renewal process whose inter-arrival times follow a *Lomax* distribution
  (Pareto type II, support ``[0, ∞)``) with the requested mean: ``gap = λ · X`` where
  ``X ~ numpy.random.Generator.pareto(shape)`` and ``λ = mean · (shape − 1)``. Lomax rather
  than classic (type I) Pareto because it has no artificial minimum gap, so bursts of nearly
  simultaneous requests happen, as in data-centre dispatch logs; the tail (and so the
  burstiness) is the same power law. The shape must be > 1 for the mean to exist; at the
  default 2.0 the variance is infinite, i.e. traffic is very bursty. Request ``j`` arrives at
  the sum of the first ``j + 1`` gaps; requests arriving at or after ``duration_s`` are dropped.
* **Models** are drawn independently per request from a weighted mix: one of the paper's
  workload sets (``light``, ``heavy``, ``mixed``; uniform weights by default) or any list.
* **QoS levels** are drawn per request: a single level for the whole trace (the paper evaluates
  each level separately), ``"mixed"`` (uniform over the three) or explicit probabilities. Level
  ``low`` / ``medium`` / ``high`` gets ``qos_factor`` = 1.2× / 1.0× / 0.8× the medium factor.

The three draws use three independent child streams of ``numpy.random.default_rng(seed)``, so
changing the model mix leaves the arrival times untouched (a fair comparison between sets), and
the same seed always gives a bit-identical trace.

Traces are saved as Parquet (metadata in the Parquet schema metadata under ``mascot.trace``) or
JSON, always atomically.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from mascot.io import atomic_write, atomic_write_text

#: QoS levels, from the most relaxed to the most demanding.
QOS_LEVELS: tuple[str, ...] = ("low", "medium", "high")
#: Deadline multiplier of each level relative to the medium QoS factor (RELMAS Sec. 5.1).
QOS_MULTIPLIERS: dict[str, float] = {"low": 1.2, "medium": 1.0, "high": 0.8}
#: Default Pareto (Lomax) shape: heavy-tailed (infinite variance) yet with a finite mean.
DEFAULT_PARETO_SHAPE = 2.0
#: Default medium QoS factor: deadline = 3 × the isolated latency. A starting point only; the
#: scheduler study tunes it so that the best policy neither always nor never meets deadlines.
DEFAULT_MEDIUM_QOS_FACTOR = 3.0
#: Refuse to build traces beyond this many requests (a typo in the units, most likely).
MAX_REQUESTS = 20_000_000

COLUMNS: tuple[str, ...] = ("job_id", "arrival_s", "model", "qos", "qos_factor")
FORMAT_NAME = "mascot.trace"
FORMAT_VERSION = 1
_META_KEY = FORMAT_NAME.encode()


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
        missing = sorted(set(self.frame["model"].unique()) - set(isolated_latency_s))
        if missing:
            raise MascotError(f"no isolated latency for model(s) {', '.join(missing)} of the trace",
                              hint="give a latency for every model the trace requests")
        latency = self.frame["model"].map(lambda m: float(isolated_latency_s[m])).to_numpy(dtype=np.float64)
        return self.frame["arrival_s"].to_numpy() + self.frame["qos_factor"].to_numpy() * latency

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


# --- validation ------------------------------------------------------------------------
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


# --- generation ------------------------------------------------------------------------
def workload_sets() -> dict[str, tuple[str, ...]]:
    """The paper's workload sets (``light``, ``heavy``, ``mixed``) as zoo model names."""
    from workloads.zoo import WORKLOAD_SETS

    return {name: tuple(models) for name, models in WORKLOAD_SETS.items()}


def parse_qos_mix(qos: str | Mapping[str, float]) -> dict[str, float]:
    """Turn ``"medium"``, ``"mixed"``, ``"low=1,high=3"`` or a dict into normalised probabilities."""
    if isinstance(qos, str):
        text = qos.strip().lower()
        if text in QOS_LEVELS:
            return {level: float(level == text) for level in QOS_LEVELS}
        if text == "mixed":
            return {level: 1.0 / len(QOS_LEVELS) for level in QOS_LEVELS}
        if "=" not in text:
            raise MascotError(f"unknown QoS {qos!r}", hint=f"use {', '.join(QOS_LEVELS)}, mixed, "
                              "or probabilities such as low=0.2,medium=0.5,high=0.3")
        mix: dict[str, float] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            try:
                mix[key.strip()] = float(value)
            except ValueError:
                raise MascotError(f"QoS mix entry {part!r} is not LEVEL=PROBABILITY",
                                  hint="e.g. low=0.2,medium=0.5,high=0.3") from None
        qos = mix
    unknown = [k for k in qos if k not in QOS_LEVELS]
    if unknown:
        raise MascotError(f"unknown QoS level(s) {', '.join(map(repr, unknown))} in the QoS mix",
                          hint=f"use {', '.join(QOS_LEVELS)}")
    probs = np.array([float(qos.get(level, 0.0)) for level in QOS_LEVELS])
    if not np.all(np.isfinite(probs)) or np.any(probs < 0) or probs.sum() <= 0:
        raise MascotError(f"QoS mix {dict(qos)} needs non-negative probabilities with a positive sum")
    probs = probs / probs.sum()
    return dict(zip(QOS_LEVELS, probs.tolist()))


def _resolve_models(
    models: str | Sequence[str], weights: Sequence[float] | None
) -> tuple[str | None, tuple[str, ...], np.ndarray]:
    workload_set: str | None = None
    if isinstance(models, str):
        sets = workload_sets()
        if models not in sets:
            raise MascotError(f"unknown workload set {models!r}",
                              hint=f"use one of {', '.join(sets)}, or pass a list of model names")
        workload_set, names = models, tuple(sets[models])
    else:
        names = tuple(str(m) for m in models)
    if not names:
        raise MascotError("the model mix is empty", hint="name at least one model")
    if len(set(names)) != len(names):
        raise MascotError(f"the model mix names a model twice: {', '.join(names)}",
                          hint="list each model once and use weights for its share")
    if any(not n for n in names):
        raise MascotError("the model mix holds an empty model name")
    if weights is None:
        w = np.ones(len(names))
    else:
        w = np.asarray([float(x) for x in weights], dtype=np.float64)
        if len(w) != len(names):
            raise MascotError(f"{len(w)} weight(s) for {len(names)} model(s) ({', '.join(names)})",
                              hint="give one weight per model")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise MascotError(f"model weights {w.tolist()} must be non-negative with a positive sum")
    return workload_set, names, w / w.sum()


def _check_positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise MascotError(f"{name} must be a positive number, got {value!r}")
    return v


def lomax_interarrivals(rng: np.random.Generator, n: int, mean_s: float, shape: float) -> np.ndarray:
    """``n`` Lomax (Pareto II) gaps with mean ``mean_s``: ``mean_s·(shape−1)·Generator.pareto(shape)``."""
    return rng.pareto(shape, size=n) * (mean_s * (shape - 1.0))


def _arrivals(rng: np.random.Generator, duration_s: float, mean_s: float, shape: float) -> np.ndarray:
    """Arrival times in ``[0, duration_s)``; draws gaps in chunks until the horizon is passed.

    The chunk sizes are a function of the arguments only, so the result is still a function of
    the seed and the arguments (bit for bit).
    """
    expected = duration_s / mean_s
    if expected > MAX_REQUESTS:
        raise MascotError(f"about {expected:,.0f} requests expected (duration / mean inter-arrival), "
                          f"more than the {MAX_REQUESTS:,} allowed",
                          hint="check the units: durations and inter-arrival times are given in the same unit")
    chunk = int(expected * 1.1) + 64
    parts: list[np.ndarray] = []
    t = 0.0
    while True:
        times = t + np.cumsum(lomax_interarrivals(rng, chunk, mean_s, shape))
        inside = times < duration_s
        parts.append(times[inside])
        if not inside[-1]:
            break
        t = float(times[-1])
        chunk = max(chunk // 4, 64)
    return np.concatenate(parts)


def generate_trace(
    models: str | Sequence[str],
    *,
    weights: Sequence[float] | None = None,
    duration_s: float,
    mean_interarrival_s: float,
    pareto_shape: float = DEFAULT_PARETO_SHAPE,
    qos: str | Mapping[str, float] = "medium",
    medium_qos_factor: float = DEFAULT_MEDIUM_QOS_FACTOR,
    seed: int = 0,
) -> Trace:
    """Draw a request trace (see the module docstring for the process).

    ``models`` is a workload-set name (``light`` / ``heavy`` / ``mixed``) or a list of model
    names (zoo names, or whatever names the scheduler will be given graphs for); ``weights``
    (one per model, any positive scale, uniform by default) set the mix. ``qos`` is a level,
    ``"mixed"`` or a ``{level: probability}`` dict. Same arguments ⇒ bit-identical trace.
    """
    workload_set, names, probs = _resolve_models(models, weights)
    duration = _check_positive("duration_s", duration_s)
    mean = _check_positive("mean_interarrival_s", mean_interarrival_s)
    shape = float(pareto_shape)
    if not math.isfinite(shape) or shape <= 1.0:
        raise MascotError(f"pareto_shape must be > 1 (the mean inter-arrival is infinite otherwise), got {pareto_shape!r}",
                          hint="heavy-tailed traffic uses 1.5-3; the default is 2.0")
    medium = _check_positive("medium_qos_factor", medium_qos_factor)
    qos_mix = parse_qos_mix(qos)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise MascotError(f"seed must be a non-negative integer, got {seed!r}")

    arrival_rng, model_rng, qos_rng = np.random.default_rng(int(seed)).spawn(3)
    arrival = _arrivals(arrival_rng, duration, mean, shape)
    n = len(arrival)
    model_idx = model_rng.choice(len(names), size=n, p=probs)
    qos_probs = np.array([qos_mix[level] for level in QOS_LEVELS])
    qos_idx = qos_rng.choice(len(QOS_LEVELS), size=n, p=qos_probs)
    factors = np.array([QOS_MULTIPLIERS[level] * medium for level in QOS_LEVELS])

    frame = pd.DataFrame({
        "job_id": np.arange(n, dtype=np.int64),
        "arrival_s": arrival.astype(np.float64),
        "model": np.asarray(names, dtype=object)[model_idx],
        "qos": np.asarray(QOS_LEVELS, dtype=object)[qos_idx],
        "qos_factor": factors[qos_idx],
    })
    return Trace(
        frame=frame,
        workload_set=workload_set,
        models=names,
        weights=tuple(probs.tolist()),
        qos_mix=tuple(qos_mix.items()),
        pareto_shape=shape,
        mean_interarrival_s=mean,
        medium_qos_factor=medium,
        duration_s=duration,
        seed=int(seed),
    )


# --- files -----------------------------------------------------------------------------
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
