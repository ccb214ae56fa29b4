"""Results of a simulation: SLA satisfaction, latency, energy, utilisation, the schedule.

SLA satisfaction rate = jobs completed by their deadline / jobs arrived (every trace job is
counted exactly once: hit, late or dropped). Latency percentiles are over completed jobs
(finish − arrival). Energy = the table's dynamic energy of every SJ that ran + each SA's static
power × the simulated horizon (idle and stalled time included); energy per inference divides it
by the number of completed jobs. SA utilisation = busy time (stalls included) / horizon; DRAM
utilisation = bytes moved / (capacity × horizon). Decision time is the wall time of the policy's
``schedule`` calls (the only non-deterministic figure; it is excluded from result equality).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scheduler.sim.jobs import QOS_LEVELS

if TYPE_CHECKING:  # pragma: no cover
    from scheduler.sim.engine import Simulator

STATUS_NAMES = {0: "pending", 1: "active", 2: "hit", 3: "late", 4: "dropped"}
NONDETERMINISTIC = ("decision_time_mean_s", "decision_time_max_s", "decision_time_total_s")


@dataclass(frozen=True, eq=False)
class SimResult:
    """Everything a simulation produced; ``summary`` is a flat JSON-able dict."""

    summary: dict[str, Any]
    per_model: pd.DataFrame
    per_qos: pd.DataFrame
    per_sa: pd.DataFrame
    jobs: pd.DataFrame
    schedule: pd.DataFrame
    dram: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def sla_satisfaction(self) -> float:
        return float(self.summary["sla_satisfaction"])

    def deterministic_summary(self) -> dict[str, Any]:
        """The summary without wall-clock figures (same seed ⇒ identical)."""
        return {k: v for k, v in self.summary.items() if k not in NONDETERMINISTIC}


def _rates(df: pd.DataFrame, key: str, order: list[str] | None = None) -> pd.DataFrame:
    g = df.groupby(key, sort=order is None)
    out = pd.DataFrame(
        {
            "jobs": g.size(),
            "hits": g["hit"].sum(),
            "late": g["late"].sum(),
            "dropped": g["dropped"].sum(),
        }
    )
    out["sla_satisfaction"] = out["hits"] / out["jobs"]
    lat = df[df["completed"]].groupby(key)["latency_s"]
    out["latency_p50_s"] = lat.quantile(0.5)
    out["latency_p95_s"] = lat.quantile(0.95)
    if order is not None:
        out = out.reindex([o for o in order if o in out.index] + [i for i in out.index if i not in order])
    return out.reset_index().rename(columns={"index": key})


def collect_result(sim: "Simulator") -> SimResult:
    jobs = sim.jobs
    table = sim.table
    plat = table.platform
    status = sim.j_status.copy()
    finish = sim.j_finish.copy()
    state = sim.state_np
    ran = np.flatnonzero(state == 2)
    start = sim.s_start[ran]
    end = sim.s_end[ran]
    sa = sim.s_sa[ran].astype(np.int64)
    g = jobs.sj_glayer[ran]
    lat = table.lat_s[g, sa]
    job = jobs.sj_job[ran]
    schedule = pd.DataFrame(
        {
            "sj": ran,
            "job_id": jobs.job_id[job],
            "model": np.asarray(table.models, dtype=object)[jobs.model[job]],
            "layer_index": table.local_index[g],
            "layer": np.asarray(table.layer_names, dtype=object)[g],
            "sa": sa,
            "sa_name": np.asarray(plat.instance_names, dtype=object)[sa],
            "start_s": start,
            "end_s": end,
            "latency_s": lat,
            "stall_s": np.maximum(end - start - lat, 0.0),
            "energy_pj": table.energy_pj[g, sa],
        }
    ).sort_values(["start_s", "sa"], kind="stable").reset_index(drop=True)
    horizon = float(max(end.max() if len(end) else 0.0, jobs.arrival_s.max(), sim.t if sim.n_running else 0.0))
    horizon = max(horizon, 1e-12)
    completed = (status == 2) | (status == 3)
    jdf = pd.DataFrame(
        {
            "job_id": jobs.job_id,
            "model": np.asarray(table.models, dtype=object)[jobs.model],
            "qos": list(jobs.qos),
            "qos_factor": jobs.qos_factor,
            "arrival_s": jobs.arrival_s,
            "isolated_s": jobs.isolated_s,
            "deadline_s": jobs.deadline_s,
            "finish_s": np.where(completed, finish, np.nan),
            "status": [STATUS_NAMES[int(s)] for s in status],
        }
    )
    jdf["latency_s"] = jdf["finish_s"] - jdf["arrival_s"]
    jdf["hit"] = status == 2
    jdf["late"] = status == 3
    jdf["dropped"] = status == 4
    jdf["completed"] = completed
    n = len(jdf)
    hits = int(jdf["hit"].sum())
    static_w = float(np.sum(plat.static_power_w))
    static_j = static_w * horizon
    dyn_j = sim.dyn_energy_pj * 1e-12
    busy = np.asarray(sim.busy_s)
    per_sa = pd.DataFrame(
        {
            "sa": np.arange(plat.n_sa),
            "name": plat.instance_names,
            "class": plat.class_names,
            "busy_s": busy,
            "utilization": busy / horizon,
            "sjs": np.bincount(sa, minlength=plat.n_sa),
        }
    )
    lat_done = jdf.loc[completed, "latency_s"].to_numpy()
    dec = np.asarray(sim.decision_s)
    summary: dict[str, Any] = {
        "policy": getattr(sim.policy, "name", type(sim.policy).__name__),
        "system": plat.system_name,
        "period_s": sim.period_s,
        "dram_gbps": plat.dram_gbps,
        "seed": sim.seed,
        "jobs": n,
        "hits": hits,
        "late": int(jdf["late"].sum()),
        "dropped": int(jdf["dropped"].sum()),
        "sla_satisfaction": hits / n if n else float("nan"),
        "latency_p50_s": float(np.percentile(lat_done, 50)) if len(lat_done) else float("nan"),
        "latency_p95_s": float(np.percentile(lat_done, 95)) if len(lat_done) else float("nan"),
        "latency_p99_s": float(np.percentile(lat_done, 99)) if len(lat_done) else float("nan"),
        "sj_total": int(jobs.n_sj),
        "sj_run": int(len(ran)),
        "stall_s_total": float(schedule["stall_s"].sum()),
        "horizon_s": horizon,
        "energy_j": dyn_j + static_j,
        "dynamic_energy_j": dyn_j,
        "static_energy_j": static_j,
        "energy_per_inference_j": (dyn_j + static_j) / max(int(completed.sum()), 1),
        "sa_utilization_mean": float(busy.mean() / horizon),
        "dram_utilization": float(sim.dram_gb / (plat.dram_gbps * horizon)),
        "periods": sim.n_periods,
        "rq_length_mean": sim.rq_length_mean(),
        "decision_time_mean_s": float(dec.mean()) if len(dec) else (float("nan") if sim.fused_run else 0.0),
        "decision_time_max_s": float(dec.max()) if len(dec) else (float("nan") if sim.fused_run else 0.0),
        "decision_time_total_s": float(dec.sum()) if len(dec) or not sim.fused_run else float("nan"),
    }
    jdf_rates = jdf.copy()
    per_model = _rates(jdf_rates, "model")
    per_qos = _rates(jdf_rates, "qos", order=list(QOS_LEVELS))
    dram = pd.DataFrame(sim.dram_log.copy(), columns=["t0_s", "t1_s", "demand_gbps", "rate"]) if sim.record_dram else pd.DataFrame()
    if len(dram):
        dram["effective_gbps"] = dram["demand_gbps"] * dram["rate"]
    return SimResult(
        summary=summary,
        per_model=per_model,
        per_qos=per_qos,
        per_sa=per_sa,
        jobs=jdf.drop(columns=["completed"]),
        schedule=schedule,
        dram=dram,
    )
