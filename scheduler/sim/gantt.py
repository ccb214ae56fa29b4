"""Gantt chart of a simulated schedule (one row per SA, one bar per SJ, coloured by model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scheduler.sim.metrics import SimResult


def plot_gantt(result: SimResult, path: str | Path, max_sjs: int = 5000) -> Path:
    """Write a PNG; stalled time is hatched. Only the first ``max_sjs`` SJs are drawn."""
    from mascot.plotting import pyplot, save_png

    plt = pyplot()
    sch = result.schedule.head(max_sjs)
    names = result.per_sa["name"].tolist()
    models = sorted(sch["model"].unique()) if len(sch) else []
    cmap = plt.get_cmap("tab10")
    colour = {m: cmap(i % 10) for i, m in enumerate(models)}
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(names) + 1.6))
    scale = 1e3  # ms
    for m in models:
        sub = sch[sch["model"] == m]
        for sa, grp in sub.groupby("sa"):
            spans = list(zip(grp["start_s"].to_numpy() * scale, (grp["end_s"] - grp["start_s"]).to_numpy() * scale))
            ax.broken_barh(spans, (sa - 0.4, 0.8), facecolors=colour[m], edgecolor="none", label=None)
            stall = grp[grp["stall_s"] > 0]
            if len(stall):
                s_spans = list(zip(((stall["end_s"] - stall["stall_s"]) * scale).to_numpy(), (stall["stall_s"] * scale).to_numpy()))
                ax.broken_barh(s_spans, (sa - 0.4, 0.8), facecolors="none", edgecolor="k", hatch="///", linewidth=0)
    ax.set_yticks(np.arange(len(names)), names)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{result.summary['policy']}: SLA {result.summary['sla_satisfaction'] * 100:.1f} %")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[m]) for m in models]
    if handles:
        ax.legend(handles, models, fontsize=7, loc="upper right", ncol=min(len(models), 4))
    save_png(fig, path)
    return Path(path)
