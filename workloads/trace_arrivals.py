"""The arrival process of a request trace: a renewal process with Lomax (Pareto II) gaps.

``gap = λ · X`` with ``X ~ numpy.random.Generator.pareto(shape)`` and ``λ = mean · (shape − 1)``,
so the gaps have the requested mean. Lomax rather than classic (type I) Pareto because it has
no artificial minimum gap: bursts of nearly simultaneous requests happen, as in data-centre
dispatch logs, with the same power-law tail. The shape must be > 1 for the mean to exist.
"""

from __future__ import annotations

import math

import numpy as np

from mascot.errors import MascotError

#: Default Pareto (Lomax) shape: heavy-tailed (infinite variance) yet with a finite mean.
DEFAULT_PARETO_SHAPE = 2.0
#: Refuse to build traces beyond this many requests (a typo in the units, most likely).
MAX_REQUESTS = 20_000_000


def check_positive(name: str, value: float) -> float:
    """``value`` as a float, or a MascotError naming ``name`` (an argument or a CLI option)."""
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise MascotError(f"{name} must be a positive number, got {value!r}")
    return v


def check_pareto_shape(value: float, name: str = "pareto_shape") -> float:
    """``value`` as a float when it is a usable Lomax shape (finite, > 1), else a MascotError."""
    shape = float(value)
    if not math.isfinite(shape) or shape <= 1.0:
        raise MascotError(f"{name} must be > 1 (the mean inter-arrival is infinite otherwise), got {value!r}",
                          hint="heavy-tailed traffic uses 1.5-3; the default is 2.0")
    return shape


def lomax_interarrivals(rng: np.random.Generator, n: int, mean_s: float, shape: float) -> np.ndarray:
    """``n`` Lomax (Pareto II) gaps with mean ``mean_s``: ``mean_s·(shape−1)·Generator.pareto(shape)``."""
    return rng.pareto(shape, size=n) * (mean_s * (shape - 1.0))


def arrival_times(rng: np.random.Generator, duration_s: float, mean_s: float, shape: float) -> np.ndarray:
    """Arrival times in ``[0, duration_s)``; draws gaps in chunks until the horizon is passed.

    Request ``j`` arrives at the sum of the first ``j + 1`` gaps. The chunk sizes are a function
    of the arguments only, so the result is still a function of the seed and the arguments (bit
    for bit).
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
