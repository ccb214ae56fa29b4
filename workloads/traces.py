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

This module draws traces; the parts live next to it, one job each, and their public names are
re-exported here so that ``from workloads.traces import ...`` keeps working:
:mod:`workloads.trace_arrivals` (the Lomax arrival process), :mod:`workloads.trace_qos` (QoS
levels, mixes and deadlines), :mod:`workloads.trace_record` (the :class:`Trace` record and its
table checks) and :mod:`workloads.trace_io` (Parquet / JSON files).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from workloads.trace_arrivals import (
    DEFAULT_PARETO_SHAPE,
    MAX_REQUESTS,
    arrival_times,
    check_pareto_shape,
    check_positive,
    lomax_interarrivals,
)
from workloads.trace_io import load_trace, save_trace, trace_format
from workloads.trace_qos import (
    DEFAULT_MEDIUM_QOS_FACTOR,
    QOS_LEVELS,
    QOS_MULTIPLIERS,
    deadlines_s,
    parse_qos_mix,
    qos_factors,
)
from workloads.trace_record import COLUMNS, FORMAT_NAME, FORMAT_VERSION, Trace, validate_frame

__all__ = [
    # drawing a trace (this module)
    "generate_trace", "workload_sets",
    # the arrival process (workloads.trace_arrivals)
    "DEFAULT_PARETO_SHAPE", "MAX_REQUESTS", "arrival_times", "check_pareto_shape", "check_positive",
    "lomax_interarrivals",
    # QoS levels and deadlines (workloads.trace_qos)
    "DEFAULT_MEDIUM_QOS_FACTOR", "QOS_LEVELS", "QOS_MULTIPLIERS", "deadlines_s", "parse_qos_mix", "qos_factors",
    # the record and its checks (workloads.trace_record)
    "COLUMNS", "FORMAT_NAME", "FORMAT_VERSION", "Trace", "validate_frame",
    # files (workloads.trace_io)
    "load_trace", "save_trace", "trace_format",
]


def workload_sets() -> dict[str, tuple[str, ...]]:
    """The paper's workload sets (``light``, ``heavy``, ``mixed``) as zoo model names."""
    from workloads.zoo import WORKLOAD_SETS

    return {name: tuple(models) for name, models in WORKLOAD_SETS.items()}


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
    duration = check_positive("duration_s", duration_s)
    mean = check_positive("mean_interarrival_s", mean_interarrival_s)
    shape = check_pareto_shape(pareto_shape)
    medium = check_positive("medium_qos_factor", medium_qos_factor)
    qos_mix = parse_qos_mix(qos)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise MascotError(f"seed must be a non-negative integer, got {seed!r}")

    arrival_rng, model_rng, qos_rng = np.random.default_rng(int(seed)).spawn(3)
    arrival = arrival_times(arrival_rng, duration, mean, shape)
    n = len(arrival)
    model_idx = model_rng.choice(len(names), size=n, p=probs)
    qos_probs = np.array([qos_mix[level] for level in QOS_LEVELS])
    qos_idx = qos_rng.choice(len(QOS_LEVELS), size=n, p=qos_probs)
    factors = qos_factors(medium)

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
