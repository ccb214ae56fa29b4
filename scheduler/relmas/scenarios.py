"""The traffic of the RELMAS study's scenarios, and the trace seeds each use may draw from.

A scenario is a workload set (light / heavy / mixed, paper Table 2) × a QoS level, with a Pareto
(Lomax) arrival process and a scheduling period. The paper gives neither the arrival rates nor the
period nor the medium QoS factor: we use the study's choices (``scheduler.experiments``) for
``relmas6`` with the analytical table.

Seed spaces keep training, validation (model selection during training) and evaluation traces
apart: evaluation uses seeds ``0, 1, 2, ...``; validation ``VALIDATION_SEED_BASE + i``; training
``TRAIN_SEED_BASE + 100_000 × run seed + episode``; choosing which finished training run to ship
(a larger, paired comparison than one run's validation) ``SELECTION_SEED_BASE + i``. Nothing is ever
tuned on evaluation traces.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mascot.errors import MascotError

TRAIN_SEED_BASE = 1_000_000
VALIDATION_SEED_BASE = 900_000
SELECTION_SEED_BASE = 950_000
QOS_LEVELS: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class Scenario:
    workload: str
    qos: str
    period_s: float
    mean_interarrival_s: float
    duration_s: float
    medium_qos_factor: float = 3.0

    @property
    def name(self) -> str:
        return f"{self.workload}/{self.qos}"

    def trace(self, seed: int):  # type: ignore[no-untyped-def]
        """The scenario's trace for ``seed`` (a :class:`workloads.traces.Trace`)."""
        from workloads.traces import generate_trace

        return generate_trace(
            self.workload, duration_s=self.duration_s, mean_interarrival_s=self.mean_interarrival_s,
            qos=self.qos, medium_qos_factor=self.medium_qos_factor, seed=int(seed),
        )


# Period, arrival rates, QoS factor and evaluation trace lengths are the study's
# (scheduler.experiments: Ts = 0.1 ms, mean inter-arrival light 1 ms, heavy 20 ms, mixed 10 ms, medium
# QoS factor 3, traces of 0.125 / 1 / 0.5 s), so a policy trained here is used under the conditions
# it was trained for and our evaluation traces are the ones `mascot compare` draws (same seeds).
# Training traces are shorter for heavy / mixed (0.6 / 0.4 s) to fit the CPU budget.
_STUDY_PERIOD_S = 1e-4
_STUDY_QOS_FACTOR = 3.0
_STUDY_INTERARRIVAL_S: dict[str, float] = {"light": 1e-3, "heavy": 20e-3, "mixed": 10e-3}
EVAL_DURATION_S: dict[str, float] = {"light": 0.125, "heavy": 1.0, "mixed": 0.5}
try:  # follow the study's defaults when they change
    from scheduler import experiments as _ex

    _STUDY_PERIOD_S = float(_ex.DEFAULT_PERIOD_S)
    _STUDY_QOS_FACTOR = float(_ex.DEFAULT_MEDIUM_QOS_FACTOR)
    _STUDY_INTERARRIVAL_S = {k: float(v) for k, v in _ex.DEFAULT_MEAN_INTERARRIVAL_S.items()}
    EVAL_DURATION_S = {k: float(v) for k, v in _ex.DEFAULT_DURATION_S.items()}
except (ImportError, AttributeError):  # pragma: no cover - the study module is optional
    pass

_TRAIN_DURATION_S: dict[str, float] = {"light": 0.1, "heavy": 0.6, "mixed": 0.4}
_TRAFFIC: dict[str, dict[str, float]] = {
    w: {"period_s": _STUDY_PERIOD_S, "mean_interarrival_s": _STUDY_INTERARRIVAL_S[w], "duration_s": _TRAIN_DURATION_S[w],
        "medium_qos_factor": _STUDY_QOS_FACTOR}
    for w in ("light", "heavy", "mixed")
}


def scenario(workload: str, qos: str = "medium", **override: float) -> Scenario:
    """The default scenario of a workload set and QoS level (fields overridable)."""
    if workload not in _TRAFFIC:
        raise MascotError(f"unknown workload set {workload!r}", hint=f"use one of {', '.join(_TRAFFIC)}")
    base = Scenario(workload=workload, qos=qos, **_TRAFFIC[workload])
    return replace(base, **{k: v for k, v in override.items() if v is not None})


def all_scenarios(evaluation: bool = True, duration_scale: float = 1.0) -> list[Scenario]:
    """The paper's nine: 3 workload sets × 3 QoS levels (evaluation: the study's trace lengths)."""
    out = []
    for w in _TRAFFIC:
        dur = (EVAL_DURATION_S[w] if evaluation else _TRAFFIC[w]["duration_s"]) * duration_scale
        out += [scenario(w, q, duration_s=dur) for q in QOS_LEVELS]
    return out
