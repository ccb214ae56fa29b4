"""``mascot specs ...``: list, show, validate, import and export accelerator / system specs.

Each command is one call of the Python API (:mod:`hwmodel.spec`, :mod:`hwmodel.timeloop_format`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mascot.errors import MascotError

specs_app = typer.Typer(
    name="specs",
    help="Accelerator (SA) and system specs: list, show, validate, Timeloop import/export.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(specs_app, name="specs")


_SHORT_DATAFLOW = {"row_stationary": "RS", "weight_stationary": "WS", "output_stationary": "OS", "input_stationary": "IS"}


def _kind_of(name_or_path: str) -> str:
    """``accelerator`` or ``system`` for a bundled name or a YAML file."""
    from hwmodel.spec import ARCH_SPECS_DIR, read_yaml

    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        data = read_yaml(p)
        if "levels" in data:
            return "accelerator"
        if "accelerators" in data:
            return "system"
        raise MascotError(
            "neither an accelerator spec (no `levels:`) nor a system spec (no `accelerators:`)",
            path=p,
            hint="see arch_specs/accelerators/*.yaml and arch_specs/systems/*.yaml for the format",
        )
    for folder, kind in (("accelerators", "accelerator"), ("systems", "system")):
        if (ARCH_SPECS_DIR / folder / f"{name_or_path}.yaml").exists():
            return kind
    from hwmodel.spec import list_specs

    known = list_specs("accelerators") + list_specs("systems")
    raise MascotError(f"unknown spec {name_or_path!r}", hint=f"give a YAML file or one of: {', '.join(known)}")


@specs_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables.")) -> None:
    """List the bundled accelerator classes and systems."""
    from hwmodel.spec import list_specs, load_accelerator, load_system
    from mascot.ui import console, print_json

    accs = []
    for name in list_specs("accelerators"):
        s = load_accelerator(name)
        accs.append(
            {
                "name": s.name,
                "flow": _SHORT_DATAFLOW.get(s.dataflow, s.dataflow),
                "PEs": s.pe_array.count,
                "MACs": s.mac_units,
                "bits": s.word_bits,
                "GHz": s.clock_ghz,
                "on-chip KiB": sum((lv.size_bits or 0) * lv.instances for lv in s.levels[:-1]) / 8192,
                "mm²": s.area_mm2,
                "static mW": s.static_power_mw,
            }
        )
    systems = []
    for name in list_specs("systems"):
        y = load_system(name)
        systems.append(
            {
                "name": y.name,
                "instances": ", ".join(f"{g.count}x {g.accelerator}" for g in y.accelerators),
                "dram_gbps": y.dram_gbps,
                "pJ/bit": y.dram_energy_pj_per_bit,
                "nop_gbps": y.nop_gbps,
            }
        )
    if as_json:
        print_json({"accelerators": accs, "systems": systems})
        return
    console.print(_rows_table(accs, "accelerators (arch_specs/accelerators)", no_wrap=("name",)))
    console.print(_rows_table(systems, "systems (arch_specs/systems)", no_wrap=("name",)))


def _compact_table(title: str) -> Any:
    """An empty rich table in the one compact style of every ``mascot specs`` table."""
    from rich import box
    from rich.table import Table

    return Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)


def _rows_table(rows: list[dict], title: str, no_wrap: tuple[str, ...] = ()) -> Any:
    """A compact rich table from dict rows; ``no_wrap`` columns are never truncated."""
    from mascot.ui import format_value

    t = _compact_table(title)
    for col in rows[0] if rows else []:
        numeric = isinstance(rows[0][col], (int, float)) and not isinstance(rows[0][col], bool)
        t.add_column(col, justify="right" if numeric else "left", no_wrap=col in no_wrap, overflow="fold")
    for r in rows:
        t.add_row(*[format_value(v) for v in r.values()])
    return t


def _levels_table(spec: Any) -> Any:
    """A compact rich table of the levels (level names never truncated)."""
    from mascot.ui import format_value

    t = _compact_table("storage levels, innermost first (energy per vector access)")
    t.add_column("level", no_wrap=True)
    t.add_column("kind", no_wrap=True)
    for col in ("KiB", "bits x blk", "inst", "keep", "bw r/w", "read pJ", "write pJ", "um²/inst"):
        t.add_column(col, justify="left" if col == "keep" else "right", overflow="fold")
    for lv in spec.levels:
        bw = "-" if lv.read_bw is None and lv.write_bw is None else f"{format_value(lv.read_bw)}/{format_value(lv.write_bw)}"
        t.add_row(
            lv.name,
            lv.kind,
            "-" if lv.size_bits is None else format_value(lv.size_bits / 8192),
            f"{lv.word_bits}x{lv.block_size}" + (f"x{lv.cluster_size}" if lv.cluster_size > 1 else ""),
            format_value(lv.instances),
            "".join(x[0] for x in lv.keep) or "-",
            bw,
            format_value(lv.read_energy_pj),
            format_value(lv.write_energy_pj),
            format_value(lv.area_um2),
        )
    return t


def _show_accelerator(ref: str, as_json: bool) -> None:
    from hwmodel.spec import load_accelerator
    from mascot.ui import console, print_json

    raw = load_accelerator(ref, resolve=False)
    spec = raw.resolved()
    if as_json:
        print_json(spec.model_dump(mode="json"))
        return
    defaulted = []
    if raw.mac_energy_pj is None:
        defaulted.append("MAC energy")
    if any(lv.read_energy_pj is None or lv.write_energy_pj is None for lv in raw.levels):
        defaulted.append("level energies")
    if raw.area_mm2 is None:
        defaulted.append("area")
    if raw.static_power_mw is None:
        defaulted.append("static power")
    console.print(f"[bold]{spec.name}[/bold] ({spec.dataflow}, {spec.technology}, {spec.clock_ghz:g} GHz): {spec.description}")
    console.print(
        f"PE array {spec.pe_array.x}x{spec.pe_array.y} x {spec.macs_per_pe} MAC/PE = {spec.mac_units} MACs of "
        f"{spec.word_bits} bits, {spec.mac_energy_pj:.4g} pJ/MAC ({spec.mac_name}); area {spec.area_mm2:.4g} mm², "
        f"static power {spec.static_power_mw:.4g} mW; hash {spec.content_hash}",
        highlight=False,
    )
    if defaulted:
        console.print(f"[dim]from the 45 nm technology tables: {', '.join(defaulted)}[/dim]")
    console.print(_levels_table(spec))
    if spec.constraints:
        rows = [
            {
                "target": c.target,
                "type": c.type,
                "scope": c.scope,
                "factors": c.factors or "",
                "permutation": c.permutation or "",
                "split": "" if c.split is None else str(c.split),
            }
            for c in spec.constraints
        ]
        console.print(_rows_table(rows, "mapping constraints", no_wrap=("target",)))


def _show_system(ref: str, as_json: bool) -> None:
    from hwmodel.spec import load_system
    from mascot.ui import console, print_json

    system = load_system(ref)
    inst = system.instances()
    if as_json:
        print_json(
            {
                **system.model_dump(mode="json"),
                "content_hash": system.content_hash,
                "instances": [{"name": i.name, "class": i.class_name, "spec_hash": i.spec.content_hash} for i in inst],
            }
        )
        return
    console.print(f"[bold]{system.name}[/bold]: {system.description}", highlight=False)
    console.print(
        f"DRAM {system.dram_gbps:g} GB/s at {system.dram_energy_pj_per_bit:g} pJ/bit; network-on-package "
        f"{system.nop_gbps if system.nop_gbps is not None else '-'} GB/s at "
        f"{system.nop_energy_pj_per_bit if system.nop_energy_pj_per_bit is not None else '-'} pJ/bit; hash {system.content_hash}",
        highlight=False,
    )
    rows = [
        {
            "instance": i.name,
            "class": i.class_name,
            "flow": _SHORT_DATAFLOW.get(i.spec.dataflow, i.spec.dataflow),
            "MACs": i.spec.mac_units,
            "GHz": i.spec.clock_ghz,
            "DRAM B/cyc": system.dram_bytes_per_cycle(i.spec.clock_ghz),
            "mm²": i.spec.area_mm2,
            "static mW": i.spec.static_power_mw,
        }
        for i in inst
    ]
    console.print(_rows_table(rows, "SA instances", no_wrap=("instance", "class")))
    if system.notes:
        console.print(f"[dim]{system.notes}[/dim]", highlight=False)


@specs_app.command("show")
def show_cmd(
    spec: str = typer.Argument(..., help="Bundled name (eyeriss_small, relmas6) or a YAML file."),
    as_json: bool = typer.Option(False, "--json", help="Print the resolved spec as JSON."),
) -> None:
    """Show an SA (levels: sizes, bandwidths, keeps, energies, area, power) or a system."""
    if _kind_of(spec) == "accelerator":
        _show_accelerator(spec, as_json)
    else:
        _show_system(spec, as_json)


@specs_app.command("validate")
def validate_cmd(files: list[str] = typer.Argument(..., help="Accelerator or system YAML files (or bundled names).")) -> None:
    """Validate spec files; the first error names the file and the field (exit status 2)."""
    from hwmodel.spec import load_accelerator, load_system
    from mascot.ui import console

    for f in files:
        if _kind_of(f) == "accelerator":
            s = load_accelerator(f)
            console.print(
                f"[green]ok[/green] {f}: accelerator {s.name}, {len(s.levels)} levels, {s.mac_units} MACs, "
                f"{len(s.constraints)} constraints",
                highlight=False,
            )
        else:
            y = load_system(f)
            console.print(f"[green]ok[/green] {f}: system {y.name}, {y.n_instances} SA instances", highlight=False)


def _sort_timeloop_inputs(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """Split extra Timeloop files into compound-component and constraint files by content."""
    from hwmodel.spec import read_yaml

    components, constraints = [], []
    for f in files:
        data = read_yaml(f)
        if "compound_components" in data:
            components.append(f)
        elif any(k in data for k in ("architecture_constraints", "mapspace_constraints", "constraints", "mapspace")):
            constraints.append(f)
        elif "mapper" in data:
            continue  # mapper settings: not part of the hardware
        else:
            raise MascotError(
                "neither a compound-component file nor a constraint file",
                path=f,
                hint="expected compound_components:, architecture_constraints: or mapspace_constraints:",
            )
    return components, constraints


@specs_app.command("import-timeloop")
def import_timeloop_cmd(
    arch: Path = typer.Argument(..., help="Timeloop v0.3 architecture YAML."),
    files: list[Path] = typer.Argument(None, help="Compound-component and constraint YAML files (any order)."),
    output: Path = typer.Option(..., "--output", "-o", help="Native spec YAML to write."),
    ert: Path = typer.Option(None, "--ert", help="Accelergy ERT: use its energies exactly (max over variants)."),
    art: Path = typer.Option(None, "--art", help="Accelergy ART: use its per-component areas."),
    name: str = typer.Option(None, "--name", help="SA name (default: the architecture file's stem)."),
    dataflow: str = typer.Option(
        None, "--dataflow", help="row_stationary, weight_stationary, output_stationary, ... (default: custom)"
    ),
    clock_ghz: float = typer.Option(None, "--clock-ghz", help="Clock in GHz (Timeloop designs have none: 1 assumed)."),
) -> None:
    """Convert a Timeloop design to a native spec (energies from --ert, else the technology table)."""
    from hwmodel.timeloop_format import import_timeloop, spec_to_yaml
    from mascot.io import atomic_write_text
    from mascot.ui import console

    components, constraints = _sort_timeloop_inputs(list(files or []))
    spec = import_timeloop(
        arch, components, constraints, ert=ert, art=art, name=name, dataflow=dataflow, clock_ghz=clock_ghz
    )
    sources = [str(arch), *map(str, components), *map(str, constraints)] + ([f"ERT {ert}"] if ert else [])
    header = "imported by `mascot specs import-timeloop` from:\n" + "\n".join(f"  {s}" for s in sources)
    atomic_write_text(output, spec_to_yaml(spec, header))
    console.print(
        f"wrote [bold]{output}[/bold]: {spec.name}, {len(spec.levels)} levels, {spec.mac_units} MACs, "
        f"{len(spec.constraints)} constraints; energies from {'the ERT' if ert else 'the 45 nm technology table'}",
        highlight=False,
    )


@specs_app.command("export-timeloop")
def export_timeloop_cmd(
    spec: str = typer.Argument(..., help="Bundled SA name or native YAML file."),
    out_dir: Path = typer.Option(..., "--output-dir", "-o", help="Folder for NAME.arch/.constraints/.ERT/.ART.yaml."),
) -> None:
    """Write an SA as Timeloop v0.3 architecture + constraints + Accelergy ERT/ART YAML."""
    from hwmodel.spec import load_accelerator
    from hwmodel.timeloop_format import write_timeloop
    from mascot.ui import console

    files = write_timeloop(load_accelerator(spec), out_dir)
    for kind, p in files.items():
        console.print(f"wrote {kind:12s} [bold]{p}[/bold]", highlight=False)


@specs_app.command("tech-table")
def tech_table_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables.")) -> None:
    """The 45 nm technology tables against the Accelergy reference values they were fitted to."""
    from hwmodel.area import area_fit_report
    from hwmodel.energy import fit_report
    from mascot.ui import console, print_json

    energy_rows, area_rows = fit_report(), area_fit_report()
    if as_json:
        print_json({"energy": energy_rows, "area": area_rows})
        return
    console.print(
        _rows_table(
            [
                {
                    "component": f"{r['design'].split('_')[0]}.{r['component']}",
                    "kind": r["kind"],
                    "depth x width": f"{r['depth']}x{r['width_bits']}",
                    "read ref pJ": r["read_ref_pj"],
                    "read table pJ": r["read_model_pj"],
                    "read err %": round(100 * float(r["read_error"]), 3),
                    "write err %": round(100 * float(r["write_error"]), 3),
                }
                for r in energy_rows
            ],
            "energy per access: 45 nm table vs Accelergy ERT (max over argument variants)",
            no_wrap=("component",),
        )
    )
    console.print(
        _rows_table(
            [
                {
                    "component": f"{r['design'].split('_')[0]}.{r['component']}",
                    "kind": r["kind"],
                    "ref um²": r["area_ref_um2"],
                    "table um²": r["area_model_um2"],
                    "err %": round(100 * float(r["error"]), 3),
                }
                for r in area_rows
            ],
            "area per instance: 45 nm table vs Accelergy ART",
            no_wrap=("component",),
        )
    )
