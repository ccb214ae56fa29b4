"""A mapping of one layer onto one SA, in Timeloop's vocabulary.

A :class:`Mapping` lists, for every storage level of the SA (innermost first, as in the spec),
the temporal loop factors and their order, the spatial factors sent to the level's children along
the mesh X and Y axes, and the tensors the level keeps (the others bypass it).

Two text forms are supported:

* the compact form Timeloop prints in its log, outermost level first, loops outer → inner, spatial
  loops after the temporal ones (``DRAM[WIO]: Q55 C3 | shared_glb[IO]: P55 M12X | DummyBuffer[]:
  S11Y | ifmap_spad[I]: - | weights_spad[W]: R11 | psum_spad[O]: M8``); factor-1 loops are left out;
* Timeloop's mapping YAML (``mapping:`` list of ``datatype`` / ``temporal`` / ``spatial`` targets,
  permutations innermost first), read by :func:`mapping_from_timeloop_yaml` and written by
  :meth:`Mapping.to_timeloop_yaml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

import yaml

from mascot.errors import MascotError

DIMS: tuple[str, ...] = ("N", "C", "M", "R", "S", "P", "Q")
TENSORS: tuple[str, ...] = ("Weights", "Inputs", "Outputs")
_LETTER = {"Weights": "W", "Inputs": "I", "Outputs": "O"}
_FROM_LETTER = {v: k for k, v in _LETTER.items()}
_LEVEL_RE = re.compile(r"^\s*([^\[\]:]+?)\s*\[([WIO]*)\]\s*:\s*(.*)$")
_LOOP_RE = re.compile(r"^([NCMRSPQ])(\d+)([XY]?)$")


def _ones() -> tuple[int, ...]:
    return (1,) * len(DIMS)


@dataclass(frozen=True)
class LevelMapping:
    """Loops of one storage level.

    ``temporal`` / ``spatial_x`` / ``spatial_y`` are factors in :data:`DIMS` order.
    ``permutation`` names all seven dimensions, innermost first (Timeloop's convention).
    """

    name: str
    temporal: tuple[int, ...] = (1, 1, 1, 1, 1, 1, 1)
    spatial_x: tuple[int, ...] = (1, 1, 1, 1, 1, 1, 1)
    spatial_y: tuple[int, ...] = (1, 1, 1, 1, 1, 1, 1)
    permutation: str = "NCMRSPQ"
    keep: tuple[str, ...] = TENSORS

    def __post_init__(self) -> None:
        for field_name in ("temporal", "spatial_x", "spatial_y"):
            value = tuple(int(v) for v in getattr(self, field_name))
            if len(value) != len(DIMS) or min(value) < 1:
                raise ValueError(f"level {self.name}: {field_name} needs {len(DIMS)} factors >= 1, got {value}")
            object.__setattr__(self, field_name, value)
        perm = _complete_permutation(self.permutation)
        object.__setattr__(self, "permutation", perm)
        object.__setattr__(self, "keep", tuple(t for t in TENSORS if t in set(self.keep)))

    @property
    def spatial(self) -> tuple[int, ...]:
        return tuple(x * y for x, y in zip(self.spatial_x, self.spatial_y))

    def compact(self) -> str:
        """``shared_glb[IO]: P55 M12X`` (temporal outer → inner, then spatial X, then Y)."""
        tokens = []
        for d in reversed(self.permutation):
            f = self.temporal[DIMS.index(d)]
            if f > 1:
                tokens.append(f"{d}{f}")
        for axis, factors in (("X", self.spatial_x), ("Y", self.spatial_y)):
            tokens.extend(f"{d}{f}{axis}" for d, f in zip(DIMS, factors) if f > 1)
        keep = "".join(_LETTER[t] for t in TENSORS if t in self.keep)
        return f"{self.name}[{keep}]: {' '.join(tokens) if tokens else '-'}"


def _complete_permutation(perm: str) -> str:
    """Innermost-first permutation over all dims; dims not named go outermost (their factor is 1)."""
    dims = [c for c in perm if not c.isspace()]
    bad = set(dims) - set(DIMS)
    if bad or len(set(dims)) != len(dims):
        raise ValueError(f"permutation {perm!r} must name each of {''.join(DIMS)} at most once")
    return "".join(dims + [d for d in DIMS if d not in dims])


@dataclass(frozen=True)
class Mapping:
    """Loops of every storage level, innermost level first (the spec's level order)."""

    levels: tuple[LevelMapping, ...]

    def level(self, name: str) -> LevelMapping:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(name)

    def dim_products(self) -> dict[str, int]:
        """Product of all factors (temporal and spatial, all levels) per dimension."""
        return {
            d: prod(lv.temporal[i] * lv.spatial_x[i] * lv.spatial_y[i] for lv in self.levels)
            for i, d in enumerate(DIMS)
        }

    def to_compact(self) -> str:
        """Timeloop's one-line form, outermost level first."""
        return " | ".join(lv.compact() for lv in reversed(self.levels))

    def __str__(self) -> str:
        return self.to_compact()

    @classmethod
    def from_compact(cls, text: str) -> "Mapping":
        """Parse the compact form (levels outermost first, loops outer → inner)."""
        parts = [p for p in text.split("|") if p.strip()]
        if not parts:
            raise MascotError(f"empty mapping string {text!r}")
        levels = []
        for part in parts:
            m = _LEVEL_RE.match(part)
            if not m:
                raise MascotError(
                    f"cannot read mapping level {part.strip()!r}",
                    hint="write levels as NAME[WIO]: Q55 C3 M12X ... separated by |",
                )
            name, keep_letters, body = m.group(1), m.group(2), m.group(3).strip()
            temporal = [1] * len(DIMS)
            sx = [1] * len(DIMS)
            sy = [1] * len(DIMS)
            order_outer_first: list[str] = []
            for token in ([] if body in ("", "-") else body.split()):
                lm = _LOOP_RE.match(token)
                if not lm:
                    raise MascotError(f"level {name}: loop {token!r} is not DIM<factor>[X|Y] (e.g. P55, M12X)")
                d, f, axis = lm.group(1), int(lm.group(2)), lm.group(3)
                i = DIMS.index(d)
                target = {"": temporal, "X": sx, "Y": sy}[axis]
                if target[i] != 1:
                    raise MascotError(f"level {name}: dimension {d} appears twice as a {axis or 'temporal'} loop")
                target[i] = f
                if not axis:
                    order_outer_first.append(d)
            perm = "".join(reversed(order_outer_first))
            levels.append(
                LevelMapping(
                    name=name,
                    temporal=tuple(temporal),
                    spatial_x=tuple(sx),
                    spatial_y=tuple(sy),
                    permutation=perm,
                    keep=tuple(_FROM_LETTER[c] for c in keep_letters),
                )
            )
        return cls(tuple(reversed(levels)))

    # ------------------------------------------------------------------------------------------
    # Timeloop mapping YAML

    def to_timeloop_dict(self) -> dict[str, Any]:
        """The ``mapping:`` document Timeloop's ``timeloop-model`` reads."""
        entries: list[dict[str, Any]] = []
        for lv in self.levels:
            entries.append({
                "target": lv.name,
                "type": "datatype",
                "keep": list(lv.keep),
                "bypass": [t for t in TENSORS if t not in lv.keep],
            })
        for lv in self.levels:
            if any(f > 1 for f in lv.spatial):
                xdims = [d for d, f in zip(DIMS, lv.spatial_x) if f > 1]
                ydims = [d for d in DIMS if d not in xdims]
                entries.append({
                    "target": lv.name,
                    "type": "spatial",
                    "factors": " ".join(f"{d}{f}" for d, f in zip(DIMS, lv.spatial)),
                    "permutation": "".join(xdims + ydims),
                    "split": len(xdims),
                })
            entries.append({
                "target": lv.name,
                "type": "temporal",
                "factors": " ".join(f"{d}{f}" for d, f in zip(DIMS, lv.temporal)),
                "permutation": lv.permutation,
            })
        return {"mapping": entries}

    def to_timeloop_yaml(self) -> str:
        return yaml.safe_dump(self.to_timeloop_dict(), sort_keys=False)


def _parse_factor_string(text: str, *, where: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for token in str(text).split():
        m = re.match(r"^([A-Za-z])\s*=?\s*(\d+)$", token)
        if not m or m.group(1) not in DIMS:
            raise MascotError(f"{where}: factor {token!r} is not DIM<value> with DIM in {''.join(DIMS)}")
        out[m.group(1)] = int(m.group(2))
    return out


def mapping_from_timeloop_dict(
    data: dict[str, Any],
    level_names: list[str],
    *,
    dims: dict[str, int] | None = None,
    default_keep: dict[str, tuple[str, ...]] | None = None,
    path: str | Path | None = None,
) -> Mapping:
    """Build a :class:`Mapping` from Timeloop's mapping YAML (a ``mapping:`` list).

    ``level_names`` are the SA's storage levels innermost first. A factor of 0 means "the whole
    remaining dimension" as in Timeloop; it needs ``dims`` (the problem's dimension sizes).
    Loops the file does not mention have factor 1. A level without a ``datatype`` entry keeps
    ``default_keep[level]`` (pass the SA's keep/bypass), else every tensor (Timeloop's default).
    """
    entries = data.get("mapping") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise MascotError("expected a top-level `mapping:` list", path=path)
    per: dict[str, dict[str, Any]] = {n: {} for n in level_names}
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or "target" not in e or "type" not in e:
            raise MascotError(f"field mapping[{i}]: needs `target` and `type`", path=path)
        target, kind = str(e["target"]), str(e["type"])
        if target not in per:
            raise MascotError(
                f"field mapping[{i}].target {target!r} is not a level of the architecture",
                path=path,
                hint=f"levels: {', '.join(level_names)}",
            )
        where = f"field mapping[{i}] ({target} {kind})"
        if kind in ("temporal", "spatial"):
            factors = _parse_factor_string(e.get("factors", ""), where=where)
            per[target][kind] = (factors, str(e.get("permutation", "")), e.get("split"))
        elif kind in ("datatype", "bypass"):
            keep = e.get("keep") or []
            bad = set(keep) - set(TENSORS)
            if bad:
                raise MascotError(f"{where}.keep names unknown tensors {sorted(bad)}", path=path)
            per[target]["keep"] = tuple(keep)
        else:
            raise MascotError(f"{where}: unknown type {kind!r} (temporal, spatial, datatype)", path=path)

    levels = []
    for name in level_names:
        info = per[name]
        temporal = [1] * len(DIMS)
        perm = ""
        if "temporal" in info:
            factors, perm, _ = info["temporal"]
            for d, f in factors.items():
                temporal[DIMS.index(d)] = f
        sx = [1] * len(DIMS)
        sy = [1] * len(DIMS)
        if "spatial" in info:
            factors, sperm, split = info["spatial"]
            sdims = [c for c in sperm if not c.isspace()] or list(DIMS)
            split = len(sdims) if split is None else int(split)
            for d, f in factors.items():
                pos = sdims.index(d) if d in sdims else len(sdims)
                (sx if pos < split else sy)[DIMS.index(d)] = f
        keep = info.get("keep", (default_keep or {}).get(name, TENSORS))
        levels.append((name, temporal, sx, sy, perm, keep))

    if any(0 in t for _, t, *_ in levels):
        if dims is None:
            raise MascotError("the mapping uses factor 0 (whole dimension) but no problem sizes were given", path=path)
        for i, d in enumerate(DIMS):
            known = prod(t[i] * x[i] * y[i] for _, t, x, y, _, _ in levels if t[i] != 0)
            for _, t, *_ in levels:
                if t[i] == 0:
                    t[i] = max(1, dims[d] // max(known, 1))
    return Mapping(tuple(
        LevelMapping(name=n, temporal=tuple(t), spatial_x=tuple(x), spatial_y=tuple(y), permutation=p, keep=k)
        for n, t, x, y, p, k in levels
    ))


def load_timeloop_mapping(
    path: str | Path,
    level_names: list[str],
    dims: dict[str, int] | None = None,
    default_keep: dict[str, tuple[str, ...]] | None = None,
) -> Mapping:
    """Read a Timeloop mapping YAML file (errors name the file and the field)."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise MascotError("file not found", path=p) from None
    except yaml.YAMLError as exc:
        raise MascotError(f"not valid YAML: {exc}", path=p) from None
    return mapping_from_timeloop_dict(data, level_names, dims=dims, default_keep=default_keep, path=p)
