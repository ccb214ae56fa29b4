"""Accelerator and system specifications (YAML, validated by pydantic).

A sub-accelerator (SA) is described the way a Timeloop user thinks about it, in a concise native
format (``arch_specs/accelerators/*.yaml``)::

    name: eyeriss_small
    dataflow: row_stationary          # row_stationary | weight_stationary | output_stationary | ...
    clock_ghz: 1.0
    word_bits: 16
    technology: 45nm
    pe_array: {x: 16, y: 16}          # PEs; mesh shape used for spatial fan-out
    macs_per_pe: 1
    mac_energy_pj: 2.2                # optional: default from hwmodel.energy by precision
    levels:                           # storage, innermost first; the last one is DRAM
      - name: psum_spad
        kind: regfile                 # regfile | sram | dram | dummy
        size_words: 16                # per instance
        word_bits: 16
        block_size: 1                 # words per vector access
        read_bw: 2                    # words/cycle per instance; null = unlimited
        write_bw: 2
        instances: 256                # total instances of this level in the SA
        mesh_x: 16                    # optional: X extent of the instances' mesh
        keep: [Outputs]               # tensors stored here; the others bypass the level
        read_energy_pj: 0.25          # per vector access; null = from the technology table
        write_energy_pj: 0.25
    constraints:                      # Timeloop's constraint vocabulary
      - {target: weights_spad, type: temporal, factors: "N=1 M=1 P=1 Q=1 S=1 R=0", permutation: "NMPQS CR"}
      - {target: DummyBuffer, type: spatial, factors: "N=1 P=1 Q=1 R=1 S=0", permutation: "NPQR SCM", split: 4}
    area_mm2: 1.2                     # optional: default from the area model
    static_power_mw: 20.0             # optional: default from the power model

Energies, MAC energy, area and static power may be left out: :meth:`AcceleratorSpec.resolved`
fills them from the 45 nm technology tables of :mod:`hwmodel.energy` and :mod:`hwmodel.area`, so a
new SA can be made by changing sizes only. :func:`load_accelerator` returns the resolved spec
(``resolve=False`` keeps the gaps, e.g. to show which numbers are defaults).

A system (``arch_specs/systems/*.yaml``) names SA instances by class and count plus the shared
DRAM and the network-on-package; :meth:`SystemSpec.instances` expands it into ordered, resolved
instances (``eyeriss_small_0``, ``eyeriss_small_1``, ...).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from hwmodel.spec_loading import (  # noqa: F401 - re-exported: load specs from hwmodel.spec
    ARCH_SPECS_DIR,
    accelerator_from_dict,
    list_specs,
    load_accelerator,
    load_system,
    read_yaml,
)

TENSORS: tuple[str, ...] = ("Weights", "Inputs", "Outputs")
DIMS: tuple[str, ...] = ("N", "C", "M", "R", "S", "P", "Q")

Tensor = Literal["Weights", "Inputs", "Outputs"]
LevelKind = Literal["regfile", "sram", "dram", "dummy"]
Dataflow = Literal["row_stationary", "weight_stationary", "output_stationary", "input_stationary", "custom"]

_FACTOR_TOKEN = re.compile(r"^([A-Za-z]+)\s*=?\s*(\d+)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageLevel(_Strict):
    """One storage level (all its instances). Energies are per *vector* access of ``block_size`` words.

    ``cluster_size`` is Timeloop's cluster: ``cluster_size`` instances accessed together as one
    vector access. The energies are then per vector access of a whole cluster, charged once per
    *utilised cluster* (energy = ceil(accesses per instance / block_size) × energy × utilised
    clusters, the clusters counted as Timeloop does, e.g. 4 for Simba AlexNet conv1's 144 of 256
    weight registers); with the default 1 this is the usual "per utilised instance".
    ``area_um2`` is the area of ONE instance (e.g. an Accelergy ART entry); null = area model.
    """

    name: str
    kind: LevelKind = "sram"
    size_words: int | None = Field(default=None, ge=0, description="per instance; None = unbounded (DRAM)")
    word_bits: int = Field(default=16, gt=0)
    block_size: int = Field(default=1, gt=0)
    read_bw: float | None = Field(default=None, gt=0)
    write_bw: float | None = Field(default=None, gt=0)
    instances: int = Field(default=1, gt=0)
    mesh_x: int | None = Field(default=None, gt=0)
    keep: tuple[Tensor, ...] = TENSORS
    read_energy_pj: float | None = Field(default=None, ge=0)
    write_energy_pj: float | None = Field(default=None, ge=0)
    cluster_size: int = Field(default=1, gt=0)
    area_um2: float | None = Field(default=None, ge=0, description="per instance")

    @model_validator(mode="before")
    @classmethod
    def _canonical_mesh(cls, data: object) -> object:
        """``mesh_x`` equal to ``instances`` is the default (one row): store it as null."""
        if isinstance(data, dict) and data.get("mesh_x") is not None and data.get("mesh_x") == data.get("instances", 1):
            data = {**data, "mesh_x": None}
        return data

    @field_validator("keep")
    @classmethod
    def _keep_unique(cls, keep: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(keep)) != len(keep):
            raise ValueError(f"keep lists a tensor twice: {list(keep)}")
        return keep

    @model_validator(mode="after")
    def _consistent(self) -> "StorageLevel":
        if self.kind == "dram":
            if self.size_words is not None:
                raise ValueError("size_words: a dram level is unbounded; leave size_words out")
        elif self.size_words is None:
            raise ValueError(f"size_words: required for a {self.kind} level (words per instance)")
        elif self.size_words == 0 and self.keep:
            raise ValueError(f"size_words is 0 but the level keeps {list(self.keep)}; give it a size or keep: []")
        if self.size_words is not None and self.size_words % self.block_size:
            raise ValueError(f"size_words {self.size_words} is not a multiple of block_size {self.block_size}")
        if self.mesh_x is not None and self.instances % self.mesh_x:
            raise ValueError(f"mesh_x {self.mesh_x} does not divide instances {self.instances}")
        if self.instances % self.cluster_size:
            raise ValueError(f"cluster_size {self.cluster_size} does not divide instances {self.instances}")
        return self

    @property
    def size_bits(self) -> int | None:
        return None if self.size_words is None else self.size_words * self.word_bits

    @property
    def size_bytes(self) -> float | None:
        return None if self.size_words is None else self.size_words * self.word_bits / 8

    @property
    def access_bits(self) -> int:
        """Bits moved by one vector access (``word_bits × block_size``)."""
        return self.word_bits * self.block_size

    @property
    def depth(self) -> int | None:
        """Rows of the memory array (``size_words / block_size``), as Accelergy's ``memory_depth``."""
        return None if self.size_words is None else self.size_words // self.block_size

    @property
    def mesh_x_resolved(self) -> int:
        return self.mesh_x if self.mesh_x is not None else self.instances

    @property
    def mesh_y(self) -> int:
        return self.instances // self.mesh_x_resolved

    def keeps(self, tensor: str) -> bool:
        return tensor in self.keep


class Constraint(_Strict):
    """One Timeloop-style mapping constraint on a storage level.

    ``scope`` tells hardware limits (``architecture``: the dataflow itself) from search-space
    pruning (``mapspace``: Timeloop's ``mapspace_constraints``); a mapper must honour the first and
    may honour the second. Several constraints may target the same level and type; Timeloop merges
    them (see :meth:`AcceleratorSpec.merged_constraints`).
    """

    target: str
    type: Literal["temporal", "spatial", "bypass", "utilization"]
    factors: str | None = None  # "R=0 S=1" (0 = the whole dimension); "R0 S1" (mapping form) is accepted
    permutation: str | None = None  # innermost first, as Timeloop writes it
    split: int | None = None  # spatial: dims before `split` in the permutation go to X, the rest to Y
    keep: tuple[Tensor, ...] | None = None
    bypass: tuple[Tensor, ...] | None = None
    min: float | None = None  # utilization constraints
    scope: Literal["architecture", "mapspace"] = "architecture"

    @field_validator("factors")
    @classmethod
    def _factors_parse(cls, factors: str | None) -> str | None:
        if factors is not None:
            _parse_factors(factors)
        return factors

    @field_validator("permutation")
    @classmethod
    def _permutation_dims(cls, permutation: str | None) -> str | None:
        if permutation is not None:
            dims = [ch for ch in permutation if not ch.isspace()]
            bad = sorted(set(dims) - set(DIMS))
            if bad:
                raise ValueError(f"permutation {permutation!r} names unknown dimensions {bad} (known: {''.join(DIMS)})")
            if len(set(dims)) != len(dims):
                raise ValueError(f"permutation {permutation!r} repeats a dimension")
        return permutation

    def factor_map(self) -> dict[str, int]:
        """``"R=0 S=1"`` (or ``"R0 S1"``) → ``{"R": 0, "S": 1}``."""
        return _parse_factors(self.factors or "")

    def permutation_dims(self) -> tuple[str, ...]:
        """The permutation's dimensions, innermost first, spaces dropped."""
        return tuple(ch for ch in (self.permutation or "") if not ch.isspace())


def _parse_factors(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for token in text.split():
        m = _FACTOR_TOKEN.match(token)
        if not m:
            raise ValueError(f"factor {token!r} is not DIM=VALUE (e.g. R=3)")
        dim, value = m.group(1), int(m.group(2))
        if dim not in DIMS:
            raise ValueError(f"factor {token!r} names unknown dimension {dim!r} (known: {''.join(DIMS)})")
        out[dim] = value
    return out


class PEArray(_Strict):
    x: int = Field(gt=0)
    y: int = Field(default=1, gt=0)

    @property
    def count(self) -> int:
        return self.x * self.y


class MergedConstraint(NamedTuple):
    """All constraints of one (level, type) merged as Timeloop merges them."""

    factors: dict[str, int]
    permutation: tuple[str, ...] | None
    split: int | None


class AcceleratorSpec(_Strict):
    name: str
    description: str = ""
    dataflow: Dataflow
    clock_ghz: float = Field(default=1.0, gt=0)
    word_bits: int = Field(default=16, gt=0)
    technology: str = "45nm"
    pe_array: PEArray
    macs_per_pe: int = Field(default=1, gt=0)
    mac_energy_pj: float | None = Field(default=None, ge=0)
    levels: tuple[StorageLevel, ...]
    constraints: tuple[Constraint, ...] = ()
    area_mm2: float | None = Field(default=None, ge=0)
    static_power_mw: float | None = Field(default=None, ge=0)
    vector_lanes: int | None = Field(default=None, gt=0, description="element-wise ops per cycle; default = MAC units")
    mac_name: str = "mac"  # the arithmetic level's name in breakdowns (Timeloop's compute component)
    mac_area_um2: float | None = Field(default=None, ge=0, description="per MAC unit; null = area model")

    @field_validator("levels")
    @classmethod
    def _levels_nonempty(cls, levels: tuple[StorageLevel, ...]) -> tuple[StorageLevel, ...]:
        if len(levels) < 2:
            raise ValueError("an SA needs at least one on-chip level and DRAM (innermost first)")
        if levels[-1].kind != "dram":
            raise ValueError(
                f"the last (outermost) level must be kind: dram, got {levels[-1].name!r} of kind {levels[-1].kind!r}"
            )
        for lv in levels[:-1]:
            if lv.kind == "dram":
                raise ValueError(f"level {lv.name!r} is kind dram but is not the outermost level")
        names = [lv.name for lv in levels]
        if len(set(names)) != len(names):
            raise ValueError(f"level names must be unique, got {names}")
        missing = set(TENSORS) - set(levels[-1].keep)
        if missing:
            raise ValueError(f"the DRAM level must keep every tensor; it does not keep {sorted(missing)}")
        for inner, outer in zip(levels, levels[1:]):
            if inner.instances % outer.instances:
                raise ValueError(
                    f"level {inner.name!r} has {inner.instances} instances, not a multiple of the "
                    f"{outer.instances} of the level above it ({outer.name!r}): fan-out must be whole"
                )
        return levels

    @model_validator(mode="after")
    def _constraints_name_levels(self) -> "AcceleratorSpec":
        names = {lv.name for lv in self.levels}
        if self.mac_name in names:
            raise ValueError(f"mac_name {self.mac_name!r} is also a level name; breakdown keys must be unique")
        if self.mac_units % self.levels[0].instances:
            raise ValueError(
                f"the innermost level {self.levels[0].name!r} has {self.levels[0].instances} instances, which "
                f"does not divide the {self.mac_units} MAC units (pe_array × macs_per_pe)"
            )
        for i, c in enumerate(self.constraints):
            if c.target not in names:
                raise ValueError(f"constraints[{i}].target {c.target!r} is not a level (levels: {sorted(names)})")
            if c.type == "bypass":
                lv = self.level(c.target)
                clash = set(c.keep or ()) - set(lv.keep)
                if clash:
                    raise ValueError(
                        f"constraints[{i}] keeps {sorted(clash)} at {c.target!r} but the level's keep is {list(lv.keep)}"
                    )
                clash = set(c.bypass or ()) & set(lv.keep)
                if clash:
                    raise ValueError(
                        f"constraints[{i}] bypasses {sorted(clash)} at {c.target!r} but the level keeps them"
                    )
            if c.type == "spatial" and c.split is not None:
                n = len(c.permutation_dims()) if c.permutation else len(DIMS)
                if c.split > n:
                    raise ValueError(f"constraints[{i}].split {c.split} exceeds the permutation length {n}")
        return self

    @property
    def mac_units(self) -> int:
        return self.pe_array.count * self.macs_per_pe

    @property
    def lanes(self) -> int:
        """Element-wise operations per cycle for vector (non-MAC) layers."""
        return self.vector_lanes or self.mac_units

    @property
    def dram(self) -> StorageLevel:
        return self.levels[-1]

    @property
    def is_resolved(self) -> bool:
        """True when every energy, area and power figure is filled in."""
        return (
            self.mac_energy_pj is not None
            and self.area_mm2 is not None
            and self.static_power_mw is not None
            and all(lv.read_energy_pj is not None and lv.write_energy_pj is not None for lv in self.levels)
        )

    def level(self, name: str) -> StorageLevel:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(name)

    def level_index(self, name: str) -> int:
        for i, lv in enumerate(self.levels):
            if lv.name == name:
                return i
        raise KeyError(name)

    def resolved(self) -> "AcceleratorSpec":
        """A copy with every missing energy / area / power figure taken from the technology tables.

        Figures given in the spec are kept as they are; the rest come from :mod:`hwmodel.energy`
        (per-access energy by level kind, size and width; MAC energy by precision) and
        :mod:`hwmodel.area` (area and static power). Idempotent.
        """
        from hwmodel import area as area_model
        from hwmodel import energy as energy_model

        return area_model.fill_area_power(energy_model.fill_energies(self))

    def merged_constraints(
        self, kind: Literal["temporal", "spatial"], *, include_mapspace: bool = True
    ) -> dict[str, MergedConstraint]:
        """Per target level, the union of its ``kind`` constraints (later ones override factors)."""
        out: dict[str, MergedConstraint] = {}
        for c in self.constraints:
            if c.type != kind or (c.scope == "mapspace" and not include_mapspace):
                continue
            prev = out.get(c.target, MergedConstraint({}, None, None))
            factors = {**prev.factors, **c.factor_map()}
            perm = c.permutation_dims() if c.permutation is not None else prev.permutation
            split = c.split if c.split is not None else prev.split
            out[c.target] = MergedConstraint(factors, perm, split)
        return out

    def variant(
        self,
        *,
        name: str | None = None,
        pe_x: int | None = None,
        pe_y: int | None = None,
        sizes_words: dict[str, int] | None = None,
        clock_ghz: float | None = None,
    ) -> "AcceleratorSpec":
        """A resolved copy with another PE array, level sizes or clock (what a DSE changes).

        Levels follow the array: per-PE levels (instances a multiple of the PE count) keep their
        count per PE, row-wide levels (instances = ``pe_array.x``, the Eyeriss DummyBuffer) follow X,
        column-wide ones follow Y; a ``mesh_x`` equal to the old X becomes the new X. A resized
        level loses its given energies and area (the technology tables refill them); area and
        static power are always recomputed.
        """
        old = self.pe_array
        nx, ny = pe_x or old.x, pe_y or old.y
        sizes = dict(sizes_words or {})
        unknown = set(sizes) - {lv.name for lv in self.levels}
        if unknown:
            raise ValueError(f"sizes_words names unknown levels {sorted(unknown)}")
        levels = []
        for lv in self.levels:
            upd: dict[str, object] = {}
            if lv.instances % old.count == 0 and lv.instances >= old.count:
                upd["instances"] = lv.instances // old.count * nx * ny
            elif lv.instances == old.x and old.x != 1:
                upd["instances"] = nx
            elif lv.instances == old.y and old.y != 1:
                upd["instances"] = ny
            if lv.mesh_x is not None and lv.mesh_x == old.x:
                upd["mesh_x"] = nx
            if lv.name in sizes:
                upd.update(size_words=sizes[lv.name], read_energy_pj=None, write_energy_pj=None, area_um2=None)
            levels.append({**lv.model_dump(), **upd})
        data = self.model_dump()
        data.update(
            name=name or self.name,
            pe_array={"x": nx, "y": ny},
            levels=levels,
            clock_ghz=clock_ghz or self.clock_ghz,
            area_mm2=None,
            static_power_mw=None,
        )
        return AcceleratorSpec.model_validate(data).resolved()

    def with_updates(self, **changes: object) -> "AcceleratorSpec":
        """A validated copy with top-level fields changed (``levels`` may be a list of dicts)."""
        data = self.model_dump()
        data.update(changes)
        return AcceleratorSpec.model_validate(data)

    @cached_property
    def content_hash(self) -> str:
        """Stable hash of everything that can change a cost (used by table caches)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class SAGroup(_Strict):
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


class SystemSpec(_Strict):
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
            from mascot.errors import MascotError

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
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
