"""The building blocks of an SA spec: storage levels, mapping constraints, the PE array.

Why a module of its own: these records (and the tensor / dimension vocabulary they check names
against) are what every level-by-level model reads (:mod:`hwmodel.nest`, :mod:`hwmodel.energy`,
the Timeloop and ZigZag formats); :mod:`hwmodel.spec_accelerator` composes them into a whole SA.
Import them from :mod:`hwmodel.spec`, which re-exports every name here.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TENSORS: tuple[str, ...] = ("Weights", "Inputs", "Outputs")
DIMS: tuple[str, ...] = ("N", "C", "M", "R", "S", "P", "Q")

Tensor = Literal["Weights", "Inputs", "Outputs"]
LevelKind = Literal["regfile", "sram", "dram", "dummy"]
Dataflow = Literal["row_stationary", "weight_stationary", "output_stationary", "input_stationary", "custom"]

_FACTOR_TOKEN = re.compile(r"^([A-Za-z]+)\s*=?\s*(\d+)$")


def content_digest(payload: object) -> str:
    """16 hex digits of the SHA-256 of ``payload`` as sorted-key JSON.

    The one hashing scheme of every spec's ``content_hash``: cost caches and layer tables key on
    these digests, so changing it here invalidates every cache at once (on purpose, not by drift).
    """
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


class StrictRecord(BaseModel):
    """Frozen, and unknown fields are errors: a typo in a spec YAML must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageLevel(StrictRecord):
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


class Constraint(StrictRecord):
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


class PEArray(StrictRecord):
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

