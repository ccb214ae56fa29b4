"""A multi-accelerator system (MAS): groups of SA instances, shared DRAM, network-on-package.

Why a module of its own: a system is a list of references to SA specs (names, YAML paths or
inline specs) that must be loaded, expanded into named instances and hashed as a whole; that is
a job apart from describing one SA. Import it from :mod:`hwmodel.spec`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from pydantic import Field, PrivateAttr, field_validator

from hwmodel.spec_accelerator import AcceleratorSpec
from hwmodel.spec_components import StrictRecord, content_digest
from hwmodel.spec_loading import load_accelerator
from mascot.errors import MascotError


class SAGroup(StrictRecord):
    """``count`` instances of one SA class (a name in ``arch_specs/accelerators`` or a YAML path).

    ``spec`` may carry the SA inline (a DSE builds systems from modified specs without files); then
    ``accelerator`` is only its label.
    """

    accelerator: str
    count: int = Field(default=1, ge=0)
    name: str | None = None  # instance name prefix; default = the class name
    spec: AcceleratorSpec | None = None


class SAInstance(NamedTuple):
    """One SA instance of a system: ``eyeriss_small_0``, its class name and its resolved spec."""

    name: str
    class_name: str
    spec: AcceleratorSpec


class SystemSpec(StrictRecord):
    name: str
    description: str = ""
    accelerators: tuple[SAGroup, ...]
    dram_gbps: float = Field(gt=0)
    dram_energy_pj_per_bit: float = Field(default=8.0, ge=0)
    nop_gbps: float | None = Field(default=None, gt=0)
    nop_energy_pj_per_bit: float | None = Field(default=None, ge=0)
    notes: str = ""
    _base_dir: Path | None = PrivateAttr(default=None)

    @field_validator("accelerators")
    @classmethod
    def _groups(cls, groups: tuple[SAGroup, ...]) -> tuple[SAGroup, ...]:
        if not groups or sum(g.count for g in groups) == 0:
            raise ValueError("a system needs at least one SA instance (a group with count >= 1)")
        prefixes = [g.name or g.accelerator for g in groups]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f"two groups share the instance prefix; give each a distinct `name` ({prefixes})")
        return groups

    def with_base_dir(self, base_dir: str | Path | None) -> "SystemSpec":
        """Where relative accelerator YAML paths are looked up (the system file's folder)."""
        self._base_dir = None if base_dir is None else Path(base_dir)
        return self

    def group_specs(self) -> list[tuple[SAGroup, AcceleratorSpec]]:
        """Each group with its resolved accelerator spec (loaded once per group)."""
        out = []
        for g in self.accelerators:
            if g.spec is not None:
                acc = g.spec.resolved()
            else:
                ref: str | Path = g.accelerator
                if self._base_dir is not None and Path(g.accelerator).suffix in (".yaml", ".yml"):
                    cand = self._base_dir / g.accelerator
                    ref = cand if cand.exists() else g.accelerator
                acc = load_accelerator(ref)
            out.append((g, acc))
        return out

    def instances(self) -> list[SAInstance]:
        """Ordered SA instances: ``(name, class_name, resolved spec)``, groups in file order.

        Instance names are ``{prefix}_{i}`` with the group's ``name`` (default: the class name).
        """
        out: list[SAInstance] = []
        for g, acc in self.group_specs():
            prefix = g.name or acc.name
            out.extend(SAInstance(f"{prefix}_{i}", acc.name, acc) for i in range(g.count))
        names = [i.name for i in out]
        if len(set(names)) != len(names):
            raise MascotError(
                f"system {self.name!r}: two groups give the same instance names ({sorted(set(names))})",
                hint="give each group of the same SA class a distinct `name:` prefix",
            )
        return out

    def classes(self) -> dict[str, AcceleratorSpec]:
        """Distinct SA classes of the system (class name → resolved spec), file order."""
        return {acc.name: acc for group, acc in self.group_specs() if group.count > 0}

    @property
    def n_instances(self) -> int:
        return sum(g.count for g in self.accelerators)

    def dram_bytes_per_cycle(self, clock_ghz: float) -> float:
        """Shared DRAM bandwidth in bytes per cycle of a ``clock_ghz`` clock (GB/s ÷ GHz)."""
        if clock_ghz <= 0:
            raise ValueError("clock_ghz must be > 0")
        return self.dram_gbps / clock_ghz

    def nop_bytes_per_cycle(self, clock_ghz: float) -> float | None:
        """Network-on-package bandwidth in bytes per cycle (None when the system has none)."""
        if self.nop_gbps is None:
            return None
        if clock_ghz <= 0:
            raise ValueError("clock_ghz must be > 0")
        return self.nop_gbps / clock_ghz

    @cached_property
    def content_hash(self) -> str:
        """Stable hash of the system: its own figures plus every instance's resolved spec hash."""
        payload = {
            "system": self.model_dump(mode="json", exclude={"accelerators", "description", "notes"}),
            "instances": [(i.name, i.class_name, i.spec.content_hash) for i in self.instances()],
        }
        return content_digest(payload)
