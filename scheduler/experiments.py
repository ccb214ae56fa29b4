"""The RELMAS study (DAC'24 Sec. 5): workload sets × QoS levels × policies, and the bandwidth sweep.

Defaults, chosen on the relmas6 system with the analytical layer table so that no scenario has
every policy at 0 % or 100 % SLA satisfaction (FCFS-H near the middle at medium QoS):

* scheduling period ``Ts`` = 0.1 ms (light-set jobs take 0.03-1 ms alone, heavy ones 5-30 ms);
* medium QoS factor 3.0 (deadline = arrival + 3 × isolated latency; low 3.6×, high 2.4×);
* mean Pareto inter-arrival: light 1 ms, heavy 20 ms, mixed 10 ms (under FCFS-H the shared
  16 GB/s DRAM is then busy ~40 % of the time, with bursts: contention matters but the system is
  not saturated; FCFS-H lands at 46-69 % SLA satisfaction, no scenario at 0 % or 100 %);
* trace durations: light 0.125 s, heavy 1 s, mixed 0.5 s (~50-130 jobs per trace; ``--duration-scale``
  lengthens them), 3 seeds per scenario;
* MAGMA in the study: population 10 × 5 generations by default (``--magma-budget`` changes it).
  The paper's 100 × 100 (10,000 forecasts per period) costs ~0.15-0.2 s per period here at
  RQ ≈ 105-120 (``bench/bench_sim.py --magma-periods 20``): one full scenario runs in minutes
  (mixed / medium, seed 0: 1,545 policy calls, ~6 min on one loaded core, with
  ``mascot simulate --policy magma --magma-budget 100x100``), every period of 27 traces does not.

A workload is a set name (``light``, ``heavy``, ``mixed``) or a ``+``-joined model list
(``squeezenet+kws``, uniform mix, 1 s long unless configured). Each run's trace is drawn with ``workloads.traces.generate_trace`` from the run's seed, so all
policies of one (workload, QoS, seed) see the same requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from scheduler.policies import get_policy
from scheduler.sim import Simulator
from scheduler.table import SimTable

DEFAULT_PERIOD_S = 1e-4
DEFAULT_MEDIUM_QOS_FACTOR = 3.0
DEFAULT_MEAN_INTERARRIVAL_S: dict[str, float] = {"light": 1e-3, "heavy": 20e-3, "mixed": 10e-3}
DEFAULT_DURATION_S: dict[str, float] = {"light": 0.125, "heavy": 1.0, "mixed": 0.5}
DEFAULT_MAGMA_BUDGET: tuple[int, int] = (10, 5)
QOS_ORDER = ("low", "medium", "high")


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines one study (the CLI's options)."""

    workloads: tuple[str, ...] = ("light", "heavy", "mixed")
    qos: tuple[str, ...] = QOS_ORDER
    policies: tuple[str, ...] = ("fcfs-h", "prema-h", "herald", "magma")
    seeds: int = 3
    period_s: float = DEFAULT_PERIOD_S
    medium_qos_factor: float = DEFAULT_MEDIUM_QOS_FACTOR
    mean_interarrival_s: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MEAN_INTERARRIVAL_S))
    duration_s: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATION_S))
    duration_scale: float = 1.0
    magma_budget: tuple[int, int] = DEFAULT_MAGMA_BUDGET
    pareto_shape: float = 2.0


def make_trace(workload: str, qos: str, seed: int, cfg: StudyConfig) -> pd.DataFrame:
    from workloads.traces import generate_trace

    if workload not in cfg.mean_interarrival_s:
        raise MascotError(
            f"no default arrival rate for workload {workload!r}",
            hint=f"use one of {', '.join(cfg.mean_interarrival_s)}",
        )
    models: str | list[str] = workload.split("+") if "+" in workload else workload
    trace = generate_trace(
        models,
        duration_s=cfg.duration_s.get(workload, 1.0) * cfg.duration_scale,
        mean_interarrival_s=cfg.mean_interarrival_s[workload],
        pareto_shape=cfg.pareto_shape,
        qos=qos,
        medium_qos_factor=cfg.medium_qos_factor,
        seed=seed,
    )
    return trace.frame


def policy_for(name: str, cfg: StudyConfig) -> Any:
    if name.lower() == "magma":
        return get_policy(name, population=cfg.magma_budget[0], generations=cfg.magma_budget[1])
    return get_policy(name)


def run_one(table: SimTable, trace: pd.DataFrame, policy: str, cfg: StudyConfig, seed: int) -> dict[str, Any]:
    """Simulate one (trace, policy); returns the summary row."""
    res = Simulator(table, trace, policy_for(policy, cfg), cfg.period_s, seed=seed).run()
    row = dict(res.summary)
    row["policy"] = policy
    return row


def _tasks(cfg: StudyConfig, dram: Sequence[float | None]) -> list[tuple[str, str, int, float | None]]:
    return [(w, q, s, d) for d in dram for w in cfg.workloads for q in cfg.qos for s in range(cfg.seeds)]


def run_study(
    table: SimTable,
    cfg: StudyConfig,
    dram_gbps: Sequence[float] | None = None,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """All (workload, QoS, seed, policy[, DRAM bandwidth]) runs; one row per run."""
    rows: list[dict[str, Any]] = []
    tables = {None: table} if not dram_gbps else {d: table.with_platform(table.platform.with_dram_gbps(d)) for d in dram_gbps}
    for w, q, s, d in _tasks(cfg, list(tables)):
        trace = make_trace(w, q, s, cfg)
        for p in cfg.policies:
            row = run_one(tables[d], trace, p, cfg, s)
            row.update(workload=w, qos=q, seed=s, dram_gbps=tables[d].platform.dram_gbps)
            rows.append(row)
            if on_run is not None:
                on_run(row)
    front = ["workload", "qos", "seed", "policy", "dram_gbps", "sla_satisfaction"]
    df = pd.DataFrame(rows)
    return df[front + [c for c in df.columns if c not in front]]


def sla_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean SLA satisfaction over seeds: rows (workload, QoS), one column per policy."""
    order = {q: i for i, q in enumerate(QOS_ORDER)}
    wide = df.groupby(["workload", "qos", "policy"], sort=False)["sla_satisfaction"].mean().unstack("policy")
    policies = list(dict.fromkeys(df["policy"]))
    wide = wide[policies].reset_index()
    wide["_w"] = wide["workload"].map({w: i for i, w in enumerate(dict.fromkeys(df["workload"]))})
    wide["_q"] = wide["qos"].map(order).fillna(99)
    return wide.sort_values(["_w", "_q"]).drop(columns=["_w", "_q"]).reset_index(drop=True)


def markdown_summary(df: pd.DataFrame, cfg: StudyConfig, sweep: pd.DataFrame | None = None) -> str:
    tab = sla_table(df)
    lines = [
        "# Multi-tenant scheduling study (RELMAS DAC'24 setup)",
        "",
        f"Period {cfg.period_s * 1e3:g} ms; medium QoS factor {cfg.medium_qos_factor:g} (low ×1.2, high ×0.8); "
        f"seeds {cfg.seeds}; MAGMA budget {cfg.magma_budget[0]}×{cfg.magma_budget[1]}.",
        "Mean inter-arrival: " + ", ".join(f"{w} {cfg.mean_interarrival_s[w] * 1e3:g} ms" for w in cfg.workloads) + ".",
        "",
        "## SLA satisfaction rate (mean over seeds)",
        "",
        _md(tab),
    ]
    timing = df.groupby("policy", sort=False)["decision_time_mean_s"].mean().rename("mean decision time (s)")
    lines += ["", "## Policy decision time per period", "", _md(timing.reset_index()),
              "", "(n/a: FCFS-H runs as one compiled loop, so its per-period time is not measured separately.)"]
    if sweep is not None and len(sweep):
        lines += ["", "## Bandwidth sensitivity (SLA normalised to each policy's best)", "", _md(normalised_sweep(sweep))]
    return "\n".join(lines) + "\n"


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        out.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(out)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if np.isnan(v) else f"{v:.3g}" if abs(v) < 1e-3 and v != 0 else f"{v:.3f}"
    return str(v)


def normalised_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    """Fig. 4: SLA per (policy, DRAM GB/s), each policy normalised to its best bandwidth."""
    m = sweep.groupby(["policy", "dram_gbps"], sort=False)["sla_satisfaction"].mean().unstack("dram_gbps")
    best = m.max(axis=1).replace(0, np.nan)
    return m.div(best, axis=0).reset_index()


def plot_sla_bars(df: pd.DataFrame, path: str | Path) -> Path:
    """Fig. 3: one panel per workload set, QoS levels on x, one bar per policy."""
    from mascot.plotting import pyplot, save_png

    plt = pyplot()
    tab = sla_table(df)
    workloads = list(dict.fromkeys(tab["workload"]))
    policies = [c for c in tab.columns if c not in ("workload", "qos")]
    fig, axes = plt.subplots(1, len(workloads), figsize=(4.2 * len(workloads), 3.4), sharey=True, squeeze=False)
    width = 0.8 / max(len(policies), 1)
    for ax, w in zip(axes[0], workloads):
        sub = tab[tab["workload"] == w]
        x = np.arange(len(sub))
        for i, p in enumerate(policies):
            ax.bar(x + (i - (len(policies) - 1) / 2) * width, sub[p].to_numpy() * 100, width, label=p)
        ax.set_xticks(x, [f"QoS-{q.capitalize()}" for q in sub["qos"]])
        ax.set_title(f"{w.capitalize()} workload")
        ax.set_ylim(0, 105)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("SLA satisfaction rate (%)")
    axes[0][-1].legend(fontsize=8, loc="upper right")
    save_png(fig, path, dpi=130)
    return Path(path)


def plot_sweep(sweep: pd.DataFrame, path: str | Path) -> Path:
    """Fig. 4: normalised SLA satisfaction vs DRAM bandwidth, one line per policy."""
    from mascot.plotting import pyplot, save_png

    plt = pyplot()
    norm = normalised_sweep(sweep).set_index("policy")
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for p, row in norm.iterrows():
        ax.plot([float(c) for c in row.index], row.to_numpy() * 100, marker="o", label=p)
    ax.set_xlabel("DRAM bandwidth (GB/s)")
    ax.set_ylabel("SLA rate, % of the policy's best")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_png(fig, path, dpi=130)
    return Path(path)
