"""Timeloop v0.3 architecture / constraint YAML and Accelergy ERT / ART ↔ native SA specs.

Why: Timeloop users already have their designs in Timeloop's format; :func:`import_timeloop`
turns an architecture tree (+ compound-component and constraint files) into an
:class:`~hwmodel.spec.AcceleratorSpec`, and :func:`export_timeloop` writes one back, so the
analytical model and real Timeloop can be run on the same design.

Import rules (those of Timeloop v3.0.3's parser, so the levels are the ones Timeloop sees):

* The tree is walked from the root: each node's ``local`` components (outer first), then its one
  ``subtree`` child. ``name[0..K-1]`` repeats a component or node K times; instances multiply down
  the tree (``instances`` overrides). Node ``attributes`` are inherited by everything below.
* Storage: ``word-bits`` (or ``word_width`` / ``datawidth``, default 16), ``block-size`` (or
  ``n_words``), ``cluster-size``, ``width`` / ``memory_width`` (sets block or cluster size when one
  is missing), ``depth`` / ``memory_depth`` (× block size = words) or ``entries`` or ``sizeKB``,
  ``read_bandwidth`` / ``write_bandwidth``, ``meshX``. Compound-class defaults are Accelergy's
  business and are NOT applied (Timeloop never sees them); the component files only tell which
  primitive a class wraps (SRAM, regfile, DRAM, a MAC).
* The single compute component (``intmac``, ``mac``, ``class: compute``...) gives the MAC count,
  its name (``mac_name``) and, with the PE count (instances of the innermost repeated node), the
  PE array (``meshX`` × rest) and MACs per PE.
* Constraints: ``architecture_constraints`` / ``mapspace_constraints`` (or ``mapspace.constraints``)
  ``targets``. ``bypass`` / ``datatype`` entries become the levels' ``keep`` (a level that keeps no
  tensor becomes kind ``dummy``); the others are kept verbatim with their scope.
* Energies: with an ERT (:func:`load_ert`), read = the MAX over the ``read`` action's argument
  variants, write = the MAX over ``write`` (Timeloop's priority lists: ``random_read``/``read``,
  ``random_fill``/``random_write``/``fill``/``write``; MAC ``mac_random``/``mult_random``/``mac``/
  ``mult``/``compute``). A storage component whose ERT entry maps to none of them gets Timeloop's
  built-in fallback (``pat::SRAMEnergy`` / ``pat::DRAMEnergy``), as Timeloop does. Without an ERT the
  energies are left to the 45 nm technology table (:mod:`hwmodel.energy`). An ART
  (:func:`load_art`) gives per-instance areas.

The ERT/ART readers live in :mod:`hwmodel.accelergy` and the exporter in
:mod:`hwmodel.timeloop_export`; both are re-exported here, so ``hwmodel.timeloop_format`` is the one
place to import the Timeloop-format API from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hwmodel.accelergy import (  # noqa: F401 - re-exported: the --ert API lives here too
    FILL_ACTIONS,
    MAC_ACTIONS,
    READ_ACTIONS,
    UPDATE_ACTIONS,
    EnergyTable,
    apply_ert,
    apply_timeloop_fallback,
    load_art,
    load_ert,
    timeloop_builtin_energy_pj,
)
from hwmodel.spec import TENSORS, AcceleratorSpec, Constraint, accelerator_from_dict, read_yaml
from hwmodel.timeloop_export import TimeloopExport, export_timeloop, spec_to_yaml, write_timeloop  # noqa: F401
from mascot.errors import MascotError

__all__ = [
    "EnergyTable", "TimeloopExport", "apply_ert", "apply_timeloop_fallback", "export_timeloop", "import_timeloop",
    "load_art", "load_ert", "spec_to_yaml", "timeloop_builtin_energy_pj", "write_timeloop",
    "READ_ACTIONS", "FILL_ACTIONS", "UPDATE_ACTIONS", "MAC_ACTIONS",
]

_RANGE = re.compile(r"^(?P<base>[^\[]+)\[(?P<lo>\d+)\s*\.\.\s*(?P<hi>\d+)\]$")
_COMPUTE_WORDS = ("mac", "compute", "alu", "adder", "mult")


# ----------------------------------------------------------------------------------------------
# import


def _parse_name(raw: Any, where: str, path: Path) -> tuple[str, int]:
    name = str(raw).strip()
    m = _RANGE.match(name)
    if not m:
        return name, 1
    lo, hi = int(m.group("lo")), int(m.group("hi"))
    if hi < lo:
        raise MascotError(f"{where}: range {name!r} is empty", path=path)
    return m.group("base").strip(), hi - lo + 1


def _compound_kinds(component_files: list[Path]) -> dict[str, str]:
    """Compound class name → ``sram`` | ``regfile`` | ``dram`` | ``compute`` (from its subcomponents)."""
    kinds: dict[str, str] = {}
    for p in component_files:
        data = read_yaml(p)
        classes = (data.get("compound_components") or {}).get("classes")
        if not isinstance(classes, list):
            raise MascotError("expected compound_components: {classes: [...]}", path=p)
        for c in classes:
            subs = [str(s.get("class", "")) for s in (c.get("subcomponents") or []) if isinstance(s, dict)]
            kind = None
            for s in subs:
                k = _primitive_kind(s)
                if k is not None:
                    kind = k
                    break
            if kind is not None:
                kinds[str(c.get("name"))] = kind
    return kinds


def _primitive_kind(cls: str) -> str | None:
    low = cls.lower()
    if "dram" in low:
        return "dram"
    if "sram" in low:
        return "sram"
    if "regfile" in low or low.endswith("_rf") or low in ("reg", "register") or "reg_storage" in low:
        return "regfile"
    if any(w in low for w in ("intmac", "fpmac", "mac", "mult", "compute")):
        return "compute"
    return None


def _classify(comp: dict, compound: dict[str, str]) -> str | None:
    """Storage kind (``sram``/``regfile``/``dram``) or ``compute`` for one component; None if unknown."""
    cls, sub = str(comp.get("class", "")), str(comp.get("subclass", "") or "")
    for name in (sub, cls):
        if name and name in compound:
            return compound[name]
    for name in (sub, cls):
        k = _primitive_kind(name) if name else None
        if k is not None:
            return k
    low = cls.lower()
    if low == "storage" or "smartbuffer" in low or "buffer" in low:
        return "regfile" if "rf" in sub.lower() else "sram"
    if any(w in low for w in _COMPUTE_WORDS):
        return "compute"
    return None


def _attr(attrs: dict, *keys: str) -> Any:
    for k in keys:
        if k in attrs and attrs[k] is not None:
            return attrs[k]
    return None


def yaml_int(raw: Any, label: str, path: Path, *, minimum: int) -> int:
    """``raw`` (a value read from a Timeloop YAML file) as an int >= ``minimum``.

    Why here: every number of the Timeloop inputs (architecture attributes, the CNN-Layer problem
    of ``mascot timeloop-model``) is checked the same way, so a bad one fails naming the file and
    ``label`` (the field), never with a Python traceback.
    """
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise MascotError(f"{label}: {raw!r} is not an integer", path=path) from None
    if value < minimum:
        raise MascotError(f"{label}: must be >= {minimum}, got {value}", path=path)
    return value


def _int_attr(attrs: dict, where: str, path: Path, *keys: str) -> int | None:
    v = _attr(attrs, *keys)
    return None if v is None else yaml_int(v, f"{where}: attribute {keys[0]}", path, minimum=0)


def _storage_level(comp: dict, attrs: dict, kind: str, name: str, instances: int, where: str, path: Path) -> dict:
    word_bits = _int_attr(attrs, where, path, "word-bits", "word_width", "datawidth") or 16
    block = _int_attr(attrs, where, path, "block-size", "block_size", "n_words")
    cluster = _int_attr(attrs, where, path, "cluster-size")
    width = _int_attr(attrs, where, path, "width", "memory_width", "data_storage_width")
    if width is not None and kind != "dram":
        if block is not None and cluster is None:
            if width % (word_bits * block):
                raise MascotError(
                    f"{where}: width {width} is not a multiple of word-bits {word_bits} × block-size {block}", path=path
                )
            cluster = width // (word_bits * block)
        elif cluster is not None and block is None:
            block = max(1, width // cluster // word_bits)
        elif block is None:
            block = max(1, width // word_bits)
    block = block or 1
    cluster = cluster or 1
    level: dict[str, Any] = {"name": name, "kind": kind, "word_bits": word_bits, "block_size": block}
    if kind != "dram":
        entries = _int_attr(attrs, where, path, "entries")
        depth = _int_attr(attrs, where, path, "depth", "memory_depth", "data_storage_depth")
        size_kb = _int_attr(attrs, where, path, "sizeKB")
        if entries is not None:
            size = entries
        elif depth is not None:
            size = depth * block
        elif size_kb is not None:
            size = size_kb * 1024 * 8 // word_bits
        else:
            raise MascotError(f"{where}: a storage level needs depth / memory_depth, entries or sizeKB", path=path)
        level["size_words"] = size
    bw = _attr(attrs, "bandwidth")
    rbw, wbw = _attr(attrs, "read_bandwidth"), _attr(attrs, "write_bandwidth")
    if bw is not None:
        rbw = rbw if rbw is not None else float(bw) / 2
        wbw = wbw if wbw is not None else float(bw) / 2
    if rbw is not None:
        level["read_bw"] = float(rbw)
    if wbw is not None:
        level["write_bw"] = float(wbw)
    level["instances"] = instances
    mesh_x = _int_attr(attrs, where, path, "meshX")
    if mesh_x is not None:
        level["mesh_x"] = mesh_x
    if cluster != 1:
        level["cluster_size"] = cluster
    return level


@dataclass
class _Walk:
    levels: list[dict] = field(default_factory=list)  # outer first
    compute: dict | None = None
    pe_count: int = 1
    meta: dict = field(default_factory=dict)


def _walk(node: dict, inherited: dict, count: int, where: str, path: Path, compound: dict[str, str], acc: _Walk) -> None:
    if not isinstance(node, dict):
        raise MascotError(f"{where}: expected a mapping (name, attributes, local, subtree)", path=path)
    if not isinstance(node.get("attributes") or {}, dict) or not isinstance(node.get("local") or [], list):
        raise MascotError(f"{where}: `attributes` must be a mapping and `local` a list", path=path)
    attrs = {**inherited, **(node.get("attributes") or {})}
    for k, v in (node.get("attributes") or {}).items():
        if str(k).startswith("mascot_"):
            acc.meta[str(k)[len("mascot_") :]] = v
    for i, comp in enumerate(node.get("local") or []):
        cwhere = f"{where}.local[{i}]"
        if not isinstance(comp, dict) or "name" not in comp:
            raise MascotError(f"{cwhere}: a component needs a name", path=path)
        name, n = _parse_name(comp["name"], cwhere, path)
        cwhere += f" ({name})"
        cattrs = {**attrs, **(comp.get("attributes") or {})}
        inst = _int_attr(cattrs, cwhere, path, "instances") or count * n
        kind = _classify(comp, compound)
        if kind is None:
            raise MascotError(
                f"{cwhere}: cannot tell whether class {comp.get('class')!r} is storage or compute",
                path=path,
                hint="give its compound-component file, or use a class such as SRAM, regfile, DRAM, intmac",
            )
        if acc.compute is not None:
            raise MascotError(f"{cwhere}: component after the compute unit {acc.compute['name']!r}", path=path)
        if kind == "compute":
            acc.compute = {"name": name, "instances": inst, "attrs": cattrs, "where": cwhere}
            acc.pe_count = count
        else:
            acc.levels.append(_storage_level(comp, cattrs, kind, name, inst, cwhere, path))
    subs = node.get("subtree") or []
    if len(subs) > 1:
        raise MascotError(f"{where}.subtree: {len(subs)} sibling subtrees; only one chain is supported", path=path)
    for sub in subs:
        if not isinstance(sub, dict):
            raise MascotError(f"{where}.subtree[0]: expected a mapping", path=path)
        sname, n = _parse_name(sub.get("name", "node"), f"{where}.subtree[0]", path)
        _walk(sub, attrs, count * n, f"{where}.subtree[0] ({sname})", path, compound, acc)


def _read_constraints(files: list[Path]) -> list[tuple[dict, str, str, Path]]:
    """Every constraint as (entry, scope, where, file)."""
    out = []
    for p in files:
        data = read_yaml(p)
        found = False
        for key, scope in (
            ("architecture_constraints", "architecture"),
            ("mapspace_constraints", "mapspace"),
            ("constraints", "architecture"),
            ("mapspace", "mapspace"),
        ):
            block = data.get(key)
            if block is None:
                continue
            entries = block.get("targets", block.get("constraints")) if isinstance(block, dict) else block
            if entries is None:
                continue
            if not isinstance(entries, list):
                raise MascotError(f"field {key}.targets: expected a list of constraints", path=p)
            found = True
            for i, e in enumerate(entries):
                if not isinstance(e, dict):
                    raise MascotError(f"field {key}.targets[{i}]: expected a mapping", path=p)
                out.append((e, scope, f"{key}.targets[{i}]", p))
        if not found:
            raise MascotError(
                "no constraints found", path=p, hint="expected architecture_constraints: or mapspace_constraints: {targets: [...]}"
            )
    return out


def _tensor_list(value: Any, where: str, path: Path) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or [])
    bad = [t for t in items if t not in TENSORS]
    if bad:
        raise MascotError(f"{where}: unknown tensor(s) {bad}", path=path, hint=f"use {', '.join(TENSORS)}")
    return [str(t) for t in items]


def import_timeloop(
    arch: str | Path,
    components: list[str | Path] | None = None,
    constraints: list[str | Path] | None = None,
    *,
    ert: str | Path | EnergyTable | None = None,
    art: str | Path | dict[str, float] | None = None,
    name: str | None = None,
    dataflow: str | None = None,
    clock_ghz: float | None = None,
    resolve: bool = True,
) -> AcceleratorSpec:
    """Build a native SA spec from Timeloop v0.3 architecture (+ components, constraints, ERT, ART).

    ``name``, ``dataflow`` (default ``custom``) and ``clock_ghz`` (default 1) override what a file
    exported by mascot carries in its ``mascot_*`` attributes.
    """
    arch_path = Path(arch)
    data = read_yaml(arch_path)
    root = data.get("architecture")
    if not isinstance(root, dict):
        raise MascotError("expected a top-level `architecture:` mapping (Timeloop v0.3)", path=arch_path)
    if "nodes" in root:
        raise MascotError(
            "this is the Timeloop v0.4 `nodes:` format; only v0.3 (`subtree:` / `local:`) is supported", path=arch_path
        )
    comp_files = [Path(c) for c in components or []]
    walk = _Walk()
    _walk(root, {}, 1, "architecture", arch_path, _compound_kinds(comp_files), walk)
    if walk.compute is None:
        raise MascotError("no compute component (intmac, mac, class: compute) in the architecture", path=arch_path)
    if not walk.levels or walk.levels[0]["kind"] != "dram":
        raise MascotError("the outermost storage level must be DRAM", path=arch_path, hint="add a class: DRAM component")
    levels = list(reversed(walk.levels))  # innermost first
    by_name = {lv["name"]: lv for lv in levels}
    keep: dict[str, set[str]] = {lv["name"]: set(TENSORS) for lv in levels}
    native_constraints: list[dict] = []
    for entry, scope, where, cpath in _read_constraints([Path(c) for c in constraints or []]):
        target = str(entry.get("target", ""))
        if target not in by_name:
            raise MascotError(
                f"field {where}.target {target!r} is not a level of {arch_path.name}",
                path=cpath,
                hint=f"levels: {', '.join(by_name)}",
            )
        ctype = str(entry.get("type", ""))
        if ctype in ("bypass", "datatype"):
            kept = _tensor_list(entry.get("keep"), f"field {where}.keep", cpath)
            bypassed = _tensor_list(entry.get("bypass"), f"field {where}.bypass", cpath)
            clash = set(kept) & set(bypassed)
            if clash:
                raise MascotError(f"field {where}: {sorted(clash)} both kept and bypassed", path=cpath)
            # tensors neither kept nor bypassed stay allowed (Timeloop lets the mapper decide)
            keep[target] -= set(bypassed)
            continue
        if ctype not in ("temporal", "spatial", "utilization"):
            raise MascotError(f"field {where}.type {ctype!r} is not a Timeloop constraint type", path=cpath)
        c: dict[str, Any] = {"target": target, "type": ctype}
        for key in ("factors", "permutation"):
            if entry.get(key) is not None:
                c[key] = str(entry[key])
        for key in ("split", "min"):
            if entry.get(key) is not None:
                c[key] = entry[key]
        if scope != "architecture":
            c["scope"] = scope
        try:
            Constraint.model_validate(c)
        except ValidationError as exc:
            msg = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
            raise MascotError(f"field {where} ({target}): {msg}", path=cpath) from None
        native_constraints.append(c)
    for lv in levels:
        lv["keep"] = [t for t in TENSORS if t in keep[lv["name"]]]
        if not lv["keep"] and lv["kind"] != "dram":
            lv["kind"] = "dummy"
    comp = walk.compute
    cattrs = comp["attrs"]
    mac_bits = _int_attr(cattrs, comp["where"], arch_path, "datawidth", "word-bits") or 16
    pes = walk.pe_count if comp["instances"] % walk.pe_count == 0 else comp["instances"]
    mesh_x = _int_attr(cattrs, comp["where"], arch_path, "meshX")
    x = mesh_x if mesh_x and pes % mesh_x == 0 else pes
    meta = walk.meta
    spec_dict: dict[str, Any] = {
        "name": name or meta.get("name") or arch_path.stem.removesuffix(".arch"),
        "description": meta.get("description") or f"imported from Timeloop v0.3 {arch_path.name}",
        "dataflow": dataflow or meta.get("dataflow") or "custom",
        "clock_ghz": float(clock_ghz if clock_ghz is not None else meta.get("clock_ghz", 1.0)),
        "word_bits": mac_bits,
        "technology": str(_attr(cattrs, "technology") or "45nm"),
        "pe_array": {"x": x, "y": pes // x},
        "macs_per_pe": comp["instances"] // pes,
        "mac_name": comp["name"],
        "levels": levels,
        "constraints": native_constraints,
    }
    for key in ("area_mm2", "static_power_mw", "vector_lanes"):
        if meta.get(key) is not None:
            spec_dict[key] = meta[key]
    spec = accelerator_from_dict(spec_dict, path=arch_path, resolve=False)
    if ert is not None or art is not None:
        table = ert if isinstance(ert, EnergyTable) else (load_ert(ert) if ert is not None else EnergyTable())
        areas = art if isinstance(art, dict) or art is None else load_art(art)
        spec = apply_ert(spec, table, areas)
        if ert is not None:
            spec = apply_timeloop_fallback(spec)
    return spec.resolved() if resolve else spec
