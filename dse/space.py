"""The co-design search space: which SAs, how big, how much DRAM bandwidth, and which schedule.

Why discrete choices everywhere: every distinct SA variant costs one layer-table build (seconds
with the analytical backend), so the space offers a few sizes per knob. Variants then recur
between trials and the content-hash cost cache (:mod:`hwmodel.cache`) answers most of them, which
is what makes a 200-trial study fit in minutes on two cores.

Hardware knobs, per SA class (a bundled ``arch_specs/accelerators`` name):

* ``n_<class>``: instances, 0..``max_count`` (0 drops the class);
* ``pe_<class>``: scale of the PE array's X extent (``pe_scales``; 1 = the class as shipped);
* ``glb_<class>``: scale of the global buffer (the outermost on-chip SRAM);
* ``pebuf_<class>``: scale of the per-PE buffers (every regfile level larger than one word);

and one system knob, ``dram_gbps`` (from ``dram_gbps``). Schedule knobs: ``policy`` (FCFS-H,
Herald, MAGMA, RELMAS with one checkpoint), ``period_scale`` (× the scenario's period Ts) and, for
MAGMA, ``magma_population`` / ``magma_generations`` (its per-period budget).

Per-class knobs are suggested whether or not the class is used (count 0): a fixed search space
keeps NSGA-II's crossover meaningful; :func:`design_key` ignores knobs of unused classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mascot.errors import MascotError

DEFAULT_CLASSES: tuple[str, ...] = ("eyeriss_small", "eyeriss_large", "simba_small", "simba_large")
DEFAULT_POLICIES: tuple[str, ...] = ("fcfs-h", "herald", "magma")
BASELINE_POLICIES: tuple[str, ...] = ("fcfs-h", "prema-h", "herald", "magma")
# heuristics of ours a study may also search over (scheduler.policies: prema-h-late, prema-h-reserve)
EXTRA_POLICIES: tuple[str, ...] = ("prema-h-late", "prema-h-reserve")


@dataclass(frozen=True)
class SpaceConfig:
    """The choices a study explores (stored with the study, so workers rebuild the same space)."""

    classes: tuple[str, ...] = DEFAULT_CLASSES
    max_count: int = 4
    pe_scales: tuple[float, ...] = (0.5, 1.0, 2.0)
    glb_scales: tuple[float, ...] = (0.5, 1.0, 2.0)
    pebuf_scales: tuple[float, ...] = (0.5, 1.0)
    dram_gbps: tuple[float, ...] = (8.0, 16.0, 32.0, 64.0)
    policies: tuple[str, ...] = DEFAULT_POLICIES
    relmas_checkpoint: str | None = None
    period_scales: tuple[float, ...] = (0.5, 1.0, 2.0)
    magma_populations: tuple[int, ...] = (8, 16)
    magma_generations: tuple[int, ...] = (2, 4)

    def __post_init__(self) -> None:
        if not self.classes:
            raise MascotError("the search space needs at least one SA class", hint="e.g. --classes eyeriss_small,simba_small")
        if len(set(self.classes)) != len(self.classes):
            raise MascotError(f"SA classes listed twice: {list(self.classes)}")
        if not 1 <= self.max_count <= 16:
            raise MascotError(f"max_count must be 1..16, got {self.max_count}")
        for name in ("pe_scales", "glb_scales", "pebuf_scales", "dram_gbps", "period_scales"):
            values = getattr(self, name)
            if not values or any(not (v > 0) for v in values):
                raise MascotError(f"{name}: needs at least one value, all > 0, got {list(values)}")
        if not self.policies:
            raise MascotError("the search space needs at least one policy", hint="e.g. --policies fcfs-h,herald")
        known = set(BASELINE_POLICIES) | set(EXTRA_POLICIES) | {"relmas"}
        bad = [p for p in self.policies if p not in known]
        if bad:
            raise MascotError(f"unknown policies {bad} in the search space", hint=f"use {', '.join(sorted(known))}")
        if "relmas" in self.policies and not self.relmas_checkpoint:
            raise MascotError("policy relmas needs a checkpoint", hint="pass --relmas-checkpoint FILE.pt (from `mascot train relmas`)")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpaceConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass(frozen=True)
class SAChoice:
    """One SA class of a design: how many, and its size knobs (scales of the shipped class)."""

    base: str
    count: int
    pe_scale: float = 1.0
    glb_scale: float = 1.0
    pebuf_scale: float = 1.0


@dataclass(frozen=True)
class DesignPoint:
    """One trial's design: the hardware and the schedule (what :mod:`dse.objective` evaluates)."""

    sas: tuple[SAChoice, ...]
    dram_gbps: float
    policy: str
    period_scale: float = 1.0
    magma_population: int | None = None
    magma_generations: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def n_instances(self) -> int:
        return sum(s.count for s in self.sas)

    def used(self) -> tuple[SAChoice, ...]:
        return tuple(s for s in self.sas if s.count > 0)


def suggest(trial: Any, config: SpaceConfig) -> DesignPoint:
    """Ask an Optuna trial for one design (categorical knobs: values recur, caches hit)."""
    sas = []
    for cls in config.classes:
        count = trial.suggest_int(f"n_{cls}", 0, config.max_count)
        pe = trial.suggest_categorical(f"pe_{cls}", list(config.pe_scales))
        glb = trial.suggest_categorical(f"glb_{cls}", list(config.glb_scales))
        pebuf = trial.suggest_categorical(f"pebuf_{cls}", list(config.pebuf_scales))
        sas.append(SAChoice(cls, int(count), float(pe), float(glb), float(pebuf)))
    dram = trial.suggest_categorical("dram_gbps", list(config.dram_gbps))
    policy = trial.suggest_categorical("policy", list(config.policies))
    period = trial.suggest_categorical("period_scale", list(config.period_scales))
    pop = gens = None
    if "magma" in config.policies:  # always suggested: a fixed space (see the module docstring)
        pop = int(trial.suggest_categorical("magma_population", list(config.magma_populations)))
        gens = int(trial.suggest_categorical("magma_generations", list(config.magma_generations)))
    if policy != "magma":
        pop = gens = None
    return DesignPoint(tuple(sas), float(dram), str(policy), float(period), pop, gens)


def point_from_params(params: dict[str, Any], config: SpaceConfig) -> DesignPoint:
    """The design a finished trial's ``params`` describe (for export and the tables of ``show``)."""

    class _Fixed:
        def suggest_int(self, name: str, low: int, high: int) -> int:
            return int(params.get(name, 0))

        def suggest_categorical(self, name: str, choices: list) -> Any:
            return params.get(name, choices[0])

    return suggest(_Fixed(), config)


def design_key(point: DesignPoint) -> str:
    """A short readable label: ``2×eyeriss_small(pe1,glb1,buf1) + 1×simba_large(...) @16GB/s``."""
    parts = [
        f"{s.count}x{s.base}(pe{s.pe_scale:g},glb{s.glb_scale:g},buf{s.pebuf_scale:g})" for s in point.used()
    ]
    return " + ".join(parts) + f" @{point.dram_gbps:g}GB/s"


def design_id(point: DesignPoint) -> str:
    """What the trial evaluates, without the knobs it ignores (sizes of unused classes, MAGMA's budget
    under another policy): two trials with the same id give the same result."""
    parts = [design_key(point), point.policy, f"Ts{point.period_scale:g}"]
    if point.policy == "magma":
        parts.append(f"pop{point.magma_population}xgen{point.magma_generations}")
    return " | ".join(parts)


def relmas6_params(config: SpaceConfig, policy: str = "fcfs-h") -> dict[str, Any]:
    """The parameters of ``relmas6`` (2 small + 1 large of each class, 16 GB/s) in this space.

    Enqueued as a study's first trial so the front is always compared with the reference design.
    Returns an empty dict when the space cannot express it.
    """
    counts = {"eyeriss_small": 2, "eyeriss_large": 1, "simba_small": 2, "simba_large": 1}
    if set(counts) - set(config.classes) or 16.0 not in config.dram_gbps or policy not in config.policies:
        return {}
    if max(counts.values()) > config.max_count:
        return {}
    if 1.0 not in config.pe_scales or 1.0 not in config.glb_scales or 1.0 not in config.pebuf_scales:
        return {}
    params: dict[str, Any] = {}
    for cls in config.classes:
        params.update({f"n_{cls}": counts.get(cls, 0), f"pe_{cls}": 1.0, f"glb_{cls}": 1.0, f"pebuf_{cls}": 1.0})
    params.update(dram_gbps=16.0, policy=policy)
    if 1.0 in config.period_scales:
        params["period_scale"] = 1.0
    return params
