"""``mascot tables build|show``: layer tables from the command line.

``tables_app`` is module-level so other modules (e.g. a backend comparison) can add their own
``mascot tables ...`` sub-commands to the same group.
"""

from __future__ import annotations

from pathlib import Path

import typer

from mascot.cli_lists import split_list
from mascot.errors import MascotError
from mascot.ui import console, print_frame

tables_app = typer.Typer(help="Layer tables: the cost of every layer of every model on every SA class.",
                         no_args_is_help=True)


def split_names(text: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``: the comma lists of the ``mascot tables`` commands (empty entries dropped)."""
    return split_list(text, "list", strict=False)


@tables_app.command("build")
def build(
    models: str = typer.Option(..., "--models", "-m", help="Comma-separated zoo names and/or ONNX file paths."),
    system: str = typer.Option(None, "--system", "-s", help="System name (arch_specs/systems) or YAML path."),
    accelerators: str = typer.Option(None, "--accelerators", "-a",
                                     help="Instead of --system: comma-separated SA class names or YAML paths."),
    backend: str = typer.Option("analytical", "--backend", "-b", help="Cost backend: analytical, timeloop, surrogate[:MODEL]..."),
    objective: str = typer.Option("delay", "--objective", help="Mapper objective: delay, energy or edp."),
    timeloop_bin: Path = typer.Option(None, "--timeloop-bin",
                                      help="With --backend timeloop: folder (or file) of timeloop-mapper."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the layer-cost cache."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help="Cache folder (default $MASCOT_CACHE_DIR or ~/.cache/mascot)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for cache misses (0 = all cores)."),
    dask: str = typer.Option(None, "--dask", help="Evaluate on this Dask scheduler (tcp://host:8786)."),
    seed: int = typer.Option(0, "--seed", help="Mapper seed (same seed, same table)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file: .parquet or .csv."),
) -> None:
    """Build a layer table and print per-model latency and energy per SA class."""
    from hwmodel.tables import build_table

    if output.suffix.lower() not in (".parquet", ".csv"):
        raise MascotError(f"unsupported table format {output.suffix!r}", path=output, hint="use .parquet or .csv")
    if bool(system) == bool(accelerators):
        raise MascotError("give exactly one of --system and --accelerators", hint="e.g. --system relmas6")
    target = system if system else split_names(accelerators)
    if timeloop_bin is not None:
        if backend.partition(":")[0] != "timeloop":
            raise MascotError("--timeloop-bin only applies to --backend timeloop")
        backend = f"timeloop:{timeloop_bin}"
    cache: bool | Path = False if no_cache else (cache_dir if cache_dir else True)
    table = build_table(
        split_names(models), target, backend=backend, objective=objective, cache=cache,
        n_jobs=jobs or None, dask_address=dask, progress=True, seed=seed,
    )
    table.save(output)
    _print_summary(table)
    console.print(f"wrote {len(table):,} rows to [bold]{output}[/bold]")


@tables_app.command("show")
def show(
    path: Path = typer.Argument(..., help="A table written by `mascot tables build`."),
    model: str = typer.Option(None, "--model", "-m", help="Print this model's layers instead of the summary."),
    sa_class: str = typer.Option(None, "--sa", help="With --model: only this SA class."),
    max_rows: int = typer.Option(60, "--max-rows", help="Rows to print with --model."),
) -> None:
    """Print a layer table: per-model summary, or one model's layers."""
    from hwmodel.tables import LayerTable

    table = LayerTable.load(path)
    meta = table.metadata
    console.print(
        f"[bold]{path}[/bold]: system {meta.get('mascot.system', '?')}, backend {meta.get('mascot.backend', '?')}, "
        f"objective {meta.get('mascot.objective', '?')}, {len(table):,} rows"
    )
    if model is None:
        _print_summary(table)
        return
    df = table.for_model(model)
    if sa_class is not None:
        if sa_class not in set(df["sa_class"]):
            raise MascotError(f"SA class {sa_class!r} is not in this table", path=path,
                              hint=f"classes: {', '.join(table.sa_classes)}")
        df = df[df["sa_class"] == sa_class]
    view = df[["layer_index", "layer", "op_type", "sa_class", "macs", "cycles", "latency_s", "energy_pj",
               "dram_bytes", "bw_gbps", "utilization"]].copy()
    if sa_class is not None:
        view = view.drop(columns=["sa_class"])
    view["latency_us"] = view.pop("latency_s") * 1e6
    view["energy_uj"] = view.pop("energy_pj") * 1e-6
    print_frame(view, title=f"{model}: per-layer costs", max_rows=max_rows)


def _print_summary(table: object) -> None:
    summary = table.summary()  # type: ignore[attr-defined]
    summary["dram_mb"] = summary.pop("dram_bytes") / 1e6
    view = summary[["model", "sa_class", "layers", "latency_ms", "energy_uj", "dram_mb", "utilization"]]
    print_frame(view, title="per model and SA class (layers run serially on one SA)")


def register(app: typer.Typer) -> None:
    app.add_typer(tables_app, name="tables")
