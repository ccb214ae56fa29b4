"""Cross-backend comparison: the same layers on the same SA, costed by several backends side by side.

Why: a cost model is only believable next to another one. ``compare_backends`` builds one layer
table per backend (``analytical``, ``zigzag``, ``timeloop``, a surrogate...) for the same models and
SA classes, timing each build, and joins them per layer: cycles, energy and DRAM traffic of every
backend, and each one's ratio to the *reference* (the first backend named). Vector layers
(pooling, element-wise...) are costed by the analytical model inside every external backend, so
the summary statistics are over MAC layers only (``kind != "vector"``); the per-layer frame keeps
every layer.

Outputs (:meth:`Comparison.save`): ``comparison.csv`` (per layer), ``summary.csv`` (per backend:
totals, ratio of totals, geometric mean and spread of per-layer ratios, wall time),
``comparison.json`` (the summary and the run's settings), ``parity.png`` (log-log parity plots of
cycles, energy and DRAM bytes against the reference) and one ``tables/<backend>.parquet`` per backend.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from mascot.io import atomic_write_json, safe_filename, write_frame
from mascot.plotting import pyplot, save_png

from hwmodel.spec import AcceleratorSpec
from hwmodel.tables import LayerTable, build_table

METRICS: tuple[str, ...] = ("cycles", "energy_pj", "dram_bytes")
KEYS: tuple[str, ...] = ("model", "layer_index", "layer", "op_type", "kind", "macs", "sa_class")
# backends mascot ships, used when the entry point is not (yet) registered in the installed metadata
KNOWN_BACKENDS: dict[str, str] = {
    "analytical": "hwmodel.backends.analytical:AnalyticalBackend",
    "zigzag": "hwmodel.backends.zigzag:ZigZagBackend",
    "timeloop": "hwmodel.backends.timeloop:TimeloopBackend",
}


@dataclass(frozen=True)
class BackendRun:
    """One backend's table and how long building it took (no cache: every layer evaluated)."""

    backend: str
    table: LayerTable
    wall_time_s: float


@dataclass(frozen=True, eq=False)
class Comparison:
    """The joined per-layer frame, the per-backend summary and the runs behind them."""

    frame: pd.DataFrame
    summary: pd.DataFrame
    runs: tuple[BackendRun, ...]
    reference: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def backends(self) -> list[str]:
        return [r.backend for r in self.runs]

    def save(self, folder: str | Path, plot: bool = True) -> dict[str, Path]:
        """Write the CSVs, the JSON summary, each backend's table and (``plot``) the parity PNG."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise MascotError("the comparison output must be a folder", path=folder, hint="e.g. -o cmp/")
        files = {
            "comparison": write_frame(self.frame, folder / "comparison.csv"),
            "summary": write_frame(self.summary, folder / "summary.csv"),
        }
        for run in self.runs:
            files[f"table_{run.backend}"] = run.table.save(folder / "tables" / f"{safe_filename(run.backend)}.parquet")
        files["json"] = atomic_write_json(folder / "comparison.json", {
            "reference": self.reference,
            "backends": self.backends,
            "wall_time_s": {r.backend: r.wall_time_s for r in self.runs},
            "settings": self.settings,
            "summary": self.summary.to_dict(orient="records"),
        })
        if plot:
            files["parity"] = parity_plot(self, folder / "parity.png")
        return files


def resolve_backend(name: str, objective: str, seed: int) -> Any:
    """``name[:arg]`` through the entry-point registry, or a shipped backend not yet registered."""
    from hwmodel.cost import available_backends

    base, _, argument = name.partition(":")
    if base in available_backends() or base not in KNOWN_BACKENDS:
        from hwmodel.tables import make_backend

        make_backend(name, objective=objective, seed=seed)  # fails now (unknown, not installed), not mid-run
        return name  # build_table instantiates it again, with the options that key its cache
    module_name, _, cls_name = KNOWN_BACKENDS[base].partition(":")
    import importlib

    factory = getattr(importlib.import_module(module_name), cls_name)
    if base == "timeloop":
        return factory(argument or None, objective=objective, seed=seed)
    return factory(objective=objective, seed=seed)


def compare_backends(
    models: Sequence[Any] | Any,
    accelerators: Sequence[AcceleratorSpec | str] | str,
    backends: Sequence[str] | Mapping[str, Any],
    objective: str = "delay",
    seed: int = 0,
    cache: bool | str | Path = False,
    n_jobs: int | None = 1,
    progress: bool = True,
) -> Comparison:
    """Build one table per backend (timed) and join them per layer; the first backend is the reference.

    ``backends`` is a list of ``name[:arg]`` strings, or a mapping from a label to a name or a
    backend instance (to compare two settings of one backend). ``cache`` defaults to False so that the wall times measure real evaluations. ``n_jobs=1``
    keeps each backend in this process, which makes the times comparable.
    """
    if isinstance(backends, Mapping):
        chosen = {str(label): b for label, b in backends.items()}
    else:
        chosen = {b.strip(): b.strip() for b in backends if b.strip()}
        if len(chosen) != len([b for b in backends if b.strip()]):
            raise MascotError(f"a backend is named twice in {list(backends)}")
    names = list(chosen)
    if len(names) < 2:
        raise MascotError(f"a comparison needs at least two backends, got {names}",
                          hint="e.g. --backends analytical,zigzag")
    if isinstance(accelerators, str):
        accelerators = [accelerators]
    runs: list[BackendRun] = []
    # resolve every backend first: a missing Timeloop must fail before ZigZag has run for minutes
    resolved = {name: resolve_backend(spec, objective, seed) if isinstance(spec, str) else spec
                for name, spec in chosen.items()}
    for name, backend in resolved.items():
        start = time.perf_counter()
        table = build_table(models, list(accelerators), backend=backend, objective=objective, cache=cache,
                            n_jobs=n_jobs, progress=progress, seed=seed)
        runs.append(BackendRun(name, table, time.perf_counter() - start))
    frame = join_tables(runs)
    settings = {"objective": objective, "seed": seed, "models": sorted(set(frame["model"])),
                "sa_classes": sorted(set(frame["sa_class"]))}
    return Comparison(frame=frame, summary=summarise(frame, runs), runs=tuple(runs), reference=names[0],
                      settings=settings)


def join_tables(runs: Sequence[BackendRun]) -> pd.DataFrame:
    """Per layer and SA class: each backend's metrics (``cycles@zigzag``...) and ratios to the first."""
    ref = runs[0].backend
    frame: pd.DataFrame | None = None
    for run in runs:
        df = run.table.frame
        part = df[list(KEYS)].copy()
        for m in METRICS:
            part[f"{m}@{run.backend}"] = df[m].to_numpy()
        part[f"source@{run.backend}"] = df["backend"].to_numpy()
        frame = part if frame is None else frame.merge(part, on=list(KEYS), how="inner", validate="one_to_one")
    assert frame is not None
    for run in runs[1:]:
        for m in METRICS:
            num = frame[f"{m}@{run.backend}"].astype(float)
            den = frame[f"{m}@{ref}"].astype(float)
            frame[f"{m}_ratio@{run.backend}"] = np.where(den > 0, num / den.where(den > 0, 1.0), np.nan)
    return frame.reset_index(drop=True)


def summarise(frame: pd.DataFrame, runs: Sequence[BackendRun]) -> pd.DataFrame:
    """Per backend over MAC layers: totals, total ratio, geometric-mean ratio and its min/max, wall time."""
    ref = runs[0].backend
    mac = frame[frame["kind"] != "vector"]
    rows = []
    for run in runs:
        row: dict[str, Any] = {"backend": run.backend, "mac_layers": len(mac), "wall_time_s": run.wall_time_s}
        for m in METRICS:
            total = float(mac[f"{m}@{run.backend}"].sum())
            ref_total = float(mac[f"{m}@{ref}"].sum())
            row[f"{m}_total"] = total
            row[f"{m}_total_ratio"] = total / ref_total if ref_total > 0 else math.nan
            if run.backend == ref:
                row[f"{m}_gmean_ratio"] = row[f"{m}_min_ratio"] = row[f"{m}_max_ratio"] = 1.0
            else:
                r = mac[f"{m}_ratio@{run.backend}"].to_numpy(dtype=float)
                r = r[np.isfinite(r) & (r > 0)]
                row[f"{m}_gmean_ratio"] = float(np.exp(np.log(r).mean())) if r.size else math.nan
                row[f"{m}_min_ratio"] = float(r.min()) if r.size else math.nan
                row[f"{m}_max_ratio"] = float(r.max()) if r.size else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def parity_plot(cmp: Comparison, path: str | Path) -> Path:
    """Log-log parity plots (cycles, energy, DRAM bytes) of every backend against the reference."""
    from matplotlib.ticker import NullFormatter

    plt = pyplot()

    mac = cmp.frame[cmp.frame["kind"] != "vector"]
    titles = {"cycles": "cycles", "energy_pj": "energy (pJ)", "dram_bytes": "DRAM traffic (bytes)"}
    fig, axes = plt.subplots(1, len(METRICS), figsize=(5 * len(METRICS), 4.6))
    markers = "osD^v<>p*"
    for ax, m in zip(axes, METRICS):
        x = mac[f"{m}@{cmp.reference}"].to_numpy(dtype=float)
        lo, hi = math.inf, 0.0
        for i, b in enumerate(cmp.backends[1:]):
            y = mac[f"{m}@{b}"].to_numpy(dtype=float)
            ok = (x > 0) & (y > 0)
            ax.scatter(x[ok], y[ok], marker=markers[i % len(markers)], label=b, alpha=0.8)
            if ok.any():
                lo, hi = min(lo, x[ok].min(), y[ok].min()), max(hi, x[ok].max(), y[ok].max())
        if hi > 0:
            ax.plot([lo / 1.5, hi * 1.5], [lo / 1.5, hi * 1.5], "k--", lw=0.8, label="parity")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # matplotlib labels minor ticks on short decades
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"{cmp.reference}")
        ax.set_ylabel("other backend")
        ax.set_title(titles[m])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"per-layer parity against {cmp.reference} ({', '.join(cmp.settings.get('models', []))} on "
                 f"{', '.join(cmp.settings.get('sa_classes', []))}; MAC layers)")
    return save_png(fig, path, dpi=120)
