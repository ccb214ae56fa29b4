"""``mascot dse``: run, resume, show and export co-design studies (one call of the Python API each)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import typer

from mascot.cli_lists import split_list, split_numbers

dse_app = typer.Typer(help="Co-design (DSE): Optuna search over the SA mix, their sizes, DRAM bandwidth and the schedule.",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(dse_app, name="dse")


def _floats(text: str, option: str) -> tuple[float, ...]:
    return tuple(split_numbers(text, option, float, "0.5,1,2"))


def _ints(text: str, option: str) -> tuple[int, ...]:
    return tuple(split_numbers(text, option, int, "8,16"))


def _words(text: str) -> tuple[str, ...]:
    return tuple(split_list(text, "list", strict=False))


def _quiet() -> None:
    """Optuna's experimental/deprecation notices about the heartbeat API say nothing to a user."""
    warnings.filterwarnings("ignore", module="optuna")
    try:
        from optuna.exceptions import ExperimentalWarning

        warnings.filterwarnings("ignore", category=ExperimentalWarning)
    except ImportError:  # pragma: no cover
        pass


@dse_app.command("run")
def run_cmd(
    study: str = typer.Option(..., "--study", help="Study name (its folder is ROOT/NAME)."),
    area_budget_mm2: float = typer.Option(..., "--area-budget-mm2", help="Total area budget (mm², SAs + DRAM PHY)."),
    trials: int = typer.Option(200, "--trials", help="Target number of FINISHED trials (a rerun adds the remainder)."),
    workload: str = typer.Option("mixed", "--workload", help="Workload set: light, heavy or mixed."),
    qos: str = typer.Option("medium", "--qos", help="QoS level: low, medium, high or mixed."),
    power_budget_w: Optional[float] = typer.Option(None, "--power-budget-w", help="Optional peak-power budget (W)."),
    objectives: str = typer.Option("sla,energy,area", "--objectives",
                                   help="Comma list of sla, energy, area; one name = single-objective (TPE)."),
    min_sla: Optional[float] = typer.Option(None, "--min-sla", help="Single-objective: constraint SLA ≥ this."),
    backend: str = typer.Option("auto", "--backend", help="Cost backend: auto (surrogate if available, else analytical), analytical, surrogate..."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (default: sqlite in the study folder)."),
    workers: int = typer.Option(1, "--workers", help="Parallel worker processes on the storage."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Dask scheduler address: run the workers there."),
    root: Path = typer.Option(Path("dse_studies"), "--root", help="Folder holding the study folders."),
    classes: str = typer.Option("eyeriss_small,eyeriss_large,simba_small,simba_large", "--classes", help="SA classes to mix."),
    max_count: int = typer.Option(4, "--max-count", help="Instances per class: 0..N."),
    pe_scales: str = typer.Option("0.5,1,2", "--pe-scales", help="PE-array scales to try."),
    glb_scales: str = typer.Option("0.5,1,2", "--glb-scales", help="Global-buffer scales to try."),
    pebuf_scales: str = typer.Option("0.5,1", "--pebuf-scales", help="Per-PE buffer scales to try."),
    dram_gbps: str = typer.Option("8,16,32,64", "--dram-gbps", help="DRAM bandwidths (GB/s) to try."),
    policies: str = typer.Option("fcfs-h,herald,magma", "--policies", help="Policies: fcfs-h, prema-h, herald, magma, relmas, prema-h-late, prema-h-reserve."),
    relmas_checkpoint: Optional[Path] = typer.Option(None, "--relmas-checkpoint", help="RELMAS policy file (for policy relmas)."),
    period_scales: str = typer.Option("0.5,1,2", "--period-scales", help="Scheduling period Ts scales (× the scenario's)."),
    magma_population: str = typer.Option("8,16", "--magma-population", help="MAGMA population sizes to try."),
    magma_generations: str = typer.Option("2,4", "--magma-generations", help="MAGMA generations to try."),
    trace_seeds: int = typer.Option(1, "--trace-seeds", help="Traces per trial (seeds 0..N-1); objectives are means."),
    duration_s: Optional[float] = typer.Option(None, "--duration-s", help="Trace duration (default: the scenario's)."),
    reference_system: str = typer.Option("relmas6", "--reference-system",
                                         help="System whose isolated latencies set every trial's deadlines."),
    seed: int = typer.Option(0, "--seed", help="Sampler seed."),
    heartbeat_s: int = typer.Option(10, "--heartbeat-s", help="Trial heartbeat; a killed trial is retried after 3 beats."),
) -> None:
    """Run (or resume) a study until it holds --trials finished trials."""
    _quiet()
    from dse.objective import StudySettings, resolve_backend
    from dse.space import SpaceConfig
    from dse.study import run_study, study_ref
    from mascot.ui import console

    space = SpaceConfig(
        classes=_words(classes), max_count=max_count, pe_scales=_floats(pe_scales, "--pe-scales"),
        glb_scales=_floats(glb_scales, "--glb-scales"), pebuf_scales=_floats(pebuf_scales, "--pebuf-scales"),
        dram_gbps=_floats(dram_gbps, "--dram-gbps"), policies=_words(policies),
        relmas_checkpoint=str(relmas_checkpoint.resolve()) if relmas_checkpoint else None,
        period_scales=_floats(period_scales, "--period-scales"),
        magma_populations=_ints(magma_population, "--magma-population"),
        magma_generations=_ints(magma_generations, "--magma-generations"),
    )
    ref = study_ref(study, storage, root)
    settings = StudySettings(
        area_budget_mm2=area_budget_mm2, workload=workload, qos=qos, backend=resolve_backend(backend),
        objectives=_words(objectives), power_budget_w=power_budget_w, min_sla=min_sla,
        trace_seeds=tuple(range(max(1, trace_seeds))), duration_s=duration_s, seed=seed, space=space,
        reference_system=reference_system,
    )
    report = run_study(ref, settings, trials, workers=workers, dask_address=dask, heartbeat_s=heartbeat_s)
    console.print(
        f"study [bold]{report.study}[/]: {report.finished}/{report.trials_target} finished "
        f"({report.complete} complete, {report.pruned} pruned, {report.failed} failed) in {report.wall_time_s:.1f} s; "
        f"backend {report.backend}; storage {report.storage_url}"
    )
    _show(ref, max_rows=15, plots=True)


def _show(ref: object, max_rows: int | None, plots: bool) -> None:
    from dse.export import pareto_frame, trials_frame
    from dse.plots import parallel_coordinates, pareto_scatter
    from dse.study import load_study
    from mascot.io import write_frame
    from mascot.ui import console, print_frame

    study, settings = load_study(ref)  # type: ignore[arg-type]
    trials = trials_frame(study, settings)
    front = pareto_frame(study, settings)
    folder = ref.folder  # type: ignore[attr-defined]
    folder.mkdir(parents=True, exist_ok=True)
    if not trials.empty:
        write_frame(trials, folder / "trials.csv")
        write_frame(front, folder / "pareto.csv")
    cols = [c for c in ("trial", "sla_satisfaction", "energy_per_inference_mj", "area_mm2", "peak_power_w",
                        "param_policy", "param_dram_gbps", "design", "baseline") if c in front.columns]
    if front.empty:
        console.print("no finished trial yet")
    else:
        print_frame(front[cols], title=f"Pareto front of {study.study_name} ({settings.workload}/{settings.qos}, "
                                       f"backend {settings.backend})", max_rows=max_rows)
    from dse.export import compare_with_baseline

    versus = compare_with_baseline(study, settings)
    if not versus.empty:
        print_frame(versus, title="relmas6 (enqueued as the first trial) vs the best designs at equal or lower area")
        write_frame(versus, folder / "vs_relmas6.csv")
    if plots and not trials.empty:
        a = pareto_scatter(trials, folder / "pareto_scatter.png", title=study.study_name)
        b = parallel_coordinates(trials, folder / "parallel_coordinates.png", title=study.study_name)
        console.print(f"wrote {folder / 'trials.csv'}, {folder / 'pareto.csv'}, {a}, {b}")


@dse_app.command("show")
def show_cmd(
    study: str = typer.Argument(..., help="Study name."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (default: sqlite in the study folder)."),
    root: Path = typer.Option(Path("dse_studies"), "--root", help="Folder holding the study folders."),
) -> None:
    """Pareto-front table, trials.csv / pareto.csv, Pareto scatter and parallel-coordinate PNGs."""
    _quiet()
    from dse.study import study_ref

    _show(study_ref(study, storage, root), max_rows=None, plots=True)


@dse_app.command("export")
def export_cmd(
    study: str = typer.Argument(..., help="Study name."),
    trial: int = typer.Option(..., "--trial", help="Trial number (see `mascot dse show`)."),
    output: Path = typer.Option(..., "-o", "--output", help="System YAML to write (SA variants go beside it)."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL."),
    root: Path = typer.Option(Path("dse_studies"), "--root", help="Folder holding the study folders."),
) -> None:
    """Write a trial's system as a spec every other command accepts."""
    _quiet()
    from dse.export import export_system
    from dse.study import load_study, study_ref
    from mascot.ui import console

    s, settings = load_study(study_ref(study, storage, root))
    path = export_system(s, settings, trial, output)
    console.print(f"wrote {path} (use it as --system {path})")
