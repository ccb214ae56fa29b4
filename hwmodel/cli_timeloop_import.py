"""``mascot timeloop-import RUN_DIR...``: existing Timeloop results as a mascot layer table."""

from __future__ import annotations

from pathlib import Path

import typer

from mascot.ui import console, print_frame, print_json


def timeloop_import(
    run_dirs: list[Path] = typer.Argument(..., help="Timeloop output folders (timeloop-mapper.stats.txt + .map.yaml)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write a layer table (.parquet or .csv)."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON instead of a table."),
    model: str = typer.Option("timeloop", "--model", help="Model name for the rows."),
    sa_class: str = typer.Option(None, "--sa-class", help="SA class for every row (default: each folder's parent name)."),
    clock_ghz: float = typer.Option(1.0, "--clock-ghz", help="Clock for latency_s (Timeloop reports at 1 GHz)."),
) -> None:
    """Read Timeloop output folders into LayerCost rows, each naming the folder it came from."""
    from hwmodel.timeloop_output import runs_to_table

    table = runs_to_table(run_dirs, model=model, sa_class=sa_class, clock_ghz=clock_ghz)
    if output is not None:
        table.save(output)
    if as_json:
        rows = table.frame.drop(columns=["preds"]).to_dict(orient="records")
        print_json(rows)
        return
    view = table.frame[["run_dir", "sa_class", "macs", "cycles", "energy_pj", "dram_bytes", "utilization"]].copy()
    view["energy_uj"] = view.pop("energy_pj") * 1e-6
    print_frame(view, title="Timeloop results")
    for run_dir, mapping in zip(table.frame["run_dir"], table.frame["mapping"]):
        console.print(f"[dim]{run_dir}[/dim]: {mapping}", soft_wrap=True, highlight=False)
    if output is not None:
        console.print(f"wrote {len(table)} rows to [bold]{output}[/bold]")


def register(app: typer.Typer) -> None:
    app.command("timeloop-import")(timeloop_import)
