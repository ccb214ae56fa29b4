"""``mascot tables compare``: the same layers costed by several backends, side by side.

Attaches to the ``tables`` group of :mod:`hwmodel.cli_tables` (its module-level ``tables_app``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from mascot.errors import MascotError
from mascot.ui import console, print_frame


def compare(
    backends: str = typer.Option("analytical,zigzag", "--backends", "-b",
                                 help="Comma-separated backends; the first is the reference (e.g. analytical,zigzag,timeloop)."),
    models: str = typer.Option(..., "--models", "-m", help="Comma-separated zoo names and/or ONNX file paths."),
    accelerator: str = typer.Option(..., "--accelerator", "-a", help="Comma-separated SA class names or YAML paths."),
    objective: str = typer.Option("delay", "--objective", help="Mapper objective for every backend: delay, energy or edp."),
    timeloop_bin: Path = typer.Option(None, "--timeloop-bin", help="Folder (or file) of timeloop-mapper for the timeloop backend."),
    seed: int = typer.Option(0, "--seed", help="Mapper seed (same seed, same numbers)."),
    cache: bool = typer.Option(False, "--cache/--no-cache",
                               help="Reuse cached layer costs (then wall times no longer measure the backends)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Processes per backend (1 keeps wall times comparable)."),
    max_rows: int = typer.Option(40, "--max-rows", help="Layers to print."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder (CSV, JSON, parity.png, per-backend tables)."),
) -> None:
    """Per-layer cycles, energy and DRAM traffic of several backends, with ratios, a parity plot and wall times."""
    from hwmodel.cli_tables import split_names
    from hwmodel.compare import compare_backends

    names = split_names(backends)
    if len(set(names)) != len(names):
        raise MascotError(f"--backends names a backend twice: {backends!r}")
    chosen: dict[str, str] = {n: n for n in names}
    if timeloop_bin is not None:
        if "timeloop" not in chosen:
            raise MascotError("--timeloop-bin only applies when --backends names timeloop")
        chosen["timeloop"] = f"timeloop:{timeloop_bin}"
    cmp = compare_backends(
        split_names(models),
        split_names(accelerator),
        chosen, objective=objective, seed=seed, cache=cache, n_jobs=jobs or None, progress=True,
    )
    files = cmp.save(output)
    _print(cmp, max_rows)
    console.print(f"wrote {', '.join(str(p) for p in files.values() if p.parent == output)} "
                  f"and {len(cmp.runs)} tables under [bold]{output / 'tables'}[/bold]")


UNITS = {"cycles": ("kcycles", 1e-3), "energy_pj": ("uJ", 1e-6), "dram_bytes": ("DRAM kB", 1e-3)}


def _short(name: str) -> str:
    """``/features/stage1/unit1/conv/Conv`` → ``stage1/unit1/conv``: tables stay narrow."""
    parts = [p for p in name.strip("/").split("/") if p]
    return "/".join(parts[-4:-1]) if len(parts) >= 3 else name


def _print(cmp: object, max_rows: int) -> None:
    """One table per metric (reference, each backend and its ratio), then the totals."""
    frame = cmp.frame  # type: ignore[attr-defined]
    ref = cmp.reference  # type: ignore[attr-defined]
    others = cmp.backends[1:]  # type: ignore[attr-defined]
    mac = frame[frame["kind"] != "vector"]
    several = mac["model"].nunique() > 1 or mac["sa_class"].nunique() > 1
    for metric, (unit, scale) in UNITS.items():
        view = mac[["model", "sa_class"]].copy() if several else mac[[]].copy()
        view["layer"] = mac["layer"].map(_short)
        view[f"{unit} {ref}"] = mac[f"{metric}@{ref}"] * scale
        for b in others:
            view[f"{unit} {b}"] = mac[f"{metric}@{b}"] * scale
            view[f"x {b}"] = mac[f"{metric}_ratio@{b}"].round(3)
        print_frame(view, title=f"{unit} per MAC layer (x = ratio to {ref})", max_rows=max_rows)
    s = cmp.summary  # type: ignore[attr-defined]
    out = s[["backend", "mac_layers"]].copy()
    out["wall s"] = s["wall_time_s"].round(2)
    out["Mcycles"] = s["cycles_total"] / 1e6
    out["x cycles"] = s["cycles_total_ratio"].round(3)
    out["energy uJ"] = s["energy_pj_total"] * 1e-6
    out["x energy"] = s["energy_pj_total_ratio"].round(3)
    out["DRAM MB"] = s["dram_bytes_total"] / 1e6
    out["x DRAM"] = s["dram_bytes_total_ratio"].round(3)
    print_frame(out, title=f"totals over MAC layers (x = ratio to {ref}) and wall time per backend")


_REGISTERED: list[bool] = []


def register(app: typer.Typer) -> None:
    """Add ``compare`` to the ``mascot tables`` group (once, whatever ``app`` is)."""
    from hwmodel.cli_tables import tables_app

    if not _REGISTERED:
        tables_app.command("compare")(compare)
        _REGISTERED.append(True)
