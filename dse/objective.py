"""One trial: design point → system spec → layer table (cached) → simulated traces → objectives.

Why deadlines come from a *reference* system: the simulator's deadline is ``arrival + QoS factor ×
isolated latency``, and the isolated latency depends on the hardware. Measured on the candidate
itself, a tiny slow system would get loose deadlines and look as good as a big one. The study fixes
every model's isolated latency to its value on ``reference_system`` (``relmas6`` by default), so
SLA satisfaction means the same latency targets for every candidate.

Failures are data, not crashes: a design that breaks a constraint (area, peak power, no SA) is
*pruned* with the reason in ``user_attrs["fail_reason"]``; a design the schedule cannot run (a
RELMAS checkpoint trained for another number of SAs, a spec the mapper rejects) raises
:class:`TrialFailed`, which the study records as a FAILED trial with its reason.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mascot.errors import MascotError

from dse.area_power import DRAM_PHY_MM2_PER_GBPS, build_system, peak_power_w, system_area
from dse.space import DesignPoint, SpaceConfig, design_key

OBJECTIVES: dict[str, str] = {"sla": "maximize", "energy": "minimize", "area": "minimize"}
OBJECTIVE_COLUMNS: dict[str, str] = {"sla": "sla_satisfaction", "energy": "energy_per_inference_mj", "area": "area_mm2"}


class TrialStopped(Exception):
    """A trial that ends without objectives: the message is the reason, ``attrs`` what was measured.

    The two kinds below stay distinct classes (neither is the other's subclass) because the study
    records them differently: a failure as FAILED, a violated budget as PRUNED.
    """

    def __init__(self, reason: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.attrs = dict(attrs or {})


class TrialFailed(TrialStopped):
    """A design the study cannot evaluate; the message is the reason recorded with the trial."""


class ConstraintViolated(TrialStopped):
    """A design outside the budgets; the message is the reason recorded with the (pruned) trial.

    ``attrs`` holds what was measured before the check failed (area, power), so that pruned
    trials still show how far over budget they were.
    """


@dataclass(frozen=True)
class StudySettings:
    """Everything that defines what a study measures (stored with it; workers rebuild from it)."""

    area_budget_mm2: float
    workload: str = "mixed"
    qos: str = "medium"
    backend: str = "analytical"
    objectives: tuple[str, ...] = ("sla", "energy", "area")
    power_budget_w: float | None = None
    min_sla: float | None = None
    trace_seeds: tuple[int, ...] = (0,)
    duration_s: float | None = None
    mean_interarrival_s: float | None = None
    period_s: float | None = None
    reference_system: str = "relmas6"
    dram_phy_mm2_per_gbps: float = DRAM_PHY_MM2_PER_GBPS
    seed: int = 0
    space: SpaceConfig = field(default_factory=SpaceConfig)

    def __post_init__(self) -> None:
        if not (self.area_budget_mm2 > 0 and math.isfinite(self.area_budget_mm2)):
            raise MascotError(f"--area-budget-mm2 must be a positive number, got {self.area_budget_mm2}")
        if self.power_budget_w is not None and not self.power_budget_w > 0:
            raise MascotError(f"--power-budget-w must be > 0, got {self.power_budget_w}")
        bad = [o for o in self.objectives if o not in OBJECTIVES]
        if bad or not self.objectives or len(set(self.objectives)) != len(self.objectives):
            raise MascotError(f"objectives {list(self.objectives)} are not a non-empty list of distinct "
                              f"{', '.join(OBJECTIVES)}", hint="e.g. --objectives sla,energy,area or --objectives energy")
        if self.min_sla is not None and not 0 <= self.min_sla <= 1:
            raise MascotError(f"--min-sla must be in [0, 1], got {self.min_sla}")
        if not self.trace_seeds:
            raise MascotError("at least one trace seed is needed")

    def resolved(self) -> "StudySettings":
        """A copy with the traffic (period, inter-arrival, duration) filled from the scheduler's scenario.

        Stored resolved with the study, so that a study keeps measuring the same thing when the
        scheduler's defaults change, and every worker simulates the same traces.
        """
        from scheduler.relmas.scenarios import scenario

        sc = scenario(self.workload, self.qos)
        return dataclasses.replace(
            self,
            period_s=self.period_s if self.period_s is not None else float(sc.period_s),
            mean_interarrival_s=(self.mean_interarrival_s if self.mean_interarrival_s is not None
                                 else float(sc.mean_interarrival_s)),
            duration_s=self.duration_s if self.duration_s is not None else float(sc.duration_s),
        )

    @property
    def directions(self) -> list[str]:
        return [OBJECTIVES[o] for o in self.objectives]

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["space"] = self.space.to_dict()
        data["objectives"] = list(self.objectives)
        data["trace_seeds"] = list(self.trace_seeds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StudySettings":
        data = dict(data)
        data["space"] = SpaceConfig.from_dict(data.get("space", {}))
        data["objectives"] = tuple(data.get("objectives", ("sla", "energy", "area")))
        data["trace_seeds"] = tuple(data.get("trace_seeds", (0,)))
        return cls(**data)


def resolve_backend(requested: str) -> str:
    """``auto`` → ``surrogate`` when it is registered and its default model loads, else ``analytical``."""
    if requested != "auto":
        return requested
    from hwmodel.cost import available_backends

    if "surrogate" in available_backends():
        try:
            from hwmodel.tables import make_backend

            make_backend("surrogate")
            return "surrogate"
        except (MascotError, ImportError, OSError):
            pass
    return "analytical"


@dataclass(frozen=True)
class TrialOutcome:
    """Objective values and the attributes recorded with a trial."""

    values: dict[str, float]
    attrs: dict[str, Any]


class Evaluator:
    """Evaluates design points for one study; built once per worker (graphs, traces, deadlines)."""

    def __init__(self, settings: StudySettings, cache: bool | str = True) -> None:
        from hwmodel.tables import resolve_models
        from scheduler.relmas.scenarios import scenario
        from workloads.traces import workload_sets

        self.settings = settings
        self.cache = cache
        sets = workload_sets()
        if settings.workload not in sets:
            raise MascotError(f"unknown workload set {settings.workload!r}", hint=f"use one of {', '.join(sets)}")
        self.graphs = resolve_models(list(sets[settings.workload]))
        self.scenario = scenario(settings.workload, settings.qos, period_s=settings.period_s,
                                 mean_interarrival_s=settings.mean_interarrival_s, duration_s=settings.duration_s)
        self.traces = [self.scenario.trace(s) for s in settings.trace_seeds]
        self._relmas_n_sa: int | None = None
        self._reference_isolated: dict[str, float] | None = None

    # --- pieces ------------------------------------------------------------------------
    def layer_table(self, system: Any) -> Any:
        from hwmodel.tables import build_table

        return build_table(self.graphs, system, backend=self.settings.backend, cache=self.cache, n_jobs=1, progress=False)

    def sim_table(self, system: Any, frame: Any) -> Any:
        from scheduler.table import Platform, SimTable

        return SimTable.from_frame(frame, Platform.from_system(system))

    def reference_isolated(self) -> dict[str, float]:
        """Each model's isolated latency on the reference system (the study's fixed deadlines)."""
        if self._reference_isolated is None:
            from hwmodel.spec import load_system

            ref = load_system(self.settings.reference_system)
            st = self.sim_table(ref, self.layer_table(ref).frame)
            self._reference_isolated = {m: float(v) for m, v in zip(st.models, st.isolated_s)}
        return self._reference_isolated

    def relmas_n_sa(self) -> int:
        if self._relmas_n_sa is None:
            from scheduler.relmas.policy import load_payload

            path = self.settings.space.relmas_checkpoint
            self._relmas_n_sa = int(load_payload(str(path))["encoder"]["n_sa"])
        return self._relmas_n_sa

    def policy(self, point: DesignPoint) -> Any:
        from scheduler.policies import get_policy

        if point.policy == "relmas":
            return get_policy(f"relmas:{self.settings.space.relmas_checkpoint}")
        if point.policy == "magma":
            return get_policy("magma", population=point.magma_population or 8, generations=point.magma_generations or 2)
        return get_policy(point.policy)

    # --- the trial ---------------------------------------------------------------------
    def __call__(self, point: DesignPoint) -> TrialOutcome:
        s = self.settings
        attrs: dict[str, Any] = {"design": design_key(point), "n_sa": point.n_instances, "backend": s.backend}
        if point.n_instances == 0:
            raise ConstraintViolated("no SA instance: every class count is 0", attrs)
        if point.policy == "relmas" and self.relmas_n_sa() != point.n_instances:
            raise TrialFailed(
                f"the RELMAS checkpoint {s.space.relmas_checkpoint} was trained for {self.relmas_n_sa()} SAs; "
                f"this design has {point.n_instances} (its input and output sizes depend on the SA count)", attrs
            )
        system = build_system(point)
        cost = system_area(system, s.dram_phy_mm2_per_gbps)
        attrs.update(area_mm2=cost.area_mm2, sa_area_mm2=cost.sa_area_mm2, static_power_w=cost.static_power_w)
        if cost.area_mm2 > s.area_budget_mm2:
            raise ConstraintViolated(f"area {cost.area_mm2:.3f} mm² > budget {s.area_budget_mm2:g} mm²", attrs)
        t0 = time.perf_counter()
        table = self.layer_table(system)
        attrs["table_time_s"] = time.perf_counter() - t0
        cost = peak_power_w(system, table.frame, cost)
        attrs["peak_power_w"] = cost.peak_power_w
        if s.power_budget_w is not None and cost.peak_power_w > s.power_budget_w:
            raise ConstraintViolated(f"peak power {cost.peak_power_w:.3f} W > budget {s.power_budget_w:g} W", attrs)
        st = self.sim_table(system, table.frame)
        iso = self.reference_isolated()
        st = dataclasses.replace(st, isolated_s=np.array([iso[m] for m in st.models]))
        period = self.scenario.period_s * point.period_scale
        t0 = time.perf_counter()
        slas, energies, p95 = [], [], []
        from scheduler.sim import Simulator

        for seed, trace in zip(s.trace_seeds, self.traces):
            result = Simulator(st, trace, self.policy(point), period, seed=int(seed)).run()
            slas.append(result.sla_satisfaction)
            energies.append(float(result.summary["energy_per_inference_j"]) * 1e3)
            p95.append(float(result.summary["latency_p95_s"]))
        attrs["sim_time_s"] = time.perf_counter() - t0
        attrs["sla_per_trace"] = slas
        attrs["latency_p95_s"] = float(np.nanmean(p95)) if not all(math.isnan(x) for x in p95) else float("nan")
        values = {
            "sla": float(np.mean(slas)),
            "energy": float(np.mean(energies)),
            "area": float(cost.area_mm2),
        }
        attrs.update(sla_satisfaction=values["sla"], energy_per_inference_mj=values["energy"])
        return TrialOutcome(values=values, attrs=attrs)
