"""Accelergy energy and area reference tables (ERT / ART) as Timeloop v3.0.3 charges them.

Why its own module: ``--ert`` must use an Accelergy table's energies *exactly as Timeloop does*,
and that has two rules worth keeping in one place. (1) An action with several argument variants
(``data_delta`` × ``address_delta``) is charged its MAXIMUM (the Eyeriss global-buffer read costs
74.14 pJ, not the 37.10 pJ average). (2) Timeloop looks actions up through priority lists
(:data:`READ_ACTIONS`, :data:`FILL_ACTIONS`, :data:`MAC_ACTIONS`); a storage component whose entry
matches none (the Simba weight registers only have ``access``) gets Timeloop's built-in
``pat`` model (:func:`timeloop_builtin_energy_pj`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwmodel.spec import AcceleratorSpec, read_yaml
from mascot.errors import MascotError

READ_ACTIONS = ("random_read", "read")
FILL_ACTIONS = ("random_fill", "random_write", "fill", "write")
UPDATE_ACTIONS = ("random_update", "random_write", "update", "write")
MAC_ACTIONS = ("mac_random", "mult_random", "mac", "mult", "compute")




@dataclass(frozen=True)
class EnergyTable:
    """An Accelergy ERT: per component (short name), per action, the MAX energy over its variants."""

    actions: dict[str, dict[str, float]] = field(default_factory=dict)
    source: str = ""

    def component(self, name: str) -> dict[str, float] | None:
        return self.actions.get(_short_name(name))

    def pick(self, name: str, priorities: tuple[str, ...]) -> float | None:
        """Energy of the first action of ``priorities`` the component has (Timeloop's lookup)."""
        acts = self.component(name)
        if acts is None:
            return None
        for a in priorities:
            if a in acts:
                return acts[a]
        return None


def _short_name(full: str) -> str:
    """``system.eyeriss.PE[0..167].ifmap_spad`` → ``ifmap_spad``; ``PEWeightBuffer[0..3]`` → ``PEWeightBuffer``."""
    return re.sub(r"\[\s*\d+\s*\.\.\s*\d+\s*\]", "", str(full)).split(".")[-1].strip()


def load_ert(path: str | Path) -> EnergyTable:
    """Read an Accelergy ERT (``ERT:`` tables or ``ERT_summary:``) charging the MAX per action."""
    path = Path(path)
    data = read_yaml(path)
    out: dict[str, dict[str, float]] = {}
    if "ERT" in data:
        tables = (data["ERT"] or {}).get("tables")
        summary = False
    elif "ERT_summary" in data:
        tables = (data["ERT_summary"] or {}).get("table_summary")
        summary = True
    else:
        raise MascotError("not an Accelergy ERT: expected a top-level `ERT:` or `ERT_summary:` key", path=path)
    if not isinstance(tables, list):
        raise MascotError("ERT has no list of tables", path=path, hint="expected ERT: {tables: [...]}")
    for i, table in enumerate(tables):
        if not isinstance(table, dict) or "name" not in table:
            raise MascotError(f"field tables[{i}]: expected a mapping with a name", path=path)
        acts = out.setdefault(_short_name(table["name"]), {})
        for j, action in enumerate(table.get("actions") or []):
            try:
                name = str(action["name"])
                energy = float(action["max_energy"] if summary and "max_energy" in action else action["energy"])
            except (KeyError, TypeError, ValueError):
                raise MascotError(
                    f"field tables[{i}] ({table['name']}).actions[{j}]: needs a name and a numeric energy", path=path
                ) from None
            acts[name] = max(energy, acts.get(name, float("-inf")))
    return EnergyTable(out, str(path))


def load_art(path: str | Path) -> dict[str, float]:
    """Read an Accelergy ART: component short name → area (um²) of one instance."""
    path = Path(path)
    data = read_yaml(path)
    tables = (data.get("ART") or data.get("ART_summary") or {}).get("tables") or (data.get("ART_summary") or {}).get(
        "table_summary"
    )
    if not isinstance(tables, list):
        raise MascotError("not an Accelergy ART: expected ART: {tables: [...]}", path=path)
    out: dict[str, float] = {}
    for i, t in enumerate(tables):
        try:
            out[_short_name(t["name"])] = float(t["area"])
        except (KeyError, TypeError, ValueError):
            raise MascotError(f"field tables[{i}]: needs a name and a numeric area", path=path) from None
    return out


def apply_ert(spec: AcceleratorSpec, ert: EnergyTable, art: dict[str, float] | None = None) -> AcceleratorSpec:
    """``spec`` with every level / MAC energy the ERT knows replaced by it (``--ert``).

    Reads use :data:`READ_ACTIONS`; the native ``write_energy_pj`` (fills and updates alike) uses
    :data:`FILL_ACTIONS`, which is also what Timeloop charges updates when the ERT has no separate
    ``update`` action (none of the reference ERTs has). ``art`` adds per-instance areas.
    """
    levels = []
    for lv in spec.levels:
        upd: dict[str, Any] = {}
        r = ert.pick(lv.name, READ_ACTIONS)
        w = ert.pick(lv.name, FILL_ACTIONS)
        if r is not None:
            upd["read_energy_pj"] = r
        if w is not None:
            upd["write_energy_pj"] = w
        if art and lv.name in art:
            upd["area_um2"] = art[lv.name]
        levels.append(lv.model_copy(update=upd) if upd else lv)
    top: dict[str, Any] = {"levels": tuple(levels)}
    mac = ert.pick(spec.mac_name, MAC_ACTIONS)
    if mac is not None:
        top["mac_energy_pj"] = mac
    if art and spec.mac_name in art:
        top["mac_area_um2"] = art[spec.mac_name]
    return AcceleratorSpec.model_validate({**spec.model_dump(), **top})


def timeloop_builtin_energy_pj(kind: str, word_bits: int, block_size: int, cluster_size: int, size_words: int) -> float:
    """Timeloop's own energy model (``pat``), used when an ERT entry maps to no Timeloop action."""
    width = word_bits * block_size * cluster_size
    if kind == "dram":
        return 200.0 * word_bits * block_size / 16
    if size_words == 0:
        return 0.0
    height = -(-size_words // block_size)
    m = (6.0 - 1.0) / (100.0 - 0.5)
    y = m * (width * height / (8 * 1024) - 0.5) + 1.0
    return y * width / 16 / cluster_size


def apply_timeloop_fallback(spec: AcceleratorSpec) -> AcceleratorSpec:
    """Levels still without read/write energy get Timeloop's built-in ``pat`` energy."""
    levels = []
    for lv in spec.levels:
        if lv.read_energy_pj is None or lv.write_energy_pj is None:
            e = timeloop_builtin_energy_pj(lv.kind, lv.word_bits, lv.block_size, lv.cluster_size, lv.size_words or 0)
            lv = lv.model_copy(
                update={
                    "read_energy_pj": lv.read_energy_pj if lv.read_energy_pj is not None else e,
                    "write_energy_pj": lv.write_energy_pj if lv.write_energy_pj is not None else e,
                }
            )
        levels.append(lv)
    return spec.model_copy(update={"levels": tuple(levels)})
