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

A system (``arch_specs/systems/*.yaml``) names SA instances by class and count plus the shared
DRAM and the network-on-package.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mascot.errors import MascotError

TENSORS: tuple[str, ...] = ("Weights", "Inputs", "Outputs")
DIMS: tuple[str, ...] = ("N", "C", "M", "R", "S", "P", "Q")

Tensor = Literal["Weights", "Inputs", "Outputs"]
LevelKind = Literal["regfile", "sram", "dram", "dummy"]
Dataflow = Literal["row_stationary", "weight_stationary", "output_stationary", "input_stationary", "custom"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageLevel(_Strict):
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

    @property
    def size_bits(self) -> int | None:
        return None if self.size_words is None else self.size_words * self.word_bits


class Constraint(_Strict):
    """One Timeloop-style mapping constraint on a storage level."""

    target: str
    type: Literal["temporal", "spatial", "bypass", "utilization"]
    factors: str | None = None  # "R=0 S=1" (0 = the whole dimension)
    permutation: str | None = None  # innermost first, as Timeloop writes it
    split: int | None = None  # spatial: dims before `split` in the permutation go to X, the rest to Y
    keep: tuple[Tensor, ...] | None = None
    bypass: tuple[Tensor, ...] | None = None
    min: float | None = None  # utilization constraints

    def factor_map(self) -> dict[str, int]:
        """``"R=0 S=1"`` → ``{"R": 0, "S": 1}``."""
        out: dict[str, int] = {}
        for token in (self.factors or "").split():
            dim, _, value = token.partition("=")
            out[dim.strip()] = int(value)
        return out


class PEArray(_Strict):
    x: int = Field(gt=0)
    y: int = Field(default=1, gt=0)

    @property
    def count(self) -> int:
        return self.x * self.y


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

    @field_validator("levels")
    @classmethod
    def _levels_nonempty(cls, levels: tuple[StorageLevel, ...]) -> tuple[StorageLevel, ...]:
        if len(levels) < 2:
            raise ValueError("an SA needs at least one on-chip level and DRAM (innermost first)")
        if levels[-1].kind != "dram":
            raise ValueError("the last (outermost) level must be kind: dram")
        names = [lv.name for lv in levels]
        if len(set(names)) != len(names):
            raise ValueError(f"level names must be unique, got {names}")
        return levels

    @model_validator(mode="after")
    def _constraints_name_levels(self) -> "AcceleratorSpec":
        names = {lv.name for lv in self.levels}
        for i, c in enumerate(self.constraints):
            if c.target not in names:
                raise ValueError(f"constraints[{i}].target {c.target!r} is not a level (levels: {sorted(names)})")
            bad = set(c.factor_map()) - set(DIMS)
            if bad:
                raise ValueError(f"constraints[{i}].factors names unknown dimensions {sorted(bad)}")
        return self

    @property
    def mac_units(self) -> int:
        return self.pe_array.count * self.macs_per_pe

    def level(self, name: str) -> StorageLevel:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(name)

    @cached_property
    def content_hash(self) -> str:
        """Stable hash of everything that can change a cost (used by table caches)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class SAGroup(_Strict):
    """``count`` instances of one SA class (a name in ``arch_specs/accelerators`` or a YAML path)."""

    accelerator: str
    count: int = Field(default=1, ge=0)
    name: str | None = None  # instance name prefix; default = the class name


class SystemSpec(_Strict):
    name: str
    description: str = ""
    accelerators: tuple[SAGroup, ...]
    dram_gbps: float = Field(gt=0)
    dram_energy_pj_per_bit: float = Field(default=8.0, ge=0)
    nop_gbps: float | None = Field(default=None, gt=0)
    nop_energy_pj_per_bit: float | None = Field(default=None, ge=0)
    notes: str = ""


# ----------------------------------------------------------------------------------------------
# loading

ARCH_SPECS_DIR = Path(__file__).resolve().parent.parent / "arch_specs"


def _format_validation_error(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"field {loc}: {e['msg']}")
    return "; ".join(lines)


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise MascotError("file not found", path=path) from None
    except yaml.YAMLError as exc:
        raise MascotError(f"not valid YAML: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise MascotError("expected a YAML mapping at the top level", path=path)
    return data


def _resolve(name_or_path: str | Path, folder: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    candidate = ARCH_SPECS_DIR / folder / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    known = sorted(q.stem for q in (ARCH_SPECS_DIR / folder).glob("*.yaml"))
    raise MascotError(
        f"unknown {folder[:-1]} {str(name_or_path)!r}",
        hint=f"give a YAML file path or one of: {', '.join(known)}",
    )


def load_accelerator(name_or_path: str | Path) -> AcceleratorSpec:
    """Load and validate an SA spec by bundled name (``eyeriss_small``) or YAML path."""
    path = _resolve(name_or_path, "accelerators")
    data = read_yaml(path)
    try:
        return AcceleratorSpec.model_validate(data)
    except ValidationError as exc:
        raise MascotError(f"invalid accelerator spec: {_format_validation_error(exc)}", path=path) from None


def load_system(name_or_path: str | Path) -> SystemSpec:
    """Load and validate a system spec by bundled name (``relmas6``) or YAML path."""
    path = _resolve(name_or_path, "systems")
    data = read_yaml(path)
    try:
        return SystemSpec.model_validate(data)
    except ValidationError as exc:
        raise MascotError(f"invalid system spec: {_format_validation_error(exc)}", path=path) from None


def list_specs(folder: Literal["accelerators", "systems"]) -> list[str]:
    return sorted(p.stem for p in (ARCH_SPECS_DIR / folder).glob("*.yaml"))
