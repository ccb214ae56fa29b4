"""The built-in ``analytical`` cost backend: Timeloop-faithful access counting + a vectorised mapper.

MAC layers (convolutions, matrix products) are mapped by :class:`hwmodel.mapper.Mapper` under the
chosen objective and costed by :mod:`hwmodel.nest`; vector layers by :mod:`hwmodel.vector_cost`.
A grouped convolution is mapped as ONE group (``C/groups`` input and ``M/groups`` output channels)
and its cycles, energy and traffic are multiplied by ``groups`` (the groups run one after another;
a depthwise layer therefore uses the array only through its spatial P/Q/R/S parallelism).
DRAM bandwidth is unconstrained here: ``LayerCost.bw_bytes_per_cycle`` is what the layer needs to
run unstalled, and contention between SAs is the scheduler's job.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from hwmodel.cost import LayerCost
from hwmodel.mapper import EFFORTS, OBJECTIVES, Mapper, MapperConfig, MapperResult
from hwmodel.nest import Problem
from hwmodel.spec import AcceleratorSpec
from hwmodel.vector_cost import vector_layer_cost
from mascot.errors import MascotError
from workloads.layer import Layer


# the modules whose code decides an analytical cost: a change in any of them must invalidate cached rows
_MODEL_SOURCES = ("mapper.py", "polish.py", "mapspace.py", "mapping.py", "nest.py", "vector_cost.py", "energy.py", "cost.py",
                  "backends/analytical.py")


@lru_cache(maxsize=1)
def model_version() -> str:
    """``2+<hash>`` of the cost model's source files: the table cache's key for this backend.

    A hand-bumped version string was forgotten once (a mapper change kept serving older cached rows), so the
    version follows the code itself: editing the mapper or the access counting starts a fresh cache.
    """
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in _MODEL_SOURCES:
        digest.update(name.encode())
        digest.update((root / name).read_bytes())
    return f"2+{digest.hexdigest()[:12]}"


def cost_from_result(mr: MapperResult, pb: Problem, spec: AcceleratorSpec, backend: str = "analytical") -> LayerCost:
    """A :class:`LayerCost` from a mapped (per-group) result, scaled by the layer's groups."""
    res = mr.result
    g = pb.groups
    breakdown = {spec.mac_name: float(res.mac_energy_pj[0]) * g}
    for li, lv in enumerate(spec.levels):
        breakdown[lv.name] = float(res.level_energy_pj[0, li]) * g
    bytes_per_word = spec.levels[-1].word_bits / 8
    cycles = int(res.cycles[0]) * g
    macs = pb.macs * g
    return LayerCost(
        cycles=cycles,
        energy_pj=float(res.energy_pj[0]) * g,
        dram_read_bytes=int(round(float(res.dram_read_words[0]) * bytes_per_word * g)),
        dram_write_bytes=int(round(float(res.dram_write_words[0]) * bytes_per_word * g)),
        utilization=macs / (cycles * spec.mac_units),
        energy_breakdown_pj=breakdown,
        mapping=mr.mapping.to_compact(),
        backend=backend,
    )


class AnalyticalBackend:
    """``evaluate(layer, spec) -> LayerCost`` with the best mapping under ``objective``."""

    name = "analytical"

    @property
    def version(self) -> str:
        return model_version()

    def __init__(self, objective: str = "delay", seed: int = 0, effort: str = "fast", config: MapperConfig | None = None,
                 **options: Any):
        if objective not in OBJECTIVES:
            raise MascotError(f"unknown objective {objective!r}", hint=f"choose one of {', '.join(OBJECTIVES)}")
        if effort not in EFFORTS:
            raise MascotError(f"unknown mapper effort {effort!r}", hint=f"choose one of {', '.join(EFFORTS)}")
        if options:
            raise MascotError(
                f"unknown option(s) for the analytical backend: {', '.join(sorted(options))}",
                hint="it takes objective=delay|energy|edp, seed=INT and effort=fast|thorough",
            )
        self.objective = objective
        self.seed = int(seed)
        self.effort = effort
        self.config = config or MapperConfig.preset(effort)

    def cache_options(self) -> dict[str, Any]:
        return {"mapper": repr(self.config)}

    def map_layer(self, layer: Layer, accelerator: AcceleratorSpec) -> tuple[MapperResult, Problem]:
        """The mapper's full result for a MAC layer (one group)."""
        if not layer.is_mac:
            raise MascotError(f"layer {layer.name!r} is a vector layer ({layer.op_type}): it has no loop nest to map")
        pb = Problem.from_layer(layer)
        spec = accelerator if accelerator.is_resolved else accelerator.resolved()
        mapper = Mapper(spec, objective=self.objective, seed=self.seed, config=self.config)
        return mapper.search(pb), pb

    def evaluate(self, layer: Layer, accelerator: AcceleratorSpec) -> LayerCost:
        spec = accelerator if accelerator.is_resolved else accelerator.resolved()
        if not layer.is_mac or layer.macs == 0:
            return vector_layer_cost(layer, spec, backend=self.name)
        mr, pb = self.map_layer(layer, spec)
        return cost_from_result(mr, pb, spec, backend=self.name)

    def evaluate_many(self, layers: list[Layer], accelerator: AcceleratorSpec) -> list[LayerCost]:
        """Evaluate several layers; identical shapes within the call are mapped once."""
        spec = accelerator if accelerator.is_resolved else accelerator.resolved()
        memo: dict[tuple, LayerCost] = {}
        out = []
        for layer in layers:
            key = layer.shape_key
            if key not in memo:
                memo[key] = self.evaluate(layer, spec)
            out.append(memo[key])
        return out
