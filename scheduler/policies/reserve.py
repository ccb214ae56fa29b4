"""``prema-h-reserve``: ``prema-h-late``'s order, with SAs kept free of long SJs.

Not in the RELMAS paper. The rule, with no SA named by hand (:func:`reserved_sas`): *short* layers
are those whose fastest latency is at most ``short_periods`` scheduling periods. The candidates
are the SAs that run most short layers within 2× of their fastest latency; of those, the
``reserve`` SAs on which the other (long) layers would take longest are reserved. A reserved SA
takes only SJs that run on it in at most ``short_periods`` periods; the order is
``prema-h-late``'s, the SA choice earliest finish among the SAs an SJ may use. On ``relmas6`` it
reserves the two small Eyeriss, where SqueezeNet runs 2.7× and the heavy models 2.4-3.6× slower
than on the large Simba.

Why it helps, measured (validation traces, never the evaluation ones): not the way it was first
meant to. The idea was to keep an SA free for KWS, whose deadline (0.9 periods from arrival) is
shorter than a period; but KWS's hit rate barely moves (0.40 → 0.41, five light / low traces),
while SqueezeNet's goes 0.74 → 0.86 and YOLO-Lite's 0.89 → 0.97. The gain is DRAM contention:
all running SJs share the DRAM bandwidth (16 GB/s on ``relmas6``), and the earliest-finish
estimate uses *solo* latencies, so it happily starts a long layer on a slow SA. On ``relmas6`` the
small Eyeriss move 3.7× (SqueezeNet) to 5.5× (ResNet-50) the DRAM bytes the large Simba moves for
the same layers and ask for 12-22 GB/s while they run, near or above the whole DRAM's 16: every
other running layer is stretched while one of them works. Stalls were 54 % of SJ run
time under PREMA-H and 48.5 % with the reservation; with unlimited DRAM bandwidth the rule gains
nothing (light / medium 79.7 % vs 78.9 %, heavy / medium 100 % vs 99.5 %, three traces each).
At 16 GB/s it gained +7.1 / +7.8 / +5.8 points over PREMA-H on light (low / medium / high, 10
traces each), +8.4 / +3.4 / +6.5 on mixed (10) and +5.3 / +4.5 / +4.0 on heavy (5).
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
    """``prema-h-late`` whose SA choice keeps ``reserve`` SAs for SJs of ≤ ``short_periods`` periods there."""

    name = "prema-h-reserve"

    def __init__(self, reserve: int = 2, short_periods: float = 0.1, weights: tuple[float, float, float] = QOS_WEIGHTS) -> None:
        if reserve < 0 or not short_periods > 0:
            raise MascotError(f"prema-h-reserve needs reserve >= 0 and short_periods > 0, got {reserve} and {short_periods}")
        self.reserve, self.short_periods = int(reserve), float(short_periods)
        self._masked: tuple[object, float, np.ndarray] | None = None
        super().__init__(weights)

    def assign(self, view: PeriodView, order: np.ndarray) -> np.ndarray:
        """Earliest finish among the SAs each SJ may use (its own rule also when a RELMAS residual reorders)."""
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
