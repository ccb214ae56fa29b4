"""The paper's comparison (Fig. 3 and 5): RELMAS against the baselines on unseen traces.

:func:`evaluate` runs every policy on every scenario (:mod:`scheduler.relmas.scenarios`) and
evaluation seed (0, 1, 2, ...: a seed space training and validation never draw from) and returns
one row per (scenario, seed, policy). :func:`summarise` turns that into the figures the issue
asks for: SLA satisfaction per scenario and policy, the geometric-mean improvement of RELMAS over
Herald and PREMA-H (paper: +59.4 % and +109 %), the gap to MAGMA in points, and decision times
per period and per SJ.

Geometric means of ratios need positive SLAs: a baseline at 0 % would make the ratio infinite, so
every SLA is floored at ``floor`` (default 1 %) before taking ratios (said in the output).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scheduler.relmas.scenarios import Scenario
from scheduler.sim.engine import Simulator
from scheduler.table import SimTable

PAPER = {"geomean_vs_herald_pct": 59.4, "geomean_vs_prema_h_pct": 109.0, "magma_gap_mixed_pct": 22.5, "macs_per_step_h256": 316_288}


def make_policy(name: str, magma_kw: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """A fresh policy object from its name (``relmas:...`` included; MAGMA with ``magma_kw``)."""
    import scheduler.relmas.policy  # noqa: F401  (registers relmas:)
    from scheduler.policies import get_policy

    if name == "magma":
        return get_policy("magma", **(magma_kw or {}))
    return get_policy(name)


def evaluate(
    table: SimTable,
    scenarios: Sequence[Scenario],
    policies: Sequence[str],
    seeds: Sequence[int] = (0, 1, 2),
    magma_kw: dict[str, Any] | None = None,
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """One row per (scenario, seed, policy): SLA, decision times, periods, RQ length."""
    rows = []
    for sc in scenarios:
        for seed in seeds:
            trace = sc.trace(seed)
            for name in policies:
                pol = make_policy(name, magma_kw)
                res = Simulator(table, trace, pol, sc.period_s, seed=seed).run()
                s = res.summary
                decided = max(float(s["rq_length_mean"]) * int(s["periods"]), 1.0)
                row = {
                    "scenario": sc.name, "workload": sc.workload, "qos": sc.qos, "seed": seed, "policy": name,
                    "jobs": s["jobs"], "sla_satisfaction": s["sla_satisfaction"], "energy_j": s["energy_j"],
                    "decision_time_mean_s": s["decision_time_mean_s"], "decision_time_max_s": s["decision_time_max_s"],
                    "decision_time_per_sj_s": s["decision_time_total_s"] / decided, "periods": s["periods"],
                    "rq_length_mean": s["rq_length_mean"],
                }
                rows.append(row)
                if on_run is not None:
                    on_run(row)
    return pd.DataFrame(rows)


def paired_differences(df: pd.DataFrame, relmas: str, baselines: Sequence[str], confidence: float = 0.95) -> pd.DataFrame:
    """RELMAS minus each baseline per scenario, paired by trace: mean, t-interval, wins / ties / losses.

    Why paired: every policy runs the same traces, and the trace-to-trace spread of the SLA (a
    36-52-job trace moves by 2-3 points per job) dwarfs the policy differences we look for. The
    per-trace differences cancel that common part, so the interval says whether a difference is
    larger than chance at this number of traces. Points are percentage points of SLA satisfaction.
    """
    from scipy import stats

    piv = df.pivot_table(index=["workload", "qos", "seed"], columns="policy", values="sla_satisfaction")
    rows = []
    for (w, q), g in piv.groupby(level=["workload", "qos"], sort=False):
        for base in baselines:
            if base not in g.columns or relmas not in g.columns:
                continue
            d = ((g[relmas] - g[base]) * 100.0).dropna().to_numpy()
            n = len(d)
            mean = float(d.mean()) if n else float("nan")
            half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
            rows.append({"workload": w, "qos": q, "baseline": base, "traces": n, "diff_points": mean,
                         "ci_low": mean - half, "ci_high": mean + half, "wins": int((d > 1e-9).sum()),
                         "ties": int((np.abs(d) <= 1e-9).sum()), "losses": int((d < -1e-9).sum())})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    rank = {name: i for i, name in enumerate(("light", "heavy", "mixed", "low", "medium", "high"))}
    return out.sort_values(["workload", "qos"], key=lambda c: c.map(rank), kind="stable").reset_index(drop=True)


def _geomean_improvement(ratio: np.ndarray) -> float:
    return float((np.exp(np.mean(np.log(ratio))) - 1.0) * 100.0)


def summarise(df: pd.DataFrame, relmas: str, floor: float = 0.01) -> dict[str, Any]:
    """Per-scenario SLA table (mean over seeds) and the headline figures."""
    sla = df.pivot_table(index=["workload", "qos"], columns="policy", values="sla_satisfaction", aggfunc="mean")
    order = [w for w in ("light", "heavy", "mixed") if w in sla.index.get_level_values(0)]
    sla = sla.reindex([(w, q) for w in order for q in ("low", "medium", "high") if (w, q) in sla.index])
    out: dict[str, Any] = {"sla": sla}
    r = np.maximum(sla[relmas].to_numpy(), floor)
    head: dict[str, Any] = {}
    for base, key in (("herald", "geomean_vs_herald_pct"), ("prema-h", "geomean_vs_prema_h_pct"), ("fcfs-h", "geomean_vs_fcfs_h_pct")):
        if base in sla.columns:
            head[key] = _geomean_improvement(r / np.maximum(sla[base].to_numpy(), floor))
    if "magma" in sla.columns:
        gap = (sla[relmas] - sla["magma"]) * 100.0
        head["magma_gap_points"] = {f"{w}/{q}": round(float(v), 1) for (w, q), v in gap.items()}
        head["magma_gap_points_by_workload"] = {w: round(float(gap.loc[w].mean()), 1) for w in order}
    beats = {}
    for base in ("fcfs-h", "prema-h", "herald"):
        if base in sla.columns:
            beats[base] = int((sla[relmas] >= sla[base] - 1e-12).sum())
    head["scenarios_at_or_above"] = beats
    head["scenarios"] = len(sla)
    dt = df.groupby("policy")[["decision_time_mean_s", "decision_time_per_sj_s"]].mean()
    out["decision"] = dt
    out["headline"] = head
    return out
