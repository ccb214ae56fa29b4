"""One sub-accelerator (SA): :class:`AcceleratorSpec`, its checks, and the copies a DSE derives.

Why a module of its own: the whole-SA rules (level order and fan-out, constraint targets), the
defaults filled from the technology tables (:meth:`AcceleratorSpec.resolved`), resized variants
and the content hash that cost caches key on are one job, apart from the per-level records of
:mod:`hwmodel.spec_components`. Import it from :mod:`hwmodel.spec`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hwmodel.spec_components import (
    DIMS,
    TENSORS,
    Constraint,
    Dataflow,
    MergedConstraint,
    PEArray,
    StorageLevel,
    StrictRecord,
    content_digest,
)


class AcceleratorSpec(StrictRecord):
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
        return content_digest(self.model_dump(mode="json"))
