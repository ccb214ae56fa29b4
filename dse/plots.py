"""PNG plots of a study: the Pareto scatter and a parallel-coordinate view of the finished trials.

Why matplotlib by hand rather than ``optuna.visualization``: those need plotly (not a dependency)
and an interactive backend; these two files must appear on a headless CI machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mascot.plotting import pyplot, save_png

PARALLEL_AXES = ("sla_satisfaction", "energy_per_inference_mj", "area_mm2", "n_sa", "param_dram_gbps", "param_period_scale")


def pareto_scatter(trials: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """SLA satisfaction vs energy per inference, coloured by area; front and relmas6 marked."""
    plt = pyplot()
    done = trials[trials["state"] == "COMPLETE"]
    fig, ax = plt.subplots(figsize=(7, 5))
    if {"sla_satisfaction", "energy_per_inference_mj"} <= set(done.columns) and len(done):
        area = done["area_mm2"] if "area_mm2" in done.columns else pd.Series(np.zeros(len(done)), index=done.index)
        sc = ax.scatter(done["energy_per_inference_mj"], done["sla_satisfaction"], c=area, cmap="viridis", s=18, alpha=0.6,
                        label="trials")
        fig.colorbar(sc, ax=ax, label="area (mm²)")
        front = done[done["pareto"]].sort_values("energy_per_inference_mj")
        ax.scatter(front["energy_per_inference_mj"], front["sla_satisfaction"], facecolors="none", edgecolors="red", s=60,
                   label="Pareto front")
        if "baseline" in done.columns:
            base = done[done["baseline"].astype(str) == "relmas6"]
            ax.scatter(base["energy_per_inference_mj"], base["sla_satisfaction"], marker="*", c="black", s=160,
                       label="relmas6")
        ax.set_xscale("log")
        ax.legend(loc="lower right")
    ax.set_xlabel("energy per inference (mJ)")
    ax.set_ylabel("SLA satisfaction")
    ax.set_title(title or "DSE trials")
    ax.grid(True, alpha=0.3)
    return save_png(fig, path)


def parallel_coordinates(trials: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Each finished trial as a line across objectives and key knobs (axes min–max normalised)."""
    plt = pyplot()
    done = trials[trials["state"] == "COMPLETE"]
    axes = [c for c in PARALLEL_AXES if c in done.columns]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if len(done) and axes:
        data = done[axes].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        lo, hi = np.nanmin(data, axis=0), np.nanmax(data, axis=0)
        norm = (data - lo) / np.where(hi > lo, hi - lo, 1.0)
        sla = done["sla_satisfaction"].to_numpy(dtype=float) if "sla_satisfaction" in done.columns else np.zeros(len(done))
        cmap = plt.get_cmap("plasma")
        x = np.arange(len(axes))
        for row, s, front in zip(norm, sla, done["pareto"].to_numpy()):
            ax.plot(x, row, color=cmap(float(np.nan_to_num(s))), alpha=0.9 if front else 0.25, lw=1.8 if front else 0.8)
        ax.set_xticks(x)
        ax.set_xticklabels([f"{a}\n[{lo[i]:.3g}, {hi[i]:.3g}]" for i, a in enumerate(axes)], fontsize=7)
        ax.set_yticks([])
    ax.set_title((title or "DSE trials") + " (colour: SLA; bold: Pareto front)")
    return save_png(fig, path)
