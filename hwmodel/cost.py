"""The cost-backend interface: what any cost model returns for one layer on one SA.

Backends (``analytical``, ``timeloop``, ``zigzag``, ``surrogate``) register by name through the
``mascot.cost_backends`` entry-point group; :func:`get_backend` takes ``"name"`` or
``"name:argument"`` (e.g. ``"surrogate:default"``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from mascot.errors import MascotError
from workloads.layer import Layer

from hwmodel.spec import AcceleratorSpec


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer on one SA, with DRAM unconstrained (contention is the scheduler's job).

    ``energy_breakdown_pj`` maps ``"mac"`` and each level name to its energy; it sums to
    ``energy_pj``. ``utilization`` is MACs / (cycles × MAC units). ``mapping`` is the chosen
    mapping in Timeloop's compact form (``DRAM[WIO]: Q55 C3 | shared_glb[IO]: P55 M12X | ...``).
    """

    cycles: int
    energy_pj: float
    dram_read_bytes: int
    dram_write_bytes: int
    utilization: float
    energy_breakdown_pj: dict[str, float] = field(default_factory=dict)
    mapping: str = ""
    backend: str = ""

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes

    @property
    def bw_bytes_per_cycle(self) -> float:
        """DRAM bandwidth the layer needs to run unstalled."""
        return self.dram_bytes / max(self.cycles, 1)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dram_bytes"] = self.dram_bytes
        d["bw_bytes_per_cycle"] = self.bw_bytes_per_cycle
        d["energy_breakdown_pj"] = json.dumps(self.energy_breakdown_pj, sort_keys=True)
        return d


def scale_cost(cost: LayerCost, times: int) -> LayerCost:
    """``times`` back-to-back runs of the same problem (the groups of a grouped conv, evaluated once)."""
    if times == 1:
        return cost
    return replace(
        cost,
        cycles=cost.cycles * times,
        energy_pj=cost.energy_pj * times,
        dram_read_bytes=cost.dram_read_bytes * times,
        dram_write_bytes=cost.dram_write_bytes * times,
        energy_breakdown_pj={k: v * times for k, v in cost.energy_breakdown_pj.items()},
    )


@runtime_checkable
class CostBackend(Protocol):
    """A cost model. ``name`` identifies it in tables and caches; ``version`` invalidates caches."""

    name: str
    version: str

    def evaluate(self, layer: Layer, accelerator: AcceleratorSpec) -> LayerCost: ...

    def evaluate_many(self, layers: list[Layer], accelerator: AcceleratorSpec) -> list[LayerCost]: ...


def available_backends() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="mascot.cost_backends")}


def get_backend(spec: str | CostBackend, **options: Any) -> CostBackend:
    """Instantiate a backend from ``"name"`` or ``"name:argument"``."""
    if not isinstance(spec, str):
        return spec
    name, _, argument = spec.partition(":")
    eps = available_backends()
    if name not in eps:
        raise MascotError(
            f"unknown cost backend {name!r}",
            hint=f"available: {', '.join(sorted(eps))} (is the package installed with `pip install -e .`?)",
        )
    factory = eps[name].load()
    return factory(argument, **options) if argument else factory(**options)
