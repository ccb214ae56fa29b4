"""``prema-h-reserve``: ``prema-h-late``'s order, with SAs kept free for short SJs.

Not in the RELMAS paper. Why: SAs are non-preemptive, and a tenant whose deadline is shorter than
a scheduling period (KWS in the light set: 0.26 periods of work on an Eyeriss, a deadline of
0.9 periods from arrival) can only meet it if an SA that runs it fast is free at the next period
boundary. The earliest-finish heuristic fills every SA with whatever is waiting, so under load the
SAs KWS needs are busy for whole periods with SqueezeNet layers that run 2-3× slower there than
on the SA they would have waited for. Measured on light-set validation traces (never the
evaluation ones): of 210 KWS jobs in five light / low traces, 144 could have met their deadline
with an Eyeriss free at the next period boundary; PREMA-H met 84. Keeping two SAs for short SJs
gained +7.1 / +7.8 / +5.8 points of SLA satisfaction over PREMA-H (10 traces per QoS level, low /
medium / high).

The rule, with no SA named by hand (:func:`reserved_sas`): *short* layers are those whose fastest
latency is at most ``short_periods`` scheduling periods. The candidates are the SAs that run most
short layers within 2× of their fastest latency; of those, the ``reserve`` SAs on which the other
(long) layers would take longest are reserved: they lose the least for long work. A reserved SA
takes only SJs that run on it in at most ``short_periods`` periods; the order is
``prema-h-late``'s, the SA choice earliest finish among the SAs an SJ may use.
"""

from __future__ import annotations

import numpy as np

from mascot.errors import MascotError
from scheduler.policies.heuristics import earliest_finish_assignment
from scheduler.policies.prema import QOS_WEIGHTS, PremaHLate
from scheduler.sim.view import PeriodView

# A layer kept off an SA gets this latency there: no earliest-finish estimate ever prefers it.
_BARRED_S = 1e6
# An SA "runs a short layer well" within this factor of the layer's fastest latency.
_SHORT_FIT = 2.0


def reserved_sas(solo_lat_s: np.ndarray, short_s: float, reserve: int) -> np.ndarray:
    """Indices of the SAs to keep for short layers (``solo_lat_s``: [layers, M] seconds)."""
    lat = np.asarray(solo_lat_s, dtype=float)
    M = lat.shape[1]
    k = min(int(reserve), M - 1)  # at least one SA stays open to every layer
    best = lat.min(axis=1)
    short = best <= short_s
    if k <= 0 or not short.any():
        return np.zeros(0, dtype=np.int64)
    fit = (lat[short] <= _SHORT_FIT * best[short, None]).mean(axis=0)
    candidates = np.flatnonzero(fit >= 0.5)
    long_load = lat[~short].sum(axis=0)
    ranked = candidates[np.lexsort((candidates, -long_load[candidates]))]
    return np.sort(ranked[:k]).astype(np.int64)


class PremaHReserve(PremaHLate):
    """``prema-h-late`` whose SA choice keeps ``reserve`` SAs for SJs of ≤ ``short_periods`` periods."""

    name = "prema-h-reserve"

    def __init__(self, reserve: int = 2, short_periods: float = 0.1, weights: tuple[float, float, float] = QOS_WEIGHTS) -> None:
        if reserve < 0 or not short_periods > 0:
            raise MascotError(f"prema-h-reserve needs reserve >= 0 and short_periods > 0, got {reserve} and {short_periods}")
        self.reserve, self.short_periods = int(reserve), float(short_periods)
        self._masked: tuple[object, float, np.ndarray] | None = None
        super().__init__(weights)

    def assign(self, view: PeriodView, order: np.ndarray) -> np.ndarray:
        return earliest_finish_assignment(view, order, solo_lat_s=self.masked_latency(view))[0]

    def masked_latency(self, view: PeriodView) -> np.ndarray:
        """The table's solo latencies with long layers barred from the reserved SAs (cached per table)."""
        if self._masked is None or self._masked[0] is not view.table or self._masked[1] != view.period_s:
            short_s = self.short_periods * view.period_s
            lat = np.array(view.table.solo_lat_s, dtype=float, copy=True)
            for m in reserved_sas(lat, short_s, self.reserve):
                lat[lat[:, m] > short_s, m] = _BARRED_S
            self._masked = (view.table, view.period_s, lat)
        return self._masked[2]
