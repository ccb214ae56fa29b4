"""Read what ``timeloop-mapper`` / ``timeloop-model`` wrote into a :class:`~hwmodel.cost.LayerCost`.

Users of the field already have folders of Timeloop results; this module turns them into mascot
numbers without re-running anything, and the ``timeloop`` backend uses it on its own runs.

Two files matter (Timeloop v3 naming; ``timeloop-model.*`` is accepted too):

* ``timeloop-mapper.stats.txt``: the statistics report. Per level: SPECS (word bits, block
  size, instances, vector access energy) and, per dataspace, scalar reads / fills / updates,
  utilized instances and ``Energy (total)``; the arithmetic level's computes, cycles and energy;
  network energies; the summary (cycles, energy in µJ, utilization).
* ``timeloop-mapper.map.yaml``: the mapping (datatype keep/bypass, temporal and spatial factors
  and permutations per level), rendered in Timeloop's compact one-line form.

The energy breakdown is read from the per-level totals (exact to 0.01 pJ), not from the rounded
summary; the summary only cross-checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mascot.errors import MascotError

from hwmodel.cost import LayerCost

STATS_NAMES = ("timeloop-mapper.stats.txt", "timeloop-model.stats.txt")
MAP_NAMES = ("timeloop-mapper.map.yaml", "timeloop-model.map.yaml")
_TENSOR_LETTER = {"Weights": "W", "Inputs": "I", "Outputs": "O"}
_ENERGY_KEYS = ("Energy (total)", "Temporal Reduction Energy (total)", "Address Generation Energy (total)")
_NETWORK_ENERGY_KEYS = ("Energy (total)", "Link transfer energy (total)", "Spatial Reduction Energy (total)")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class LevelStats:
    """One level of the report: ``specs`` as printed, ``dataspaces[name][key]`` as numbers."""

    index: int
    name: str
    specs: dict[str, str]
    stats: dict[str, float]
    dataspaces: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def is_arithmetic(self) -> bool:
        return "Computes (total)" in self.stats

    @property
    def energy_pj(self) -> float:
        if self.is_arithmetic:
            return self.stats.get("Energy (total)", 0.0)
        return sum(ds.get(k, 0.0) for ds in self.dataspaces.values() for k in _ENERGY_KEYS)

    @property
    def word_bits(self) -> int:
        return int(_number(self.specs.get("Word bits", "0")) or 0)

    def scalar(self, dataspace: str, what: str) -> float:
        """Total scalar ``what`` (``reads``, ``fills``, ``updates``) over the utilized instances."""
        ds = self.dataspaces.get(dataspace, {})
        return ds.get(f"Scalar {what} (per-instance)", 0.0) * ds.get("Utilized instances (max)", 1.0)


@dataclass(frozen=True)
class TimeloopStats:
    """A parsed ``*.stats.txt``."""

    path: Path
    levels: tuple[LevelStats, ...]
    network_energy_pj: float
    summary: dict[str, float]

    @property
    def arithmetic(self) -> LevelStats:
        for lv in self.levels:
            if lv.is_arithmetic:
                return lv
        raise MascotError("no arithmetic level (=== mac ===) in the statistics report", path=self.path)

    @property
    def storage(self) -> list[LevelStats]:
        return [lv for lv in self.levels if not lv.is_arithmetic]

    @property
    def computes(self) -> int:
        return int(self.arithmetic.stats["Computes (total)"])

    @property
    def cycles(self) -> int:
        cycles = [lv.stats.get("Cycles", 0.0) for lv in self.levels]
        return int(max([self.summary.get("Cycles", 0.0), *cycles]))

    @property
    def mac_instances(self) -> int:
        return int(_number(self.arithmetic.specs.get("Instances", "1")) or 1)


def _number(text: str) -> float | None:
    m = _NUMBER.match(text.strip())
    return float(m.group(0)) if m else None


def parse_stats(path: str | Path) -> TimeloopStats:
    """Parse a Timeloop statistics report; a file that is not one is a :class:`MascotError`."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise MascotError(f"cannot read the Timeloop statistics: {exc.strerror or exc}", path=path) from None

    levels: list[LevelStats] = []
    summary: dict[str, float] = {}
    network_energy = 0.0
    section = "none"  # levels | networks | other | summary
    current: dict | None = None
    part = "specs"
    dataspace: str | None = None

    def close_level() -> None:
        nonlocal current
        if current is not None and current.get("name"):
            levels.append(LevelStats(current["index"], current["name"], current["specs"], current["stats"],
                                     current["dataspaces"]))
        current = None

    for raw in lines:
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or set(stripped) == {"-"}:
            continue
        if stripped == "Networks":
            close_level()
            section = "networks"
            continue
        if stripped.startswith("Operational Intensity Stats"):
            close_level()
            section = "other"
            continue
        if stripped == "Summary Stats":
            close_level()
            section = "summary"
            continue
        if section in ("none", "levels"):
            m = re.fullmatch(r"Level (\d+)", stripped)
            if m:
                close_level()
                section = "levels"
                current = {"index": int(m.group(1)), "name": "", "specs": {}, "stats": {}, "dataspaces": {}}
                part, dataspace = "specs", None
                continue
            if current is None:
                continue
            m = re.fullmatch(r"=== (.+) ===", stripped)
            if m:
                current["name"] = m.group(1).strip()
                continue
            if stripped in ("SPECS", "MAPPING", "STATS"):
                part, dataspace = stripped.lower(), None
                continue
            if part == "stats" and re.fullmatch(r"[A-Za-z_]\w*:", stripped) and len(line) - len(line.lstrip()) <= 4:
                dataspace = stripped[:-1]
                current["dataspaces"][dataspace] = {}
                continue
            key, sep, value = stripped.partition(":")
            if not sep:
                continue
            key = key.strip()
            if part == "specs":
                current["specs"][key] = value.strip()
            elif part == "stats":
                num = _number(value)
                if num is None:
                    continue
                (current["dataspaces"][dataspace] if dataspace else current["stats"])[key] = num
        elif section == "networks":
            key, sep, value = stripped.partition(":")
            if sep and key.strip() in _NETWORK_ENERGY_KEYS:
                network_energy += _number(value) or 0.0
        elif section == "summary":
            key, sep, value = stripped.partition(":")
            if not sep:
                key, sep, value = stripped.partition("=")
            num = _number(value) if sep else None
            if num is not None:
                summary[key.strip()] = num
    close_level()

    if not levels or not any(lv.is_arithmetic for lv in levels):
        raise MascotError("not a Timeloop statistics report (no 'Level N' / '=== mac ===' sections)", path=path,
                          hint="give the timeloop-mapper.stats.txt (or timeloop-model.stats.txt) file")
    return TimeloopStats(path=path, levels=tuple(levels), network_energy_pj=network_energy, summary=summary)


# ----------------------------------------------------------------------------------------------
# mapping


def mapping_from_yaml(path: str | Path) -> str:
    """A Timeloop mapping YAML in compact form, outermost level first.

    ``DRAM[WIO]: Q55 C3 | shared_glb[IO]: P55 M12X | DummyBuffer[]: S11Y | ...``: per level the
    tensors it keeps, then its temporal loops outer to inner, then its spatial loops (X or Y),
    factors of 1 left out.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise MascotError(f"cannot read the Timeloop mapping: {exc.strerror or exc}", path=path) from None
    except yaml.YAMLError as exc:
        raise MascotError(f"not valid YAML: {exc}", path=path) from None
    entries = data.get("mapping") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise MascotError("not a Timeloop mapping (expected a top-level `mapping:` list)", path=path)
    return compact_mapping(entries, path)


def compact_mapping(entries: list[dict], path: str | Path | None = None) -> str:
    """Render Timeloop mapping entries (the ``mapping:`` list) in compact form."""
    order: list[str] = []
    keep: dict[str, str] = {}
    temporal: dict[str, list[str]] = {}
    spatial: dict[str, list[str]] = {}
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or "target" not in e or "type" not in e:
            raise MascotError(f"mapping entry {i} needs `target:` and `type:`", path=path)
        target = str(e["target"])
        if target not in order:
            order.append(target)
        kind = e["type"]
        if kind in ("datatype", "bypass"):
            kept = set(e.get("keep") or [])
            keep[target] = "".join(_TENSOR_LETTER[t] for t in ("Weights", "Inputs", "Outputs") if t in kept)
        elif kind in ("temporal", "spatial"):
            factors = _parse_factors(str(e.get("factors", "")), i, path)
            perm = str(e.get("permutation", "")).replace(" ", "") or "".join(factors)
            perm += "".join(d for d in factors if d not in perm)
            split = int(e.get("split", len(perm))) if kind == "spatial" else 0
            loops = []
            for pos, dim in enumerate(perm):  # innermost first
                f = factors.get(dim, 1)
                if f > 1:
                    axis = ("X" if pos < split else "Y") if kind == "spatial" else ""
                    loops.append(f"{dim}{f}{axis}")
            (spatial if kind == "spatial" else temporal)[target] = loops[::-1]
    parts = []
    for target in reversed(order):  # Timeloop lists levels innermost first
        loops = temporal.get(target, []) + spatial.get(target, [])
        parts.append(f"{target}[{keep.get(target, 'WIO')}]: {' '.join(loops) if loops else '-'}")
    return " | ".join(parts)


def _parse_factors(text: str, i: int, path: str | Path | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for token in text.replace("=", "").split():
        m = re.fullmatch(r"([A-Za-z]+)(\d+)", token)
        if not m:
            raise MascotError(f"mapping entry {i}: cannot read factor {token!r}", path=path,
                              hint="factors look like `C3 M1 R11 ...`")
        out[m.group(1)] = int(m.group(2))
    return out


# ----------------------------------------------------------------------------------------------
# LayerCost


def stats_to_cost(stats: TimeloopStats, mapping: str = "", backend: str = "timeloop") -> LayerCost:
    """A :class:`LayerCost` from parsed statistics (the outermost storage level is DRAM)."""
    breakdown: dict[str, float] = {"mac": stats.arithmetic.energy_pj}
    for lv in stats.storage:
        breakdown[lv.name] = lv.energy_pj
    if stats.network_energy_pj:
        breakdown["network"] = stats.network_energy_pj
    dram = stats.storage[-1] if stats.storage else None
    read_words = write_words = 0.0
    if dram is not None:
        for ds in dram.dataspaces:
            read_words += dram.scalar(ds, "reads")
            write_words += dram.scalar(ds, "updates") + dram.scalar(ds, "fills")
    bytes_per_word = (dram.word_bits if dram is not None and dram.word_bits else 8) / 8
    energy = sum(breakdown.values())
    reported_uj = stats.summary.get("Energy")
    if reported_uj is not None and abs(energy * 1e-6 - reported_uj) > max(0.02, 1e-3 * reported_uj):
        raise MascotError(
            f"per-level energies add up to {energy * 1e-6:.2f} uJ but the summary says {reported_uj:.2f} uJ",
            path=stats.path, hint="the report looks truncated or edited; re-run timeloop",
        )
    cycles = stats.cycles
    return LayerCost(
        cycles=cycles,
        energy_pj=energy,
        dram_read_bytes=int(round(read_words * bytes_per_word)),
        dram_write_bytes=int(round(write_words * bytes_per_word)),
        utilization=stats.computes / max(1, cycles * stats.mac_instances),
        energy_breakdown_pj=breakdown,
        mapping=mapping,
        backend=backend,
    )


def find_run_files(run_dir: str | Path) -> tuple[Path, Path | None]:
    """The stats file (required) and mapping YAML (optional) in a Timeloop output folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MascotError("not a folder", path=run_dir, hint="give Timeloop output folders (with *.stats.txt)")
    stats = next((run_dir / n for n in STATS_NAMES if (run_dir / n).is_file()), None)
    if stats is None:
        found = sorted(run_dir.glob("*.stats.txt"))
        if not found:
            raise MascotError("no Timeloop statistics in this folder", path=run_dir,
                              hint=f"expected {' or '.join(STATS_NAMES)}")
        stats = found[0]
    mapping = next((run_dir / n for n in MAP_NAMES if (run_dir / n).is_file()), None)
    if mapping is None:
        mapping = next(iter(sorted(run_dir.glob("*.map.yaml"))), None)
    return stats, mapping


def read_run(run_dir: str | Path, backend: str = "timeloop") -> LayerCost:
    """Parse one Timeloop output folder into a :class:`LayerCost`."""
    stats_path, map_path = find_run_files(run_dir)
    mapping = mapping_from_yaml(map_path) if map_path is not None else ""
    return stats_to_cost(parse_stats(stats_path), mapping=mapping, backend=backend)


def runs_to_table(
    run_dirs: list[str | Path], model: str = "timeloop", sa_class: str | None = None, clock_ghz: float = 1.0
) -> "LayerTable":  # noqa: F821 - imported lazily (tables imports the backends' world)
    """Timeloop output folders → a :class:`~hwmodel.tables.LayerTable`, one row per folder.

    ``layer`` is the folder's name, ``sa_class`` its parent's name unless given (the usual
    ``<arch>/<layer>/`` layout), ``run_dir`` the folder itself; latency assumes ``clock_ghz``
    (Timeloop itself reports at 1 GHz). Layers keep the order in which they first appear.
    """
    import json as _json

    import pandas as pd

    from hwmodel.tables import COLUMNS, META_PREFIX, LayerTable

    if not run_dirs:
        raise MascotError("no Timeloop output folders given")
    rows = []
    layer_index: dict[str, int] = {}
    for run_dir in run_dirs:
        run_dir = Path(run_dir)
        stats_path, map_path = find_run_files(run_dir)
        stats = parse_stats(stats_path)
        cost = stats_to_cost(stats, mapping=mapping_from_yaml(map_path) if map_path else "")
        name = run_dir.resolve().name
        cls = sa_class or run_dir.resolve().parent.name
        idx = layer_index.setdefault(name, len(layer_index))
        rows.append({
            "model": model, "layer_index": idx, "layer": name, "op_type": "timeloop", "kind": "conv",
            "macs": stats.computes, "preds": [], "sa_class": cls, "cycles": cost.cycles,
            "latency_s": cost.cycles / (clock_ghz * 1e9), "energy_pj": cost.energy_pj,
            "dram_read_bytes": cost.dram_read_bytes, "dram_write_bytes": cost.dram_write_bytes,
            "dram_bytes": cost.dram_bytes, "bw_bytes_per_cycle": cost.bw_bytes_per_cycle,
            "bw_gbps": cost.bw_bytes_per_cycle * clock_ghz, "utilization": cost.utilization,
            "mapping": cost.mapping, "energy_breakdown": _json.dumps(cost.energy_breakdown_pj, sort_keys=True),
            "backend": "timeloop", "run_dir": str(run_dir),
        })
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "run_dir"])
    classes = list(dict.fromkeys(frame["sa_class"]))
    metadata = {
        META_PREFIX + "system": "timeloop-import",
        META_PREFIX + "system_hash": "",
        META_PREFIX + "backend": "timeloop",
        META_PREFIX + "objective": "as found by timeloop-mapper",
        META_PREFIX + "sa_classes": _json.dumps(classes),
    }
    return LayerTable(frame=frame, metadata=metadata)
