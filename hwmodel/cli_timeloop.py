"""Drop-in ``timeloop-model`` / ``timeloop-mapper`` commands on the analytical model.

They take Timeloop's own input files in Timeloop's order (architecture, compound components,
constraints, mapper settings, problem, mapping). Each file is recognised by its top-level key
(``architecture``, ``compound_components``, ``architecture_constraints`` / ``mapspace_constraints``
/ ``mapspace``, ``mapper``, ``problem``, ``mapping``), as Timeloop merges them, so the order of the
middle files does not matter. ``--ert`` takes an Accelergy energy reference table (the MAX per
action is charged, as Timeloop does).

The problem file is Timeloop's CNN-Layer format. Timeloop pairs R with P (``Wstride``,
``Wdilation``) and S with Q (``Hstride``, ``Hdilation``); mascot's :class:`~hwmodel.nest.Problem`
calls the P/R axis ``h``, so ``stride_h = Wstride``, ``stride_w = Hstride`` (identical for
symmetric layers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from mascot.errors import MascotError

_ROLE_KEYS = {
    "architecture": "arch",
    "compound_components": "components",
    "architecture_constraints": "constraints",
    "mapspace_constraints": "constraints",
    "mapspace": "constraints",
    "mapper": "mapper",
    "problem": "problem",
    "mapping": "mapping",
    "ERT": "ert",
    "ERT_summary": "ert",
}


def classify_files(paths: list[Path]) -> dict[str, list[Path]]:
    """Sort Timeloop input files by role from their top-level keys (a file may hold several)."""
    from hwmodel.spec import read_yaml

    roles: dict[str, list[Path]] = {}
    for p in paths:
        data = read_yaml(p)
        found = {_ROLE_KEYS[k] for k in data if k in _ROLE_KEYS}
        if not found:
            raise MascotError(
                f"not a Timeloop input file: top-level keys {sorted(data)}",
                path=p,
                hint="expected one of: " + ", ".join(sorted(_ROLE_KEYS)),
            )
        for role in found:
            roles.setdefault(role, []).append(p)
    return roles


def load_problem(path: str | Path) -> "Any":
    """Timeloop CNN-Layer problem YAML → :class:`hwmodel.nest.Problem` (errors name the field)."""
    from hwmodel.nest import Problem
    from hwmodel.spec import read_yaml
    from hwmodel.timeloop_format import yaml_int

    p = Path(path)
    data = read_yaml(p)
    prob = data.get("problem")
    if not isinstance(prob, dict) or not isinstance(prob.get("instance"), dict):
        raise MascotError("expected `problem:` with an `instance:` mapping (Timeloop CNN-Layer format)", path=p)
    inst = prob["instance"]
    dims = prob.get("shape", {}).get("dimensions") if isinstance(prob.get("shape"), dict) else None
    if dims is not None:
        unknown = sorted(set(map(str, dims)) - set("NCMRSPQ"))
        if unknown:
            raise MascotError(
                f"field problem.shape.dimensions: {unknown} are not CNN-Layer dimensions",
                path=p,
                hint="mascot models the CNN-Layer problem (N C M R S P Q)",
            )
    values = {
        key: yaml_int(inst.get(key, 1), f"field problem.instance.{key}", p, minimum=1)
        for key in ("N", "C", "M", "R", "S", "P", "Q", "Wstride", "Hstride", "Wdilation", "Hdilation")
    }
    return Problem(
        N=values["N"], C=values["C"], M=values["M"], R=values["R"], S=values["S"], P=values["P"], Q=values["Q"],
        stride_h=values["Wstride"], stride_w=values["Hstride"],
        dilation_h=values["Wdilation"], dilation_w=values["Hdilation"],
    )


def _objective_from_mapper(paths: list[Path]) -> str:
    from hwmodel.spec import read_yaml

    for p in paths:
        metrics = (read_yaml(p).get("mapper") or {}).get("optimization-metrics") or []
        metrics = [str(m) for m in metrics]
        if metrics:
            if metrics[0] == "edp":
                return "edp"
            if metrics[0] == "energy":
                return "energy"
            return "delay"
    return "delay"


def load_timeloop_inputs(files: list[Path], ert: Path | None) -> tuple[Any, dict[str, list[Path]]]:
    """The SA spec (with the ERT applied) and the files by role."""
    from hwmodel.timeloop_format import import_timeloop

    roles = classify_files(files)
    arch = _one_file(roles, "arch", "architecture", hint="give the Timeloop arch YAML (top-level `architecture:`) first")
    erts = roles.get("ert", [])
    ert_path = ert or (erts[0] if erts else None)
    spec = import_timeloop(arch, roles.get("components", []), roles.get("constraints", []), ert=ert_path)
    return spec, roles


def _one_file(roles: dict[str, list[Path]], role: str, noun: str, *, hint: str | None = None) -> Path:
    """The single file of ``role`` among the inputs: Timeloop takes exactly one arch, problem, mapping."""
    paths = roles.get(role, [])
    if len(paths) != 1:
        raise MascotError(f"expected exactly one {noun} file, got {len(paths)}", hint=hint)
    return paths[0]


def result_report(pb: Any, spec: Any, res: Any, mapping: Any) -> dict[str, Any]:
    """JSON-ready summary of one evaluated mapping (batch of one), scaled by ``pb.groups``."""
    from hwmodel.mapping import TENSORS

    g = pb.groups
    bytes_per_word = spec.levels[-1].word_bits / 8
    cycles = int(res.cycles[0]) * g
    breakdown = {spec.mac_name: float(res.mac_energy_pj[0]) * g}
    levels = []
    for li, lv in enumerate(spec.levels):
        breakdown[lv.name] = float(res.level_energy_pj[0, li]) * g
        for ti, t in enumerate(TENSORS):
            if t in lv.keep:
                levels.append({
                    "level": lv.name, "tensor": t, "utilized_instances": int(res.utilized[0, li]),
                    "tile_words": int(res.tile_words[0, li, ti]), "reads": int(res.reads[0, li, ti]),
                    "fills": int(res.fills[0, li, ti]), "updates": int(res.updates[0, li, ti]),
                    "energy_pj": float(res.tensor_energy_pj[0, li, ti]) * g,
                })
    read_b = float(res.dram_read_words[0]) * bytes_per_word * g
    write_b = float(res.dram_write_words[0]) * bytes_per_word * g
    return {
        "cycles": cycles,
        "energy_pj": float(res.energy_pj[0]) * g,
        "utilization": pb.macs * g / (cycles * spec.mac_units),
        "macs": pb.macs * g,
        "pj_per_mac": float(res.energy_pj[0]) / pb.macs,
        "energy_breakdown_pj": breakdown,
        "dram_read_bytes": int(round(read_b)),
        "dram_write_bytes": int(round(write_b)),
        "bw_bytes_per_cycle": (read_b + write_b) / max(cycles, 1),
        "mapping": mapping.to_compact(),
        "levels": levels,
    }


def print_report(report: dict[str, Any], title: str) -> None:
    import pandas as pd

    from mascot.ui import console, print_frame

    print_frame(pd.DataFrame(report["levels"]), title=title)
    console.print(
        f"cycles [bold]{report['cycles']:,}[/]  energy [bold]{report['energy_pj'] / 1e6:,.3f} uJ[/] "
        f"({report['pj_per_mac']:.3f} pJ/MAC)  utilization {report['utilization']:.3f}  "
        f"DRAM {report['dram_read_bytes']:,} B read / {report['dram_write_bytes']:,} B written "
        f"({report['bw_bytes_per_cycle']:.3f} B/cycle)"
    )
    console.print("energy by level (pJ): " + ", ".join(f"{k} {v:,.0f}" for k, v in report["energy_breakdown_pj"].items()))
    console.print(f"mapping: {report['mapping']}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("timeloop-model")
    def timeloop_model(
        files: list[Path] = typer.Argument(..., help="ARCH.yaml [COMPONENTS.yaml ...] PROBLEM.yaml MAPPING.yaml (Timeloop's order)."),
        ert: Optional[Path] = typer.Option(None, "--ert", help="Accelergy ERT YAML: use its energies exactly."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    ) -> None:
        """Evaluate a given mapping, like Timeloop's timeloop-model (analytical model)."""
        from hwmodel.mapping import load_timeloop_mapping
        from hwmodel.nest import check_mapping, evaluate_mapping
        from mascot.ui import print_json

        spec, roles = load_timeloop_inputs(files, ert)
        usage = "timeloop-model ARCH.yaml [COMPONENTS.yaml ...] PROBLEM.yaml MAPPING.yaml"
        problem = _one_file(roles, "problem", "problem", hint=usage)
        mpath = _one_file(roles, "mapping", "mapping", hint=usage)
        pb = load_problem(problem)
        mapping = load_timeloop_mapping(mpath, [lv.name for lv in spec.levels], dims=pb.dim_map(),
                                        default_keep={lv.name: lv.keep for lv in spec.levels})
        try:
            check_mapping(pb, spec, mapping)
        except ValueError as exc:
            raise MascotError(str(exc), path=mpath) from None
        res = evaluate_mapping(pb, spec, mapping)
        if not res.capacity_ok[0]:
            raise MascotError("the mapping's tiles do not fit the buffers", path=mpath,
                              hint="check the factors of the innermost levels against their sizes")
        if not res.fanout_ok[0]:
            raise MascotError("the mapping's spatial factors exceed a level's fan-out", path=mpath)
        report = result_report(pb, spec, res, mapping)
        if as_json:
            print_json(report)
        else:
            print_report(report, f"timeloop-model: {spec.name}")

    @app.command("timeloop-mapper")
    def timeloop_mapper(
        files: list[Path] = typer.Argument(..., help="ARCH.yaml [COMPONENTS.yaml ...] CONSTRAINTS.yaml... [MAPPER.yaml] PROBLEM.yaml."),
        ert: Optional[Path] = typer.Option(None, "--ert", help="Accelergy ERT YAML: use its energies exactly."),
        objective: Optional[str] = typer.Option(None, "--objective", help="delay | energy | edp (default: the mapper file's optimization-metrics, else delay)."),
        seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same mapping)."),
        effort: str = typer.Option("thorough", "--effort", help="fast (tens of ms) | thorough (~5x the search)."),
        out: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the best mapping as Timeloop mapping YAML."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    ) -> None:
        """Search the best mapping, like Timeloop's timeloop-mapper (vectorised analytical mapper)."""
        from hwmodel.mapper import EFFORTS, OBJECTIVES, Mapper, MapperConfig
        from mascot.io import atomic_write_text
        from mascot.ui import console, print_json

        spec, roles = load_timeloop_inputs(files, ert)
        problem = _one_file(roles, "problem", "problem")
        obj = objective or _objective_from_mapper(roles.get("mapper", []))
        if obj not in OBJECTIVES:
            raise MascotError(f"unknown objective {obj!r}", hint=f"choose one of {', '.join(OBJECTIVES)}")
        if effort not in EFFORTS:
            raise MascotError(f"unknown effort {effort!r}", hint=f"choose one of {', '.join(EFFORTS)}")
        pb = load_problem(problem)
        found = Mapper(spec, objective=obj, seed=seed, config=MapperConfig.preset(effort)).search(pb)
        report = result_report(pb, spec, found.result, found.mapping)
        report["objective"] = obj
        report["evaluated"] = found.evaluated
        if out is not None:
            atomic_write_text(out, found.mapping.to_timeloop_yaml())
        if as_json:
            print_json(report)
        else:
            print_report(report, f"timeloop-mapper: {spec.name} ({obj}, {found.evaluated} mappings scored)")
            if out is not None:
                console.print(f"wrote {out}")
