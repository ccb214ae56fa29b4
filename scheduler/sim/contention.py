"""Shared-DRAM contention: the one rule every running SJ obeys.

While the SJs running on all SAs together need more DRAM bandwidth than the DRAM provides, every
one of them progresses at the same reduced rate ``capacity / demand`` (so they all see the same
stall cycles, as in the RELMAS paper); otherwise they run at full speed. Rates change only when an
SJ starts or finishes, so time advances from event to event with a constant rate in between.
"""

from __future__ import annotations

import numpy as np


def progress_rate(demand_gbps: float, capacity_gbps: float) -> float:
    """Fraction of full speed at which every running SJ progresses."""
    if demand_gbps <= capacity_gbps:
        return 1.0
    return capacity_gbps / demand_gbps


def progress_rate_batch(demand_gbps: np.ndarray, capacity_gbps: float) -> np.ndarray:
    """Vectorised :func:`progress_rate` over many independent systems (forecast populations)."""
    demand = np.asarray(demand_gbps, dtype=float)
    return np.where(demand <= capacity_gbps, 1.0, capacity_gbps / np.maximum(demand, 1e-300))
