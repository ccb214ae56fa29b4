"""QoS levels of a request trace and the deadlines they imply.

A request's QoS level scales how long it may take: the simulator's absolute deadline is
``arrival_s + qos_factor × isolated latency``, where ``qos_factor`` is the level's multiplier
times the medium QoS factor (RELMAS, DAC'24, Sec. 5.1). The isolated latency depends on the
hardware, so it is an argument here, never part of the trace.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mascot.errors import MascotError

#: QoS levels, from the most relaxed to the most demanding.
QOS_LEVELS: tuple[str, ...] = ("low", "medium", "high")
#: Deadline multiplier of each level relative to the medium QoS factor (RELMAS Sec. 5.1).
QOS_MULTIPLIERS: dict[str, float] = {"low": 1.2, "medium": 1.0, "high": 0.8}
#: Default medium QoS factor: deadline = 3 × the isolated latency. A starting point only; the
#: scheduler study tunes it so that the best policy neither always nor never meets deadlines.
DEFAULT_MEDIUM_QOS_FACTOR = 3.0


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


def qos_factors(medium_qos_factor: float) -> np.ndarray:
    """The deadline multiplier of each level of :data:`QOS_LEVELS`, in that order."""
    return np.array([QOS_MULTIPLIERS[level] * medium_qos_factor for level in QOS_LEVELS])


def deadlines_s(frame: pd.DataFrame, isolated_latency_s: Mapping[str, float]) -> np.ndarray:
    """Absolute deadlines ``arrival_s + qos_factor × isolated latency`` (seconds), one per row.

    ``frame`` holds the trace columns ``model``, ``arrival_s`` and ``qos_factor``;
    ``isolated_latency_s`` maps each of its models to its latency alone on the idle system.
    """
    missing = sorted(set(frame["model"].unique()) - set(isolated_latency_s))
    if missing:
        raise MascotError(f"no isolated latency for model(s) {', '.join(missing)} of the trace",
                          hint="give a latency for every model the trace requests")
    latency = frame["model"].map(lambda m: float(isolated_latency_s[m])).to_numpy(dtype=np.float64)
    return frame["arrival_s"].to_numpy() + frame["qos_factor"].to_numpy() * latency
